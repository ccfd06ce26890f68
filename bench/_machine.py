"""What the benchmark scripts share: the machine they ran on, and params.yaml as plain values."""

from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def params() -> dict:
    """params.yaml as the stages read it (DVC's YAML, the schema's checks), as plain values: the
    benchmarks time the settings the pipeline runs with. ``lr`` is always a list."""
    from pipeline.params import load

    return load(ROOT / "params.yaml").model_dump()


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def chosen_encoder(weights: str):
    """The encoder params.yaml's ``captioning.encoder.weights`` names, as the pipeline builds it:
    ``none`` the seeded random one, ``imagenet`` data/weights/resnet18-f37072fd.pth (put there by hand
    or `make weights`; a benchmark never downloads), otherwise that file."""
    from hw2.captioning.features import build_encoder
    from hw2.captioning.weights import IMAGENET_FILE, check_imagenet_file

    if weights == "none":
        return build_encoder("none")
    path = ROOT / "data" / "weights" / IMAGENET_FILE if weights == "imagenet" else ROOT / weights
    if weights == "imagenet" and path.is_file():
        check_imagenet_file(path)
    return build_encoder(path, label=weights)


def caption_config(model: str, cap: dict, **overrides):
    """The decoder's training settings as params.yaml's ``captioning`` section (``cap``) gives them
    (its ``decoder`` and ``train`` keys, on the CPU), with ``overrides`` (epochs, patience, …)."""
    from hw2.captioning.train import CaptionTrainConfig

    return CaptionTrainConfig(model=model, **{**cap["decoder"], **cap["train"], "device": "cpu", **overrides})


def revision_tree(rev: str) -> Path:
    """The code of git revision ``rev`` (its src/ and bench/) in ``bench/.work/rev-<sha>/``, beside
    this tree's params.yaml and data/ (a link): to time another revision's code as it was, on the
    same data and settings, in the same run as this tree's (``run_revision``)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = ROOT / "bench" / ".work" / f"rev-{sha}"
    if not tree.is_dir():
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        archive = subprocess.run(
            ["git", "archive", sha, "src", "bench"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(partial, filter="data")
        (partial / "data").symlink_to(ROOT / "data")
        partial.rename(tree)
    shutil.copyfile(ROOT / "params.yaml", tree / "params.yaml")
    return tree


def run_revision(rev: str, script: str, *args: str) -> subprocess.CompletedProcess:
    """``python bench/<script> args`` as revision ``rev`` has it, importing that revision's library."""
    tree = revision_tree(rev)
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env, capture_output=True, text=True
    )
