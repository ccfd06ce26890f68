"""Q2.3: the learned convolution kernels, and what they respond to (feature maps), as pictures.

Kernels are drawn on one scale per layer, centred on zero (a diverging colormap: red positive,
blue negative, white zero), so that both the sign and the size of every weight can be read and
compared across kernels; a colorbar gives the values.
"""

from __future__ import annotations

import numpy as np
import torch

from ..common.plotting import plt, save_figure

CMAP = "RdBu_r"


def kernel_grid(weight: torch.Tensor, columns: int, gap: int = 1) -> np.ndarray:
    """weight (out, in, k, k) → a 2-D array of its out·in kernels, ``columns`` per row, in their own
    units (no rescaling), separated by ``gap`` NaN pixels."""
    out_c, in_c, k, _ = weight.shape
    tiles = weight.detach().float().cpu().reshape(out_c * in_c, k, k).numpy()
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (k + gap) - gap, columns * (k + gap) - gap), np.nan, np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * (k + gap) : r * (k + gap) + k, c * (k + gap) : c * (k + gap) + k] = tile
    return grid


def plot_kernels(path, weight: torch.Tensor, title: str) -> None:
    """conv1 (16, 1, k, k) as a 4×4 square of kernels; conv2 (32, 16, k, k) as one row per output
    channel and one column per input channel. One zero-centred scale for the layer, with a colorbar."""
    out_c, in_c, k, _ = weight.shape
    if in_c == 1:
        columns = int(np.ceil(np.sqrt(out_c)))
        grid = kernel_grid(weight, columns)
        fig, ax = plt.subplots(figsize=(4.6, 4.0))
        ax.set(xticks=[], yticks=[], xlabel=f"{out_c} kernels of {k}x{k}, numbered row by row from 0")
        for i in range(out_c):
            r, c = divmod(i, columns)
            ax.text(c * (k + 1) - 0.45, r * (k + 1) - 0.45, str(i), fontsize=7, va="top", ha="left")
    else:
        grid = kernel_grid(weight, in_c)
        fig, ax = plt.subplots(figsize=(5.2, 8.6))
        step = k + 1
        ax.set_xticks([c * step + k / 2 - 0.5 for c in range(0, in_c, 3)], [str(c) for c in range(0, in_c, 3)])
        ax.set_yticks([r * step + k / 2 - 0.5 for r in range(0, out_c, 2)], [str(r) for r in range(0, out_c, 2)])
        ax.set(xlabel="input channel (a conv1 map)", ylabel="output channel")
        ax.tick_params(labelsize=7, length=2)
    limit = float(np.nanmax(np.abs(grid))) or 1.0
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        cmap=plt.get_cmap(CMAP).with_extremes(bad="white"),
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
    )
    ax.set_title(title, fontsize=10)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.colorbar(image, ax=ax, shrink=0.6, label="weight")
    save_figure(fig, path, dpi=150)


def plot_feature_maps(path, images: np.ndarray, names: list[str], maps: dict[str, np.ndarray], title: str) -> None:
    """For each image (N, H, W) named in ``names``: the image, then its feature maps by layer
    (``maps``: name → (N, C, h, w), after the ReLU), 16 to a row, on one colour scale per layer
    (0 to the layer's largest activation over these images, shown by a colorbar)."""
    n, per_row = len(images), 16
    layout = {name: -(-m.shape[1] // per_row) for name, m in maps.items()}
    rows = sum(layout.values())
    heights = ([1.0] * rows + [0.35]) * n
    fig = plt.figure(figsize=(13, 0.35 + 0.78 * sum(heights)))
    grid = fig.add_gridspec(
        len(heights),
        per_row + 4,
        height_ratios=heights,
        width_ratios=[2.6, 0.9] + [1.0] * per_row + [0.2, 0.22],
        wspace=0.06,
        hspace=0.08,
        top=0.93,
        bottom=0.01,
        left=0.01,
        right=0.95,
    )
    scales = {name: float(m.max()) or 1.0 for name, m in maps.items()}
    shown = {}
    for k in range(n):
        top = k * (rows + 1)
        ax = fig.add_subplot(grid[top : top + rows, 0])
        ax.imshow(images[k], cmap="gray", interpolation="nearest")
        ax.set(xticks=[], yticks=[])
        ax.set_title(names[k], fontsize=9)
        row = top
        for name, m in maps.items():
            for r in range(layout[name]):
                label = fig.add_subplot(grid[row + r, 1])
                label.axis("off")
                first, last = r * per_row, min((r + 1) * per_row, m.shape[1]) - 1
                label.text(
                    1.0, 0.5, f"{name}\n{first}-{last}", fontsize=8, ha="right", va="center", transform=label.transAxes
                )
            for c in range(m.shape[1]):
                ax = fig.add_subplot(grid[row + c // per_row, 2 + c % per_row])
                shown[name] = ax.imshow(m[k, c], cmap="magma", vmin=0, vmax=scales[name], interpolation="nearest")
                ax.set(xticks=[], yticks=[])
            row += layout[name]
    row = 0
    for name in maps:  # one colorbar per layer, beside the first image's rows of that layer
        bar = fig.add_subplot(grid[row : row + layout[name], per_row + 3])
        fig.colorbar(shown[name], cax=bar)
        bar.tick_params(labelsize=7)
        bar.set_ylabel(name, fontsize=8)
        row += layout[name]
    fig.suptitle(title, fontsize=11, y=1.0)
    save_figure(fig, path, dpi=110)


def receptive_fields(kernel1: int, pool1: int, kernel2: int) -> dict[str, int]:
    """How many input pixels across one unit of conv1 and of conv2 sees (stride-1 convolutions,
    a pooling of ``pool1`` with its own stride between them)."""
    conv1 = kernel1
    pooled = conv1 + (pool1 - 1)  # pooling adds pool-1 pixels of stride 1
    conv2 = pooled + (kernel2 - 1) * pool1  # each conv2 tap is pool1 pixels apart
    return {"conv1": conv1, "conv2": conv2}


def balance(weight: torch.Tensor) -> np.ndarray:
    """Per kernel (summed over its input channels), |Σw| / Σ|w|: near 0 for a kernel whose
    positive and negative weights cancel (it answers to a difference: an edge, a line), 1 for
    one that only adds (it answers to brightness)."""
    w = weight.detach().float().cpu().flatten(1)
    return (w.sum(1).abs() / w.abs().sum(1).clamp_min(1e-12)).numpy()
