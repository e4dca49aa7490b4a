"""Where an inspection's CPU-seconds go: by thread, between grid rows, after the last row, and
the garbage collector's pauses.

    .venv/bin/python benchmarks/cpu_timeline.py [ORTHOPHOTO] [--runs 1] [--tree PATH]

Runs ``cracks`` (its console script's entry point) on the orthophoto (default: the 100 MP raster
``inspect_benchmark.py`` generates) in a fresh process per run and prints:

* the CPU-seconds of each named Python thread (reader, COG copy, scan, warm-up, ...), of the
  main thread (which also runs its share of the network), and of the rest (OpenVINO's and
  OpenBLAS's own threads);
* in the gaps between grid rows (where the next row is read and the last one stitched): their
  wall time and the CPU-seconds of Python threads and of the others (``/proc`` per thread);
* after the last row: the wall time, the CPU-seconds and so the cores busy on average;
* every full garbage collection, and any other over 5 ms: when, how long (the GIL is held).

On two cores everything around the network is CPU-bound, so this says what a change can gain:
fewer CPU-seconds, or cores left idle put to work. ``--tree`` runs another checkout's code.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.inspection_runs import OTHER_TREE, inspection_runs  # noqa: E402

CHILD = r"""
import collections, gc, json, os, resource, sys, threading, time
T0 = time.perf_counter()
TICK = os.sysconf("SC_CLK_TCK")
thread_cpu, python_tids = collections.Counter(), {threading.get_native_id()}
run_thread = threading.Thread.run
def run(self):
    python_tids.add(threading.get_native_id())
    try:
        run_thread(self)
    finally:
        thread_cpu[self.name.split(" ")[0].rstrip("0123456789_-")] += time.thread_time()
threading.Thread.run = run
def per_thread():
    cpu = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
    return cpu
def process_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
collections_log, started = [], {}
def collector(phase, info):
    if phase == "start":
        started["t"] = time.perf_counter()
        return
    seconds = time.perf_counter() - started["t"]
    if info["generation"] == 2 or seconds > 0.005:
        collections_log.append((started["t"] - T0, info["generation"], seconds))
gc.callbacks.append(collector)
import cracks.inspect.rows as rows
marks = []
predict_row = rows.predict_row
def timed_row(*args, **kwargs):
    marks.append(("start", time.perf_counter(), per_thread()))
    result = predict_row(*args, **kwargs)
    marks.append(("end", time.perf_counter(), per_thread(), process_cpu()))
    return result
rows.predict_row = timed_row
from cracks import cli
sys.argv = ["cracks", "inspect", sys.argv[1], "--out", sys.argv[2]]
try:
    cli.main()
except SystemExit:
    pass
end, end_cpu = time.perf_counter(), process_cpu()
thread_cpu["MainThread"] = time.thread_time()
gap_wall = gap_python = gap_other = 0.0
for before, after in zip(marks, marks[1:]):
    if before[0] == "end" and after[0] == "start":
        gap_wall += after[1] - before[1]
        for tid, cpu in after[2].items():
            spent = cpu - before[2].get(tid, 0.0)
            if tid in python_tids:
                gap_python += spent
            else:
                gap_other += spent
last = marks[-1]
print(json.dumps({"wall": end - T0, "cpu": end_cpu, "threads": dict(thread_cpu), "gap_wall": gap_wall,
                  "gap_python": gap_python, "gap_other": gap_other, "tail_wall": end - last[1],
                  "tail_cpu": end_cpu - last[3], "collections": collections_log}))
"""


def main() -> None:
    for run, t in inspection_runs(__doc__, OTHER_TREE + CHILD, runs=1):
        named = sum(t["threads"].values())
        threads = ", ".join(f"{name} {cpu:.2f}" for name, cpu in sorted(t["threads"].items(), key=lambda item: -item[1]))
        print(f"run {run}: wall {t['wall']:.2f} s, CPU {t['cpu']:.2f} s: {threads}, "
              f"the rest (OpenVINO, OpenBLAS) {t['cpu'] - named:.2f}")
        print(f"  gaps between rows {t['gap_wall']:.2f} s: CPU of Python threads {t['gap_python']:.2f} s, "
              f"of the others {t['gap_other']:.2f} s")
        print(f"  after the last row {t['tail_wall']:.2f} s: {t['tail_cpu']:.2f} CPU-s, "
              f"{t['tail_cpu'] / max(t['tail_wall'], 1e-9):.2f} cores busy on average")
        pauses = "; ".join(f"at {at:.2f} s gen {generation} {1000 * seconds:.0f} ms" for at, generation, seconds in t["collections"])
        print(f"  garbage collections (full, or over 5 ms): {pauses or 'none'}")


if __name__ == "__main__":
    main()
