"""Every caption encoded with the vocabulary (``captions.npz``), and the tensors a decoder trains on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..common.atomic import atomic_path
from .dataset import SPLITS, CaptionSet
from .vocab import Vocabulary


@dataclass
class CaptionData:
    features: torch.Tensor  # (N, R, E) float16 or float32, one row per image
    tokens: torch.Tensor  # (M, L) int64 caption ids, <start> … <end> <pad>…
    lengths: torch.Tensor  # (M,) with <start> and <end>
    image: torch.Tensor  # (M,) row of each caption's image
    split: torch.Tensor  # (M,) 0 train, 1 val, 2 test

    def to(self, device: torch.device) -> CaptionData:
        return CaptionData(*(t.to(device) for t in (self.features, self.tokens, self.lengths, self.image, self.split)))

    def digest(self) -> str:
        h = hashlib.sha256()
        for t in (self.tokens, self.lengths, self.image, self.split):
            h.update(t.cpu().numpy().tobytes())
        h.update(str(tuple(self.features.shape)).encode())
        return h.hexdigest()

    def references(self, split: int) -> tuple[list[int], list[list[list[int]]]]:
        """Images of ``split`` and, for each, every reference caption as ids without <start>/<end>."""
        images = sorted(set(self.image[self.split == split].tolist()))
        refs: dict[int, list[list[int]]] = {i: [] for i in images}
        for row, n, i, s in zip(
            self.tokens.tolist(), self.lengths.tolist(), self.image.tolist(), self.split.tolist(), strict=True
        ):
            if s == split:
                refs[i].append(row[1 : n - 1])
        return images, [refs[i] for i in images]


def save_encoded(path: Path, vocab: Vocabulary, captions: CaptionSet) -> None:
    """``tokens`` (M, max_length+2) int32 padded with 0, ``lengths`` (M,) with <start>/<end>,
    ``image`` (M,) the row of each caption's image (the order of ``captions``, which is the
    feature file's), ``split`` (M,) 0/1/2 for train/val/test."""
    rows, lengths, image, split = [], [], [], []
    width = vocab.max_length + 2
    for k, im in enumerate(captions.images):
        for c in im.captions:
            ids = vocab.encode(c)
            rows.append(ids + [0] * (width - len(ids)))
            lengths.append(len(ids))
            image.append(k)
            split.append(SPLITS.index(im.split))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(
            tmp,
            tokens=np.array(rows, np.int32),
            lengths=np.array(lengths, np.int32),
            image=np.array(image, np.int32),
            split=np.array(split, np.int8),
        )


def load_encoded(features: np.ndarray, path: Path) -> CaptionData:
    """The captions saved by :func:`save_encoded` with the features of their images."""
    with np.load(path) as npz:
        return CaptionData(
            torch.from_numpy(np.asarray(features)),
            torch.from_numpy(npz["tokens"].astype(np.int64)),
            torch.from_numpy(npz["lengths"].astype(np.int64)),
            torch.from_numpy(npz["image"].astype(np.int64)),
            torch.from_numpy(npz["split"].astype(np.int64)),
        )
