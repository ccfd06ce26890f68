"""The same bytes on every machine: each numeric path of the pipeline, run in miniature in the
stages' kernels (tools/fingerprint.py, in a process of its own as a stage is), gives the digests
committed in tools/fingerprint.json, on this CPU and on emulated ones (QEMU's user-mode emulator
runs the project's own interpreter on another processor model: its vendor, its CPUID and its
instruction sets), and a CPU without AVX2 runs the pipeline in its own portable path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import BIN, ROOT, env, git_init, needs_fmnist, run, set_params

sys.path.insert(0, str(ROOT / "tools"))
from fingerprint import ENCODER_BATCH, EXPECTED, FEATURE_NORM, THREADS, compare

QEMU = shutil.which("qemu-x86_64")
needs_qemu = pytest.mark.skipif(
    QEMU is None,
    reason="qemu-x86_64 not on PATH: the emulated CPUs are not tried "
    "(make test installs Debian's qemu-user where apt works)",
)
# an AMD and an Intel of AVX2 without AVX-512, as QEMU models them
EMULATED = ("EPYC-Milan-v1", "Haswell-v4")
NO_AVX2 = "Westmere-v1"  # an Intel without AVX: PyTorch's AVX2 kernels die there with SIGILL


def fingerprint(*args: str, cpu: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "tools/fingerprint.py", "--json", *args]
    if cpu is not None:
        assert QEMU is not None  # the tests that emulate are skipped without it
        cmd = [QEMU, "-cpu", cpu, *cmd]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def result(proc: subprocess.Popen, what: str) -> dict:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    return json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])


def committed(path: str) -> dict:
    expected = json.loads(EXPECTED.read_text())
    assert path in expected, f"{EXPECTED.name} has no digests for {path!r}: {list(expected)}"
    return expected[path]


def test_the_fingerprint_computes_in_the_committed_params_settings():
    """Its threads, encoder batch and the decoders it decodes with are params.yaml's: a change to
    one of those params without the fingerprint would leave the committed run's path untested."""
    cap = yaml.safe_load((ROOT / "params.yaml").read_text())["captioning"]
    assert THREADS == cap["threads"]
    assert ENCODER_BATCH == cap["encoder"]["batch_size"]
    assert FEATURE_NORM == cap["decoder"]["feature_norm"]


@pytest.mark.parametrize("args", [(), ("--no-avx2",)], ids=["avx2", "no-avx2"])
def test_every_numeric_path_computes_the_committed_bytes_on_this_cpu(args):
    here = result(fingerprint(*args), "this CPU")
    expected = committed(here["kernel_path"])
    assert set(here["digests"]) == set(expected["digests"])
    assert compare(here["digests"], here["machine"], expected, EXPECTED.name) is None, here
    # a difference is found, and named with both CPUs
    expected["digests"]["beam search"] = "0" * 16
    expected["machine"] = {"name": "another CPU", "flags": ["avx2"]}
    line = compare(here["digests"], here["machine"], expected, EXPECTED.name)
    assert line is not None
    assert line.startswith(f"on {here['machine']['name']} (") and "than on another CPU (avx2)" in line
    assert line.endswith("fingerprint.json was made: beam search"), line


@needs_qemu
def test_emulated_amd_and_intel_cpus_compute_the_committed_and_this_cpus_bytes():
    """EPYC-Milan (AMD) and Haswell (Intel, AVX2 without AVX-512), each named by its own CPUID, give
    the committed digests and those of this CPU, path by path; a difference names the path and the
    emulated model."""
    native = result(fingerprint(), "this CPU")
    procs = {cpu: fingerprint(cpu=cpu) for cpu in EMULATED}  # side by side: a minute or two each
    emulated = {cpu: result(proc, f"qemu-x86_64 -cpu {cpu}") for cpu, proc in procs.items()}
    expected = committed(native["kernel_path"])
    problems = []
    for cpu, got in emulated.items():
        assert got["kernel_path"] == native["kernel_path"], (cpu, got["kernel_path"])
        assert got["machine"]["name"] != native["machine"]["name"], "the emulated CPU must be named by its CPUID"
        for source, reference in ((EXPECTED.name, expected), ("this CPU", native)):
            line = compare(got["digests"], got["machine"], reference, source)
            if line:
                problems.append(f"qemu-x86_64 -cpu {cpu}: {line}")
    assert not problems, "\n".join(problems)
    assert {e["machine"]["name"].split()[0] for e in emulated.values()} == {"AMD", "Intel"}


@needs_qemu
@needs_fmnist
def test_a_cpu_without_avx2_runs_the_stages_in_its_own_path_and_says_so(repo):
    """On an emulated Westmere (no AVX, no AVX2) `dvc repro` runs the CNN's stages (PyTorch's AVX2
    kernels would die there with SIGILL), in the portable path of CPUs without AVX2, which the
    stage prints and the metrics record (the end-of-run notice: the test below)."""
    set_params(repo, lr=[0.1], cnn={"epochs": 1, "limit": 64})
    git_init(repo)
    python = repo.parent / "westmere-python"
    python.write_text(f'#!/bin/sh\nexec {QEMU} -cpu {NO_AVX2} {BIN / "python"} "$@"\n')
    python.chmod(0o755)
    proc = run([str(BIN / "dvc"), "repro", "train_cnn"], repo, extra_env={"HW2_PYTHON": str(python)}, timeout=900)
    assert "Illegal instruction" not in proc.stderr
    assert "PyTorch DEFAULT, MKL COMPATIBLE, oneDNN SSE4.1 (the path of CPUs without AVX2)" in proc.stdout, proc.stdout
    metrics = json.loads((repo / "metrics" / "cnn.json").read_text())
    assert metrics["kernels"] == "portable" and "without AVX2" in metrics["kernel_path"]
    assert set(metrics["rates"]) == {"lr_0_1"}


def test_the_end_of_run_notices_say_once_when_the_digits_are_not_the_portable_avx2_ones(tmp_path, capsys):
    from notices import main as notices

    (tmp_path / "metrics" / "captioner").mkdir(parents=True)
    for kernels, path, expected in (
        ("portable", "PyTorch AVX2, MKL COMPATIBLE, oneDNN AVX2", None),
        ("portable", "PyTorch DEFAULT, MKL COMPATIBLE, oneDNN SSE4.1 (the path of CPUs without AVX2)", "NO AVX2"),
        ("native", "PyTorch AVX512, MKL and oneDNN as the CPU allows", "NATIVE kernels"),
    ):
        for name in ("cnn", "features", "captioner/vanilla_seed0", "captioner/attention_seed0"):
            (tmp_path / "metrics" / f"{name}.json").write_text(json.dumps({"kernels": kernels, "kernel_path": path}))
        notices(tmp_path)
        lines = [line for line in capsys.readouterr().err.splitlines() if "kernels" in line or "AVX2" in line]
        if expected is None:
            assert lines == []
        else:
            assert len(lines) == 1 and expected in lines[0], lines
