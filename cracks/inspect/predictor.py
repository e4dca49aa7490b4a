"""Tiles through a model backend: batches, the backend chosen once, one loaded model per worker."""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from cracks.models import backends
from cracks.models.artifact import LoadedModel
from cracks.models.passes import Passes

log = logging.getLogger(__name__)


class Predictor:
    """Batches tiles through a model backend. Kept separate so flows can run it on other workers."""

    def __init__(self, model: LoadedModel, *, batch_size: int | None = None, threads: int | None = None,
                 precision: str = "auto", backend: str = "auto", passes: Passes = Passes(), planned: bool = False):
        self.model = model
        self.batch_size = batch_size or (8 if model.on_cuda else 1)
        self.choice = backends.resolve(model, backend, precision, passes=passes, planned=planned)
        if threads and self.choice.backend == "torch":
            import torch

            torch.set_num_threads(threads)
        self.run = backends.make_backend(model, self.choice, threads)
        log.info("inference: %s", self.choice)

    def prepare(self, tile_shape: tuple[int, int]) -> None:
        """Get the backend ready for single tiles of ``(height, width)`` in the background."""
        if self.batch_size == 1:
            backends.prepare(self.run, tile_shape)

    def release(self) -> None:
        """Free what the backend holds between sites (compiled networks, activations), if anything."""
        backends.release(self.run)

    def __call__(self, tiles: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for i in range(0, len(tiles), self.batch_size):
            batch = tiles[i : i + self.batch_size]
            out.extend(self.run(batch[0][None] if len(batch) == 1 else np.stack(batch)))  # one tile: a view, no copy
        return out


@lru_cache(maxsize=2)
def cached_predictor(model_path: str, *, batch_size: int | None = None, threads: int | None = None,
                     precision: str = "auto", backend: str = "auto", device: str = "auto",
                     passes: Passes = Passes()) -> Predictor:
    """One loaded model per worker process, for flows that segment on Dask workers. Flows pass the
    backend, precision and passes the plan was keyed with (``SitePlan.inference``), never ``auto``: a
    worker on another CPU must run what the resume key says, not choose again."""
    from cracks.models import artifact
    from cracks.models.hardware import resolve_device

    model = artifact.load(model_path, device=resolve_device(device), lazy=True)
    return Predictor(model, batch_size=batch_size, threads=threads, precision=precision, backend=backend, passes=passes,
                     planned=True)
