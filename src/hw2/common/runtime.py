"""Threads, denormals and device choice: how a process uses the machine it is given."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch


def cpu_budget() -> int:
    """How many cores this process may use: ``OMP_NUM_THREADS`` when set, else every core it
    may run on. An execution setting, not a parameter: results do not depend on it.

    Several processes sharing the cores (several experiments run at once) should each be given
    cores/N: oversubscribed OpenMP threads spin against each other and run many times slower
    than one."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_threads(threads: int | None = None) -> int:
    """Use ``threads`` (default :func:`cpu_budget`) intra-op threads; flush denormals (they slow
    CPU arithmetic by orders of magnitude and change nothing a float32 network can represent
    usefully)."""
    threads = threads or cpu_budget()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    return threads


@contextmanager
def threads(n: int) -> Iterator[None]:
    """:func:`configure_threads` with ``n`` threads for the block, the previous count after it."""
    before = torch.get_num_threads()
    configure_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
