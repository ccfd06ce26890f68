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
