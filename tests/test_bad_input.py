"""Every bad input, as a user would give it, through the real stage scripts.

One row per case: what is set or put in place, the stage run, and the start of the one line it
must print. Each must exit 1 with exactly one line ``error: …`` naming the file and the key (or
image, or sentence), before any work: no output of the pipeline is created or changed, no work
folder is left, nothing suggests ``weights_only=False``, no temporary path is named.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import hashlib
import io
import json
import os
import re
import runpy
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import tifffile
import torch
import yaml
from conftest import ROOT, copy_repo, env, merge, run
from PIL import Image
from test_fashion_data import idx_bytes

from pipeline import params as _params

OUTPUTS = ("data", "models", "metrics", "plots", "REPORT.md", "REPORT.html")
PWNED = Path("/tmp/hw2-bad-input-code-ran")


@dataclass
class Case:
    id: str
    stage: str  # "train_cnn" or "evaluate attention 0"
    expect: str  # the line must contain this
    params: dict = field(default_factory=dict)  # merged into params.yaml
    setup: Callable[[Path], object] | None = None  # files put in place before the run
    edit: Callable[[dict], None] | None = None  # an edit merging cannot express (a deleted key)


# --- things put in place ---------------------------------------------------------------------


def tif(colour=(90, 120, 60), size=(32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="TIFF")
    return buf.getvalue()


def stack(bands: int, nodata: str | None = None) -> bytes:
    """A TIFF of ``bands`` 16-bit bands, one per page (a Sentinel-2-like stack as tifffile writes it),
    with GDAL's GDAL_NODATA tag when ``nodata`` is given."""
    buf = io.BytesIO()
    tags = [(42113, "s", 0, nodata, True)] if nodata is not None else []
    tifffile.imwrite(buf, np.zeros((bands, 16, 16), np.uint16), photometric="minisblack", extratags=tags)
    return buf.getvalue()


def user_set(images=None, sentences=None, entries=None, json_text=None, zip_bytes=None):
    """A caption set in data/raw_dataset: 3 images (1.tif train, 2.tif val, 3.tif test)."""

    def setup(repo):
        raw = repo / "data/raw_dataset"
        names = ["1.tif", "2.tif", "3.tif"]
        if zip_bytes is not None:
            (raw / "images.zip").write_bytes(zip_bytes)
        else:
            with zipfile.ZipFile(raw / "images.zip", "w") as zf:
                for name, data in entries if entries is not None else [(n, tif()) for n in names]:
                    if isinstance(name, zipfile.ZipInfo):
                        zf.writestr(name, data)
                    else:
                        zf.writestr(name, data)
        if json_text is not None:
            (raw / "dataset.json").write_text(json_text)
            return
        listed = (
            images
            if images is not None
            else [
                {
                    "filename": n,
                    "split": s,
                    "sentences": sentences
                    if (sentences is not None and n == "1.tif")
                    else [{"tokens": ["a", "river"]}],
                }
                for n, s in zip(names, ["train", "val", "test"], strict=True)
            ]
        )
        (raw / "dataset.json").write_text(json.dumps({"dataset": "mine", "images": listed}))

    return setup


def zip_with(*entries):
    return user_set(entries=list(entries))


def symlink_entry():
    info = zipfile.ZipInfo("1.tif")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def bomb_zip() -> bytes:  # 2 MB of zeros that pack to a few kB, under a captioned image's name
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("1.tif", bytes(2 * 2**20))
        zf.writestr("2.tif", tif())
        zf.writestr("3.tif", tif())
    return buf.getvalue()


def fashion_files(corruption: str):
    def setup(repo):
        local = repo / "data/raw_fashion_mnist"
        labels = np.zeros(10000, np.uint8)
        for stem in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ):
            (local / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        first = local / "train-images-idx3-ubyte.gz"  # label-shaped bytes: a valid IDX with the wrong digest
        if corruption == "truncated":
            first.write_bytes(first.read_bytes()[:20])
        elif corruption == "not-gzip":
            first.write_bytes(b"not gzip at all")
        elif corruption == "magic":
            first.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + bytes(12)))
        elif corruption == "missing":
            first.unlink()

    return setup


class RunsCode:
    """A pickle that would create PWNED when loaded without weights_only=True."""

    def __reduce__(self):
        return (Path.touch, (PWNED,))


def file_at(rel: str, content: bytes | Callable[[], object]):
    def setup(repo):
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            torch.save(content(), path)
        else:
            path.write_bytes(content)

    return setup


def both(*setups):
    def setup(repo):
        for s in setups:
            s(repo)

    return setup


def captions_in_data(repo):  # data/captions.json as unzip_images writes it, for the stages after it
    (repo / "data/captions.json").write_text(
        json.dumps(
            {
                "dataset": "mine",
                "images": [
                    {"filename": f"{i}.tif", "split": s, "sentences": [{"tokens": ["a", "river"]}]}
                    for i, s in enumerate(["train", "val", "test"], 1)
                ],
            }
        )
    )


def delete(*keys):
    def edit(params):
        node = params
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return edit


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the refusal cannot happen")

