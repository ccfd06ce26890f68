"""End to end: the real `dvc` on a temporary copy of the repository, with smoke parameters. One run
of the whole pipeline is shared by the scenarios below (each leaves the copy as it found it), on
one test worker (pyproject.toml: `--dist loadfile`)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from itertools import pairwise

import h5py
import pytest
import yaml
from conftest import ROOT, SYSTEM_FMNIST, audit_log, copy_repo, env, git_init, guard_log, guarded_env, run, set_params
from PIL import Image
from test_report import check_report

SMOKE = yaml.safe_load((ROOT / "smoke.yaml").read_text(encoding="utf-8"))  # what `make smoke` runs too
# (plots) every figure and series a full run leaves for `dvc plots show`
CNN_PLOTS = [
    "best.csv",
    "sweep.csv",
    "best_train_loss.png",
    "best_val_acc.png",
    "rates_train_loss.png",
    "rates_val_acc.png",
]


STAGES = (
    "encoder_weights",
    "download_fashion_mnist",
    "train_cnn",
    "dump_kernels",
    "equivariance",
    "theory",
    "unzip_images",
    "extract_features",
    "build_vocab",
    "train_captioner@vanilla-0",
    "train_captioner@vanilla-1",
    "train_captioner@attention-0",
    "train_captioner@attention-1",
    "evaluate@vanilla-0",
    "evaluate@vanilla-1",
    "evaluate@attention-0",
    "evaluate@attention-1",
    "compare_captioners",
    "caption_images",
    "report",
)


def command_of(stage: str) -> str:
    """The command of a stage after ``stages/python``: ``stages/evaluate.py attention 1`` for
    ``evaluate@attention-1``."""
    name, _, item = stage.partition("@")
    return " ".join([f"stages/{name}.py", *item.split("-")]) if item else f"stages/{name}.py"


RUNS = ("vanilla_seed0", "vanilla_seed1", "attention_seed0", "attention_seed1")
PER_RUN = {s for s in STAGES if "@" in s}  # train_captioner@… and evaluate@…


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One copy of the repository with the smoke params after one `dvc repro`, committed: the
    scenarios below share it, and each leaves it as it found it (:func:`restore`). The run is made
    on the tests' hostile machine (:func:`conftest.guarded_env`: no network, a decoy torch hub cache,
    another time zone and locale, …), whose logs land in ``work``; the scenarios run in the plain
    environment, so the same bytes there show that none of it changed an output."""
    if not (SYSTEM_FMNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST not in {SYSTEM_FMNIST} (make test installs it where apt works)")
    top = tmp_path_factory.mktemp("smoke")
    repo, work = copy_repo(top / "repo"), top / "guard"
    work.mkdir()
    set_params(repo, **SMOKE)
    (repo / "dvc.lock").unlink()  # a first run: no stage is skipped because the committed lock matches it
    for runs in ("metrics/captioner", "metrics/test_scores", "plots/captioner"):
        shutil.rmtree(repo / runs)  # the committed run's files of each seed: this run has seeds of its own
    git_init(repo)
    out = run(["dvc", "repro"], repo, extra_env=guarded_env(repo, work)).stdout
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "a run of the smoke params"], repo)
    run(["git", "tag", "smoke-run"], repo)
    return repo, out, work


def restore(repo) -> None:
    """Back to the committed smoke run: its files, and its outputs from DVC's cache."""
    run(["git", "reset", "-q", "--hard", "smoke-run"], repo)
    run(["git", "clean", "-qfd", "--", "src", "stages", "data/weights"], repo)
    run(["dvc", "checkout", "--force", "-q"], repo)


