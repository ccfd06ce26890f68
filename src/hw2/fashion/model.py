"""The homework's CNN (Q2.2), exactly as described."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvNet(nn.Module):
    """conv 3x3 16 (padding 1) → ReLU → maxpool 2 → conv 3x3 32 → ReLU → maxpool 2
    → linear 1152→600 → ReLU → dropout → linear 600→120 → ReLU → linear 120→10 → log-softmax.

    Input (B, 1, 28, 28) in [0, 1]; output (B, 10) log-probabilities. 769,930 parameters.
    """

    def __init__(self, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)  # → 16×28×28, pooled 16×14×14
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3)  # → 32×12×12, pooled 32×6×6
        self.fc1 = nn.Linear(32 * 6 * 6, 600)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(600, 120)
        self.fc3 = nn.Linear(120, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = self.dropout(x)
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
