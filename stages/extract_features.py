"""Stage extract_features: ResNet-18 region features of every image, streamed to HDF5."""
import sys

from _stage import ROOT, load_params, stage

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.features import build_encoder, default_workers, extract_features, resolve_precision
from hw2.common.atomic import write_json
from hw2.common.runtime import configure_threads, resolve_device
from hw2.common.params import positive_int

WEIGHTS = ROOT / "data" / "weights"  # a dependency of the stage: any weights file it loads lives here
IMAGES = ROOT / "data" / "images"
CAPTIONS = ROOT / "data" / "captions.json"
FEATURES = ROOT / "data" / "features" / "features.h5"
METRICS = ROOT / "metrics" / "features.json"


@stage
def main():
    enc = load_params()["captioning"]["encoder"]
    configure_threads()
    size = positive_int(enc["image_size"], "captioning.encoder.image_size", minimum=32)
    if size % 32:
        raise ValueError(f"params.yaml: captioning.encoder.image_size must be a multiple of 32, not {size}")
    captions = load_caption_set(CAPTIONS)
    weights = str(enc["weights"])
    if weights not in ("auto", "IMAGENET1K_V1", "none"):
        path = (ROOT / weights).resolve()
        if not path.is_relative_to(WEIGHTS.resolve()):
            raise ValueError(f"params.yaml: captioning.encoder.weights: {weights} is outside data/weights/; put the "
                             "file there, so that DVC tracks it and a new file reruns this stage")
        weights = str(path.relative_to(ROOT.resolve()))
    encoder = build_encoder(weights, WEIGHTS)
    if encoder.note:
        print(f"WARNING: {encoder.note}", file=sys.stderr)
    device = resolve_device(enc.get("device", "auto"))
    precision = resolve_precision(enc.get("precision", "auto"), device)
    stats = extract_features(
        IMAGES, [im.filename for im in captions.images], [im.split for im in captions.images], FEATURES,
        encoder, image_size=size, batch_size=positive_int(enc["batch_size"], "captioning.encoder.batch_size"),
        workers=default_workers(),
        dtype=enc.get("dtype", "float16"), device=device, precision=precision)
    regions = (size // 32) ** 2
    write_json(METRICS, {"encoder_weights": encoder.weights, "images": stats["images"], "regions": regions,
                         "image_size": size, "precision": precision})
    print(f"features of {stats['images']:,} images ({regions} regions x 512, {enc.get('dtype', 'float16')}) "
          f"computed in {precision} → {FEATURES.relative_to(ROOT)} in {stats['seconds']:.1f} s ({stats['images_per_s']:.1f} images/s); "
          f"encoder weights: {encoder.weights}")
    if encoder.note:
        print(f"WARNING (repeated): {encoder.note}", file=sys.stderr)


if __name__ == "__main__":
    main()
