"""Both decoders side by side with the caption-prior baseline: the most common training caption
given to every test image, the score a model must beat to show it looks at the image."""

from __future__ import annotations

from collections import Counter

from ..common.errors import StaleInputError
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


def compare(
    evaluations: dict[str, dict],
    trained: dict[str, dict],
    baseline: dict,
    test_images: int,
    position_images: int,
    facts: dict,
) -> dict:
    """One table of the decoders' test scores (``evaluations``: :func:`evaluation.evaluate_decoder`'s
    results by decoder; ``trained``: each decoder's training summary, with ``best_epoch``) and the
    baseline's, with ``facts`` (where the data and features came from) alongside."""
    same = ("beam_size", "length_penalty", "images")
    if any(len({e.get(k) for e in evaluations.values()}) != 1 for k in same):
        raise StaleInputError("the evaluations of the decoders come from different runs")
    first = next(iter(evaluations.values()))
    out = {
        **facts,
        "test_images": test_images,
        "position_images": position_images,
        "beam_size": first["beam_size"],
        "length_penalty": first["length_penalty"],
        "baseline": baseline,
    }
    for m, e in evaluations.items():
        out[m] = {
            how: s | ({"position_bleu4": e["position"][how]["bleu4"]} if how in e["position"] else {})
            for how, s in e["scores"].items()
        }
        out[m]["best_epoch"] = trained[m]["best_epoch"]
    return out
