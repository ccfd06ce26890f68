"""What every stage script shares: reading params.yaml and turning bad input into one line."""
from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The library of this copy of the repository (a queued experiment runs in a copy of its own),
# not whichever one an editable install points at.
sys.path.insert(0, str(ROOT / "src"))


def queued_from() -> Path | None:
    """The repository a queued (or ``--temp``) experiment was started from, when this stage runs in
    DVC's copy of it (``.dvc/tmp/exps/…``); None in the workspace."""
    origin = os.environ.get("DVC_ROOT")
    return Path(origin).resolve() if origin and Path(origin).resolve() != ROOT else None


def share_cores_with_queue_workers() -> None:
    """Under ``dvc queue start -j N`` several experiments run at once on this machine: unless
    ``OMP_NUM_THREADS`` says otherwise, give this stage cores/N (N = the queue workers of the
    repository the experiment came from) instead of every core, so that the workers do not spin
    their threads against each other. Results do not depend on it."""
    origin = queued_from()
    if origin is None or os.environ.get("OMP_NUM_THREADS", "").strip():
        return
    node = hashlib.sha256(os.path.join(str(origin), ".dvc", "tmp", "exps", "celery").encode()).hexdigest()[:6]
    try:  # DVC names its workers dvc-exp-<hash of the queue's folder>-<k>@localhost
        listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return
    workers = set(re.findall(rf"queue-worker (dvc-exp-{node}-\d+)@", listing))
    if workers:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        os.environ["OMP_NUM_THREADS"] = str(max(1, cores // len(workers)))


share_cores_with_queue_workers()

def _check_environment() -> None:
    """One line, not a traceback, when this interpreter lacks the project's packages (found without
    importing them, so that a bad params.yaml is reported in a fraction of a second)."""
    import importlib.util

    missing = [m for m in ("torch", "torchvision", "yaml", "pydantic", "dvclive") if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"error: {sys.executable} lacks this project's packages (no {', '.join(missing)}): run `make setup`, "
                 "then `source .venv/bin/activate` (or set HW2_PYTHON to your environment's python)")


_check_environment()

import _params  # noqa: E402
from hw2.common.errors import InputError, StaleInputError  # noqa: E402

# Every stage checks the whole of params.yaml as it starts, before it imports or reads anything
# else: a bad value is one line, at once.
try:
    PARAMS = _params.load(ROOT / "params.yaml")
except _params.ParamsError as _exc:
    sys.exit(f"error: {_exc}")


class StageLive:
    """DVCLive for a stage's training loop: ``dvc exp show`` and the VS Code extension see the
    metrics of a running experiment after every epoch.

    The summary (the stage's metrics file) is written atomically with sorted keys, so the same
    numbers give the same bytes; each metric's per-epoch series goes to
    ``<series>/metrics/<name>.tsv`` (columns ``step`` = epoch and the value, no timestamps). No
    dvc.yaml is written and no experiment saved: the pipeline declares these files itself.
    """

    def __init__(self, metrics: Path, series: Path):
        import logging

        from dvclive import Live

        from hw2.common.atomic import write_json

        logging.getLogger("dvclive").setLevel(logging.WARNING)  # not "Logging to experiment …" in every stage

        class _Live(Live):
            @property
            def metrics_file(self) -> str:
                return str(metrics)

            @property
            def plots_dir(self) -> str:
                return str(series)

            def make_summary(self) -> None:
                write_json(metrics, {**self.summary, "step": self.step})

        self.live = _Live(dir=str(series), dvcyaml=False, save_dvc_exp=False, report=None)

    def log(self, epoch: int, values: dict[str, float]) -> None:
        """One epoch's values (``{"name/with/slashes": value}``: nested keys in the summary)."""
        self.live.step = epoch
        for name, value in values.items():
            self.live.log_metric(name, value)
        self.live.make_summary()

    def rewrite(self, series: dict[str, list[float]], summary: dict, epochs: int) -> None:
        """The final files, from the whole history (whatever order the epochs were logged in, and
        epochs resumed from a checkpoint included): every series from epoch 1, then the summary."""
        import shutil

        shutil.rmtree(Path(self.live.plots_dir) / "metrics", ignore_errors=True)
        self.live._metrics.clear()
        for name, values in series.items():
            for epoch, value in enumerate(values, start=1):
                self.live.step = epoch
                self.live.log_metric(name, value)
        self.live.summary = summary
        self.live.step = epochs
        self.live.make_summary()


def load_params() -> "_params.Params":
    """params.yaml, checked as a whole against the schema in stages/_params.py (when the stage
    started)."""
    return PARAMS


def device_for(name: str, key: str):
    """The torch device ``name`` (auto | cpu | cuda) of params.yaml's ``key``; on CUDA with the
    deterministic kernels requested. A CUDA device that is not there is refused, naming the key."""
    from hw2.common.runtime import deterministic_device

    try:
        return deterministic_device(name)
    except ValueError as exc:
        raise _params.ParamsError(f"params.yaml: {key}: {exc}") from None


def require(path: Path, made_by: str) -> Path:
    """``path``, an output of the stage ``made_by``; refused with what to run when it is missing."""
    if not path.exists():
        raise InputError(f"{path}: not found; run the {made_by} stage first")
    return path


def stage(main):
    """Run ``main``; an InputError or ValueError becomes ``error: <message>`` and exit 1 (inputs
    that do not belong together, with the advice to make them again)."""
    @functools.wraps(main)
    def run():
        try:
            main()
        except (InputError, ValueError) as exc:  # paths in the repository, as a user names them
            message = " ".join(str(exc).split("\n")).replace(f"{ROOT}{os.sep}", "")
            if isinstance(exc, StaleInputError):
                message += "; run `dvc repro` again"
            print(f"error: {message}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except Exception:  # a bug, not bad input: keep the traceback
            traceback.print_exc()
            sys.exit(2)
    return run