def test_one_repro_runs_every_stage_and_writes_every_output(smoke):
    repo, out, _ = smoke
    for stage in STAGES:
        assert f"Running stage '{stage}'" in out
    metrics = json.loads((repo / "metrics/cnn.json").read_text())
    assert metrics["n_params"] == 769_930
    assert set(metrics["rates"]) == {"lr_0_01", "lr_0_1", "lr_0_001"}
    assert metrics["best_lr"] == max(metrics["rates"].values(), key=lambda r: r["val_acc"])["lr"]  # first on a tie
    assert metrics["best_lr"] == 0.1  # the middle of SMOKE["lr"]
    best = metrics["rates"][f"lr_{str(metrics['best_lr']).replace('.', '_')}"]
    assert metrics["best_val_acc"] == best["val_acc"] == max(r["val_acc"] for r in metrics["rates"].values())
    assert metrics["images"] == {"train": 400, "val": 400, "test": 400}
    assert metrics["kernels"] == "portable" and metrics["kernel_path"] == "PyTorch AVX2, MKL COMPATIBLE, oneDNN AVX2"
    assert metrics["threads"] == 1
    assert 0.3 < metrics["best_test_acc"] <= 1.0  # two epochs on 400 images learn something
    for name in ("lr_0_01.pt", "lr_0_1.pt", "lr_0_001.pt", "best.pt"):
        assert (repo / "models/cnn" / name).stat().st_size > 3_000_000  # 769,930 float32 weights
    for name in CNN_PLOTS:
        if name.endswith(".png"):
            assert Image.open(repo / "plots/cnn" / name).format == "PNG"
    best_rows = (repo / "plots/cnn/best.csv").read_text().splitlines()
    assert best_rows[0] == "epoch,train_loss,val_acc" and [r.split(",")[0] for r in best_rows[1:]] == ["1", "2"]
    # a row per rate and epoch
    rows = (repo / "plots/cnn/sweep.csv").read_text().splitlines()
    assert rows[0] == "epoch,lr,train_loss,val_acc" and len(rows) == 1 + len(SMOKE["lr"]) * 2
    for name in ("conv1.png", "conv2.png", "feature_maps.png"):
        assert Image.open(repo / "plots/kernels" / name).format == "PNG"
    shifts = json.loads((repo / "metrics/equivariance.json").read_text())  # Q2.1 on the 400 test images
    assert shifts["images"] == 400 and shifts["conv1_shift_max_diff"] < 1e-6
    assert shifts["agreement_by_shift"]["px_0"] == 1.0 and set(shifts["one_pixel_change"]) == {
        "conv1",
        "pool1",
        "conv2",
        "pool2",
    }
    assert not any((repo / "models/.resume/train_cnn").iterdir())  # removed once the run is complete

    # Captioning data on the synthetic demo set, with a randomly initialised encoder.
    dataset = json.loads((repo / "metrics/dataset.json").read_text())
    assert dataset["dataset"] == "synthetic" and dataset["synthetic"] is True
    assert sum(dataset["images"].values()) == 27 and dataset["captions"] == 135
    assert len(list((repo / "data/images").glob("*.tif"))) == 27
    # how the images became RGB: recorded with the choice, and named in the report
    assert dataset["imagery"] == {"bands": [], "stretch": [2, 98], "read_as": {"TIFF RGB": 27}}
    report = (repo / "REPORT.md").read_text()
    assert (
        "| images as RGB | 27 images read as TIFF RGB; the first three bands of a 3- or 4-band image (one band "
        "as grey); deeper than 8 bits: percentiles 2 to 98 stretched to 0-255 |" in report
    )
    features = json.loads((repo / "metrics/features.json").read_text())
    assert (
        features["encoder_weights"] == "random" and features["precision"] == "float32" and features["threads"] == 1
    )  # captioning.threads
    assert features["imagery"] == {"bands": [], "stretch": [2, 98]}
    with h5py.File(repo / "data/features/features.h5") as h5:
        assert h5["features"].shape == (27, 4, 512)  # 64x64 images: 2x2 regions
    vocab = json.loads((repo / "data/vocab/vocab.json").read_text())
    assert vocab["itos"][:4] == ["<pad>", "<start>", "<end>", "<unk>"] and len(vocab["images"]) == 27
    test_images = {
        im["filename"]
        for im in json.loads((repo / "data/captions.json").read_text())["images"]
        if im["split"] == "test"
    }
    evaluated, trained = {}, {}
    for run_ in RUNS:
        kind, seed = run_.split("_seed")
        trained[run_] = json.loads((repo / f"metrics/captioner/{run_}.json").read_text())
        t = trained[run_]
        assert t["epochs_run"] == 2 and 1 <= t["best_epoch"] <= 2 and t["seed"] == int(seed)
        assert t["precision"] == "float32" and t["kernels"] == "portable"
        series = repo / f"plots/captioner/{run_}/plots/metrics"
        for name in ("train_loss", "val_bleu4", "lr"):  # logged with DVCLive: one row per epoch, no timestamps
            rows = (series / f"{name}.tsv").read_text().splitlines()
            assert rows[0] == f"step\t{name}" and [r.split("\t")[0] for r in rows[1:]] == ["1", "2"]
        # the summary agrees with the series: the last rate, the cuts, the best epoch's BLEU-4
        rates = [float(r.split("\t")[1]) for r in (series / "lr.tsv").read_text().splitlines()[1:]]
        bleu = [float(r.split("\t")[1]) for r in (series / "val_bleu4.tsv").read_text().splitlines()[1:]]
        assert t["final_lr"] == rates[-1] and t["lr_cuts"] == sum(b < a for a, b in pairwise(rates))
        assert bleu[t["best_epoch"] - 1] == max(bleu)
        assert t["step"] == 2
        assert (repo / f"models/captioner/{kind}/seed{seed}.pt").is_file()
        evaluated[run_] = json.loads((repo / f"metrics/test_scores/{run_}.json").read_text())
        e = evaluated[run_]
        assert e["decoder"] == kind and e["seed"] == int(seed)
        assert set(e["captions"]) == test_images and e["images"] == len(test_images)
        assert all(set(c) == {"greedy", "beam", "beam_lp"} for c in e["captions"].values())
    # the seeds are different runs: other weights, other scores
    for kind in ("vanilla", "attention"):
        assert trained[f"{kind}_seed0"]["train_loss"] != trained[f"{kind}_seed1"]["train_loss"]
    scores = json.loads((repo / "metrics/captioning.json").read_text())
    assert scores["dataset"] == "synthetic" and scores["encoder_weights"] == "random" and scores["beam_size"] == 3
    assert scores["runs_per_decoder"] == 2
    assert (
        scores["length_penalty"]
        == yaml.safe_load((repo / "params.yaml").read_text())["captioning"]["decode"]["length_penalty"]
        > 0
    )
    # each decoder's mean and spread over its two seeds, and the difference seed by seed, from the
    # runs' own evaluations
    bootstrap = json.loads((repo / "metrics/bootstrap.json").read_text())
    for how in ("greedy", "beam", "beam_lp"):
        for k in ("bleu1", "bleu4", "rouge_l", "cider"):
            per_seed = {r: evaluated[r]["scores"][how][k] for r in RUNS}
            for kind in ("vanilla", "attention"):
                a, b = per_seed[f"{kind}_seed0"], per_seed[f"{kind}_seed1"]
                assert scores[kind][how][k]["mean"] == pytest.approx((a + b) / 2, abs=1e-6)
                assert scores[kind][how][k]["sd"] == pytest.approx(abs(a - b) / 2**0.5, abs=1e-6)
            d = [per_seed[f"attention_seed{s}"] - per_seed[f"vanilla_seed{s}"] for s in (0, 1)]
            diff = scores["attention_minus_vanilla"][how][k]
            assert diff["mean"] == pytest.approx(sum(d) / 2, abs=1e-6)
            assert diff["sd"] == pytest.approx(abs(d[0] - d[1]) / 2**0.5, abs=1e-6)
            assert diff["seeds_ahead"] == sum(x > 0 for x in d)
            assert 0.0 <= scores["vanilla"][how]["bleu4"]["mean"] <= scores["vanilla"][how]["bleu1"]["mean"] <= 1.0
            # the paired bootstrap: its interval for BLEU-4 and CIDEr, seed by seed and pooled
            if k in ("bleu4", "cider"):
                assert diff["low"] <= diff["high"] and 0.0 <= diff["wins"] <= 1.0
                for s in (0, 1):
                    by_seed = bootstrap["by_seed"][how][k][str(s)]
                    assert by_seed["difference"] == pytest.approx(d[s], abs=2e-6)
                    assert by_seed["low"] <= by_seed["high"]
            else:
                assert "low" not in diff
    assert bootstrap["draws"] == 1000 and bootstrap["level"] == 0.95 and bootstrap["seeds"] == [0, 1]
    assert set(scores["vanilla"]["greedy"]) >= {"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider"}
    assert "meteor" not in scores["vanilla"]["greedy"]  # captioning.scores.meteor: false
    assert 0.0 <= scores["baseline"]["bleu4"] <= 1.0
    # every run's curves in one table for `dvc plots`: a row per run and epoch
    runs_csv = (repo / "plots/captioning/runs.csv").read_text().splitlines()
    assert runs_csv[0] == "run,decoder,seed,epoch,train_loss,val_bleu4,lr" and len(runs_csv) == 1 + 4 * 2
    assert {r.split(",")[0] for r in runs_csv[1:]} == set(RUNS)
    generated = json.loads((repo / "plots/captions/caps_generated_enc_dec_w_attention.json").read_text())
    assert sorted(generated) == ["2.tif", "5.tif", "7.tif"] and all(isinstance(c, str) for c in generated.values())
    for name in ("attention_1.png", "attention_2.png", "attention_3.png", "captions.png"):
        assert Image.open(repo / "plots/captions" / name).format == "PNG"
    assert Image.open(repo / "plots/captioning/curves.png").format == "PNG"
    chosen = json.loads((repo / "plots/captions/decoder.json").read_text())
    assert chosen == {"decoder": "attention", "seed": 0, "val_bleu4": trained["attention_seed0"]["val_bleu4"]}
    report = check_report(repo)  # every section, every image link resolving
    assert "5.tif**: " + generated["5.tif"] in report and "SYNTHETIC demo set" in report
    assert "Captioned by the attention decoder of seed 0, the first of the 2" in report
    encoder_md5 = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["encoder_weights"]["outs"][0]["md5"]
    assert f"its file's MD5 in dvc.lock `{encoder_md5}`" in report  # the weights behind every captioning number
    greedy = scores["attention_minus_vanilla"]["greedy"]["bleu4"]
    assert f"| BLEU-4, greedy | {scores['attention']['greedy']['bleu4']['mean']:.4f} ± " in report
    assert (
        f" | {greedy['mean']:+.4f} ± {greedy['sd']:.4f} | [{greedy['low']:+.4f}, {greedy['high']:+.4f}] | "
        f"{greedy['wins']:.1%} | {greedy['seeds_ahead']} of 2 | "
    ) in report
    assert "paired bootstrap resampling (Koehn, 2004)" in report and "| test score | seed 0 | seed 1 |" in report


