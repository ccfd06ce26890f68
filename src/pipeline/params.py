"""The schema of params.yaml: every key, its type, range or choices, checked before a stage works.

Every stage, tool and benchmark reads params.yaml through :func:`load`, which reads it as DVC does
(YAML 1.2: ``1e-3`` is a number and ``yes`` a string; a key given twice is refused), checks the
whole file (a mistake in any key stops the first stage that runs, before any long work) and turns
the first problem into one line naming the file and the full key: ``params.yaml:
captioning.train.epochs must be an integer between 1 and 10000, not 0``. Unknown keys are refused
too (a typo would otherwise be silently ignored). Every number has an upper bound as well, so that
no value can overflow later (a length penalty of 1e9 raised to a caption's length).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from hw2.common.errors import InputError, explain
from hw2.common.formats import IMAGE_SUFFIXES
from pipeline.paths import Paths


class ParamsError(InputError):
    """A bad value in params.yaml: the message is one line, file and key first."""


SEED_MAX = 2**32 - 1  # numpy's seeds are 32-bit


def _int(ge: int, le: int, what: str = "an integer", note: str = "") -> Any:
    """The bounds and the description of an integer key: ``Annotated[int, _int(1, 1000)]``."""
    desc = f"{what} between {ge} and {le}" + (f" ({note})" if note else "")
    return Field(ge=ge, le=le, description=desc)


def _number(desc: str, **bounds: Any) -> Any:
    """The bounds and the description of a number key: ``Annotated[float, _number(...)]``."""
    return Field(allow_inf_nan=False, description=desc, **bounds)


Device = Annotated[Literal["auto", "cpu", "cuda"], Field(description="auto, cpu or cuda")]
Precision = Annotated[Literal["float32", "bfloat16"], Field(description="float32 or bfloat16")]
Fraction = Annotated[float, _number("a number in [0, 1)", ge=0, lt=1)]
Seed = Annotated[int, _int(0, SEED_MAX)]
MAPPING = Field(description="a mapping of its parameters")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FashionMNIST(Section):
    source: Annotated[
        Literal["auto", "local", "system", "download"], Field(description="auto, local, system or download")
    ]
    local_dir: Annotated[str, Field(min_length=1, description="a folder inside paths.yaml's raw_fashion_mnist")]
    url: Annotated[str, Field(pattern=r"^https?://\S+/$", description="an http(s) URL ending in /")]

    @field_validator("local_dir")
    @classmethod
    def _inside_raw(cls, value: str, info: ValidationInfo) -> str:
        return _inside(value, info, "raw_fashion_mnist")


class CNN(Section):
    epochs: Annotated[int, _int(1, 1000)]
    batch_size: Annotated[int, _int(1, 50_000)]
    dropout: Fraction
    optimizer: Annotated[Literal["sgd"], Field(description="sgd (the homework's optimizer; no other is implemented)")]
    l2_decay: Annotated[float, _number("a number in [0, 1)", ge=0, lt=1)]
    seed: Seed
    dev_size: Annotated[int, _int(1, 59_999, "a number of images")]
    limit: Annotated[int, _int(0, 60_000, "a number of images", "0: all")]
    device: Device


class Synthetic(Section):
    images: Annotated[int, _int(9, 1_000_000, "a number of images", "one of each of the nine scene kinds at least")]
    seed: Seed
    hard: Annotated[bool, Field(description="true or false")]


class Encoder(Section):
    weights: Annotated[
        str,
        Field(min_length=1, description="none, imagenet or a .pth file in paths.yaml's weights folder"),
    ]
    image_size: Annotated[int, _int(32, 4096, "a number of pixels")]
    batch_size: Annotated[int, _int(1, 4096)]
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
    def _weights(cls, value: str, info: ValidationInfo) -> str:
        if value in ("none", "imagenet"):
            return value
        if value in ("auto", "IMAGENET1K_V1"):  # the choices of earlier versions
            raise ValueError(
                f"must be none, imagenet or a .pth file in {_folder(info, 'weights')}/, not "
                f"{value!r} (no longer a choice: the weights are named, never found on the machine)"
            )
        return _inside(value, info, "weights")


class Vocab(Section):
    min_freq: Annotated[int, _int(1, 1_000_000)]
    max_length: Annotated[
        int, _int(0, 1000, "a number of words", "0: the longest training caption that is not an outlier")
    ]


class Decoder(Section):
    embed_dim: Annotated[int, _int(1, 16_384)]
    decoder_dim: Annotated[int, _int(1, 16_384)]
    attention_dim: Annotated[int, _int(1, 16_384)]
    dropout: Fraction
    feature_norm: Annotated[bool, Field(description="true or false")]


class Train(Section):
    lr: Annotated[float, _number("a number in (0, 10]", gt=0, le=10)]
    batch_size: Annotated[int, _int(1, 65_536)]
    epochs: Annotated[int, _int(1, 10_000)]
    patience: Annotated[int, _int(1, 10_000, "a number of epochs")]
    lr_decay: Annotated[float, _number("a number in (0, 1] (1: a constant learning rate)", gt=0, le=1)]
    lr_patience: Annotated[int, _int(1, 10_000, "a number of epochs")]
    smooth: Annotated[int, _int(1, 100, "a number of epochs")]
    grad_clip: Annotated[float, _number("a number in (0, 1e6]", gt=0, le=1e6)]
    alpha_c: Annotated[float, _number("a number in [0, 1000]", ge=0, le=1000)]
    precision: Precision
    device: Device


class Decode(Section):
    beam_size: Annotated[int, _int(1, 100)]
    length_penalty: Annotated[float, _number("a number in [0, 10] (0: no length normalisation)", ge=0, le=10)]
    max_length: Annotated[int, _int(0, 1000, "a number of words", "0: the vocabulary's longest caption")]


class Scores(Section):
    meteor: Annotated[bool, Field(description="true or false")]


class Bootstrap(Section):
    draws: Annotated[int, _int(1000, 100_000, "a number of draws")]
    level: Annotated[float, _number("a number in [0.5, 0.999]", ge=0.5, le=0.999)]
    seed: Seed


class Unzip(Section):
    max_image_mb: Annotated[float, _number("a number of megabytes in (0, 1e6]", gt=0, le=1e6)]
    max_total_mb: Annotated[float, _number("a number of megabytes in (0, 1e7]", gt=0, le=1e7)]
    max_megapixels: Annotated[float, _number("a number of megapixels in (0, 10000]", gt=0, le=10_000)]


class Imagery(Section):
    bands: Annotated[
        list[Annotated[int, Field(ge=0, le=10_000, description="a 0-based band index")]],
        Field(description="a list of three 0-based band indices (red, green, blue), one (grey) or none ([])"),
    ]
    stretch: Annotated[
        list[Annotated[float, _number("a percentile in [0, 100]", ge=0, le=100)]],
        Field(description="two percentiles [low, high], low below high", min_length=2, max_length=2),
    ]

    @field_validator("bands")
    @classmethod
    def _three_or_one(cls, value: list[int]) -> list[int]:
        if len(value) not in (0, 1, 3):
            raise ValueError(f"must name three bands (red, green, blue), one (grey) or none ([]), not {value}")
        return value

    @field_validator("stretch")
    @classmethod
    def _low_below_high(cls, value: list[float]) -> list[float]:
        if not value[0] < value[1]:
            raise ValueError(f"must be two percentiles [low, high] with low below high, not {value}")
        return value


class Captioning(Section):
    threads: Annotated[int, _int(1, 64, "a number of threads")]
    data: Annotated[str, Field(min_length=1, description="paths.yaml's raw_dataset or a folder inside it")]
    synthetic: Annotated[Synthetic, MAPPING]
    images: Annotated[
        list[Annotated[str, Field(description="an image file name (.tif, .jpg, …)")]],
        Field(description="a list of image file names (.tif, .jpg, …)"),
    ]
    unzip: Annotated[Unzip, MAPPING]
    imagery: Annotated[Imagery, MAPPING]
    encoder: Annotated[Encoder, MAPPING]
    vocab: Annotated[Vocab, MAPPING]
    seeds: Annotated[
        list[Seed],
        Field(description="a list of seeds, one at least, each once (e.g. [0, 1, 2])", min_length=1),
    ]
    decoder: Annotated[Decoder, MAPPING]
    train: Annotated[Train, MAPPING]
    decode: Annotated[Decode, MAPPING]
    scores: Annotated[Scores, MAPPING]
    bootstrap: Annotated[Bootstrap, MAPPING]

    @field_validator("seeds")
    @classmethod
    def _each_once(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"must name each seed once, not {value}")
        return value

    @field_validator("data")
    @classmethod
    def _inside_raw(cls, value: str, info: ValidationInfo) -> str:
        return _inside(value, info, "raw_dataset")

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
    kernels: Annotated[Literal["portable", "native"], Field(description="portable or native")]
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
            if not 0 < v <= 10:
                raise ValueError(f"{v!r} must be a number in (0, 10]")
        rates = [float(v) for v in values]
        if len(set(rates)) != len(rates):
            raise ValueError(f"lists a rate twice: {values}")
        return rates


def _inside(value: str, info: ValidationInfo, entry: str) -> str:
    """``value`` as a path inside paths.yaml's ``entry`` folder (relative to the repository): a
    stage's DVC dependency is that folder, so a file elsewhere could change without DVC seeing it."""
    folder = _folder(info, entry)
    path = Path(value)
    if path.is_absolute() or ".." in path.parts or not (path == Path(folder) or Path(folder) in path.parents):
        raise ValueError(
            f"must be inside {folder}/ (a dependency of its stage, so that DVC sees changes), not {value!r}"
        )
    return path.as_posix()


