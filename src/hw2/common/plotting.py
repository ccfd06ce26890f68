"""Figures and plot series, written atomically. matplotlib runs headless (Agg)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .atomic import atomic_path


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """PNG without timestamps or software tags, so identical figures are identical files."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def line_plot(
    path,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
) -> None:
    """One axes, one line per entry of ``series`` (label → (x, y))."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (x, y) in series.items():
        ax.plot(x, y, marker="o", markersize=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    save_figure(fig, path)
