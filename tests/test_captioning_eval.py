"""Scoring captions (BLEU on hand-checked examples, METEOR, ROUGE-L, CIDEr), the caption-prior
baseline, loading a trained decoder, and the caption figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import caption_config
from PIL import Image

from hw2.captioning import scoring
from hw2.captioning.comparison import compare, most_common_caption, spread, verdict
from hw2.captioning.curves import training_curves
from hw2.captioning.dataset import CaptionedImage, CaptionSet
from hw2.captioning.decoder_file import load_decoder, save_decoder
from hw2.captioning.figures import caption_sheet, captioned_image
from hw2.captioning.history import CaptionHistory
from hw2.captioning.scoring import Scorer, names_position
from hw2.captioning.vocab import SPECIALS, Vocabulary
from hw2.common.checkpoint import save_checkpoint
from hw2.common.errors import InputError, StaleInputError

needs_java = pytest.mark.skipif(
    not scoring.java_available(), reason="METEOR needs Java (make test installs it where apt works)"
)
T = str.split


@pytest.fixture(scope="module")
def scorer():
    with Scorer(meteor=scoring.java_available()) as s:
        yield s


def test_bleu_matches_hand_computed_values(scorer):
    # p1 5/6, p2 3/5 (the cat, on the, the mat), p3 1/4 (on the mat), p4 0/3; equal lengths: BP 1
    s = scorer.score([T("the cat sat on the mat")], [[T("the cat is on the mat")]])
    assert s["bleu1"] == pytest.approx(5 / 6, abs=1e-6)
    assert s["bleu2"] == pytest.approx(math.sqrt(0.5), abs=1e-6)
    assert s["bleu3"] == pytest.approx(0.5, abs=1e-6)
    assert s["bleu4"] == 0.0
    # clipped counts: "the" counts once against a reference that has it once
    assert scorer.score([T("the the the the")], [[T("the cat")]])["bleu1"] == pytest.approx(0.25, abs=1e-6)
    # brevity penalty exp(1 - r/c) with r = 6, c = 2
    assert scorer.score([T("the cat")], [[T("the cat is on the mat")]])["bleu1"] == pytest.approx(
        math.exp(-2), abs=1e-6
    )
    # a corpus pools its counts: (5 + 1) / (6 + 4) unigrams; c = 10 > r = 6 + 2
    pooled = scorer.score(
        [T("the cat sat on the mat"), T("the the the the")], [[T("the cat is on the mat")], [T("the cat")]]
    )
    assert pooled["bleu1"] == pytest.approx(0.6, abs=1e-6)
    # with several references, the closest length sets the brevity penalty and any reference matches
    multi = scorer.score([T("a red car")], [[T("a car"), T("a red car on a road today")]])
    assert multi["bleu1"] == pytest.approx(1.0)


def test_a_caption_equal_to_its_references_gets_full_marks(scorer):
    hyps = [T("a blue river runs through brown land"), T("two white planes beside a gray runway")]
    s = scorer.score(hyps, [[h] for h in hyps])
    assert s["bleu4"] == pytest.approx(1.0) and s["rouge_l"] == pytest.approx(1.0)
    assert s["cider"] == pytest.approx(10.0, rel=1e-3)  # CIDEr-D is scaled by 10
    if scorer.meteor_missing is None:
        assert s["meteor"] > 0.99


def test_wrong_and_empty_captions_score_zero_without_failing(scorer):
    refs = [[T("a blue river runs through brown land")], [T("two white planes beside a gray runway")]]
    s = scorer.score([[], T("green fields")], refs)
    assert s["bleu1"] == 0.0 and s["bleu4"] == 0.0 and s["rouge_l"] == 0.0 and s["cider"] == 0.0
    if scorer.meteor_missing is None:
        assert s["meteor"] == 0.0
    with pytest.raises(ValueError, match="1 captions for 2 images"):
        scorer.score([[]], refs)


@needs_java
def test_meteor_rewards_stems_and_word_order(scorer):
    refs = [[T("many houses are built along the road")]]
    stems = scorer.score([T("many house is build along the roads")], refs)["meteor"]
    shuffled = scorer.score([T("road the along built are houses many")], refs)["meteor"]
    unrelated = scorer.score([T("a lake with green water")], refs)["meteor"]
    assert 0.3 < stems < 0.99 and shuffled < scorer.score(refs[0], refs)["meteor"] and unrelated == 0.0


def test_without_java_meteor_is_left_out_and_said_so(monkeypatch):
    monkeypatch.setattr(scoring.shutil, "which", lambda name: None)
    with Scorer() as s:
        assert s.meteor_missing and "Java" in s.meteor_missing
        scores = s.score([T("a red car")], [[T("a red car")]])
    assert scores["meteor"] is None and scores["bleu1"] == pytest.approx(1.0)


def caption_set(captions_by_split):
    images = [
        CaptionedImage(f"{i}.tif", split, [T(c) for c in caps]) for i, (split, caps) in enumerate(captions_by_split)
    ]
    return CaptionSet("test", images)


def test_the_caption_prior_is_the_most_common_training_caption_ties_broken_by_order():
    cs = caption_set(
        [
            ("train", ["a road", "a river", "a road"]),
            ("train", ["a river", "a beach"]),
            ("test", ["a beach", "a beach", "a beach"]),
        ]
    )
    assert most_common_caption(cs) == T("a river")  # a river 2, a road 2: "a river" sorts first
    with pytest.raises(ValueError, match="no val captions"):
        most_common_caption(cs, "val")


def test_captions_naming_a_position():
    assert names_position([T("a lake"), T("three houses on the left of a lawn")])
    assert names_position([T("the top of the image has trees")])
    assert not names_position([T("a river runs from left to right"), T("a road through the middle")])


def tiny_vocab(words=6):
    return Vocabulary(list(SPECIALS) + [f"w{i}" for i in range(words)], 5)


def test_a_decoder_loads_with_its_vocabulary_and_is_refused_with_another(tmp_path):
    vocab = tiny_vocab()
    cfg = caption_config(embed_dim=8, decoder_dim=16, attention_dim=8)
    model = cfg.build(len(vocab), 32)
    path = tmp_path / "attention.pt"
    save_decoder(path, model, cfg, len(vocab), CaptionHistory(train_loss=[2.0], val_bleu4=[0.5], best_epoch=1))
    loaded, state = load_decoder(path, vocab, tmp_path / "vocab.json", 32)
    assert not loaded.training and state["best_epoch"] == 1
    assert all(
        torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    with pytest.raises(InputError, match=r"attention.pt: trained with a vocabulary of 10 words, not the 12"):
        load_decoder(path, tiny_vocab(8), tmp_path / "vocab.json", 32)
    save_checkpoint(tmp_path / "other.pt", {"weights": torch.zeros(3)})
    with pytest.raises(InputError, match="other.pt: not a caption decoder"):
        load_decoder(tmp_path / "other.pt", vocab, tmp_path / "vocab.json", 32)


def test_the_caption_figures_are_written(tmp_path):
    image = tmp_path / "1.tif"
    Image.new("RGB", (64, 64), (90, 120, 60)).save(image)
    words = T("three houses on the left")
    alphas = np.random.default_rng(0).dirichlet(np.ones(49), len(words) + 1)  # a map per word and for <end>
    captioned_image(tmp_path / "one.png", image, words + ["<end>"], alphas, "1.tif")
    caption_sheet(tmp_path / "sheet.png", [(image, "1.tif", " ".join(words)), (image, "2.tif", "")], "captions")
    runs = {
        m: {
            "epoch": [1, 2, 3, 4],
            "train_loss": [3.0, 2.0, 1.5, 1.4],
            "val_bleu4": [0.1, 0.3, 0.2, 0.25],
            "best_epoch": 2,
            "lr": [4e-4] * 4,
        }
        for m in ("vanilla", "attention")
    }
    training_curves(tmp_path / "curves.png", runs)
    runs["attention"]["lr"] = [4e-4, 4e-4, 4e-4, 2e-4]  # cut before epoch 4: a dashed line
    training_curves(tmp_path / "cut.png", runs)
    for name, least_height in (("one.png", 300), ("sheet.png", 300), ("curves.png", 250), ("cut.png", 250)):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG" and im.height >= least_height
            assert len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 50  # drawn, not blank
    with Image.open(tmp_path / "curves.png") as a, Image.open(tmp_path / "cut.png") as b:
        assert a.size == b.size and np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).any()

    # several seeds per decoder: a colour per decoder, a marker per seed, no dashed cuts (the
    # learning-rate axis shows them); the one-seed figure stays as it was
    seeded = {
        f"{m}, seed {s}": dict(runs[m], val_bleu4=[v + s / 50 for v in [0.1, 0.3, 0.2, 0.25]])
        for m in runs
        for s in (0, 1)
    }
    training_curves(tmp_path / "seeds.png", seeded, groups={name: name.split(",")[0] for name in seeded})
    with Image.open(tmp_path / "seeds.png") as im, Image.open(tmp_path / "cut.png") as b:
        assert im.size == b.size and np.abs(np.asarray(im, np.int16) - np.asarray(b, np.int16)).any()


def evaluation(scores: dict[str, float], seed: int) -> dict:
    return {
        "beam_size": 3,
        "length_penalty": 0.0,
        "images": 10,
        "scores": {"greedy": {**scores, "meteor": None}},
        "position": {},
        "seed": seed,
    }


def test_the_decoders_are_compared_by_their_mean_over_seeds_and_the_paired_difference():
    van = {0: 0.30, 1: 0.20, 2: 0.25}
    att = {0: 0.34, 1: 0.23, 2: 0.31}  # ahead on every seed, though its spread overlaps vanilla's
    out = compare(
        {
            "vanilla": {s: evaluation({"bleu4": v, "cider": 1.0}, s) for s, v in van.items()},
            "attention": {s: evaluation({"bleu4": v, "cider": 1.0}, s) for s, v in att.items()},
        },
        {m: {s: {"best_epoch": 3 + s} for s in van} for m in ("vanilla", "attention")},
        {"bleu4": 0.05},
        10,
        0,
        {"dataset": "synthetic"},
        {"greedy": {"bleu4": {"low": 0.01, "high": 0.08, "wins": 0.99}}},  # the bootstrap's, beside
    )
    assert out["runs_per_decoder"] == 3 and out["dataset"] == "synthetic" and out["baseline"] == {"bleu4": 0.05}
    assert out["vanilla"]["greedy"]["bleu4"] == {"mean": 0.25, "sd": 0.05}
    assert "meteor" not in out["vanilla"]["greedy"]  # not computed: not a number to average
    assert out["vanilla"]["best_epoch"] == {"mean": 4.0, "sd": 1.0}
    diff = out["attention_minus_vanilla"]["greedy"]["bleu4"]
    assert diff == {
        "mean": pytest.approx(0.043333, abs=1e-6),
        "sd": pytest.approx(0.015275, abs=1e-6),
        "seeds_ahead": 3,
        "low": 0.01,
        "high": 0.08,
        "wins": 0.99,
    }
    assert verdict(diff) == "ahead"  # the interval lies above 0
    assert out["attention_minus_vanilla"]["greedy"]["cider"] == {"mean": 0.0, "sd": 0.0, "seeds_ahead": 0}
    assert verdict({"mean": 0.05, "sd": 0.01, "low": -0.001, "high": 0.1}) == "within the noise"  # not mean > sd
    assert verdict({"low": -0.02, "high": -0.01}) == "behind"
    assert spread([0.3]) == {"mean": 0.3, "sd": None}
    with pytest.raises(StaleInputError, match="not trained with the same seeds"):
        compare(
            {"vanilla": {0: evaluation({"bleu4": 0.3}, 0)}, "attention": {1: evaluation({"bleu4": 0.3}, 1)}},
            {"vanilla": {0: {"best_epoch": 1}}, "attention": {1: {"best_epoch": 1}}},
            {},
            10,
            0,
            {},
        )
