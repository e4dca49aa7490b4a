"""File hashes: how inputs, models and exports are identified (resume keys, survey skips, exports)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """The sha256 of a file, read in chunks (orthophotos can be larger than memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cached_file_sha256(path: str | Path) -> str:
    """:func:`file_sha256`, computed once per file version (path, size, modification time):
    model files are checked per site and per worker."""
    path = Path(path)
    stat = path.stat()
    return _cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _cached(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)
