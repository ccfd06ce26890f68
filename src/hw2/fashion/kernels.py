"""Q2.3: the learned convolution kernels as pictures."""
from __future__ import annotations

import numpy as np
import torch
from torchvision.utils import make_grid

from ..common.plotting import plt, save_figure


def kernel_grid(weight: torch.Tensor, nrow: int, upscale: int = 10) -> np.ndarray:
    """weight (out, in, k, k) → a 2-D image of its out·in kernels, ``nrow`` per row, each
    min-max normalised to [0, 1] on its own (so every kernel's pattern shows whatever its
    scale), enlarged ``upscale`` times without smoothing; the separators are NaN."""
    out_c, in_c, k, _ = weight.shape
    tiles = weight.detach().float().cpu().reshape(out_c * in_c, 1, k, k)
    tiles = tiles.repeat_interleave(upscale, 2).repeat_interleave(upscale, 3)
    grid = make_grid(tiles, nrow=nrow, padding=2, normalize=True, scale_each=True, pad_value=float("nan"))
    return grid[0].numpy()


def plot_kernels(path, weight: torch.Tensor, title: str) -> None:
    """conv1 (16, 1, k, k) as a 4×4 square; conv2 (32, 16, k, k) as output rows × input columns."""
    out_c, in_c = weight.shape[:2]
    if in_c == 1:
        grid = kernel_grid(weight, nrow=int(np.ceil(np.sqrt(out_c))), upscale=20)
        xlabel, ylabel = "kernel 0-15, row by row", ""
    else:
        grid = kernel_grid(weight, nrow=in_c, upscale=10)
        xlabel, ylabel = f"input channel 0-{in_c - 1}", f"output channel 0-{out_c - 1}"
    h, w = grid.shape
    cmap = plt.get_cmap("gray").with_extremes(bad="tab:blue")
    fig, ax = plt.subplots(figsize=(max(3.5, w / 60), max(3.5, h / 60) + 0.6))
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, interpolation="nearest", vmin=0, vmax=1)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=[], yticks=[])
    save_figure(fig, path)
