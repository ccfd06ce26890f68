"""Stage compare_captioners: both decoders' test scores side by side with the caption-prior
baseline (metrics/captioning.json) and their training curves on the same axes (PNG)."""

import json

import pandas as pd
from _stage import PATHS, stage, warn

from hw2.captioning.comparison import compare, score_baseline
from hw2.captioning.curves import training_curves
from hw2.captioning.dataset import load_caption_set
from hw2.captioning.scoring import Scorer
from hw2.common.atomic import write_json
from hw2.common.errors import InputError

MODELS = ("vanilla", "attention")


def read_json(path):
    if not path.is_file():
        raise InputError(f"{path}: not found; run `dvc repro` (the stages before compare_captioners)")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None


def read_curve(folder):
    """A decoder's per-epoch series, as its train_captioner stage logged them with DVCLive."""
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


@stage
def main(params):
    dataset, features = read_json(PATHS.dataset_metrics), read_json(PATHS.features_metrics)
    evaluations = {m: read_json(PATHS.evaluations / f"{m}.json") for m in MODELS}
    trained = {m: read_json(PATHS.decoder_metrics(m)) for m in MODELS}
    captions = load_caption_set(PATHS.captions)
    with Scorer(meteor=params.captioning.scores.meteor) as scorer:
        prior, baseline, position = score_baseline(captions, scorer)
    out = compare(
        evaluations,
        trained,
        baseline,
        len(captions.split("test")),
        position,
        {"dataset": dataset["dataset"], "encoder_weights": features["encoder_weights"]},
    )
    write_json(PATHS.captioning_metrics, out)
    write_json(PATHS.evaluations / "baseline.json", {"caption": " ".join(prior), "scores": baseline})
    alpha_c = params.captioning.train.alpha_c
    training_curves(
        PATHS.curves,
        {m: read_curve(PATHS.decoder_series / m) | {"best_epoch": trained[m]["best_epoch"]} for m in MODELS},
        {
            "vanilla": "vanilla: cross-entropy",
            "attention": f"attention: cross-entropy\n+ α_c·Σ(1−Σₜα)², α_c = {alpha_c:g}",
        },
    )
    if params.captioning.scores.meteor and scorer.meteor_missing:
        warn(scorer.meteor_missing)
    ways = [w for w in ("greedy", "beam", "beam_lp") if w in out[MODELS[0]]]
    names = {
        "greedy": "greedy",
        "beam": f"beam {out['beam_size']}",
        "beam_lp": f"beam {out['beam_size']} length penalty {out['length_penalty']:g}",
    }
    print(
        f"test BLEU-4 ({' / '.join(names[w] for w in ways)}) on {out['test_images']} {out['dataset']} images: "
        + ", ".join(f"{m} " + " / ".join(f"{out[m][w]['bleu4']:.4f}" for w in ways) for m in MODELS)
        + f'; caption-prior baseline {baseline["bleu4"]:.4f} ("{" ".join(prior)}")'
    )


if __name__ == "__main__":
    main()
