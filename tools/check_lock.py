"""CI gate: the committed dvc.lock matches the committed code, params and results.

Run on a clean clone (no data, no DVC cache): `python tools/check_lock.py` (or `make check-lock`).
It asks DVC for the status of every stage and ignores only what a clean clone cannot have (data
and models that live in DVC's cache). Anything else means someone changed a stage's code, params
or command, or committed metrics/plots, without rerunning the pipeline: the stale stages are
named with what changed, and the exit status is 1.

(`dvc repro --dry --allow-missing` answers the same question with a yes, but stops at the first
changed stage with an error about its missing data instead of naming the stages.)
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABSENT = ("deleted", "not in cache")  # data a clean clone does not hold: not a sign of staleness


def stale_stages(root: Path = ROOT) -> dict[str, list[str]]:
    """{stage: [what changed]} for every stage whose committed lock does not match the repository."""
    import os

    from dvc.repo import Repo

    os.chdir(root)  # DVC names stages relative to the working directory
    with Repo(str(root)) as repo:
        committed = {out.def_path for stage in repo.index.stages for out in stage.outs if not out.use_cache}
        status = repo.status()
    stale: dict[str, list[str]] = {}
    for stage, entries in status.items():
        reasons = []
        for entry in entries:
            if isinstance(entry, str):  # "changed command", "always changed"
                reasons.append(entry)
                continue
            for kind, changes in entry.items():
                for path, what in changes.items():
                    if isinstance(what, dict):  # params: {key: modified | new | deleted}
                        reasons += [f"param {key} {change}" for key, change in what.items()]
                    elif what in ABSENT and not (kind == "changed outs" and path in committed):
                        continue
                    else:
                        reasons.append(f"{path} {what}")
        if reasons:
            stale[stage] = reasons
    return stale


def main() -> int:
    stale = stale_stages()
    if not stale:
        print("dvc.lock matches the committed code, params and results of every stage")
        return 0
    print("dvc.lock does not match the repository: these stages changed and were not rerun", file=sys.stderr)
    for stage, reasons in stale.items():
        print(f"  {stage}: {'; '.join(reasons)}", file=sys.stderr)
    print("run `make repro` (or `dvc repro`) and commit dvc.lock, metrics/, plots/ and REPORT.*", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
