"""CI gate: the committed dvc.lock matches the committed code, params and results.

Run on a clean clone (no data, no DVC cache): `python tools/check_lock.py` (or `make check-lock`).
It asks DVC for the status of every stage and ignores only what a clean clone cannot have (data
and models that live in DVC's cache). Anything else means someone changed a stage's code, params
or command, or committed metrics/plots, without rerunning the pipeline: the stale stages are
named with what changed, and the exit status is 1.

It also compares, in dvc.lock itself, each stage's record of an input that another stage makes
with what that stage recorded making: on a clean clone the data is missing, so DVC's status cannot
see that an upstream stage was rerun and its consumer was not.

`dvc repro --dry --allow-missing` answers the same question with an exit status (0: up to date),
but stops at the first changed stage with an error about its missing data instead of naming the
stages. Plain `dvc repro --dry` fails on a clean clone even when everything is up to date: it
counts the missing outputs as changes and then cannot read them as the next stage's inputs.
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


def unmatched_inputs(root: Path = ROOT) -> dict[str, list[str]]:
    """{stage: [what differs]} for every stage whose dvc.lock entry records an input made by another
    stage with another hash than that stage's entry records for it (an upstream stage rerun, its
    consumer not): a check of dvc.lock against itself, which needs no data."""
    import yaml

    stages = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    made = {out["path"]: (name, out.get("md5")) for name, entry in stages.items() for out in entry.get("outs", [])}
    unmatched: dict[str, list[str]] = {}
    for name, entry in stages.items():
        for dep in entry.get("deps", []):
            producer, md5 = made.get(dep["path"], (None, None))
            if producer is not None and dep.get("md5") != md5:
                unmatched.setdefault(name, []).append(
                    f"{dep['path']} recorded as another version than {producer} made (rerun {name})"
                )
    return unmatched


def main() -> int:
    stale = stale_stages()
    for stage, reasons in unmatched_inputs().items():
        stale.setdefault(stage, []).extend(reasons)
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
