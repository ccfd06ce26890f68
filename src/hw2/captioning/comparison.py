"""Both decoders side by side with the caption-prior baseline: the most common training caption
given to every test image, the score a model must beat to show it looks at the image."""

from __future__ import annotations

import statistics
from collections import Counter

from ..common.errors import StaleInputError
from .bootstrap import verdict as bootstrap_verdict
from .dataset import CaptionSet
from .scoring import Scorer, names_position


def most_common_caption(captions: CaptionSet, split: str = "train") -> list[str]:
    """The caption-prior baseline: the training caption written most often (ties: the first in
    sorted order, so the choice is deterministic)."""
    counts = Counter(tuple(c) for im in captions.split(split) for c in im.captions)
    if not counts:
        raise ValueError(f"no {split} captions to take the most common one from")
    top = max(counts.values())
    return list(min(c for c, n in counts.items() if n == top))


def score_baseline(captions: CaptionSet, scorer: Scorer) -> tuple[list[str], dict, int]:
    """The baseline caption, its scores on the test images (with ``position_bleu4``, its BLEU-4 on
    the images whose references name a position, when there are any) and the test image count."""
    refs = [im.captions for im in captions.split("test")]
    position = [r for r in refs if names_position(r)]
    prior = most_common_caption(captions)
    scores = scorer.score([prior] * len(refs), refs)
    if position:
        scores["position_bleu4"] = scorer.score([prior] * len(position), position)["bleu4"]
    return prior, scores, len(position)


def spread(values: list[float]) -> dict[str, float | None]:
    """The mean of ``values`` and their spread: the sample standard deviation (None for one value,
    which shows no spread)."""
    return {
        "mean": round(statistics.mean(values), 6),
        "sd": round(statistics.stdev(values), 6) if len(values) > 1 else None,
    }


def verdict(difference: dict) -> str:
    """What a paired difference (:func:`compare`'s ``attention_minus_vanilla`` entry of one score)
    shows: ``ahead`` when its bootstrap interval (``low``, ``high``) lies above 0, ``behind`` when
    below, ``within the noise`` when it holds 0 (:func:`bootstrap.verdict`)."""
    return bootstrap_verdict(difference["low"], difference["high"])


def compare(
    evaluations: dict[str, dict[int, dict]],
    trained: dict[str, dict[int, dict]],
    baseline: dict,
    test_images: int,
    position_images: int,
    facts: dict,
    intervals: dict[str, dict[str, dict]] | None = None,
) -> dict:
    """The decoders' test scores over the seeds, with the caption-prior baseline's and ``facts``
    (where the data and features came from) alongside. ``evaluations[decoder][seed]`` is
    :func:`evaluation.evaluate_decoder`'s result of a run, ``trained[decoder][seed]`` its training
    summary (with ``best_epoch``); every decoder has the same seeds.

    Each decoder's score (per decoding way: greedy, beam, …) is its mean over the seeds with the
    spread (:func:`spread`); ``attention_minus_vanilla`` holds the paired difference, seed by seed,
    its mean and spread, and on how many seeds attention scored higher (``seeds_ahead``), with, for
    the scores of ``intervals`` (:func:`bootstrap.paired_bootstrap`'s ``pooled``: ``[how][score]``),
    the bootstrap interval (``low``, ``high``) and the share of draws attention won (``wins``)."""
    runs = [e for by_seed in evaluations.values() for e in by_seed.values()]
    same = ("beam_size", "length_penalty", "images")
    if any(len({e.get(k) for e in runs}) != 1 for k in same):
        raise StaleInputError(
            "the runs' evaluations disagree on the beam size, the length penalty or the test images (files "
            "from different runs)"
        )
    seeds = {m: sorted(by_seed) for m, by_seed in evaluations.items()}
    if len({tuple(s) for s in seeds.values()}) != 1 or any(sorted(trained[m]) != s for m, s in seeds.items()):
        raise StaleInputError(f"the decoders were not trained with the same seeds ({seeds})")
    first = runs[0]
    out: dict = {
        **facts,
        "test_images": test_images,
        "position_images": position_images,
        "beam_size": first["beam_size"],
        "length_penalty": first["length_penalty"],
        "runs_per_decoder": len(next(iter(seeds.values()))),
        "baseline": baseline,
    }
    scores = {m: {seed: _with_position(e) for seed, e in sorted(by_seed.items())} for m, by_seed in evaluations.items()}
    for m, by_seed in scores.items():
        ways = next(iter(by_seed.values()))
        out[m] = {
            how: {k: spread([s[how][k] for s in by_seed.values()]) for k, v in named.items() if v is not None}
            for how, named in ways.items()
        }
        out[m]["best_epoch"] = spread([float(t["best_epoch"]) for _, t in sorted(trained[m].items())])
    if {"vanilla", "attention"} <= set(scores):
        van, att = scores["vanilla"], scores["attention"]
        out["attention_minus_vanilla"] = {}
        for how, names in next(iter(att.values())).items():
            out["attention_minus_vanilla"][how] = {}
            for k, value in names.items():
                if value is None:
                    continue
                diffs = [att[seed][how][k] - van[seed][how][k] for seed in att]
                out["attention_minus_vanilla"][how][k] = (
                    spread(diffs)
                    | {"seeds_ahead": sum(d > 0 for d in diffs)}
                    | ((intervals or {}).get(how, {}).get(k) or {})
                )
    return out


def _with_position(evaluation: dict) -> dict[str, dict]:
    """A run's scores by decoding way, with BLEU-4 on the images whose references name a position
    (``position_bleu4``) where there are any."""
    return {
        how: s | ({"position_bleu4": evaluation["position"][how]["bleu4"]} if how in evaluation["position"] else {})
        for how, s in evaluation["scores"].items()
    }
