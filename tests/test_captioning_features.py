"""ResNet-18 features to HDF5, the encoder weights options, and the vocabulary."""

from __future__ import annotations

import copy
import json

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.encoded import save_encoded
from hw2.captioning.features import build_encoder, extract_features
from hw2.captioning.synthetic import generate
from hw2.captioning.unzip import extract_images
from hw2.captioning.vocab import END, START, build_vocabulary, load_vocabulary, save_vocabulary
from hw2.common.errors import InputError


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    generate(root, n=18, seed=1, test_images=("2.tif",))
    captions = load_caption_set(root / "dataset.json")
    extract_images(root / "images.zip", root / "images", [im.filename for im in captions.images])
    return root, captions


def test_features_are_49_regions_of_512_streamed_to_hdf5(tiny_set, tmp_path):
    root, captions = tiny_set
    names = [im.filename for im in captions.images]
    out = tmp_path / "features.h5"
    stats = extract_features(
        root / "images",
        names,
        [im.split for im in captions.images],
        out,
        build_encoder("none"),
        image_size=224,
        batch_size=5,
        dtype="float16",
        progress=False,
    )
    assert stats["images"] == 18
    with h5py.File(out) as h5:
        assert h5["features"].shape == (18, 49, 512) and h5["features"].dtype == np.float16
        assert [n.decode() for n in h5["filenames"][()]] == names
        assert h5.attrs["encoder_weights"] == "random"
        first = h5["features"][0].astype(np.float32)
    # the stored rows are the encoder's 7×7 grid, region by region, for the first image
    net = build_encoder("none").net
    from hw2.captioning.features import image_transform

    x = image_transform(224)(Image.open(root / "images" / names[0]).convert("RGB")).unsqueeze(0)
    with torch.inference_mode():
        want = net(x)[0].flatten(1).t().numpy()
    assert np.allclose(first, want, atol=2e-2, rtol=1e-2)
    assert [p.name for p in tmp_path.iterdir()] == ["features.h5"]


def test_float32_and_other_image_sizes(tiny_set, tmp_path):
    root, captions = tiny_set
    names = [im.filename for im in captions.images][:3]
    extract_features(
        root / "images",
        names,
        ["train"] * 3,
        tmp_path / "f.h5",
        build_encoder("none"),
        image_size=64,
        batch_size=2,
        dtype="float32",
        progress=False,
    )
    with h5py.File(tmp_path / "f.h5") as h5:
        assert h5["features"].shape == (3, 4, 512) and h5["features"].dtype == np.float32


def test_encoder_weights_from_a_path(tmp_path):
    reference = build_encoder("none", seed=3)
    from torchvision.models import resnet18

    torch.manual_seed(3)
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18().state_dict(), path)
    loaded = build_encoder(str(path))
    assert loaded.weights == str(path)
    assert build_encoder(path, label="data/weights/resnet18.pth").weights == "data/weights/resnet18.pth"
    for a, b in zip(loaded.net.state_dict().values(), reference.net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_encoder_weights_path_that_does_not_exist(tmp_path):
    with pytest.raises(InputError, match=r"nope.pth: encoder weights file not found"):
        build_encoder(str(tmp_path / "nope.pth"))


def test_encoder_weights_file_with_the_wrong_tensors(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(InputError, match=r"other.pth: not a ResNet-18 state dict"):
        build_encoder(str(path))


def test_a_caption_far_longer_than_the_rest_does_not_set_the_length(tiny_set, tmp_path):
    """One 5,000-word caption (a paragraph pasted as a caption) once made every training batch
    5,000 words long; now it is cut to the longest usual caption, and listed."""
    from hw2.captioning.vocab import too_long

    captions = copy.deepcopy(tiny_set[1])  # the module's set stays as it is
    usual = max(len(c) for im in captions.split("train") for c in im.captions)
    outlier = captions.split("train")[3]
    outlier.captions[0] = ["field"] * 5000
    vocab, _ = build_vocabulary(captions, min_freq=1, max_length=0)
    assert vocab.max_length == usual
    assert too_long(captions, vocab.max_length) == [(outlier.filename, 5000)]
    save_encoded(tmp_path / "captions.npz", vocab, captions)
    with np.load(tmp_path / "captions.npz") as npz:
        assert npz["tokens"].shape[1] == usual + 2
    assert build_vocabulary(captions, min_freq=1, max_length=7)[0].max_length == 7  # the param, when given
    assert len(too_long(captions, 7)) > 1


def test_vocabulary_from_training_captions(tiny_set, tmp_path):
    _, captions = tiny_set
    vocab, counts = build_vocabulary(captions, min_freq=2, max_length=0)
    assert vocab.itos[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert all(counts[w] >= 2 for w in vocab.itos[4:])
    assert vocab.max_length == max(len(c) for im in captions.split("train") for c in im.captions)
    words = captions.split("train")[0].captions[0]
    ids = vocab.encode(words)
    assert ids[0] == vocab.stoi[START] and ids[-1] == vocab.stoi[END]
    assert vocab.decode(ids[1:]) == [w for w in words if w in vocab.stoi]  # <unk> and <end> are not words
    save_encoded(tmp_path / "captions.npz", vocab, captions)
    stats = save_vocabulary(tmp_path / "vocab.json", vocab, captions, counts, 2)
    with np.load(tmp_path / "captions.npz") as npz:
        assert npz["tokens"].shape == (18 * 5, vocab.max_length + 2)
        assert npz["lengths"].max() <= vocab.max_length + 2 and set(npz["split"]) <= {0, 1, 2}
        assert npz["image"][5] == 1  # five captions per image, in the captions file's order
    again, meta = load_vocabulary(tmp_path / "vocab.json")
    assert again.itos == vocab.itos and meta["images"][0] == "1.tif" and stats["captions"] == 90
    assert json.loads((tmp_path / "vocab.json").read_text())["min_freq"] == 2


def test_bfloat16_features_stay_within_2_percent_of_float32(tiny_set, tmp_path):
    root, captions = tiny_set
    names = [im.filename for im in captions.images][:4]
    for precision in ("float32", "bfloat16"):
        extract_features(
            root / "images",
            names,
            ["train"] * 4,
            tmp_path / f"{precision}.h5",
            build_encoder("none"),
            image_size=224,
            batch_size=4,
            dtype="float32",
            precision=precision,
            progress=False,
        )
    with h5py.File(tmp_path / "float32.h5") as a, h5py.File(tmp_path / "bfloat16.h5") as b:
        assert b.attrs["precision"] == "bfloat16"
        fa, fb = a["features"][()], b["features"][()]
    assert np.linalg.norm(fa - fb) / np.linalg.norm(fa) < 0.02
