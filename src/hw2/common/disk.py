"""Room on the disk for what a writer is about to write, checked before it starts writing."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import InputError


def require_space(folder: Path, needed: int, what: str) -> None:
    """InputError (one line: the folder, what needs the room, how much, how much is free) when the
    disk that holds ``folder`` has less than ``needed`` bytes free."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise InputError(
            f"{folder}: {what} need about {megabytes(needed)}, and its disk has {megabytes(free)} free; "
            f"free some space and run again"
        )


def megabytes(size: int) -> str:
    """``size`` bytes as a user reads it: ``1,234.5 MB``."""
    return f"{size / 2**20:,.1f} MB"
