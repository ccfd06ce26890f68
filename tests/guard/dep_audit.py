"""Run one stage (``dep_audit.py stages/<stage>.py [args]``, as stages/python would run it) and write
down which of its DVC dependencies changed while it ran: a stage must never write into what it reads.

``$HW2_AUDIT_DEPS``: a JSON mapping of each stage's command (after ``stages/python``) to its
dependencies (paths relative to the repository, as dvc.yaml resolves them); ``$HW2_AUDIT_LOG``: one
JSON line per stage run, ``{"cmd", "rc", "deps", "changed"}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path


def digest(path: Path) -> str | None:
    """The bytes of a file, or of every file in a folder with its name (None: not there)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(f"{file.relative_to(path).as_posix()}\0".encode())
        h.update(hashlib.sha256(file.read_bytes()).digest())
    return h.hexdigest()


def main() -> int:
    cmd = " ".join(sys.argv[1:])
    deps = json.loads(Path(os.environ["HW2_AUDIT_DEPS"]).read_text(encoding="utf-8"))[cmd]
    before = {d: digest(Path(d)) for d in deps}
    rc = subprocess.call([sys.executable, *sys.argv[1:]])
    changed = [d for d in deps if digest(Path(d)) != before[d]]
    with open(os.environ["HW2_AUDIT_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"cmd": cmd, "rc": rc, "deps": deps, "changed": changed}) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
