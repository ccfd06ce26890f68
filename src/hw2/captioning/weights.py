"""The encoder's weights as one file: torchvision's ImageNet weights for ResNet-18 (checked as
torchvision checks them), a user's state dict, or a seeded random initialisation.

Nothing here looks at what a machine happens to have: the torch hub cache is read only by
``tools/weights.py``, when a user asks for it, and a download happens only when the ImageNet weights
are asked for and not given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torchvision.models import ResNet18_Weights, resnet18

from ..common.atomic import atomic_path
from ..common.checkpoint import save_checkpoint, why_unloadable
from ..common.checksum import file_sha256
from ..common.errors import InputError
from ..common.seeding import seed_everything

IMAGENET_URL = ResNet18_Weights.IMAGENET1K_V1.url
IMAGENET_FILE = Path(IMAGENET_URL).name  # resnet18-f37072fd.pth
IMAGENET_SHA256_PREFIX = IMAGENET_FILE.split("-")[1].split(".")[0]  # f37072fd, as torchvision checks it
RANDOM_SEED = 0  # the seed of the random encoder (``none``)


def hub_weights_path() -> Path:
    """Where torchvision keeps the ImageNet file once it has downloaded it (the torch hub cache).
    Only the command that puts the file in place looks there, when a user asks it to."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def check_imagenet_file(path: Path) -> None:
    """InputError unless ``path`` holds torchvision's ImageNet weights (its SHA-256 starts with the
    prefix in the file's name, the check torchvision makes)."""
    if not file_sha256(path).startswith(IMAGENET_SHA256_PREFIX):
        raise InputError(
            f"{path}: not torchvision's ImageNet weights for ResNet-18 (its SHA-256 does not start with "
            f"{IMAGENET_SHA256_PREFIX}: cut short, or another file); delete it and download {IMAGENET_URL} again"
        )


def download_imagenet(target: Path, timeout: float = 30.0) -> None:
    """torchvision's ImageNet weights from :data:`IMAGENET_URL` to ``target``, checked, written
    atomically (a failed download leaves nothing). InputError naming the URL when it fails."""
    import urllib.error
    import urllib.request

    try:
        with atomic_path(target, suffix=".pth") as tmp:
            with urllib.request.urlopen(IMAGENET_URL, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            check_imagenet_file(tmp)
    except InputError:
        raise InputError(
            f"{IMAGENET_URL}: the download is not torchvision's ImageNet weights (SHA-256 does not start "
            f"with {IMAGENET_SHA256_PREFIX}); try again"
        ) from None
    except (urllib.error.URLError, OSError) as exc:  # offline, refused, timed out, cut off
        raise InputError(f"{IMAGENET_URL}: cannot be downloaded ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(exc).__name__}: {reason}"[:160]


def random_state(seed: int = RANDOM_SEED) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's ``resnet18`` initialised at random from ``seed`` (the
    encoder of ``none``): the same tensors in every process that computes in the same kernels."""
    seed_everything(seed)
    return resnet18(weights=None).state_dict()


def resnet18_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, checked to be one of torchvision's ``resnet18`` (every tensor, of
    the right shape); InputError naming the file otherwise. A file is never run: weights_only."""
    if not Path(path).is_file():
        raise InputError(f"{path}: encoder weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        resnet18(weights=None).load_state_dict(state)
    except Exception as exc:
        raise InputError(f"{path}: not a ResNet-18 state dict ({why_unloadable(exc)})") from None
    return state


def save_encoder_weights(source: Path | None, out: Path, seed: int = RANDOM_SEED) -> None:
    """The encoder's weights as one file, ``out``: a copy of ``source`` (checked to be a ResNet-18
    state dict; its bytes kept, so the file's hash is the one its publisher gives), or for None
    the seeded random initialisation. Written atomically."""
    if source is None:
        save_checkpoint(out, random_state(seed))
        return
    resnet18_state(source)
    with atomic_path(out, suffix=".pth") as tmp:
        shutil.copyfile(source, tmp)
