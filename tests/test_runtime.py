"""The arithmetic a process computes in (hw2.common.runtime.Kernels) and the CPU it names
(hw2.common.cpu): each kernel path in a process of its own, as the stages run."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT, run

from hw2.common.cpu import FLAG_BITS, this_cpu
from hw2.common.runtime import Kernels

PROBE = """
import json, os, sys
from hw2.common.runtime import Kernels
first = Kernels(*json.loads(sys.argv[1])).apply()
import torch
x = torch.randn(4, 3, 16, 16)
torch.nn.functional.conv2d(x, torch.randn(8, 3, 3, 3)).sum().item()  # oneDNN and PyTorch have chosen
env = {k: os.environ.get(k) for k in ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")}
try:
    Kernels(*json.loads(sys.argv[2])).apply()
    second = "allowed"
except RuntimeError as exc:
    second = str(exc)
print("JSON " + json.dumps({"first": first, "env": env, "onednn": torch.backends.mkldnn.enabled,
                            "capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
                            "second": second}))
"""


def probe(first: list, second: list) -> dict:
    out = run(
        [sys.executable, "-c", PROBE, json.dumps(first), json.dumps(second)],
        ROOT,
        extra_env={"PYTHONPATH": str(ROOT / "src")},
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])


def test_the_portable_kernels_pin_avx2_mkl_compatible_and_onednn_avx2_and_keep_their_path():
    got = probe(["portable", "float32", 2], ["portable", "float32", 1])
    assert got["first"] == {
        "kernels": "portable",
        "kernel_path": "PyTorch AVX2, MKL COMPATIBLE, oneDNN AVX2",
        "precision": "float32",
        "threads": 2,
    }
    assert got["env"] == {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert got["onednn"] and got["capability"] == "AVX2"
    assert got["second"] == "allowed" and got["threads"] == 1  # the threads may change, the path may not


def test_the_native_kernels_are_what_pytorch_picks_and_a_process_cannot_switch_paths():
    got = probe(["native", "float32", 1], ["portable", "float32", 1])
    assert got["first"]["kernels"] == "native" and got["first"]["kernel_path"].endswith(
        "MKL and oneDNN as the CPU allows"
    )
    assert got["env"] == {"ATEN_CPU_CAPABILITY": None, "MKL_CBWR": None, "ONEDNN_MAX_CPU_ISA": None}
    assert got["onednn"] and f"PyTorch {got['capability']}," in got["first"]["kernel_path"]
    assert got["second"].startswith("this process already computes in the native kernels")
    # bfloat16 always runs the native kernels, whatever `kernels` says
    assert probe(["portable", "bfloat16", 1], ["native", "float32", 1])["first"]["kernels"] == "native"


def test_the_path_of_cpus_without_avx2_runs_anywhere_when_asked():
    got = probe(["portable", "float32", 1, False], ["portable", "float32", 1])
    assert got["capability"] == "DEFAULT"
    assert got["env"] == {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}
    assert (
        got["first"]["kernel_path"] == "PyTorch DEFAULT, MKL COMPATIBLE, oneDNN SSE4.1 (the path of CPUs without AVX2)"
    )
    assert got["second"].startswith(
        "PyTorch chose its DEFAULT kernels before the portable ones could be pinned to AVX2"
    )


def test_a_bad_kernels_or_precision_value_is_refused_before_anything_is_set():
    with pytest.raises(ValueError, match="kernels must be portable or native, not 'fast'"):
        Kernels("fast").apply()
    with pytest.raises(ValueError, match="precision must be float32 or bfloat16, not 'fp16'"):
        Kernels("portable", "fp16").apply()


def test_the_cpu_is_named_by_cpuid():
    cpu = this_cpu()
    assert cpu.source == "cpuid" and cpu.vendor in ("GenuineIntel", "AuthenticAMD") and cpu.name
    assert set(cpu.flags) <= {name for name, *_ in FLAG_BITS}
    flags = open("/proc/cpuinfo").read().split("\nflags", 1)[1].split("\n", 1)[0].split()
    assert {"avx2", "fma", "avx512f"} & set(cpu.flags) == {"avx2", "fma", "avx512f"} & set(
        flags
    )  # as the kernel sees them
