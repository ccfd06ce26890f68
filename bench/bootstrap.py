"""Benchmark: the paired bootstrap of compare_captioners at a real caption set's size.

The test split's references of a caption set (default ../shared/data/ucm-dev: UCM-captions, 105
test images; --images N takes the first N of its val + test images, 210 at most) and, standing in
for two decoders' captions over three seeds and two decodings (greedy, beam), each image given a
reference caption of another image (the timing depends on the sizes, not on the words). Times:

- ``vectorised``: hw2.captioning.bootstrap.paired_bootstrap, as the stage runs it (params.yaml's
  captioning.bootstrap draws), twice; the second run's time is the one reported.
- ``plain``: the same two scores computed as the Scorer computes them (nltk's corpus_bleu for BLEU-4,
  coco-caption's Cider) on each resampled list, timed over --plain-draws draws of one run's
  captions and scaled to all draws and all runs (2 decoders x 3 seeds x 2 decodings).

  python bench/bootstrap.py                      # ucm-dev's 105 test images
  python bench/bootstrap.py --images 210         # its 210 val + test images
  python bench/bootstrap.py --data data/raw_dataset

Writes bench/results/bootstrap.json (one entry per image count, merged with what is there).
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np
from _machine import ROOT, cpu_name, params

OUT = ROOT / "bench" / "results" / "bootstrap.json"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ucm-dev"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="a caption set's folder (a Karpathy .json)")
    ap.add_argument("--images", type=int, default=0, help="test images (0: the set's test split)")
    ap.add_argument("--plain-draws", type=int, default=20, help="draws the plain version is timed on")
    args = ap.parse_args()

    from pycocoevalcap.cider.cider import Cider

    from hw2.captioning.bootstrap import paired_bootstrap
    from hw2.captioning.dataset import find_inputs, load_caption_set
    from hw2.captioning.scoring import EMPTY, bleu

    found = find_inputs(ROOT / args.data if not args.data.startswith("/") else args.data)
    if not found:
        raise SystemExit(f"{args.data}: no images .zip and captions .json")
    captions = load_caption_set(found[1])
    images = captions.split("test") if not args.images else (captions.split("val") + captions.split("test"))
    images = images[: args.images or len(images)]
    refs = [im.captions for im in images]
    rng = random.Random(0)
    runs = {
        m: {s: {how: [rng.choice(refs[(i + rng.randrange(1, len(refs))) % len(refs)]) for i in range(len(refs))]
                for how in ("greedy", "beam")} for s in (0, 1, 2)}
        for m in ("attention", "vanilla")
    }  # fmt: skip
    b = params()["captioning"]["bootstrap"]
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        out = paired_bootstrap(refs, runs, b["draws"], b["level"], b["seed"])
        seconds.append(time.perf_counter() - start)
    # the plain version: the Scorer on each drawn list, for a few draws of one run
    hyps = runs["attention"][0]["greedy"]
    draws = np.random.default_rng(0).integers(0, len(refs), size=(args.plain_draws, len(refs)))
    start = time.perf_counter()
    for row in draws:
        h, r = [hyps[i] for i in row], [refs[i] for i in row]
        bleu(r, h, 4)
        Cider().compute_score(
            {i: [" ".join(x) for x in rs] for i, rs in enumerate(r)},
            {i: [" ".join(x) or EMPTY] for i, x in enumerate(h)},
        )
    plain_per_draw = (time.perf_counter() - start) / args.plain_draws
    sets = 2 * 3 * 2
    plain = plain_per_draw * b["draws"] * sets
    result = {
        "command": "python bench/bootstrap.py" + (f" --images {args.images}" if args.images else ""),
        "data": f"{captions.name}: {len(refs)} images, {sum(len(r) for r in refs)} references",
        "machine": cpu_name(),
        "date": time.strftime("%Y-%m-%d"),
        "draws": b["draws"],
        "runs": "2 decoders x 3 seeds x 2 decodings (greedy, beam): BLEU-4 and CIDEr",
        "vectorised_s": round(seconds[1], 2),
        "vectorised_first_s": round(seconds[0], 2),
        "plain_s_per_draw_and_run": round(plain_per_draw, 4),
        "plain_s_estimated": round(plain, 1),
        "speedup": round(plain / seconds[1], 1),
        "pooled_beam_bleu4": out["pooled"]["beam"]["bleu4"],
    }
    print(json.dumps(result, indent=2))
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    results[f"images-{len(refs)}"] = result
    OUT.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
