"""How a process computes: its kernels, its threads and its device, fixed so that the same inputs
give the same bits on every x86-64 machine.

PyTorch picks its CPU kernels by what the processor can do: its own vectorised code by instruction
set (AVX2, AVX-512), oneDNN's convolutions by instruction set, MKL's matrix products and vector
maths by a code branch per processor (Intel's fastest only on Intel). Float32 results then differ
in the last bits from one machine to another, and a network trained for 15 epochs ends elsewhere.
:class:`Kernels` pins one path for float32, the ``portable`` kernels:

- ``ATEN_CPU_CAPABILITY=avx2``: PyTorch's own kernels in AVX2 with FMA and Sleef, on every x86-64
  processor of the last ten years, Intel or AMD;
- ``MKL_CBWR=COMPATIBLE``: MKL's one code path that gives the same results on Intel and AMD
  processors (its ``AVX2`` branch runs other code on AMD); ``MKL_DYNAMIC=FALSE``: MKL uses the
  threads it is given;
- oneDNN's convolutions in its AVX2 code (``ONEDNN_MAX_CPU_ISA=AVX2``); NNPACK off;
- a number of threads chosen by the caller, not by the machine: full reductions split their work
  by thread, so the same count gives the same bytes on 2 cores or 16.

On a processor without AVX2 (or FMA) PyTorch's AVX2 kernels cannot run (``Illegal instruction``):
there the portable kernels are PyTorch's ``DEFAULT`` ones and oneDNN's SSE4.1 code, and the digits
are those of such processors, not of AVX2 ones (hw2.notices says so at the end of a run). ``native`` kernels are
what PyTorch, MKL and oneDNN pick for the processor: faster, with digits that belong to it.
bfloat16 arithmetic is only fast through oneDNN and the processor's own bfloat16 instructions, so
it always runs the native kernels. Which tested CPUs agree, and what each path costs, is in
bench/README.md.

One process computes in one path: PyTorch and oneDNN fix their choice at their first kernel call,
so :meth:`Kernels.apply` comes before any tensor operation, and a second one may change the
threads but not the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

KERNELS = ("portable", "native")
PRECISIONS = ("float32", "bfloat16")


def has_avx2() -> bool:
    """Whether PyTorch's AVX2 kernels can run here: AVX2 and FMA, by CPUID and the operating system's
    support (PyTorch's own check, which ``ATEN_CPU_CAPABILITY`` does not change)."""
    from .cpu import this_cpu

    check = getattr(torch.cpu, "_is_avx2_supported", None)
    avx2 = check() if check is not None else "avx2" in this_cpu().flags
    cpu = this_cpu()
    return avx2 and ("fma" in cpu.flags or cpu.source != "cpuid")


def portable_env(avx2: bool) -> dict[str, str]:
    """The environment of the portable kernels: read by PyTorch, MKL and oneDNN at their first call."""
    return {
        "ATEN_CPU_CAPABILITY": "avx2" if avx2 else "default",
        "MKL_CBWR": "COMPATIBLE",
        "MKL_DYNAMIC": "FALSE",
        "ONEDNN_MAX_CPU_ISA": "AVX2" if avx2 else "SSE41",
    }


@dataclass(frozen=True)
class Kernels:
    """The arithmetic a process computes in, as a value: ``kernels`` portable or native (see the
    module's docstring; a bfloat16 ``precision`` always runs native), ``threads`` intra-op threads;
    ``avx2`` False runs the portable path of CPUs without AVX2 on any CPU (for the benchmarks and the
    fingerprint; None: as this CPU allows); ``onednn`` False: convolutions without oneDNN, as the
    portable kernels were before (for bench/kernels.py). A program makes one and :meth:`apply` s it
    before its first tensor operation, and hands it to the processes it starts."""

    kernels: str = "portable"
    precision: str = "float32"
    threads: int = 1
    avx2: bool | None = None
    onednn: bool = True

    @property
    def portable(self) -> bool:
        return self.kernels == "portable" and self.precision == "float32"

    def apply(self) -> dict:
        """Fix this process's arithmetic (the environment PyTorch, MKL and oneDNN read at their first
        call, PyTorch's backends, the threads). Returns what was fixed, for the metrics: ``kernels``
        (portable | native), ``kernel_path`` (what ran, in words), ``precision`` and ``threads``.
        One process computes in one path: after a first ``apply``, another may change the threads
        only (RuntimeError)."""
        if self.kernels not in KERNELS:
            raise ValueError(f"kernels must be portable or native, not {self.kernels!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be float32 or bfloat16, not {self.precision!r}")
        portable = self.portable
        avx2 = has_avx2() if self.avx2 is None else self.avx2 and has_avx2()
        if _APPLIED and _APPLIED[-1].portable != portable:
            raise RuntimeError(
                f"this process already computes in the {'portable' if _APPLIED[-1].portable else 'native'} "
                "kernels; another path needs a process of its own"
            )
        if portable:
            os.environ.update(portable_env(avx2))
        else:  # what PyTorch, MKL and oneDNN pick, even in a process started by a portable one
            for name in portable_env(avx2):
                os.environ.pop(name, None)
        # (set_flags would also reset oneDNN's float32 precision; the property sets only this)
        torch.backends.mkldnn.enabled = self.onednn or not portable  # type: ignore[assignment]
        torch.backends.nnpack.set_flags(not portable)
        torch.set_num_threads(self.threads)
        capability = torch.backends.cpu.get_cpu_capability()
        if portable and capability != ("AVX2" if avx2 else "DEFAULT"):
            raise RuntimeError(
                f"PyTorch chose its {capability} kernels before the portable ones could be pinned to "
                f"{'AVX2' if avx2 else 'DEFAULT'}: apply the kernels before any tensor operation"
            )
        _APPLIED.append(self)
        if portable:
            path = (
                f"PyTorch {capability}, MKL COMPATIBLE, oneDNN AVX2"
                if avx2
                else "PyTorch DEFAULT, MKL COMPATIBLE, oneDNN SSE4.1 (the path of CPUs without AVX2)"
            )
            if not self.onednn:
                path = path.split(", oneDNN")[0] + ", no oneDNN"
        else:
            path = f"PyTorch {capability}, MKL and oneDNN as the CPU allows"
        return {
            "kernels": "portable" if portable else "native",
            "kernel_path": path,
            "precision": self.precision,
            "threads": self.threads,
        }


_APPLIED: list[Kernels] = []  # what this process applied: its path is fixed by the first


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
