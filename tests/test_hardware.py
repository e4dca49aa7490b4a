"""What benchmarks and training runs print about the machine."""

from pathlib import Path

import pytest

from cracks.models.hardware import cpu_model


def test_cpu_model_is_the_processor_name_not_the_architecture():
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
             if line.startswith("model name")] if info.exists() else []
    if not names:
        pytest.skip("no model name in /proc/cpuinfo on this machine")
    assert cpu_model() == names[0] and cpu_model() != "x86_64"
