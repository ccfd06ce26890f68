"""Stage encoder_weights: the encoder's weights as one file DVC tracks, chosen by
captioning.encoder.weights and never by what the machine happens to have.

- ``none``: ResNet-18 initialised at random from a fixed seed (the same file on every machine);
- ``imagenet``: torchvision's ImageNet weights, ``data/weights/resnet18-f37072fd.pth`` when the user
  put it there (offline), else downloaded from its URL; either way checked against the SHA-256 prefix
  in its name, so both give the same bytes;
- ``data/weights/<name>.pth``: that state dict of torchvision's ``resnet18``.

The output is what extract_features loads, so dvc.lock records the hash of the weights behind every
captioning result. The stage reads the user's folder and never writes into it (nor into the torch hub
cache, which it never reads: `make weights` copies the file from there when a user asks).
"""

from _stage import PATHS, ROOT, stage

from hw2.captioning.weights import (
    IMAGENET_FILE,
    IMAGENET_URL,
    check_imagenet_file,
    download_imagenet,
    save_encoder_weights,
)
from hw2.common.errors import InputError
from hw2.common.runtime import Kernels

FOLDER = PATHS.weights  # the user's weights files (a dependency): read, never written
OUT = PATHS.encoder


@stage
def main(params):
    choice = params.captioning.encoder.weights
    Kernels(params.kernels).apply()  # the random initialisation's draws, as every stage computes them
    if choice == "imagenet":
        given = FOLDER / IMAGENET_FILE
        if given.is_file():
            check_imagenet_file(given)
            save_encoder_weights(given, OUT)
            how = f"torchvision's ImageNet weights from {given.relative_to(ROOT)}"
        else:
            try:
                download_imagenet(OUT)
            except InputError as exc:
                raise InputError(
                    f"{given}: not found, and {exc}; download {IMAGENET_URL} where there is internet and put "
                    f"it in {FOLDER}/ (or `make weights`, which copies it from a torch hub cache)"
                ) from None
            how = f"torchvision's ImageNet weights downloaded from {IMAGENET_URL}"
    elif choice == "none":
        save_encoder_weights(None, OUT)
        how = "ResNet-18 initialised at random (seeded)"
    else:
        save_encoder_weights(ROOT / choice, OUT)
        how = f"the state dict in {choice}"
    print(f"encoder weights ({choice}): {how} → {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
