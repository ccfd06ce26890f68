"""What the benchmark scripts share: the machine they ran on, and params.yaml as plain values."""
from __future__ import annotations

import platform
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def params() -> dict:
    """params.yaml as written (the benchmarks time the settings the pipeline runs with)."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
