"""The Fashion-MNIST reader, its checks, the split, and the download stage's bad-input errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from conftest import needs_fmnist

from hw2.common.errors import InputError
from hw2.fashion.data import load_fashion_mnist, parse_idx, read_verified, save_splits, split_train_dev


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    return (
        struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.astype(np.uint8).tobytes()
    )


def test_parse_idx_reads_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 9], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(images), "x"), images)
    assert np.array_equal(parse_idx(idx_bytes(labels), "y"), labels)


def test_wrong_magic_number_is_refused_with_the_file_name(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 2, 2), np.uint8)))
    raw[2] = 0x0D  # float data type instead of unsigned byte
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(InputError, match=r"train-images-idx3-ubyte\.gz: wrong IDX magic number 0x00000d03"):
        read_verified(path, "train-images-idx3-ubyte")


def test_size_that_disagrees_with_the_header_is_refused():
    raw = idx_bytes(np.zeros((2, 2, 2), np.uint8))[:-1]
    with pytest.raises(InputError, match="header says"):
        parse_idx(raw, "f")


def test_truncated_gzip_is_refused(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:30])
    with pytest.raises(InputError, match=r"t10k-labels-idx1-ubyte\.gz: truncated gzip file"):
        read_verified(path, "t10k-labels-idx1-ubyte")


def test_non_gzip_file_is_refused(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(InputError, match=r"t10k-labels-idx1-ubyte\.gz: not a valid gzip file"):
        read_verified(path, "t10k-labels-idx1-ubyte")


def test_checksum_mismatch_is_refused(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10000, np.uint8))))
    with pytest.raises(InputError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 mismatch"):
        read_verified(path, "t10k-labels-idx1-ubyte")


def test_missing_files_without_a_source_say_how_to_get_them(tmp_path):
    with pytest.raises(InputError, match=r"missing; install Debian's package \(apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("local", tmp_path / "empty")


def test_auto_without_files_or_network_says_how_to_get_them(tmp_path):
    # A URL that cannot answer stands for a machine without internet.
    with pytest.raises(InputError, match="download failed.*apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("auto", tmp_path / "empty", url="http://127.0.0.1:9/", system_dir=tmp_path / "none")


def test_split_is_fixed_disjoint_and_sized():
    train, dev = split_train_dev(60000, 10000, seed=42)
    assert (len(train), len(dev)) == (50000, 10000)
    assert not set(train) & set(dev)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(dev) > 0)
    again, _ = split_train_dev(60000, 10000, seed=42)
    other, _ = split_train_dev(60000, 10000, seed=43)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


@needs_fmnist
def test_real_files_verify_and_split(tmp_path):
    raw = load_fashion_mnist("system", tmp_path / "none")
    assert raw.x_train.shape == (60000, 28, 28) and raw.x_test.shape == (10000, 28, 28)
    out = tmp_path / "f.npz"
    assert save_splits(out, raw, 10000, 42) == {"train": 50000, "val": 10000, "test": 10000}
    with np.load(out) as npz:
        assert npz["x_train"].dtype == np.uint8 and npz["y_train"].dtype == np.int64
        assert sorted(np.unique(npz["y_val"])) == list(range(10))
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]  # no temporary file left