def _folder(info: ValidationInfo, entry: str) -> str:
    """paths.yaml's ``entry`` folder, relative to the repository."""
    assert info.context is not None, "params are validated by load(), which gives the repository's paths"
    return info.context["paths"].relative(entry)


def paths_root(params_file: Path) -> Path:
    """The repository whose paths.yaml a params file goes with: its own folder, or this project's
    when it has none (a params file written elsewhere, by a test or a tool)."""
    here = Path(params_file).resolve().parent
    return here if (here / "paths.yaml").is_file() else Path(__file__).resolve().parent.parent.parent


def read_yaml(path: Path):
    """A YAML file as DVC reads params.yaml (ruamel.yaml's safe loader: YAML 1.2, so ``1e-3`` is a
    number and ``yes`` a string); a key given twice is refused, as ``dvc repro`` refuses it.
    ParamsError, one line, on a file that cannot be read."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    path = Path(path)
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except DuplicateKeyError as exc:
        key = exc.problem.split('"')[1] if exc.problem and '"' in exc.problem else "a key"
        raise ParamsError(
            f"{path.name}: line {exc.problem_mark.line + 1}: {key!r} is given twice in one mapping "
            f"(DVC refuses such a file; keep one)"
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise ParamsError(f"{path.name}: cannot read parameters ({where}{exc.problem or exc.context})") from None
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise ParamsError(f"{path.name}: cannot read parameters ({str(exc).splitlines()[0]})") from None


def load(path: Path) -> Params:
    """params.yaml, read as DVC reads it and checked as a whole; ParamsError on the first problem."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ParamsError(f"{path.name}: expected a mapping of parameters, not {type(data).__name__}")
    try:
        return Params.model_validate(data, context={"paths": Paths.of(paths_root(Path(path)))})
    except ValidationError as exc:
        raise ParamsError(explain(exc.errors(include_url=False)[0], Params, path.name)) from None