def test_no_stage_writes_its_dependencies_or_touches_the_network_or_the_hub_cache(smoke):
    """The smoke run on the hostile machine: every stage ran through the dependency audit, and none
    changed one of its dependencies while it ran (each dependency hashed before and after); the
    guard was in every stage's process, and none of them opened a socket or looked into the torch
    hub cache, which holds a file named as torchvision's ImageNet weights."""
    repo, _, work = smoke
    audits = audit_log(work)
    commands = {command_of(stage) for stage in STAGES}
    assert sorted(a["cmd"] for a in audits) == sorted(commands)  # each stage once
    for a in audits:
        assert a["rc"] == 0 and a["deps"] and a["changed"] == [], a
    events = guard_log(work)
    ran = [detail for _, what, detail in events if what == "ran"]
    for command in commands:  # the guard was loaded in the stage's own process
        script = command.split()[0]
        assert any(detail.startswith(f"['{script}'") for detail in ran), (script, ran)
    assert [e for e in events if e[1] in ("network", "hub")] == []


# the per-run stages run again by the machine test: one run (the attention decoder, the one whose
# arithmetic has the most to differ in); the other runs' stages are the same code on other seeds
RERUN = [s for s in STAGES if "@" not in s or s.endswith("attention-0")]


def test_the_outputs_do_not_depend_on_the_machine_the_run_was_made_on(smoke):
    """Every stage (of the per-run ones, one run's) run again here, in new processes and in the plain
    environment (this machine's own torch hub cache, time zone, locale, threads; network as it is),
    writes the bytes the hostile machine's run wrote: no model, metric, plot or other cached output
    (dvc.lock's digests) changes, and the report only in the commit it names (the run was committed
    after it was made)."""
    repo, _, _ = smoke
    try:
        before = {name: run(["git", "show", f"HEAD:{name}"], repo).stdout for name in ("dvc.lock", "REPORT.md")}
        out = run(["dvc", "repro", "--force", "--single-item", *RERUN], repo).stdout
        assert re.findall(r"Running stage '([^']+)'", out) == RERUN
        changed = {line[3:] for line in run(["git", "status", "--porcelain"], repo).stdout.splitlines()}
        assert changed <= {"dvc.lock", "REPORT.md", "REPORT.html"}, changed
        locks = [
            yaml.safe_load(before["dvc.lock"])["stages"],
            yaml.safe_load((repo / "dvc.lock").read_text())["stages"],
        ]
        for lock in locks:
            del lock["report"]["outs"]  # the report's own bytes: they name the commit
        assert locks[0] == locks[1]
        lines = [before["REPORT.md"].splitlines(), (repo / "REPORT.md").read_text().splitlines()]
        differ = [(a, b) for a, b in zip(*lines, strict=True) if a != b]
        assert [a.split("|")[1].strip() for a, _ in differ] in ([], ["git commit checked out"]), differ
    finally:
        restore(repo)


