"""File hashes: how inputs, models and exports are identified (resume keys, survey skips, exports)."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """The sha256 of a file, read in chunks (orthophotos can be larger than memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _version(path: str | Path) -> tuple[str, int, int]:
    """What identifies a version of a file without reading it: its resolved path, size and modification time."""
    path = Path(path)
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def cached_file_sha256(path: str | Path) -> str:
    """:func:`file_sha256`, computed once per file version (path, size, modification time):
    model files are checked per site and per worker."""
    return _cached(*_version(path))


@lru_cache(maxsize=16)
def _cached(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


_ahead: dict[tuple[str, int, int], Future] = {}
_ahead_lock = threading.Lock()


def hash_ahead(path: str | Path) -> None:
    """Start hashing ``path`` on a thread, for :func:`input_sha256` to take up.

    An orthophoto's hash is part of its run key, needed before segmenting starts: computed there,
    after the model is loaded, it held the network back by 0.3 s on a 100 MP orthophoto (97 MB);
    started first, it is read while the model loads (hashlib and file reads release the GIL).
    A missing or unreadable file is left to the plan to report."""
    try:
        key = _version(path)
    except OSError:
        return
    with _ahead_lock:
        if key in _ahead:
            return
        future = _ahead[key] = Future()

    def work() -> None:
        try:
            future.set_result(file_sha256(key[0]))
        except BaseException as exc:  # noqa: BLE001 - handed to input_sha256
            future.set_exception(exc)

    threading.Thread(target=work, name="hash-ahead", daemon=True).start()


def input_sha256(path: str | Path) -> str:
    """The sha256 of an input: the one :func:`hash_ahead` started for this version of the file
    (same size and modification time), or computed now."""
    key = _version(path)
    with _ahead_lock:
        future = _ahead.pop(key, None)
        for stale in [other for other in _ahead if other[0] == key[0]]:  # an earlier version of the file
            del _ahead[stale]
    return future.result() if future is not None else file_sha256(path)

