"""Training a caption decoder on the synthetic set: it learns, is deterministic, resumes, stops early."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.features import build_encoder, extract_features
from hw2.captioning.synthetic import generate
from hw2.captioning.encoded import load_encoded, save_encoded
from hw2.captioning.train import CaptionTrainConfig, train_captioner, training_probe
from hw2.captioning.unzip import extract_images
from hw2.captioning.vocab import END, START, build_vocabulary


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    generate(root, n=45, seed=2)
    captions = load_caption_set(root / "dataset.json")
    names = [im.filename for im in captions.images]
    extract_images(root / "images.zip", root / "images", names)
    extract_features(root / "images", names, [im.split for im in captions.images], root / "f.h5",
                     build_encoder("none"), image_size=64, workers=0, progress=False)
    vocab, counts = build_vocabulary(captions, min_freq=1)
    save_encoded(root / "captions.npz", vocab, captions)
    with h5py.File(root / "f.h5") as h5:
        data = load_encoded(h5["features"][()], root / "captions.npz")
    return data, vocab


CFG = dict(embed_dim=16, decoder_dim=32, attention_dim=16, dropout=0.0, lr=3e-3, batch_size=16, seed=0)


@pytest.mark.parametrize("kind", ["vanilla", "attention"])
def test_training_lowers_the_loss_and_is_deterministic(small, kind):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    cfg = CaptionTrainConfig(model=kind, epochs=3, patience=5, **CFG)
    model, hist = train_captioner(*args, cfg, progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert len(hist.val_bleu4) == 3 and 1 <= hist.best_epoch <= 3
    _, again = train_captioner(*args, cfg, progress=False)
    assert again.train_loss == hist.train_loss and again.val_bleu4 == hist.val_bleu4
    step = training_probe(cfg, len(vocab), data)  # what precision auto times: it leaves the run unchanged
    step(True), step(False)
    _, after_probe = train_captioner(*args, cfg, progress=False)
    assert after_probe.train_loss == hist.train_loss and after_probe.val_bleu4 == hist.val_bleu4


def test_a_resumed_run_ends_like_an_uninterrupted_one(small, tmp_path):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    full_model, full = train_captioner(*args, CaptionTrainConfig(epochs=3, **CFG), progress=False)
    ckpt = tmp_path / "resume.pt"
    train_captioner(*args, CaptionTrainConfig(epochs=2, **CFG), resume_path=ckpt, progress=False)
    model, rest = train_captioner(*args, CaptionTrainConfig(epochs=3, **CFG), resume_path=ckpt, progress=False)
    assert rest.resumed_from == 2
    assert rest.train_loss == full.train_loss and rest.val_bleu4 == full.val_bleu4
    for (name, a), b in zip(full_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    # A checkpoint of a longer run (here 3 epochs) is not continued by a shorter one: it starts afresh
    # and ends as a 2-epoch run does.
    _, two = train_captioner(*args, CaptionTrainConfig(epochs=2, **CFG), progress=False)
    _, shorter = train_captioner(*args, CaptionTrainConfig(epochs=2, **CFG), resume_path=ckpt, progress=False)
    assert shorter.resumed_from == 0 and shorter.train_loss == two.train_loss and shorter.val_bleu4 == two.val_bleu4


def test_early_stopping_after_patience_epochs_without_a_better_bleu(small):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    # lr 0: nothing changes, so BLEU never improves after the first epoch
    _, hist = train_captioner(*args, CaptionTrainConfig(epochs=10, patience=2, **{**CFG, "lr": 0.0}), progress=False)
    assert hist.best_epoch == 1 and len(hist.val_bleu4) == 3
    assert np.allclose(hist.val_bleu4, hist.val_bleu4[0])