def test_a_weights_file_added_and_named_reruns_the_features_and_what_follows_only(smoke):
    """A user's ResNet-18 state dict put in data/weights/, tracked with `dvc add` and named by the
    param: the weights stage takes its bytes as they are (dvc.lock's digest of the encoder file is
    the file's own), and exactly the features and everything after them run again."""
    import torch
    from torchvision.models import resnet18

    repo, _, _ = smoke
    try:
        torch.manual_seed(3)
        torch.save(resnet18().state_dict(), repo / "data/weights/mine.pth")
        run(["dvc", "add", "-q", "data/weights/mine.pth"], repo)
        set_params(repo, captioning={"encoder": {"weights": "data/weights/mine.pth"}})
        # the first two run (the training after them costs minutes); what reads their outputs is stale
        out = run(["dvc", "repro", "extract_features"], repo).stdout
        assert set(re.findall(r"Running stage '([^']+)'", out)) == {"encoder_weights", "extract_features"}
        assert stale(repo) == {*PER_RUN, "compare_captioners", "caption_images", "report"}
        lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
        mine = hashlib.md5((repo / "data/weights/mine.pth").read_bytes()).hexdigest()
        assert [o["md5"] for o in lock["encoder_weights"]["outs"]] == [mine]
        assert {d["path"]: d["md5"] for d in lock["extract_features"]["deps"]}["models/encoder.pth"] == mine
        features = json.loads((repo / "metrics/features.json").read_text())
        assert features["encoder_weights"] == "data/weights/mine.pth"
    finally:
        restore(repo)


