"""Caption datasets in the Karpathy format the public remote-sensing sets ship.

UCM-captions, Sydney-captions and RSICD publish one JSON file::

    {"images": [{"filename": "1.tif", "imgid": 0, "split": "train",
                 "sentences": [{"raw": "There are some ...", "tokens": ["there", ...], ...}, ...]}, ...],
     "dataset": "ucm"}

Tokens may be capitalised and hold typos; they are lower-cased here, and a sentence without
tokens is tokenised from its raw text.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import InputError

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".png")


@dataclass
class CaptionedImage:
    filename: str
    split: str
    captions: list[list[str]]  # lower-cased tokens, one list per reference sentence


@dataclass
class CaptionSet:
    name: str
    images: list[CaptionedImage]

    def split(self, name: str) -> list[CaptionedImage]:
        return [im for im in self.images if im.split == name]

    def counts(self) -> dict[str, int]:
        return {s: len(self.split(s)) for s in SPLITS}


def tokenize(raw: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", raw.lower())


def load_caption_set(path: Path) -> CaptionSet:
    """Read and check a Karpathy-style captions file; every problem names the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise InputError(f"{path}: no 'images' list (expected the Karpathy format of UCM/Sydney/RSICD captions)")
    images, seen = [], set()
    for k, entry in enumerate(data["images"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise InputError(f"{path}: images[{k}] has no filename")
        name = entry["filename"]
        split = entry.get("split")
        if split == "restval":  # Karpathy's extra training images (COCO-style files)
            split = "train"
        if split not in SPLITS:
            raise InputError(f"{path}: {name} has split {split!r}, expected train, val or test")
        if name in seen:
            raise InputError(f"{path}: {name} is listed twice")
        seen.add(name)
        captions = []
        for sent in entry.get("sentences") or []:
            tokens = sent.get("tokens") if isinstance(sent, dict) else None
            tokens = [str(t).lower() for t in tokens if str(t).strip()] if tokens else tokenize(str(sent.get("raw", "")))
            if tokens:
                captions.append(tokens)
        if not captions:
            raise InputError(f"{path}: {name} has no sentences")
        images.append(CaptionedImage(name, split, captions))
    result = CaptionSet(str(data.get("dataset") or path.stem), images)
    counts = result.counts()
    for needed in ("train", "test"):
        if not counts[needed]:
            raise InputError(f"{path}: no image in the {needed} split")
    return result


def find_inputs(folder: Path) -> tuple[Path, Path] | None:
    """``(images.zip, captions.json)`` in ``folder``, or None when the folder holds neither.

    The captions file is the one JSON file there (``dataset.json``, ``dataset_rsicd.json``…).
    Half a dataset (a zip without captions, or the reverse) is an error, not a silent fallback.
    """
    folder = Path(folder)
    zips = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    jsons = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not zips and not jsons:
        return None
    if len(zips) != 1 or len(jsons) != 1:
        found = ", ".join(p.name for p in zips + jsons)
        raise InputError(f"{folder}: expected one images .zip and one captions .json, found: {found}")
    return zips[0], jsons[0]

