"""The homework's answers as a document (:mod:`hw2.document`), written from the pipeline's results:
every number and figure is handed in, nothing is typed by hand."""
from __future__ import annotations

from .common.errors import InputError
from .document import Heading, Image, Para, Table

MODELS = ("vanilla", "attention")
SCORES = [("bleu1", "BLEU-1"), ("bleu2", "BLEU-2"), ("bleu3", "BLEU-3"), ("bleu4", "BLEU-4"), ("meteor", "METEOR"),
          ("rouge_l", "ROUGE-L"), ("cider", "CIDEr")]


def fmt(x, digits=4):
    return "n/a" if x is None else f"{x:.{digits}f}"


def theory_section(t: dict, layers: list[dict]) -> list:
    """Q1: ``t`` the theory checks, ``layers`` one row per layer of both networks."""
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


def fashion_section(m: dict, figures: dict[str, Image]) -> list:
    """Q2: ``m`` the sweep's metrics; ``figures`` by name: best_train_loss, best_val_acc,
    rates_val_acc, conv1, conv2."""
    rows = [[f"**{r['lr']:g} (best)**" if r["lr"] == m["best_lr"] else f"{r['lr']:g}", fmt(r["val_acc"]),
             fmt(r["test_acc"]), fmt(r["train_loss"])] for r in sorted(m["rates"].values(), key=lambda r: r["lr"])]
    return [Heading(2, "Question 2: Fashion-MNIST CNN"), Heading(3, "Q2.2: learning rates"),
            Para(f"The CNN ({m['n_params']:,} parameters) trained with SGD at each rate on {m['images']['train']:,} "
                 f"images; validation on {m['images']['val']:,}, test on {m['images']['test']:,}. Best by validation "
                 f"accuracy: **lr = {m['best_lr']:g}** (validation {fmt(m['best_val_acc'])}, test "
                 f"{fmt(m['best_test_acc'])})."),
            Table(["learning rate", "validation accuracy", "test accuracy", "final training loss"], rows),
            figures["best_train_loss"], figures["best_val_acc"], figures["rates_val_acc"],
            Heading(3, "Q2.3: kernels of the best model"), figures["conv1"], figures["conv2"]]


def captioning_section(c: dict, trained: dict[str, dict], captions: dict[str, str], order: list[str],
                       figures: dict[str, Image], attention_maps: list[Image]) -> list:
    """Q3: ``c`` the decoders' and the baseline's test scores, ``trained`` each decoder's training
    summary, ``captions`` the captioned images' captions by image, ``order`` those images;
    ``figures``: curves, captions; ``attention_maps`` one per image of ``order``."""
    rows = [["caption-prior baseline"] + [fmt(c["baseline"][k]) for k, _ in SCORES]]
    for m in MODELS:
        for how in ("greedy", "beam"):
            label = f"{m}, {'greedy' if how == 'greedy' else 'beam ' + str(c['beam_size'])}"
            rows.append([label] + [fmt(c[m][how][k]) for k, _ in SCORES])
    blocks = [Heading(2, "Question 3: remote-sensing image captioning"), Heading(3, "Q3.1: training"),
              Para("Best validation BLEU-4 (greedy): " + "; ".join(
                  f"{m} {fmt(t['val_bleu4'])} at epoch {t['best_epoch']} of {t['epochs_run']}"
                  for m, t in trained.items()) + "."),
              figures["curves"],
              Heading(3, "Test metrics"),
              Para(f"{c['test_images']} test images of {c['dataset']}; BLEU with nltk's `corpus_bleu` against all "
                   "references, METEOR, ROUGE-L and CIDEr with pycocoevalcap."),
              Table(["model"] + [name for _, name in SCORES], rows),
              Heading(3, "Three images captioned by the attention model")]
    blocks.append(figures["captions"])
    for name, figure in zip(order, attention_maps):
        if name not in captions:
            raise InputError(f"no caption of {name} among the captioned images")
        blocks += [Para(f"**{name}**: {captions[name]}"), figure]
    return blocks
