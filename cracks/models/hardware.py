"""What the machine can run, found without importing PyTorch where the answer does not need it."""

from __future__ import annotations

import functools
import glob
import os
import platform


def cpu_model() -> str:
    """The processor's name (``AMD EPYC 7B13``), printed with every figure: speeds are only
    comparable on one machine."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX: bf16 convolutions run natively instead of being emulated.

    Cached: the processor does not change while the process runs, and backends are resolved per
    site and per worker."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_possible() -> bool:
    """False when this machine certainly has no CUDA device (no NVIDIA device node, or CUDA hidden).

    Lets ``device="auto"`` settle on the CPU without importing torch; where a device node exists,
    torch is asked.
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a CUDA device, else ``cpu``; other names pass through."""
    if device != "auto":
        return device
    if not cuda_possible():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
