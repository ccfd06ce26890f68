"""Train the homework's CNN with SGD, one learning rate at a time; evaluate, checkpoint each epoch,
resume.

One rate's training is the plain loop of PyTorch's MNIST example: a ``ConvNet``, autograd and
``torch.optim.SGD``, batches of a fixed-seed shuffle of the training images (tensors in memory,
no DataLoader), dropout from torch's generator. Every rate starts from the same seed, so from the
same initial weights, batches and dropout masks, in its own single-threaded process: its numbers
do not depend on the other rates of the sweep nor on how many cores the machine has (``lr: 0.1``
alone gives, bit for bit, the ``lr 0.1`` row of a sweep). A sweep runs its rates side by side,
one process each.
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from tqdm import tqdm

from ..common.resume import load_resume, run_key, save_resume
from ..common.runtime import Kernels, deterministic_device, threads
from ..common.seeding import generator, seed_everything
from .data import to_float
from .model import ConvNet


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
class RateResult:
    lr: float
    train_loss: list[float] = field(default_factory=list)  # per epoch, mean training NLL
    val_acc: list[float] = field(default_factory=list)  # per epoch
    test_acc: float = 0.0  # after the last epoch
    state_dict: dict = field(default_factory=dict)  # ConvNet state dict (CPU)
    resumed_from: int = 0  # epochs taken from a checkpoint
    seconds: float = 0.0  # time spent on the epochs trained here


@torch.no_grad()
def accuracy(model: ConvNet, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Accuracy of ``model`` on (x uint8 (N, 28, 28), y), ``batch`` images at a time."""
    model.eval()
    correct = sum(
        int((model(to_float(x[i : i + batch])).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch)
    )
    return correct / len(x)


def data_digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return h.hexdigest()


def train_rate(
    arrays: dict[str, np.ndarray],
    cfg: RateConfig,
    device: torch.device | str = "cpu",
    resume_path: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> RateResult:
    """Train a ConvNet with SGD at ``cfg.lr`` for ``cfg.epochs`` epochs, single-threaded on a CPU.

    Each epoch: a fresh permutation of the training set in batches of ``cfg.batch_size`` (the last
    one smaller), then the validation accuracy. With ``resume_path``, everything needed to continue
    bit for bit (weights, optimizer, generators, history) is checkpointed there after each epoch,
    and a checkpoint made with the same config (epochs aside, when not more than ``cfg.epochs``)
    and data is resumed. ``on_epoch(epoch, train_loss, val_acc)`` after each epoch.
    """
    with threads(1):  # the arithmetic a rate is defined with (more threads split reductions differently)
        device = deterministic_device(device)  # same settings, same numbers on a GPU too
        x_train, y_train = (
            torch.from_numpy(arrays["x_train"]).to(device),
            torch.from_numpy(arrays["y_train"]).to(device),
        )
        x_val, y_val = torch.from_numpy(arrays["x_val"]).to(device), torch.from_numpy(arrays["y_val"]).to(device)
        key = cfg.key(data_digest(arrays))

        seed_everything(cfg.seed)  # initial weights and dropout masks: the same for every rate
        model = ConvNet(cfg.dropout).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.l2_decay)
        shuffle = generator(cfg.seed)  # the batches, drawn on the CPU whatever the device
        result = RateResult(cfg.lr)
        state = load_resume(resume_path, key, cfg.epochs, map_location=device)
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            shuffle.set_state(state["shuffle_rng"])
            torch.set_rng_state(state["torch_rng"])
            if device.type == "cuda":
                torch.cuda.set_rng_state(state["cuda_rng"], device)
            result.train_loss, result.val_acc, result.resumed_from = (
                state["train_loss"],
                state["val_acc"],
                state["epoch"],
            )

        start = time.perf_counter()
        for epoch in range(result.resumed_from + 1, cfg.epochs + 1):
            model.train()
            total = 0.0
            batches = torch.randperm(len(x_train), generator=shuffle).split(cfg.batch_size)
            for batch in tqdm(
                batches,
                desc=f"lr {cfg.lr:g} epoch {epoch}/{cfg.epochs}",
                unit="batch",
                leave=False,
                disable=None if progress else True,
                mininterval=1.0,
            ):
                x, y = to_float(x_train[batch]), y_train[batch]
                optimizer.zero_grad()
                loss = F.nll_loss(model(x), y)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            result.train_loss.append(total / len(x_train))
            result.val_acc.append(accuracy(model, x_val, y_val))
            if resume_path is not None:
                save_resume(
                    resume_path,
                    key,
                    epoch,
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "shuffle_rng": shuffle.get_state(),
                        "torch_rng": torch.get_rng_state(),
                        **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                        "train_loss": result.train_loss,
                        "val_acc": result.val_acc,
                    },
                )
            if on_epoch is not None:
                on_epoch(epoch, result.train_loss[-1], result.val_acc[-1])
        result.seconds = time.perf_counter() - start

        x_test, y_test = torch.from_numpy(arrays["x_test"]).to(device), torch.from_numpy(arrays["y_test"]).to(device)
        result.test_acc = accuracy(model, x_test, y_test)
        result.state_dict = {k: v.cpu() for k, v in model.state_dict().items()}
        return result


