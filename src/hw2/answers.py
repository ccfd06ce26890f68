"""The homework's answers as a document (:mod:`hw2.document`), written from the pipeline's results:
every number and figure is handed in, nothing is typed by hand."""

from __future__ import annotations

from .common.errors import InputError
from .document import Block, Heading, Image, Para, Table

MODELS = ("vanilla", "attention")  # the decoders, in the order every table and figure shows them
SCORES = [
    ("bleu1", "BLEU-1"),
    ("bleu2", "BLEU-2"),
    ("bleu3", "BLEU-3"),
    ("bleu4", "BLEU-4"),
    ("meteor", "METEOR"),
    ("rouge_l", "ROUGE-L"),
    ("cider", "CIDEr"),
]


def fmt(x, digits=4):
    return "n/a" if x is None else f"{x:.{digits}f}"


def theory_section(t: dict, layers: list[dict]) -> list:
    """Q1: ``t`` the theory checks, ``layers`` one row per layer of both networks."""
    q3 = t["q1_3"]
    blocks: list[Block] = [Heading(2, "Question 1"), Heading(3, "Q1.1 and Q1.2: parameters")]
    for net, total in (("Q1.1 CNN", t["q1_1_params"]), ("Q1.2 fully connected", t["q1_2_params"])):
        rows = [
            [r["layer"], r["output"], f"{int(r['weights']):,}", f"{int(r['biases']):,}", f"{int(r['params']):,}"]
            for r in layers
            if r["network"] == net
        ]
        blocks += [
            Para(f"**{net}** (input 28x28x3): **{total:,} parameters**."),
            Table(["layer", "output", "weights", "biases", "parameters"], rows),
        ]
    cnn = [r for r in layers if r["network"] == "Q1.1 CNN"]
    mlp = [r for r in layers if r["network"] == "Q1.2 fully connected"]
    conv, pooled = cnn[0], next(r for r in cnn if r["layer"].startswith("MaxPool"))
    inputs, hidden = mlp[0]["output"], next(r for r in mlp if r["layer"].startswith("Linear"))["output"]
    blocks.append(
        Para(
            f"The fully connected network has {t['fc_over_cnn']:.1f}x as many parameters: its hidden layer joins "
            f"every one of the {int(inputs):,} input values to each of {hidden} units, while the convolution "
            f"(`{conv['layer']}`) shares {int(conv['weights']):,} weights across every position of the image, and "
            f"pooling shrinks what the output layer sees to {pooled['output']} values. Weight sharing and local "
            "connectivity give the convolution far fewer parameters and translation equivariance; the fully "
            "connected layer ignores the image's spatial structure."
        )
    )
    u = q3["unscaled"]
    blocks += [
        Heading(3, "Q1.3: self-attention as softmax(X A Xᵀ)"),
        Para(
            "With Q = X W_Q and K = X W_K (W_Q, W_K of size n x d), the homework's expression (1) gives the head's "
            "probabilities as softmax(Q Kᵀ) = softmax(X W_Q W_Kᵀ Xᵀ) = softmax(X A Xᵀ) with **`A = W_Q W_Kᵀ`**. "
            "With the scaling of Vaswani et al., softmax(Q Kᵀ / √d), the same holds with `A = W_Q W_Kᵀ / √d`: "
            "the scale is a constant and changes nothing below. Either way A is a product through a d-dimensional "
            "space, so **rank(A) <= d**; and replacing W_Q by W_Q B and W_K by W_K B⁻ᵀ (B invertible, d x d) "
            "gives W_Q B B⁻¹ W_Kᵀ = W_Q W_Kᵀ: the same A, so the same probabilities."
        ),
        Para(
            f"Checked in float64 on random matrices (L = {q3['L']}, n = {q3['n']}, d = {q3['d']}, seed "
            f"{q3['seed']}; B random and invertible, condition number {q3['cond_B']:.1f}):"
        ),
        Table(
            ["definition", "rank(A)", "softmax(X A Xᵀ) vs the head", "head with W_Q B, W_K B⁻ᵀ vs W_Q, W_K"],
            [
                [
                    "homework (1): softmax(Q Kᵀ)",
                    str(u["rank_A"]),
                    f"{u['max_diff_softmax_XAXt']:.1e}",
                    f"{u['max_diff_reparametrised_head']:.1e}",
                ],
                [
                    "scaled: softmax(Q Kᵀ / √d)",
                    str(q3["rank_A"]),
                    f"{q3['max_diff_softmax_XAXt']:.1e}",
                    f"{q3['max_diff_reparametrised_head']:.1e}",
                ],
            ],
        ),
        Para(
            f"The largest differences are float64 rounding. All identities hold: **{'yes' if q3['holds'] else 'NO'}**."
        ),
    ]
    return blocks


