"""Q2.2's curves: per-epoch tables (CSV) and PNG figures, for the best rate and every rate."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..common.atomic import write_csv
from ..common.plotting import line_plot
from .train import RateResult

LOSS, ACC = "mean training NLL loss", "validation accuracy"


def sweep_table(runs: list[RateResult]) -> pd.DataFrame:
    """One row per rate and epoch: epoch, lr (as written, e.g. ``0.01``), train_loss, val_acc."""
    return pd.DataFrame(
        [
            (e, f"{run.lr:g}", lo, a)
            for run in runs
            for e, (lo, a) in enumerate(zip(run.train_loss, run.val_acc, strict=True), start=1)
        ],
        columns=["epoch", "lr", "train_loss", "val_acc"],
    )


def write_sweep_plots(plots: Path, runs: list[RateResult], best: int) -> None:
    """``best.csv`` and ``sweep.csv`` (long format: one row per rate and epoch, for a plotting
    ``by_lr`` template), and the best rate's and every rate's curves as PNG."""
    table = sweep_table(runs)
    name = f"{runs[best].lr:g}"
    best_rows = table[table["lr"] == name]
    write_csv(plots / "best.csv", best_rows.drop(columns="lr"))
    write_csv(plots / "sweep.csv", table)
    line_plot(
        plots / "best_train_loss.png",
        {f"lr {name}": (best_rows["epoch"], best_rows["train_loss"])},
        title=f"Training loss, best lr = {name}",
        xlabel="epoch",
        ylabel=LOSS,
    )
    line_plot(
        plots / "best_val_acc.png",
        {f"lr {name}": (best_rows["epoch"], best_rows["val_acc"])},
        title=f"Validation accuracy, best lr = {name}",
        xlabel="epoch",
        ylabel=ACC,
    )
    by_rate = {f"lr {lr}": rows for lr, rows in table.groupby("lr", sort=False)}
    line_plot(
        plots / "rates_train_loss.png",
        {n: (r["epoch"], r["train_loss"]) for n, r in by_rate.items()},
        title="Training loss, every learning rate",
        xlabel="epoch",
        ylabel=LOSS,
        logy=True,
    )
    line_plot(
        plots / "rates_val_acc.png",
        {n: (r["epoch"], r["val_acc"]) for n, r in by_rate.items()},
        title="Validation accuracy, every learning rate",
        xlabel="epoch",
        ylabel=ACC,
    )
