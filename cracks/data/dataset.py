"""The torch Dataset over manifest pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from cracks.data.layouts import Pair
from cracks.data.masks import read_image
from cracks.errors import InputError

# Masks go through augmentation as 0/255 so resampling can blend them; afterwards a pixel at least a
# quarter covered by crack stays crack, so a 1 px crack shrunk by scale augmentation does not vanish.
MASK_KEEP = 64


class CrackDataset(Dataset):
    """Yields ``(image, mask)``: a normalized 3xHxW float tensor and a 1xHxW float {0, 1} mask.

    ``preload``: decode every pair once, up front (threads), instead of once per crop. Worth it when
    decoding is a large share of a crop's cost (small patches, many workers): forked loader workers
    share the decoded arrays. ``normalize=False``: yield the 3xHxW uint8 image and a 1xHxW uint8
    {0, 1} mask instead, a quarter of the bytes through the workers' queues; normalize on the
    device with :func:`normalize_batch`.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        normalization: dict[str, list[float]],
        transform: Callable | None = None,
        *,
        preload: bool = False,
        normalize: bool = True,
        threads: int = 8,
    ):
        self.pairs = [p for p in pairs if p.mask is not None]
        self.mean = np.asarray(normalization["mean"], dtype=np.float32) * 255
        self.std = np.asarray(normalization["std"], dtype=np.float32) * 255
        self.transform = transform
        self.normalize = normalize
        self.decoded: list[tuple[np.ndarray, np.ndarray]] | None = None
        if preload:
            with ThreadPoolExecutor(threads) as pool:
                self.decoded = list(pool.map(self._read, range(len(self.pairs))))

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw uint8 image and bool mask, as on disk."""
        if self.decoded is not None:
            return self.decoded[index]
        return self._read(index)

    def _read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pair = self.pairs[index]
        image, mask = read_image(pair.image), pair.read_mask()
        if image.shape[:2] != mask.shape:
            raise InputError(pair.mask, f"mask size {mask.shape} differs from image {image.shape[:2]} (run `cracks fix`)")
        return image, mask

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.load(index)
        mask = mask.astype(np.uint8) * 255  # 0/255 through resampling, binarized after (MASK_KEEP)
        if self.transform is not None:
            out = self.transform(image=image, mask=mask)
            image, mask = out["image"], out["mask"]
        if not self.normalize:
            crack = (mask >= MASK_KEEP).astype(np.uint8)
            return torch.from_numpy(image.transpose(2, 0, 1).copy()), torch.from_numpy(crack[None])
        x = (image.astype(np.float32) - self.mean) / self.std
        crack = (mask >= MASK_KEEP).astype(np.float32)
        return torch.from_numpy(x.transpose(2, 0, 1).copy()), torch.from_numpy(crack[None])


def normalize_batch(images: torch.Tensor, masks: torch.Tensor, normalization: dict[str, list[float]]
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Float, normalized ``(images, masks)`` from a uint8 batch (``CrackDataset(normalize=False)``).

    Equal to what the dataset yields with ``normalize=True``; done where the batch lands (a GPU),
    so the workers ship bytes, not floats.
    """
    mean = torch.tensor(normalization["mean"], device=images.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(normalization["std"], device=images.device).view(1, 3, 1, 1) * 255
    return (images.float() - mean) / std, masks.float()


def init_loader_worker(_worker_id: int) -> None:
    """Keep each data-loading worker on one core.

    OpenCV starts a thread pool the size of the machine in every worker process; with one worker
    per core that is cores² threads fighting over the cores (on a 16-core GPU host the workers ran
    3-4x slower per crop than a lone process). torch already limits its own threads in workers.
    """
    cv2.setNumThreads(0)

