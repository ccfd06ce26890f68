"""The features on disk: the HDF5 file :func:`hw2.captioning.features.extract_features` writes, read
back without the encoder (reading the numbers needs no torchvision)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..common.errors import InputError


def load_features(path: Path) -> tuple[np.ndarray, list[str]]:
    """The features (N, R, 512) and image filenames of a file written by :func:`extract_features`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found")
    with h5py.File(path, "r") as h5:
        names = [n.decode() if isinstance(n, bytes) else n for n in h5["filenames"][()]]
        return h5["features"][()], names
