"""Stage report: REPORT.md and REPORT.html, every answer of the homework regenerated from the
pipeline's own outputs (metrics/, plots/, params.yaml), nothing typed by hand."""
import csv
import hashlib
import json
import subprocess

import yaml
from _stage import ROOT, load_params, stage

from hw2.common.atomic import write_text
from hw2.common.errors import InputError
from hw2.notices import print_warnings
from hw2.report import Code, Heading, Image, Para, Table, to_html, to_markdown

MODELS = ("vanilla", "attention")
SCORES = [("bleu1", "BLEU-1"), ("bleu2", "BLEU-2"), ("bleu3", "BLEU-3"), ("bleu4", "BLEU-4"), ("meteor", "METEOR"),
          ("rouge_l", "ROUGE-L"), ("cider", "CIDEr")]


def read_json(rel):
    try:
        return json.loads((ROOT / rel).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{rel}: cannot read ({exc}); run `dvc repro` first") from None


def image(rel, alt):
    if not (ROOT / rel).is_file():
        raise InputError(f"{rel}: missing; run `dvc repro` first")
    return Image(rel, alt)


def provenance():
    """The checked-out commit and a digest of dvc.lock's entries for every stage but this one."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src", "stages", "dvc.yaml", "params.yaml"],
                               cwd=ROOT, capture_output=True).returncode
        if dirty:  # the code or params that ran differ from the commit (an experiment, or work in progress)
            commit = f"`{commit}` + uncommitted changes to src/, stages/, dvc.yaml or params.yaml"
        else:
            commit = f"`{commit}`"
    except (OSError, subprocess.CalledProcessError):
        commit = "`(not a git checkout)`"
    try:
        stages = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        raise InputError("dvc.lock: missing or unreadable; run `dvc repro`") from None
    stages.pop("report", None)
    return commit, hashlib.sha256(json.dumps(stages, sort_keys=True).encode()).hexdigest()[:16]


def fmt(x, digits=4):
    return "n/a" if x is None else f"{x:.{digits}f}"


def theory_section():
    t = read_json("metrics/theory.json")
    with open(ROOT / "plots" / "theory" / "layers.csv", newline="") as f:
        layers = list(csv.DictReader(f))
    q3 = t["q1_3"]
    blocks = [Heading(2, "Question 1"), Heading(3, "Q1.1 and Q1.2: parameters")]
    for net, total in (("Q1.1 CNN", t["q1_1_params"]), ("Q1.2 fully connected", t["q1_2_params"])):
        rows = [[r["layer"], r["output"], f"{int(r['weights']):,}", f"{int(r['biases']):,}", f"{int(r['params']):,}"]
                for r in layers if r["network"] == net]
        blocks += [Para(f"**{net}** (input 28x28x3): **{total:,} parameters**."),
                   Table(["layer", "output", "weights", "biases", "parameters"], rows)]
    cnn = [r for r in layers if r["network"] == "Q1.1 CNN"]
    mlp = [r for r in layers if r["network"] == "Q1.2 fully connected"]
    conv, pooled = cnn[0], next(r for r in cnn if r["layer"].startswith("MaxPool"))
    inputs, hidden = mlp[0]["output"], next(r for r in mlp if r["layer"].startswith("Linear"))["output"]
    blocks.append(Para(
        f"The fully connected network has {t['fc_over_cnn']:.1f}x as many parameters: its hidden layer joins "
        f"every one of the {int(inputs):,} input values to each of {hidden} units, while the convolution "
        f"(`{conv['layer']}`) shares {int(conv['weights']):,} weights across every position of the image, and "
        f"pooling shrinks what the output layer sees to {pooled['output']} values. Weight sharing and local "
        "connectivity give the convolution far fewer parameters and translation equivariance; the fully "
        "connected layer ignores the image's spatial structure."))
    blocks += [Heading(3, "Q1.3: self-attention as softmax(X A Xᵀ)"), Para(
        f"With Q = X W_Q and K = X W_K (W_Q, W_K of size n x d), the head's probabilities are "
        f"softmax(Q Kᵀ / √d) = softmax(X A Xᵀ) with `A = W_Q W_Kᵀ / √d`, a product through a d-dimensional "
        f"space, so rank(A) <= d. Checked in float64 on random matrices (L = {q3['L']}, n = {q3['n']}, "
        f"d = {q3['d']}, seed {q3['seed']}): rank(A) = {q3['rank_A']}; largest difference between "
        f"softmax(X A Xᵀ) and the head's probabilities {q3['max_diff_softmax_XAXt']:.1e}; replacing W_Q by "
        f"W_Q B and W_K by W_K B⁻ᵀ (B random and invertible, condition number {q3['cond_B']:.1f}) leaves "
        f"A = W_Q B B⁻¹ W_Kᵀ / √d unchanged: largest difference {q3['max_diff_reparametrised_head']:.1e}. "
        f"All identities hold: **{'yes' if q3['holds'] else 'NO'}**.")]
    return blocks


def fashion_section():
    m = read_json("metrics/cnn.json")
    rows = [[f"**{r['lr']:g} (best)**" if r["lr"] == m["best_lr"] else f"{r['lr']:g}", fmt(r["val_acc"]),
             fmt(r["test_acc"]), fmt(r["train_loss"])] for r in sorted(m["rates"].values(), key=lambda r: r["lr"])]
    return [Heading(2, "Question 2: Fashion-MNIST CNN"), Heading(3, "Q2.2: learning rates"),
            Para(f"The CNN ({m['n_params']:,} parameters) trained with SGD at each rate on {m['images']['train']:,} "
                 f"images; validation on {m['images']['val']:,}, test on {m['images']['test']:,}. Best by validation "
                 f"accuracy: **lr = {m['best_lr']:g}** (validation {fmt(m['best_val_acc'])}, test "
                 f"{fmt(m['best_test_acc'])})."),
            Table(["learning rate", "validation accuracy", "test accuracy", "final training loss"], rows),
            image("plots/cnn/best_train_loss.png", "training loss of the best rate"),
            image("plots/cnn/best_val_acc.png", "validation accuracy of the best rate"),
            image("plots/cnn/rates_val_acc.png", "validation accuracy of every rate"),
            Heading(3, "Q2.3: kernels of the best model"),
            image("plots/kernels/conv1.png", "conv1 kernels"), image("plots/kernels/conv2.png", "conv2 kernels")]


def captioning_section(order):
    c = read_json("metrics/captioning.json")
    captions = read_json("plots/captions/caps_generated_enc_dec_w_attention.json")
    rows = [["caption-prior baseline"] + [fmt(c["baseline"][k]) for k, _ in SCORES]]
    for m in MODELS:
        for how in ("greedy", "beam"):
            label = f"{m}, {'greedy' if how == 'greedy' else 'beam ' + str(c['beam_size'])}"
            rows.append([label] + [fmt(c[m][how][k]) for k, _ in SCORES])
    trained = {m: read_json(f"metrics/captioner_{m}.json") for m in MODELS}
    blocks = [Heading(2, "Question 3: remote-sensing image captioning"), Heading(3, "Q3.1: training"),
              Para("Best validation BLEU-4 (greedy): " + "; ".join(
                  f"{m} {fmt(t['val_bleu4'])} at epoch {t['best_epoch']} of {t['epochs_run']}"
                  for m, t in trained.items()) + "."),
              image("plots/captioner/curves.png", "training loss and validation BLEU-4 of both decoders"),
              Heading(3, "Test metrics"),
              Para(f"{c['test_images']} test images of {c['dataset']}; BLEU with nltk's `corpus_bleu` against all "
                   "references, METEOR, ROUGE-L and CIDEr with pycocoevalcap."),
              Table(["model"] + [name for _, name in SCORES], rows),
              Heading(3, "Three images captioned by the attention model")]
    blocks.append(image("plots/captions/captions.png", "the images with their captions"))
    for k, name in enumerate(order, 1):
        if name not in captions:
            raise InputError(f"plots/captions/caps_generated_enc_dec_w_attention.json: no caption of {name}; "
                             "run `dvc repro`")
        blocks += [Para(f"**{name}**: {captions[name]}"), image(f"plots/captions/attention_{k}.png",
                                                                f"{name}: attention map per word")]
    return blocks


@stage
def main():
    dataset, features = read_json("metrics/dataset.json"), read_json("metrics/features.json")
    commit, lock = provenance()
    params = load_params()
    synthetic = dataset.get("synthetic")
    header = [Heading(1, "Homework 2: the answers, regenerated by the pipeline"),
              Para("Written by the `report` stage of `dvc repro` from `metrics/`, `plots/` and `params.yaml`; "
                   "nothing here is typed by hand."),
              Table(["made from", ""], [
                  ["captioning data", f"{dataset['dataset']}" + (" (**SYNTHETIC demo set**: not results on real "
                                                                  "imagery)" if synthetic else "")],
                  ["encoder weights", features["encoder_weights"] + (" (**random**: no ImageNet weights)"
                                                                     if features["encoder_weights"] == "random" else "")],
                  ["git commit checked out", commit],
                  ["dvc.lock digest (every other stage)", f"`{lock}`"]]),
              Heading(3, "Parameters (params.yaml)"), Code((ROOT / "params.yaml").read_text())]
    blocks = header + theory_section() + fashion_section() + captioning_section(params.captioning.images)
    write_text(ROOT / "REPORT.md", to_markdown(blocks))
    write_text(ROOT / "REPORT.html", to_html(blocks, "Homework 2: the answers"))
    print(f"REPORT.md and REPORT.html written ({sum(isinstance(b, Image) for b in blocks)} figures; "
          f"data {dataset['dataset']}, encoder {features['encoder_weights']})")
    print_warnings(ROOT)  # repeated at the end of the run, where they cannot be missed


if __name__ == "__main__":
    main()
