"""Benchmark: what the portable kernels cost, stage by stage.

The stages compute float32 in the portable kernels (hw2.common.runtime.Kernels: PyTorch's AVX2
kernels, MKL's COMPATIBLE branch, oneDNN's AVX2 convolutions, fixed threads), so that every x86-64
machine with AVX2 gives the same bytes. This times each numeric stage's work on the full defaults
in several ways, each measurement in a fresh process, the ways taking turns within each round:

  portable   the pipeline's kernels (params.yaml kernels: portable)
  before     the portable kernels before issue 25: the same without oneDNN (convolutions as im2col
             and an MKL matrix product)
  no-avx2    the portable kernels of CPUs without AVX2 (PyTorch DEFAULT, oneDNN SSE4.1), run here
  native     what PyTorch picks for this CPU (AVX-512 where it has it, MKL's own branch, oneDNN in
             full; params.yaml kernels: native)

and the stages' work:

  train_cnn          one epoch of the sweep: every rate of `lr`, one single-threaded process each
                     (the stage runs cnn.epochs of them)
  extract_features   ResNet-18 features of every image in data/images (batches of encoder.batch_size)
  train_captioner    one epoch of each decoder on data/vocab and data/features, validation BLEU-4 included
                     (the stage runs up to captioning.train.epochs)
  evaluate           greedy decoding and beam search over the test split, both decoders (untrained:
                     every caption runs to the length limit)

It needs the data of a `dvc repro` (data/fashion_mnist.npz, data/images, data/features, data/vocab).

  python bench/kernels.py                   # every stage, every way, 2 rounds (about 30 minutes on 2 cores)
  python bench/kernels.py --only extract_features --ways portable native --rounds 3

Writes bench/results/kernels.json (machine, command, seconds of each round, each way over native).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _machine import ROOT, cpu_name, params

from hw2.common.runtime import Kernels

STAGES = ("train_cnn", "extract_features", "train_captioner", "evaluate")
WAYS = ("portable", "before", "no-avx2", "native")


def work(stage: str, kernels: Kernels) -> None:
    """One stage's computation, as the stage runs it (its library calls, on its inputs)."""
    import torch

    cap, cnn = params()["captioning"], params()["cnn"]
    if stage == "train_cnn":
        from hw2.common.runtime import cpu_budget
        from hw2.fashion.data import load_splits
        from hw2.fashion.train import RateConfig, train_sweep

        lrs = params()["lr"] if isinstance(params()["lr"], list) else [params()["lr"]]
        cfg = RateConfig(lrs[0], 1, cnn["batch_size"], cnn["dropout"], cnn["l2_decay"], cnn["seed"])
        train_sweep(
            load_splits(ROOT / "data" / "fashion_mnist.npz"),
            cfg,
            lrs,
            processes=cpu_budget(),
            progress=False,
            kernels=kernels,
        )
    elif stage == "extract_features":
        import tempfile
        from pathlib import Path

        from hw2.captioning.dataset import load_caption_set
        from hw2.captioning.features import build_encoder, extract_features

        enc = cap["encoder"]
        images = load_caption_set(ROOT / "data" / "captions.json").images
        with tempfile.TemporaryDirectory() as tmp:
            extract_features(
                ROOT / "data" / "images",
                [im.filename for im in images],
                [im.split for im in images],
                Path(tmp) / "features.h5",
                build_encoder("none"),
                image_size=enc["image_size"],
                batch_size=enc["batch_size"],
                dtype=enc["dtype"],
                progress=False,
            )
    else:
        from _machine import caption_config

        from hw2.captioning.decoding import decode_captions
        from hw2.captioning.encoded import load_encoded
        from hw2.captioning.feature_file import load_features
        from hw2.captioning.train import train_captioner
        from hw2.captioning.vocab import END, START, load_vocabulary

        vocab, _ = load_vocabulary(ROOT / "data" / "vocab" / "vocab.json")
        features, _ = load_features(ROOT / "data" / "features" / "features.h5")
        data = load_encoded(features, ROOT / "data" / "vocab" / "captions.npz")
        test = torch.from_numpy(features[sorted(set(data.image[data.split == 2].tolist()))]).float()
        for kind in ("vanilla", "attention"):
            cfg = caption_config(kind, cap, epochs=1, patience=1)
            if stage == "train_captioner":
                train_captioner(
                    data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length, cfg, progress=False
                )
            else:  # an untrained decoder: every caption runs to the length limit, the worst case
                torch.manual_seed(0)
                model = cfg.build(len(vocab), features.shape[2]).eval()
                decode_captions(model, test, vocab, None)
                decode_captions(
                    model, test, vocab, cap["decode"]["beam_size"], length_penalty=cap["decode"]["length_penalty"]
                )


def worker(stage: str, way: str) -> dict:
    precision = {"extract_features": params()["captioning"]["encoder"]["precision"], "train_cnn": "float32"}.get(
        stage, params()["captioning"]["train"]["precision"]
    )
    settings = Kernels(
        "native" if way == "native" else "portable",
        precision,
        1 if stage == "train_cnn" else params()["captioning"]["threads"],
        avx2=False if way == "no-avx2" else None,
        onednn=way != "before",
    )
    kernels = settings.apply()
    start = time.perf_counter()
    work(stage, settings)
    return {"seconds": time.perf_counter() - start, **kernels}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        result = worker(*args.worker)
        print("RESULT " + json.dumps(result), flush=True)
        return
    out = ROOT / "bench" / "results" / "kernels.json"
    results = {}
    for stage in args.only:
        seconds = {how: [] for how in args.ways}
        kernels = {}
        for _ in range(args.rounds):
            for how in args.ways:
                proc = subprocess.run(
                    [sys.executable, __file__, "--worker", stage, how], capture_output=True, text=True, cwd=ROOT
                )
                if proc.returncode:
                    sys.exit(f"{stage} ({how}) failed:\n{proc.stderr[-3000:]}")
                got = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
                seconds[how].append(round(got["seconds"], 2))
                kernels[how] = f"{got['kernels']}: {got['kernel_path']}"
        median = {how: statistics.median(s) for how, s in seconds.items()}
        results[stage] = {"seconds": seconds, "kernels": kernels, "median": median}
        if "native" in median:
            results[stage]["over_native"] = {how: round(m / median["native"], 2) for how, m in median.items()}
        print(
            f"{stage}: "
            + ", ".join(
                f"{how} {m:.1f} s" + (f" ({m / median['native']:.2f}x)" if "native" in median else "")
                for how, m in median.items()
            ),
            flush=True,
        )
    previous = json.loads(out.read_text()) if out.is_file() else {}
    machine = f"{cpu_name()}, {os.cpu_count()} cores"
    merged = {**(previous.get("results", {}) if previous.get("machine") == machine else {}), **results}
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "command": " ".join(["python bench/kernels.py", *sys.argv[1:]]),
                "date": time.strftime("%Y-%m-%d"),
                "results": merged,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
