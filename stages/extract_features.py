"""Stage extract_features: ResNet-18 region features of every image, streamed to HDF5."""
import sys

from _stage import ROOT, device_for, load_params, stage

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.features import build_encoder, default_workers, encoder_probe, extract_features
from hw2.common.atomic import write_json
from hw2.common.precision import default_cache, resolve_precision
from hw2.common.runtime import configure_threads

WEIGHTS = ROOT / "data" / "weights"  # a dependency of the stage: any weights file it loads lives here
IMAGES = ROOT / "data" / "images"
CAPTIONS = ROOT / "data" / "captions.json"
FEATURES = ROOT / "data" / "features" / "features.h5"
METRICS = ROOT / "metrics" / "features.json"


@stage
def main():
    enc = load_params().captioning.encoder
    configure_threads()
    device = device_for(enc.device, "captioning.encoder.device")
    size = enc.image_size
    captions = load_caption_set(CAPTIONS)
    weights = enc.weights if enc.weights in ("auto", "IMAGENET1K_V1", "none") else str(ROOT / enc.weights)
    encoder = build_encoder(weights, WEIGHTS)
    if encoder.weights == weights:  # recorded as params.yaml names it, not as this machine's absolute path
        encoder.weights = enc.weights
    if encoder.note:
        print(f"WARNING: {encoder.note}", file=sys.stderr)
    probe = encoder_probe(encoder, size, enc.batch_size, device) if enc.precision == "auto" else None
    precision = resolve_precision(enc.precision, device, probe, f"ResNet-18 features, {size} px, batch {enc.batch_size}",
                                  default_cache())
    if enc.precision == "auto":
        print(f"captioning.encoder.precision auto: {precision}, the faster here as measured "
              f"(the measurement is kept in {default_cache()})")
    stats = extract_features(
        IMAGES, [im.filename for im in captions.images], [im.split for im in captions.images], FEATURES,
        encoder, image_size=size, batch_size=enc.batch_size, workers=default_workers(), dtype=enc.dtype,
        device=device, precision=precision)
    regions = (size // 32) ** 2
    write_json(METRICS, {"encoder_weights": encoder.weights, "images": stats["images"], "regions": regions,
                         "image_size": size, "precision": precision})
    print(f"features of {stats['images']:,} images ({regions} regions x 512, {enc.dtype}) "
          f"computed in {precision} → {FEATURES.relative_to(ROOT)} in {stats['seconds']:.1f} s ({stats['images_per_s']:.1f} images/s); "
          f"encoder weights: {encoder.weights}")
    if encoder.note:
        print(f"WARNING (repeated): {encoder.note}", file=sys.stderr)


if __name__ == "__main__":
    main()
