"""Stage caption_images: the attention decoder captions captioning.images (the homework's three),
written to the homework's JSON file and drawn with one attention map per word."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from _stage import ROOT, device_for, load_params, stage

from hw2.captioning.evaluate import load_decoder
from hw2.captioning.features import load_features
from hw2.captioning.figures import caption_sheet, captioned_image
from hw2.captioning.models import beam_search
from hw2.captioning.vocab import END, START, check_same_images, load_vocabulary
from hw2.common.atomic import write_json
from hw2.common.errors import InputError

FEATURES = ROOT / "data" / "features" / "features.h5"
VOCAB = ROOT / "data" / "vocab"
OUT = ROOT / "plots" / "captions"


@stage
def main():
    cap = load_params().captioning
    beam, max_length, wanted = cap.decode.beam_size, cap.decode.max_length, cap.images
    device = device_for(cap.train.device, "captioning.train.device")
    vocab, meta = load_vocabulary(VOCAB)
    features, names = load_features(FEATURES)
    check_same_images(names, FEATURES, meta, VOCAB)
    row = {n: i for i, n in enumerate(names)}
    missing = [n for n in wanted if n not in row]
    if missing:
        raise InputError(f"params.yaml: captioning.images names {', '.join(missing)}, not in the dataset "
                         f"(data/captions.json has {len(names):,} images, e.g. {names[0]})")
    model, _ = load_decoder(ROOT / "models" / "captioner" / "attention.pt", vocab, features.shape[2], device)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT.parent, prefix=".captions-") as tmp:
        write_figures(Path(tmp), [(name, features[row[name]]) for name in wanted], model, vocab, beam,
                      max_length or vocab.max_length)
        if OUT.exists():  # figures of images no longer asked for go too
            shutil.rmtree(OUT)
        os.replace(tmp, OUT)
        Path(tmp).mkdir()  # for TemporaryDirectory's clean-up
    if not wanted:
        print("captioning.images is empty: nothing to caption", file=sys.stderr)


def write_figures(out: Path, images, model, vocab, beam: int, max_length: int) -> None:
    """Into ``out``: the homework's JSON file, one figure per image (name, features), a sheet."""
    captions, sheet = {}, []
    device = next(model.parameters()).device
    for k, (name, feats) in enumerate(images, 1):
        ids, alphas = beam_search(model, torch.from_numpy(np.asarray(feats, np.float32)).to(device),
                                  vocab.stoi[START], vocab.stoi[END], max_length, beam)
        words = vocab.decode(ids)
        captions[name] = " ".join(words)
        image = ROOT / "data" / "images" / name
        # Named by position, not by image, so that dvc.yaml can declare them as plots whatever
        # captioning.images holds (and not "219.png": dvc-render 1.0.2 fails to sort image plots
        # whose names mix digits and words).
        captioned_image(out / f"attention_{k}.png", image, words, alphas[:len(words)].cpu().numpy(),
                        f"{name}: attention decoder, beam {beam}")
        sheet.append((image, name, captions[name]))
        print(f"{name}: {captions[name]}")
    if sheet:
        caption_sheet(out / "captions.png", sheet)
    write_json(out / "caps_generated_enc_dec_w_attention.json", captions)


if __name__ == "__main__":
    main()
