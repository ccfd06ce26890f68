"""Stage extract_features: ResNet-18 region features of every image, streamed to HDF5."""

from _stage import PATHS, ROOT, device_for, require, stage

from hw2.captioning.dataset import load_caption_set
from hw2.captioning.features import build_encoder, extract_features
from hw2.captioning.images import Rendering
from hw2.common.atomic import write_json
from hw2.common.runtime import Kernels

WEIGHTS = PATHS.encoder  # the encoder_weights stage's output: the only weights file this stage reads
IMAGES = PATHS.images
CAPTIONS = PATHS.captions
FEATURES = PATHS.features
METRICS = PATHS.features_metrics


@stage
def main(params):
    enc = params.captioning.encoder
    kernels = Kernels(params.kernels, enc.precision, params.captioning.threads).apply()
    device = device_for(enc.device, "captioning.encoder.device")
    size = enc.image_size
    captions = load_caption_set(CAPTIONS)
    # what the metrics call the weights: random, imagenet, or the file params.yaml names
    label = {"none": "random"}.get(enc.weights, enc.weights)
    encoder = build_encoder(require(WEIGHTS, "encoder_weights"), label=label)
    stats = extract_features(
        IMAGES,
        [im.filename for im in captions.images],
        [im.split for im in captions.images],
        FEATURES,
        encoder,
        image_size=size,
        batch_size=enc.batch_size,
        dtype=enc.dtype,
        device=device,
        precision=enc.precision,
        rendering=Rendering(**params.captioning.imagery.model_dump()),
    )
    regions = (size // 32) ** 2
    write_json(
        METRICS,
        {
            "encoder_weights": encoder.weights,
            "images": stats["images"],
            "regions": regions,
            "image_size": size,
            "imagery": params.captioning.imagery.model_dump(),  # how the images became RGB
            **kernels,
            "device": device.type,
        },
    )
    print(
        f"features of {stats['images']:,} images ({regions} regions x 512, {enc.dtype}) computed in "
        f"{enc.precision} on {device.type} ({kernels['kernels']} kernels: {kernels['kernel_path']}) "
        f"→ {FEATURES.relative_to(ROOT)} in "
        f"{stats['seconds']:.1f} s ({stats['images_per_s']:.1f} images/s); encoder weights: {encoder.weights}"
    )


if __name__ == "__main__":
    main()