SCHEMA_CASES = [  # (case, what is merged into params.yaml or an edit, the line): checked in-process against the schema
    ("cnn.epochs 0", {"cnn": {"epochs": 0}}, "params.yaml: cnn.epochs must be an integer between 1 and 1000, not 0"),
    (
        "cnn.epochs text",
        {"cnn": {"epochs": "ten"}},
        "params.yaml: cnn.epochs must be an integer between 1 and 1000, not 'ten'",
    ),
    (
        "cnn.epochs 2.5",
        {"cnn": {"epochs": 2.5}},
        "params.yaml: cnn.epochs must be an integer between 1 and 1000, not 2.5",
    ),
    ("cnn.epochs deleted", delete("cnn", "epochs"), "params.yaml: cnn.epochs is missing"),
    (
        "cnn.batch_size 0",
        {"cnn": {"batch_size": 0}},
        "params.yaml: cnn.batch_size must be an integer between 1 and 50000, not 0",
    ),
    ("cnn.dropout 1", {"cnn": {"dropout": 1}}, "params.yaml: cnn.dropout must be a number in [0, 1), not 1"),
    (
        "cnn.dropout negative",
        {"cnn": {"dropout": -0.1}},
        "params.yaml: cnn.dropout must be a number in [0, 1), not -0.1",
    ),
    ("cnn.optimizer adam", {"cnn": {"optimizer": "adam"}}, "params.yaml: cnn.optimizer must be sgd"),
    (
        "cnn.l2_decay negative",
        {"cnn": {"l2_decay": -1}},
        "params.yaml: cnn.l2_decay must be a number in [0, 1), not -1",
    ),
    (
        "cnn.seed negative",
        {"cnn": {"seed": -1}},
        "params.yaml: cnn.seed must be an integer between 0 and 4294967295, not -1",
    ),
    (
        "cnn.seed true",
        {"cnn": {"seed": True}},
        "params.yaml: cnn.seed must be an integer between 0 and 4294967295, not True",
    ),
    (
        "cnn.dev_size 0",
        {"cnn": {"dev_size": 0}},
        "params.yaml: cnn.dev_size must be a number of images between 1 and 59999, not 0",
    ),
    (
        "cnn.dev_size 60000",
        {"cnn": {"dev_size": 60000}},
        "params.yaml: cnn.dev_size must be a number of images between 1 and 59999, not 60000",
    ),
    (
        "cnn.limit negative",
        {"cnn": {"limit": -5}},
        "params.yaml: cnn.limit must be a number of images between 0 and 60000 (0: all), not -5",
    ),
    ("cnn.device gpu", {"cnn": {"device": "gpu"}}, "params.yaml: cnn.device must be auto, cpu or cuda, not 'gpu'"),
    ("cnn.epoch typo", {"cnn": {"epoch": 3}}, "params.yaml: cnn.epoch is not a parameter of this pipeline"),
    ("cnn not a mapping", {"cnn": 5}, "params.yaml: cnn must be a mapping of its parameters, not 5"),
    ("lr empty", {"lr": []}, "params.yaml: lr is empty"),
    ("lr 0", {"lr": 0}, "params.yaml: lr 0 must be a number in (0, 10]"),
    ("lr negative in list", {"lr": [0.01, -0.1]}, "params.yaml: lr -0.1 must be a number in (0, 10]"),
    ("lr text", {"lr": "fast"}, "params.yaml: lr 'fast' is not a number"),
    ("lr nan", {"lr": float("nan")}, "params.yaml: lr nan is not a number"),
    ("lr twice", {"lr": [0.1, 0.1]}, "params.yaml: lr lists a rate twice"),
    ("lr deleted", delete("lr"), "params.yaml: lr is missing"),
    (
        "fashion_mnist.source web",
        {"fashion_mnist": {"source": "web"}},
        "params.yaml: fashion_mnist.source must be auto, local, system or download, not 'web'",
    ),
    (
        "fashion_mnist.local_dir outside",
        {"fashion_mnist": {"local_dir": "/srv/fashion-mnist"}},
        "params.yaml: fashion_mnist.local_dir must be inside data/raw_fashion_mnist/",
    ),
    (
        "fashion_mnist.url ftp",
        {"fashion_mnist": {"url": "ftp://x/"}},
        "params.yaml: fashion_mnist.url must be an http(s) URL ending in /, not 'ftp://x/'",
    ),
    (
        "captioning.train.epochs 0",
        {"captioning": {"train": {"epochs": 0}}},
        "params.yaml: captioning.train.epochs must be an integer between 1 and 10000, not 0",
    ),
    (
        "captioning.train.epochs text",
        {"captioning": {"train": {"epochs": "ten"}}},
        "params.yaml: captioning.train.epochs must be an integer between 1 and 10000, not 'ten'",
    ),
    (
        "captioning.train.lr text",
        {"captioning": {"train": {"lr": "abc"}}},
        "params.yaml: captioning.train.lr must be a number in (0, 10], not 'abc'",
    ),
    (
        "captioning.train.lr negative",
        {"captioning": {"train": {"lr": -0.1}}},
        "params.yaml: captioning.train.lr must be a number in (0, 10], not -0.1",
    ),
    (
        "captioning.train.batch_size 0",
        {"captioning": {"train": {"batch_size": 0}}},
        "params.yaml: captioning.train.batch_size must be an integer between 1 and 65536, not 0",
    ),
    (
        "captioning.train.patience 0",
        {"captioning": {"train": {"patience": 0}}},
        "params.yaml: captioning.train.patience must be a number of epochs between 1 and 10000, not 0",
    ),
    (
        "captioning.train.lr_decay 0",
        {"captioning": {"train": {"lr_decay": 0}}},
        "params.yaml: captioning.train.lr_decay must be a number in (0, 1] (1: a constant learning rate), not 0",
    ),
    (
        "captioning.train.lr_decay 2",
        {"captioning": {"train": {"lr_decay": 2}}},
        "params.yaml: captioning.train.lr_decay must be a number in (0, 1] (1: a constant learning rate), not 2",
    ),
    (
        "captioning.train.lr_patience 0",
        {"captioning": {"train": {"lr_patience": 0}}},
        "params.yaml: captioning.train.lr_patience must be a number of epochs between 1 and 10000, not 0",
    ),
    (
        "captioning.train.grad_clip 0",
        {"captioning": {"train": {"grad_clip": 0}}},
        "params.yaml: captioning.train.grad_clip must be a number in (0, 1e6], not 0",
    ),
    (
        "captioning.train.alpha_c negative",
        {"captioning": {"train": {"alpha_c": -1}}},
        "params.yaml: captioning.train.alpha_c must be a number in [0, 1000], not -1",
    ),
    ("kernels fast", {"kernels": "fast"}, "params.yaml: kernels must be portable or native, not 'fast'"),
    (
        "captioning.train.precision fp16",
        {"captioning": {"train": {"precision": "fp16"}}},
        "params.yaml: captioning.train.precision must be float32 or bfloat16, not 'fp16'",
    ),
    (
        "captioning.train.device tpu",
        {"captioning": {"train": {"device": "tpu"}}},
        "params.yaml: captioning.train.device must be auto, cpu or cuda, not 'tpu'",
    ),
    (
        "captioning.decoder.embed_dim 0",
        {"captioning": {"decoder": {"embed_dim": 0}}},
        "params.yaml: captioning.decoder.embed_dim must be an integer between 1 and 16384, not 0",
    ),
    (
        "captioning.decoder.dropout 1",
        {"captioning": {"decoder": {"dropout": 1}}},
        "params.yaml: captioning.decoder.dropout must be a number in [0, 1), not 1",
    ),
    (
        "captioning.decode.beam_size 0",
        {"captioning": {"decode": {"beam_size": 0}}},
        "params.yaml: captioning.decode.beam_size must be an integer between 1 and 100, not 0",
    ),
    (
        "captioning.decode.length_penalty negative",
        {"captioning": {"decode": {"length_penalty": -0.5}}},
        "params.yaml: captioning.decode.length_penalty must be a number in [0, 10] (0: no length normalisation), not -0.5",
    ),
    (
        "captioning.decode.max_length negative",
        {"captioning": {"decode": {"max_length": -1}}},
        "params.yaml: captioning.decode.max_length must be a number of words between 0 and 1000 (0: the vocabulary's longest caption), not -1",
    ),
    (
        "captioning.vocab.min_freq 0",
        {"captioning": {"vocab": {"min_freq": 0}}},
        "params.yaml: captioning.vocab.min_freq must be an integer between 1 and 1000000, not 0",
    ),
    (
        "captioning.encoder.image_size 100",
        {"captioning": {"encoder": {"image_size": 100}}},
        "params.yaml: captioning.encoder.image_size must be a multiple of 32",
    ),
    (
        "captioning.encoder.dtype int8",
        {"captioning": {"encoder": {"dtype": "int8"}}},
        "params.yaml: captioning.encoder.dtype must be float16 or float32, not 'int8'",
    ),
    (
        "captioning.encoder.precision fp16",
        {"captioning": {"encoder": {"precision": "fp16"}}},
        "params.yaml: captioning.encoder.precision must be float32 or bfloat16, not 'fp16'",
    ),
    (
        "captioning.encoder.device tpu",
        {"captioning": {"encoder": {"device": "tpu"}}},
        "params.yaml: captioning.encoder.device must be auto, cpu or cuda, not 'tpu'",
    ),
    (
        "captioning.encoder.batch_size 0",
        {"captioning": {"encoder": {"batch_size": 0}}},
        "params.yaml: captioning.encoder.batch_size must be an integer between 1 and 4096, not 0",
    ),
    (
        "captioning.encoder.weights outside",
        {"captioning": {"encoder": {"weights": "/mnt/weights/resnet.pth"}}},
        "params.yaml: captioning.encoder.weights must be inside data/weights/",
    ),
    (
        "captioning.encoder.workers gone",
        {"captioning": {"encoder": {"workers": 2}}},
        "params.yaml: captioning.encoder.workers is not a parameter of this pipeline",
    ),
    (
        "captioning.images a string",
        {"captioning": {"images": "4.tif"}},
        "params.yaml: captioning.images must be a list of image file names (.tif, .jpg, …), not '4.tif'",
    ),
    (
        "captioning.images a number in it",
        {"captioning": {"images": ["4.tif", 3]}},
        "params.yaml: captioning.images[1] must be an image file name (.tif, .jpg, …), not 3",
    ),
    (
        "captioning.images not images",
        {"captioning": {"images": ["4.txt"]}},
        "params.yaml: captioning.images must name image files (.tif, .jpg, .png, no folders), not '4.txt'",
    ),
    (
        "captioning.images twice",
        {"captioning": {"images": ["1.tif", "1.tif"]}},
        "params.yaml: captioning.images names an image twice",
    ),
    (
        "captioning.synthetic.images 5",
        {"captioning": {"synthetic": {"images": 5}}},
        "params.yaml: captioning.synthetic.images must be a number of images between 9 and 1000000 (one of each of the nine scene kinds at least), not 5",
    ),
    (
        "captioning.synthetic.hard text",
        {"captioning": {"synthetic": {"hard": "yes"}}},
        "params.yaml: captioning.synthetic.hard must be true or false, not 'yes'",
    ),
    (
        "captioning.data outside",
        {"captioning": {"data": "/mnt/sets/ucm"}},
        "params.yaml: captioning.data must be inside data/raw_dataset/",
    ),
    (
        "captioning.unzip.max_image_mb 0",
        {"captioning": {"unzip": {"max_image_mb": 0}}},
        "params.yaml: captioning.unzip.max_image_mb must be a number of megabytes in (0, 1e6], not 0",
    ),
    ("captioning deleted", delete("captioning"), "params.yaml: captioning is missing"),
    # every number bounded, so that none overflows later (issue 21: 1e9 raised to a caption's length)
    (
        "length_penalty 1e9",
        {"captioning": {"decode": {"length_penalty": 1e9}}},
        "params.yaml: captioning.decode.length_penalty must be a number in [0, 10] (0: no length normalisation), not 1000000000.0",
    ),
    (
        "beam_size 1000",
        {"captioning": {"decode": {"beam_size": 1000}}},
        "params.yaml: captioning.decode.beam_size must be an integer between 1 and 100, not 1000",
    ),
    (
        "decode.max_length 1e6",
        {"captioning": {"decode": {"max_length": 10**6}}},
        "params.yaml: captioning.decode.max_length must be a number of words between 0 and 1000 (0: the vocabulary's longest caption), not 1000000",
    ),
    (
        "vocab.max_length 5000",
        {"captioning": {"vocab": {"max_length": 5000}}},
        "params.yaml: captioning.vocab.max_length must be a number of words between 0 and 1000 (0: the longest training caption that is not an outlier), not 5000",
    ),
    (
        "cnn.epochs 1e9",
        {"cnn": {"epochs": 10**9}},
        "params.yaml: cnn.epochs must be an integer between 1 and 1000, not 1000000000",
    ),
    (
        "seed 2**64",
        {"captioning": {"seeds": [0, 2**64]}},
        "params.yaml: captioning.seeds[1] must be an integer between 0 and 4294967295, not 18446744073709551616",
    ),
    (
        "seeds none",
        {"captioning": {"seeds": []}},
        "params.yaml: captioning.seeds must be a list of seeds, one at least, each once (e.g. [0, 1, 2]), not []",
    ),
    (
        "seeds twice",
        {"captioning": {"seeds": [0, 1, 0]}},
        "params.yaml: captioning.seeds must name each seed once, not [0, 1, 0]",
    ),
    (
        "seeds a number",
        {"captioning": {"seeds": 3}},
        "params.yaml: captioning.seeds must be a list of seeds, one at least, each once (e.g. [0, 1, 2]), not 3",
    ),
    ("lr 1e9", {"lr": 1e9}, "params.yaml: lr 1000000000.0 must be a number in (0, 10]"),
    (
        "imagery.bands two",
        {"captioning": {"imagery": {"bands": [3, 2]}}},
        "params.yaml: captioning.imagery.bands must name three bands (red, green, blue), one (grey) or none ([]), not [3, 2]",
    ),
    (
        "imagery.bands negative",
        {"captioning": {"imagery": {"bands": [3, -1, 1]}}},
        "params.yaml: captioning.imagery.bands[1] must be a 0-based band index, not -1",
    ),
    (
        "imagery.stretch reversed",
        {"captioning": {"imagery": {"stretch": [98, 2]}}},
        "params.yaml: captioning.imagery.stretch must be two percentiles [low, high] with low below high, not [98.0, 2.0]",
    ),
    (
        "imagery.stretch one value",
        {"captioning": {"imagery": {"stretch": [2]}}},
        "params.yaml: captioning.imagery.stretch must be two percentiles [low, high], low below high, not [2]",
    ),
    (
        "max_megapixels 0",
        {"captioning": {"unzip": {"max_megapixels": 0}}},
        "params.yaml: captioning.unzip.max_megapixels must be a number of megapixels in (0, 10000], not 0",
    ),
]

