"""ResNet-18 region features: the encoder of Show, Attend and Tell, run once over every image.

torchvision's ResNet-18 without its average pooling and classifier maps a 224×224 image to a
512×7×7 grid; each of the 49 cells is one region the decoder can attend to. Features are
streamed to HDF5 batch by batch, so memory stays flat whatever the number of images.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torchvision import transforms
from torchvision.models import ResNet18_Weights, resnet18
from tqdm import tqdm

from ..common.atomic import atomic_path
from ..common.checkpoint import why_unloadable
from ..common.checksum import file_sha256
from ..common.disk import require_space
from ..common.errors import InputError
from ..common.seeding import seed_everything
from .images import DEFAULT_RENDERING, Rendering, load_rgb

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
WEIGHTS_FILE = Path(ResNet18_Weights.IMAGENET1K_V1.url).name  # resnet18-f37072fd.pth
IMAGENET_URL = ResNet18_Weights.IMAGENET1K_V1.url
IMAGENET_SHA256_PREFIX = WEIGHTS_FILE.split("-")[1].split(".")[0]  # f37072fd, as torchvision checks it


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def imagenet_weights(folder: Path) -> tuple[Path | None, str]:
    """torchvision's ImageNet weights for ResNet-18 as ``folder/resnet18-f37072fd.pth``: already
    there, else copied from the torch hub cache, else downloaded. Every copy is checked against
    the SHA-256 prefix in the file's name. Returns (the file, "") or (None, why not)."""
    target = Path(folder) / WEIGHTS_FILE
    if target.is_file():
        if not file_sha256(target).startswith(IMAGENET_SHA256_PREFIX):
            raise InputError(
                f"{target}: not torchvision's ImageNet weights (SHA-256 does not start with "
                f"{IMAGENET_SHA256_PREFIX}); delete it, or download {IMAGENET_URL} again"
            )
        return target, ""
    cached = hub_weights_path()
    try:
        with atomic_path(target, suffix=".pth") as tmp:  # a failed copy or download leaves nothing
            if cached.is_file() and file_sha256(cached).startswith(IMAGENET_SHA256_PREFIX):
                shutil.copyfile(cached, tmp)
                print(f"ImageNet weights copied from the torch hub cache {cached} to {target}")
            else:
                torch.hub.download_url_to_file(
                    IMAGENET_URL, str(tmp), hash_prefix=IMAGENET_SHA256_PREFIX, progress=False
                )
    except Exception as exc:  # offline: URLError; a partial or wrong file: RuntimeError
        return None, f"not in {target.parent}, not in the torch hub cache, and not downloadable ({type(exc).__name__})"
    return target, ""


@dataclass
class Encoder:
    net: nn.Module
    weights: str  # what was loaded: "imagenet", "random" or the path of a .pth
    note: str = ""  # why ``auto`` fell back to random weights, for the user to see


def build_encoder(weights: str, folder: Path | None = None, seed: int = 0) -> Encoder:
    """ResNet-18 up to its last convolutional block, with ``weights``:

    ``IMAGENET1K_V1`` torchvision's ImageNet weights, kept in ``folder`` (see
    :func:`imagenet_weights`; fails with where to put the file), ``auto`` the same but random
    initialisation with a warning when they cannot be had, ``none`` random initialisation
    (seeded), or a path to a ``.pth`` state dict of torchvision's ``resnet18``.
    """
    seed_everything(seed)
    net = resnet18(weights=None)
    loaded, note = "random", ""
    if weights in ("auto", "IMAGENET1K_V1"):
        if folder is None:
            raise ValueError("the folder of the ImageNet weights is needed")
        path, why = imagenet_weights(folder)
        if path is None:
            where = Path(folder) / WEIGHTS_FILE
            if weights == "IMAGENET1K_V1":
                raise InputError(
                    f"{where}: ImageNet weights for ResNet-18 {why}; download {IMAGENET_URL} "
                    f"on a machine with internet and copy it to {where}"
                )
            note = (
                f"ImageNet weights unavailable ({why}): the ResNet-18 encoder is RANDOMLY initialised, so its "
                f"features carry no ImageNet knowledge. Put {WEIGHTS_FILE} (from {IMAGENET_URL}) in "
                f"{Path(folder)}/ for the real encoder."
            )
        else:
            _load_state(net, path)
            loaded = "imagenet"
    elif weights != "none":
        path = Path(weights)
        if not path.is_file():
            raise InputError(f"{path}: encoder weights file not found")
        _load_state(net, path)
        loaded = str(path)
    body = nn.Sequential(*list(net.children())[:-2]).eval()  # drop avgpool and fc
    for p in body.parameters():
        p.requires_grad_(False)
    return Encoder(body, loaded, note)


def _load_state(net: nn.Module, path: Path) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    except Exception as exc:
        raise InputError(f"{path}: not a ResNet-18 state dict ({why_unloadable(exc)})") from None


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
