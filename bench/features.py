"""Benchmark: ResNet-18 feature extraction, a plain loop vs the pipeline's extract_features.

  plain     for each image: open, transform, encode alone (batch 1, float32), write its row
  pipeline  hw2.captioning.features.extract_features: the same loop over batches of
            captioning.encoder.batch_size (the one image loader, inference mode, the arithmetic of
            captioning.encoder.precision), rows streamed to HDF5
  pipeline-bfloat16   the same in bfloat16 (the CPU's native kernels): is it faster here?

On the images of `dvc repro unzip_images` (the synthetic demo set by default), each in its own
process; peak memory is the process's maximum resident set.

  python bench/features.py                      # both, on every image (about 2 minutes on 2 cores)
  python bench/features.py --only pipeline --images 11000   # RSICD's size: memory stays flat
  python bench/features.py --only pipeline pipeline-bfloat16   # which arithmetic is faster here

--images N cycles through the available images to make N. Writes bench/results/features.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _machine import cpu_name  # noqa: E402

IMPLS = ["plain", "pipeline", "pipeline-bfloat16"]


def worker(impl: str, n_images: int) -> dict:
    import h5py
    import numpy as np
    import torch
    from _machine import params
    from PIL import Image

    from hw2.captioning.dataset import load_caption_set
    from hw2.captioning.features import build_encoder, extract_features, image_transform
    from hw2.common.runtime import Kernels, resolve_device

    enc = params()["captioning"]["encoder"]
    precision = "bfloat16" if impl == "pipeline-bfloat16" else "float32" if impl == "plain" else enc["precision"]
    kernels = Kernels(params()["kernels"], precision, params()["captioning"]["threads"]).apply()
    names = [im.filename for im in load_caption_set(ROOT / "data" / "captions.json").images]
    names = [names[i % len(names)] for i in range(n_images or len(names))]
    folder, size = ROOT / "data" / "images", enc["image_size"]
    encoder = build_encoder("none")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "features.h5"
        start = time.perf_counter()
        if impl == "plain":
            transform, net = image_transform(size), encoder.net
            with h5py.File(out, "w") as h5, torch.inference_mode():
                feats = h5.create_dataset("features", (len(names), (size // 32) ** 2, 512), dtype=enc["dtype"])
                for i, name in enumerate(names):
                    x = transform(Image.open(folder / name).convert("RGB")).unsqueeze(0)
                    feats[i] = net(x)[0].flatten(1).t().numpy().astype(np.float16)
        else:
            device = resolve_device(enc.get("device", "auto"))
            extract_features(
                folder,
                names,
                ["train"] * len(names),
                out,
                encoder,
                image_size=size,
                batch_size=enc["batch_size"],
                dtype=enc["dtype"],
                device=device,
                precision=precision,
                progress=False,
            )
        seconds = time.perf_counter() - start
    peak_kib = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    return {
        "images": len(names),
        "seconds": round(seconds, 2),
        "images_per_s": round(len(names) / seconds, 2),
        "peak_memory_mib": round(peak_kib / 1024, 1),
        **kernels,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=0, help="number of images (cycling); 0 = all available")
    ap.add_argument("--only", nargs="+", choices=IMPLS, default=IMPLS[:2])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "features.json")
    ap.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.images)), flush=True)
        return
    machine = {"cpu": cpu_name(), "cores": os.cpu_count()}
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if results.get("machine") != machine:  # numbers from another machine do not mix with these
        results = {}
    for impl in args.only:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", impl, "--images", str(args.images)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode:
            sys.exit(f"{impl} failed:\n{proc.stderr[-3000:]}")
        run = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
        results[f"{impl}_{run['images']}"] = run
        print(
            f"{impl}: {run['images']} images in {run['seconds']:.1f} s = {run['images_per_s']:.1f} images/s, "
            f"peak memory {run['peak_memory_mib']:.0f} MiB",
            flush=True,
        )
    plain = [v for k, v in results.items() if k.startswith("plain_")]
    pipe = [v for k, v in results.items() if k.startswith("pipeline_") and plain and v["images"] == plain[-1]["images"]]
    if plain and pipe:
        results["speedup"] = round(pipe[-1]["images_per_s"] / plain[-1]["images_per_s"], 2)
        print(f"speedup {results['speedup']}x")
    results["machine"] = machine
    results["date"] = time.strftime("%Y-%m-%d")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
