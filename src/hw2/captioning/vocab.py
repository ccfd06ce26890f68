"""The vocabulary of the training captions and every caption encoded with it."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.atomic import atomic_path, write_json
from ..common.errors import InputError
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
        return [self.stoi[START]] + [self.stoi.get(t, unk) for t in tokens[:self.max_length]] + [self.stoi[END]]

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


def build_vocabulary(captions: CaptionSet, min_freq: int, max_length: int = 0) -> tuple[Vocabulary, Counter]:
    """Words of the training split seen at least ``min_freq`` times, most frequent first.

    ``max_length`` 0 keeps the longest training caption whole."""
    counts = Counter(t for im in captions.split("train") for c in im.captions for t in c)
    words = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
    longest = max(len(c) for im in captions.split("train") for c in im.captions)
    return Vocabulary(list(SPECIALS) + words, max_length or longest), counts


def names_digest(filenames: list[str]) -> str:
    """Identifies the image list (and its order) a file was made for: vocabulary, captions and
    features made from different runs are refused by comparing these."""
    return hashlib.sha256("\n".join(filenames).encode()).hexdigest()[:16]


def save_encoded(folder: Path, vocab: Vocabulary, captions: CaptionSet, counts: Counter, min_freq: int) -> dict:
    """``vocab.json`` and ``captions.npz``: tokens (M, max_length+2) int32 padded with 0,
    lengths (M,) with <start>/<end>, image (M,) the row of each caption's image in the
    features file, split (M,) 0/1/2 for train/val/test."""
    rows, lengths, image, split = [], [], [], []
    width = vocab.max_length + 2
    for k, im in enumerate(captions.images):
        for c in im.captions:
            ids = vocab.encode(c)
            rows.append(ids + [0] * (width - len(ids)))
            lengths.append(len(ids))
            image.append(k)
            split.append(("train", "val", "test").index(im.split))
    digest = names_digest([im.filename for im in captions.images])
    with atomic_path(Path(folder) / "captions.npz", suffix=".npz") as tmp:
        np.savez(tmp, tokens=np.array(rows, np.int32), lengths=np.array(lengths, np.int32),
                 image=np.array(image, np.int32), split=np.array(split, np.int8))
    train_tokens = sum(counts.values())
    covered = sum(n for w, n in counts.items() if w in vocab.stoi)
    write_json(Path(folder) / "vocab.json", {
        "itos": vocab.itos, "max_length": vocab.max_length, "min_freq": min_freq, "images_digest": digest,
        "images": [im.filename for im in captions.images]})
    return {"vocab_size": len(vocab), "max_length": vocab.max_length, "captions": len(rows),
            "train_coverage": round(covered / train_tokens, 4)}


def check_same_images(feature_names: list[str], features_path: Path, meta: dict, vocab_dir: Path) -> None:
    """Refuses a feature file made for other images than the vocabulary's captions."""
    if names_digest(feature_names) != meta["images_digest"]:
        raise InputError(f"{features_path}: made for {len(feature_names)} images that are not the "
                         f"{len(meta['images'])} of {Path(vocab_dir) / 'vocab.json'} (files from different runs); "
                         "run `dvc repro` again")


def load_vocabulary(folder: Path) -> tuple[Vocabulary, dict]:
    path = Path(folder) / "vocab.json"
    if not path.is_file():
        raise InputError(f"{path}: not found; run the build_vocab stage first")
    try:
        meta = json.loads(path.read_text())
        return Vocabulary(meta["itos"], meta["max_length"]), meta
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a vocabulary written by build_vocab ({type(exc).__name__}: {exc})") from None
