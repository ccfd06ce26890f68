"""The CNN's hand-written SGD step as the pipeline ran it until 8e84ed3 (src/hw2/fashion/stacked.py
there), kept here only for bench/cnn_sweep.py to time it against the plain loop under the same
harness (one single-threaded process per rate, tensors in memory, the same kernels).

Several ConvNets trained side by side as one computation: the learning-rate sweep.

Every rate starts from the same initial weights and sees the same batches and the same
dropout masks, exactly as if each were trained alone from the same seed; only the step
size differs. Stacking them turns three small networks into one wider one (grouped
convolutions, batched matrix products), and the SGD update is folded into the backward
pass (each weight gradient is accumulated straight into its weight with ``-lr`` as the
factor), so no gradient tensor is stored, re-read and zeroed. At batch size 8 the network
is compute-bound on a CPU, so removing passes over the 691k-weight ``fc1`` matrix, the
Python data pipeline, the autograd bookkeeping and the slow NCHW max-pool (channels-last
is several times faster) is where the time is won.

``tests/test_cnn.py`` checks this hand-written backward against autograd on ``ConvNet``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from hw2.fashion.model import ConvNet

_CONV = dict(stride=[1, 1], dilation=[1, 1], transposed=False, output_padding=[0, 0])


def _maxpool(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return F.max_pool2d_with_indices(a, 2)


def _maxpool_backward(grad: torch.Tensor, a: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, a, [2, 2], [2, 2], [0, 0], [1, 1], False, indices)


def _patches3x3(x: torch.Tensor) -> torch.Tensor:
    """x (B, 1, H, W) → (B·H·W, 9): the 3×3 neighbourhood of every pixel, zero-padded, in
    the order of a 3×3 kernel's weights (what ``conv2d(padding=1)`` multiplies them with)."""
    B, _, H, W = x.shape
    xp = F.pad(x.reshape(B, H, W), (1, 1, 1, 1))
    return torch.stack([xp[:, i:i + H, j:j + W] for i in range(3) for j in range(3)], -1).view(B * H * W, 9)


