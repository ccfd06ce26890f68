"""Checks of the values a user sets (the caller names the file they came from)."""
from __future__ import annotations

import math
import numbers


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def learning_rates(value, where: str = "params.yaml") -> list[float]:
    """``lr`` as a list of floats: a number trains one rate, a list sweeps.

    Empty, zero, negative, non-finite, non-numeric or repeated rates are refused.
    """
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"{where}: lr is empty; give a positive number or a list of them")
    for v in values:
        if not _is_number(v) or not math.isfinite(v):
            raise ValueError(f"{where}: lr {v!r} is not a number; give a positive number or a list of them")
        if v <= 0:
            raise ValueError(f"{where}: lr {v!r} must be greater than 0")
    lrs = [float(v) for v in values]
    if len(set(lrs)) != len(lrs):
        raise ValueError(f"{where}: lr lists a rate twice: {lrs}")
    return lrs


def positive_int(value, name: str, where: str = "params.yaml", minimum: int = 1) -> int:
    if not _is_number(value) or int(value) != value or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


def fraction(value, name: str, where: str = "params.yaml") -> float:
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must be a number in [0, 1), not {value!r}")
    return float(value)


def non_negative(value, name: str, where: str = "params.yaml") -> float:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be a number >= 0, not {value!r}")
    return float(value)


def lr_key(lr: float) -> str:
    """A metric key for a rate without dots, so DVC's flattened names stay unambiguous:
    0.001 → ``lr_0_001``."""
    return "lr_" + f"{lr:g}".replace(".", "_").replace("-", "m").replace("+", "")
