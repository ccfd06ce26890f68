"""Benchmark: what the decoders' training schedule and beam search's length penalty buy, on the
synthetic demo set and on its hard variant (captioning.synthetic.hard).

For each set (600 images, seed 0, as the pipeline makes it; features from the pipeline's encoder
settings, cached in bench/.work/) both decoders are trained twice with the pipeline's own code and
params.yaml's settings, one after the other in this process:

  before   a constant learning rate and early stopping after 5 epochs without a better
           validation BLEU-4 (the settings before issue 14: lr_decay 1, patience 5)
  after    params.yaml's schedule (captioning.train.lr_decay, lr_patience, patience)

and each trained decoder is scored as the evaluate stage scores it: test BLEU-4 of greedy
captions, of beam search ranked by summed log-probability, and of beam search with
captioning.decode.length_penalty; validation BLEU-4 of beam search for a range of length
penalties shows how the default was chosen (on validation, not test).

  python bench/schedule.py                      # both sets, about 30 minutes on 2 cores
  python bench/schedule.py --sets hard --settings after
  python bench/schedule.py --sets hard --images 2100   # UCM-captions' size: 1,680 / 210 / 210

Writes bench/results/schedule.json (merged with what is there: a run of one set keeps the other's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import asdict

import torch
from _machine import ROOT, caption_config, chosen_encoder, cpu_name, params

from hw2.captioning.curves import training_curves
from hw2.captioning.dataset import load_caption_set
from hw2.captioning.decoding import decode_captions
from hw2.captioning.encoded import load_encoded, save_encoded
from hw2.captioning.evaluation import eval_images
from hw2.captioning.feature_file import load_features
from hw2.captioning.features import extract_features
from hw2.captioning.scoring import bleu
from hw2.captioning.synthetic import generate
from hw2.captioning.train import CaptionTrainConfig, train_captioner
from hw2.captioning.unzip import extract_images
from hw2.captioning.vocab import END, START, build_vocabulary
from hw2.common.runtime import Kernels

WORK = ROOT / "bench" / ".work"
OUT = ROOT / "bench" / "results" / "schedule.json"
PENALTIES = (0.0, 0.3, 0.5, 0.7, 1.0, 1.5)


def prepare(name: str, hard: bool, images: int, cap: dict):
    """The set's captions, features (N, 49, 512) and encoded captions, made once and kept."""
    folder = WORK / name
    syn, enc = cap["synthetic"], cap["encoder"]
    if not (folder / "features.h5").is_file():
        generate(folder, n=images, seed=syn["seed"], test_images=tuple(cap["images"]), hard=hard)
        captions = load_caption_set(folder / "dataset.json")
        names = [im.filename for im in captions.images]
        extract_images(folder / "images.zip", folder / "images", names)
        extract_features(
            folder / "images",
            names,
            [im.split for im in captions.images],
            folder / "features.h5",
            chosen_encoder(enc["weights"]),
            image_size=enc["image_size"],
            batch_size=enc["batch_size"],
            dtype=enc["dtype"],
            precision=enc["precision"],
        )
    captions = load_caption_set(folder / "dataset.json")
    vocab, _ = build_vocabulary(captions, cap["vocab"]["min_freq"], cap["vocab"]["max_length"])
    save_encoded(folder / "captions.npz", vocab, captions)
    features, names = load_features(folder / "features.h5")
    return captions, names, features, vocab, load_encoded(features, folder / "captions.npz")


def config(model: str, cap: dict, setting: str, epochs: int | None, override: dict) -> CaptionTrainConfig:
    before = {"lr_decay": 1.0, "patience": 5, "smooth": 1}  # the settings before issue 14
    return caption_config(
        model, cap, **(before if setting == "before" else override), **({"epochs": epochs} if epochs else {})
    )


def scores(net, captions, names, features, vocab, split: str, beam: int, penalties) -> dict:
    """BLEU-4 of ``split``'s captions: greedy, and beam search with each length penalty."""
    images = eval_images(captions, names, split)
    feats = torch.from_numpy(features[images.rows])
    out = {"greedy": bleu(images.references, decode_captions(net, feats, vocab, None))}
    for lp in penalties:
        out[f"beam_lp{lp:g}"] = bleu(images.references, decode_captions(net, feats, vocab, beam, length_penalty=lp))
    return {k: round(v, 4) for k, v in out.items()}


def run(model: str, setting: str, prepared, cap: dict, epochs: int | None = None, override: dict | None = None) -> dict:
    captions, names, features, vocab, data = prepared
    cfg = config(model, cap, setting, epochs, override or {})
    start = time.perf_counter()
    net, hist = train_captioner(
        data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length, cfg, progress=False
    )
    seconds = time.perf_counter() - start
    beam, lp = cap["decode"]["beam_size"], cap["decode"]["length_penalty"]
    out = {
        "train_s": round(seconds, 1),
        "epochs_run": len(hist.val_bleu4),
        "best_epoch": hist.best_epoch,
        "train_loss": [round(v, 4) for v in hist.train_loss],
        "best_val_bleu4": round(hist.val_bleu4[hist.best_epoch - 1], 4),
        "val_bleu4": [round(v, 4) for v in hist.val_bleu4],
        "lr": hist.lr,
        "test": scores(net, captions, names, features, vocab, "test", beam, sorted({0.0, lp})),
        "val": scores(net, captions, names, features, vocab, "val", beam, PENALTIES),
        "config": {
            k: v
            for k, v in asdict(cfg).items()
            if k in ("lr", "lr_decay", "lr_patience", "patience", "smooth", "epochs", "precision")
        },
    }
    print(
        f"{model} {setting} ({cfg.epochs} epochs at most): best val BLEU-4 "
        f"{out['best_val_bleu4']:.4f} at epoch {hist.best_epoch} of "
        f"{len(hist.val_bleu4)}, test {out['test']}, {seconds:.0f} s",
        flush=True,
    )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", choices=("standard", "hard"), default=["standard", "hard"])
    ap.add_argument("--settings", nargs="+", choices=("before", "after"), default=["before", "after"])
    ap.add_argument("--models", nargs="+", choices=("vanilla", "attention"), default=["vanilla", "attention"])
    ap.add_argument(
        "--epochs",
        type=int,
        help="at most this many epochs (default captioning.train.epochs); the results are kept as <setting>_<N>_epochs",
    )
    ap.add_argument(
        "--images",
        type=int,
        help="a set of this many images (default captioning.synthetic.images); the results are kept as <set>_<N>",
    )
    ap.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="the after setting with other values, e.g. lr_patience=2 (kept as after[lr_patience=2])",
    )
    args = ap.parse_args()
    cap = params()["captioning"]
    threads = Kernels(params()["kernels"], cap["train"]["precision"], cap["threads"]).apply()["threads"]
    results = json.loads(OUT.read_text())["results"] if OUT.is_file() else {}
    for variant in args.sets:
        name = variant + (f"_{args.images}" if args.images else "")
        prepared = prepare(name, variant == "hard", args.images or cap["synthetic"]["images"], cap)
        for setting in args.settings:
            for model in args.models:
                override = {k: type(cap["train"][k])(v) for k, v in (kv.split("=", 1) for kv in args.set)}
                key = (
                    setting
                    + (f"[{','.join(args.set)}]" if args.set and setting == "after" else "")
                    + (f"_{args.epochs}_epochs" if args.epochs else "")
                )
                results.setdefault(name, {}).setdefault(key, {})[model] = run(
                    model, setting, prepared, cap, args.epochs, override if setting == "after" else {}
                )
                OUT.write_text(
                    json.dumps(
                        {
                            "machine": f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads",
                            "torch": torch.__version__,
                            "threads": threads,
                            "command": "python bench/schedule.py",
                            "data": "the synthetic set, 600 images (480/60/60; <set>_<N>: N images, "
                            "80/10/10), seed 0, standard "
                            "and hard variants; BLEU-4 with nltk's corpus_bleu against all references, as the "
                            "evaluate stage scores",
                            "results": results,
                        },
                        indent=2,
                    )
                    + "\n"
                )
            runs = results[name][key]
            if all("train_loss" in r for r in runs.values()):  # the pipeline's figure, for these runs
                figure = OUT.parent / f"schedule_{name}_{re.sub(r'[^0-9A-Za-z]+', '_', key).strip('_')}.png"
                training_curves(
                    figure, {m: {"epoch": list(range(1, len(r["val_bleu4"]) + 1)), **r} for m, r in runs.items()}
                )
                print(f"written {figure.relative_to(ROOT)}")
    print(f"written {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
