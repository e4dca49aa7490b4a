"""Where a small site's seconds go: one `cracks inspect` run, timed stage by stage and call by call.

    .venv/bin/python benchmarks/startup_timeline.py [--runs 3] [--site sample/road_section.tif] [--no-mmap-threshold]

Each run is a fresh process (imports and all). It marks the entry and exit of every inspection
stage (model load, predictor, plan, segment, measure, records, publish) and of every model call
and compilation, with the page faults and system time so far, and prints the timeline, then
the wall time, CPU time and page faults of the whole run. ``--no-mmap-threshold`` runs without
``cracks.memory.keep_large_arrays_out_of_the_heap`` (glibc's own allocation policy), to see what
that policy costs on a small site.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
T0 = time.monotonic()
marks = []

def mark(what):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    marks.append((round(time.monotonic() - T0, 3), usage.ru_minflt, round(usage.ru_stime, 3), what))

site, out, plain_malloc = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
import cracks.cli as cli
mark("cli imported")
import cracks.inspect.pipeline as pipeline
import cracks.models.backends as backends
if plain_malloc:
    pipeline.keep_large_arrays_out_of_the_heap = lambda: False

def timed(module, name):
    inner = getattr(module, name)
    def wrapper(*args, **kwargs):
        mark(name + " >")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(name + " <")
    setattr(module, name, wrapper)

for stage in ("load_model", "config_predictor", "plan_site", "segment_site", "measure_site", "site_records", "publish_site"):
    timed(pipeline, stage)
compile_network = backends.OpenVINOBackend._compiled
def compiled(self, shape):
    new = shape not in self.compiled
    if new: mark("compile >")
    network = compile_network(self, shape)
    if new: mark("compile <")
    return network
backends.OpenVINOBackend._compiled = compiled
timed(backends.OpenVINOBackend, "__call__")
sys.argv = ["cracks", "inspect", site, "--out", out]
try:
    cli.main()  # the console script, as users run it
except SystemExit:
    pass
mark("exit")
print("TIMELINE " + json.dumps(marks), file=sys.stderr)
"""


def run(site: Path, plain_malloc: bool) -> tuple[list, float, float, int]:
    with tempfile.TemporaryDirectory() as out:
        command = ["/usr/bin/time", "-f", "TIME %e %U %S %R", sys.executable, "-c", CHILD, str(site), out, "1" if plain_malloc else "0"]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    lines = done.stderr.replace("\r", "\n").splitlines()
    timeline = json.loads(next(line for line in lines if line.startswith("TIMELINE "))[9:])
    wall, user, system, faults = next(line for line in lines if line.startswith("TIME ")).split()[1:]
    return timeline, float(wall), float(user) + float(system), int(faults)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=REPO / "sample" / "road_section.tif")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-mmap-threshold", action="store_true", help="glibc's own allocation policy")
    args = parser.parse_args()
    from cracks.models.hardware import cpu_model

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; site {args.site}" + (", glibc allocation" if args.no_mmap_threshold else ""))
    for i in range(args.runs):
        timeline, wall, cpu, faults = run(args.site, args.no_mmap_threshold)
        print(f"\nrun {i + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s, page faults {faults}")
        previous = 0.0
        for seconds, minor_faults, system, what in timeline:
            print(f"  {seconds:6.2f} s (+{seconds - previous:5.2f})  faults {minor_faults:7d}  sys {system:5.2f} s  {what}")
            previous = seconds


if __name__ == "__main__":
    main()
