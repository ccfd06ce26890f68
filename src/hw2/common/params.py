"""Checks of the values a user sets in params.yaml (the caller names the file they came from)."""
from __future__ import annotations

import math
import numbers


def is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def positive_int(value, name: str, where: str = "params.yaml", minimum: int = 1) -> int:
    if not is_number(value) or int(value) != value or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


def fraction(value, name: str, where: str = "params.yaml") -> float:
    if not is_number(value) or not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must be a number in [0, 1), not {value!r}")
    return float(value)


def non_negative(value, name: str, where: str = "params.yaml") -> float:
    if not is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be a number >= 0, not {value!r}")
    return float(value)
