"""Pictures of the captioning data: a contact sheet of images with one of their captions, an
image captioned beside its attention maps, a sheet of captioned images."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from ..common.plotting import plt, save_figure
from .dataset import CaptionSet
from .images import DEFAULT_RENDERING, Rendering, load_rgb


def contact_sheet(
    path: Path,
    images_dir: Path,
    captions: CaptionSet,
    n: int = 9,
    columns: int = 3,
    rendering: Rendering = DEFAULT_RENDERING,
) -> None:
    """The first ``n`` images (in the synthetic set, one of each kind), each with its first
    caption beneath it."""
    picks = captions.images[:n]
    rows = -(-len(picks) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, im in zip(axes.flat, picks, strict=False):
        ax.imshow(load_rgb(Path(images_dir) / im.filename, rendering=rendering))
        text = f"{im.filename}: " + " ".join(im.captions[0])
        ax.text(
            0.5, -0.03, "\n".join(textwrap.wrap(text, 34)), transform=ax.transAxes, ha="center", va="top", fontsize=10
        )
    fig.suptitle(f"{captions.name}: sample images and captions", fontsize=11)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.95, bottom=0.05, wspace=0.06, hspace=0.32)
    save_figure(fig, path, dpi=110)


def _show_image(ax, img: Image.Image) -> None:
    ax.imshow(img)
    ax.set(xticks=[], yticks=[])


def captioned_image(
    path: Path,
    image_path: Path,
    tokens: list[str],
    alphas: np.ndarray,
    title: str,
    per_row: int = 6,
    rendering: Rendering = DEFAULT_RENDERING,
) -> None:
    """The image and its caption, then one attention map per decoding step (``tokens``, the words
    and the final ``<end>``; ``alphas`` (len(tokens), regions)): the image in grey under the
    weights (smoothed from the region grid up to the image's size), every map on one scale from 0
    to the caption's largest weight, with a colorbar, so a diffuse map reads as diffuse."""
    img = load_rgb(image_path, rendering=rendering)
    grey = np.asarray(img.convert("L"), np.float32) / 255
    side = int(round(alphas.shape[1] ** 0.5))
    top = float(alphas.max()) or 1.0
    rows = -(-len(tokens) // per_row)
    fig = plt.figure(figsize=(1.9 * per_row + 0.8, 2.5 + 2.0 * rows))
    grid = fig.add_gridspec(
        1 + rows,
        per_row + 1,
        height_ratios=[1.25] + [1.0] * rows,
        width_ratios=[1.0] * per_row + [0.08],
        hspace=0.3,
        wspace=0.06,
        top=0.93,
        bottom=0.02,
        left=0.01,
        right=0.93,
    )
    _show_image(fig.add_subplot(grid[0, :2]), img)
    text = fig.add_subplot(grid[0, 2:per_row])
    text.axis("off")
    words = [t for t in tokens if t != "<end>"]
    text.text(
        0.0,
        0.5,
        "\n".join(textwrap.wrap(" ".join(words) or "(empty caption)", 46)),
        fontsize=13,
        va="center",
        ha="left",
        transform=text.transAxes,
    )
    shown = None
    for k, token in enumerate(tokens):
        ax = fig.add_subplot(grid[1 + k // per_row, k % per_row])
        weights = Image.fromarray(alphas[k].reshape(side, side).astype(np.float32), mode="F")
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        shown = ax.imshow(
            np.asarray(weights.resize(img.size, Image.Resampling.BILINEAR)),
            cmap="viridis",
            vmin=0,
            vmax=top,
            alpha=0.6,
            extent=(-0.5, img.size[0] - 0.5, img.size[1] - 0.5, -0.5),
        )
        ax.set(xticks=[], yticks=[])
        ax.set_title(token, fontsize=10)
    assert shown is not None  # one map a step at least: the final <end>
    bar = fig.add_subplot(grid[1:, per_row])
    fig.colorbar(shown, cax=bar).set_label(f"attention weight (uniform: {1 / alphas.shape[1]:.3f})", fontsize=8)
    bar.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path, dpi=150)  # full colour: a palette would band the scale and shift the scene's colours


def caption_sheet(
    path: Path, items: list[tuple[Path, str, str]], title: str, rendering: Rendering = DEFAULT_RENDERING
) -> None:
    """Each image (path, name, caption) with its caption beside it, one row per image."""
    fig, axes = plt.subplots(
        len(items),
        2,
        figsize=(6.4, 2.3 * len(items) + 0.4),
        squeeze=False,
        gridspec_kw={"width_ratios": [1, 1.7], "wspace": 0.06, "hspace": 0.12},
    )
    for (image_path, name, caption), (ax, text) in zip(items, axes, strict=True):
        _show_image(ax, load_rgb(image_path, rendering=rendering))
        text.axis("off")
        text.text(
            0.0,
            0.5,
            f"{name}\n" + "\n".join(textwrap.wrap(caption or "(empty caption)", 30)),
            fontsize=12,
            va="center",
            ha="left",
            transform=text.transAxes,
        )
    fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.45 / (2.3 * len(items) + 0.4), bottom=0.01)
    save_figure(fig, path, dpi=150)
