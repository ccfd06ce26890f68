"""How a process computes: its kernels, its threads and its device, fixed so that the same inputs
give the same bits on every x86-64 machine.

PyTorch picks its CPU kernels by what the processor can do: its own vectorised code by instruction
set (AVX2, AVX-512), oneDNN's convolutions compiled for the processor (their blocking read from
its caches), MKL's matrix products and vector maths by a code branch per processor (Intel's
fastest only on Intel). Float32 results then differ in the last bits from one machine to another,
and a network trained for 15 epochs ends elsewhere. :func:`use_kernels` pins one path for float32:

- ``ATEN_CPU_CAPABILITY=avx2``: PyTorch's own kernels in AVX2 with FMA and Sleef, on every x86-64
  processor of the last ten years, Intel or AMD;
- ``MKL_CBWR=COMPATIBLE``: MKL's one code path that Intel documents as giving the same results on
  Intel and non-Intel processors (``AVX2`` would be faster, but only on Intel); ``MKL_DYNAMIC=FALSE``:
  MKL uses the threads it is given;
- oneDNN and NNPACK off: convolutions as im2col and an MKL matrix product;
- a number of threads chosen by the caller, not by the machine: full reductions split their work
  by thread, so the same count gives the same bytes on 2 cores or 16.

What that costs is in bench/README.md. bfloat16 arithmetic is only fast through oneDNN and the
processor's own bfloat16 instructions, so it leaves the kernels native: its numbers depend on the CPU.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch

PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "MKL_DYNAMIC": "FALSE"}


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        return set()


def use_kernels(precision: str = "float32", threads: int = 1, portable: bool | None = None) -> dict:
    """Fix this process's arithmetic, before its first tensor operation: the portable kernels for
    ``float32``, the native ones for ``bfloat16`` (see the module's docstring; ``portable`` False
    gives float32 the native ones, for bench/kernels.py to measure what the portable ones cost),
    ``threads`` intra-op threads. Returns what was fixed, for the metrics."""
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be float32 or bfloat16, not {precision!r}")
    portable = precision == "float32" if portable is None else portable
    if portable:
        os.environ.update(PORTABLE_ENV)  # read by PyTorch at its first kernel call and by MKL at its first call
    torch.backends.mkldnn.enabled = not portable
    torch.backends.nnpack.set_flags(not portable)
    torch.set_num_threads(threads)
    capability = torch.backends.cpu.get_cpu_capability()
    if portable and capability != "AVX2" and "avx2" in cpu_flags():
        raise RuntimeError(f"PyTorch chose its {capability} kernels before use_kernels() could pin AVX2: "
                           "call it before any tensor operation")
    CURRENT.update(precision=precision, threads=threads, portable=portable)
    return {"precision": precision, "threads": threads,
            "kernels": (f"portable: PyTorch {capability}, MKL COMPATIBLE, no oneDNN" if portable
                        else f"native: PyTorch {capability}, MKL and oneDNN as the CPU allows")}


CURRENT: dict = {}  # this process's use_kernels() settings: what a process it starts must use too


@contextmanager
def threads(n: int) -> Iterator[None]:
    """``n`` intra-op threads for the block, the previous count after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_budget() -> int:
    """How many cores this process may run on (``OMP_NUM_THREADS`` when set): how many processes
    to run side by side, which changes the time a job takes, never its numbers."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def deterministic_device(name: str | torch.device) -> torch.device:
    """The device ``name`` (auto | cpu | cuda); on CUDA, asks for deterministic kernels in true
    float32 (cuBLAS with a fixed workspace, deterministic algorithms where PyTorch has them and a
    warning where it has not, no cuDNN autotuning, no TF32), so that a rerun gives the same result."""
    device = name if isinstance(name, torch.device) else resolve_device(name)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    return device
