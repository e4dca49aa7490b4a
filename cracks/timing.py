"""Seconds spent per stage of a job, summed across threads (the row pipeline reads, runs the
model and stitches at once), so a summary can say where the time went."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimes:
    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def __getstate__(self) -> dict:  # plans travel to workers (Prefect, Dask): the lock stays behind
        return {"seconds": self.to_dict()}

    def __setstate__(self, state: dict) -> None:
        self._seconds = dict(state["seconds"])
        self._lock = threading.Lock()

    def to_dict(self) -> dict[str, float]:
        with self._lock:
            return {stage: round(seconds, 3) for stage, seconds in self._seconds.items()}
