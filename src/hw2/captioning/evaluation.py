"""A trained decoder on the test images: its captions, greedy and by beam search, and their scores
(on every image, and on the images whose references name a position)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..common.errors import StaleInputError
from .dataset import CaptionSet
from .decoding import decode_captions
from .models import Decoder
from .scoring import Scorer, names_position
from .vocab import Vocabulary


@dataclass
class EvalImages:
    names: list[str]  # image file names, in the feature file's order
    rows: list[int]  # their rows in the feature file
    references: list[list[list[str]]]  # every reference caption of each image, as tokens


def eval_images(captions: CaptionSet, feature_names: list[str], split: str = "test") -> EvalImages:
    """The images of ``split`` with their references, located in the feature file."""
    row = {n: i for i, n in enumerate(feature_names)}
    picked = captions.split(split)
    missing = [im.filename for im in picked if im.filename not in row]
    if missing:
        raise StaleInputError(
            f"{len(missing)} {split} image(s) have no features, e.g. {missing[0]}: "
            "the feature file comes from another run"
        )
    return EvalImages(
        [im.filename for im in picked], [row[im.filename] for im in picked], [im.captions for im in picked]
    )


def decoding_ways(beam_size: int, length_penalty: float) -> list[tuple[str, int | None, float]]:
    """How test captions are decoded, as (name, beam size or None for greedy, length penalty):
    greedy, beam search ranked by summed log-probability (``beam``), and, with a length penalty,
    beam search ranked by length-normalised log-probability (``beam_lp``)."""
    return [("greedy", None, 0.0), ("beam", beam_size, 0.0)] + (
        [("beam_lp", beam_size, length_penalty)] if length_penalty else []
    )


def evaluate_decoder(
    model: Decoder,
    features: torch.Tensor,
    images: EvalImages,
    vocab: Vocabulary,
    beam_size: int,
    max_length: int,
    scorer: Scorer,
    label: str,
    length_penalty: float = 0.0,
    on_scored: Callable[[str, dict, float], None] | None = None,
) -> dict:
    """Captions of ``images`` (their ``features``, (N, R, E)) each way of :func:`decoding_ways`,
    scored against their references; ``on_scored(how, scores, seconds)`` after each. Returns
    ``{"model", "beam_size", "length_penalty", "images", "position_images", "scores": {how: scores},
    "position": {how: scores}, "captions": {image: {how: caption}}}``."""
    position = [i for i, refs in enumerate(images.references) if names_position(refs)]
    result: dict[str, Any] = {
        "model": label,
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "images": len(images.names),
        "position_images": len(position),
        "scores": {},
        "position": {},
        "captions": {n: {} for n in images.names},
    }
    for how, size, penalty in decoding_ways(beam_size, length_penalty):
        started = time.perf_counter()
        hyps = decode_captions(
            model, features, vocab, size, max_length, progress=f"{label} {how}", length_penalty=penalty
        )
        seconds = time.perf_counter() - started
        result["scores"][how] = scorer.score(hyps, images.references)
        if position:
            result["position"][how] = scorer.score(
                [hyps[i] for i in position], [images.references[i] for i in position]
            )
        for n, h in zip(images.names, hyps, strict=True):
            result["captions"][n][how] = " ".join(h)
        if on_scored is not None:
            on_scored(how, result["scores"][how], seconds)
    return result
