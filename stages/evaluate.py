"""Stage evaluate@{vanilla,attention}-<seed>: one run's test-split captions, greedy and beam search,
and their scores, in one file in git (metrics/test_scores/<run>.json: compare_captioners reads it)."""

import time

import torch
from _stage import PATHS, device_for, require, run_arguments, stage, warn

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.decoder_file import load_decoder
from hw2.captioning.decoding import beam_label
from hw2.captioning.evaluation import eval_images, evaluate_decoder
from hw2.captioning.feature_file import load_features
from hw2.captioning.scoring import Scorer
from hw2.captioning.vocab import check_same_images, load_vocabulary
from hw2.common.atomic import write_json
from hw2.common.runtime import Kernels
from pipeline.paths import run_name

FEATURES = PATHS.features
VOCAB = PATHS.vocab / "vocab.json"
CAPTIONS = PATHS.captions


@stage
def main(params):
    kind, seed = run_arguments("evaluate")
    run = run_name(kind, seed)
    cap = params.captioning
    Kernels(params.kernels, threads=cap.threads).apply()  # decoding in float32, whatever the decoder trained in
    device = device_for(cap.train.device, "captioning.train.device")
    vocab, meta = load_vocabulary(require(VOCAB, "build_vocab"))
    features, names = load_features(require(FEATURES, "extract_features"))
    check_same_images(names, FEATURES, meta, VOCAB)
    test = eval_images(load_caption_set(CAPTIONS), names)
    model, state = load_decoder(
        require(PATHS.decoder(kind, seed), f"train_captioner@{kind}-{seed}"),
        vocab,
        VOCAB,
        features.shape[2],
        device,
    )
    started = time.perf_counter()

    def scored(how, s, seconds):
        size = (
            ""
            if how == "greedy"
            else f" ({beam_label(cap.decode.beam_size, cap.decode.length_penalty if how == 'beam_lp' else 0)})"
        )
        print(
            f"{run} {how}{size}: BLEU-4 {s['bleu4']:.4f}, CIDEr {s['cider']:.3f}, "
            f"METEOR {'n/a' if s['meteor'] is None else format(s['meteor'], '.4f')} "
            f"on {len(test.names)} test images ({seconds:.1f} s)"
        )

    with Scorer(meteor=cap.scores.meteor) as scorer:
        if cap.scores.meteor and scorer.meteor_missing:
            warn(scorer.meteor_missing)
        result = evaluate_decoder(
            model,
            torch.from_numpy(features[test.rows]),
            test,
            vocab,
            cap.decode.beam_size,
            cap.decode.max_length,
            scorer,
            run,
            cap.decode.length_penalty,
            on_scored=scored,
        )
        if cap.scores.meteor and scorer.meteor_missing:
            warn(scorer.meteor_missing)
    result["meteor"] = (
        "left out (captioning.scores.meteor: false)"
        if not cap.scores.meteor
        else scorer.meteor_missing or "pycocoevalcap 1.2 (METEOR 1.5)"
    )
    out = PATHS.run_scores / f"{run}.json"
    write_json(out, result | {"decoder": kind, "seed": seed})
    print(
        f"{run}: test captions scored in {time.perf_counter() - started:.0f} s "
        f"(best epoch {state['best_epoch']}) → {out.relative_to(PATHS.run_scores.parent.parent)}"
    )


if __name__ == "__main__":
    main()
