"""Stage compare_captioners: the decoders' test scores over the seeds (mean, spread, and the paired
difference attention − vanilla with its paired-bootstrap interval over the test images and the
seeds, captioning.bootstrap) beside the caption-prior baseline (metrics/captioning.json; each seed's
interval in metrics/bootstrap.json), and every run's training curves, on the same axes (PNG) and in
one table for `dvc plots`."""

import json

import pandas as pd
from _stage import PATHS, stage, warn

from hw2.answers import MODELS, pm
from hw2.captioning.bootstrap import SCORES, paired_bootstrap
from hw2.captioning.comparison import compare, score_baseline
from hw2.captioning.curves import training_curves
from hw2.captioning.dataset import load_caption_set
from hw2.captioning.scoring import Scorer
from hw2.common.atomic import write_csv, write_json
from hw2.common.errors import InputError
from pipeline.paths import run_name


def read_json(path):
    if not path.is_file():
        raise InputError(f"{path}: not found; run `dvc repro` (the stages before compare_captioners)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None


def read_curve(folder):
    """A run's per-epoch series, as its train_captioner stage logged them with DVCLive."""
    try:
        loss, bleu, lr = (
            pd.read_csv(folder / "plots" / "metrics" / f"{name}.tsv", sep="\t")
            for name in ("train_loss", "val_bleu4", "lr")
        )
    except (OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{folder}: cannot read the training curves ({exc})") from None
    table = loss.merge(bleu, on="step").merge(lr, on="step").sort_values("step")
    return {
        "epoch": table["step"].tolist(),
        "train_loss": table["train_loss"].tolist(),
        "val_bleu4": table["val_bleu4"].tolist(),
        "lr": table["lr"].tolist(),
    }


def stale_runs(seeds):
    """The files of runs whose seed is no longer in captioning.seeds (left by an earlier run: DVC
    keeps the outputs of stages it no longer has)."""
    current = {run_name(m, s) for m in MODELS for s in seeds}
    found = [*PATHS.run_scores.glob("*.json"), *PATHS.decoder_metrics.glob("*.json")]
    return sorted(str(p.relative_to(PATHS.run_scores.parent.parent)) for p in found if p.stem not in current)


def test_captions(captions, seeds, evaluations):
    """Each run's test captions (``[decoder][seed][how]``, as tokens, image by image in the
    caption set's order) from the evaluate stages' files (``evaluations[decoder][seed]``)."""
    names = [im.filename for im in captions.split("test")]
    out: dict = {}
    for m in MODELS:
        out[m] = {}
        for s in seeds:
            path = PATHS.run_scores / f"{run_name(m, s)}.json"
            found = evaluations[m][s].get("captions")
            if not isinstance(found, dict) or set(found) != set(names):
                raise InputError(
                    f"{path}: does not hold a caption for each of the {len(names)} test images; "
                    f"run `dvc repro evaluate@{m}-{s}`"
                )
            ways = list(evaluations[m][s]["scores"])
            out[m][s] = {how: [str(found[n].get(how, "")).split() for n in names] for how in ways}
    return out


def check_scores(bootstrap, scores):
    """The bootstrap's scores on all test images are the ones each run reported (six decimals): the
    bootstrap resamples the captions that were scored."""
    for m, by_seed in bootstrap["full"].items():
        for s, by_way in by_seed.items():
            for how, found in by_way.items():
                for k in SCORES:
                    reported = scores[m][s]["scores"][how][k]
                    if abs(found[k] - reported) > 1.5e-6:
                        raise InputError(
                            f"{PATHS.run_scores / (run_name(m, s) + '.json')}: its {how} captions score {k} "
                            f"{found[k]:.6f}, not the {reported} it reports (an edited file); "
                            f"run `dvc repro evaluate@{m}-{s}`"
                        )


@stage
def main(params):
    seeds = params.captioning.seeds
    dataset, features = read_json(PATHS.dataset_metrics), read_json(PATHS.features_metrics)
    evaluations = {m: {s: read_json(PATHS.run_scores / f"{run_name(m, s)}.json") for s in seeds} for m in MODELS}
    trained = {m: {s: read_json(PATHS.decoder_metrics / f"{run_name(m, s)}.json") for s in seeds} for m in MODELS}
    captions = load_caption_set(PATHS.captions)
    hypotheses = test_captions(captions, seeds, evaluations)
    b = params.captioning.bootstrap
    bootstrap = paired_bootstrap([im.captions for im in captions.split("test")], hypotheses, b.draws, b.level, b.seed)
    check_scores(bootstrap, evaluations)
    with Scorer(meteor=params.captioning.scores.meteor) as scorer:
        prior, baseline, position = score_baseline(captions, scorer)
    out = compare(
        evaluations,
        trained,
        baseline,
        len(captions.split("test")),
        position,
        {"dataset": dataset["dataset"], "encoder_weights": features["encoder_weights"]},
        bootstrap["pooled"],
    )
    write_json(PATHS.captioning_metrics, out)
    write_json(
        PATHS.bootstrap,
        {"draws": b.draws, "level": b.level, "seed": b.seed, "seeds": seeds}
        | {k: v for k, v in bootstrap.items() if k != "full"},
    )
    write_json(PATHS.baseline, {"caption": " ".join(prior), "scores": baseline})
    curves = {
        (m, s): read_curve(PATHS.decoder_series / run_name(m, s)) | {"best_epoch": trained[m][s]["best_epoch"]}
        for m in MODELS
        for s in seeds
    }
    write_csv(
        PATHS.run_series,
        pd.DataFrame(
            [
                (run_name(m, s), m, s, e, loss, bleu, lr)
                for (m, s), c in curves.items()
                for e, loss, bleu, lr in zip(c["epoch"], c["train_loss"], c["val_bleu4"], c["lr"], strict=True)
            ],
            columns=["run", "decoder", "seed", "epoch", "train_loss", "val_bleu4", "lr"],
        ),
    )
    alpha_c = params.captioning.train.alpha_c
    losses = {"vanilla": "cross-entropy", "attention": f"cross-entropy\n+ α_c·Σ(1−Σₜα)², α_c = {alpha_c:g}"}
    label = {(m, s): m if len(seeds) == 1 else f"{m}, seed {s}" for m, s in curves}  # one seed: as before seeds
    training_curves(
        PATHS.curves,
        {label[run]: c for run, c in curves.items()},
        {label[m, seeds[0]]: f"{label[m, seeds[0]]}: {loss}" for m, loss in losses.items()},
        {label[m, s]: m for m, s in curves},
    )
    if params.captioning.scores.meteor and scorer.meteor_missing:
        warn(scorer.meteor_missing)
    stale = stale_runs(seeds)
    if stale:
        warn(f"files of seeds no longer in captioning.seeds, not read: {', '.join(stale)} (delete them)")
    ways = [w for w in ("greedy", "beam", "beam_lp") if w in out[MODELS[0]]]
    names = {
        "greedy": "greedy",
        "beam": f"beam {out['beam_size']}",
        "beam_lp": f"beam {out['beam_size']} length penalty {out['length_penalty']:g}",
    }

    print(
        f"test BLEU-4 ({' / '.join(names[w] for w in ways)}) on {out['test_images']} {out['dataset']} images, "
        f"mean ± sd over {len(seeds)} seed(s): "
        + ", ".join(f"{m} " + " / ".join(pm(out[m][w]["bleu4"]) for w in ways) for m in MODELS)
        + "; attention − vanilla "
        + " / ".join(
            pm(d, sign=True) + f" [{d['low']:+.4f}, {d['high']:+.4f}]"
            for d in (out["attention_minus_vanilla"][w]["bleu4"] for w in ways)
        )
        + f" ({b.level:.0%} paired-bootstrap interval, seeds and images, {b.draws} draws)"
        + f'; caption-prior baseline {baseline["bleu4"]:.4f} ("{" ".join(prior)}")'
    )


if __name__ == "__main__":
    main()