def fashion_section(m: dict, shifts: dict, kernels: dict, figures: dict[str, Image]) -> list:
    """Q2: ``m`` the sweep's metrics, ``shifts`` the measurements of Q2.1, ``kernels`` those of Q2.3;
    ``figures`` by name: shifts, best_train_loss, best_val_acc, rates_val_acc, conv1, conv2, feature_maps."""
    rows = [
        [
            f"**{r['lr']:g} (best)**" if r["lr"] == m["best_lr"] else f"{r['lr']:g}",
            fmt(r["val_acc"]),
            fmt(r["test_acc"]),
            fmt(r["train_loss"]),
        ]
        for r in sorted(m["rates"].values(), key=lambda r: r["lr"])
    ]
    acc, change = shifts["accuracy_by_shift"], shifts["one_pixel_change"]
    same = shifts["agreement_by_shift"]
    rf = kernels["receptive_field_px"]
    diff = shifts["conv1_shift_max_diff"]
    same_maps = (
        "exactly (a largest difference of 0)"
        if diff == 0
        else f"up to float32 rounding (a largest difference of {diff:.1e} of the largest activation)"
    )
    return [
        Heading(2, "Question 2: Fashion-MNIST CNN"),
        Heading(3, "Q2.1: equivariances of convolutional layers"),
        Para(
            "A convolutional layer is **equivariant to translation**: it applies the same kernel at every position, "
            "so shifting the input shifts its feature map by the same amount, conv(shift(x)) = shift(conv(x)), "
            "away from the borders. (It is not equivariant to rotation or scaling: a kernel is not rotated or "
            "resized with the image.) Max-pooling then makes the result **approximately invariant** to small "
            "shifts, since the maximum over a window moves only when the shift carries a value across a window "
            "edge. For classification this is what one wants: a pattern (a sleeve, a heel) is detected by the "
            "same weights wherever it appears, which shares parameters and needs fewer examples, and the label "
            "does not change when the object moves a little."
        ),
        Para(
            f"Measured on the best CNN (lr {m['best_lr']:g}) and real test images: conv1 applied to shifted images "
            f"equals conv1's maps shifted, {same_maps} inside the border (on {shifts['feature_map_images']:,} "
            f"images, four shifts of 1 to 3 pixels). A one-pixel shift "
            f"changes the conv1 maps by {change['conv1']:.0%} (relative norm of the difference at the same "
            f"positions) and the pooled maps by {change['pool1']:.0%}; conv2 by {change['conv2']:.0%}, pooled "
            f"{change['pool2']:.0%}: pooling removes part of the change, not all of it. The prediction on "
            f"{shifts['images']:,} test images: accuracy {acc['px_0']:.3f} unshifted, {acc['px_1']:.3f} shifted "
            f"by 1 pixel ({same['px_1']:.0%} of the predictions unchanged), {acc['px_2']:.3f} by 2, "
            f"{acc['px_4']:.3f} by 4 and {acc['px_8']:.3f} by 8: robust to small shifts, not to large ones (two "
            "poolings of 2 give invariance over about their stride, not over the whole image)."
        ),
        figures["shifts"],
        Heading(3, "Q2.2: learning rates"),
        Para(
            f"The CNN ({m['n_params']:,} parameters) trained with SGD at each rate on {m['images']['train']:,} "
            f"images; validation on {m['images']['val']:,}, test on {m['images']['test']:,}. Best by validation "
            f"accuracy: **lr = {m['best_lr']:g}** (validation {fmt(m['best_val_acc'])}, test "
            f"{fmt(m['best_test_acc'])})."
        ),
        Table(["learning rate", "validation accuracy", "test accuracy", "final training loss"], rows),
        figures["best_train_loss"],
        figures["best_val_acc"],
        figures["rates_val_acc"],
        Heading(3, "Q2.3: kernels and what the layers capture"),
        figures["conv1"],
        figures["conv2"],
        figures["feature_maps"],
        Para(
            f"**Bottom layers capture small, simple, local patterns; top layers combine them into larger, more "
            f"specific parts.** Here a conv1 unit sees {rf['conv1']}x{rf['conv1']} pixels, and "
            f"{kernels['conv1_difference_kernels']} of its {kernels['conv1_kernels']} kernels have positive and "
            f"negative weights that nearly cancel (|Σw| < 0.3 Σ|w|; median ratio "
            f"{kernels['conv1_balance_median']:.2f}): they answer to a change of brightness in one direction, an "
            "edge, and their maps above outline the garment along its left, right, top or bottom edges, while "
            f"the others pass its brightness or fill. A conv2 unit sees {rf['conv2']}x{rf['conv2']} pixels through "
            "the pooling and sums 16 such maps; its maps are sparser and light up on larger parts (a sole, a "
            "collar or hem, the gap between trouser legs). The fully connected layers above combine these into "
            "the class. This is the usual finding (Zeiler and Fergus, 2014): edges and colour blobs first, then "
            "textures and parts, then objects."
        ),
    ]


