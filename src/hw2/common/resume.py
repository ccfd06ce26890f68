"""One resume mechanism for the trainers: a checkpoint per finished epoch, continued only when it
describes the run asked for."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from .checkpoint import load_checkpoint, save_checkpoint
from .errors import InputError


def run_key(settings: dict, data_digest: str) -> str:
    """What a resume checkpoint must have been made with: the settings that decide a run's
    numbers (without its length: a longer run is the shorter one continued) and its data."""
    return hashlib.sha256(json.dumps([settings, data_digest], sort_keys=True).encode()).hexdigest()


def load_resume(path: str | os.PathLike | None, key: str, epochs: int, map_location="cpu") -> dict | None:
    """The training state saved at ``path``, if it was made with the same ``key`` (the settings
    and data that decide the numbers, epochs aside) after no more than ``epochs`` epochs; else None.

    A checkpoint of other settings, or of a longer run than asked for, is not continued: the
    run starts afresh (and overwrites it). An unreadable one is ignored, with a warning.
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        state = load_checkpoint(path, map_location=map_location)
    except InputError as exc:
        print(f"WARNING: {exc}; starting afresh", file=sys.stderr)
        return None
    if state.get("key") != key or not 0 < int(state.get("epoch", 0)) <= epochs:
        return None
    return state


def save_resume(path: str | os.PathLike, key: str, epoch: int, state: dict) -> None:
    """Everything needed to continue after ``epoch`` finished epochs, saved atomically."""
    save_checkpoint(path, {**state, "key": key, "epoch": epoch})
