"""A trained decoder on disk: its weights with the settings and vocabulary size it was made with."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from ..common.checkpoint import load_checkpoint, save_checkpoint
from ..common.errors import InputError, StaleInputError
from .history import CaptionHistory
from .models import Decoder
from .train import CaptionTrainConfig
from .vocab import Vocabulary


def save_decoder(path: Path, model: Decoder, cfg: CaptionTrainConfig, vocab_size: int, hist: CaptionHistory) -> None:
    save_checkpoint(
        path,
        {
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "config": asdict(cfg),
            "vocab_size": vocab_size,
            "best_epoch": hist.best_epoch,
            "val_bleu4": hist.val_bleu4[hist.best_epoch - 1],
        },
    )


def load_decoder(
    path: Path, vocab: Vocabulary, vocab_path: Path, encoder_dim: int, device: torch.device | str = "cpu"
) -> tuple[Decoder, dict]:
    """A decoder saved by :func:`save_decoder`, checked against the vocabulary (read from
    ``vocab_path``) it will decode with, on ``device``."""
    state = load_checkpoint(path)
    try:
        cfg = CaptionTrainConfig(**state["config"])
        if state["vocab_size"] != len(vocab):
            raise StaleInputError(
                f"{path}: trained with a vocabulary of {state['vocab_size']} words, not the "
                f"{len(vocab)} of {vocab_path} (files from different runs)"
            )
        model = cfg.build(len(vocab), encoder_dim)
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(f"{path}: not a caption decoder checkpoint ({exc})") from None
    return model.to(device).eval(), state
