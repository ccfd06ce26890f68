"""Which stretch turns a deep image into the picture its 8-bit original was: real UCM images, their
8-bit RGB made into 12-bit values in 16-bit TIFFs (v * 16 + 100, a sensor that fills 12 of the 16
bits) with a few saturated pixels added (65535: hot pixels, a glint), read by the pipeline's own
loader under each stretch, and captioned by the pipeline's own attention decoder and encoder.

For each stretch: how far the rendered pixels lie from the 8-bit original's (mean absolute
difference, 0-255), how bright they are against it, and how many captions stay those of the 8-bit
original. The per-band cut (each band by its own percentiles, as GIS viewers stretch a multiband
image) is computed here by reading each band alone as grey; the pipeline stretches the three bands
shown on one range.

The decoder is the committed run's (trained on the synthetic set, random encoder, 224 px): its
captions of real images are not right, but they are the pipeline's, and a change in them is a
change the stretch made.

    python bench/stretch.py [--images 105] [--hot 5]      → bench/results/stretch.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_name  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, default=ROOT.parent / "shared/data/ucm-dev")
    ap.add_argument("--images", type=int, default=105, help="the first N test images (default 105: all)")
    ap.add_argument("--hot", type=int, default=5, help="saturated pixels added to each image")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/stretch.json")
    args = ap.parse_args()

    import tifffile
    import torch
    from PIL import Image

    from hw2.captioning.decoder_file import load_decoder
    from hw2.captioning.decoding import caption_one
    from hw2.captioning.features import build_encoder, encode_files
    from hw2.captioning.images import Rendering, load_rgb
    from hw2.captioning.vocab import load_vocabulary
    from hw2.common.runtime import Kernels

    features = json.loads((ROOT / "metrics/features.json").read_text())
    Kernels(features["kernels"], features["precision"], features["threads"]).apply()
    encoder = build_encoder("none")
    vocab, _ = load_vocabulary(ROOT / "data/vocab/vocab.json")
    model, _ = load_decoder(ROOT / "models/captioner/attention.pt", vocab, ROOT / "data/vocab/vocab.json", 512)

    listed = json.loads((args.set / "dataset.json").read_text())["images"]
    names = [im["filename"] for im in listed if im["split"] == "test"][: args.images]
    rng = np.random.default_rng(0)
    stretches = {
        "min-max (0, 100), before": (0, 100),
        "2-98, one range": (2, 98),
        "1-99, one range": (1, 99),
        "0.5-99.5, one range": (0.5, 99.5),
        "0.1-99.9, one range": (0.1, 99.9),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with zipfile.ZipFile(args.set / "images.zip") as zf:
            by_name = {Path(i.filename).name: i for i in zf.infolist()}
            for name in names:
                (work / name).write_bytes(zf.read(by_name[name]))
        shown: dict[str, list[Path]] = {"8-bit original": []}
        for k in [*stretches, "2-98, each band alone"]:
            shown[k] = []
        start = time.perf_counter()
        for name in names:
            eight = np.asarray(load_rgb(work / name))
            deep = eight.astype(np.uint16) * 16 + 100
            ys, xs = rng.integers(0, deep.shape[0], args.hot), rng.integers(0, deep.shape[1], args.hot)
            deep[ys, xs] = 65535
            tif = work / f"{Path(name).stem}.16.tif"
            tifffile.imwrite(tif, deep, photometric="rgb")
            renders = {"8-bit original": eight}
            for label, cut in stretches.items():
                renders[label] = np.asarray(load_rgb(tif, rendering=Rendering(stretch=cut)))
            renders["2-98, each band alone"] = np.stack(
                [np.asarray(load_rgb(tif, rendering=Rendering(bands=(b,))))[..., 0] for b in range(3)], axis=-1
            )
            for k, (label, a) in enumerate(renders.items()):
                png = work / f"{Path(name).stem}.{k}.png"
                Image.fromarray(a).save(png)
                shown[label].append(png)
        captions, pixels = {}, {}
        for label, paths in shown.items():
            feats = encode_files(encoder, paths, features["image_size"], features["precision"], dtype="float16")
            captions[label] = [" ".join(caption_one(model, f, vocab, 5, 0, 1.0)[0]) for f in torch.unbind(feats)]
            arrays = [np.asarray(Image.open(p), np.float64) for p in paths]
            originals = [np.asarray(Image.open(p), np.float64) for p in shown["8-bit original"]]
            pixels[label] = (
                float(np.mean([np.abs(a - o).mean() for a, o in zip(arrays, originals, strict=True)])),
                float(np.mean([a.mean() / max(o.mean(), 1e-9) for a, o in zip(arrays, originals, strict=True)])),
            )
        seconds = time.perf_counter() - start
    rows = {}
    for label in shown:
        same = sum(a == b for a, b in zip(captions[label], captions["8-bit original"], strict=True))
        rows[label] = {
            "mean_abs_pixel_difference": round(pixels[label][0], 2),
            "brightness_vs_original": round(pixels[label][1], 3),
            "captions_as_the_original": f"{same}/{len(names)}",
        }
        print(
            f"{label:28s} |pixel diff| {pixels[label][0]:6.2f}  brightness x{pixels[label][1]:.3f}  "
            f"captions kept {same}/{len(names)}"
        )
    result = {
        "machine": cpu_name(),
        "command": "python bench/stretch.py " + " ".join(sys.argv[1:]),
        "images": f"{len(names)} test images of {args.set.name}, 16-bit = 8-bit * 16 + 100, "
        f"{args.hot} saturated pixels each",
        "decoder": "the committed attention decoder (synthetic set, random encoder), beam 5",
        "seconds": round(seconds, 1),
        "stretches": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