COMMITTED = (ROOT / "params.yaml").read_text()
RAW_PARAMS = [  # (case, params.yaml's text, the line)
    ("params.yaml not YAML", "lr: [0.1\n", "params.yaml: cannot read parameters"),
    ("params.yaml a list", "- 1\n", "params.yaml: expected a mapping of parameters, not list"),
    # read as DVC reads it (YAML 1.2, ruamel): a key given twice is refused, as `dvc repro` refuses it
    (
        "a key twice",
        COMMITTED + "lr: 0.5\n",
        f"params.yaml: line {COMMITTED.count(chr(10)) + 1}: 'lr' is given twice in one mapping (DVC refuses such a file; keep one)",
    ),
    (
        "a nested key twice",
        COMMITTED.replace("    max_megapixels:", "    max_image_mb: 5\n    max_megapixels:"),
        "'max_image_mb' is given twice in one mapping",
    ),
    # YAML 1.1 read `yes` as true; DVC (YAML 1.2) records the string 'yes'
    (
        "hard: yes",
        COMMITTED.replace("hard: false", "hard: yes"),
        "params.yaml: captioning.synthetic.hard must be true or false, not 'yes'",
    ),
    # YAML 1.1 read 1.0e+9 as a number and 1e9 as a string; both are numbers to DVC, and out of range
    (
        "length_penalty: 1.0e+9",
        re.sub(r"length_penalty: [0-9.]+", "length_penalty: 1.0e+9", COMMITTED),
        "params.yaml: captioning.decode.length_penalty must be a number in [0, 10] (0: no length normalisation), not 1000000000.0",
    ),
    (
        "length_penalty: 1e9",
        re.sub(r"length_penalty: [0-9.]+", "length_penalty: 1e9", COMMITTED),
        "params.yaml: captioning.decode.length_penalty must be a number in [0, 10] (0: no length normalisation), not 1000000000.0",
    ),
]


