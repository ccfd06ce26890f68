"""A trained ConvNet on disk: loaded from a checkpoint written by the sweep, or refused by name."""

from __future__ import annotations

from pathlib import Path

from ..common.checkpoint import load_checkpoint
from ..common.errors import InputError
from .model import ConvNet


def load_convnet(path: Path) -> tuple[ConvNet, dict]:
    """The ConvNet saved at ``path`` (in eval mode) and the checkpoint's other entries (lr, …)."""
    ckpt = load_checkpoint(path)
    model = ConvNet(dropout=0.0)  # evaluation only: dropout is off
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(f"{path}: not the homework's ConvNet ({str(exc).splitlines()[0]})") from None
    return model.eval(), ckpt
