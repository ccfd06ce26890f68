"""One checkpoint format: a dict of tensors and plain values, saved atomically and loaded
with ``weights_only=True`` (a checkpoint can never run code)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .atomic import atomic_path
from .errors import InputError


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Saved through a file object: torch.save names the archive inside after a file name,
    and the temporary name would make equal checkpoints differ byte for byte."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)


def why_unloadable(exc: Exception) -> str:
    """Why ``torch.load(..., weights_only=True)`` refused a file, in a few words. Never torch's own
    advice to retry with ``weights_only=False``: that would run whatever code the file holds."""
    text = str(exc)
    if "Weights only load failed" in text or "weights_only" in text:
        return "it holds Python objects, not only tensors; it is not loaded, since loading it could run code"
    first = text.splitlines()[0][:200] if text else ""
    return f"{type(exc).__name__}{': ' + first if first else ''}"


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise InputError(f"{path}: not a readable checkpoint ({why_unloadable(exc)})") from None
    if not isinstance(state, dict):
        raise InputError(f"{path}: checkpoint holds a {type(state).__name__}, expected a dict")
    return state
