"""The vocabulary of the training captions: built, saved, loaded, and checked against a feature file."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..common.atomic import write_json
from ..common.errors import InputError, StaleInputError
from .dataset import CaptionSet

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)  # ids 0..3


@dataclass
class Vocabulary:
    itos: list[str]
    max_length: int  # words per caption at most (without <start>/<end>)

    def __post_init__(self):
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        """<start> w1 … wn <end>, words beyond ``max_length`` dropped, unknown words as <unk>."""
        unk = self.stoi[UNK]
        return [self.stoi[START]] + [self.stoi.get(t, unk) for t in tokens[: self.max_length]] + [self.stoi[END]]

    def decode(self, ids) -> list[str]:
        """Words up to the first <end>, without the special tokens."""
        words = []
        for i in ids:
            w = self.itos[int(i)]
            if w == END:
                break
            if w not in SPECIALS:
                words.append(w)
        return words


def build_vocabulary(captions: CaptionSet, min_freq: int, max_length: int) -> tuple[Vocabulary, Counter]:
    """Words of the training split seen at least ``min_freq`` times, most frequent first; captions
    of at most ``max_length`` words (0: :func:`usual_length` of the training captions), longer ones
    cut when encoded (:func:`too_long` lists them)."""
    counts = Counter(t for im in captions.split("train") for c in im.captions for t in c)
    words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
    lengths = [len(c) for im in captions.split("train") for c in im.captions]
    return Vocabulary(list(SPECIALS) + words, max_length or usual_length(lengths)), counts


def usual_length(lengths: list[int]) -> int:
    """The longest caption that is not an outlier: a caption more than twice as long as 99% of the
    captions are (a broken file, a paragraph pasted as a caption) would otherwise set the length
    every training batch is padded to, and slow training tenfold."""
    ordered = sorted(lengths)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return max(n for n in ordered if n <= 2 * p99)


def too_long(captions: CaptionSet, max_length: int) -> list[tuple[str, int]]:
    """(image, words) of every caption longer than ``max_length`` words, longest first."""
    return sorted(
        ((im.filename, len(c)) for im in captions.images for c in im.captions if len(c) > max_length),
        key=lambda item: (-item[1], item[0]),
    )


def names_digest(filenames: list[str]) -> str:
    """Identifies the image list (and its order) a file was made for: vocabulary, captions and
    features made from different runs are refused by comparing these."""
    return hashlib.sha256("\n".join(filenames).encode()).hexdigest()[:16]


def save_vocabulary(path: Path, vocab: Vocabulary, captions: CaptionSet, counts: Counter, min_freq: int) -> dict:
    """The vocabulary as JSON, with the images (in order) its captions were encoded for.
    Returns its size, caption length and the share of training words it covers."""
    write_json(
        path,
        {
            "itos": vocab.itos,
            "max_length": vocab.max_length,
            "min_freq": min_freq,
            "images_digest": names_digest([im.filename for im in captions.images]),
            "images": [im.filename for im in captions.images],
        },
    )
    train_tokens = sum(counts.values())
    covered = sum(n for w, n in counts.items() if w in vocab.stoi)
    return {
        "vocab_size": len(vocab),
        "max_length": vocab.max_length,
        "captions": sum(len(im.captions) for im in captions.images),
        "train_coverage": round(covered / train_tokens, 4),
    }


def check_same_images(feature_names: list[str], features_path: Path, meta: dict, vocab_path: Path) -> None:
    """Refuses a feature file made for other images than the vocabulary's captions."""
    if names_digest(feature_names) != meta["images_digest"]:
        raise StaleInputError(
            f"{features_path}: made for {len(feature_names)} images that are not the "
            f"{len(meta['images'])} of {vocab_path} (files from different runs)"
        )


def load_vocabulary(path: Path) -> tuple[Vocabulary, dict]:
    """A vocabulary saved by :func:`save_vocabulary`, and everything saved with it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        return Vocabulary(meta["itos"], meta["max_length"]), meta
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a vocabulary file ({type(exc).__name__}: {exc})") from None
