"""The homework's training loop written the plain way: a ``ConvNet``, autograd, ``torch.optim.SGD``.

This is the definition of what a rate's training computes. The sweep (:mod:`.train`) runs the same
computation with a hand-written SGD step (:mod:`.stacked`), several times faster on a CPU
(bench/cnn_sweep.py); tests/test_cnn.py checks that both give the same weights, losses and
accuracies from the same draws (initial weights, batch order, dropout masks).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..common.seeding import generator, seed_everything
from .model import ConvNet
from .data import to_float
from .train import RateConfig, epoch_draws


@torch.no_grad()
def accuracy(model: ConvNet, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(to_float(x)).argmax(1) == y).double().mean().item()


def train_rate_reference(arrays: dict[str, np.ndarray], cfg: RateConfig,
                         device: torch.device | str = "cpu") -> tuple[ConvNet, list[float], list[float]]:
    """Train a ConvNet at ``cfg.lr`` for ``cfg.epochs`` epochs with the draws of
    :func:`.train.train_rate`. Returns the model, the mean training loss and the validation
    accuracy of each epoch."""
    device = torch.device(device)
    x_train, y_train = torch.from_numpy(arrays["x_train"]).to(device), torch.from_numpy(arrays["y_train"]).to(device)
    x_val, y_val = torch.from_numpy(arrays["x_val"]).to(device), torch.from_numpy(arrays["y_val"]).to(device)
    n = len(x_train)
    seed_everything(cfg.seed)
    model = ConvNet(cfg.dropout).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.l2_decay)
    shuffle_gen, dropout_gen = generator(cfg.seed, "cpu"), generator(cfg.seed + 1, device)
    train_loss, val_acc = [], []
    for _ in range(cfg.epochs):
        order, masks = epoch_draws(n, cfg, shuffle_gen, dropout_gen, device)
        model.train()
        total = 0.0
        for step in range(math.ceil(n / cfg.batch_size)):
            batch = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x, y = to_float(x_train[batch]), y_train[batch]
            optimizer.zero_grad()
            loss = F.nll_loss(model(x, None if masks is None else masks[step, :len(batch)]), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        train_loss.append(total / n)
        val_acc.append(accuracy(model, x_val, y_val))
    return model, train_loss, val_acc
