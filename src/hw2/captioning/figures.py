"""Pictures of the captioning data: a contact sheet of images with one of their captions."""
from __future__ import annotations

import textwrap
from pathlib import Path

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
