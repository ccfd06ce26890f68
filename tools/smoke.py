"""`make smoke`: the whole pipeline on tiny params (smoke.yaml, the tests' smoke params too), as a DVC
experiment in a temporary folder (`dvc exp run --temp`), so the workspace and its committed results
stay as they are. Every stage runs; the numbers mean nothing. At the end it writes the smoke run's
report to smoke/REPORT.html and smoke/REPORT.md (from the experiment's commit and DVC's cache) and says so.

  python tools/smoke.py            # the experiment is named "smoke" (an older one of that name is replaced)

`dvc exp show` lists it; `dvc exp apply smoke` would bring its results into the workspace;
`dvc exp remove smoke` forgets it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NAME = "smoke"
OUT = ROOT / "smoke"


def overrides(params: dict, prefix: str = "") -> list[str]:
    """``-S key=value`` arguments for every leaf of ``params`` (values as JSON, which DVC reads as YAML)."""
    args = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            args += overrides(value, f"{name}.")
        else:
            args += ["-S", f"{name}={json.dumps(value)}"]
    return args


def dvc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["dvc", *args], cwd=ROOT, text=True, capture_output=True)
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        sys.exit(f"error: dvc {' '.join(args[:3])} … exited {proc.returncode}")
    return proc


def main() -> None:
    params = yaml.safe_load((ROOT / "smoke.yaml").read_text(encoding="utf-8"))
    started = time.perf_counter()
    dvc("exp", "remove", NAME, check=False)  # an older smoke run: replaced
    print(f"smoke run: the whole pipeline on smoke.yaml's params, as experiment '{NAME}' in a temporary folder")
    proc = subprocess.run(["dvc", "exp", "run", "--temp", "-n", NAME, *overrides(params)], cwd=ROOT, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: the smoke run failed (dvc exp run exited {proc.returncode}); the workspace is unchanged")
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", f"refs/exps/**/{NAME}"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    if len(refs) != 1:
        sys.exit(f"error: expected one experiment named {NAME}, found {refs}")
    OUT.mkdir(exist_ok=True)
    report_md = subprocess.run(["git", "show", f"{refs[0]}:REPORT.md"], cwd=ROOT, capture_output=True, check=True)
    (OUT / "REPORT.md").write_bytes(report_md.stdout)
    # REPORT.html is a DVC output: its bytes are in the cache, under the MD5 the experiment's lock gives
    lock = yaml.safe_load(
        subprocess.run(
            ["git", "show", f"{refs[0]}:dvc.lock"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    )
    (md5,) = [o["md5"] for o in lock["stages"]["report"]["outs"] if o["path"] == "REPORT.html"]
    (OUT / "REPORT.html").write_bytes((ROOT / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).read_bytes())
    minutes, seconds = divmod(round(time.perf_counter() - started), 60)
    print(
        f"smoke run done in {minutes} min {seconds:02d} s: its report is {OUT.relative_to(ROOT)}/REPORT.html "
        f"(and REPORT.md); `dvc exp show` lists experiment '{NAME}'; the workspace is unchanged"
    )


if __name__ == "__main__":
    main()
