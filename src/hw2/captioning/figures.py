"""Pictures of the captioning data: a contact sheet of images with one of their captions."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator
from PIL import Image

from ..common.plotting import plt, save_figure
from .dataset import CaptionSet


def contact_sheet(path: Path, images_dir: Path, captions: CaptionSet, n: int = 9, columns: int = 3) -> None:
    """The first ``n`` images (in the synthetic set, one of each kind), each with its first
    caption beneath it."""
    picks = captions.images[:n]
    rows = -(-len(picks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, im in zip(axes.flat, picks):
        with Image.open(Path(images_dir) / im.filename) as img:
            ax.imshow(img.convert("RGB"))
        text = f"{im.filename}: " + " ".join(im.captions[0])
        ax.text(0.5, -0.03, "\n".join(textwrap.wrap(text, 38)), transform=ax.transAxes,
                ha="center", va="top", fontsize=8.5)
    fig.suptitle(f"{captions.name}: sample images and captions", fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.95, bottom=0.05, wspace=0.06, hspace=0.32)
    save_figure(fig, path, dpi=64)


def training_curves(path: Path, runs: dict[str, dict[str, list[float]]]) -> None:
    """Training loss and validation BLEU-4 per epoch, every decoder on the same two axes;
    ``runs`` maps a decoder's name to its series (epoch, train_loss, val_bleu4, best_epoch)."""
    fig, (loss_ax, bleu_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for name, run in runs.items():
        line, = loss_ax.plot(run["epoch"], run["train_loss"], marker="o", markersize=3, label=name)
        bleu_ax.plot(run["epoch"], run["val_bleu4"], marker="o", markersize=3, label=name, color=line.get_color())
        best = run["best_epoch"]
        bleu_ax.plot([best], [run["val_bleu4"][best - 1]], marker="*", markersize=12, color=line.get_color(),
                     linestyle="none", label=f"{name}: best epoch {best}")
    loss_ax.set(title="Training loss per epoch", xlabel="epoch", ylabel="mean training cross-entropy")
    bleu_ax.set(title="Validation BLEU-4 per epoch (greedy)", xlabel="epoch", ylabel="validation BLEU-4")
    for ax in (loss_ax, bleu_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Caption decoders", fontsize=11)
    save_figure(fig, path)


def _overlay(ax, img: Image.Image, alpha: np.ndarray | None) -> None:
    ax.imshow(img)
    if alpha is not None:  # the 7×7 weights, smoothed up to the image's size
        side = int(round(len(alpha) ** 0.5))
        grid = Image.fromarray(np.asarray(alpha, np.float32).reshape(side, side), mode="F")
        ax.imshow(np.asarray(grid.resize(img.size, Image.BILINEAR)), cmap="jet", alpha=0.5,
                  extent=(-0.5, img.size[0] - 0.5, img.size[1] - 0.5, -0.5))
    ax.axis("off")


def captioned_image(path: Path, image_path: Path, words: list[str], alphas: np.ndarray, title: str,
                    per_row: int = 6) -> None:
    """The image with its caption beside it, then a strip of attention maps over the image,
    one per generated word (``alphas`` (len(words), regions))."""
    with Image.open(image_path) as im:
        img = im.convert("RGB")
    rows = -(-len(words) // per_row)
    fig = plt.figure(figsize=(2.0 * per_row, 3.2 + 2.2 * rows))
    grid = fig.add_gridspec(1 + rows, per_row, height_ratios=[1.6] + [1.0] * rows, hspace=0.25, wspace=0.05)
    _overlay(fig.add_subplot(grid[0, :2]), img, None)
    text = fig.add_subplot(grid[0, 2:])
    text.axis("off")
    text.text(0.02, 0.5, "\n".join(textwrap.wrap(" ".join(words) or "(empty caption)", 44)), fontsize=14,
              va="center", ha="left", transform=text.transAxes)
    text.set_title(title, fontsize=11, loc="left")
    for k, word in enumerate(words):
        ax = fig.add_subplot(grid[1 + k // per_row, k % per_row])
        _overlay(ax, img, alphas[k])
        ax.set_title(word, fontsize=10)
    save_figure(fig, path, dpi=80)


def caption_sheet(path: Path, items: list[tuple[Path, str, str]]) -> None:
    """Each image (path, name, caption) with its caption beside it, one row per image."""
    fig, axes = plt.subplots(len(items), 2, figsize=(10, 3.0 * len(items)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 2.2], "wspace": 0.05})
    for (image_path, name, caption), (ax, text) in zip(items, axes):
        with Image.open(image_path) as im:
            _overlay(ax, im.convert("RGB"), None)
        text.axis("off")
        text.text(0.02, 0.5, f"{name}\n\n" + "\n".join(textwrap.wrap(caption or "(empty caption)", 40)),
                  fontsize=13, va="center", ha="left", transform=text.transAxes)
    fig.suptitle("Captions of the attention decoder (beam search)", fontsize=12)
    save_figure(fig, path, dpi=80)