def _relu_backward(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Gradient through ReLU given its output: zero where the output is zero."""
    return torch.ops.aten.threshold_backward(grad, out, 0)


class StackedConvNets:
    """``count`` copies of :class:`ConvNet` as stacked tensors (``tensors``; m = ``count`` below).

    Shapes: ``w1`` (m·16, 1, 3, 3) (contiguous), ``w2`` (m·32, 16, 3, 3) channels-last, applied with ``groups=m``,
    ``w3`` (m, 600, 1152), ``w4`` (m, 120, 600), ``w5`` (m, 10, 120), biases alike: each
    model's slice is laid out as ``nn.Linear``/``nn.Conv2d`` store it.
    """

    LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")

    def __init__(self, tensors: dict[str, torch.Tensor], count: int):
        self.count = count
        self.tensors = tensors

    @classmethod
    def replicate(cls, net: ConvNet, m: int, device: torch.device | str = "cpu") -> "StackedConvNets":
        sd = {k: v.detach().to(device=device, dtype=torch.float32) for k, v in net.state_dict().items()}
        t = {}
        for i, layer in enumerate(cls.LAYERS, start=1):
            w, b = sd[f"{layer}.weight"], sd[f"{layer}.bias"]
            if layer == "conv1":
                t[f"w{i}"] = w.repeat(m, 1, 1, 1).contiguous()
                t[f"b{i}"] = b.repeat(m)
            elif layer == "conv2":
                t[f"w{i}"] = w.repeat(m, 1, 1, 1).contiguous(memory_format=torch.channels_last)
                t[f"b{i}"] = b.repeat(m)
            else:
                t[f"w{i}"] = w.unsqueeze(0).repeat(m, 1, 1)
                t[f"b{i}"] = b.unsqueeze(0).repeat(m, 1)
        return cls(t, m)

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Model ``k`` as a ``ConvNet`` state dict (CPU, contiguous)."""
        sd = {}
        for i, layer in enumerate(self.LAYERS, start=1):
            w, b = self.tensors[f"w{i}"], self.tensors[f"b{i}"]
            if layer.startswith("conv"):
                out = w.shape[0] // self.count
                w, b = w[k * out:(k + 1) * out], b[k * out:(k + 1) * out]
            else:
                w, b = w[k], b[k]
            sd[f"{layer}.weight"] = w.detach().cpu().contiguous()
            sd[f"{layer}.bias"] = b.detach().cpu().clone()
        return sd

    def _decay_factors(self, lr: torch.Tensor, weight_decay: float) -> dict[str, torch.Tensor]:
        """1 − lr·λ for every model, shaped to broadcast against each stacked tensor."""
        factor = 1 - lr * weight_decay                             # (m,)
        out = {}
        for name, w in self.tensors.items():
            f = factor if w.shape[0] == self.count else factor.repeat_interleave(w.shape[0] // self.count)
            out[name] = f.view(-1, *([1] * (w.dim() - 1)))
        return out

    def _forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        """x (B, 1, 28, 28) channels-last → everything the backward needs; logits (m, B, 10)."""
        t, m, B = self.tensors, self.count, x.shape[0]
        # conv1 has one input channel: as a matrix product of the 3×3 patches (B·784, 9) with
        # the kernels (9, m·16) it comes out channels-last directly, which the max-pool needs
        # to be fast (a convolution of a 1-channel input answers NCHW, and converting costs more
        # than the convolution).
        patches = _patches3x3(x)                                   # (B·784, 9)
        a1 = torch.addmm(t["b1"], patches, t["w1"].view(-1, 9).t())
        a1 = a1.view(B, 28, 28, -1).permute(0, 3, 1, 2)            # (B, m·16, 28, 28) channels-last
        p1, i1 = _maxpool(a1)                                      # maxpool∘relu = relu∘maxpool
        p1 = p1.relu_()                                            # (B, m·16, 14, 14)
        a2 = F.conv2d(p1, t["w2"], t["b2"], groups=m)              # (B, m·32, 12, 12)
        p2, i2 = _maxpool(a2)
        p2 = p2.relu_()                                            # (B, m·32, 6, 6)
        f = p2.permute(0, 2, 3, 1).reshape(B, 36, m, 32).permute(2, 0, 3, 1).reshape(m, B, 1152)  # NCHW flatten order
        h1 = torch.baddbmm(t["b3"].unsqueeze(1), f, t["w3"].mT).relu_()  # (m, B, 600)
        if mask is not None:
            h1 = h1.mul_(mask)                                     # dropout: mask holds 0 or 1/(1-p)
        h2 = torch.baddbmm(t["b4"].unsqueeze(1), h1, t["w4"].mT).relu_()  # (m, B, 120)
        z3 = torch.baddbmm(t["b5"].unsqueeze(1), h2, t["w5"].mT)         # (m, B, 10)
        return z3, (patches, a1, i1, p1, a2, i2, p2, f, h1, h2)

    @torch.no_grad()
    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation (no dropout): x (B, 1, 28, 28) → (m, B, 10) log-probabilities."""
        return self._forward(x, None)[0].log_softmax(-1)

    @torch.no_grad()
    def sgd_step(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None,
                 lr: torch.Tensor, weight_decay: float = 0.0) -> torch.Tensor:
        """One SGD step of every model on the same batch with its own rate.

        x (B, 1, 28, 28), y (B,) int64, mask (B, 600) or None, lr (m,). Returns the
        mean NLL loss of each model on the batch, (m,), computed before the update.
        """
        t, m, B = self.tensors, self.count, x.shape[0]
        z3, (patches, a1, i1, p1, a2, i2, p2, f, h1, h2) = self._forward(x, mask)
        logp = z3.log_softmax(-1)
        target = y.view(1, B, 1).expand(m, B, 1)
        loss = -logp.gather(-1, target).mean(dim=(1, 2))
        decay = self._decay_factors(lr, weight_decay) if weight_decay else None

        def decay_(name: str) -> None:  # SGD's L2 term: w ← w − lr·(g + λw) = (1 − lr·λ)·w − lr·g
            if decay is not None:
                t[name].mul_(decay[name])

        # d loss / d z3 = (softmax − onehot) / B, pre-multiplied by each model's lr so that
        # every gradient below is already the step to subtract.
        g3 = logp.exp_().scatter_add_(-1, target, torch.full_like(target, -1, dtype=logp.dtype))
        g3 = g3.mul_((lr / B).view(m, 1, 1))
        # Each layer: input gradient first (it needs the weights before the step), then the
        # weight and bias step.
        g2 = _relu_backward(torch.bmm(g3, t["w5"]), h2)           # (m, B, 120)
        decay_("w5"), decay_("b5")
        t["w5"].baddbmm_(g3.mT, h2, alpha=-1)
        t["b5"].sub_(g3.sum(1))
        g1 = torch.bmm(g2, t["w4"])                                # (m, B, 600)
        g1 = _relu_backward(g1.mul_(mask) if mask is not None else g1, h1)
        decay_("w4"), decay_("b4")
        t["w4"].baddbmm_(g2.mT, h1, alpha=-1)
        t["b4"].sub_(g2.sum(1))
        gf = torch.bmm(g1, t["w3"])                                # (m, B, 1152)
        decay_("w3"), decay_("b3")
        t["w3"].baddbmm_(g1.mT, f, alpha=-1)
        t["b3"].sub_(g1.sum(1))
        gp2 = gf.view(m, B, 32, 6, 6).permute(1, 0, 2, 3, 4).reshape(B, m * 32, 6, 6)
        gp2 = _relu_backward(gp2, p2)
        ga2 = _maxpool_backward(gp2, a2, i2)
        gp1, gw2, gb2 = torch.ops.aten.convolution_backward(
            ga2, p1, t["w2"], [m * 32], padding=[0, 0], groups=m, output_mask=[True, True, True], **_CONV)
        decay_("w2"), decay_("b2")
        t["w2"].sub_(gw2)
        t["b2"].sub_(gb2)
        gp1 = _relu_backward(gp1, p1)
        ga1 = _maxpool_backward(gp1, a1, i1)                      # channels-last: a (B·784, m·16) matrix
        ga1 = ga1.permute(0, 2, 3, 1).reshape(B * 784, -1)
        decay_("w1"), decay_("b1")
        t["w1"].view(-1, 9).sub_((patches.t() @ ga1).t())
        t["b1"].sub_(ga1.sum(0))
        return loss


def train_rate_handwritten(k: int, arrays, lrs, cfg: dict, epochs: int, results) -> None:
    """One rate of the sweep in its own process, as hw2.fashion.train.train_rate ran it at 8e84ed3:
    the same initial weights for every rate, one permutation and all dropout masks drawn per epoch."""
    import math

    from hw2.common.runtime import use_kernels
    from hw2.common.seeding import generator, seed_everything
    from hw2.fashion.data import to_float

    use_kernels("float32", threads=1)
    x_train, y_train = torch.from_numpy(arrays["x_train"]), torch.from_numpy(arrays["y_train"])
    n, batch = len(x_train), cfg["batch_size"]
    seed_everything(cfg["seed"])
    model = StackedConvNets.replicate(ConvNet(cfg["dropout"]), 1)
    shuffle_gen, dropout_gen = generator(cfg["seed"]), generator(cfg["seed"] + 1)
    lr = torch.tensor([lrs[k]], dtype=torch.float32)
    steps, keep = math.ceil(n / batch), 1.0 - cfg["dropout"]

    def accuracy(x, y):
        pred = torch.cat([model.log_probs(to_float(x[i:i + 1000])).argmax(-1) for i in range(0, len(x), 1000)], 1)
        return (pred[0] == y).double().mean().item()

    for epoch in range(epochs):
        perm = torch.randperm(n, generator=shuffle_gen)
        masks = torch.empty(steps, batch, 600).bernoulli_(keep, generator=dropout_gen).div_(keep)
        xs, ys = x_train[perm], y_train[perm]
        for s in range(steps):
            lo, hi = s * batch, min(n, (s + 1) * batch)
            model.sgd_step(to_float(xs[lo:hi]), ys[lo:hi], masks[s, :hi - lo], lr, cfg["l2_decay"])
        val = accuracy(torch.from_numpy(arrays["x_val"]), torch.from_numpy(arrays["y_val"]))
        print(f"handwritten lr {lrs[k]:g} epoch {epoch + 1}: val {val}", flush=True)
    results.put((k, val, accuracy(torch.from_numpy(arrays["x_test"]), torch.from_numpy(arrays["y_test"]))))