def test_imagenet_weights_offline_stop_the_run_at_its_first_stage_in_one_line(smoke, tmp_path):
    """`captioning.encoder.weights: imagenet` without the file and without network: the first stage
    stops with one line naming the URL, the file and the folder to put it in; nothing else runs, and
    no output but the weights stage's own (which DVC removes before it runs the stage) is touched."""
    repo, _, _ = smoke
    try:
        set_params(repo, captioning={"encoder": {"weights": "imagenet"}})
        before = {p: p.read_bytes() for p in (repo / "data").rglob("*") if p.is_file()}
        proc = run(["dvc", "repro"], repo, check=False, extra_env=guarded_env(repo, tmp_path))
        assert proc.returncode != 0
        assert re.findall(r"Running stage '([^']+)'", proc.stdout) == ["encoder_weights"]
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, proc.stderr
        assert re.fullmatch(
            re.escape(
                "error: data/weights/resnet18-f37072fd.pth: not found, and "
                "https://download.pytorch.org/models/resnet18-f37072fd.pth: cannot be downloaded (URLError: network "
                "access refused by the tests' socket guard ("
            )
            + r"\w+"
            + re.escape(
                ")); download https://download.pytorch.org/models/resnet18-f37072fd.pth where there is internet and "
                "put it in data/weights/ (or `make weights`, which copies it from a torch hub cache)"
            ),
            errors[0],
        ), errors[0]
        assert "Traceback" not in proc.stderr
        assert {p: p.read_bytes() for p in (repo / "data").rglob("*") if p.is_file()} == before
        assert not (repo / "models/encoder.pth").exists()
        assert [e for e in guard_log(tmp_path) if e[1] == "hub"] == []  # the hub cache was not looked at
    finally:
        restore(repo)


def test_after_a_run_nothing_is_stale_and_dvc_shows_the_metrics_and_plots(smoke, tmp_path):
    repo, _, _ = smoke
    dry = run(["dvc", "repro", "--dry"], repo)
    assert "Running stage" not in dry.stdout and "Data and pipelines are up to date" in dry.stdout
    assert "Running stage" not in run(["dvc", "repro"], repo).stdout
    assert "matches" in run(["python", "tools/check_lock.py"], repo).stdout
    shown = run(["dvc", "metrics", "show", "--json"], repo).stdout
    assert "best_test_acc" in shown and "rates" in shown
    html = tmp_path / "plot_html"
    run(["dvc", "plots", "show", "-o", str(html)], repo)
    page = (html / "index.html").read_text()
    for title in (
        "Training loss per epoch (best learning rate)",
        "Validation accuracy per epoch (best learning rate)",
        "Validation accuracy per epoch, one line per learning rate",
        "Caption decoders, validation BLEU-4 per epoch (greedy decoding)",
        "Caption decoders, learning rate per epoch (cut when validation BLEU-4 stalls)",
    ):
        assert title in page
    for image in ("plots_captioning_curves.png", "plots_captions_captions.png", "plots_captions_attention_1.png"):
        assert image in page and (html / "static" / f"workspace_{image}").is_file()


