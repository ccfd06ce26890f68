"""ResNet-18 region features: the encoder of Show, Attend and Tell, run once over every image.

torchvision's ResNet-18 without its average pooling and classifier maps a 224×224 image to a
512×7×7 grid; each of the 49 cells is one region the decoder can attend to. Features are
streamed to HDF5 batch by batch, so memory stays flat whatever the number of images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torchvision import transforms
from torchvision.models import resnet18
from tqdm import tqdm

from ..common.atomic import atomic_path
from ..common.disk import require_space
from .images import DEFAULT_RENDERING, Rendering, load_rgb
from .weights import RANDOM_SEED, random_state, resnet18_state

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Encoder:
    net: nn.Module
    weights: str  # what was loaded, as the metrics name it: "random", "imagenet" or a file


def build_encoder(weights: str | Path = "none", seed: int = RANDOM_SEED, label: str | None = None) -> Encoder:
    """ResNet-18 up to its last convolutional block (no average pooling, no classifier), frozen:
    ``none`` initialised at random from ``seed`` (:func:`random_state`), otherwise the state dict
    in the file ``weights``.
    ``label`` is what the metrics call the weights (default: ``random`` or the file's path)."""
    net = resnet18(weights=None)
    if str(weights) == "none":
        net.load_state_dict(random_state(seed))
        loaded = "random"
    else:
        net.load_state_dict(resnet18_state(Path(weights)))
        loaded = str(weights)
    body = nn.Sequential(*list(net.children())[:-2]).eval()  # drop avgpool and fc
    for p in body.parameters():
        p.requires_grad_(False)
    return Encoder(body, label or loaded)


def image_transform(size: int) -> transforms.Compose:
    return transforms.Compose(
        [
            transforms.Resize((size, size), antialias=True),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


@torch.inference_mode()
def encode(net: nn.Module, batch: torch.Tensor, device: torch.device, precision: str) -> torch.Tensor:
    """Images (B, 3, S, S), normalised, → region features (B, (S/32)², 512), float32 on the CPU."""
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        f = net(batch.to(device))  # (B, 512, g, g)
    return f.flatten(2).transpose(1, 2).to(torch.float32).cpu()  # one row per region


@torch.inference_mode()
def encode_files(
    encoder: Encoder,
    paths: list[Path],
    image_size: int,
    precision: str = "float32",
    device: torch.device | str = "cpu",
    dtype: str = "float32",
    max_megapixels: float | None = None,
    rendering: Rendering = DEFAULT_RENDERING,
) -> torch.Tensor:
    """Region features of a few image files, as :func:`extract_features` computes and stores them
    (rounded through ``dtype``, the stored type), (N, (S/32)², 512) float32."""
    device = torch.device(device)
    images = load_batch(paths, image_transform(image_size), max_megapixels, rendering)
    return encode(encoder.net.to(device), images, device, precision).to(getattr(torch, dtype)).float()


def load_batch(
    paths: list[Path],
    transform: transforms.Compose,
    max_megapixels: float | None,
    rendering: Rendering = DEFAULT_RENDERING,
) -> torch.Tensor:
    """Image files through the one loader and ``transform``, stacked: (N, 3, S, S)."""
    return torch.stack([transform(load_rgb(path, max_megapixels, rendering=rendering)) for path in paths])


def extract_features(
    folder: Path,
    names: list[str],
    splits: list[str],
    out: Path,
    encoder: Encoder,
    image_size: int,
    batch_size: int,
    dtype: str,
    device: torch.device | str = "cpu",
    precision: str = "float32",
    max_megapixels: float | None = None,
    progress: bool = True,
    rendering: Rendering = DEFAULT_RENDERING,
) -> dict:
    """Encode ``names`` (in ``folder``) into ``out`` (HDF5), ``batch_size`` images at a time:

    ``features`` (N, R, 512) with R = (image_size/32)² regions (49 at 224), ``filenames`` and
    ``splits`` (N,) strings, attributes ``encoder_weights``, ``image_size`` and ``precision``
    (the encoder's arithmetic: ``float32`` or ``bfloat16``). Written to a temporary file and
    renamed when complete. Returns counts and throughput.
    """
    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be float16 or float32, not {dtype!r}")
    device = torch.device(device)
    net = encoder.net.to(device)
    transform = image_transform(image_size)
    grid = image_size // 32
    rows = len(names) * grid * grid * 512 * np.dtype(dtype).itemsize
    require_space(Path(out).parent, rows + rows // 50 + 2**20, f"the features of {len(names):,} images")
    start = time.perf_counter()
    with atomic_path(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        # track_times=False: no creation times in the file, so the same features give the same bytes
        feats = h5.create_dataset(
            "features",
            shape=(len(names), grid * grid, 512),
            dtype=dtype,
            chunks=(1, grid * grid, 512),
            track_times=False,
        )
        h5.create_dataset("filenames", data=np.array(names, dtype=object), dtype=h5py.string_dtype(), track_times=False)
        h5.create_dataset("splits", data=np.array(splits, dtype=object), dtype=h5py.string_dtype(), track_times=False)
        h5.attrs["encoder_weights"] = encoder.weights
        h5.attrs["image_size"] = image_size
        h5.attrs["precision"] = precision
        for i in tqdm(
            range(0, len(names), batch_size), desc="features", unit="batch", disable=None if progress else True
        ):
            batch = load_batch(
                [Path(folder) / name for name in names[i : i + batch_size]], transform, max_megapixels, rendering
            )
            feats[i : i + len(batch)] = encode(net, batch, device, precision).numpy().astype(dtype)
    seconds = time.perf_counter() - start
    return {"images": len(names), "seconds": seconds, "images_per_s": len(names) / max(seconds, 1e-9)}
