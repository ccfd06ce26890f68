"""A caption set's validation split, decided before any work: the decoders choose their best epoch
and cut their learning rate on it, so it must be there and large enough to say something.

Many sets are published with ``train`` and ``test`` only (or a user removes ``val``): then a fixed
share of the training images, drawn with a fixed seed, becomes the validation split
(:func:`with_validation`), the same images on every run and every machine, and the choice is
recorded (``HeldOut``) for ``metrics/dataset.json`` and the report. A ``val`` split that is there
but too small to choose an epoch on by more than luck is used, and said (:func:`thin_validation`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..common.errors import InputError
from .dataset import CaptionSet

SHARE = 0.1  # of the training images held out for validation when the set has no val split
SEED = 0  # the draw of those images: fixed, so that every run holds out the same ones
MIN_VAL = 5  # images: on fewer, validation BLEU-4 tells one epoch from another mostly by luck
MIN_TRAIN = 2 * MIN_VAL  # images a training split needs before a share of it can be held out


@dataclass(frozen=True)
class HeldOut:
    """Which training images became the validation split: ``images`` of ``train`` (``share``,
    drawn with ``seed``)."""

    images: int
    of_train: int
    share: float = SHARE
    seed: int = SEED

    def record(self) -> dict:
        return {"images": self.images, "of_train": self.of_train, "share": self.share, "seed": self.seed}


def with_validation(captions: CaptionSet, path: Path) -> tuple[CaptionSet, HeldOut | None]:
    """``captions`` with a validation split: its own when it has one (then None), else ``SHARE`` of
    its training images (``MIN_VAL`` at least, drawn with ``SEED``) moved to ``val``. InputError
    naming ``path`` when the training split is too small to hold a validation split out of."""
    if captions.counts()["val"]:
        return captions, None
    train = [k for k, im in enumerate(captions.images) if im.split == "train"]
    if len(train) < MIN_TRAIN:
        raise InputError(
            f"{path}: no val split, and {len(train)} training image(s), too few to hold {MIN_VAL} out for "
            f"validation (at least {MIN_TRAIN}): add a val split, or more training images"
        )
    n = max(MIN_VAL, round(SHARE * len(train)))
    chosen = set(np.random.default_rng(SEED).choice(train, size=n, replace=False).tolist())
    images = [replace(im, split="val") if k in chosen else im for k, im in enumerate(captions.images)]
    return CaptionSet(captions.name, images), HeldOut(n, len(train))


def thin_validation(captions: CaptionSet, path: Path) -> str | None:
    """What to say when the set's own val split has fewer than ``MIN_VAL`` images (None otherwise)."""
    n = captions.counts()["val"]
    if 0 < n < MIN_VAL:
        return (
            f"{path}: the val split has {n} image(s): the best epoch, and the learning-rate cuts, chosen on so "
            f"few are mostly luck; give it {MIN_VAL} or more, or mark them train and {SHARE:.0%} of the "
            "training images are held out for validation"
        )
    return None
