"""The learning-rate parameter of the sweep and its metric keys."""
from __future__ import annotations

import math

from ..common.params import is_number


def learning_rates(value, where: str = "params.yaml") -> list[float]:
    """``lr`` as a list of floats: a number trains one rate, a list sweeps.

    Empty, zero, negative, non-finite, non-numeric or repeated rates are refused.
    """
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"{where}: lr is empty; give a positive number or a list of them")
    for v in values:
        if not is_number(v) or not math.isfinite(v):
            raise ValueError(f"{where}: lr {v!r} is not a number; give a positive number or a list of them")
        if v <= 0:
            raise ValueError(f"{where}: lr {v!r} must be greater than 0")
    lrs = [float(v) for v in values]
    if len(set(lrs)) != len(lrs):
        raise ValueError(f"{where}: lr lists a rate twice: {lrs}")
    return lrs


def lr_key(lr: float) -> str:
    """A metric key for a rate without dots, so DVC's flattened names stay unambiguous:
    0.001 → ``lr_0_001``."""
    return "lr_" + f"{lr:g}".replace(".", "_").replace("-", "m").replace("+", "")