def test_a_single_rate_experiment_reproduces_its_row_of_the_sweep(smoke):
    """`dvc exp run -S lr=0.1` works as typed and trains just that rate, to the same numbers, digit
    for digit, as the rate's row of the two-rate sweep; `dvc metrics diff` names every metric by
    keys that lead back to one value."""
    repo, _, _ = smoke
    swept = json.loads((repo / "metrics/cnn.json").read_text())["rates"]["lr_0_1"]
    try:
        out = run(["dvc", "exp", "run", "-S", "lr=0.1", "-n", "only-0.1"], repo).stdout
        assert {s for s in STAGES if f"Running stage '{s}'" in out} == {
            "train_cnn",
            "dump_kernels",
            "equivariance",
            "report",
        }, out
        exp_metrics = json.loads((repo / "metrics/cnn.json").read_text())
        assert set(exp_metrics["rates"]) == {"lr_0_1"} and exp_metrics["best_lr"] == 0.1
        assert exp_metrics["rates"]["lr_0_1"] == swept
        assert "only-0.1" in run(["dvc", "exp", "show", "--json"], repo).stdout
        # `dvc metrics diff` (and the columns of `dvc exp show`) name a metric by its keys joined with
        # dots: every name must lead back to one value, so no key may hold a dot (lr_0_1, not 0.1).
        diff = json.loads(run(["dvc", "metrics", "diff", "--all", "--json"], repo).stdout)
        assert {"metrics/cnn.json", "metrics/captioning.json", "metrics/theory.json"} <= set(diff)
        for path, names in diff.items():
            doc = json.loads((repo / path).read_text())
            for name, change in names.items():
                if change.get("new") is None:  # in HEAD only (the rates this experiment did not train)
                    continue
                value = doc
                for key in name.split("."):
                    assert isinstance(value, dict) and key in value, (path, name)
                    value = value[key]
                assert value == change["new"], (path, name)
        assert diff["metrics/cnn.json"]["best_lr"]["new"] == 0.1
    finally:
        restore(repo)


def test_seeds_are_a_param_a_seed_added_or_dropped_runs_only_what_it_changes(smoke):
    """`dvc exp run -S 'captioning.seeds=[…]'` as typed: a seed added trains and scores just its runs
    (the other seeds' stages are up to date) and the comparison is made again over the new seeds; a
    seed dropped trains nothing, and the comparison and the report then say what one seed can show
    (and the images are captioned again when the first seed changes)."""
    repo, _, _ = smoke
    before = json.loads((repo / "metrics/captioner/attention_seed0.json").read_text())
    try:
        out = run(["dvc", "exp", "run", "-S", "captioning.seeds=[0,1,2]", "-n", "three-seeds"], repo).stdout
        ran = {s for s in re.findall(r"Running stage '([^']+)'", out)}
        assert ran == {
            "train_captioner@vanilla-2",
            "train_captioner@attention-2",
            "evaluate@vanilla-2",
            "evaluate@attention-2",
            "compare_captioners",
            "report",
        }, out  # caption_images captions with the first seed's decoder: still seed 0's
        scores = json.loads((repo / "metrics/captioning.json").read_text())
        assert scores["runs_per_decoder"] == 3 and scores["attention_minus_vanilla"]["beam"]["bleu4"]["sd"] is not None
        assert json.loads((repo / "metrics/captioner/attention_seed0.json").read_text()) == before
        forget_seed(repo, 2)
        out = run(["dvc", "exp", "run", "-S", "captioning.seeds=[1]", "-n", "one-seed"], repo)
        ran = set(re.findall(r"Running stage '([^']+)'", out.stdout))
        assert ran == {"compare_captioners", "caption_images", "report"}, out.stdout  # the first seed is 1 now
        # seed 0's metrics files are still there (git tracks them; DVC keeps the outputs of stages it no
        # longer has): named, and not read
        (warned,) = [line for line in out.stderr.splitlines() if "no longer in captioning.seeds" in line]
        assert "metrics/captioner/attention_seed0.json, metrics/captioner/vanilla_seed0.json" in warned
        assert "metrics/test_scores/attention_seed0.json, metrics/test_scores/vanilla_seed0.json" in warned
        assert "seed1" not in warned
        scores = json.loads((repo / "metrics/captioning.json").read_text())
        one = json.loads((repo / "metrics/test_scores/attention_seed1.json").read_text())["scores"]["beam"]["bleu4"]
        assert scores["runs_per_decoder"] == 1
        assert scores["attention"]["beam"]["bleu4"] == {"mean": one, "sd": None}
        report = (repo / "REPORT.md").read_text()
        # one seed: the bootstrap resamples the test images alone, and the report says what that leaves out
        assert "With one seed (`captioning.seeds`) only the test images are resampled" in report
        assert "| test score | seed " not in report  # no seed-by-seed table
        diff = scores["attention_minus_vanilla"]["beam"]["bleu4"]
        assert diff["low"] <= diff["high"] and diff["sd"] is None
        # a number where a list belongs: DVC fails before any stage (its matrix needs a list)
        bad = run(["dvc", "exp", "run", "-S", "captioning.seeds=1"], repo, check=False)
        assert bad.returncode != 0 and "Running stage" not in bad.stdout
    finally:
        forget_seed(repo, 2)