CASES = [
    # --- params.yaml: every stage checks it first (each key's message: SCHEMA_CASES, in-process) -------
    Case(
        "cnn.epochs 0",
        "train_cnn",
        "params.yaml: cnn.epochs must be an integer between 1 and 1000, not 0",
        {"cnn": {"epochs": 0}},
    ),
    Case(
        "cnn.dev_size 0",
        "download_fashion_mnist",
        "params.yaml: cnn.dev_size must be a number of images between 1 and 59999, not 0",
        {"cnn": {"dev_size": 0}},
    ),
    Case(
        "captioning.train.lr text",
        "train_captioner attention 0",
        "params.yaml: captioning.train.lr must be a number in (0, 10], not 'abc'",
        {"captioning": {"train": {"lr": "abc"}}},
    ),
    Case(
        "captioning.train.lr_decay 0",
        "train_captioner vanilla 0",
        "params.yaml: captioning.train.lr_decay must be a number in (0, 1] (1: a constant learning rate), not 0",
        {"captioning": {"train": {"lr_decay": 0}}},
    ),
    Case(
        "captioning.train.device tpu",
        "evaluate vanilla 0",
        "params.yaml: captioning.train.device must be auto, cpu or cuda, not 'tpu'",
        {"captioning": {"train": {"device": "tpu"}}},
    ),
    Case(
        "captioning.decode.beam_size 0",
        "evaluate attention 0",
        "params.yaml: captioning.decode.beam_size must be an integer between 1 and 100, not 0",
        {"captioning": {"decode": {"beam_size": 0}}},
    ),
    Case(
        "captioning.decode.max_length negative",
        "caption_images",
        "params.yaml: captioning.decode.max_length must be a number of words between 0 and 1000 (0: the vocabulary's longest caption), not -1",
        {"captioning": {"decode": {"max_length": -1}}},
    ),
    Case(
        "captioning.vocab.min_freq 0",
        "build_vocab",
        "params.yaml: captioning.vocab.min_freq must be an integer between 1 and 1000000, not 0",
        {"captioning": {"vocab": {"min_freq": 0}}},
    ),
    Case(
        "captioning.encoder.image_size 100",
        "extract_features",
        "params.yaml: captioning.encoder.image_size must be a multiple of 32",
        {"captioning": {"encoder": {"image_size": 100}}},
    ),
    Case(
        "captioning.images twice",
        "caption_images",
        "params.yaml: captioning.images names an image twice",
        {"captioning": {"images": ["1.tif", "1.tif"]}},
    ),
    Case(
        "captioning.synthetic.hard text",
        "unzip_images",
        "params.yaml: captioning.synthetic.hard must be true or false, not 'yes'",
        {"captioning": {"synthetic": {"hard": "yes"}}},
    ),
    Case("captioning deleted", "report", "params.yaml: captioning is missing", edit=delete("captioning")),
    Case(
        "params.yaml not YAML",
        "theory",
        "params.yaml: cannot read parameters",
        setup=lambda r: (r / "params.yaml").write_text("lr: [0.1\n"),
    ),
    Case(
        "params.yaml a list",
        "theory",
        "params.yaml: expected a mapping of parameters, not list",
        setup=lambda r: (r / "params.yaml").write_text("- 1\n"),
    ),
    Case(
        "a key twice, the stage run directly",
        "train_cnn",
        "'lr' is given twice in one mapping",
        setup=lambda r: (r / "params.yaml").write_text((r / "params.yaml").read_text() + "lr: 0.5\n"),
    ),
    # --- a device that is not there ---------------------------------------------------------------
    pytest.param(
        Case(
            "cnn.device cuda without CUDA",
            "train_cnn",
            "params.yaml: cnn.device: device is 'cuda' but torch sees no CUDA device",
            {"cnn": {"device": "cuda"}},
        ),
        marks=NO_CUDA,
    ),
    pytest.param(
        Case(
            "encoder cuda without CUDA",
            "extract_features",
            "params.yaml: captioning.encoder.device: device is 'cuda' but torch sees no CUDA device",
            {"captioning": {"encoder": {"device": "cuda"}}},
        ),
        marks=NO_CUDA,
    ),
    pytest.param(
        Case(
            "decoders cuda without CUDA",
            "train_captioner attention 0",
            "params.yaml: captioning.train.device: device is 'cuda' but torch sees no CUDA device",
            {"captioning": {"train": {"device": "cuda"}}},
        ),
        marks=NO_CUDA,
    ),
    pytest.param(
        Case(
            "decoding cuda without CUDA",
            "caption_images",
            "params.yaml: captioning.train.device: device is 'cuda' but torch sees no CUDA device",
            {"captioning": {"train": {"device": "cuda"}}},
        ),
        marks=NO_CUDA,
    ),
    # --- the caption set: folder, zip, captions file ----------------------------------------------
    Case(
        "captioning.data folder missing",
        "unzip_images",
        "params.yaml: captioning.data: data/raw_dataset/ucm is not a folder",
        {"captioning": {"data": "data/raw_dataset/ucm"}},
    ),
    Case(
        "images not in the synthetic set",
        "unzip_images",
        "params.yaml: captioning.images names 540.tif, not in the synthetic set of captioning.synthetic.images = 27",
        {"captioning": {"synthetic": {"images": 27}, "images": ["2.tif", "540.tif"]}},
    ),
    Case(
        "default images, small synthetic set",
        "unzip_images",
        "params.yaml: captioning.images names 219.tif, 540.tif, 357.tif, not in the synthetic set",
        {"captioning": {"synthetic": {"images": 100}}},
    ),
    Case(
        "half a set",
        "unzip_images",
        "data/raw_dataset: expected one images .zip and one captions .json, found: images.zip",
        setup=lambda r: (r / "data/raw_dataset/images.zip").write_bytes(b"PK"),
    ),
    Case("captions not JSON", "unzip_images", "dataset.json: not valid JSON", setup=user_set(json_text="{")),
    Case(
        "captions without images",
        "unzip_images",
        "dataset.json: no 'images' list",
        setup=user_set(json_text='{"imgs": []}'),
    ),
    Case(
        "sentence a plain string",
        "unzip_images",
        "dataset.json: images[0] (1.tif): sentences[0] must be an object with 'tokens' (a list of words) or 'raw' text, not 'a plain string'",
        setup=user_set(sentences=["a plain string"]),
    ),
    Case(
        "tokens a number",
        "unzip_images",
        "dataset.json: images[0] (1.tif): sentences[0].tokens must be a list of words, not 5",
        setup=user_set(sentences=[{"tokens": 5}]),
    ),
    Case(
        "tokens a string",
        "unzip_images",
        "dataset.json: images[0] (1.tif): sentences[0].tokens must be a list of words, not 'a river'",
        setup=user_set(sentences=[{"tokens": "a river"}]),
    ),
    Case(
        "a token a number",
        "unzip_images",
        "dataset.json: images[0] (1.tif): sentences[0].tokens[1] must be a word (a string), not 7",
        setup=user_set(sentences=[{"tokens": ["a", 7]}]),
    ),
    Case(
        "no sentences",
        "unzip_images",
        "dataset.json: images[0] (1.tif): sentences must be a non-empty list of sentences, not []",
        setup=user_set(sentences=[]),
    ),
    Case(
        "sentences without words",
        "unzip_images",
        "dataset.json: images[0] (1.tif) has no sentence with words",
        setup=user_set(sentences=[{"tokens": [], "raw": " . "}]),
    ),
    Case(
        "split unknown",
        "unzip_images",
        "dataset.json: images[1] (2.tif): split must be train, val or test, not 'dev'",
        setup=user_set(
            images=[
                {"filename": "1.tif", "split": "train", "sentences": [{"raw": "a river"}]},
                {"filename": "2.tif", "split": "dev", "sentences": [{"raw": "a river"}]},
            ]
        ),
    ),
    Case(
        "image without a name",
        "unzip_images",
        "dataset.json: images[0]: filename is missing",
        setup=user_set(images=[{"split": "train", "sentences": [{"raw": "a"}]}]),
    ),
    Case(
        "image listed twice",
        "unzip_images",
        "dataset.json: images[1] (1.tif) is listed twice",
        setup=user_set(
            images=[
                {"filename": "1.tif", "split": "train", "sentences": [{"raw": "a"}]},
                {"filename": "1.tif", "split": "test", "sentences": [{"raw": "a"}]},
            ]
        ),
    ),
    Case(
        "no test split",
        "unzip_images",
        "dataset.json: no image in the test split",
        setup=user_set(images=[{"filename": "1.tif", "split": "train", "sentences": [{"raw": "a"}]}]),
    ),
    Case(
        "image to caption not in the set",
        "unzip_images",
        "params.yaml: captioning.images names 9.tif, not in dataset.json",
        {"captioning": {"images": ["9.tif"]}},
        setup=user_set(),
    ),
    Case(
        "zip not a zip",
        "unzip_images",
        "images.zip: not a readable zip file",
        {"captioning": {"images": ["3.tif"]}},
        setup=user_set(zip_bytes=b"not a zip"),
    ),
    Case(
        "zip entry escapes",
        "unzip_images",
        "images.zip: entry '../1.tif' would escape the target folder",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("../1.tif", tif())),
    ),
    Case(
        "zip entry absolute",
        "unzip_images",
        "images.zip: entry '/1.tif' has an absolute path",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("/1.tif", tif())),
    ),
    Case(
        "zip entry a symlink",
        "unzip_images",
        "images.zip: entry '1.tif' is a symbolic link",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with((symlink_entry(), b"/etc/passwd")),
    ),
    Case(
        "zip two entries one name",
        "unzip_images",
        "images.zip: two entries are named 1.tif",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("a/1.tif", tif()), ("b/1.tif", tif())),
    ),
    Case(
        "zip lacks a captioned image",
        "unzip_images",
        "images.zip: captioned image(s) missing from the zip: 3.tif",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("1.tif", tif()), ("2.tif", tif())),
    ),
    Case(
        "zip image not decodable",
        "unzip_images",
        "images.zip: 2.tif: not a decodable image (UnidentifiedImageError",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("1.tif", tif()), ("2.tif", b"not an image"), ("3.tif", tif())),
    ),
    Case(
        "zip image of 13 bands, none chosen",
        "unzip_images",
        "images.zip: 2.tif: 13 bands, one per page: which are red, green and blue is not known; set "
        "captioning.imagery.bands in params.yaml to its 0-based red, green and blue bands (e.g. [3, 2, 1] for "
        "Sentinel-2's B4, B3, B2), or to one band for grey",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("1.tif", tif()), ("2.tif", stack(13)), ("3.tif", tif())),
    ),
    Case(
        "zip image's nodata tag not a number",
        "unzip_images",
        "images.zip: 2.tif: GDAL_NODATA tag 'n/a' is not a number",
        {"captioning": {"images": ["3.tif"]}},
        setup=zip_with(("1.tif", tif()), ("2.tif", stack(1, nodata="n/a")), ("3.tif", tif())),
    ),
    Case(
        "zip image lacks a band chosen",
        "unzip_images",
        "images.zip: 1.tif: 3 bands (RGB), so there is no band 3 (0-based); set captioning.imagery.bands",
        {"captioning": {"images": ["3.tif"], "imagery": {"bands": [3, 2, 1]}}},
        setup=zip_with(("1.tif", tif()), ("2.tif", stack(13)), ("3.tif", tif())),
    ),
    Case(
        "zip image over the size cap",
        "unzip_images",
        "images.zip: 1.tif would unpack to 2.0 MB, more than the 1.0 MB allowed per image",
        {"captioning": {"images": ["3.tif"], "unzip": {"max_image_mb": 1}}},
        setup=user_set(zip_bytes=bomb_zip()),
    ),
    Case(
        "zip over the total cap",
        "unzip_images",
        "images.zip: the captioned images would unpack to 2.0 MB, more than the 0.5 MB allowed in all",
        {"captioning": {"images": ["3.tif"], "unzip": {"max_total_mb": 0.5}}},
        setup=user_set(zip_bytes=bomb_zip()),
    ),
    Case(
        "queued run, untracked set",
        "unzip_images",
        "data/raw_dataset: the workspace this experiment was queued from holds a caption set",
        setup=lambda r: None,
    ),
    # --- Fashion-MNIST files -----------------------------------------------------------------------
    Case(
        "fashion checksum",
        "download_fashion_mnist",
        "train-images-idx3-ubyte.gz: SHA-256 mismatch",
        {"fashion_mnist": {"source": "local"}},
        setup=fashion_files("checksum"),
    ),
    Case(
        "fashion truncated",
        "download_fashion_mnist",
        "train-images-idx3-ubyte.gz: truncated gzip file",
        {"fashion_mnist": {"source": "local"}},
        setup=fashion_files("truncated"),
    ),
    Case(
        "fashion not gzip",
        "download_fashion_mnist",
        "train-images-idx3-ubyte.gz: not a valid gzip file",
        {"fashion_mnist": {"source": "local"}},
        setup=fashion_files("not-gzip"),
    ),
    Case(
        "fashion magic",
        "download_fashion_mnist",
        "train-images-idx3-ubyte.gz: wrong IDX magic number",
        {"fashion_mnist": {"source": "local"}},
        setup=fashion_files("magic"),
    ),
    Case(
        "fashion missing",
        "download_fashion_mnist",
        "train-images-idx3-ubyte.gz: missing; install Debian's package",
        {"fashion_mnist": {"source": "local"}},
        setup=fashion_files("missing"),
    ),
    Case(
        "fashion local_dir missing",
        "download_fashion_mnist",
        "data/raw_fashion_mnist/mine/train-images-idx3-ubyte.gz: missing",
        {"fashion_mnist": {"source": "local", "local_dir": "data/raw_fashion_mnist/mine"}},
    ),
    # --- an earlier stage's output missing or broken -----------------------------------------------
    Case(
        "no Fashion-MNIST arrays",
        "train_cnn",
        "data/fashion_mnist.npz: not found; run the download_fashion_mnist stage first",
    ),
    Case(
        "Fashion-MNIST arrays broken",
        "train_cnn",
        "data/fashion_mnist.npz: not a readable array file",
        setup=file_at("data/fashion_mnist.npz", b"garbage"),
    ),
    Case("no CNN to dump", "dump_kernels", "models/cnn/best.pt: not found; run the train_cnn stage first"),
    Case("no CNN for Q2.1", "equivariance", "models/cnn/best.pt: not found; run the train_cnn stage first"),
    Case(
        "CNN checkpoint of another net",
        "equivariance",
        "models/cnn/best.pt: not the homework's ConvNet",
        setup=file_at("models/cnn/best.pt", lambda: {"state_dict": {"conv.weight": torch.zeros(3)}}),
    ),
    Case(
        "CNN checkpoint garbage",
        "dump_kernels",
        "models/cnn/best.pt: not a readable checkpoint",
        setup=file_at("models/cnn/best.pt", b"garbage"),
    ),
    Case(
        "CNN checkpoint runs code",
        "dump_kernels",
        "models/cnn/best.pt: not a readable checkpoint (it holds Python objects",
        setup=file_at("models/cnn/best.pt", lambda: {"state_dict": RunsCode()}),
    ),
    Case("no captions for the features", "extract_features", "data/captions.json: cannot read"),
    Case(
        "encoder weights missing",
        "encoder_weights",
        "data/weights/mine.pth: encoder weights file not found",
        {"captioning": {"encoder": {"weights": "data/weights/mine.pth"}}},
    ),
    Case(
        "encoder weights garbage",
        "encoder_weights",
        "data/weights/mine.pth: not a ResNet-18 state dict",
        {"captioning": {"encoder": {"weights": "data/weights/mine.pth"}}},
        setup=file_at("data/weights/mine.pth", b"garbage"),
    ),
    Case(
        "encoder weights run code",
        "encoder_weights",
        "data/weights/mine.pth: not a ResNet-18 state dict (it holds Python objects",
        {"captioning": {"encoder": {"weights": "data/weights/mine.pth"}}},
        setup=file_at("data/weights/mine.pth", lambda: {"conv1.weight": RunsCode()}),
    ),
    Case(
        "encoder weights of another net",
        "encoder_weights",
        "data/weights/mine.pth: not a ResNet-18 state dict",
        {"captioning": {"encoder": {"weights": "data/weights/mine.pth"}}},
        setup=file_at("data/weights/mine.pth", lambda: {"conv.weight": torch.zeros(3, 3)}),
    ),
    Case(
        "imagenet weights not torchvision's",
        "encoder_weights",
        "data/weights/resnet18-f37072fd.pth: not torchvision's ImageNet weights for ResNet-18 (its SHA-256 does "
        "not start with f37072fd: cut short, or another file); delete it and download "
        "https://download.pytorch.org/models/resnet18-f37072fd.pth again",
        {"captioning": {"encoder": {"weights": "imagenet"}}},
        setup=file_at("data/weights/resnet18-f37072fd.pth", lambda: {"conv1.weight": torch.zeros(3, 3)}),
    ),
    Case(
        "encoder weights not made",
        "extract_features",
        "models/encoder.pth: not found; run the encoder_weights stage first",
        setup=captions_in_data,
    ),
    Case("no captions for the vocabulary", "build_vocab", "data/captions.json: cannot read"),
    Case(
        "captions for the vocabulary broken",
        "build_vocab",
        "data/captions.json: not valid JSON",
        setup=file_at("data/captions.json", b"{"),
    ),
    Case("no features to train on", "train_captioner attention 0", "data/vocab/vocab.json: not found"),
    Case("no decoder named", "train_captioner", "usage: train_captioner.py vanilla|attention seed"),
    Case(
        "seed not a number",
        "train_captioner attention first",
        "usage: train_captioner.py vanilla|attention seed (argument seed: invalid int value: 'first')",
    ),
    Case("no decoder to evaluate", "evaluate attention 0", "data/vocab/vocab.json: not found"),
    Case("evaluate what", "evaluate", "usage: evaluate.py vanilla|attention seed"),
    Case(
        "no scores to compare",
        "compare_captioners",
        "metrics/test_scores/vanilla_seed0.json: not found",
        setup=lambda r: shutil.rmtree(r / "metrics/test_scores"),
    ),
    Case("no decoder to caption with", "caption_images", "data/vocab/vocab.json: not found"),
    Case(
        "report without metrics",
        "report",
        "metrics/captioning.json: cannot read",
        setup=lambda r: (r / "metrics/captioning.json").unlink(),
    ),
]


