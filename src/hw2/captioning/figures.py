"""Pictures of the captioning data: a contact sheet of images with one of their captions."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator
from PIL import Image

from ..common.plotting import plt, save_figure
from .dataset import CaptionSet
from .images import load_rgb


def contact_sheet(path: Path, images_dir: Path, captions: CaptionSet, n: int = 9, columns: int = 3) -> None:
    """The first ``n`` images (in the synthetic set, one of each kind), each with its first
    caption beneath it."""
    picks = captions.images[:n]
    rows = -(-len(picks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, im in zip(axes.flat, picks):
        ax.imshow(load_rgb(Path(images_dir) / im.filename))
        text = f"{im.filename}: " + " ".join(im.captions[0])
        ax.text(0.5, -0.03, "\n".join(textwrap.wrap(text, 34)), transform=ax.transAxes,
                ha="center", va="top", fontsize=10)
    fig.suptitle(f"{captions.name}: sample images and captions", fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.95, bottom=0.05, wspace=0.06, hspace=0.32)
    save_figure(fig, path, dpi=110)


def training_curves(path: Path, runs: dict[str, dict[str, list[float]]], loss_labels: dict[str, str] | None = None) -> None:
    """Training loss, validation BLEU-4 and the learning rate per epoch, every decoder on the same
    three axes; ``runs`` maps a decoder's name to its series (epoch, train_loss, val_bleu4,
    best_epoch, and lr, the learning rate of each epoch: each cut is also marked by a dashed line
    on the other two axes, before the first epoch that trained with it); ``loss_labels`` names a
    decoder's loss where it is more than the cross-entropy."""
    fig, (loss_ax, bleu_ax, lr_ax) = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1, 0.7]})
    for k, (name, run) in enumerate(runs.items()):
        line, = loss_ax.plot(run["epoch"], run["train_loss"], marker="o", markersize=3,
                             label=(loss_labels or {}).get(name, name))
        colour = line.get_color()
        bleu_ax.plot(run["epoch"], run["val_bleu4"], marker="o", markersize=3, color=colour)
        best = run["best_epoch"]
        bleu_ax.plot([best], [run["val_bleu4"][best - 1]], marker="*", markersize=12, color=colour,
                     linestyle="none", label=f"{name}: best epoch {best}")
        lr = run.get("lr") or []
        if lr:
            lr_ax.step(run["epoch"], lr, where="mid", color=colour, linewidth=2.5 if k == 0 else 1.2)  # both seen where equal
        cuts = [run["epoch"][i] for i in range(1, len(lr)) if lr[i] < lr[i - 1]]
        for i, epoch in enumerate(cuts):
            for ax in (loss_ax, bleu_ax):
                ax.axvline(epoch - 0.5, color=colour, linestyle="--", linewidth=1, alpha=0.7,
                           label=f"{name}: learning rate cut ({len(cuts)}x, {lr[0]:.2g} → {lr[-1]:.2g})"
                           if i == 0 and ax is bleu_ax else None)
        if lr and not cuts:
            bleu_ax.plot([], [], color=colour, linestyle="--", linewidth=1, alpha=0.7,
                         label=f"{name}: learning rate never cut ({lr[0]:.2g})")
    loss_ax.set(title="Training loss per epoch", xlabel="epoch", ylabel="mean training loss")
    bleu_ax.set(title="Validation BLEU-4 per epoch (greedy)", xlabel="epoch", ylabel="validation BLEU-4")
    lr_ax.set(title="Learning rate per epoch", xlabel="epoch", ylabel="learning rate", yscale="log")
    for ax in (loss_ax, bleu_ax, lr_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    loss_ax.legend(loc="upper right", fontsize=9)
    bleu_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Caption decoders (dashed: the learning rate cut before that epoch)", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)


def _show_image(ax, img: Image.Image) -> None:
    ax.imshow(img)
    ax.set(xticks=[], yticks=[])


def captioned_image(path: Path, image_path: Path, tokens: list[str], alphas: np.ndarray, title: str,
                    per_row: int = 6) -> None:
    """The image and its caption, then one attention map per decoding step (``tokens``, the words
    and the final ``<end>``; ``alphas`` (len(tokens), regions)): the image in grey under the
    weights (smoothed from the region grid up to the image's size), every map on one scale from 0
    to the caption's largest weight, with a colorbar, so a diffuse map reads as diffuse."""
    img = load_rgb(image_path)
    grey = np.asarray(img.convert("L"), np.float32) / 255
    side = int(round(alphas.shape[1] ** 0.5))
    top = float(alphas.max()) or 1.0
    rows = -(-len(tokens) // per_row)
    fig = plt.figure(figsize=(1.9 * per_row + 0.8, 2.5 + 2.0 * rows))
    grid = fig.add_gridspec(1 + rows, per_row + 1, height_ratios=[1.25] + [1.0] * rows,
                            width_ratios=[1.0] * per_row + [0.08], hspace=0.3, wspace=0.06,
                            top=0.93, bottom=0.02, left=0.01, right=0.93)
    _show_image(fig.add_subplot(grid[0, :2]), img)
    text = fig.add_subplot(grid[0, 2:per_row])
    text.axis("off")
    words = [t for t in tokens if t != "<end>"]
    text.text(0.0, 0.5, "\n".join(textwrap.wrap(" ".join(words) or "(empty caption)", 46)), fontsize=13,
              va="center", ha="left", transform=text.transAxes)
    shown = None
    for k, token in enumerate(tokens):
        ax = fig.add_subplot(grid[1 + k // per_row, k % per_row])
        weights = Image.fromarray(alphas[k].reshape(side, side).astype(np.float32), mode="F")
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        shown = ax.imshow(np.asarray(weights.resize(img.size, Image.BILINEAR)), cmap="viridis", vmin=0, vmax=top,
                          alpha=0.6, extent=(-0.5, img.size[0] - 0.5, img.size[1] - 0.5, -0.5))
        ax.set(xticks=[], yticks=[])
        ax.set_title(token, fontsize=10)
    bar = fig.add_subplot(grid[1:, per_row])
    fig.colorbar(shown, cax=bar).set_label(f"attention weight (uniform: {1 / alphas.shape[1]:.3f})", fontsize=8)
    bar.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path, dpi=150)  # full colour: a palette would band the scale and shift the scene's colours


def caption_sheet(path: Path, items: list[tuple[Path, str, str]], title: str) -> None:
    """Each image (path, name, caption) with its caption beside it, one row per image."""
    fig, axes = plt.subplots(len(items), 2, figsize=(6.4, 2.3 * len(items) + 0.4), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.7], "wspace": 0.06, "hspace": 0.12})
    for (image_path, name, caption), (ax, text) in zip(items, axes):
        _show_image(ax, load_rgb(image_path))
        text.axis("off")
        text.text(0.0, 0.5, f"{name}\n" + "\n".join(textwrap.wrap(caption or "(empty caption)", 30)),
                  fontsize=12, va="center", ha="left", transform=text.transAxes)
    fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.45 / (2.3 * len(items) + 0.4), bottom=0.01)
    save_figure(fig, path, dpi=150)