def forget_seed(repo, seed: int) -> None:
    """Back to the committed run, without the files of ``seed``'s runs, which it does not have (DVC
    leaves the outputs of stages no longer in dvc.yaml where they are)."""
    restore(repo)
    for pattern in ("models/captioner/*/seed{}.pt", "metrics/*/*_seed{}.json"):
        for left in repo.glob(pattern.format(seed)):
            left.unlink()
    for left in repo.glob(f"plots/captioner/*_seed{seed}"):
        shutil.rmtree(left)


def stale(repo) -> set[str]:
    return set(json.loads(run(["dvc", "status", "--json"], repo).stdout))


def test_a_change_to_a_file_makes_exactly_the_stages_that_read_it_stale(smoke):
    """A change to a file makes exactly the stages that read it stale, and the CI gate
    (tools/check_lock.py) names them until they are rerun."""
    repo, _, _ = smoke
    try:
        check_dependencies_and_the_lock_gate(repo)
    finally:
        restore(repo)


def check_dependencies_and_the_lock_gate(repo):
    # A file put where the user's weights go is a dependency of the stage that chooses the weights,
    # and of nothing else (the features depend on the file that stage writes).
    (repo / "data/weights/mine.pth").write_bytes(b"new weights")
    assert stale(repo) == {"encoder_weights"}
    (repo / "data/weights/mine.pth").unlink()
    # A captioning module: the stages whose scripts import it, directly or not, and no other
    # (compare_captioners scores the captions' tokens, not the vocabulary's ids: not it).
    vocab = repo / "src/hw2/captioning/vocab.py"
    text = vocab.read_text()
    vocab.write_text(text + "\n# an edit\n")
    assert stale(repo) == {"build_vocab", *PER_RUN, "caption_images"}
    vocab.write_text(text)
    assert stale(repo) == set()
    # The kernels: every stage that computes with torch, and no other.
    params = (repo / "params.yaml").read_text()
    assert params.count("kernels: portable\n") == 1
    (repo / "params.yaml").write_text(params.replace("kernels: portable\n", "kernels: native\n"))
    assert stale(repo) == {
        "encoder_weights",  # the random initialisation's draws
        "train_cnn",
        "dump_kernels",
        "equivariance",
        "theory",
        "extract_features",
        *PER_RUN,
        "caption_images",
        "report",
    }  # the report prints params.yaml
    (repo / "params.yaml").write_text(params)
    # A Fashion-MNIST module: the gate fails naming the four stages that import it (the data, the
    # sweep, and Q2.1's and Q2.3's, which read test images).
    data = repo / "src/hw2/fashion/data.py"
    text = data.read_text()
    data.write_text(text + "\n# an edit\n")
    failed = run(["python", "tools/check_lock.py"], repo, check=False)
    assert failed.returncode == 1, failed.stdout
    named = {line.split(":")[0].strip() for line in failed.stderr.splitlines() if line.startswith("  ")}
    assert named == {"download_fashion_mnist", "train_cnn", "dump_kernels", "equivariance"}, failed.stderr
    assert "src/hw2/fashion/data.py modified" in failed.stderr
    data.write_text(text)
    # Q1's module: `dvc repro` reruns exactly its stage (the same outputs, so nothing after it runs),
    # and the gate passes again.
    theory = repo / "src/hw2/theory.py"
    theory.write_text(theory.read_text() + "\n# an edit\n")
    assert stale(repo) == {"theory"}
    rerun = run(["dvc", "repro"], repo).stdout
    assert rerun.count("Running stage") == 1 and "'theory'" in rerun, rerun
    assert "matches" in run(["python", "tools/check_lock.py"], repo).stdout


def test_the_results_travel_through_a_remote_to_a_fresh_clone(smoke, tmp_path):
    """The results travel through a DVC remote (here a local folder): a fresh clone pulls every output
    and has nothing to run; its plots and report work."""
    repo, _, _ = smoke
    try:
        check_push_then_pull_into_a_fresh_clone(repo, tmp_path)
    finally:
        restore(repo)


