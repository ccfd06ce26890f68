"""Training a caption decoder: teacher forcing, validation BLEU-4 each epoch, the best epoch kept,
the learning rate cut when validation BLEU-4 stalls (``ReduceLROnPlateau``), early stopping, and a
checkpoint per epoch to resume a killed run bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau
from tqdm import tqdm

from ..common.resume import load_resume, run_key, save_resume
from ..common.seeding import generator, seed_everything
from .decoding import greedy_ids
from .encoded import CaptionData
from .history import CaptionHistory
from .models import Decoder, build_decoder, caption_loss
from .scoring import bleu


@dataclass(frozen=True)
class CaptionTrainConfig:
    """Everything a decoder's training is a function of (with the data): no defaults here, the
    caller gives every value."""

    model: str  # vanilla | attention
    embed_dim: int
    decoder_dim: int
    attention_dim: int
    dropout: float
    feature_norm: bool  # LayerNorm over each region's features before the decoder reads them
    lr: float
    batch_size: int
    epochs: int
    smooth: int  # epochs averaged into the validation BLEU-4 the schedule and early stopping watch
    patience: int  # epochs without a better (smoothed) validation BLEU-4 before stopping
    lr_decay: float  # the learning rate is multiplied by this (1: never) after
    lr_patience: int  # this many epochs without a better (smoothed) validation BLEU-4
    grad_clip: float
    alpha_c: float  # doubly stochastic attention regulariser (attention decoder only)
    seed: int
    precision: str  # float32 | bfloat16: the arithmetic of the training forward pass
    device: str  # cpu | cuda

    def key(self, digest: str) -> str:
        """What a resume checkpoint must have been made with (a longer or more patient run is the
        shorter one continued)."""
        return run_key({k: v for k, v in asdict(self).items() if k not in ("epochs", "patience")}, digest)

    def build(self, vocab_size: int, encoder_dim: int) -> Decoder:
        return build_decoder(
            self.model,
            vocab_size,
            encoder_dim,
            self.embed_dim,
            self.decoder_dim,
            self.attention_dim,
            self.dropout,
            self.feature_norm,
        )


@torch.no_grad()
def greedy_bleu4(model: Decoder, data: CaptionData, split: int, start: int, end: int, max_length: int) -> float:
    """Corpus BLEU-4 of greedy captions of ``split``'s images against all their references."""
    images, refs = data.references(split)
    features = data.features[torch.tensor(images, device=data.features.device)]
    return bleu(refs, greedy_ids(model, features, start, end, max_length))


def plateau_schedule(opt: torch.optim.Optimizer, cfg: CaptionTrainConfig) -> ReduceLROnPlateau | None:
    """The rate times ``cfg.lr_decay`` once the smoothed validation BLEU-4 has not improved for
    ``cfg.lr_patience`` epochs, counted from its best epoch or from the last cut, whichever is later;
    None for a constant rate. (torch's ``patience`` is the epochs tolerated, one fewer than the
    epochs that make a cut; eps 0: cut even a rate below 1e-8.)"""
    if cfg.lr_decay >= 1:
        return None
    return ReduceLROnPlateau(opt, mode="max", factor=cfg.lr_decay, patience=cfg.lr_patience - 1, threshold=0, eps=0)


def train_captioner(
    data: CaptionData,
    vocab_size: int,
    start: int,
    end: int,
    max_length: int,
    cfg: CaptionTrainConfig,
    resume_path: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[int, float, float, float], None] | None = None,
    inspect: Callable[[int, Decoder], None] | None = None,
):
    """Train ``cfg.model`` on the training captions; after each epoch, the validation BLEU-4 of
    greedy decoding, which picks the best epoch; averaged over ``cfg.smooth`` epochs, it cuts the
    learning rate on a plateau (:func:`plateau_schedule`) and stops the run after ``cfg.patience``
    epochs without a better value.
    Returns (the model with the weights of its best epoch, history). ``on_epoch(epoch, train_loss,
    val_bleu4, lr)`` after each epoch; ``inspect(epoch, model)`` too (benches score each epoch's
    weights with it; it must leave the model's weights and the random generators as it found them).

    Batches come from a fixed-seed shuffle of the training captions (the decoder sorts each batch
    by length). With ``resume_path`` every epoch is checkpointed (model, optimizer, schedule,
    generators, history, best weights) and a matching checkpoint is resumed. The model and the
    data live on ``cfg.device``; the shuffle is drawn on the CPU, so it is the same on either."""
    device = torch.device(cfg.device)
    seed_everything(cfg.seed)
    model = cfg.build(vocab_size, data.features.shape[2]).to(device)
    data = data.to(device)
    # fused: one ATen kernel whose square root is the correctly rounded instruction; the default
    # implementations call torch.sqrt, whose float32 CPU kernel (MKL's vector maths) is 1 ulp off on
    # a fifth of its inputs, differently from one processor to another (bench/README.md)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    plateau = plateau_schedule(opt, cfg)
    shuffle = generator(cfg.seed)
    train_rows = torch.nonzero(data.split == 0).squeeze(1)
    alpha_c = cfg.alpha_c if cfg.model == "attention" else 0.0
    hist, best_state, key = CaptionHistory(), None, cfg.key(data.digest())
    state = load_resume(resume_path, key, cfg.epochs)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if plateau is not None:
            plateau.load_state_dict(state["plateau"])
        shuffle.set_state(state["shuffle_rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda":  # dropout draws from the device's generator
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        hist = CaptionHistory(state["train_loss"], state["val_bleu4"], state["lr"], state["best_epoch"], state["epoch"])
        best_state = state["best"]
    epoch = len(hist.train_loss)
    while epoch < cfg.epochs and hist.since_best(cfg.smooth) < cfg.patience:
        lr = opt.param_groups[0]["lr"]
        model.train()
        order = train_rows[torch.randperm(len(train_rows), generator=shuffle)]
        total = 0.0
        for rows in tqdm(
            order.split(cfg.batch_size),
            desc=f"{cfg.model} epoch {epoch + 1}/{cfg.epochs}",
            unit="batch",
            leave=False,
            disable=None if progress else True,
        ):
            n = int(data.lengths[rows].max())
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16"):
                out = model(data.features[data.image[rows]].float(), data.tokens[rows, :n], data.lengths[rows])
                loss = caption_loss(out, alpha_c)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total += loss.item() * len(rows)
        epoch += 1
        hist.train_loss.append(total / len(order))
        hist.lr.append(lr)
        hist.val_bleu4.append(greedy_bleu4(model, data, 1, start, end, max_length))
        if hist.val_bleu4[-1] > max(hist.val_bleu4[:-1], default=-1.0):
            hist.best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if plateau is not None and epoch >= cfg.smooth:
            plateau.step(hist.smoothed(cfg.smooth)[-1])
        if resume_path is not None:
            save_resume(
                resume_path,
                key,
                epoch,
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    **({"plateau": plateau.state_dict()} if plateau is not None else {}),
                    "shuffle_rng": shuffle.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "best": best_state,
                    **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                    "train_loss": hist.train_loss,
                    "val_bleu4": hist.val_bleu4,
                    "lr": hist.lr,
                    "best_epoch": hist.best_epoch,
                },
            )
        if on_epoch is not None:
            on_epoch(epoch, hist.train_loss[-1], hist.val_bleu4[-1], lr)
        if inspect is not None:
            inspect(epoch, model)
    assert best_state is not None  # one epoch at least has run, or was resumed
    model.load_state_dict(best_state)
    return model.eval(), hist
