"""Training a caption decoder: teacher forcing, validation BLEU-4 each epoch, the best epoch
kept, the learning rate cut when validation BLEU-4 stalls, early stopping, and a checkpoint per
epoch to resume a killed run bit for bit."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from ..common.resume import load_resume, run_key, save_resume
from ..common.seeding import generator, seed_everything
from .decoding import greedy_ids
from .encoded import CaptionData
from .models import Decoder, build_decoder, caption_loss
from .scoring import bleu


@dataclass
class CaptionTrainConfig:
    model: str = "attention"      # vanilla | attention
    embed_dim: int = 256
    decoder_dim: int = 512
    attention_dim: int = 256
    dropout: float = 0.5
    lr: float = 4e-4
    batch_size: int = 32
    epochs: int = 20
    patience: int = 5             # epochs without a better (smoothed) validation BLEU-4 before stopping
    lr_decay: float = 1.0         # the learning rate is multiplied by this after lr_patience epochs
    lr_patience: int = 3          # without a better (smoothed) validation BLEU-4 (since the best or the last cut)
    smooth: int = 1               # epochs averaged into the signal the schedule and early stopping watch
    grad_clip: float = 5.0
    alpha_c: float = 1.0          # doubly stochastic attention regulariser (attention model only)
    seed: int = 0
    precision: str = "float32"    # float32 | bfloat16: the arithmetic of the training forward pass
    device: str = "cpu"           # cpu | cuda: where the decoder trains (results differ between the two)

    def key(self, digest: str) -> str:
        return run_key({k: v for k, v in asdict(self).items() if k not in ("epochs", "patience")}, digest)

    def build(self, vocab_size: int, encoder_dim: int) -> Decoder:
        return build_decoder(self.model, vocab_size, encoder_dim, self.embed_dim, self.decoder_dim,
                             self.attention_dim, self.dropout)


def training_probe(cfg: CaptionTrainConfig, vocab_size: int, data: CaptionData) -> Callable[[bool], None]:
    """One training step (forward, loss, backward) of a fresh ``cfg.model`` on the first
    ``cfg.batch_size`` training captions, in bfloat16 autocast when called with True: for
    :func:`hw2.common.precision.resolve_precision`. Call it before :func:`train_captioner`, which
    seeds the generators its run draws from."""
    device = torch.device(cfg.device)
    model = cfg.build(vocab_size, data.features.shape[2]).to(device).train()
    rows = torch.nonzero(data.split == 0).squeeze(1)[:cfg.batch_size]
    n = int(data.lengths[rows].max())
    features = data.features[data.image[rows]].float().to(device)
    tokens, lengths = data.tokens[rows, :n].to(device), data.lengths[rows].to(device)

    def step(bfloat16: bool) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
            loss = caption_loss(model(features, tokens, lengths), cfg.alpha_c if cfg.model == "attention" else 0.0)
        model.zero_grad()
        loss.backward()
    return step


@torch.no_grad()
def greedy_bleu4(model: Decoder, data: CaptionData, split: int, start: int, end: int, max_length: int) -> float:
    """Corpus BLEU-4 of greedy captions of ``split``'s images against all their references."""
    images, refs = data.references(split)
    features = data.features[torch.tensor(images, device=data.features.device)]
    return bleu(refs, greedy_ids(model, features, start, end, max_length))


@dataclass
class CaptionHistory:
    train_loss: list[float] = field(default_factory=list)
    val_bleu4: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)   # the learning rate each epoch trained with
    best_epoch: int = 0
    resumed_from: int = 0

    def smoothed(self, k: int) -> list[float]:
        """Validation BLEU-4 averaged over each epoch and the ``k`` - 1 before it, from epoch ``k``
        on (a mean of fewer epochs would let one lucky early epoch stand for a plateau)."""
        v = self.val_bleu4
        return [sum(v[i + 1 - k:i + 1]) / k for i in range(k - 1, len(v))]

    def since_best(self, k: int) -> int:
        """Epochs since the first epoch with the best smoothed validation BLEU-4 (``k`` = 1: the
        best epoch itself); 0 until ``k`` epochs have run."""
        s = self.smoothed(k)
        return len(s) - (s.index(max(s)) + 1) if s else 0

    def cuts(self) -> list[int]:
        """The epochs after which the learning rate was cut (the next one trained with less)."""
        return [e for e in range(1, len(self.lr)) if self.lr[e] < self.lr[e - 1]]

    def since_cut(self) -> int:
        """Epochs since the learning rate was last cut (all of them when it never was)."""
        return len(self.lr) - max(self.cuts(), default=0)


