"""Caption images of your own with the trained attention decoder, offline, as sgrvinod's caption.py
does: each image's caption is printed, and its attention figure (one map per word) written.

    python tools/caption.py IMAGE [IMAGE ...] [--out DIR] [--beam N] [--length-penalty A]
                            [--bands R,G,B] [--stretch LOW,HIGH]
    make caption IMAGES="a.tif b.jpg"

It uses what the last `dvc repro` made: the first seed's attention decoder
(models/captioner/attention/seed<k>.pt), data/vocab/vocab.json, and the encoder extract_features ran
(the weights file models/encoder.pth, and the image size, arithmetic and stored type that
metrics/features.json and params.yaml record), so an image gets the features the decoder was
trained on. Figures go to DIR (default captioned/), named after the images.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("captioned"), help="folder of the figures (default captioned/)")
    ap.add_argument(
        "--beam", type=int, help="beam size, 1 for greedy decoding (default: params.yaml captioning.decode.beam_size)"
    )
    ap.add_argument(
        "--length-penalty",
        type=float,
        help="beam search's length penalty (default: params.yaml captioning.decode.length_penalty)",
    )
    ap.add_argument(
        "--bands",
        metavar="R,G,B",
        help="the 0-based red, green and blue bands of the images (e.g. 3,2,1 for a Sentinel-2 stack), or one "
        "band for grey (default: params.yaml captioning.imagery.bands; none: the first three of 3 or 4 bands)",
    )
    ap.add_argument(
        "--stretch",
        metavar="LOW,HIGH",
        help="images deeper than 8 bits: the percentiles of their values that become 0 and 255 "
        "(default: params.yaml captioning.imagery.stretch)",
    )
    args = ap.parse_args(argv)
    return caption(args)


def caption(args) -> int:
    from hw2.captioning.decoder_file import load_decoder
    from hw2.captioning.decoding import beam_label, caption_one
    from hw2.captioning.features import build_encoder, encode_files
    from hw2.captioning.figures import captioned_image, no_glyph_warning
    from hw2.captioning.images import check_image
    from hw2.captioning.vocab import load_vocabulary
    from hw2.common.errors import BandChoiceError, InputError
    from hw2.common.runtime import KERNELS, Kernels
    from pipeline.params import load
    from pipeline.paths import Paths

    PATHS = Paths.of(ROOT)

    try:
        params = load(ROOT / "params.yaml").captioning
        decode = decode_settings(params.decode, args.beam, args.length_penalty)
        missing = [p for p in args.images if not p.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: no such image file")
        rendering = imagery_settings(params.imagery, args.bands, args.stretch)
        for path in args.images:  # before anything is loaded: not an image, too large, bands unknown
            try:
                check_image(path, params.unzip.max_megapixels, rendering=rendering)
            except BandChoiceError as exc:
                raise InputError(f"{exc}; name them with --bands R,G,B (0-based, e.g. --bands 3,2,1)") from None
        if args.out.exists() and not args.out.is_dir():
            raise InputError(f"--out {args.out}: a file is there; --out names the folder the figures go to")
        made = PATHS.features_metrics
        decoder = PATHS.decoder("attention", params.seeds[0])  # caption_images's: the first seed's
        for needed in (made, PATHS.encoder, PATHS.vocab / "vocab.json", decoder):
            if not needed.is_file():
                raise InputError(f"{needed.relative_to(ROOT)}: not found; run `make repro` (or `dvc repro`) first")
        features = json.loads(made.read_text(encoding="utf-8"))
        weights = features["encoder_weights"]  # what the encoder ran with: random, imagenet or a file
        if features.get("kernels") not in KERNELS:
            raise InputError(
                f"{made.relative_to(ROOT)}: made by an older version of the pipeline; run `make repro` "
                "(or `dvc repro`) first"
            )
        # the arithmetic of extract_features and caption_images
        Kernels(features["kernels"], features["precision"], features["threads"]).apply()
        encoder = build_encoder(PATHS.encoder, label=weights)  # the very weights extract_features ran with
        vocab, _ = load_vocabulary(PATHS.vocab / "vocab.json")
        feats = encode_files(
            encoder,
            args.images,
            features["image_size"],
            features["precision"],
            dtype=params.encoder.dtype,
            max_megapixels=params.unzip.max_megapixels,
            rendering=rendering,
        )
        model, _ = load_decoder(decoder, vocab, PATHS.vocab / "vocab.json", feats.shape[2])
        beam, penalty = decode.beam_size, decode.length_penalty
        how = beam_label(beam, penalty)
        boxed = ""  # characters no font has
        for path, f in zip(args.images, feats, strict=True):
            words, tokens, alphas = caption_one(model, f, vocab, beam, decode.max_length, penalty)
            figure = args.out / f"{path.stem}.png"
            assert alphas is not None  # the attention decoder's
            boxed += captioned_image(
                figure, path, tokens, alphas.numpy(), f"{path.name}: attention decoder, {how}", rendering=rendering
            )
            print(f"{path}: {' '.join(words)}  ({figure})")
        if boxed:
            print(f"WARNING: {no_glyph_warning(''.join(dict.fromkeys(boxed)))}", file=sys.stderr)
        if weights == "random":
            print(
                "WARNING: the encoder of this run is RANDOMLY INITIALISED (no ImageNet weights), and the decoder "
                "was trained on its features: captions of real photographs mean little",
                file=sys.stderr,
            )
    except (InputError, OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def decode_settings(decode, beam: int | None, length_penalty: float | None):
    """params.yaml's ``captioning.decode`` with the flags given, checked by the same schema:
    InputError naming the flag (``--beam must be an integer between 1 and 100, not 0``)."""
    from pipeline.params import Decode

    return with_flags(
        Decode, decode, {"beam_size": ("--beam", beam), "length_penalty": ("--length-penalty", length_penalty)}
    )


def imagery_settings(imagery, bands: str | None, stretch: str | None):
    """params.yaml's ``captioning.imagery`` with the flags given (comma-separated numbers), checked
    by the same schema, as the image loader takes it."""
    from hw2.captioning.images import Rendering
    from hw2.common.errors import InputError
    from pipeline.params import Imagery

    flags: dict[str, tuple[str, list[float] | list[int] | None]] = {}
    for key, flag, text, kind in (("bands", "--bands", bands, int), ("stretch", "--stretch", stretch, float)):
        try:
            flags[key] = (flag, None if text is None else [kind(v) for v in text.split(",") if v.strip()])
        except ValueError:
            raise InputError(f"{flag} {text}: not a comma-separated list of numbers") from None
    return Rendering(**with_flags(Imagery, imagery, flags).model_dump())


def with_flags(model, section, flags: dict):
    """``section`` (a params.yaml section of schema ``model``) with the values of the flags given
    (``flags``: key → (flag, value or None)), checked by the schema: InputError naming the flag."""
    from pydantic import ValidationError

    from hw2.common.errors import InputError, explain

    given = {key: value for key, (_, value) in flags.items() if value is not None}
    try:
        return model.model_validate({**section.model_dump(), **given})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = str(error["loc"][0])
        raise InputError(flags[key][0] + explain(error, model, "").split(key, 1)[1]) from None


if __name__ == "__main__":
    sys.exit(main())
