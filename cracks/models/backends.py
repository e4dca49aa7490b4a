"""Inference backends: the same network run by PyTorch or by OpenVINO, at a chosen precision.

A backend is a callable from NxHxWx3 uint8 tiles to NxHxW crack probabilities, so the tiling
code never knows which one runs. Measured on a 2-core AMD EPYC with AVX-512 BF16/VNNI
(``benchmarks/inspect_benchmark.py``, model only, one 1024 px tile; eager fp32 NCHW: 1.05 MP/s;
another run measured all paths 5-10 % lower):

=============  =========  ======  ==========================================
backend        precision  MP/s    Dice on DeepCrack valid (fp32 eager 0.8237)
=============  =========  ======  ==========================================
torch          fp32       1.05    0.8237
torch          bf16       2.65    0.8236
openvino       fp32       1.97    0.8237
openvino       bf16       4.10    0.8243
openvino       int8       7.54    0.8258 (accuracy-controlled export)
=============  =========  ======  ==========================================

``auto`` picks the fastest path that is known to be accurate: on a CUDA device, PyTorch with
fp16; on a CPU, OpenVINO with the model's int8 export when it has a current one (made by
``cracks export``, which keeps the validation Dice within its limit), else OpenVINO bf16 where
the CPU runs bf16 natively, else OpenVINO fp32.

The int8 export keeps a few layers in float (what the accuracy budget needs). Where the CPU runs
bf16 natively they run in bf16: 13.1-13.6 against 5.9-6.0 MP/s on a 2-core Xeon with AMX, but
other numbers (the sample site: 10.72 against 10.86 m of cracks). That path is named
``int8-bf16`` (``openvino int8-bf16`` in summaries and resume keys), so two surveys inspected on
different CPUs are said to differ in inference (``cracks compare``), and a run planned on one
CPU is never resumed or finished by workers on another with other numbers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cracks.errors import ModelError, SettingError
from cracks.models.artifact import LoadedModel
from cracks.models.compile_cache import compiled_model_cache
from cracks.models.export_record import current_export, weights_sha256
from cracks.models.hardware import cpu_has_native_bf16
from cracks.models.names import STRIDE
from cracks.models.passes import Passes, Predict

BACKENDS = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "fp32", "bf16", "int8")
INT8_BF16 = "int8-bf16"  # the int8 export with its float layers in bf16: what int8 runs as on CPUs with native bf16
INT8_PATHS = ("int8", INT8_BF16)

Backend = Predict  # NxHxWx3 uint8 tiles -> NxHxW probabilities


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # torch | openvino
    precision: str  # fp32 | bf16 | fp16 | int8 | int8-bf16
    passes: Passes = Passes()  # around the network: mirror average, half-scale check (cracks.models.passes)

    def __str__(self) -> str:
        """``openvino int8``, ``openvino int8 + tta from 0.392`` or ``openvino int8 + half-scale check
        from 0.692``: part of a segmentation's resume key (tiles that skipped a pass keep their plain
        probabilities, which a run at a lower threshold must not reuse) and of the change reports'
        comparison of epochs."""
        return f"{self.backend} {self.precision}{self.passes}"

    @classmethod
    def parse(cls, text: str) -> BackendChoice:
        """The choice :meth:`__str__` wrote (workers are handed the plan's choice as text)."""
        head, plus, passes = text.partition(" + ")
        backend, precision = head.split()
        return cls(backend, precision, Passes.parse(plus + passes))


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve(model: LoadedModel, backend: str = "auto", precision: str = "auto", *, passes: Passes = Passes(),
            planned: bool = False) -> BackendChoice:
    """Turn ``auto`` settings into a concrete backend and precision, or explain what is missing;
    the ``passes`` around the network go along as they are.

    ``int8`` becomes ``int8-bf16`` on a CPU that runs bf16 natively, unless ``planned``: a choice
    handed on from a plan (workers of a flow) is run exactly as it says."""
    if backend not in BACKENDS:
        raise SettingError("backend", repr(backend), f"unknown backend (choose {', '.join(BACKENDS)})")
    if precision not in (*PRECISIONS, "fp16", INT8_BF16):  # fp16, int8-bf16: what auto chose, handed on to workers
        raise SettingError("precision", repr(precision), f"unknown precision (choose {', '.join(PRECISIONS)})")
    on_cpu = not model.on_cuda
    if backend == "auto":
        backend = "openvino" if on_cpu and openvino_available() else "torch"
    if backend == "openvino":
        if not on_cpu:
            raise SettingError("backend", "openvino", "the openvino backend runs on the CPU; use --device cpu or --backend torch")
        if not openvino_available():
            raise ModelError(model.path, "the openvino backend needs the openvino package (in requirements.lock)")
    if precision == "auto":
        if model.on_cuda:
            precision = "fp16"
        elif backend == "openvino" and int8_export(model) is not None:
            precision = "int8"
        else:
            precision = "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "int8" and not planned and cpu_has_native_bf16():
        precision = INT8_BF16
    if precision in INT8_PATHS:
        if backend != "openvino":
            raise SettingError("precision", "int8", "int8 runs on the openvino backend only (use --backend openvino or auto)")
        if int8_export(model) is None:
            raise ModelError(model.path, "has no current int8 export; make one with `cracks export MODEL --data DATASET`")
    if precision == INT8_BF16 and not cpu_has_native_bf16():
        raise ModelError(model.path, "this run was planned as int8 with bf16 float layers, which this CPU does not run "
                                     "natively (its numbers would differ): finish it on such a CPU, or start it afresh")
    return BackendChoice(backend, precision, passes)


def int8_export(model: LoadedModel) -> Path | None:
    """The model's int8 OpenVINO file if it exists and was made from these exact weights."""
    return current_export(model.path, "int8") if model.path else None


def prepare(runner: object, tile_shape: tuple[int, int]) -> None:
    """Let a backend, predictor or wrapper get ready for tiles of ``(height, width)`` in the
    background (compile its network), if it has anything to prepare: custom predictors need not."""
    ready = getattr(runner, "prepare", None)
    if ready is not None:
        ready(tile_shape)


def release(runner: object) -> None:
    """Let a backend, predictor or wrapper drop what it holds between sites (compiled networks,
    activations), if it holds anything: custom predictors need not implement ``release``."""
    drop = getattr(runner, "release", None)
    if drop is not None:
        drop()


def make_backend(model: LoadedModel, choice: BackendChoice, threads: int | None = None) -> Backend:
    backend: Backend
    if choice.backend == "torch":
        backend = TorchBackend(model, choice.precision)
    else:
        backend = OpenVINOBackend(model, choice.precision, threads)
    return choice.passes.around(backend)


class TorchBackend:
    """Eager PyTorch with channels-last tensors; bf16 autocast on CPUs, fp16 autocast on CUDA."""

    def __init__(self, model: LoadedModel, precision: str = "fp32"):
        import torch

        self.model = model
        self.precision = "fp32" if precision == "fp16" else precision  # autocast picks fp16 on CUDA itself
        if not model.on_cuda:
            model.model.to(memory_format=torch.channels_last)

    def __call__(self, batch_uint8: np.ndarray) -> np.ndarray:
        from cracks.models.predict import predict_probabilities

        return predict_probabilities(self.model.model, batch_uint8, self.model.meta.normalization, precision=self.precision)


class OpenVINOBackend:
    """OpenVINO on the CPU. fp32 and bf16 convert the PyTorch network in memory; int8 reads the
    model's accuracy-checked export. The compiled network takes the uint8 tiles as they are
    (NHWC) and returns probabilities: normalization and the sigmoid run inside OpenVINO, so
    Python only pads odd-sized tiles. One compilation per tile shape (about a second; the grid
    gives every tile the same shape)."""

    def __init__(self, model: LoadedModel, precision: str = "fp32", threads: int | None = None):
        import openvino as ov

        from cracks.models.openvino_ir import to_openvino, with_pre_and_post_processing

        self.core = ov.Core()
        cache = compiled_model_cache(f"{weights_sha256(model.path)[:16]}-{precision}" if model.path else f"unsaved-{precision}")
        if cache is not None:  # compiled networks are kept: the next run skips the ~1 s compilation
            self.core.set_property({"CACHE_DIR": str(cache)})
        self.precision = precision
        self.threads = threads
        if precision in INT8_PATHS:
            network = self.core.read_model(str(int8_export(model)))
        else:
            network = to_openvino(model.model)
        self.network = with_pre_and_post_processing(network, model.meta.normalization)
        self.compiled: dict[tuple[int, ...], object] = {}
        # One infer request per compiled network: flows run row tasks on threads that share this
        # backend ("Infer Request is busy" otherwise). Each call already uses every core.
        self.lock = threading.Lock()

    def _compiled(self, shape: tuple[int, ...]):
        if shape not in self.compiled:
            network = self.network.clone()
            network.reshape(list(shape))
            bf16 = self.precision in ("bf16", INT8_BF16)  # plain int8 keeps its float layers in f32, on any CPU
            config = {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32", "PERFORMANCE_HINT": "LATENCY"}
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            self.compiled[shape] = self.core.compile_model(network, "CPU", config)
        return self.compiled[shape]

    @staticmethod
    def _padding(h: int, w: int) -> tuple[int, int]:
        """Rows and columns a tile is padded by: the encoder's stride divides what it sees."""
        return (-h) % STRIDE, (-w) % STRIDE

    def _padded(self, batch_uint8: np.ndarray) -> np.ndarray:
        h, w = batch_uint8.shape[1:3]
        ph, pw = self._padding(h, w)
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "edge"
            batch_uint8 = np.pad(batch_uint8, ((0, 0), (0, ph), (0, pw), (0, 0)), mode=mode)
        return np.ascontiguousarray(batch_uint8)

    def prepare(self, tile_shape: tuple[int, int]) -> None:
        """Compile the network for single tiles of ``(height, width)`` on a thread, while the
        first tiles are read (0.2 s from the compiled-network cache at 960 px); a call for that
        shape waits for it. A failed compilation is left to that call to report."""
        h, w = tile_shape
        ph, pw = self._padding(h, w)
        shape = (1, h + ph, w + pw, 3)  # what _padded makes of one such tile

        def compile_now() -> None:
            try:
                with self.lock:
                    self._compiled(shape)
            except Exception:  # noqa: BLE001 - the call for this shape compiles again and raises
                pass

        threading.Thread(target=compile_now, name="compile", daemon=True).start()

    def release(self) -> None:
        """Drop the compiled networks and the activation memory they hold (336 MB for a 1024 px
        window of the shipped int8 export, whose float layers keep float activations) until the
        next call, which compiles again (from the compiled-network cache: a fraction of a second).
        The inspection calls it when a site is segmented, so measuring does not carry it."""
        with self.lock:
            self.compiled.clear()

    def __call__(self, batch_uint8: np.ndarray) -> np.ndarray:
        h, w = batch_uint8.shape[1:3]
        x = self._padded(batch_uint8)
        with self.lock:
            return self._compiled(x.shape)({0: x})[0][:, 0, :h, :w]  # outputs are copies (share_outputs=False)
