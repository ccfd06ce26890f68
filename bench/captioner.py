"""Benchmark: the caption decoders at UCM's size, on random features of the real shape.

UCM-captions has 2,100 images (1,680 train, 210 val, 210 test) with 5 captions each; the features
are ResNet-18's (49, 512). This script makes data of that shape (random float16 features, random
captions with UCM-like lengths over a 368-word vocabulary) and times, with the pipeline's own code
and params.yaml's decoder and training parameters:

  epoch   one epoch of train_captioner: 8,400 training captions plus the greedy validation BLEU-4
          that ends every epoch (reported apart as well)
  beam    beam search (captioning.decode.beam_size) over the 210 test images

Decoding is timed in the worst case: <end> is made unreachable, so every caption runs to the
length limit (22 words, UCM's longest caption) and every beam stays alive to the last step.

  python bench/captioner.py                     # both decoders, about 2 minutes on 2 cores
  python bench/captioner.py --only attention
  python bench/captioner.py --rev 8e84ed3       # and the decoders of that revision, timed alike

Writes bench/results/captioner.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from _machine import ROOT, caption_config, cpu_name, params, revision_tree, run_revision

from hw2.captioning.decoding import beam_search, greedy_decode
from hw2.captioning.encoded import CaptionData
from hw2.captioning.train import greedy_bleu4, train_captioner
from hw2.captioning.vocab import SPECIALS, Vocabulary
from hw2.common.runtime import Kernels

SPLITS = {"train": 1680, "val": 210, "test": 210}
WORDS, MAX_LENGTH = 368, 22


def ucm_like(seed: int = 0) -> tuple[CaptionData, Vocabulary]:
    rng = np.random.default_rng(seed)
    n = sum(SPLITS.values())
    features = torch.from_numpy(rng.standard_normal((n, 49, 512)).astype(np.float16).clip(0, None))
    rows, lengths, image, split = [], [], [], []
    for k, s in enumerate(np.repeat(np.arange(3), list(SPLITS.values()))):
        for _ in range(5):
            words = int(np.clip(rng.normal(11, 4), 3, MAX_LENGTH))
            ids = [1] + list(rng.integers(len(SPECIALS), len(SPECIALS) + WORDS, words)) + [2]
            rows.append(ids + [0] * (MAX_LENGTH + 2 - len(ids)))
            lengths.append(len(ids))
            image.append(k)
            split.append(int(s))
    vocab = Vocabulary(list(SPECIALS) + [f"w{i}" for i in range(WORDS)], MAX_LENGTH)
    return CaptionData(
        features, torch.tensor(rows), torch.tensor(lengths), torch.tensor(image), torch.tensor(split)
    ), vocab


def bench(model: str, data: CaptionData, vocab: Vocabulary, cap: dict) -> dict:
    cfg = caption_config(model, cap, epochs=1, patience=1)
    start, end = vocab.stoi["<start>"], vocab.stoi["<end>"]
    t0 = time.perf_counter()
    net, _ = train_captioner(data, len(vocab), start, end, vocab.max_length, cfg, progress=False)
    epoch = time.perf_counter() - t0
    t0 = time.perf_counter()
    greedy_bleu4(net, data, 1, start, end, vocab.max_length)
    validation = time.perf_counter() - t0
    test = data.features[torch.nonzero(data.split[::5] == 2).squeeze(1)].float()
    beam, never = cap["decode"]["beam_size"], len(vocab)  # an id no decoder can produce: no caption ends
    t0 = time.perf_counter()
    caps = [beam_search(net, f, start, never, vocab.max_length, beam)[0] for f in test]
    beam_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(test), 64):
        greedy_decode(net, test[i : i + 64], start, never, vocab.max_length)
    greedy_s = time.perf_counter() - t0
    out = {
        "epoch_s": round(epoch, 2),
        "precision": cfg.precision,
        "of_which_validation_s": round(validation, 2),
        "train_captions": int((data.split == 0).sum()),
        "batch_size": cfg.batch_size,
        "beam_size": beam,
        "test_images": len(test),
        "beam_s": round(beam_s, 2),
        "greedy_s": round(greedy_s, 2),
        "words_per_caption": round(float(np.mean([len(c) for c in caps])), 1),
    }
    print(
        f"{model} ({cfg.precision}): epoch {epoch:.1f} s (validation {validation:.1f} s), beam "
        f"{beam} over {len(test)} test "
        f"images {beam_s:.1f} s, greedy {greedy_s:.2f} s",
        flush=True,
    )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("vanilla", "attention"))
    ap.add_argument(
        "--rev",
        nargs="*",
        default=[],
        help="also time these git revisions' decoders, with their own copy of this script",
    )
    args = ap.parse_args()
    cap = params()["captioning"]
    kernels = Kernels(
        params()["kernels"], cap["train"]["precision"], cap["threads"]
    ).apply()  # the pipeline's; the revisions' runs inherit them
    data, vocab = ucm_like()
    results = {m: bench(m, data, vocab, cap) for m in ("vanilla", "attention") if args.only in (None, m)}
    revisions = {}
    for rev in args.rev:
        proc = run_revision(rev, "captioner.py", *(["--only", args.only] if args.only else []))
        if proc.returncode != 0:
            sys.exit(f"revision {rev} failed:\n{proc.stderr[-3000:]}")
        revisions[rev] = json.loads((revision_tree(rev) / "bench" / "results" / "captioner.json").read_text())[
            "results"
        ]
        for m, r in revisions[rev].items():
            r["epoch_s_over_this_tree"] = round(r["epoch_s"] / results[m]["epoch_s"], 2)
            print(f"{m} at {rev}: epoch {r['epoch_s']:.1f} s ({r['epoch_s_over_this_tree']}x this tree's)", flush=True)
    out = ROOT / "bench" / "results" / "captioner.json"
    out.write_text(
        json.dumps(
            {
                "machine": f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads",
                "torch": torch.__version__,
                **kernels,
                "command": " ".join(["python bench/captioner.py", *sys.argv[1:]]),
                "data": "UCM-sized random: 1,680/210/210 images x 5 captions, (49, 512) float16 features, 368 words",
                "targets": {"attention_epoch_s": 30, "beam_over_test_s": 30},
                "results": results,
                **({"revisions": revisions} if revisions else {}),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
