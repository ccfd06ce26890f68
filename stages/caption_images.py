"""Stage caption_images: the attention decoder captions captioning.images (the homework's three),
written to the homework's JSON file and drawn with one attention map per word. Of the attention
decoder's runs (one per seed of captioning.seeds), the first seed's captions: a choice made before
any run (choosing among the seeds would make every seed's decoder a dependency)."""

import sys

import numpy as np
import torch
from _stage import PATHS, device_for, require, stage, warn

from hw2.captioning.decoder_file import load_decoder
from hw2.captioning.decoding import beam_label, caption_one
from hw2.captioning.feature_file import load_features
from hw2.captioning.figures import caption_sheet, captioned_image, no_glyph_warning
from hw2.captioning.images import Rendering
from hw2.captioning.vocab import check_same_images, load_vocabulary
from hw2.common.atomic import atomic_dir, write_json
from hw2.common.errors import InputError
from hw2.common.runtime import Kernels

FEATURES = PATHS.features
VOCAB = PATHS.vocab / "vocab.json"
IMAGES = PATHS.images
OUT = PATHS.captioned


@stage
def main(params):
    cap = params.captioning
    Kernels(params.kernels, threads=cap.threads).apply()  # decoding in float32, as evaluate
    beam, wanted, penalty = cap.decode.beam_size, cap.images, cap.decode.length_penalty
    how = beam_label(beam, penalty)
    rendering = Rendering(**cap.imagery.model_dump())
    device = device_for(cap.train.device, "captioning.train.device")
    vocab, meta = load_vocabulary(require(VOCAB, "build_vocab"))
    features, names = load_features(require(FEATURES, "extract_features"))
    check_same_images(names, FEATURES, meta, VOCAB)
    row = {n: i for i, n in enumerate(names)}
    missing = [n for n in wanted if n not in row]
    if missing:
        raise InputError(
            f"params.yaml: captioning.images names {', '.join(missing)}, not in the dataset "
            f"(data/captions.json has {len(names):,} images, e.g. {names[0]})"
        )
    seed = cap.seeds[0]
    model, state = load_decoder(
        require(PATHS.decoder("attention", seed), f"train_captioner@attention-{seed}"),
        vocab,
        VOCAB,
        features.shape[2],
        device,
    )
    print(
        f"the attention decoder of seed {seed} (the first of captioning.seeds; validation BLEU-4 "
        f"{state['val_bleu4']:.4f}) captions {len(wanted)} image(s)"
    )
    captions, sheet, boxed = {}, [], ""
    with atomic_dir(OUT) as work:  # figures of images no longer asked for go too
        for k, name in enumerate(wanted, 1):
            words, tokens, alphas = caption_one(
                model,
                torch.from_numpy(np.asarray(features[row[name]], np.float32)),
                vocab,
                beam,
                cap.decode.max_length,
                penalty,
            )
            captions[name] = " ".join(words)
            assert alphas is not None  # the attention decoder's
            # Named by position, not by image, so that dvc.yaml can declare them as plots whatever
            # captioning.images holds (and not "219.png": dvc-render 1.0.2 fails to sort image plots
            # whose names mix digits and words).
            boxed += captioned_image(
                work / f"attention_{k}.png",
                IMAGES / name,
                tokens,
                alphas.numpy(),
                f"{name}: what the attention decoder looks at for each word ({how})",
                rendering=rendering,
            )
            sheet.append((IMAGES / name, name, captions[name]))
            print(f"{name}: {captions[name]}")
        if sheet:
            boxed += caption_sheet(
                work / "captions.png", sheet, f"Captions of the attention decoder (beam search, {how})", rendering
            )
        write_json(work / "caps_generated_enc_dec_w_attention.json", captions)
        write_json(work / "decoder.json", {"decoder": "attention", "seed": seed, "val_bleu4": state["val_bleu4"]})
    if boxed:
        warn(no_glyph_warning("".join(dict.fromkeys(boxed))))
    if not wanted:
        print("captioning.images is empty: nothing to caption", file=sys.stderr)


if __name__ == "__main__":
    main()
