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
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..common.atomic import write_json
from ..common.errors import InputError, explain

SPLITS = ("train", "val", "test")


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


class _Sentence(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    tokens: Annotated[
        list[Annotated[str, Field(description="a word (a string)")]] | None, Field(description="a list of words")
    ] = None
    raw: Annotated[str | None, Field(description="text")] = None


class _Image(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    filename: Annotated[str, Field(min_length=1, description="a file name")]
    split: Annotated[Literal["train", "val", "test", "restval"], Field(description="train, val or test")]
    sentences: Annotated[
        list[Annotated[_Sentence, Field(description="an object with 'tokens' (a list of words) or 'raw' text")]],
        Field(min_length=1, description="a non-empty list of sentences"),
    ]


class _CaptionFile(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    images: list[Annotated[_Image, Field(description="an object with a filename, a split and sentences")]]
    dataset: Annotated[str | None, Field(description="a name")] = None


def _explain(path: Path, data, error: ValidationError) -> str:
    """The first problem of the file as one line, naming the image (and its file name) at fault."""
    first = error.errors(include_url=False)[0]
    loc = first["loc"]
    if loc in ((), ("images",)):
        return f"{path}: no 'images' list (expected the Karpathy format of UCM/Sydney/RSICD captions)"
    if loc[0] != "images" or len(loc) == 2:
        return explain(first, _CaptionFile, str(path))
    entry = data["images"][loc[1]]
    name = entry.get("filename") if isinstance(entry, dict) else None
    where = f"{path}: images[{loc[1]}]" + (f" ({name})" if isinstance(name, str) and name else "")
    return explain({**first, "loc": loc[2:]}, _Image, where)


def load_caption_set(path: Path) -> CaptionSet:
    """Read a Karpathy-style captions file and check it as a whole (every image, every sentence,
    every token list); every problem names the file, and the image and sentence at fault."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    try:
        parsed = _CaptionFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(_explain(path, data, exc)) from None
    images, seen = [], set()
    for k, entry in enumerate(parsed.images):
        name = entry.filename
        if name in seen:
            raise InputError(f"{path}: images[{k}] ({name}) is listed twice")
        seen.add(name)
        captions = []
        for sent in entry.sentences:
            tokens = [t.lower() for t in sent.tokens if t.strip()] if sent.tokens else tokenize(sent.raw or "")
            if tokens:
                captions.append(tokens)
        if not captions:
            raise InputError(f"{path}: images[{k}] ({name}) has no sentence with words")
        images.append(CaptionedImage(name, "train" if entry.split == "restval" else entry.split, captions))
    result = CaptionSet(parsed.dataset or path.stem, images)
    counts = result.counts()
    for needed in ("train", "test"):
        if not counts[needed]:
            raise InputError(f"{path}: no image in the {needed} split")
    return result


def save_caption_set(path: Path, captions: CaptionSet) -> None:
    """The set in the same format, as read: lower-cased tokens, ``restval`` as ``train``."""
    write_json(
        path,
        {
            "dataset": captions.name,
            "images": [
                {"filename": im.filename, "split": im.split, "sentences": [{"tokens": c} for c in im.captions]}
                for im in captions.images
            ],
        },
    )


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
