"""A copy of the repository as a fresh clone has it: the files git tracks plus new ones it does not
ignore (so data, models, the virtual environment and DVC's cache stay behind). Used by the tests
and tools/gpu_check.py to run the real stages and `dvc` somewhere they cannot touch this checkout."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def copy_repo(dest: Path, parts: Iterable[str] | None = None) -> Path:
    """The repository copied to ``dest``; with ``parts`` (top-level files and folders), only those."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    wanted = None if parts is None else set(parts)
    for rel in filter(None, listed):
        if wanted is not None and rel.split("/", 1)[0] not in wanted:
            continue
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / "data").mkdir(parents=True, exist_ok=True)
    return dest
