"""Caption sets as users bring them: without a validation split (a share of the training images is
held out, the same every run, and said), and captions in any script (drawn as written where the
machine has a font for them, and said once where it has none)."""

from __future__ import annotations

import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import copy_repo, run, set_params
from PIL import Image

from hw2.captioning.dataset import CaptionedImage, CaptionSet
from hw2.captioning.figures import caption_fonts, caption_sheet, captioned_image, missing_glyphs
from hw2.captioning.splits import MIN_VAL, SHARE, thin_validation, with_validation
from hw2.captioning.synthetic import generate
from hw2.common.errors import InputError

CHINESE = ["这是", "一片", "农田", "旁边", "有", "几栋", "房子"]  # "this is a farmland with a few houses beside it"
NO_FONT = "\U00013000"  # an Egyptian hieroglyph: in no font that Debian's CJK or DejaVu packages ship
WIDE = [f for f in caption_fonts()[1:]]
needs_wide_font = pytest.mark.skipif(
    not WIDE, reason="no CJK font installed (make setup installs Debian's fonts-noto-cjk where apt works)"
)


def caption_set(splits: dict[str, int]) -> CaptionSet:
    images, k = [], 0
    for split, n in splits.items():
        for _ in range(n):
            k += 1
            images.append(CaptionedImage(f"{k}.tif", split, [["a", "river", str(k)]]))
    return CaptionSet("mine", images)


def test_a_set_without_val_holds_out_a_fixed_share_of_its_training_images(tmp_path):
    path = tmp_path / "dataset.json"
    before = caption_set({"train": 120, "test": 20})
    after, held = with_validation(before, path)
    assert held is not None and held.record() == {"images": 12, "of_train": 120, "share": SHARE, "seed": 0}
    assert after.counts() == {"train": 108, "val": 12, "test": 20}
    moved = [a.filename for a, b in zip(after.images, before.images, strict=True) if a.split != b.split]
    assert len(moved) == 12 and all(b.split == "train" for b in before.images if b.filename in moved)
    assert with_validation(before, path)[0] == after  # the same images every run
    # a small set holds MIN_VAL out at least; one too small to hold any out is one line, naming the file
    small = with_validation(caption_set({"train": 12, "test": 2}), path)[1]
    assert small is not None and small.images == MIN_VAL
    with pytest.raises(InputError, match=r"dataset.json: no val split, and 9 training image\(s\), too few"):
        with_validation(caption_set({"train": 9, "test": 2}), path)
    # a set with its own val split keeps it, and a thin one is said
    own = caption_set({"train": 20, "val": 2, "test": 2})
    assert with_validation(own, path) == (own, None)
    assert "the val split has 2 image(s): the best epoch" in (thin_validation(own, path) or "")
    assert thin_validation(caption_set({"train": 20, "val": MIN_VAL, "test": 2}), path) is None


def small_set(repo, tokens=None, val: bool = True) -> None:
    """27 synthetic images in data/raw_dataset as a user's set: without its val split (those images
    become training images) unless ``val``; every caption replaced by ``tokens`` when given."""
    raw = repo / "data/raw_dataset"
    generate(raw, n=27, seed=3, test_images=("2.tif",))
    doc = json.loads((raw / "dataset.json").read_text())
    for im in doc["images"]:
        if not val and im["split"] == "val":
            im["split"] = "train"
        if tokens is not None:
            im["sentences"] = [{"tokens": tokens}]
    doc["dataset"] = "mine"
    (raw / "dataset.json").write_text(json.dumps(doc, ensure_ascii=False))


TINY = {
    "captioning": {
        "threads": 1,
        "images": ["2.tif"],
        "seeds": [0],
        "encoder": {"weights": "none", "image_size": 64, "batch_size": 8},
        "decoder": {"embed_dim": 16, "decoder_dim": 32, "attention_dim": 16},
        "train": {"epochs": 1, "batch_size": 16},
        "scores": {"meteor": False},
    }
}


def test_a_set_without_val_trains_with_the_held_out_images_and_says_so(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, **TINY)
    small_set(repo, val=False)
    out = run(["python", "stages/unzip_images.py"], repo).stdout
    assert "no val split in dataset.json: 5 of the" in out and "held out for validation (10%, seed 0)" in out
    dataset = json.loads((repo / "metrics/dataset.json").read_text())
    assert dataset["val_held_out"]["images"] == 5 and dataset["images"]["val"] == 5
    splits = [im["split"] for im in json.loads((repo / "data/captions.json").read_text())["images"]]
    assert splits.count("val") == 5
    for script in ("encoder_weights", "extract_features", "build_vocab"):
        run(["python", f"stages/{script}.py"], repo)
    trained = run(["python", "stages/train_captioner.py", "attention", "0"], repo)  # was: IndexError after an epoch
    assert "validation BLEU-4" in trained.stdout
    from report import held_out  # the report's header names it

    assert held_out(dataset).startswith("; the set has no val split: 5 of its")


@needs_wide_font
def test_a_chinese_caption_is_drawn_with_a_font_that_has_its_characters(tmp_path):
    assert missing_glyphs(CHINESE) == ""
    image = tmp_path / "1.tif"
    Image.new("RGB", (64, 64), (90, 120, 60)).save(image)
    alphas = np.random.default_rng(0).dirichlet(np.ones(49), len(CHINESE) + 1)
    assert captioned_image(tmp_path / "one.png", image, CHINESE + ["<end>"], alphas, "1.tif: 注意力") == ""
    assert caption_sheet(tmp_path / "sheet.png", [(image, "1.tif", " ".join(CHINESE))], "captions") == ""
    # matplotlib itself, drawing with those fonts, finds a glyph for every character
    with warnings.catch_warnings(record=True) as seen, plt.rc_context({"font.family": caption_fonts()}):
        warnings.simplefilter("always")
        fig = plt.figure()
        fig.text(0.1, 0.5, " ".join(CHINESE) + " and latin text")
        fig.savefig(tmp_path / "plain.png")
        plt.close(fig)
    assert not [w for w in seen if "missing from font" in str(w.message)], [str(w.message) for w in seen]
    # ... and draws them: the caption's pixels differ from boxes' (the same text without the fonts)
    with warnings.catch_warnings(), plt.rc_context({"font.family": caption_fonts()[:1]}):
        warnings.simplefilter("ignore")
        fig = plt.figure()
        fig.text(0.1, 0.5, " ".join(CHINESE) + " and latin text")
        fig.savefig(tmp_path / "boxes.png")
        plt.close(fig)
    with Image.open(tmp_path / "plain.png") as a, Image.open(tmp_path / "boxes.png") as b:
        assert np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).any()


def test_characters_no_font_has_are_named_once_by_the_stage(tmp_path):
    image = tmp_path / "1.tif"
    Image.new("RGB", (64, 64)).save(image)
    alphas = np.full((3, 49), 1 / 49)
    assert captioned_image(tmp_path / "one.png", image, [NO_FONT, NO_FONT + "x", "<end>"], alphas, "t") == NO_FONT
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, **TINY)
    small_set(repo, tokens=[*CHINESE, NO_FONT])
    proc = run(["python", "stages/unzip_images.py"], repo, extra_env={"LC_ALL": "C"})
    warned = [line for line in proc.stderr.splitlines() if "font" in line.lower()]
    assert len(warned) == 1, proc.stderr  # one line, not one per character and figure
    assert warned[0].startswith(f"WARNING: no font on this machine has the characters {NO_FONT}")
    if WIDE:
        assert "这" not in warned[0]  # drawn: a font has them
    assert "fonts-noto-cjk" in warned[0]
