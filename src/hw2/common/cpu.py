"""The processor this process runs on, as its CPUID instruction tells: vendor, name and the
instruction sets that decide which kernels PyTorch, MKL and oneDNN may run.

CPUID, not ``/proc/cpuinfo``: an emulator (``qemu-x86_64 -cpu EPYC-Milan-v1``) and some containers
show the host's ``/proc/cpuinfo``, while the program runs on the processor that CPUID describes.
Python has no CPUID, so :func:`cpuid` runs the instruction from a page of executable memory through
ctypes; where that is not allowed (or off x86-64) the names come from ``/proc/cpuinfo`` instead,
and the result says so.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import platform
import struct
from collections.abc import Callable
from dataclasses import dataclass

# x86-64 System V: cpuid(leaf = edi, subleaf = esi, out = rdx) writes eax, ebx, ecx, edx to out[0..3]
_CPUID = bytes(
    [
        0x53,  # push rbx (callee-saved; cpuid writes it)
        0x49,
        0x89,
        0xD0,  # mov r8, rdx
        0x89,
        0xF8,  # mov eax, edi
        0x89,
        0xF1,  # mov ecx, esi
        0x0F,
        0xA2,  # cpuid
        0x41,
        0x89,
        0x00,  # mov [r8], eax
        0x41,
        0x89,
        0x58,
        0x04,  # mov [r8 + 4], ebx
        0x41,
        0x89,
        0x48,
        0x08,  # mov [r8 + 8], ecx
        0x41,
        0x89,
        0x50,
        0x0C,  # mov [r8 + 12], edx
        0x5B,  # pop rbx
        0xC3,  # ret
    ]
)

# (name, leaf, subleaf, register index (eax ebx ecx edx), bit): the flags the kernels depend on
FLAG_BITS = (
    ("avx2", 7, 0, 1, 5),
    ("fma", 1, 0, 2, 12),
    ("avx512f", 7, 0, 1, 16),
    ("avx512_bf16", 7, 1, 0, 5),
    ("avx512_fp16", 7, 0, 3, 23),
    ("amx_bf16", 7, 0, 3, 22),
)


@dataclass(frozen=True)
class Cpu:
    vendor: str  # GenuineIntel, AuthenticAMD, … ("" when unknown)
    name: str  # the brand string: "AMD EPYC-Milan Processor"
    flags: tuple[str, ...]  # those of FLAG_BITS it has, in that order
    source: str  # "cpuid" or "/proc/cpuinfo"

    def label(self) -> str:
        return f"{self.name} ({', '.join(self.flags) or 'no AVX2'})"


Registers = tuple[int, int, int, int]


@functools.cache
def _cpuid_function() -> Callable[[int, int], Registers] | None:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except (OSError, AttributeError, ValueError):  # W^X policies (SELinux, PaX) refuse executable memory
        return None
    page.write(_CPUID)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    function = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p)(address)

    def run(leaf: int, subleaf: int) -> Registers:
        out = (ctypes.c_uint32 * 4)()
        function(leaf, subleaf, ctypes.addressof(out))
        return out[0], out[1], out[2], out[3]

    run.page = page  # type: ignore[attr-defined]  # the code's memory lives as long as the function
    return run


def cpuid(leaf: int, subleaf: int = 0) -> Registers | None:
    """(eax, ebx, ecx, edx) of CPUID ``leaf``/``subleaf``; None where it cannot be run."""
    function = _cpuid_function()
    return None if function is None else function(leaf, subleaf)


def _from_proc() -> Cpu:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == (platform.processor() or platform.machine()):
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return Cpu("", name, tuple(f for f, *_ in FLAG_BITS if f in flags), "/proc/cpuinfo")


@functools.cache
def this_cpu() -> Cpu:
    """The processor this process runs on (an emulated one under an emulator)."""
    run = _cpuid_function()
    if run is None:
        return _from_proc()
    top = run(0, 0)
    vendor = struct.pack("<III", top[1], top[3], top[2]).decode("ascii", "replace")
    name = vendor
    if run(0x80000000, 0)[0] >= 0x80000004:
        raw = b"".join(struct.pack("<IIII", *run(leaf, 0)) for leaf in (0x80000002, 0x80000003, 0x80000004))
        name = " ".join(raw.rstrip(b"\0").decode("ascii", "replace").split()) or vendor
    leaves = {(leaf, sub): run(leaf, sub) for leaf, sub in {(1, 0), (7, 0), (7, 1)} if leaf <= top[0]}
    flags = tuple(
        f for f, leaf, sub, reg, bit in FLAG_BITS if (leaf, sub) in leaves and leaves[leaf, sub][reg] >> bit & 1
    )
    return Cpu(vendor, name, flags, "cpuid")
