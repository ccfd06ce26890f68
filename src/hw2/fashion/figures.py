"""Q2.2's curves: per-epoch series for DVC and PNG figures, for the best rate and every rate."""
from __future__ import annotations

from pathlib import Path

from ..common.plotting import line_plot, write_csv
from .train import SweepResult

LOSS, ACC = "mean training NLL loss", "validation accuracy"


def write_sweep_plots(plots: Path, lrs: list[float], result: SweepResult, best: int) -> None:
    """``best.csv`` and ``sweep.csv`` (long format: one row per rate and epoch, for DVC's
    ``by_lr`` template), and the best rate's and every rate's curves as PNG."""
    epochs = list(range(1, result.epochs + 1))
    loss, acc = result.curves(best)
    name = f"lr {lrs[best]:g}"
    write_csv(plots / "best.csv", ["epoch", "train_loss", "val_acc"], zip(epochs, loss, acc))
    write_csv(plots / "sweep.csv", ["epoch", "lr", "train_loss", "val_acc"],
              [(e, f"{lr:g}", lo, a) for k, lr in enumerate(lrs) for e, lo, a in zip(epochs, *result.curves(k))])
    line_plot(plots / "best_train_loss.png", {name: (epochs, loss)},
              title=f"Training loss, best lr = {lrs[best]:g}", xlabel="epoch", ylabel=LOSS)
    line_plot(plots / "best_val_acc.png", {name: (epochs, acc)},
              title=f"Validation accuracy, best lr = {lrs[best]:g}", xlabel="epoch", ylabel=ACC)
    every = {f"lr {lr:g}": result.curves(k) for k, lr in enumerate(lrs)}
    line_plot(plots / "rates_train_loss.png", {n: (epochs, c[0]) for n, c in every.items()},
              title="Training loss, every learning rate", xlabel="epoch", ylabel=LOSS, logy=True)
    line_plot(plots / "rates_val_acc.png", {n: (epochs, c[1]) for n, c in every.items()},
              title="Validation accuracy, every learning rate", xlabel="epoch", ylabel=ACC)
