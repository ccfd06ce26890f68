"""The schema of params.yaml: every key, its type, range or choices, checked before a stage works.

Every stage reads params.yaml through :func:`load`, which checks the whole file (a mistake in any
key stops the first stage that runs, before any long work) and turns the first problem into one
line naming the file and the full key: ``params.yaml: captioning.train.epochs must be an integer
>= 1, not 0``. Unknown keys are refused too (a typo would otherwise be silently ignored).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, BaseModel, Field, ValidationError, field_validator

from hw2.captioning.formats import IMAGE_SUFFIXES
from hw2.common.errors import InputError, explain


class ParamsError(InputError):
    """A bad value in params.yaml: the message is one line, file and key first."""


def _int(ge: int, le: int | None = None, what: str = "an integer"):
    desc = f"{what} >= {ge}" if le is None else f"{what} between {ge} and {le}"
    return Annotated[int, Field(ge=ge, le=le, description=desc)]


def _number(desc: str, **bounds):
    return Annotated[float, Field(allow_inf_nan=False, description=desc, **bounds)]


Device = Annotated[Literal["auto", "cpu", "cuda"], Field(description="auto, cpu or cuda")]
Precision = Annotated[Literal["float32", "bfloat16"], Field(description="float32 or bfloat16")]
Fraction = _number("a number in [0, 1)", ge=0, lt=1)
MAPPING = Field(description="a mapping of its parameters")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FashionMNIST(Section):
    source: Annotated[Literal["auto", "local", "system", "download"],
                      Field(description="auto, local, system or download")]
    local_dir: Annotated[str, Field(min_length=1, description="a folder inside data/raw_fashion_mnist")]
    url: Annotated[str, Field(pattern=r"^https?://\S+/$", description="an http(s) URL ending in /")]

    @field_validator("local_dir")
    @classmethod
    def _inside_raw(cls, value: str) -> str:
        return _inside(value, "data/raw_fashion_mnist")


class CNN(Section):
    epochs: _int(1)
    batch_size: _int(1)
    dropout: Fraction
    optimizer: Annotated[Literal["sgd"], Field(description="sgd (the homework's optimizer; no other is implemented)")]
    l2_decay: _number("a number >= 0", ge=0)
    seed: _int(0)
    dev_size: _int(1, 59_999, "a number of images")
    limit: _int(0)
    device: Device


class Synthetic(Section):
    images: _int(9, what="a number of images (one of each of the nine scene kinds at least)")
    seed: _int(0)
    hard: Annotated[bool, Field(description="true or false")]


class Encoder(Section):
    weights: Annotated[str, Field(min_length=1, description="auto, IMAGENET1K_V1, none or a .pth file in data/weights")]
    image_size: _int(32, what="a number of pixels")
    batch_size: _int(1)
    dtype: Annotated[Literal["float16", "float32"], Field(description="float16 or float32")]
    precision: Precision
    device: Device

    @field_validator("image_size")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"must be a multiple of 32 (ResNet-18 halves the image five times), not {value}")
        return value

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        if value in ("auto", "IMAGENET1K_V1", "none"):
            return value
        return _inside(value, "data/weights")


class Vocab(Section):
    min_freq: _int(1)
    max_length: _int(0, what="a number of words (0: the longest training caption)")


class Decoder(Section):
    embed_dim: _int(1)
    decoder_dim: _int(1)
    attention_dim: _int(1)
    dropout: Fraction


class Train(Section):
    lr: _number("a number > 0", gt=0)
    batch_size: _int(1)
    epochs: _int(1)
    patience: _int(1, what="a number of epochs")
    lr_decay: _number("a number in (0, 1] (1: a constant learning rate)", gt=0, le=1)
    lr_patience: _int(1, what="a number of epochs")
    smooth: _int(1, what="a number of epochs")
    grad_clip: _number("a number > 0", gt=0)
    alpha_c: _number("a number >= 0", ge=0)
    seed: _int(0)
    precision: Precision
    device: Device


class Decode(Section):
    beam_size: _int(1)
    length_penalty: _number("a number >= 0 (0: no length normalisation)", ge=0)
    max_length: _int(0, what="a number of words (0: the vocabulary's longest caption)")


class Scores(Section):
    meteor: Annotated[bool, Field(description="true or false")]


class Unzip(Section):
    max_image_mb: _number("a number of megabytes > 0", gt=0)
    max_total_mb: _number("a number of megabytes > 0", gt=0)


class Captioning(Section):
    threads: _int(1, 64, "a number of threads")
    data: Annotated[str, Field(min_length=1, description="data/raw_dataset or a folder inside it")]
    synthetic: Annotated[Synthetic, MAPPING]
    images: Annotated[list[Annotated[str, Field(description="an image file name (.tif, .jpg, …)")]],
                      Field(description="a list of image file names (.tif, .jpg, …)")]
    unzip: Annotated[Unzip, MAPPING]
    encoder: Annotated[Encoder, MAPPING]
    vocab: Annotated[Vocab, MAPPING]
    decoder: Annotated[Decoder, MAPPING]
    train: Annotated[Train, MAPPING]
    decode: Annotated[Decode, MAPPING]
    scores: Annotated[Scores, MAPPING]

    @field_validator("data")
    @classmethod
    def _inside_raw(cls, value: str) -> str:
        return _inside(value, "data/raw_dataset")

    @field_validator("images")
    @classmethod
    def _image_names(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if "/" in n or "\\" in n or Path(n).suffix.lower() not in IMAGE_SUFFIXES]
        if bad:
            raise ValueError(f"must name image files (.tif, .jpg, .png, no folders), not {bad[0]!r}")
        if len(set(value)) != len(value):
            raise ValueError(f"names an image twice: {value}")
        return value


class Params(Section):
    lr: Annotated[list[float], Field(description="a positive number or a non-empty list of them")]
    fashion_mnist: Annotated[FashionMNIST, MAPPING]
    cnn: Annotated[CNN, MAPPING]
    captioning: Annotated[Captioning, MAPPING]

    @field_validator("lr", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> list[float]:
        """A number trains one rate (`dvc exp run -S lr=0.1`), a list sweeps."""
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError("is empty; give a positive number or a list of them")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{v!r} is not a number; give a positive number or a list of them")
            if v <= 0:
                raise ValueError(f"{v!r} must be greater than 0")
        rates = [float(v) for v in values]
        if len(set(rates)) != len(rates):
            raise ValueError(f"lists a rate twice: {values}")
        return rates


def _inside(value: str, folder: str) -> str:
    """``value`` as a path inside ``folder`` (relative to the repository): a stage's DVC
    dependency is ``folder``, so a file elsewhere could change without DVC seeing it."""
    path = Path(value)
    if path.is_absolute() or ".." in path.parts or not (path == Path(folder) or Path(folder) in path.parents):
        raise ValueError(f"must be inside {folder}/ (a dependency of its stage, so that DVC sees changes), "
                         f"not {value!r}")
    return path.as_posix()


def load(path: Path) -> Params:
    """params.yaml, read and checked as a whole; ParamsError on the first problem."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path.name}: cannot read parameters ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path.name}: expected a mapping of parameters, not {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(explain(exc.errors(include_url=False)[0], Params, path.name)) from None
