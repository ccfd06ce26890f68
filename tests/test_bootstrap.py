"""Is attention better? The paired bootstrap over the test images and the seeds
(hw2.captioning.bootstrap): each draw's corpus scores are the Scorer's on the drawn images, and the
verdicts move with the evidence as they should."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import yaml
from conftest import ROOT

from hw2.captioning.bootstrap import Resampler, corpus_bleu4, draw, paired_bootstrap, verdict
from hw2.captioning.scoring import Scorer, bleu
from pipeline.params import ParamsError, load

WORDS = "a an the many some green red dense sparse buildings trees road river cars parked beside near left of".split()


def caption_set(n: int, seed: int = 0) -> list[list[list[str]]]:
    """``n`` images, each with 1 to 5 reference captions of 3 to 12 words from a small vocabulary
    (so that n-grams recur across images, as on real captions)."""
    rng = random.Random(seed)
    return [
        [[rng.choice(WORDS) for _ in range(rng.randint(3, 12))] for _ in range(rng.randint(1, 5))] for _ in range(n)
    ]


def guesses(refs: list[list[list[str]]], seed: int) -> list[list[str]]:
    """A plausible decoder: for each image, a reference of another image with a word changed (some
    captions empty or one word long, the edge cases of BLEU's counts and of CIDEr's empty caption)."""
    rng = random.Random(seed)
    out = []
    for i in range(len(refs)):
        c = list(rng.choice(refs[(i + 1) % len(refs)]))
        c[rng.randrange(len(c))] = rng.choice(WORDS)
        out.append(c)
    out[0], out[1] = [], ["trees"]
    return out


def cider(hyps, refs) -> float:
    from pycocoevalcap.cider.cider import Cider

    res = {i: [" ".join(h) or "xxemptyxx"] for i, h in enumerate(hyps)}
    gts = {i: [" ".join(r) for r in rs] for i, rs in enumerate(refs)}
    return float(Cider().compute_score(gts, res)[0])


def test_a_draw_scores_as_the_scorer_scores_the_drawn_images():
    refs = caption_set(40)
    hyps = guesses(refs, 1)
    r = Resampler(refs)
    drawn = draw(len(refs), 1, 5, seed=3).images
    counts = np.vstack([np.ones(len(refs), dtype=np.int64), drawn])
    got = r.scores([r.prepare(hyps)], counts)[0]
    with Scorer(meteor=False) as scorer:
        for row, b, c in zip(counts, got["bleu4"], got["cider"], strict=True):
            images = [i for i, k in enumerate(row) for _ in range(k)]  # image i, k times
            h, rs = [hyps[i] for i in images], [refs[i] for i in images]
            assert b == bleu(rs, h)  # nltk's corpus_bleu, bit for bit
            assert c == pytest.approx(cider(h, rs), rel=1e-12, abs=1e-12)  # coco-caption's, summed otherwise
            assert scorer.score(h, rs)["cider"] == round(c, 6)
    assert len(set(got["bleu4"])) == len(counts)  # the draws differ


def test_bleu_without_a_match_or_a_word_is_zero_as_in_nltk():
    refs = [[["a", "road"]], [["the", "river"]]]
    r = Resampler(refs)
    ones = np.ones((1, 2), dtype=np.int64)
    cases: list[list[list[str]]] = [[["cars"], ["parked"]], [[], []], [["a"], []]]
    for hyps in cases:
        assert r.scores([r.prepare(hyps)], ones)[0]["bleu4"][0] == bleu(refs, hyps)
    assert corpus_bleu4([0, 0, 0, 0, 1, 1, 1, 1, 0, 2]) == 0.0


def runs(refs, captions_by_seed):
    """``{decoder: {seed: {"greedy": captions}}}`` from ``{decoder: [captions of seed 0, ...]}``."""
    return {m: {s: {"greedy": c} for s, c in enumerate(by_seed)} for m, by_seed in captions_by_seed.items()}


def test_identical_captions_differ_by_exactly_zero_in_every_draw():
    refs = caption_set(30)
    same = [guesses(refs, s) for s in range(3)]
    out = paired_bootstrap(refs, runs(refs, {"attention": same, "vanilla": same}), 1000, 0.95, 0)
    for k in ("bleu4", "cider"):
        pooled = out["pooled"]["greedy"][k]
        assert pooled == {"low": 0.0, "high": 0.0, "wins": 0.0}
        assert verdict(pooled["low"], pooled["high"]) == "within the noise"
        for s in range(3):
            assert out["by_seed"]["greedy"][k][s] == {"difference": 0.0, "low": 0.0, "high": 0.0, "wins": 0.0}


def test_a_decoder_that_returns_the_references_is_ahead_on_every_seed():
    refs = caption_set(30)
    perfect = [[rs[0] for rs in refs]] * 3
    out = paired_bootstrap(
        refs, runs(refs, {"attention": perfect, "vanilla": [guesses(refs, s) for s in range(3)]}), 1000, 0.95, 0
    )
    for k in ("bleu4", "cider"):
        for s in range(3):
            d = out["by_seed"]["greedy"][k][s]
            assert verdict(d["low"], d["high"]) == "ahead" and d["wins"] == 1.0, (k, s, d)
        pooled = out["pooled"]["greedy"][k]
        assert verdict(pooled["low"], pooled["high"]) == "ahead", pooled
    # the other way round: behind
    out = paired_bootstrap(
        refs, runs(refs, {"vanilla": perfect, "attention": [guesses(refs, s) for s in range(3)]}), 1000, 0.95, 0
    )
    assert out["pooled"]["greedy"]["bleu4"]["high"] < 0


def better_on(refs, k: int) -> tuple[list, list]:
    """Two decoders alike except on the first ``k`` images, where the first says a reference."""
    base = guesses(refs, 7)
    return [rs[0] for rs in refs[:k]] + base[k:], base


def test_a_small_known_difference_lies_in_its_interval_and_needs_enough_images_to_show():
    refs = caption_set(10)
    att, van = better_on(refs, 1)
    out = paired_bootstrap(refs, runs(refs, {"attention": [att], "vanilla": [van]}), 1000, 0.95, 0)
    for k in ("bleu4", "cider"):
        d = out["by_seed"]["greedy"][k][0]
        assert d["difference"] > 0 and d["low"] <= d["difference"] <= d["high"]
        assert verdict(d["low"], d["high"]) == "within the noise", d  # one image of ten: the draws that miss it
        assert out["pooled"]["greedy"][k] == {x: d[x] for x in ("low", "high", "wins")}  # one seed: the same
    # the same difference, one image in ten, on twenty times as many images: it shows
    many = refs * 20
    att20, van20 = better_on(refs, 1)
    att20, van20 = att20 * 20, van20 * 20
    out = paired_bootstrap(many, runs(many, {"attention": [att20], "vanilla": [van20]}), 1000, 0.95, 0)
    for k in ("bleu4", "cider"):
        d = out["by_seed"]["greedy"][k][0]
        assert d["low"] <= d["difference"] <= d["high"] and verdict(d["low"], d["high"]) == "ahead", d


def test_the_pooled_verdict_counts_the_seeds_noise():
    """Attention far ahead on one seed and as far behind on another: every seed's own interval
    leaves out 0, the pooled one (seeds resampled with the images) holds it."""
    refs = caption_set(40)
    perfect, guess = [rs[0] for rs in refs], guesses(refs, 1)
    out = paired_bootstrap(
        refs, runs(refs, {"attention": [perfect, guess], "vanilla": [guess, perfect]}), 1000, 0.95, 0
    )
    seeds = out["by_seed"]["greedy"]["bleu4"]
    assert seeds[0]["low"] > 0 and seeds[1]["high"] < 0
    pooled = out["pooled"]["greedy"]["bleu4"]
    assert verdict(pooled["low"], pooled["high"]) == "within the noise" and 0.1 < pooled["wins"] < 0.9, pooled


def test_the_same_draws_give_the_same_bytes():
    refs = caption_set(25)
    captions = runs(
        refs, {"attention": [guesses(refs, s) for s in range(2)], "vanilla": [guesses(refs, 9 + s) for s in range(2)]}
    )
    first = json.dumps(paired_bootstrap(refs, captions, 1000, 0.95, 5))
    assert json.dumps(paired_bootstrap(refs, captions, 1000, 0.95, 5)) == first
    assert json.dumps(paired_bootstrap(refs, captions, 1000, 0.95, 6)) != first  # the seed is used
    assert (
        paired_bootstrap(refs, captions, 1000, 0.95, 5)["pooled"]
        != paired_bootstrap(refs, captions, 1000, 0.8, 5)["pooled"]
    )


def test_the_draws_take_images_and_seeds_with_replacement():
    d = draw(50, 3, 400, seed=0)
    assert d.images.shape == (400, 50) and (d.images.sum(axis=1) == 50).all()
    assert d.seeds.shape == (400, 3) and set(np.unique(d.seeds)) == {0, 1, 2}
    assert (d.images == 0).any(axis=1).mean() > 0.99  # a draw leaves images out, and takes others twice
    assert np.array_equal(draw(50, 3, 400, seed=0).images, d.images)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("draws", 999, "captioning.bootstrap.draws must be a number of draws between 1000 and 100000, not 999"),
        ("level", 1.0, "captioning.bootstrap.level must be a number in [0.5, 0.999], not 1.0"),
    ],
)
def test_bootstrap_params_are_checked(tmp_path, key, value, problem):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["captioning"]["bootstrap"][key] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    (tmp_path / "paths.yaml").write_text((ROOT / "paths.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ParamsError) as err:
        load(path)
    assert problem in str(err.value)
