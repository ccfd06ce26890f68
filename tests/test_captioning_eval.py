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
from hw2.captioning.comparison import most_common_caption
from hw2.captioning.curves import training_curves
from hw2.captioning.dataset import CaptionedImage, CaptionSet
from hw2.captioning.decoder_file import load_decoder, save_decoder
from hw2.captioning.figures import caption_sheet, captioned_image
from hw2.captioning.history import CaptionHistory
from hw2.captioning.scoring import Scorer, names_position
from hw2.captioning.vocab import SPECIALS, Vocabulary
from hw2.common.checkpoint import save_checkpoint
from hw2.common.errors import InputError

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
