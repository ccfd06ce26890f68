"""A decoder's training history, epoch by epoch, and what the schedule reads from it: plain
numbers, no model, so that the figures and the scripts can read a history without the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CaptionHistory:
    train_loss: list[float] = field(default_factory=list)
    val_bleu4: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # the learning rate each epoch trained with
    best_epoch: int = 0
    resumed_from: int = 0

    def smoothed(self, k: int) -> list[float]:
        """Validation BLEU-4 averaged over each epoch and the ``k`` - 1 before it, from epoch ``k``
        on (a mean of fewer epochs would let one lucky early epoch stand for a plateau)."""
        v = self.val_bleu4
        return [sum(v[i + 1 - k : i + 1]) / k for i in range(k - 1, len(v))]

    def since_best(self, k: int) -> int:
        """Epochs since the first epoch with the best smoothed validation BLEU-4 (``k`` = 1: the
        best epoch itself); 0 until ``k`` epochs have run."""
        s = self.smoothed(k)
        return len(s) - (s.index(max(s)) + 1) if s else 0

    def cuts(self) -> list[int]:
        """The epochs after which the learning rate was cut (the next one trained with less)."""
        return [e for e in range(1, len(self.lr)) if self.lr[e] < self.lr[e - 1]]
