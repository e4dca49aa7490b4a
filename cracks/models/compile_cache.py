"""Where OpenVINO keeps compiled networks between runs, and how that folder stays small.

Compiling the network for a tile shape takes about a second on two cores; loading it from
OpenVINO's cache about 0.15 s. OpenVINO never deletes what it caches (a blob of 6-20 MB per
model, precision and tile shape), so a machine that retrains or re-exports its model every
week would collect them for ever: one developer's cache held 899 MB after a day. Each network
(model weights x precision) therefore caches into its own folder, touched whenever it is used,
and only the ``NETWORKS_KEPT`` most recently used folders are kept.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

NETWORKS_KEPT = 3  # e.g. the shipped model's int8 export, a retrained one, and one more
# What this module and OpenVINO put there; nothing else under the folder is ever removed.
NETWORK_FOLDER = re.compile(r"([0-9a-f]{16}|unsaved)-(int8|bf16|fp16|fp32)")
OPENVINO_BLOB = re.compile(r"[0-9]+\.blob")


def cache_root() -> Path | None:
    """``$CRACKS_CACHE_DIR`` or ``~/.cache/cracks/openvino`` (``$XDG_CACHE_HOME`` respected);
    ``None`` (no cache) when ``CRACKS_CACHE_DIR`` is set empty."""
    configured = os.environ.get("CRACKS_CACHE_DIR")
    if configured == "":
        return None
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cracks"
    return base / "openvino"


def compiled_model_cache(network: str) -> Path | None:
    """The cache folder of one network (``<weights sha256 prefix>-<precision>``), marked as
    just used; older networks' folders beyond ``NETWORKS_KEPT`` are removed. ``None`` (compile
    every time) when the cache cannot be created or written."""
    root = cache_root()
    if root is None:
        return None
    folder = root / network
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # last used now: what pruning goes by
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    prune(root, keep=NETWORKS_KEPT)
    return folder


def prune(root: Path, *, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recently used network folders under ``root``, and the
    loose blobs of the earlier one-folder layout; returns what was removed. Only names this
    module and OpenVINO make are touched (``CRACKS_CACHE_DIR`` may point somewhere shared):
    caches OpenVINO rebuilds on demand, never user data."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    folders = sorted((e for e in entries if e.is_dir() and NETWORK_FOLDER.fullmatch(e.name)), key=_last_used, reverse=True)
    removed = [e for e in entries if e.is_file() and OPENVINO_BLOB.fullmatch(e.name)] + folders[keep:]
    for entry in removed:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return removed


def _last_used(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:  # removed meanwhile by another process's pruning
        return 0.0
