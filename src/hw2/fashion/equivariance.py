"""Q2.1, measured on a trained ConvNet and real images: what convolution and pooling do to a shift.

- A convolution commutes with translation: conv(shift(x)) = shift(conv(x)), away from the borders
  (where zero padding and the image's edge differ). Measured as the largest difference over the
  interior, relative to the largest activation.
- Max-pooling makes small shifts approximately invariant: a one-pixel shift changes the pooled
  maps less than the maps it pools. Measured as the relative change ||f(shift x) − f(x)|| / ||f(x)||
  at the same positions, before and after each pooling.
- So the network's prediction survives small shifts and not large ones: test accuracy, and
  agreement with the unshifted prediction, for shifts of 0 to 8 pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import ConvNet

DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # (rows, columns): right, down, left, up


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x`` (..., H, W) moved ``dy`` rows down and ``dx`` columns right; what comes in is zero
    (Fashion-MNIST's background), what goes out is lost."""
    out = torch.zeros_like(x)
    H, W = x.shape[-2:]
    out[..., max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = x[
        ..., max(-dy, 0) : H - max(dy, 0), max(-dx, 0) : W - max(dx, 0)
    ]
    return out


@torch.no_grad()
def conv_commutes_with_shifts(model: ConvNet, x: torch.Tensor, shifts=((1, 0), (0, 2), (-3, 1), (2, -2))) -> float:
    """Largest |conv1(shift(x)) − shift(conv1(x))| inside the region no border reaches (the
    shift plus the kernel's reach from every edge), relative to the largest |conv1(x)|."""
    reference = model.conv1(x)
    worst = 0.0
    for dy, dx in shifts:
        m = max(abs(dy), abs(dx)) + model.conv1.kernel_size[0] // 2 + 1
        diff = (model.conv1(shift(x, dy, dx)) - shift(reference, dy, dx))[..., m:-m, m:-m]
        worst = max(worst, diff.abs().max().item())
    return worst / reference.abs().max().item()


@torch.no_grad()
def layer_outputs(model: ConvNet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The feature maps after each convolution (with its ReLU) and after each pooling."""
    conv1 = F.relu(model.conv1(x))
    pool1 = F.max_pool2d(conv1, 2)
    conv2 = F.relu(model.conv2(pool1))
    pool2 = F.max_pool2d(conv2, 2)
    return {"conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2}


@torch.no_grad()
def change_under_one_pixel_shifts(model: ConvNet, x: torch.Tensor) -> dict[str, float]:
    """For each output of :func:`layer_outputs`, the relative change ||f(shift x) − f(x)|| / ||f(x)||
    (same positions, not realigned), averaged over one-pixel shifts in the four directions."""
    before = layer_outputs(model, x)
    change = {name: 0.0 for name in before}
    for dy, dx in DIRECTIONS:
        after = layer_outputs(model, shift(x, dy, dx))
        for name in before:
            change[name] += ((after[name] - before[name]).norm() / before[name].norm()).item() / len(DIRECTIONS)
    return change


@torch.no_grad()
def accuracy_under_shifts(
    model: ConvNet, x: torch.Tensor, y: torch.Tensor, sizes=(0, 1, 2, 3, 4, 6, 8), batch: int = 1000
) -> list[dict]:
    """For each shift size, the accuracy on (x, y) and the share of predictions that stay those of
    the unshifted images, averaged over the four directions."""

    def predict(images):
        return torch.cat([model(images[i : i + batch]).argmax(1) for i in range(0, len(images), batch)])

    plain = predict(x)
    rows = []
    for size in sizes:
        directions = DIRECTIONS if size else ((0, 0),)
        acc = same = 0.0
        for dy, dx in directions:
            pred = predict(shift(x, dy * size, dx * size))
            acc += (pred == y).double().mean().item() / len(directions)
            same += (pred == plain).double().mean().item() / len(directions)
        rows.append({"shift": size, "accuracy": round(acc, 4), "agreement": round(same, 4)})
    return rows