def next_lr(hist: CaptionHistory, cfg: CaptionTrainConfig) -> float:
    """The learning rate of the next epoch: the last one, times ``cfg.lr_decay`` once validation
    BLEU-4 (averaged over ``cfg.smooth`` epochs) has not improved for ``cfg.lr_patience`` epochs,
    counted from its best epoch or from the last cut, whichever is later (the schedule of Show,
    Attend and Tell as usually trained, on plateau)."""
    lr = hist.lr[-1] if hist.lr else cfg.lr
    if cfg.lr_decay < 1 and min(hist.since_best(cfg.smooth), hist.since_cut()) >= cfg.lr_patience:
        return lr * cfg.lr_decay
    return lr


def train_captioner(data: CaptionData, vocab_size: int, start: int, end: int, max_length: int,
                    cfg: CaptionTrainConfig, resume_path: Path | None = None, progress: bool = True,
                    on_epoch: Callable[[int, float, float, float], None] | None = None):
    """Train ``cfg.model`` on the training captions; after each epoch, the validation BLEU-4 of
    greedy decoding, which picks the best epoch; averaged over ``cfg.smooth`` epochs, it cuts the
    learning rate on a plateau (:func:`next_lr`) and stops the run after ``cfg.patience`` epochs
    without a better value.
    Returns (the model with the weights of its best epoch, history). ``on_epoch(epoch, train_loss,
    val_bleu4, lr)`` after each epoch.

    Batches come from a fixed-seed shuffle of the training captions, sorted by nothing (the
    decoder sorts each batch by length). With ``resume_path`` every epoch is checkpointed
    (model, optimizer, generator, history, best weights) and a matching checkpoint is resumed.
    The model and the data live on ``cfg.device``; the shuffle is drawn on the CPU, so it is the
    same on either device."""
    device = torch.device(cfg.device)
    seed_everything(cfg.seed)
    model = cfg.build(vocab_size, data.features.shape[2]).to(device)
    data = data.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)  # one kernel for all parameters
    shuffle = generator(cfg.seed)
    train_rows = torch.nonzero(data.split == 0).squeeze(1)
    hist, best_state, key = CaptionHistory(), None, cfg.key(data.digest())
    state = load_resume(resume_path, key, cfg.epochs)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        shuffle.set_state(state["shuffle_rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda":  # dropout draws from the device's generator
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        hist = CaptionHistory(state["train_loss"], state["val_bleu4"], state["lr"], state["best_epoch"], state["epoch"])
        best_state = state["best"]
    epoch = len(hist.train_loss)
    while epoch < cfg.epochs and hist.since_best(cfg.smooth) < cfg.patience:
        lr = next_lr(hist, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        order = train_rows[torch.randperm(len(train_rows), generator=shuffle)]
        total, count = 0.0, 0
        for i in tqdm(range(0, len(order), cfg.batch_size), desc=f"{cfg.model} epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                      leave=False, disable=None if progress else True):
            rows = order[i:i + cfg.batch_size]  # on the device, like train_rows
            n = int(data.lengths[rows].max())
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16"):
                out = model(data.features[data.image[rows]].float(), data.tokens[rows, :n], data.lengths[rows])
                loss = caption_loss(out, cfg.alpha_c if cfg.model == "attention" else 0.0)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total, count = total + loss.item() * len(rows), count + len(rows)
        epoch += 1
        hist.train_loss.append(total / count)
        hist.lr.append(lr)
        hist.val_bleu4.append(greedy_bleu4(model, data, 1, start, end, max_length))
        if hist.val_bleu4[-1] > max(hist.val_bleu4[:-1], default=-1.0):
            hist.best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if resume_path is not None:
            save_resume(resume_path, key, epoch, {
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "shuffle_rng": shuffle.get_state(), "torch_rng": torch.get_rng_state(), "best": best_state,
                **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                "train_loss": hist.train_loss, "val_bleu4": hist.val_bleu4, "lr": hist.lr,
                "best_epoch": hist.best_epoch})
        if on_epoch is not None:
            on_epoch(epoch, hist.train_loss[-1], hist.val_bleu4[-1], lr)
    model.load_state_dict(best_state)
    return model.eval(), hist