def pm(s: dict | None, digits: int = 4, sign: bool = False) -> str:
    """A mean over seeds with its spread, ``0.6123 ± 0.0140`` (one seed: the value alone)."""
    if s is None:
        return "n/a"
    mean = f"{s['mean']:+.{digits}f}" if sign else f"{s['mean']:.{digits}f}"
    return mean if s["sd"] is None else f"{mean} ± {s['sd']:.{digits}f}"


def interval(d: dict) -> str:
    """A bootstrap interval of a difference, ``[-0.0034, +0.0864]``."""
    return f"[{d['low']:+.4f}, {d['high']:+.4f}]"


def comparison(c: dict, ways: dict[str, str], bootstrap: dict) -> list[Block]:
    """Q3's comparison: for BLEU-4 and CIDEr, each decoding, attention's mean against vanilla's, the
    paired difference with its spread over the seeds, its paired-bootstrap interval over the seeds
    and the test images (``c``) and each seed's (``bootstrap``: compare_captioners' metrics/bootstrap.json),
    and what it shows (tables and a paragraph on how the test works)."""
    from .captioning.comparison import verdict

    diff, n = c["attention_minus_vanilla"], c["runs_per_decoder"]
    level, draws = f"{bootstrap['level']:.0%}", bootstrap["draws"]
    said = {
        "ahead": f"**attention ahead**: the {level} interval lies above 0",
        "behind": f"**attention behind**: the {level} interval lies below 0",
        "within the noise": f"within the noise: the {level} interval holds 0",
    }
    scores = (("bleu4", "BLEU-4"), ("cider", "CIDEr"))
    rows = [
        [f"{name}, {label}", pm(c["attention"][how][k]), pm(c["vanilla"][how][k]), pm(diff[how][k], sign=True)]
        + [interval(diff[how][k]), f"{diff[how][k]['wins']:.1%}"]
        + ([f"{diff[how][k]['seeds_ahead']} of {n}"] if n > 1 else [])
        + [said[verdict(diff[how][k])]]
        for how, label in ways.items()
        for k, name in scores
        if k in diff.get(how, {})
    ]
    header = [
        "test score",
        "attention",
        "vanilla",
        "attention − vanilla" + (" (mean ± sd over seeds)" if n > 1 else ""),
        f"{level} interval",
        "draws attention wins",
    ] + (["seeds attention is ahead on"] if n > 1 else [])
    resampled = f"the {c['test_images']} test images" + (f" and the {n} seeds" if n > 1 else "")
    how = (
        f"Attention is judged by paired bootstrap resampling (Koehn, 2004): each of {draws} draws "
        f"(`captioning.bootstrap`) takes {resampled} with replacement, the same draw for both decoders, and "
        "scores both again with the same corpus BLEU-4 and CIDEr; a draw's difference is its mean over the drawn "
        f"seeds on the drawn images, and the interval holds the middle {level} of the draws' differences. "
        + (
            "Resampling the seeds and the images together accounts for both sources of noise, the training run "
            "and the choice of test images (the pigeonhole bootstrap of a crossed design, Owen, 2007). "
            if n > 1
            else "With one seed (`captioning.seeds`) only the test images are resampled: the run-to-run noise, "
            "a few hundredths of BLEU-4 on real captions (`bench/README.md`), is not in the interval; set "
            "several seeds to measure it. "
        )
        + "Attention counts as ahead or behind only when the interval leaves out 0."
    )
    blocks: list[Block] = [Heading(3, "Is attention better?"), Table([*header, "what it shows"], rows), Para(how)]
    if n > 1:
        per_seed = [
            [f"{name}, {label}"]
            + [
                f"{d['difference']:+.4f} {interval(d)}, {d['wins']:.0%}"
                for d in (bootstrap["by_seed"][how][k][str(s)] for s in bootstrap["seeds"])
            ]
            for how, label in ways.items()
            for k, name in scores
            if k in bootstrap["by_seed"].get(how, {})
        ]
        blocks += [
            Para(
                f"Seed by seed (the test images resampled, the run fixed): attention − vanilla on all test images, "
                f"its {level} interval and the share of draws attention wins."
            ),
            Table(["test score"] + [f"seed {s}" for s in bootstrap["seeds"]], per_seed),
        ]
    return blocks