def ids(case):
    return case.values[0].id if hasattr(case, "values") else case.id


def snapshot(repo: Path) -> dict[str, str]:
    """Every file the pipeline writes (and its hidden work files), with a digest of its bytes."""
    files = {}
    for top in OUTPUTS:
        root = repo / top
        for path in [root] if root.is_file() else sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                files[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


# Run as separate processes, as DVC runs them: one stage of each kind of check (the rest run the
# same stage scripts in this process, where a process of their own would prove nothing more).
IN_A_PROCESS = {"captioning.train.lr text", "params.yaml not YAML", "CNN checkpoint runs code", "zip entry escapes"}


@dataclass
class Outcome:
    returncode: int
    stderr: str
    pid: int  # the process the stage ran in


def run_stage_here(repo: Path, script: str, args: list[str], extra_env: dict) -> Outcome:
    """``stages/<script>.py args`` of ``repo`` run in this process as ``python`` would run it: its
    stage layer imported afresh from ``repo`` (so ROOT is that copy), its stderr captured."""
    saved = sys.path[:], sys.argv[:], os.getcwd(), dict(os.environ)
    for name in ("_stage",):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(repo / "stages"))
    sys.argv = [str(repo / "stages" / f"{script}.py"), *args]
    os.chdir(repo)
    os.environ.update(extra_env)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(sys.argv[0], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.path[:], sys.argv[:] = saved[0], saved[1]
        os.chdir(saved[2])
        os.environ.clear()
        os.environ.update(saved[3])
        for name in ("_stage",):
            sys.modules.pop(name, None)
    return Outcome(code, err.getvalue(), os.getpid())


# What a stage needs of the repository to run by hand: its code, params and paths, the data folders'
# READMEs, DVC's folder; the stages that read the results also the committed results.
STAGE_NEEDS = ("stages", "src", "params.yaml", "paths.yaml", "dvc.yaml", "data", "models", ".dvc")
RESULTS = ("metrics", "plots", "dvc.lock")


def attempt(case: Case, folder: Path):
    """Put the case in place in a copy of what its stage needs of the repository, run the stage;
    (outcome, before, after)."""
    reads_results = case.stage.split()[0] in ("compare_captioners", "report")
    repo = copy_repo(folder / "repo", STAGE_NEEDS + (RESULTS if reads_results else ()))
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    merge(params, case.params)
    if case.edit:
        case.edit(params)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    extra_env = {}
    if case.id == "queued run, untracked set":  # the workspace holds a set; this copy, queued from it, does not
        workspace = copy_repo(folder / "workspace", STAGE_NEEDS)
        user_set()(workspace)
        extra_env = {"DVC_ROOT": str(workspace)}
    if case.setup:
        case.setup(repo)
    before = snapshot(repo)
    script, *args = case.stage.split()
    if case.id in IN_A_PROCESS:
        proc = subprocess.Popen(
            ["stages/python", f"stages/{script}.py", *args],
            cwd=repo,
            env={**env(), **extra_env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, err = proc.communicate(timeout=600)
        outcome = Outcome(proc.returncode, err, proc.pid)
    else:
        outcome = run_stage_here(repo, script, args, extra_env)
    return outcome, before, snapshot(repo)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case, each in a fresh copy of the repository."""
    cases = [cast(Case, c.values[0] if hasattr(c, "values") else c) for c in CASES]
    runnable = [c for c in cases if not (torch.cuda.is_available() and "without CUDA" in c.id)]
    root = tmp_path_factory.mktemp("bad_input")
    PWNED.unlink(missing_ok=True)
    return {c.id: attempt(c, root / f"case{k}") for k, c in enumerate(runnable)}


def test_some_cases_ran_as_processes_of_their_own(outcomes):
    """The cases of IN_A_PROCESS ran through stages/python as processes of their own (the others in
    this one, where their one line is read as well as from a process), and gave their line there too."""
    elsewhere = {case for case, (outcome, _, _) in outcomes.items() if outcome.pid != os.getpid()}
    assert elsewhere == IN_A_PROCESS


BASE = yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.mark.parametrize("case, change, expect", SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_a_bad_param_is_refused_in_one_line_naming_the_key(tmp_path, case, change, expect):
    params = copy.deepcopy(BASE)
    change(params) if callable(change) else merge(params, change)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(_params.ParamsError) as refused:
        _params.load(tmp_path / "params.yaml")
    assert expect in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


@pytest.mark.parametrize("case, text, expect", RAW_PARAMS, ids=[c[0] for c in RAW_PARAMS])
def test_a_params_file_that_is_not_a_mapping_is_refused_in_one_line(tmp_path, case, text, expect):
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(_params.ParamsError, match=re.escape(expect)):
        _params.load(tmp_path / "params.yaml")


def test_the_committed_params_pass_the_schema_unchanged():
    """The schema takes params.yaml as it is: every value as DVC reads it (a single rate as a list)."""
    read = _params.read_yaml(ROOT / "params.yaml")
    read["lr"] = read["lr"] if isinstance(read["lr"], list) else [read["lr"]]
    assert _params.load(ROOT / "params.yaml").model_dump() == read


def test_numbers_are_read_as_dvc_reads_them(tmp_path):
    """`lr: 1e-3` written by hand is the number DVC records (YAML 1.1 read it as a string)."""
    (tmp_path / "params.yaml").write_text(
        COMMITTED.replace("  - 0.001\n  - 0.01\n", "  - 1e-3\n  - 1E-2\n").replace("lr: 0.0004", "lr: 4e-4")
    )
    params = _params.load(tmp_path / "params.yaml")
    assert params.lr == [0.001, 0.01, 0.1] and params.captioning.train.lr == 0.0004


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_bad_input_is_one_line_exit_1_and_nothing_written(outcomes, case):
    proc, before, after = outcomes[case.id]
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    assert case.expect in lines[0], lines[0]
    assert "weights_only=False" not in proc.stderr and not PWNED.exists()
    assert "partial" not in lines[0] and "/tmp/" not in lines[0]  # no work or temporary path named
    assert after == before, sorted(set(after.items()) ^ set(before.items()))


@pytest.mark.parametrize(
    "params, stage, expect",
    [
        (
            {"captioning": {"images": "4.tif"}},
            None,
            "error: params.yaml: captioning.images must be a list of image file names (.tif, .jpg, …), not '4.tif'",
        ),
        (
            {"captioning": {"data": "data/raw_dataset/ucm"}},
            "unzip_images",
            "error: params.yaml: captioning.data: data/raw_dataset/ucm is not a folder",
        ),
    ],
    ids=["captioning.images a string", "captioning.data folder missing"],
)
def test_through_dvc_repro_the_first_stage_stops_with_the_line_and_nothing_runs(tmp_path, params, stage, expect):
    """The same checks seen through `dvc repro`: the first stage to run refuses, naming the key,
    before any stage has trained or written anything (no DVC-level `[Errno 2]`)."""
    from conftest import git_init, set_params

    repo = copy_repo(tmp_path / "repo")
    set_params(repo, **params)
    git_init(repo)
    before = snapshot(repo)
    proc = run(["dvc", "repro", *([stage] if stage else [])], repo, check=False)
    assert proc.returncode != 0
    assert expect in proc.stderr, proc.stderr[-3000:]
    assert "Errno" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout.count("Running stage") == 1, proc.stdout  # the first one, which refused
    # DVC removes a stage's outputs before it runs its command (its own behaviour, no hook runs
    # earlier): the refusing stage's committed outputs are gone (`git checkout` brings them back);
    # nothing else is written or changed.
    refused = {"unzip_images": ("metrics/dataset.json", "plots/captioning/samples.png")}.get(stage, ())
    after = snapshot(repo)
    assert after == {k: v for k, v in before.items() if k not in refused}, sorted(set(after) ^ set(before))


def test_only_the_projects_input_errors_become_one_line(capsys):
    """A bug (here a ValueError, as torch or the library would raise one) keeps its traceback and
    exits 2; bad input (InputError) is one line and exit 1."""
    import _stage

    from hw2.common.errors import InputError

    def fail_with(exc):
        @_stage.stage
        def main(params):
            raise exc

        with pytest.raises(SystemExit) as stopped:
            main()
        return stopped.value.code, capsys.readouterr().err

    code, err = fail_with(ValueError("a bug in the library"))
    assert code == 2 and "Traceback" in err and "ValueError: a bug in the library" in err
    code, err = fail_with(InputError(f"{_stage.ROOT}/data/x.json: not found"))
    assert code == 1 and err == "error: data/x.json: not found\n"
