"""The arithmetic a model runs in: float32, or bfloat16 through autocast."""
from __future__ import annotations

from pathlib import Path

import torch

PRECISIONS = ("float32", "bfloat16")


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


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` → bfloat16 where it is native, else float32."""
    if name == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    if name not in PRECISIONS:
        raise ValueError(f"precision must be auto, float32 or bfloat16, not {name!r}")
    return name
