"""The network's own speed on a CUDA GPU: megapixels per second at 1024 px tiles, fp16, large batches.

    python benchmarks/cuda_model_speed.py [--model models/default] [--megapixels 100]

Needs only torch, safetensors and segmentation-models-pytorch, so it runs on a bare GPU machine.
Times ``megapixels`` worth of 1024 px windows (the inspection's default tile; overlap costs a
further 1.33x windows at ``--overlap 128``) per batch size, after a warm-up, synchronised.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from cracks.models import artifact
from cracks.models.hardware import cpu_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--megapixels", type=float, default=100)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--batches", default="4,8,16,32")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("error: no CUDA device")
    torch.backends.cudnn.benchmark = True
    model = artifact.load(args.model).model.cuda().half().to(memory_format=torch.channels_last).eval()
    print(f"GPU {torch.cuda.get_device_name()}, CPU {cpu_model()}, torch {torch.__version__}")
    tile_mp = args.tile * args.tile / 1e6
    for batch in (int(b) for b in args.batches.split(",")):
        x = torch.randn(batch, 3, args.tile, args.tile, device="cuda", dtype=torch.half)
        x = x.contiguous(memory_format=torch.channels_last)
        steps = max(1, math.ceil(args.megapixels / (tile_mp * batch)))
        with torch.inference_mode():
            for _ in range(3):
                model(x)
            torch.cuda.synchronize()
            started = time.perf_counter()
            for _ in range(steps):
                torch.sigmoid(model(x))
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        mp = steps * batch * tile_mp
        print(f"fp16 batch {batch:3d}: {mp:.0f} MP in {seconds:.2f} s = {mp / seconds:.0f} MP/s "
              f"(peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)", flush=True)


if __name__ == "__main__":
    main()
