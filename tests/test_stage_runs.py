"""Stages run one by one on a copy of the repository: killed work resumes and ends as an
uninterrupted run, and inputs that do not belong together are refused."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
from conftest import env, needs_fmnist, run, set_params
from PIL import Image


def stage_error(repo, script, **params) -> str:
    """Run one stage script with `params` merged in; return its one-line error."""
    set_params(repo, **params)
    proc = run(["python", f"stages/{script}.py"], repo, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def unsafe_zip(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../escape.tif", b"x")


def captions_json(path, splits=("train", "test")):
    path.write_text(
        json.dumps(
            {
                "images": [
                    {"filename": f"{i}.tif", "split": s, "sentences": [{"tokens": ["a", "river"]}]}
                    for i, s in enumerate(splits)
                ]
            }
        )
    )


def processes_working_in(folder) -> list[int]:
    """PIDs of the processes whose working directory is ``folder`` (Linux /proc)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == Path(folder).resolve():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@needs_fmnist
def test_killed_training_resumes_and_ends_with_the_same_metrics(repo):
    set_params(repo, lr=[0.01, 0.1], cnn={"epochs": 3, "limit": 1000})
    run(["python", "stages/download_fashion_mnist.py"], repo)
    run(["python", "stages/train_cnn.py"], repo)
    uninterrupted = (repo / "metrics/cnn.json").read_bytes()

    resume = repo / "models/.resume/train_cnn"
    proc = subprocess.Popen(
        ["python", "stages/train_cnn.py"],
        cwd=repo,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until both rates have finished their first epoch, then kill
        seen.append(line)
        if sum(s.startswith("epoch  1/3") for s in seen) == 2:
            break
    assert sorted(p.name for p in resume.iterdir()) == ["lr_0_01.pt", "lr_0_1.pt"], seen
    live = json.loads((repo / "metrics/cnn.json").read_text())  # DVCLive's summary while it trains
    assert live["step"] >= 1 and set(live["rates"]) == {"lr_0_01", "lr_0_1"}
    assert all(0 < rate["val_acc"] <= 1 and rate["train_loss"] > 0 for rate in live["rates"].values())
    series = repo / "plots/cnn/epochs/plots/metrics/rates/lr_0_1/val_acc.tsv"
    assert series.read_text().startswith("step\tval_acc\n1\t")
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.time() + 10  # they are told to stop (SIGINT) when it dies, and end within a step
    while processes_working_in(repo) and time.time() < deadline:
        time.sleep(0.1)
    assert processes_working_in(repo) == [], "the training processes outlived the killed stage"
    resumed = run(["python", "stages/train_cnn.py"], repo)
    assert "lr 0.01: resumed after epoch" in resumed.stdout and "lr 0.1: resumed after epoch" in resumed.stdout
    assert "epoch  1/3" not in resumed.stdout  # the finished epochs are not trained again
    assert (repo / "metrics/cnn.json").read_bytes() == uninterrupted
    assert not any(resume.iterdir())


def test_a_queued_run_refuses_to_swap_an_untracked_caption_set_for_the_synthetic_one(repo, tmp_path):
    """DVC copies only what Git or DVC tracks into a queued experiment's folder: a caption set lying
    untracked in the workspace's data/raw_dataset is missing there. The stage says so and stops,
    rather than generate the synthetic set (DVC_ROOT names the workspace, as in a queued run)."""
    raw = repo / "data/raw_dataset"
    unsafe_zip(raw / "images.zip")
    captions_json(raw / "dataset.json")
    queued = tmp_path / "queued"
    shutil.copytree(
        repo,
        queued,
        ignore=lambda folder, names: [n for n in names if Path(folder) == raw and n in ("images.zip", "dataset.json")],
    )
    proc = subprocess.run(
        ["python", "stages/unzip_images.py"],
        cwd=queued,
        capture_output=True,
        text=True,
        env={**env(), "DVC_ROOT": str(repo)},
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "neither Git nor DVC tracks" in lines[0] and "dvc add" in lines[0], proc.stderr
    assert not (queued / "data/images").exists() and not (queued / "data/captions.json").exists()
    assert (queued / "metrics/dataset.json").read_bytes() == (repo / "metrics/dataset.json").read_bytes()
    # A workspace of its own with no set (DVC_ROOT is the folder itself): the synthetic set, as designed.
    proc = subprocess.run(
        ["python", "stages/unzip_images.py"],
        cwd=queued,
        capture_output=True,
        text=True,
        env={**env(), "DVC_ROOT": str(queued)},
    )
    assert proc.returncode == 0 and "SYNTHETIC" in proc.stderr


def test_a_killed_unzip_leaves_nothing_behind_once_it_runs_again(repo):
    """kill -9 in the middle of making the synthetic set: the next run removes the half-made work
    folder (data/.synthetic.partial, never /tmp) and ends as an uninterrupted run."""
    set_params(repo, captioning={"synthetic": {"images": 300}, "images": ["2.tif"]})
    work = repo / "data/.synthetic.partial"
    proc = subprocess.Popen(
        ["python", "stages/unzip_images.py"], cwd=repo, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while not (work / "dataset.json").exists() and not any(work.glob(".images.zip.*")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert work.exists()  # what the kill left
    run(["python", "stages/unzip_images.py"], repo)
    assert not work.exists() and not list((repo / "data").glob(".*partial"))
    assert len(list((repo / "data/images").glob("*.tif"))) == 300
    assert json.loads((repo / "metrics/dataset.json").read_text())["images"]["train"] > 0


def test_features_and_vocabulary_from_different_runs_are_refused(repo):
    (repo / "data/features").mkdir(parents=True, exist_ok=True)
    with h5py.File(repo / "data/features/features.h5", "w") as h5:
        h5.create_dataset("filenames", data=["1.tif", "2.tif"], dtype=h5py.string_dtype())
        h5.create_dataset("features", data=np.zeros((2, 49, 512), np.float16))
    (repo / "data/vocab").mkdir(parents=True, exist_ok=True)
    (repo / "data/vocab/vocab.json").write_text(
        json.dumps(
            {
                "itos": ["<pad>", "<start>", "<end>", "<unk>"],
                "max_length": 3,
                "images": ["1.tif", "2.tif", "3.tif"],
                "images_digest": "not-the-same",
            }
        )
    )
    line = stage_error(repo, "train_captioner")
    assert "usage" in line  # no model named
    proc = run(["python", "stages/train_captioner.py", "attention", "0"], repo, check=False)
    assert proc.returncode == 1 and "features.h5: made for 2 images that are not the 3" in proc.stderr


def test_unzip_stage_takes_a_users_set_and_records_its_name_and_hashes(repo):
    set_params(repo, captioning={"images": ["4.tif"]})
    raw = repo / "data/raw_dataset"
    names = [f"{i}.tif" for i in range(1, 5)]
    with zipfile.ZipFile(raw / "images.zip", "w") as zf:
        for name in names:
            buf = io.BytesIO()
            Image.new("RGB", (256, 256), (90, 120, 60)).save(buf, format="TIFF")
            zf.writestr("UCM_captions/imgs/" + name, buf.getvalue())
    (raw / "dataset.json").write_text(
        json.dumps(
            {
                "dataset": "ucm",
                "images": [
                    {
                        "filename": n,
                        "split": s,
                        "sentences": [{"raw": "There are Many Buildings .", "tokens": ["There", "are"]}],
                    }
                    for n, s in zip(names, ["train", "train", "val", "test"], strict=True)
                ],
            }
        )
    )
    out = run(["python", "stages/unzip_images.py"], repo)
    assert "SYNTHETIC" not in out.stderr and "ucm: 4 images extracted" in out.stdout
    metrics = json.loads((repo / "metrics/dataset.json").read_text())
    assert metrics["dataset"] == "ucm" and metrics["synthetic"] is False
    assert set(metrics["inputs"]) == {"images.zip", "dataset.json"} and all(
        len(h) == 64 for h in metrics["inputs"].values()
    )
    assert sorted(p.name for p in (repo / "data/images").iterdir()) == sorted(names)
    captions = json.loads((repo / "data/captions.json").read_text())
    assert captions["images"][0]["sentences"][0]["tokens"] == ["there", "are"]