def check_push_then_pull_into_a_fresh_clone(repo, tmp_path):
    store = tmp_path / "dvc-store"
    run(["dvc", "remote", "add", "--default", "store", str(store)], repo)
    run(["git", "commit", "-qam", "a remote"], repo)  # the clones below are made of the commit
    run(["dvc", "push"], repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    assert not (clone / "models/cnn").exists() and not (clone / "data/features/features.h5").exists()
    run(["dvc", "pull"], clone)
    for out in (
        "data/fashion_mnist.npz",
        "models/cnn/best.pt",
        "data/features/features.h5",
        "data/vocab/vocab.json",
        "models/captioner/attention/seed1.pt",
        "data/baseline.json",
        "data/images/2.tif",
    ):
        assert (clone / out).is_file(), out
    assert stale(clone) == set()
    assert "Running stage" not in run(["dvc", "repro"], clone).stdout
    run(["dvc", "plots", "show", "-o", str(tmp_path / "clone_plots")], clone)
    assert (tmp_path / "clone_plots" / "static" / "workspace_plots_captions_captions.png").is_file()
    check_report(clone)
    # A machine that needs only some outputs: nothing runs, and only what a stage to run would need is
    # pulled (here nothing).
    partial = tmp_path / "partial"
    run(["git", "clone", "-q", str(repo), str(partial)], tmp_path)
    out = run(["dvc", "repro", "--pull", "--allow-missing"], partial).stdout
    assert "Running stage" not in out and not (partial / "models/cnn").exists(), out
    # What `make compare` shows: the homework's comparisons, a handful of columns.
    compare = re.search(r"^COMPARE = (.*)$", (repo / "Makefile").read_text(), re.M)
    assert compare is not None
    keep = compare.group(1).replace("$$", "$")
    table = run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", keep], repo).stdout
    assert table.splitlines()[0].split(",") == [
        "Experiment",
        "best_lr",
        "best_test_acc",
        "best_val_acc",
        "attention.beam.bleu4.mean",
        "attention.beam.bleu4.sd",
        "attention.beam_lp.bleu4.mean",
        "attention.beam_lp.bleu4.sd",
        "attention_minus_vanilla.beam.bleu4.mean",
        "attention_minus_vanilla.beam.bleu4.sd",
        "attention_minus_vanilla.beam_lp.bleu4.mean",
        "attention_minus_vanilla.beam_lp.bleu4.sd",
        "vanilla.beam.bleu4.mean",
        "vanilla.beam.bleu4.sd",
        "vanilla.beam_lp.bleu4.mean",
        "vanilla.beam_lp.bleu4.sd",
        "lr",
    ], table


def experiment_metrics(repo, name: str) -> dict:
    """metrics/cnn.json of experiment ``name``, from `dvc exp show --json`."""

    def find(node):
        if isinstance(node, dict):
            if node.get("name") == name and isinstance(node.get("data"), dict):
                return node["data"]["metrics"]["metrics/cnn.json"]["data"]
            node = list(node.values())
        if isinstance(node, list):
            for child in node:
                if (found := find(child)) is not None:
                    return found
        return None

    found = find(json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout))
    assert found is not None, name
    return found


def test_queued_experiments_run_side_by_side_give_the_numbers_of_the_same_runs_one_by_one(smoke):
    """Two experiments queued and run by two workers side by side give the numbers of the same
    training run one at a time: the committed smoke run's rows (a rate alone equals its row of a
    sweep, tests/test_cnn.py)."""
    repo, _, _ = smoke
    one_by_one = json.loads((repo / "metrics/cnn.json").read_text())["rates"]
    experiments = {"q-0.01": "lr=0.01", "q-0.1": "lr=0.1"}
    try:
        for name, setting in experiments.items():
            run(["dvc", "exp", "run", "--queue", "-S", setting, "-n", name], repo)
        # Not through pipes: DVC's queue workers inherit the starting command's stdout and stderr and
        # keep them open while they live, so reading them to the end would wait for the workers to exit.
        started = subprocess.run(
            ["dvc", "queue", "start", "-j", "2"],
            cwd=repo,
            env=env(),
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert started.returncode == 0
        deadline = time.time() + 400
        while True:
            status = run(["dvc", "queue", "status"], repo).stdout
            if not any(word in status for word in ("Queued", "Running")):
                break
            assert time.time() < deadline, status
            time.sleep(3)
        assert status.count("Success") == 2, status
        for name, setting in experiments.items():
            rate = "lr_" + setting.split("=")[1].replace(".", "_")
            assert experiment_metrics(repo, name)["rates"] == {rate: one_by_one[rate]}, name
    finally:
        subprocess.run(
            ["dvc", "queue", "stop"],
            cwd=repo,
            env=env(),
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # no idle worker outlives the test
        restore(repo)
