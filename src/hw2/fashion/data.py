"""Fashion-MNIST: find the four IDX files, verify them, split, and store one array file.

The IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header with a magic number
(0x00000801 for unsigned-byte vectors, 0x00000803 for unsigned-byte 3-D arrays) and the
dimension sizes, then the bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..common.atomic import atomic_path
from ..common.errors import InputError

# SHA-256 of the decompressed IDX bytes of the official files: the same whichever source gave them.
FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)  # label 0 … 9
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
OFFICIAL_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
HOW_TO_GET = (
    f"install Debian's package (apt-get install dataset-fashion-mnist, files in {SYSTEM_DIR}), "
    "or put the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist "
    "in {local}, or allow the download from " + OFFICIAL_URL
)


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode IDX bytes (already decompressed) into a uint8 array of the header's shape."""
    if len(raw) < 8:
        raise InputError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise InputError(
            f"{name}: wrong IDX magic number 0x{int.from_bytes(raw[:4], 'big'):08x} "
            "(expected 0x00000801 for labels or 0x00000803 for images)"
        )
    header = 4 + 4 * ndim
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    if len(raw) != header + int(np.prod(dims)):
        raise InputError(f"{name}: IDX header says {dims} but the file holds {len(raw) - header} bytes of data")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_verified(path: Path, stem: str) -> np.ndarray:
    """Read ``stem`` from ``path`` (gzip or plain IDX), check magic, size and SHA-256."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            kind = "truncated gzip file" if isinstance(exc, EOFError) else "not a valid gzip file"
            raise InputError(f"{path}: {kind} ({exc})") from None
    array = parse_idx(data, str(path))
    digest = hashlib.sha256(data).hexdigest()
    if digest != FILES[stem]:
        raise InputError(
            f"{path}: SHA-256 mismatch (got {digest[:16]}…, expected {FILES[stem][:16]}…): "
            "the file is corrupt or not the official Fashion-MNIST"
        )
    return array


def _find_in(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _download(url: str, stem: str, into: Path) -> Path:
    target = into / (stem + ".gz")
    try:
        with urllib.request.urlopen(url + stem + ".gz", timeout=60) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(f"{url}{stem}.gz: {exc}") from None
    return target


@dataclass
class RawFashionMNIST:
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) int64
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) int64
    source: str


def load_fashion_mnist(
    source: str, local_dir: Path, url: str = OFFICIAL_URL, system_dir: Path = SYSTEM_DIR
) -> RawFashionMNIST:
    """Load and verify the four files.

    ``source``: ``auto`` tries ``local_dir``, then ``system_dir``, then ``url``; ``local``,
    ``system`` or ``download`` use only that one. A file found but invalid is an error, never
    skipped silently: a corrupt copy must be fixed, not hidden behind another source.
    """
    if source not in ("auto", "local", "system", "download"):
        raise ValueError(f"source must be auto, local, system or download, not {source!r}")
    folders = {"local": [Path(local_dir)], "system": [Path(system_dir)], "download": []}.get(
        source, [Path(local_dir), Path(system_dir)]
    )
    arrays, used = {}, set()
    with tempfile.TemporaryDirectory() as tmp:
        for stem in FILES:
            path = next((p for p in (_find_in(f, stem) for f in folders) if p is not None), None)
            if path is None and source in ("auto", "download"):
                try:
                    path = _download(url, stem, Path(tmp))
                    used.add(url)
                except ConnectionError as exc:
                    raise InputError(
                        f"{stem}: not found locally and the download failed ({exc}); "
                        + HOW_TO_GET.format(local=local_dir)
                    ) from None
            elif path is None:
                raise InputError(f"{Path(folders[0]) / (stem + '.gz')}: missing; " + HOW_TO_GET.format(local=local_dir))
            else:
                used.add(str(path.parent))
            arrays[stem] = read_verified(path, stem)
    if len(arrays["train-images-idx3-ubyte"]) != len(arrays["train-labels-idx1-ubyte"]) or len(
        arrays["t10k-images-idx3-ubyte"]
    ) != len(arrays["t10k-labels-idx1-ubyte"]):
        raise InputError("Fashion-MNIST: image and label counts differ")
    return RawFashionMNIST(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"].astype(np.int64),
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
        source=", ".join(sorted(used)),
    )


def split_train_dev(n: int, dev_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a fixed random split of ``n`` training images into train and dev (validation).

    Both come back sorted, so the kept images stay in the official order.
    """
    if not 0 < dev_size < n:
        raise ValueError(f"the validation set must hold between 1 and {n - 1} images, not {dev_size}")
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    return np.sort(perm[dev_size:]), np.sort(perm[:dev_size])


SPLITS = ("train", "val", "test")


def save_splits(path: Path, raw: RawFashionMNIST, dev_size: int, seed: int) -> dict:
    """Write ``x_{train,val,test}`` (uint8, N×28×28) and ``y_*`` (int64) to one ``.npz``."""
    train_idx, dev_idx = split_train_dev(len(raw.x_train), dev_size, seed)
    arrays = {
        "x_train": raw.x_train[train_idx],
        "y_train": raw.y_train[train_idx],
        "x_val": raw.x_train[dev_idx],
        "y_val": raw.y_train[dev_idx],
        "x_test": raw.x_test,
        "y_test": raw.y_test,
    }
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    return {split: len(arrays[f"y_{split}"]) for split in SPLITS}


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 1, 28, 28) in [0, 1], as torchvision's ToTensor."""
    return images.unsqueeze(1).float().div_(255)


def load_splits(path: Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found")
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise InputError(f"{path}: not a readable array file ({exc})") from None
    missing = [f"{p}_{s}" for s in SPLITS for p in "xy" if f"{p}_{s}" not in arrays]
    if missing:
        raise InputError(f"{path}: missing arrays {missing}")
    return arrays
