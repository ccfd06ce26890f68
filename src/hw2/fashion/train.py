"""Train the homework's CNN with SGD, one learning rate at a time; evaluate, checkpoint each
epoch, resume.

A rate's training is one fixed computation: its own single-threaded process on the CPU (or
the GPU's kernels, in order), the same initial weights, batches and dropout masks for every
rate. So its numbers do not depend on which other rates are trained beside it, nor on how
many cores the machine has: ``lr: 0.1`` alone gives, bit for bit, the ``lr 0.1`` row of a
sweep. A sweep runs its rates as parallel processes, one thread each, which uses the cores
about as well as one multi-threaded process would (bench/cnn_sweep.py).
"""
from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import os
import queue as queue_module
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ..common.resume import load_resume, run_key, save_resume
from ..common.runtime import deterministic_device, threads
from ..common.seeding import generator, seed_everything
from .data import to_float
from .model import ConvNet
from .stacked import StackedConvNets


@dataclass(frozen=True)
class RateConfig:
    """Everything one rate's training is a function of (with the data)."""
    lr: float
    epochs: int
    batch_size: int
    dropout: float
    l2_decay: float
    seed: int

    def key(self, data_digest: str) -> str:
        """What a resume checkpoint must have been made with (epochs may grow: a longer run
        is the shorter one continued)."""
        return run_key({k: v for k, v in asdict(self).items() if k != "epochs"}, data_digest)


@dataclass
class SweepConfig:
    lrs: list[float]
    epochs: int
    batch_size: int
    dropout: float
    l2_decay: float
    seed: int

    def rate(self, lr: float) -> RateConfig:
        return RateConfig(lr, self.epochs, self.batch_size, self.dropout, self.l2_decay, self.seed)


@dataclass
class RateResult:
    lr: float
    train_loss: list[float] = field(default_factory=list)  # per epoch, mean training NLL
    val_acc: list[float] = field(default_factory=list)     # per epoch
    test_acc: float = 0.0                                   # after the last epoch
    state_dict: dict = field(default_factory=dict)          # ConvNet state dict (CPU)
    resumed_from: int = 0                                   # epochs taken from a checkpoint
    seconds: float = 0.0                                    # time spent on the epochs trained here


@dataclass
class SweepResult:
    runs: list[RateResult]

    @property
    def epochs(self) -> int:
        return len(self.runs[0].train_loss)

    def curves(self, k: int) -> tuple[list[float], list[float]]:
        """Rate ``k``'s training loss and validation accuracy, one value per epoch."""
        return self.runs[k].train_loss, self.runs[k].val_acc

    def best(self) -> int:
        """The rate with the best validation accuracy after the last epoch (the first on a tie)."""
        final = [r.val_acc[-1] for r in self.runs]
        return max(range(len(final)), key=lambda k: (final[k], -k))


@torch.no_grad()
def accuracy(models: StackedConvNets, x: torch.Tensor, y: torch.Tensor, chunk: int = 1000) -> list[float]:
    """Accuracy of each stacked model on (x uint8, y), evaluated in chunks to bound memory."""
    correct = torch.zeros(models.count, dtype=torch.long, device=x.device)
    for i in range(0, len(x), chunk):
        pred = models.log_probs(to_float(x[i:i + chunk])).argmax(-1)
        correct += (pred == y[i:i + chunk]).sum(1)
    return (correct.double() / len(x)).tolist()


