"""The short check to run where a GPU is lent: every GPU path of the pipeline on tiny data, twice,
in two copies of the repository; the two runs must give the same files, byte for byte.

    python tools/gpu_check.py                 # on CUDA (fails at once without it)
    python tools/gpu_check.py --device cpu    # the same check on the CPU (about 2 minutes on 2 cores)

It runs the real stage scripts (not DVC: the device machine may not have it) on the synthetic
demo set: Fashion-MNIST training (cnn.device), feature extraction (captioning.encoder.device),
both caption decoders, their evaluation and the captioned images (captioning.train.device).
Fashion-MNIST must be in data/raw_fashion_mnist/ or /usr/share/datasets/fashion-mnist (no
download); without it the CNN part is skipped and said so. Prints one line per stage and per
compared file, and exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
from repo_copy import copy_repo  # noqa: E402

CAPTIONING = [
    ["encoder_weights"],
    ["unzip_images"],
    ["extract_features"],
    ["build_vocab"],
    ["train_captioner", "vanilla", "0"],
    ["train_captioner", "attention", "0"],
    ["evaluate", "vanilla", "0"],
    ["evaluate", "attention", "0"],
    ["caption_images"],
]
CNN = [["download_fashion_mnist"], ["train_cnn"]]
COMPARED = [
    "metrics/cnn.json",
    "metrics/features.json",
    "metrics/captioner/vanilla_seed0.json",
    "metrics/captioner/attention_seed0.json",
    "metrics/test_scores/vanilla_seed0.json",
    "metrics/test_scores/attention_seed0.json",
    "plots/captions/caps_generated_enc_dec_w_attention.json",
    "models/captioner/attention/seed0.pt",
]


def tiny_params(device: str) -> dict:
    from pipeline.params import read_yaml

    params = read_yaml(ROOT / "params.yaml")
    params["lr"] = [0.01, 0.1]
    params["cnn"].update(epochs=2, limit=600, device=device)
    cap = params["captioning"]
    cap["synthetic"] = {"images": 45, "seed": 0, "hard": False}
    cap["images"] = ["2.tif", "5.tif", "7.tif"]
    cap["seeds"] = [0]
    cap["encoder"].update(weights="none", batch_size=8, device=device)
    cap["decoder"].update(embed_dim=32, decoder_dim=64, attention_dim=32)
    cap["train"].update(epochs=3, batch_size=16, device=device)
    return params


def copy(dest: Path, device: str) -> Path:
    """What a fresh clone holds (the tests' copy_repo), with the tiny params on ``device``."""
    copy_repo(dest)
    (dest / "params.yaml").write_text(yaml.safe_dump(tiny_params(device), sort_keys=False))
    return dest


def run_stages(repo: Path, stages: list[list[str]]) -> None:
    for stage in stages:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, f"stages/{stage[0]}.py", *stage[1:]], cwd=repo, capture_output=True, text=True
        )
        if proc.returncode:
            sys.exit(f"{repo.name}: {' '.join(stage)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        print(f"{repo.name}: {' '.join(stage)} in {time.perf_counter() - t0:.1f} s: {last[:150]}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = ap.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: torch sees no CUDA device; use --device cpu for the same check on the CPU")
    fmnist = any(
        (folder / "train-images-idx3-ubyte.gz").is_file()
        for folder in (ROOT / "data" / "raw_fashion_mnist", Path("/usr/share/datasets/fashion-mnist"))
    )
    stages = (CNN if fmnist else []) + CAPTIONING
    if not fmnist:
        print("Fashion-MNIST not found without a download: the CNN part is skipped")
    device_name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"checking on {device_name}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = [copy(Path(tmp) / f"run{k}", args.device) for k in (1, 2)]
        for repo in runs:
            run_stages(repo, stages)
        differ = 0
        for rel in COMPARED:
            if rel == "metrics/cnn.json" and not fmnist:
                continue
            same = filecmp.cmp(runs[0] / rel, runs[1] / rel, shallow=False)
            differ += not same
            print(f"{'same' if same else 'DIFFERENT'}: {rel}")
        for rel in ("metrics/captioner/attention_seed0.json", "metrics/test_scores/attention_seed0.json"):
            print(f"{rel}: {(runs[0] / rel).read_text()[:300]}")
    if differ:
        sys.exit(f"{differ} file(s) differ between two runs on {args.device}")
    print(f"deterministic on {args.device}: {len(COMPARED) - (not fmnist)} files identical over two runs")


if __name__ == "__main__":
    main()
