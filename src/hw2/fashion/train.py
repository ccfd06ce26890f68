"""Train every learning rate of the sweep together, evaluate, checkpoint each epoch, resume."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ..common.checkpoint import load_checkpoint, save_checkpoint
from ..common.seeding import generator
from .model import ConvNet
from .stacked import StackedConvNets


@dataclass
class SweepConfig:
    lrs: list[float]
    epochs: int
    batch_size: int
    dropout: float
    l2_decay: float
    seed: int

    def key(self, data_digest: str) -> str:
        """What a resume checkpoint must have been made with (epochs may grow: a longer run
        is the shorter one continued)."""
        d = {k: v for k, v in self.__dict__.items() if k != "epochs"}
        return hashlib.sha256(json.dumps([d, data_digest], sort_keys=True).encode()).hexdigest()


@dataclass
class SweepResult:
    train_loss: list[list[float]] = field(default_factory=list)  # [epoch][rate] mean training NLL
    val_acc: list[list[float]] = field(default_factory=list)     # [epoch][rate]
    test_acc: list[float] = field(default_factory=list)          # [rate], after the last epoch
    state_dicts: list[dict] = field(default_factory=list)        # [rate] ConvNet state dicts
    resumed_from: int = 0                                        # epochs taken from a checkpoint

    def curves(self, k: int) -> tuple[list[float], list[float]]:
        """Rate ``k``'s training loss and validation accuracy, one value per epoch."""
        return [e[k] for e in self.train_loss], [e[k] for e in self.val_acc]

    def best(self) -> int:
        """The rate with the best validation accuracy after the last epoch (the first on a tie)."""
        final = self.val_acc[-1]
        return max(range(len(final)), key=lambda k: (final[k], -k))


def to_tensor(images: np.ndarray, device) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 1, 28, 28) in [0, 1], as torchvision's ToTensor."""
    return torch.from_numpy(images).to(device).unsqueeze(1).float().div_(255)


@torch.no_grad()
def accuracy(models: StackedConvNets, x: torch.Tensor, y: torch.Tensor, chunk: int = 1000) -> list[float]:
    """Accuracy of each stacked model on (x, y), evaluated in chunks to bound memory."""
    correct = torch.zeros(models.m, dtype=torch.long, device=x.device)
    for i in range(0, len(x), chunk):
        pred = models.log_probs(x[i:i + chunk]).argmax(-1)
        correct += (pred == y[i:i + chunk]).sum(1)
    return (correct.double() / len(x)).tolist()


def data_digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return h.hexdigest()


def train_sweep(arrays: dict[str, np.ndarray], cfg: SweepConfig, device: torch.device,
                resume_path: Path | None = None, progress: bool = True,
                on_epoch: Callable[[int, list[float], list[float]], None] | None = None) -> SweepResult:
    """Train one ConvNet per rate in ``cfg.lrs`` for ``cfg.epochs`` epochs of SGD.

    Each epoch: a fresh permutation of the training set, batches of ``cfg.batch_size`` (the
    last one smaller), one dropout mask per batch shared by every rate. After each epoch the
    validation accuracy is measured and, when ``resume_path`` is given, everything needed to
    continue bit for bit (weights, generator states, history) is checkpointed there.
    """
    m = len(cfg.lrs)
    if device.type == "cuda":  # same params, same metrics on a GPU too, in true float32
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    x_train, y_train = to_tensor(arrays["x_train"], device), torch.from_numpy(arrays["y_train"]).to(device)
    x_val, y_val = to_tensor(arrays["x_val"], device), torch.from_numpy(arrays["y_val"]).to(device)
    n = len(x_train)
    lr = torch.tensor(cfg.lrs, dtype=torch.float32, device=device)
    key = cfg.key(data_digest(arrays))

    torch.manual_seed(cfg.seed)  # the initial weights: the same for every rate
    models = StackedConvNets.replicate(ConvNet(cfg.dropout), m, device)
    shuffle_gen = generator(cfg.seed, "cpu")
    dropout_gen = generator(cfg.seed + 1, device)
    result = SweepResult()

    if resume_path is not None and Path(resume_path).is_file():
        state = load_checkpoint(resume_path, map_location=device)
        if state.get("key") == key and state["epoch"] <= cfg.epochs:
            models = StackedConvNets({k: v.to(device) for k, v in state["tensors"].items()}, m)
            models.t["w2"] = models.t["w2"].contiguous(memory_format=torch.channels_last)
            shuffle_gen.set_state(state["shuffle_rng"])
            dropout_gen.set_state(state["dropout_rng"].to("cpu") if device.type == "cpu" else state["dropout_rng"])
            result.train_loss, result.val_acc = state["train_loss"], state["val_acc"]
            result.resumed_from = state["epoch"]

    steps = math.ceil(n / cfg.batch_size)
    for epoch in range(result.resumed_from, cfg.epochs):
        perm = torch.randperm(n, generator=shuffle_gen).to(device)
        xs, ys = x_train[perm], y_train[perm]  # one gather per epoch, then views per batch
        masks = None
        if cfg.dropout > 0:  # all of the epoch's masks at once: (steps, batch, 600), 0 or 1/(1-p)
            keep = 1.0 - cfg.dropout
            masks = torch.empty(steps, cfg.batch_size, 600, device=device).bernoulli_(keep, generator=dropout_gen)
            masks.div_(keep)
        loss_sum = torch.zeros(m, dtype=torch.float64, device=device)
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False,
                   disable=None if progress else True, mininterval=1.0)  # None: only on a terminal
        for s in bar:
            lo, hi = s * cfg.batch_size, min(n, (s + 1) * cfg.batch_size)
            mask = masks[s, :hi - lo] if masks is not None else None
            loss_sum += models.sgd_step(xs[lo:hi], ys[lo:hi], mask, lr, cfg.l2_decay) * (hi - lo)
        train_loss = (loss_sum / n).tolist()
        val_acc = accuracy(models, x_val, y_val)
        result.train_loss.append(train_loss)
        result.val_acc.append(val_acc)
        if resume_path is not None:
            save_checkpoint(resume_path, {
                "key": key, "epoch": epoch + 1, "tensors": {k: v.cpu() for k, v in models.t.items()},
                "shuffle_rng": shuffle_gen.get_state(), "dropout_rng": dropout_gen.get_state().cpu(),
                "train_loss": result.train_loss, "val_acc": result.val_acc})
        if on_epoch is not None:
            on_epoch(epoch + 1, train_loss, val_acc)

    x_test, y_test = to_tensor(arrays["x_test"], device), torch.from_numpy(arrays["y_test"]).to(device)
    result.test_acc = accuracy(models, x_test, y_test)
    result.state_dicts = [models.state_dict(k) for k in range(m)]
    return result
