"""Training a caption decoder on the synthetic set: it learns, is deterministic, resumes, cuts its
learning rate on a plateau, stops early."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from conftest import caption_config as config

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.encoded import load_encoded, save_encoded
from hw2.captioning.features import build_encoder, extract_features
from hw2.captioning.history import CaptionHistory
from hw2.captioning.synthetic import generate
from hw2.captioning.train import train_captioner
from hw2.captioning.unzip import extract_images
from hw2.captioning.vocab import END, START, build_vocabulary


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    generate(root, n=45, seed=2)
    captions = load_caption_set(root / "dataset.json")
    names = [im.filename for im in captions.images]
    extract_images(root / "images.zip", root / "images", names)
    extract_features(
        root / "images",
        names,
        [im.split for im in captions.images],
        root / "f.h5",
        build_encoder("none"),
        image_size=64,
        batch_size=8,
        dtype="float16",
        progress=False,
    )
    vocab, counts = build_vocabulary(captions, min_freq=1, max_length=0)
    save_encoded(root / "captions.npz", vocab, captions)
    with h5py.File(root / "f.h5") as h5:
        data = load_encoded(h5["features"][()], root / "captions.npz")
    return data, vocab


@pytest.mark.parametrize("kind", ["vanilla", "attention"])
def test_training_lowers_the_loss_and_is_deterministic(small, kind):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    cfg = config(model=kind)
    model, hist = train_captioner(*args, cfg, progress=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert len(hist.val_bleu4) == 3 and 1 <= hist.best_epoch <= 3
    _, again = train_captioner(*args, cfg, progress=False)
    assert again.train_loss == hist.train_loss and again.val_bleu4 == hist.val_bleu4


def test_a_resumed_run_ends_like_an_uninterrupted_one(small, tmp_path):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    # a schedule that cuts the rate after one epoch without a better BLEU, and a rate at which
    # validation BLEU-4 falls in epoch 2: the cut before epoch 3 is decided from the resumed history
    cfg = {"lr": 3e-2, "lr_decay": 0.5, "lr_patience": 1}
    full_model, full = train_captioner(*args, config(epochs=3, **cfg), progress=False)
    assert full.val_bleu4[1] < full.val_bleu4[0] and full.lr == [3e-2, 3e-2, 1.5e-2]
    ckpt = tmp_path / "resume.pt"
    train_captioner(*args, config(epochs=2, **cfg), resume_path=ckpt, progress=False)
    model, rest = train_captioner(*args, config(epochs=3, **cfg), resume_path=ckpt, progress=False)
    assert rest.resumed_from == 2
    assert rest.train_loss == full.train_loss and rest.val_bleu4 == full.val_bleu4 and rest.lr == full.lr
    for (name, a), b in zip(full_model.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # A checkpoint of a longer run (here 3 epochs) is not continued by a shorter one: it starts afresh
    # and ends as a 2-epoch run does.
    _, two = train_captioner(*args, config(epochs=2, **cfg), progress=False)
    _, shorter = train_captioner(*args, config(epochs=2, **cfg), resume_path=ckpt, progress=False)
    assert shorter.resumed_from == 0 and shorter.train_loss == two.train_loss and shorter.val_bleu4 == two.val_bleu4


def test_early_stopping_after_patience_epochs_without_a_better_bleu(small):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    # lr 0: nothing changes, so BLEU never improves after the first epoch
    _, hist = train_captioner(*args, config(epochs=10, patience=2, lr=0.0), progress=False)
    assert hist.best_epoch == 1 and len(hist.val_bleu4) == 3
    assert np.allclose(hist.val_bleu4, hist.val_bleu4[0])


def test_the_learning_rate_is_cut_after_lr_patience_epochs_without_a_better_bleu(small):
    data, vocab = small
    args = (data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length)
    # a rate too small to move a float32 weight: BLEU never improves after the first epoch, so the
    # rate is halved every second epoch (counted from the best epoch, then from the last cut)
    a = 1e-12
    cfg = config(epochs=7, patience=10, lr=a, lr_decay=0.5, lr_patience=2)
    _, hist = train_captioner(*args, cfg, progress=False)
    assert hist.best_epoch == 1 and np.allclose(hist.val_bleu4, hist.val_bleu4[0])
    assert hist.lr == [a, a, a, a / 2, a / 2, a / 4, a / 4]
    assert hist.cuts() == [3, 5]  # the epochs after which the rate was cut, as the metrics count them
    # lr_decay 1: a constant rate
    _, constant = train_captioner(*args, config(epochs=4, patience=10, lr=a), progress=False)
    assert constant.lr == [a] * 4


@pytest.fixture
def cuts_of(small, monkeypatch):
    """The learning rate of every epoch as train_captioner schedules it (and of the epoch after the
    last), when ``signal`` is each epoch's validation BLEU-4: the trainer's own loop, its greedy
    validation replaced by the signal."""
    import hw2.captioning.train as trainer

    data, vocab = small

    def rates(signal: list[float], **schedule) -> list[float]:
        values = iter([*signal, 0.0])
        monkeypatch.setattr(trainer, "greedy_bleu4", lambda *args: next(values))
        cfg = config(model="vanilla", lr=1.0, epochs=len(signal) + 1, patience=100, **schedule)
        _, hist = train_captioner(
            data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length, cfg, progress=False
        )
        return hist.lr

    return rates


def test_a_better_epoch_restarts_the_count_towards_a_cut(cuts_of):
    rates = cuts_of([0.1, 0.2, 0.15, 0.3, 0.2, 0.25, 0.2, 0.2], lr_decay=0.5, lr_patience=2)
    assert rates[4] == 1.0  # epoch 4 was the best
    assert rates[6] == 0.5  # two epochs since the best: cut
    assert rates[7] == 0.5  # one epoch since the cut
    assert rates[8] == 0.25  # two since the cut, four since the best
    assert cuts_of([0.1, 0.1, 0.1], lr_decay=1.0, lr_patience=1) == [1.0] * 4  # lr_decay 1: never cut


def test_a_smoothed_signal_rides_out_a_single_bad_or_lucky_epoch(cuts_of):
    # a noisy climb: epoch 4 is a lucky spike, epoch 5 a dip, the trend goes on rising
    hist = CaptionHistory(val_bleu4=[0.2, 0.25, 0.3, 0.5, 0.3, 0.4, 0.45, 0.5], lr=[1.0] * 8)
    assert hist.smoothed(1) == hist.val_bleu4
    assert np.allclose(hist.smoothed(3), [0.25, 0.35, 0.3667, 0.4, 0.3833, 0.45], atol=1e-4)  # from epoch 3
    assert hist.since_best(1) == 4  # raw: nothing has beaten epoch 4's spike
    assert hist.since_best(3) == 0  # smoothed: the last epoch is the best
    schedule = dict(lr_decay=0.5, lr_patience=3)
    assert cuts_of(hist.val_bleu4, smooth=1, **schedule)[-1] == 0.5
    assert cuts_of(hist.val_bleu4, smooth=3, **schedule)[-1] == 1.0
    # a lucky first epoch: the raw signal calls epochs 2-4 a plateau, the smoothed one waits for
    # three epochs to average
    early = [0.25, 0.14, 0.2, 0.21]
    assert cuts_of(early, smooth=1, **schedule)[-1] == 0.5 and cuts_of(early, smooth=3, **schedule)[-1] == 1.0
    assert CaptionHistory(val_bleu4=early).since_best(3) == 1
    assert CaptionHistory(val_bleu4=[0.3, 0.2], lr=[1.0] * 2).since_best(3) == 0
