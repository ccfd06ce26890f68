"""The captioning stages run one by one on a small synthetic set: a killed training resumes
through the stage, and images the dataset does not have are reported by name."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import copy_repo, env, run, set_params
from PIL import Image

from hw2.captioning.scoring import java_available

TINY = {
    "captioning": {
        "threads": 1,
        "synthetic": {"images": 90, "seed": 1},
        "images": ["2.tif", "5.tif", "7.tif"],
        "seeds": [0],
        "encoder": {"weights": "none", "image_size": 96, "batch_size": 16},
        "decoder": {"embed_dim": 32, "decoder_dim": 48, "attention_dim": 32},
        "train": {"epochs": 2, "batch_size": 16},
        "scores": {"meteor": False},
        "decode": {"beam_size": 3, "length_penalty": 1.0},
    }
}


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    """A repository copy with data, features, vocabulary and both decoders trained."""
    repo = copy_repo(tmp_path_factory.mktemp("stages") / "repo")
    set_params(repo, **TINY)
    for script in ("encoder_weights", "unzip_images", "extract_features", "build_vocab"):
        run(["python", f"stages/{script}.py"], repo)
    for kind in ("vanilla", "attention"):
        run(["python", "stages/train_captioner.py", kind, "0"], repo)
    return repo


def test_killed_captioner_training_resumes_through_the_stage_with_the_same_result(captioned):
    repo = captioned
    set_params(repo, captioning={"train": {"epochs": 3}})
    cmd = ["python", "stages/train_captioner.py", "attention", "0"]
    run(cmd, repo)
    metrics, model = repo / "metrics/captioner/attention_seed0.json", repo / "models/captioner/attention/seed0.pt"
    uninterrupted = (
        metrics.read_bytes(),
        model.read_bytes(),
        (repo / "plots/captioner/attention_seed0/plots/metrics/val_bleu4.tsv").read_bytes(),
    )

    resume = repo / "models/.resume/train_captioner_attention_seed0.pt"
    proc = subprocess.Popen(cmd, cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:  # the first epoch is checkpointed: kill during the second
        seen.append(line)
        if line.startswith("attention_seed0 epoch  1:"):
            break
    assert resume.is_file(), seen
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resumed = run(cmd, repo)
    assert "resumed after epoch" in resumed.stdout and "attention_seed0 epoch  1:" not in resumed.stdout
    assert (
        metrics.read_bytes(),
        model.read_bytes(),
        (repo / "plots/captioner/attention_seed0/plots/metrics/val_bleu4.tsv").read_bytes(),
    ) == uninterrupted
    assert not resume.exists()


def test_an_image_the_dataset_lacks_is_named_and_nothing_is_written(captioned):
    repo = captioned
    set_params(repo, captioning={"images": ["2.tif", "nowhere.tif", "5.tif"]})
    shutil.rmtree(repo / "plots/captions", ignore_errors=True)  # the committed run's figures
    proc = run(["python", "stages/caption_images.py"], repo, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "captioning.images names nowhere.tif, not in the dataset" in lines[0]
    assert not (repo / "plots/captions").exists()

    set_params(repo, captioning={"images": ["2.tif", "5.tif"]})
    out = run(["python", "stages/caption_images.py"], repo).stdout
    assert "\n2.tif: " in out and "\n5.tif: " in out
    assert sorted(p.name for p in (repo / "plots/captions").iterdir()) == [
        "attention_1.png",
        "attention_2.png",
        "caps_generated_enc_dec_w_attention.json",
        "captions.png",
        "decoder.json",
    ]


def test_of_several_seeds_the_first_seeds_attention_decoder_captions(captioned):
    """caption_images (and tools/caption.py) caption with the attention decoder of the first seed of
    captioning.seeds, whatever its order, and say so."""
    repo = captioned
    set_params(repo, captioning={"images": ["2.tif"]})
    run(["python", "stages/train_captioner.py", "attention", "3"], repo)
    captions = {}
    try:
        for seeds in ([0, 3], [3, 0]):
            set_params(repo, captioning={"seeds": seeds})
            out = run(["python", "stages/caption_images.py"], repo).stdout
            chosen = json.loads((repo / "plots/captions/decoder.json").read_text())
            trained = json.loads((repo / f"metrics/captioner/attention_seed{seeds[0]}.json").read_text())
            assert chosen == {"decoder": "attention", "seed": seeds[0], "val_bleu4": trained["val_bleu4"]}
            assert f"the attention decoder of seed {seeds[0]} (the first of captioning.seeds" in out
            captions[seeds[0]] = (repo / "plots/captions/attention_1.png").read_bytes()
        assert captions[0] != captions[3]  # two decoders: other weights, other attention maps
        # a first seed not trained: named, with the stage that makes it
        set_params(repo, captioning={"seeds": [2, 0]})
        proc = run(["python", "stages/caption_images.py"], repo, check=False)
        assert proc.returncode == 1 and "models/captioner/attention/seed2.pt" in proc.stderr, proc.stderr
        assert "train_captioner@attention-2" in proc.stderr, proc.stderr
    finally:
        set_params(repo, captioning={"seeds": [0]})


def test_evaluate_scores_both_decodings_and_refuses_a_decoder_from_another_vocabulary(captioned):
    repo = captioned
    set_params(repo, captioning={"scores": {"meteor": True}})  # METEOR (Java) once through the stage
    out = run(["python", "stages/evaluate.py", "vanilla", "0"], repo).stdout
    set_params(repo, captioning={"scores": {"meteor": False}})
    assert "vanilla_seed0 greedy: BLEU-4" in out and "vanilla_seed0 beam (beam 3): BLEU-4" in out
    assert "vanilla_seed0 beam_lp (beam 3, length penalty 1): BLEU-4" in out
    result = json.loads((repo / "metrics/test_scores/vanilla_seed0.json").read_text())  # in git: compare reads it
    assert result["decoder"] == "vanilla" and result["seed"] == 0
    assert not (repo / "data/evaluation").exists()  # one copy of the captions
    assert result["length_penalty"] == 1.0 and set(result["scores"]) == {"greedy", "beam", "beam_lp"}
    if java_available():
        assert result["meteor"].startswith("pycocoevalcap") and result["scores"]["greedy"]["meteor"] is not None
    # length_penalty 0: beam search as before, and no third row
    set_params(repo, captioning={"decode": {"length_penalty": 0}})
    out = run(["python", "stages/evaluate.py", "vanilla", "0"], repo).stdout
    zero = json.loads((repo / "metrics/test_scores/vanilla_seed0.json").read_text())
    assert "beam_lp" not in out and set(zero["scores"]) == {"greedy", "beam"}
    assert zero["scores"]["beam"]["meteor"] is None and "captioning.scores.meteor: false" in zero["meteor"]
    assert {k: v for k, v in zero["scores"]["beam"].items() if k != "meteor"} == {
        k: v for k, v in result["scores"]["beam"].items() if k != "meteor"
    }
    assert zero["captions"].keys() == result["captions"].keys()
    set_params(repo, captioning={"decode": {"length_penalty": 1.0}})
    # a decoder trained with another vocabulary (min_freq changed afterwards) is refused by name
    set_params(repo, captioning={"vocab": {"min_freq": 40}})
    run(["python", "stages/build_vocab.py"], repo)
    proc = run(["python", "stages/evaluate.py", "vanilla", "0"], repo, check=False)
    assert proc.returncode == 1 and "vanilla/seed0.pt: trained with a vocabulary of" in proc.stderr, proc.stderr
    set_params(repo, captioning={"vocab": {"min_freq": 2}})
    run(["python", "stages/build_vocab.py"], repo)


def test_the_caption_command_captions_a_file_as_the_pipeline_does(captioned, tmp_path):
    repo = captioned
    set_params(repo, captioning={"images": ["2.tif", "5.tif"]})
    run(["python", "stages/caption_images.py"], repo)
    expected = json.loads((repo / "plots/captions/caps_generated_enc_dec_w_attention.json").read_text())
    image = tmp_path / "my photo.tif"  # a file of the user's, anywhere
    shutil.copy(repo / "data/images/5.tif", image)
    proc = run(["python", "tools/caption.py", str(image), "--out", str(tmp_path / "figs")], repo)
    assert proc.stdout.startswith(f"{image}: {expected['5.tif']}  (")  # the features the decoder was trained on
    assert "RANDOMLY INITIALISED" in proc.stderr  # the tiny run's encoder: said, not hidden
    with Image.open(tmp_path / "figs" / "my photo.png") as figure:
        assert figure.format == "PNG" and figure.width > 1000
    bad = run(["python", "tools/caption.py", str(tmp_path / "missing.tif")], repo, check=False)
    assert bad.returncode == 1 and bad.stderr.strip() == f"error: {tmp_path / 'missing.tif'}: no such image file"


def test_the_hard_variant_is_a_param_and_the_standard_set_comes_back_unchanged(captioned):
    repo = captioned
    run(["python", "stages/unzip_images.py"], repo)  # the set of the params as the tests before left them
    standard = (repo / "data/captions.json").read_bytes(), (repo / "data/images/2.tif").read_bytes()
    set_params(repo, captioning={"synthetic": {"hard": True}})
    run(["python", "stages/unzip_images.py"], repo)
    assert json.loads((repo / "metrics/dataset.json").read_text())["dataset"] == "synthetic (hard)"
    hard = json.loads((repo / "data/captions.json").read_text())
    assert hard["dataset"] == "synthetic (hard)" and len(hard["images"]) == 90
    assert (repo / "data/images/2.tif").read_bytes() != standard[1]
    set_params(repo, captioning={"synthetic": {"hard": False}})
    run(["python", "stages/unzip_images.py"], repo)
    assert ((repo / "data/captions.json").read_bytes(), (repo / "data/images/2.tif").read_bytes()) == standard
