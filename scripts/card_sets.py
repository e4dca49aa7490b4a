"""The model card's evaluation sets, shared by the scripts that score a model on them.

Scripts run as ``python scripts/NAME.py``, so this folder is on their import path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch import nn

from cracks.training.evaluate import domain_of, gather_pairs

# Every valid split trained with, and CrackForest (never trained on) whole.
SETS = [("deepcrack", "valid"), ("crack500", "valid"), ("uav-crackx", "valid"), ("concrete-walls", "valid"),
        ("crackforest", "all")]


def parser(description: str, *, crack500_step: bool = True, record: bool = False) -> argparse.ArgumentParser:
    """``[model] [data] [--crack500-step N]``: the model artifact, the data folder, and how much of
    CRACK500's 899 valid images to use (every N-th; its domain is the largest by far; left out
    where a script scores all of them); with ``record``, also ``--record`` (write what was measured
    into the model's metadata). The card's scripts add their own options to it."""
    made = argparse.ArgumentParser(description=description)
    made.add_argument("model", nargs="?", type=Path, default=Path("models/default"), help="a model folder")
    made.add_argument("data", nargs="?", type=Path, default=Path("../shared/data"),
                      help="the folder of the card's datasets")
    if crack500_step:
        made.add_argument("--crack500-step", type=int, default=3, help="every n-th CRACK500 valid image (899 in all)")
    if record:
        made.add_argument("--record", action="store_true", help="write the measured figure into the model's model.json")
    return made


def arguments(description: str, *, record: bool = False) -> argparse.Namespace:
    """The parsed arguments of :func:`parser`, for scripts that add none of their own."""
    return parser(description, record=record).parse_args()


def domains(data: Path, *, crack500_step: int = 1) -> dict[str, list]:
    """The pairs of every set by domain (UAV-CrackX split by zoom), sets missing from ``data`` skipped."""
    by_domain: dict[str, list] = {}
    for folder, split in SETS:
        if not (data / folder).is_dir():
            print(f"(skipped {folder}: not in {data})")
            continue
        pairs = gather_pairs([data / folder], "auto", split)[:: crack500_step if folder == "crack500" else 1]
        for pair in pairs:
            by_domain.setdefault(domain_of(data / folder, pair), []).append(pair)
    return by_domain


def hard_negative_images(data: Path) -> dict[str, list]:
    """The images the card paints its held-back hard negatives on: the crack-free walls of the
    walls' valid split (picked by name) and every third drone road tile (29 of 86: minutes, not a
    quarter hour), by the card's row names; a set missing from ``data`` is left out."""
    images = {}
    if (data / "concrete-walls").is_dir():
        images["crack-free walls"] = [p for p in gather_pairs([data / "concrete-walls"], "auto", "valid")
                                      if p.image.name.startswith("noncrack")]
    if (data / "uav-crackx").is_dir():
        images["drone road tiles"] = gather_pairs([data / "uav-crackx"], "auto", "valid")[::3]
    return images


def snapshot_info(path: Path) -> dict[str, str]:
    """The metadata of a ``scripts/train_budget.py`` snapshot (architecture, encoder, run settings),
    or a model folder's architecture and encoder."""
    from safetensors import safe_open

    from cracks.models import artifact

    if path.is_dir():
        meta = artifact.read_meta(path)
        return {"arch": meta.arch, "encoder": meta.encoder}
    with safe_open(str(path), "pt") as f:
        info = f.metadata() or {}
    if not (info.get("arch") and info.get("encoder")):
        raise SystemExit(f"{path}: no arch and encoder in its metadata: pass a model folder (e.g. "
                         f"models/default) or a scripts/train_budget.py snapshot")
    return info


def load_scored_model(path: Path, threshold: float | None = None) -> tuple[nn.Module, dict[str, list[float]], float | None]:
    """``(network, normalization, threshold)`` of a model folder or a ``scripts/train_budget.py``
    snapshot (fp16 tensors with the architecture and encoder in their metadata, and no threshold:
    give one). ``threshold``, where given, overrides a folder's own."""
    import torch
    from safetensors.torch import load_file

    from cracks.models import artifact
    from cracks.models.factory import build_model, normalization_for

    if path.is_dir():
        loaded = artifact.load(path, device=torch.device("cpu"))
        return loaded.model, loaded.meta.normalization, loaded.meta.threshold if threshold is None else threshold
    info = snapshot_info(path)
    model = build_model(info["arch"], info["encoder"], pretrained=False)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()})
    return model.eval(), normalization_for(info["arch"], info["encoder"]), threshold
