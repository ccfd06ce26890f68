"""The arithmetic a model runs in: float32, or bfloat16 through autocast.

``auto`` picks bfloat16 only where it was measured faster for that model on that machine: a short
probe times a few steps in each precision, taking turns, and its choice is kept in a cache file
(one entry per machine, thread count, torch version and model), so that the same machine makes the
same choice every time. Where the device has no native bfloat16 (it would be emulated), or no probe
is given, ``auto`` is float32 without measuring. A CPU flag alone never picks bfloat16: on a
2-core Xeon with AVX512-BF16 the attention decoder trained slower in bfloat16 than in float32.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

from .atomic import write_json
from .runtime import cpu_budget

PRECISIONS = ("float32", "bfloat16")
MARGIN = 0.9  # bfloat16 must take at most this share of float32's time: a tie keeps float32's accuracy


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively (CUDA, or a CPU with AVX512-BF16 / AMX);
    elsewhere bfloat16 is emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def machine(device: torch.device) -> str:
    """What a measured speed belongs to: the processor or GPU, the threads, torch's version."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        try:
            name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        name += f", {cpu_budget()} threads"
    return f"{name}, torch {torch.__version__}"


def time_precisions(step: Callable[[bool], None], device: torch.device, rounds: int = 3) -> dict[str, float]:
    """Median seconds of ``step(bfloat16)`` in each precision, after one warm-up of each, the two
    taking turns."""
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for r in range(rounds + 1):
        for p in PRECISIONS:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            step(p == "bfloat16")
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if r:
                times[p].append(time.perf_counter() - start)
    return {p: statistics.median(t) for p, t in times.items()}


def resolve_precision(name: str, device: torch.device, probe: Callable[[bool], None] | None = None,
                      model: str = "", cache: Path | None = None) -> str:
    """``float32`` or ``bfloat16`` as asked; ``auto`` as measured by ``probe`` (one representative
    step of ``model``, in bfloat16 autocast when its argument is true), remembered in ``cache``."""
    if name != "auto":
        if name not in PRECISIONS:
            raise ValueError(f"precision must be auto, float32 or bfloat16, not {name!r}")
        return name
    if probe is None or not native_bfloat16(device):
        return "float32"
    key = f"{machine(device)} | {model}"
    known = _read(cache)
    if key in known and known[key].get("precision") in PRECISIONS:
        return known[key]["precision"]
    seconds = time_precisions(probe, device)
    choice = "bfloat16" if seconds["bfloat16"] <= MARGIN * seconds["float32"] else "float32"
    if cache is not None:
        known = _read(cache)  # another process may have written meanwhile
        known[key] = {"precision": choice, "seconds": {p: round(s, 4) for p, s in seconds.items()}}
        try:
            write_json(cache, known)
        except OSError:  # a read-only home: measured again next time
            pass
    return choice


def _read(cache: Path | None) -> dict:
    if cache is None:
        return {}
    try:
        data = json.loads(Path(cache).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/hw2/precision.json`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hw2" / "precision.json"