def captioning_section(
    c: dict,
    trained: dict[str, dict[int, dict]],
    captions: dict[str, str],
    captioned_by: dict,
    order: list[str],
    figures: dict[str, Image],
    attention_maps: list[Image],
    bootstrap: dict,
) -> list:
    """Q3: ``c`` the decoders' test scores over the seeds and the baseline's, ``trained`` each run's
    training summary (by decoder, then seed), ``captions`` the captioned images' captions by image
    and ``captioned_by`` the run that made them, ``order`` those images; ``figures``: curves,
    captions; ``attention_maps`` one per image of ``order``; ``bootstrap`` compare_captioners'
    paired bootstrap, seed by seed (metrics/bootstrap.json)."""
    rows = [["caption-prior baseline"] + [fmt(c["baseline"][k]) for k, _ in SCORES]]
    ways = {
        "greedy": "greedy",
        "beam": f"beam {c['beam_size']}",
        "beam_lp": f"beam {c['beam_size']}, length penalty {c.get('length_penalty', 0):g}",
    }
    ways = {how: label for how, label in ways.items() if how in c["vanilla"]}
    for m in MODELS:
        for how, label in ways.items():
            rows.append([f"{m}, {label}"] + [pm(c[m][how].get(k)) for k, _ in SCORES])
    for how, label in ways.items():
        rows.append(
            [f"attention − vanilla, {label}"]
            + [pm(c["attention_minus_vanilla"][how].get(k), sign=True) for k, _ in SCORES]
        )
    runs = [
        [
            m,
            str(seed),
            fmt(t["val_bleu4"]),
            f"{t['best_epoch']} of {t['epochs_run']}",
            f"{t['lr_cuts']}, to {t['final_lr']:.2g}" if t.get("lr_cuts") else "never",
        ]
        for m, by_seed in trained.items()
        for seed, t in by_seed.items()
    ]
    n = c["runs_per_decoder"]
    blocks: list[Block] = [
        Heading(2, "Question 3: remote-sensing image captioning"),
        Heading(3, "Q3.1: training"),
        Para(
            f"Each decoder is trained once per seed ({n} seed{'s' if n != 1 else ''}, `captioning.seeds`), "
            + (
                "reading each region's features layer-normalised (LayerNorm with a learnt scale and shift, "
                "`captioning.decoder.feature_norm`). "
                if all(t.get("feature_norm") for by_seed in trained.values() for t in by_seed.values())
                else "reading the region features as the encoder gives them (`captioning.decoder.feature_norm`). "
            )
            + "The learning rate is cut when validation BLEU-4, averaged over a few "
            "epochs, has stopped improving, and training stops after a longer wait (the training settings smooth, "
            "lr_decay, lr_patience and patience); the epoch with the best validation BLEU-4 is kept. "
            + (
                "Dashed lines in the figure mark the cuts."
                if n == 1
                else "The learning-rate panel of the figure shows each run's cuts; stars mark each run's best epoch."
            )
        ),
        Table(["decoder", "seed", "best validation BLEU-4 (greedy)", "best epoch", "learning rate cut"], runs),
        figures["curves"],
        Heading(3, "Test metrics"),
        Para(
            f"{c['test_images']} test images of {c['dataset']}; BLEU with nltk's `corpus_bleu` against all "
            "references, METEOR, ROUGE-L and CIDEr with pycocoevalcap"
            + (f"; mean ± standard deviation over {n} seeds, and the difference seed by seed" if n > 1 else "")
            + ". Beam search keeps the likeliest "
            "partial captions by summed log-probability; plain `beam` ranks the finished ones by that sum too, "
            "which favours short captions, and `length penalty` ranks them by the sum divided by "
            "((5 + length) / 6) ** penalty (Wu et al., 2016). This run decodes with beam "
            f"{c['beam_size']} and length penalty {c.get('length_penalty', 0):g} (`captioning.decode`). The "
            "committed defaults are those with the best validation BLEU-4 on real captions (UCM-captions' "
            "training images re-split, both decoders, 3 seeds; `bench/README.md`), where a length penalty "
            "lowers BLEU-4 at every beam size."
        ),
        Table(["model"] + [name for _, name in SCORES], rows),
        *comparison(c, ways, bootstrap),
        Heading(3, "Three images captioned by the attention model"),
    ]
    if n > 1:
        blocks.append(
            Para(
                f"Captioned by the attention decoder of seed {captioned_by['seed']}, the first of the {n} "
                f"(`captioning.seeds`; its best validation BLEU-4: {fmt(captioned_by['val_bleu4'])})."
            )
        )
    blocks.append(figures["captions"])
    for name, figure in zip(order, attention_maps, strict=True):
        if name not in captions:
            raise InputError(f"no caption of {name} among the captioned images")
        blocks += [Para(f"**{name}**: {captions[name]}"), figure]
    return blocks
