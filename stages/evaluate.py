"""Stage evaluate@{vanilla,attention}: test-split captions, greedy and beam search, and their scores."""
import sys
import time

import torch
from _stage import ROOT, device_for, load_params, stage

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.evaluate import Scorer, caption_images, eval_images, load_decoder, names_position
from hw2.captioning.features import load_features
from hw2.captioning.vocab import check_same_images, load_vocabulary
from hw2.common.atomic import write_json
from hw2.common.runtime import configure_threads

FEATURES = ROOT / "data" / "features" / "features.h5"
VOCAB = ROOT / "data" / "vocab"
CAPTIONS = ROOT / "data" / "captions.json"


@stage
def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    if kind not in ("vanilla", "attention"):
        raise ValueError(f"usage: evaluate.py vanilla|attention (got {kind!r})")
    cap = load_params().captioning
    beam, max_length = cap.decode.beam_size, cap.decode.max_length
    configure_threads()
    device = device_for(cap.train.device, "captioning.train.device")
    vocab, meta = load_vocabulary(VOCAB)
    features, names = load_features(FEATURES)
    check_same_images(names, FEATURES, meta, VOCAB)
    test = eval_images(load_caption_set(CAPTIONS), names)
    model, state = load_decoder(ROOT / "models" / "captioner" / f"{kind}.pt", vocab, features.shape[2], device)
    feats = torch.from_numpy(features[test.rows])
    position = [i for i, refs in enumerate(test.references) if names_position(refs)]
    started = time.perf_counter()
    result = {"model": kind, "beam_size": beam, "images": len(test.names), "position_images": len(position),
              "scores": {}, "position": {}, "captions": {n: {} for n in test.names}}
    with Scorer() as scorer:
        if scorer.meteor_missing:
            print(f"WARNING: {scorer.meteor_missing}", file=sys.stderr)
        for how, size in (("greedy", None), ("beam", beam)):
            t0 = time.perf_counter()
            hyps = caption_images(model, feats, vocab, size, max_length, progress=f"{kind} {how}")
            seconds = time.perf_counter() - t0
            result["scores"][how] = scorer.score(hyps, test.references)
            if position:
                result["position"][how] = scorer.score([hyps[i] for i in position],
                                                       [test.references[i] for i in position])
            for n, h in zip(test.names, hyps):
                result["captions"][n][how] = " ".join(h)
            s = result["scores"][how]
            print(f"{kind} {how}{f' (beam {size})' if size else ''}: BLEU-4 {s['bleu4']:.4f}, CIDEr {s['cider']:.3f}, "
                  f"METEOR {'n/a' if s['meteor'] is None else format(s['meteor'], '.4f')} "
                  f"on {len(test.names)} test images ({seconds:.1f} s)")
        if scorer.meteor_missing:
            print(f"WARNING: {scorer.meteor_missing}", file=sys.stderr)
    result["meteor"] = scorer.meteor_missing or "pycocoevalcap 1.2 (METEOR 1.5)"
    write_json(ROOT / "data" / "evaluation" / f"{kind}.json", result)
    print(f"{kind}: test captions scored in {time.perf_counter() - started:.0f} s "
          f"(best epoch {state['best_epoch']}) → data/evaluation/{kind}.json")


if __name__ == "__main__":
    main()
