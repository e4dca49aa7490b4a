"""Which training pairs each step sees: per-dataset shares and seeded, resumable batch orders.

Kept apart from the training loop so that other drivers (``scripts/train_budget.py`` on a GPU) draw
batches exactly as ``cracks train`` does, without importing evaluation or inspection code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from cracks.errors import SettingError


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, limit: int | None,
    *, weights: torch.Tensor | None = None, samples: int | None = None,
) -> list[list[int]]:
    """The batches of one epoch, a pure function of ``seed + epoch`` (so a resumed run sees the rest).

    Without ``weights``: a permutation of all ``n`` items. With per-item ``weights``: ``samples``
    items drawn with replacement in proportion to them (how each dataset gets its share).
    """
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    if weights is None:
        order = torch.randperm(n, generator=generator).tolist()
    else:
        order = torch.multinomial(weights, samples or n, replacement=True, generator=generator).tolist()
    batches = [order[i : i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)] or [order]
    return batches[:limit] if limit else batches


def sample_weights(sizes: list[int], shares: list[float] | None) -> torch.Tensor | None:
    """Per-item weights that give dataset ``i`` the share ``shares[i]`` of every epoch, whatever its size."""
    if shares is None:
        return None
    if len(shares) != len(sizes) or any(not share > 0 for share in shares):
        raise SettingError("data_weights", shares, f"give one positive weight per dataset ({len(sizes)})")
    total = sum(shares)
    return torch.cat([torch.full((size,), share / total / size, dtype=torch.float64)
                      for size, share in zip(sizes, shares)])


def spread(items: list, limit: int | None) -> list:
    """At most ``limit`` items, evenly spread over the list (every domain of a sorted list stays in)."""
    if not limit or len(items) <= limit:
        return items
    return items[:: max(1, len(items) // limit)][:limit]


def domain_name(root: Path) -> str:
    """A dataset's name in metrics and logs: its folder name."""
    return Path(root).resolve().name
