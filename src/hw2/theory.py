"""Question 1 of the homework, checked by code instead of by hand.

Q1.1 / Q1.2: the two networks the questions describe, built as PyTorch modules, and their
parameters counted layer by layer (output shapes from a forward pass of a dummy image).
Q1.3: self-attention probabilities softmax(Q Kᵀ / √d) of one head, with Q = X W_Q, K = X W_K, equal
softmax(X A Xᵀ) for A = W_Q W_Kᵀ / √d, a matrix of rank ≤ d; and replacing W_Q by W_Q B and W_K
by W_K B⁻ᵀ (B invertible) leaves them unchanged. Checked numerically in float64.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT = (3, 28, 28)  # the questions' 28x28x3 images


def q1_1_cnn() -> nn.Sequential:
    """Q1.1: 8 kernels 5x5x3, stride 1, no padding; max-pooling 4x4 with stride 2; a linear output
    layer with 10 outputs (its softmax has no parameters)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=5, stride=1, padding=0),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=4, stride=2),
        nn.Flatten(),
        nn.Linear(8 * 11 * 11, 10),
    )


def q1_2_mlp() -> nn.Sequential:
    """Q1.2: the convolution and pooling replaced by a fully connected hidden layer of 100."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 100), nn.ReLU(), nn.Linear(100, 10))


def parameter_table(net: nn.Sequential, input_shape=INPUT) -> list[dict]:
    """One row per layer: its name, output shape (without the batch), weights, biases, total."""
    rows, x = [], torch.zeros(1, *input_shape)
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            w = getattr(layer, "weight", None)
            b = getattr(layer, "bias", None)
            rows.append(
                {
                    "layer": repr(layer),
                    "output": list(x.shape[1:]),
                    "weights": 0 if w is None else w.numel(),
                    "biases": 0 if b is None else b.numel(),
                    "params": sum(p.numel() for p in layer.parameters()),
                }
            )
    return rows


def head_probabilities(X: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, scaled: bool = True) -> torch.Tensor:
    """Self-attention probabilities of one head: softmax over rows of (X W_Q)(X W_K)ᵀ / √d, (L, L);
    without the 1/√d when not ``scaled`` (the homework's expression (1))."""
    return torch.softmax((X @ W_Q) @ (X @ W_K).T / (W_Q.shape[1] ** 0.5 if scaled else 1.0), dim=1)


def attention_checks(L: int = 12, n: int = 16, d: int = 4, seed: int = 0) -> dict:
    """Q1.3 on random X (L, n), W_Q and W_K (n, d), B (d, d): the largest differences and the rank."""
    if not 1 <= d <= n:
        raise ValueError(f"the head size d must satisfy 1 <= d <= n, not d={d}, n={n}")
    g = torch.Generator().manual_seed(seed)
    X, W_Q, W_K = (torch.randn(*s, generator=g, dtype=torch.float64) for s in ((L, n), (n, d), (n, d)))
    B = torch.randn(d, d, generator=g, dtype=torch.float64) + d * torch.eye(d, dtype=torch.float64)  # invertible

    def check(scaled: bool) -> dict:
        P = head_probabilities(X, W_Q, W_K, scaled)
        A = W_Q @ W_K.T / (d**0.5 if scaled else 1.0)
        P_A = torch.softmax(X @ A @ X.T, dim=1)
        P_B = head_probabilities(X, W_Q @ B, W_K @ torch.linalg.inv(B).T, scaled)
        return {
            "rank_A": int(torch.linalg.matrix_rank(A)),
            "max_diff_softmax_XAXt": float((P - P_A).abs().max()),
            "max_diff_reparametrised_head": float((P - P_B).abs().max()),
            "rows_sum_to_1": bool(torch.allclose(P.sum(1), torch.ones(L, dtype=torch.float64))),
        }

    # The scaled head (A = W_Q W_Kᵀ/√d) at the top level; the homework's (1), A = W_Q W_Kᵀ, beside it.
    return {
        "L": L,
        "n": n,
        "d": d,
        "seed": seed,
        "cond_B": float(torch.linalg.cond(B)),
        **check(True),
        "unscaled": check(False),
    }
