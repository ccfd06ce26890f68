"""One atomic writer for files and folders: a result appears complete under its name, or not at all."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    A killed or failing writer leaves at most a hidden temporary file, never a half-written
    file under the real name; the temporary is named after its process
    (``.<name>.tmp-<pid>-<random><suffix>``), and the next writer of ``path`` removes those of
    processes that are gone. ``suffix`` ends the temporary name, for writers that look at the
    extension (``np.savez`` appends ``.npz`` to any other name).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or ".tmp"
    prefix = f".{path.name}.tmp-"
    remove_stale(path.parent, prefix)
    fd, name = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make outputs private
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale(folder: Path, prefix: str) -> None:
    """Remove the temporaries ``<prefix><pid>-…`` in ``folder`` whose process is gone (a killed
    writer's); a live process's, another writer's at work, stay."""
    for stale in folder.glob(f"{glob.escape(prefix)}*"):
        pid = stale.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def scratch_dir(path: str | os.PathLike) -> Iterator[Path]:
    """An empty work folder at ``path`` for the block, removed afterwards whatever happens; one
    left there by a killed process is removed first."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a work folder beside ``path`` (``.<name>.partial``, fixed, so a killed writer's is
    found and removed by the next); when the block succeeds it replaces ``path`` whole, so files
    that the new content no longer has go too."""
    path = Path(path)
    with scratch_dir(path.parent / f".{path.name}.partial") as work:
        yield work
        if path.exists():
            shutil.rmtree(path)
        work.rename(path)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    """Stable JSON (sorted keys, fixed indent): same content, same bytes."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, table) -> None:
    """A pandas DataFrame as CSV, without its index, with ``\n`` line ends."""
    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