def epoch_draws(n: int, cfg: RateConfig, shuffle_gen: torch.Generator, dropout_gen: torch.Generator,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """An epoch's random draws: the order of the ``n`` training images, and the dropout masks
    of all its batches at once, (steps, batch, 600) holding 0 or 1/(1-p) (None without dropout)."""
    perm = torch.randperm(n, generator=shuffle_gen).to(device)
    if cfg.dropout <= 0:
        return perm, None
    keep = 1.0 - cfg.dropout
    steps = math.ceil(n / cfg.batch_size)
    masks = torch.empty(steps, cfg.batch_size, 600, device=device).bernoulli_(keep, generator=dropout_gen)
    return perm, masks.div_(keep)


def data_digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return h.hexdigest()


def train_rate(arrays: dict[str, np.ndarray], cfg: RateConfig, device: torch.device,
               resume_path: Path | None = None, digest: str | None = None, progress: bool = True,
               on_batches: Callable[[int], None] | None = None,
               on_epoch: Callable[[int, float, float], None] | None = None) -> RateResult:
    """Train one ConvNet with SGD at ``cfg.lr`` for ``cfg.epochs`` epochs.

    Each epoch: a fresh permutation of the training set, batches of ``cfg.batch_size`` (the
    last one smaller), dropout masks drawn for the whole epoch; all from ``cfg.seed``, so every
    rate sees the same ones. After each epoch the validation accuracy is measured and, when
    ``resume_path`` is given, everything needed to continue bit for bit (weights, generator
    states, history) is checkpointed there; a checkpoint made with the same config (epochs
    aside, when not more than ``cfg.epochs``) and data is resumed.
    """
    with threads(1):  # the arithmetic a rate is defined with on the CPU (more threads split reductions differently)
        return _train_rate(arrays, cfg, device, resume_path, digest or data_digest(arrays), progress,
                           on_batches, on_epoch)


def _train_rate(arrays, cfg, device, resume_path, digest, progress, on_batches, on_epoch) -> RateResult:
    device = deterministic_device(device)  # same settings, same numbers on a GPU too
    x_train, y_train = torch.from_numpy(arrays["x_train"]).to(device), torch.from_numpy(arrays["y_train"]).to(device)
    x_val, y_val = torch.from_numpy(arrays["x_val"]).to(device), torch.from_numpy(arrays["y_val"]).to(device)
    n = len(x_train)
    lr = torch.tensor([cfg.lr], dtype=torch.float32, device=device)
    key = cfg.key(digest)

    seed_everything(cfg.seed)  # the initial weights: the same for every rate
    model = StackedConvNets.replicate(ConvNet(cfg.dropout), 1, device)
    shuffle_gen = generator(cfg.seed, "cpu")
    dropout_gen = generator(cfg.seed + 1, device)
    result = RateResult(cfg.lr)

    state = load_resume(resume_path, key, cfg.epochs, map_location=device)
    if state is not None:
        model = StackedConvNets({k: v.to(device) for k, v in state["tensors"].items()}, 1)
        model.tensors["w2"] = model.tensors["w2"].contiguous(memory_format=torch.channels_last)
        shuffle_gen.set_state(state["shuffle_rng"])
        dropout_gen.set_state(state["dropout_rng"].to("cpu") if device.type == "cpu" else state["dropout_rng"])
        result.train_loss, result.val_acc = state["train_loss"], state["val_acc"]
        result.resumed_from = state["epoch"]

    steps = math.ceil(n / cfg.batch_size)
    start = time.perf_counter()
    for epoch in range(result.resumed_from, cfg.epochs):
        perm, masks = epoch_draws(n, cfg, shuffle_gen, dropout_gen, device)
        xs, ys = x_train[perm], y_train[perm]  # one gather per epoch, then views per batch
        loss_sum = torch.zeros(1, dtype=torch.float64, device=device)
        bar = tqdm(range(steps), desc=f"lr {cfg.lr:g} epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False,
                   disable=None if progress else True, mininterval=1.0)  # None: only on a terminal
        for s in bar:
            lo, hi = s * cfg.batch_size, min(n, (s + 1) * cfg.batch_size)
            mask = masks[s, :hi - lo] if masks is not None else None
            loss_sum += model.sgd_step(to_float(xs[lo:hi]), ys[lo:hi], mask, lr, cfg.l2_decay) * (hi - lo)
            if on_batches is not None and (s + 1) % 250 == 0:
                on_batches(250)
        if on_batches is not None:
            on_batches(steps % 250)
        result.train_loss.append((loss_sum / n).item())
        result.val_acc.append(accuracy(model, x_val, y_val)[0])
        if resume_path is not None:
            save_resume(resume_path, key, epoch + 1, {
                "tensors": {k: v.cpu() for k, v in model.tensors.items()},
                "shuffle_rng": shuffle_gen.get_state(), "dropout_rng": dropout_gen.get_state().cpu(),
                "train_loss": result.train_loss, "val_acc": result.val_acc})
        if on_epoch is not None:
            on_epoch(epoch + 1, result.train_loss[-1], result.val_acc[-1])
    result.seconds = time.perf_counter() - start

    x_test, y_test = torch.from_numpy(arrays["x_test"]).to(device), torch.from_numpy(arrays["y_test"]).to(device)
    result.test_acc = accuracy(model, x_test, y_test)[0]
    result.state_dict = model.state_dict(0)
    return result


def lr_key(lr: float) -> str:
    """A name for a rate without dots (for keys that dots would split, and file names):
    0.001 → ``lr_0_001``."""
    return "lr_" + f"{lr:g}".replace(".", "_").replace("-", "m").replace("+", "")


def train_sweep(arrays: dict[str, np.ndarray], cfg: SweepConfig, device: torch.device,
                resume_dir: Path | None = None, processes: int = 1, progress: bool = True,
                on_epoch: Callable[[float, int, float, float], None] | None = None) -> SweepResult:
    """Train every rate of ``cfg.lrs`` with :func:`train_rate`; the same numbers whichever way.

    On the CPU with ``processes`` > 1 the rates run side by side, one single-threaded process
    each (all of them at once, so that three rates share two cores evenly; at most four per
    core); otherwise one after the other in this process. ``resume_dir`` holds one checkpoint
    per rate (``<rate>.pt``). ``on_epoch(lr, epoch, train_loss, val_acc)`` is called here as
    each rate finishes an epoch.
    """
    digest = data_digest(arrays)
    paths = [None if resume_dir is None else Path(resume_dir) / f"{lr_key(lr)}.pt" for lr in cfg.lrs]
    if device.type == "cuda" or processes <= 1 or len(cfg.lrs) == 1:
        runs = []
        for lr, path in zip(cfg.lrs, paths):
            report = None if on_epoch is None else (lambda e, lo, a, lr=lr: on_epoch(lr, e, lo, a))
            runs.append(train_rate(arrays, cfg.rate(lr), device, path, digest, progress, on_epoch=report))
        return SweepResult(runs)
    return SweepResult(_train_in_processes(arrays, cfg, digest, paths, min(len(cfg.lrs), 4 * processes),
                                           progress, on_epoch))


def _rate_process(k: int, arrays, cfg: RateConfig, digest: str, path, events, parent: int) -> None:
    """A sweep's worker: trains one rate and reports through ``events``; dies with its parent."""
    if sys.platform.startswith("linux"):  # a killed sweep must not leave its workers training
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        result = train_rate(arrays, cfg, torch.device("cpu"), path, digest, progress=False,
                            on_batches=lambda n: events.put(("batches", k, n)),
                            on_epoch=lambda e, lo, a: events.put(("epoch", k, e, lo, a)))
        # plain arrays through the pipe: torch would share the tensors' memory with a process that exits
        result.state_dict = {name: t.numpy() for name, t in result.state_dict.items()}
        events.put(("done", k, result))
    except BaseException:
        events.put(("error", k, traceback.format_exc()))


def _train_in_processes(arrays, cfg: SweepConfig, digest, paths, at_once, progress, on_epoch) -> list[RateResult]:
    ctx = mp.get_context("spawn")  # a clean interpreter: forking a process that ran OpenMP is unsafe
    events = ctx.Queue()
    waiting = list(range(len(cfg.lrs)))
    running: dict[int, mp.process.BaseProcess] = {}
    results: dict[int, RateResult] = {}
    steps = math.ceil(len(arrays["y_train"]) / cfg.batch_size)
    bar = tqdm(total=steps * cfg.epochs * len(cfg.lrs), desc="sweep", unit="batch", disable=None if progress else True,
               mininterval=1.0)
    try:
        while len(results) < len(cfg.lrs):
            while waiting and len(running) < at_once:
                k = waiting.pop(0)
                running[k] = ctx.Process(target=_rate_process, daemon=True, name=f"train lr {cfg.lrs[k]:g}",
                                         args=(k, arrays, cfg.rate(cfg.lrs[k]), digest, paths[k], events, os.getpid()))
                running[k].start()
            try:
                event = events.get(timeout=1.0)
            except queue_module.Empty:
                for k, proc in running.items():
                    if not proc.is_alive() and k not in results:
                        raise RuntimeError(f"the process training lr {cfg.lrs[k]:g} died (exit code {proc.exitcode})")
                continue
            kind, k = event[0], event[1]
            if kind == "batches":
                bar.update(event[2])
            elif kind == "epoch":
                if on_epoch is not None:
                    on_epoch(cfg.lrs[k], *event[2:])
            elif kind == "done":
                results[k] = event[2]
                results[k].state_dict = {name: torch.from_numpy(a) for name, a in results[k].state_dict.items()}
                bar.update(steps * event[2].resumed_from)
                running.pop(k).join()
            else:
                raise RuntimeError(f"training lr {cfg.lrs[k]:g} failed:\n{event[2]}")
    finally:
        bar.close()
        for proc in running.values():
            proc.kill()
            proc.join()
    return [results[k] for k in range(len(cfg.lrs))]
