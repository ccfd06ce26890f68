"""Shared fixtures: a temporary copy of the repository to run the real stages and `dvc` in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "stages")]  # tools' helpers; the stages' scripts and _stage

from repo_copy import copy_repo  # noqa: E402  (the tests' copy of the repository)

from hw2.common.runtime import Kernels  # noqa: E402

# the stages' kernels (params.yaml's kernels: portable), one thread: two test workers share two cores
KERNELS = Kernels()


def pytest_configure(config):
    """The stages' kernels for the tests that compute in this process, applied before any test
    module is imported (a process computes in the path it first applies)."""
    KERNELS.apply()


BIN = Path(sys.executable).parent  # the virtual environment's bin: python, dvc
SYSTEM_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def env() -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["DVC_NO_ANALYTICS"] = "1"
    e.pop("DVC_EXP_BASELINE_REV", None)
    return e


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: float = 600, extra_env: dict | None = None, **kw
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, cwd=cwd, env={**env(), **(extra_env or {})}, capture_output=True, text=True, timeout=timeout, **kw
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return proc


def merge(into: dict, updates: dict) -> dict:
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def set_params(repo: Path, **updates) -> None:
    """set_params(repo, lr=[0.1], cnn={"epochs": 2}) merges (deeply) into params.yaml."""
    path = repo / "params.yaml"
    path.write_text(yaml.safe_dump(merge(yaml.safe_load(path.read_text()), updates), sort_keys=False))


def git_init(repo: Path) -> None:
    """A git repository with one commit (`dvc exp run` needs one), with its own identity so that
    DVC's experiment commits work on a machine without a global git user."""
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "hw2 tests"],
        ["git", "config", "user.email", "tests@hw2.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "copy"],
    ):
        run(cmd, repo)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the repository (no data, no models), not yet a git repository."""
    return copy_repo(tmp_path / "repo")


needs_fmnist = pytest.mark.skipif(
    not (SYSTEM_FMNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST not in {SYSTEM_FMNIST} (make test installs it where apt works)",
)


def pytest_collection_modifyitems(items):
    """The longest file first (tests/test_pipeline.py: one pipeline run its scenarios share), so that
    the two test workers (pyproject.toml: `-n 2 --dist loadfile`, a file to a worker, whose module
    fixtures are then made once) end at about the same time."""
    items.sort(key=lambda item: item.path.name != "test_pipeline.py")


def caption_config(**changes):
    """A small decoder's training settings (every field of CaptionTrainConfig), with ``changes``."""
    from hw2.captioning.train import CaptionTrainConfig

    return CaptionTrainConfig(
        **{
            "model": "attention",
            "embed_dim": 16,
            "decoder_dim": 32,
            "attention_dim": 16,
            "dropout": 0.0,
            "feature_norm": False,
            "lr": 3e-3,
            "batch_size": 16,
            "epochs": 3,
            "smooth": 1,
            "patience": 5,
            "lr_decay": 1.0,
            "lr_patience": 3,
            "grad_clip": 5.0,
            "alpha_c": 1.0,
            "seed": 0,
            "precision": "float32",
            "device": "cpu",
            **changes,
        }
    )


GUARD = ROOT / "tests" / "guard"  # sitecustomize.py (socket guard, hub watch) and the stages' dependency audit


def guarded_env(repo: Path, work: Path) -> dict:
    """The environment of a machine that must not change a byte of any output (DVC runs the stages
    in it): no network (a socket guard that fails loudly), a torch hub cache holding a file named as
    torchvision's ImageNet weights (a ResNet-18 of other weights: features from it would differ), a
    far time zone, the C locale without UTF-8 mode, a fresh home, other hash seeds, one thread, and
    oneDNN and MKL told to compute otherwise. Every stage runs through tests/guard/dep_audit.py,
    which writes down any of its dependencies that changed while it ran. Read the logs with
    :func:`guard_log` and :func:`audit_log`."""
    import json

    import torch
    from dvc.repo import Repo
    from torchvision.models import resnet18

    hub = work / "torch_home"
    (hub / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(7)
    torch.save(resnet18().state_dict(), hub / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    with Repo(str(repo)) as dvc:  # each stage's command, as DVC runs it, and its dependencies
        deps = {s.cmd.removeprefix("stages/python "): [d.def_path for d in s.deps] for s in dvc.index.stages}
    (work / "deps.json").write_text(json.dumps(deps))
    (work / "home").mkdir(exist_ok=True)
    return {
        "PYTHONPATH": str(GUARD),
        "HW2_GUARD_LOG": str(work / "guard.log"),
        "TORCH_HOME": str(hub),
        "HW2_PYTHON": str(GUARD / "python"),
        "HW2_AUDIT_PYTHON": sys.executable,
        "HW2_AUDIT_DEPS": str(work / "deps.json"),
        "HW2_AUDIT_LOG": str(work / "audit.log"),
        "TZ": "Pacific/Kiritimati",
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONUTF8": "0",
        "PYTHONHASHSEED": "12345",
        "HOME": str(work / "home"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "ONEDNN_DEFAULT_FPMATH_MODE": "BF16",
        "DNNL_MAX_CPU_ISA": "SSE41",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    }


def guard_log(work: Path) -> list[tuple[int, str, str]]:
    """(pid, what, detail) for each line the guarded processes wrote: ``ran``, ``network``, ``hub``."""
    path = work / "guard.log"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [(int(pid), what, detail) for pid, what, detail in (line.split(" ", 2) for line in lines)]


def audit_log(work: Path) -> list[dict]:
    import json

    path = work / "audit.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []
