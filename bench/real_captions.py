"""Benchmark: the caption decoders on a real caption set, over three seeds.

For a caption set in the pipeline's format (images.zip and a Karpathy-style .json; default
../shared/data/ucm-dev: UCM-captions' official 1,680 training images for training, its official 210
validation images split 105 / 105 into val and test), the
images are unzipped and encoded once with the pipeline's code and params.yaml's encoder settings
(without ImageNet weights: a random encoder, said in the results), cached in bench/.work/. Then both
decoders are trained with the pipeline's own code and params.yaml's decoder and training settings,
once per seed (captioning.train.seed), and scored as the evaluate stage scores them: BLEU-4 of
greedy captions, of beam search and of beam search with the length penalty, and CIDEr, on the
validation and the test split; the caption-prior baseline (the most common training caption)
beside them. With --grid, validation BLEU-4 and CIDEr over beam sizes and length penalties show
which to choose (never test); --also 5:0 scores a chosen decoding (beam 5, penalty 0) on both.

  python bench/real_captions.py                                  # both decoders, seeds 0 1 2
  python bench/real_captions.py --set alpha_c=0.1 --name alpha_c-0.1   # a variant: decoder or train keys
  python bench/real_captions.py --data data/raw_dataset --seeds 0
  python bench/real_captions.py --data synthetic                 # the synthetic demo set (params.yaml's)
  python bench/real_captions.py --kernels native                 # faster on most CPUs, CPU-dependent numbers
  python bench/real_captions.py --selection                      # + every epoch scored: how to choose the best

Writes bench/results/real_captions.json (one entry per variant name, merged with what is there):
every run's numbers and test captions, and each decoder's mean and spread (sample standard
deviation) over the seeds. --paired judges a difference as the pipeline does: paired bootstrap over
the seeds and the test images (hw2.captioning.bootstrap).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import yaml
from _machine import ROOT, caption_config, chosen_encoder, cpu_name, params

from hw2.answers import pm  # no torch: safe before the kernels are set

WORK = ROOT / "bench" / ".work"
OUT = ROOT / "bench" / "results" / "real_captions.json"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ucm-dev"
BEAMS = (1, 2, 3, 5)
PENALTIES = (0.0, 0.5, 1.0, 1.5)


class Prepared(NamedTuple):
    captions: object  # the caption set (hw2.captioning.dataset.CaptionSet)
    names: list[str]  # the feature file's image names, in its row order
    features: object  # (N, R, E) region features
    vocab: object
    data: object  # the encoded captions the trainer reads
    weights: str  # the encoder's weights: "random" without ImageNet's
    work: Path  # where the set's images and features are kept between runs


def prepare(folder: Path, cap: dict) -> Prepared:
    """The set's captions, features (N, R, E) and encoded captions, made once and kept."""
    from hw2.captioning.dataset import find_inputs, load_caption_set
    from hw2.captioning.encoded import load_encoded, save_encoded
    from hw2.captioning.feature_file import load_features
    from hw2.captioning.features import extract_features
    from hw2.captioning.synthetic import generate
    from hw2.captioning.unzip import extract_images
    from hw2.captioning.vocab import build_vocabulary

    if str(folder) == "synthetic":  # the pipeline's synthetic set, as params.yaml makes it
        syn = cap["synthetic"]
        folder = WORK / f"synthetic-{syn['images']}-{syn['seed']}{'-hard' if syn['hard'] else ''}"
        if not (folder / "dataset.json").is_file():
            generate(folder, n=syn["images"], seed=syn["seed"], test_images=tuple(cap["images"]), hard=syn["hard"])
    zip_path, json_path = find_inputs(folder) or sys.exit(f"{folder}: no images.zip and captions .json")
    captions = load_caption_set(json_path)
    enc = cap["encoder"]
    work = WORK / f"real-{captions.name}-{len(captions.images)}-{enc['image_size']}"
    names = [im.filename for im in captions.images]
    encoder = chosen_encoder(enc["weights"])
    if not (work / "features.h5").is_file():
        extract_images(zip_path, work / "images", names)
        extract_features(
            work / "images",
            names,
            [im.split for im in captions.images],
            work / "features.h5",
            encoder,
            image_size=enc["image_size"],
            batch_size=enc["batch_size"],
            dtype=enc["dtype"],
            precision=enc["precision"],
        )
    vocab, _ = build_vocabulary(captions, cap["vocab"]["min_freq"], cap["vocab"]["max_length"])
    save_encoded(work / "captions.npz", vocab, captions)
    features, feature_names = load_features(work / "features.h5")
    return Prepared(
        captions, feature_names, features, vocab, load_encoded(features, work / "captions.npz"), encoder.weights, work
    )


def split_scores(
    net,
    prepared: Prepared,
    split: str,
    cap: dict,
    grid: bool,
    also: list[tuple[int, float]],
    captions: dict | None = None,
) -> dict:
    """BLEU-4 and CIDEr of ``split``'s captions: greedy, beam, beam with the length penalty, each
    (beam, penalty) of ``also``, and with ``grid`` every beam size and penalty of BEAMS x PENALTIES;
    each distinct decoding is made and scored once, whatever names it has. ``captions``, when given,
    receives the image names and the greedy and beam captions (for the paired bootstrap)."""
    import torch

    from hw2.captioning.decoding import decode_captions
    from hw2.captioning.evaluation import eval_images
    from hw2.captioning.scoring import Scorer

    images = eval_images(prepared.captions, prepared.names, split)
    feats = torch.from_numpy(prepared.features[images.rows])
    beam, lp = cap["decode"]["beam_size"], cap["decode"]["length_penalty"]
    ways = {"greedy": (None, 0.0), "beam": (beam, 0.0), "beam_lp": (beam, lp)}
    grid = [(b, p) for b in BEAMS for p in PENALTIES if b > 1] if grid else []
    ways |= {f"beam{b}_lp{p:g}": (b, p) for b, p in grid + also}
    scored = {}
    with Scorer(meteor=False) as scorer:
        for size, penalty in dict.fromkeys(ways.values()):
            hyps = decode_captions(net, feats, prepared.vocab, size, length_penalty=penalty)
            s = scorer.score(hyps, images.references)
            scored[size, penalty] = {"bleu4": s["bleu4"], "cider": s["cider"]}
            if captions is not None:
                captions["images"] = images.names
                for how in ("greedy", "beam"):
                    if ways[how] == (size, penalty):
                        captions[how] = [" ".join(h) for h in hyps]
    return {how: dict(scored[way]) for how, way in ways.items()}


def selection_study(net, states: list[dict], prepared: Prepared, cap: dict) -> dict:
    """How the best epoch is chosen, measured: every epoch's weights (``states``) scored on
    validation and on test (greedy BLEU-4 and CIDEr); then the epoch each rule picks on validation
    (one epoch's greedy BLEU-4 (the trainer's rule), greedy BLEU-4 averaged over
    captioning.train.smooth epochs, greedy CIDEr, the last epoch) with its test scores, beam search
    included, beside the best test epoch (which no rule can see). (Beam search on every epoch's
    validation captions would triple the cost of a run; not measured.)"""
    import torch

    from hw2.captioning.decoding import decode_captions
    from hw2.captioning.evaluation import eval_images
    from hw2.captioning.history import CaptionHistory
    from hw2.captioning.scoring import Scorer

    beam = cap["decode"]["beam_size"]
    splits = {split: eval_images(prepared.captions, prepared.names, split) for split in ("val", "test")}
    feats = {split: torch.from_numpy(prepared.features[im.rows]) for split, im in splits.items()}

    def scores(split: str, size: int | None) -> dict:
        hyps = decode_captions(net, feats[split], prepared.vocab, size)
        s = scorer.score(hyps, splits[split].references)
        return {"bleu4": s["bleu4"], "cider": s["cider"]}

    epochs = []
    with Scorer(meteor=False) as scorer:
        for state in states:
            net.load_state_dict(state)
            net.eval()
            val, test = scores("val", None), scores("test", None)
            epochs.append(
                {
                    "val_greedy_bleu4": val["bleu4"],
                    "val_greedy_cider": val["cider"],
                    "test_greedy_bleu4": test["bleu4"],
                    "test_greedy_cider": test["cider"],
                }
            )
        k = cap["train"]["smooth"]
        smoothed = CaptionHistory(val_bleu4=[e["val_greedy_bleu4"] for e in epochs]).smoothed(k)
        greedy = max(range(len(epochs)), key=lambda i: (epochs[i]["val_greedy_bleu4"], -i))
        picks = {
            "greedy_bleu4": greedy,
            # the last epoch of the window with the best mean (shorter runs: as greedy_bleu4)
            "smoothed_bleu4": max(range(len(smoothed)), key=lambda i: (smoothed[i], -i)) + k - 1
            if smoothed
            else greedy,
            "greedy_cider": max(range(len(epochs)), key=lambda i: (epochs[i]["val_greedy_cider"], -i)),
            "last": len(epochs) - 1,
            "best_on_test": max(range(len(epochs)), key=lambda i: (epochs[i]["test_greedy_bleu4"], -i)),
        }
        chosen = {}
        for rule, i in picks.items():
            net.load_state_dict(states[i])
            net.eval()
            chosen[rule] = {"epoch": i + 1, "test_greedy": scores("test", None), "test_beam": scores("test", beam)}
    net.load_state_dict(states[picks["greedy_bleu4"]])
    net.eval()
    return {"epochs": epochs, "chosen": chosen}


def attention_on_val(net, prepared: Prepared, cap: dict, name: str, maps: int) -> dict:
    """How peaked the attention is on the validation images' captions (beam search as params.yaml
    decodes): the mean over images and words of the largest weight (1/R when uniform, 1 when on one
    region) and of the entropy over regions divided by log R (1 when uniform), and the mean over
    images of the regions' summed weight's spread (0 when each region gets the same total); with
    ``maps``, the first ``maps`` images drawn beside their attention maps as the caption_images
    stage draws them (``attention_maps``: the figures' paths)."""
    import math

    import torch

    from hw2.captioning.decoding import beam_label, caption_one
    from hw2.captioning.evaluation import eval_images
    from hw2.captioning.figures import captioned_image

    images = eval_images(prepared.captions, prepared.names, "val")
    beam, lp = cap["decode"]["beam_size"], cap["decode"]["length_penalty"]
    peak, entropy, spread, drawn = [], [], [], []
    for k, (image, row) in enumerate(zip(images.names, images.rows, strict=True)):
        _, tokens, alphas = caption_one(net, torch.from_numpy(prepared.features[row]), prepared.vocab, beam, 0, lp)
        regions = alphas.shape[1]
        peak.append(alphas.max(dim=1).values.mean().item())
        entropy.append((-(alphas * alphas.clamp_min(1e-12).log()).sum(dim=1) / math.log(regions)).mean().item())
        spread.append(alphas.sum(dim=0).std().item())
        if k < maps:
            out = ROOT / "bench" / "results" / f"real_attention_{name}_{Path(image).stem}.png"
            captioned_image(
                out,
                prepared.work / "images" / image,
                tokens,
                alphas.numpy(),
                f"{image} (validation): attention decoder, {name}, {beam_label(beam, lp)}",
            )
            drawn.append(str(out.relative_to(ROOT)))
    stats = {
        "peak": round(statistics.mean(peak), 4),
        "entropy": round(statistics.mean(entropy), 4),
        "regions": regions,
        "total_spread": round(statistics.mean(spread), 4),
    }
    return {"attention": stats, **({"attention_maps": drawn} if drawn else {})}


def baseline(prepared: Prepared) -> dict:
    from hw2.captioning.comparison import score_baseline
    from hw2.captioning.scoring import Scorer

    with Scorer(meteor=False) as scorer:
        prior, scores, _ = score_baseline(prepared.captions, scorer)
    return {"caption": " ".join(prior), "bleu4": scores["bleu4"], "cider": scores["cider"]}


def run(
    model: str,
    seed: int,
    prepared: Prepared,
    cap: dict,
    override: dict,
    grid: bool,
    also: list[tuple[int, float]],
    name: str,
    maps: int,
    keep: Path | None,
    study: bool = False,
) -> dict:
    """One decoder trained (or, kept from an earlier run of this name, loaded) and scored."""
    import torch

    from hw2.captioning.history import CaptionHistory
    from hw2.captioning.train import train_captioner
    from hw2.captioning.vocab import END, START

    vocab = prepared.vocab
    cfg = caption_config(model, cap, seed=seed, **override)
    kept = keep / f"{model}-{seed}.pt" if keep else None
    states: list[dict] = []  # each epoch's weights, with ``study``
    saved = torch.load(kept) if kept and kept.is_file() else None
    if saved is not None:  # trained before with this name: scored again, not retrained
        net = cfg.build(len(vocab), prepared.features.shape[2])
        net.load_state_dict(saved["state"])
        net.eval()
        hist, seconds = CaptionHistory(**saved["history"]), saved["train_s"]
    else:
        start = time.perf_counter()
        net, hist = train_captioner(
            prepared.data,
            len(vocab),
            vocab.stoi[START],
            vocab.stoi[END],
            vocab.max_length,
            cfg,
            progress=False,
            inspect=(lambda _, m: states.append({k: v.detach().clone() for k, v in m.state_dict().items()}))
            if study
            else None,
        )
        seconds = time.perf_counter() - start
    out = {
        "seed": seed,
        "train_s": round(seconds, 1),
        "epochs_run": len(hist.val_bleu4),
        "best_epoch": hist.best_epoch,
        "lr_cuts": len(hist.cuts()),
        "val_bleu4_curve": [round(v, 4) for v in hist.val_bleu4],
        "train_loss": [round(v, 4) for v in hist.train_loss],
        "val": split_scores(net, prepared, "val", cap, grid, also),
        "test": split_scores(net, prepared, "test", cap, False, also, test_captions := {}),
        "test_captions": test_captions,  # for the paired bootstrap (--paired)
    }
    if states:  # trained here with --selection (a kept decoder has only its best epoch's weights)
        out["selection"] = selection_study(net, states, prepared, cap)
        if kept:  # every epoch's weights too, for rules measured later (about 15 MB an epoch)
            kept.parent.mkdir(parents=True, exist_ok=True)
            torch.save(states, kept.with_name(f"{kept.stem}-epochs.pt"))
    elif study and saved is not None and "selection" in saved:  # measured when it was trained
        out["selection"] = saved["selection"]
    if kept and saved is None:  # kept once scored, so a killed chain resumes at the next seed
        kept.parent.mkdir(parents=True, exist_ok=True)
        selection = {"selection": out["selection"]} if "selection" in out else {}
        torch.save(
            {"state": net.state_dict(), "history": asdict(hist), "train_s": round(seconds, 1), **selection}, kept
        )
    if net.attends:
        out |= attention_on_val(net, prepared, cap, name, maps)
    print(
        f"{model} seed {seed}: best val BLEU-4 {hist.val_bleu4[hist.best_epoch - 1]:.4f} at epoch {hist.best_epoch} "
        f"of {len(hist.val_bleu4)}; test BLEU-4 greedy {out['test']['greedy']['bleu4']:.4f}, beam "
        f"{out['test']['beam']['bleu4']:.4f}, beam+lp {out['test']['beam_lp']['bleu4']:.4f} ({seconds:.0f} s)",
        flush=True,
    )
    return out


def summary(runs: list[dict]) -> dict:
    """Mean and sample standard deviation over the seeds of every score."""
    out = {}
    for split in ("val", "test"):
        for how in runs[0][split]:
            for metric in ("bleu4", "cider"):
                values = [r[split][how][metric] for r in runs]
                out[f"{split}.{how}.{metric}"] = {
                    "mean": round(statistics.mean(values), 4),
                    "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
                }
    return out


def selection_summary(runs: list[dict]) -> dict | None:
    """Each rule's chosen epochs and their test scores, mean and spread over the seeds that were
    trained with --selection (``seeds``: which)."""
    runs = [r for r in runs if r.get("selection")]
    if not runs:
        return None
    out = {"seeds": [r["seed"] for r in runs]}
    for rule in runs[0]["selection"]["chosen"]:
        picked = [r["selection"]["chosen"][rule] for r in runs]
        out[rule] = {"epochs": [p["epoch"] for p in picked]}
        for how in ("test_greedy", "test_beam"):
            for metric in ("bleu4", "cider"):
                values = [p[how][metric] for p in picked]
                out[rule][f"{how}.{metric}"] = {
                    "mean": round(statistics.mean(values), 4),
                    "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
                }
    return out


def table(names: list[str]) -> str:
    """A markdown table of the named entries of the results: each decoder's BLEU-4 (mean ± sd over
    the seeds) on validation and test, CIDEr of beam search, and how peaked the attention is."""
    results = json.loads(OUT.read_text())
    rows = [
        "| variant | decoder | seeds | val greedy | val beam | test greedy | test beam | test beam+penalty "
        "| test CIDEr beam | attention peak / entropy |",
        "|" + "---|" * 10,
    ]
    for name in names:
        entry = results[name]
        for model, m in entry["models"].items():
            s, runs = m["summary"], m["runs"]
            att = [r["attention"] for r in runs if "attention" in r]
            rows.append(
                f"| {name} | {model} | {len(runs)} | {pm(s['val.greedy.bleu4'])} | {pm(s['val.beam.bleu4'])} | "
                f"{pm(s['test.greedy.bleu4'])} | {pm(s['test.beam.bleu4'])} | {pm(s['test.beam_lp.bleu4'])} | "
                f"{s['test.beam.cider']['mean']:.3f} | "
                + (
                    f"{statistics.mean(a['peak'] for a in att):.3f} / {statistics.mean(a['entropy'] for a in att):.3f}"
                    if att
                    else ""
                )
                + " |"
            )
    return "\n".join(rows)


PAIRED = {  # the scores a paired difference is shown for: (split, decoding, metric)
    "val greedy BLEU-4": ("val", "greedy", "bleu4"),
    "val greedy CIDEr": ("val", "greedy", "cider"),
    "test greedy BLEU-4": ("test", "greedy", "bleu4"),
    "test greedy CIDEr": ("test", "greedy", "cider"),
    "test beam BLEU-4": ("test", "beam", "bleu4"),
    "test beam CIDEr": ("test", "beam", "cider"),
}


def paired(a: str, b: str, data: Path) -> str:
    """A markdown table of ``a`` − ``b``, each ``NAME:DECODER`` (a variant's name in the results
    and a decoder), seed by seed over the seeds both have: per score the mean ± sample standard
    deviation of the differences and how many seeds are ahead; on the test split, the pipeline's
    paired bootstrap over the seeds and the test images (params.yaml's captioning.bootstrap,
    hw2.captioning.bootstrap) with its interval, the share of draws ``a`` wins and its verdict.
    The references are the test split's of the caption set in ``data``."""
    from hw2.captioning.bootstrap import paired_bootstrap, verdict
    from hw2.captioning.comparison import spread
    from hw2.captioning.dataset import find_inputs, load_caption_set

    results = json.loads(OUT.read_text())
    runs = []
    for side in (a, b):
        name, model = side.split(":")
        runs.append({r["seed"]: r for r in results[name]["models"][model]["runs"]})
    seeds = sorted(runs[0].keys() & runs[1].keys())
    kept = [[r[k].get("test_captions") or {} for k in seeds] for r in runs]
    boot = None
    if all(c.get("beam") for side in kept for c in side):
        found = find_inputs(data) or sys.exit(f"{data}: no images.zip and captions .json")
        by_name = {im.filename: im.captions for im in load_caption_set(found[1]).split("test")}
        names = kept[0][0]["images"]
        if any(c["images"] != names for side in kept for c in side) or set(names) - set(by_name):
            sys.exit(f"the runs' test images are not the test split of {data}")
        hyps = {
            side: {
                s: {how: [t.split() for t in c[how]] for how in ("greedy", "beam")}
                for s, c in zip(seeds, cs, strict=True)
            }
            for side, cs in zip((a, b), kept, strict=True)
        }
        bp = params()["captioning"]["bootstrap"]
        boot = paired_bootstrap(
            [by_name[n] for n in names], hyps, bp["draws"], bp["level"], bp["seed"], first=a, second=b
        )
    rows = [
        f"| score, seeds {', '.join(map(str, seeds))} | {a} | {b} | difference (mean ± sd) | seeds ahead | "
        + (f"{bp['level']:.0%} interval, seeds x images | draws won | shows |" if boot else "shows |")
    ]
    rows.append("|" + "---|" * (8 if boot else 6))
    for label, (split, how, metric) in PAIRED.items():
        x, y = ([r[k][split][how][metric] for k in seeds] for r in runs)
        d = spread([u - v for u, v in zip(x, y, strict=True)])
        cells = [f"{statistics.mean(x):.4f}", f"{statistics.mean(y):.4f}", pm(d, sign=True)]
        cells.append(f"{sum(u > v for u, v in zip(x, y, strict=True))} of {len(seeds)}")
        if split == "test" and boot:
            p = boot["pooled"][how][metric]
            cells += [f"[{p['low']:+.4f}, {p['high']:+.4f}]", f"{p['wins']:.1%}", verdict(p["low"], p["high"])]
        else:
            cells += (["", ""] if boot else []) + [
                "(no captions kept: the test split's bootstrap needs a rerun)" if split == "test" else "(validation)"
            ]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def selection_table(names: list[str]) -> str:
    """A markdown table of the epoch each selection rule picked and its test scores (mean ± sd over
    the seeds run with --selection), per named variant and decoder."""
    results = json.loads(OUT.read_text())
    rows = ["| variant | decoder | rule | epochs picked | test greedy BLEU-4 | test beam BLEU-4 | test beam CIDEr |"]
    rows.append("|" + "---|" * 7)
    for name in names:
        for model, m in results[name]["models"].items():
            for rule, r in (m.get("selection") or {}).items():
                if rule == "seeds":
                    continue
                cells = [pm(r[k]) for k in ("test_greedy.bleu4", "test_beam.bleu4", "test_beam.cider")]
                rows.append(
                    f"| {name} | {model} | {rule} | {', '.join(map(str, r['epochs']))} | " + " | ".join(cells) + " |"
                )
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="a folder with images.zip and a captions .json, or "
        "synthetic: the pipeline's synthetic set as params.yaml's captioning.synthetic makes it",
    )
    ap.add_argument("--models", nargs="+", choices=("vanilla", "attention"), default=["vanilla", "attention"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="captioning.decoder or captioning.train keys to change, e.g. alpha_c=0.1",
    )
    ap.add_argument("--name", help="the variant's name in the results (default: params, or the --set values)")
    ap.add_argument("--kernels", choices=("portable", "native"), default="portable")
    ap.add_argument(
        "--grid", action="store_true", help=f"also validation scores for beams {BEAMS} x penalties {PENALTIES}"
    )
    ap.add_argument("--maps", type=int, default=2, help="attention figures of this many validation images (first seed)")
    ap.add_argument(
        "--also",
        nargs="+",
        default=[],
        metavar="BEAM:PENALTY",
        help="also scores of these decodings, on both splits, e.g. 5:0 (beam 5, no length penalty)",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the trained decoders in bench/.work/models/<name>/ (with --selection, every epoch's weights too), "
        "and score those already there instead of training them again",
    )
    ap.add_argument(
        "--selection",
        action="store_true",
        help="also score every epoch (validation and test) and the epoch each way of choosing it picks",
    )
    ap.add_argument("--table", nargs="+", metavar="NAME", help="print the named results as a markdown table, and stop")
    ap.add_argument(
        "--paired",
        nargs=2,
        metavar=("NAME:DECODER", "NAME:DECODER"),
        help="print the first minus the second, seed by seed, as a markdown table, and stop "
        "(e.g. official-baseline:attention official-baseline:vanilla)",
    )
    ap.add_argument(
        "--selection-table",
        nargs="+",
        metavar="NAME",
        help="print each selection rule's picks and test scores of the named results, and stop",
    )
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    if args.paired:
        print(paired(*args.paired, args.data))
        return
    if args.selection_table:
        print(selection_table(args.selection_table))
        return

    from hw2.common.runtime import Kernels

    cap = params()["captioning"]
    kernels = Kernels(args.kernels, cap["train"]["precision"], cap["threads"]).apply()
    known = {**cap["decoder"], **cap["train"]}
    override = {}
    for kv in args.set:
        key, value = kv.split("=", 1)
        if key not in known:
            sys.exit(f"--set {kv}: {key} is not a key of captioning.decoder or captioning.train")
        override[key] = yaml.safe_load(value) if isinstance(known[key], bool) else type(known[key])(value)
    also = [(int(b), float(p)) for b, p in (x.split(":") for x in args.also)]
    name = args.name or (",".join(args.set) if args.set else "params")
    prepared = prepare(args.data, cap)
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    entry = {
        "command": " ".join(["python bench/real_captions.py", *sys.argv[1:]]),
        "override": override,
        "data": f"{prepared.captions.name}: " + ", ".join(f"{k} {v}" for k, v in prepared.captions.counts().items()),
        "encoder_weights": prepared.weights,
        "machine": cpu_name(),
        **kernels,
        "date": time.strftime("%Y-%m-%d"),
        "baseline_test": baseline(prepared),
        "models": {},
    }
    if results.get(name, {}).get("data") == entry["data"]:  # a decoder run before under this name stays
        entry["models"] = results[name]["models"]
    for model in args.models:
        runs = [
            run(
                model,
                seed,
                prepared,
                cap,
                override,
                args.grid,
                also,
                name,
                args.maps if k == 0 else 0,
                WORK / "models" / name if args.keep else None,
                args.selection,
            )
            for k, seed in enumerate(args.seeds)
        ]
        entry["models"][model] = {"summary": summary(runs), "runs": runs}
        if args.selection:
            entry["models"][model]["selection"] = selection_summary(runs)
        s = entry["models"][model]["summary"]
        print(
            f"{model}: test BLEU-4 greedy {s['test.greedy.bleu4']}, beam {s['test.beam.bleu4']}, "
            f"beam+lp {s['test.beam_lp.bleu4']}; val greedy {s['val.greedy.bleu4']}",
            flush=True,
        )
        results[name] = entry
        OUT.write_text(json.dumps(results, indent=2) + "\n")  # after each decoder: a long run keeps what it has
    print(f"caption-prior baseline: test BLEU-4 {entry['baseline_test']['bleu4']:.4f} → {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