def lr_key(lr: float) -> str:
    """A name for a rate without dots (for keys that dots would split, and file names):
    0.001 → ``lr_0_001``."""
    return "lr_" + f"{lr:g}".replace(".", "_").replace("-", "m").replace("+", "")


def best_rate(runs: list[RateResult]) -> int:
    """The rate with the best validation accuracy after the last epoch (the first on a tie)."""
    return max(range(len(runs)), key=lambda k: (runs[k].val_acc[-1], -k))


def train_sweep(
    arrays: dict[str, np.ndarray],
    cfg: RateConfig,
    lrs: list[float],
    device: torch.device | str = "cpu",
    resume_dir: Path | None = None,
    processes: int = 1,
    progress: bool = True,
    on_epoch: Callable[[float, int, float, float], None] | None = None,
    *,
    kernels: Kernels,
) -> list[RateResult]:
    """:func:`train_rate` for every rate of ``lrs`` (``cfg.lr`` aside, ``cfg`` is each rate's
    config); the same numbers whichever way they run.

    On the CPU with ``processes`` > 1 the rates run side by side, one single-threaded process each
    (torch.multiprocessing, which ends them when this process dies); otherwise one after the other
    here; the processes compute in ``kernels`` (with one thread each), which this process applied.
    ``resume_dir`` holds one checkpoint per rate (``<lr_key>.pt``). ``on_epoch(lr, epoch,
    train_loss, val_acc)`` is called here as each rate finishes an epoch.
    """
    configs = [RateConfig(lr, cfg.epochs, cfg.batch_size, cfg.dropout, cfg.l2_decay, cfg.seed) for lr in lrs]
    paths = [None if resume_dir is None else Path(resume_dir) / f"{lr_key(lr)}.pt" for lr in lrs]
    if torch.device(device).type != "cpu" or processes <= 1 or len(lrs) == 1:
        return [
            train_rate(
                arrays, c, device, path, progress, None if on_epoch is None else lambda *e, lr=c.lr: on_epoch(lr, *e)
            )
            for c, path in zip(configs, paths, strict=True)
        ]
    events = mp.get_context("spawn").SimpleQueue()
    # one process per rate, all at once: three rates then share two cores evenly
    one_thread = replace(kernels, threads=1)
    # the images in shared memory: a handle each process reads at once, not megabytes it must be
    # started to take off the pipe (the processes start together instead of one after the other)
    shared = {k: torch.from_numpy(v).share_memory_() for k, v in arrays.items()}
    context = mp.start_processes(
        _rate_process, (shared, configs, paths, events, one_thread), nprocs=len(lrs), join=False, daemon=True
    )
    results: dict[int, RateResult] = {}
    bar = tqdm(total=len(lrs) * cfg.epochs, desc="sweep", unit="epoch", disable=None if progress else True)
    with bar:
        while True:
            done = context.join(timeout=1.0)  # raises, with the traceback, when a process failed
            while not events.empty():
                k, event = events.get()
                if isinstance(event, RateResult):
                    event.state_dict = {name: torch.from_numpy(a) for name, a in event.state_dict.items()}
                    results[k] = event
                    bar.update(event.resumed_from)
                else:
                    bar.update(1)
                    if on_epoch is not None:
                        on_epoch(lrs[k], *event)
            if done:
                missing = [f"{lrs[k]:g}" for k in range(len(lrs)) if k not in results]
                if missing:  # a worker stopped by a signal (Ctrl-C) exits quietly
                    raise RuntimeError(f"the process training lr {', '.join(missing)} ended without a result")
                return [results[k] for k in range(len(lrs))]


def _rate_process(
    k: int, shared, configs: list[RateConfig], paths: list[Path | None], events, kernels: Kernels
) -> None:
    """A sweep's worker process: trains rate ``k``, reports each epoch and then its result."""
    # torch.multiprocessing ends a worker whose parent died with SIGINT: not ignored here, even when
    # the sweep was started with SIGINT ignored (a background job of a shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    kernels.apply()  # a new process: its parent's kernels
    result = train_rate(
        {name: t.numpy() for name, t in shared.items()},
        configs[k],
        "cpu",
        paths[k],
        progress=False,
        on_epoch=lambda *epoch: events.put((k, epoch)),
    )
    # plain arrays through the pipe: a tensor would be shared with this process, which exits
    result.state_dict = {name: t.numpy() for name, t in result.state_dict.items()}
    events.put((k, result))
