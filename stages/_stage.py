"""What every stage script shares: params.yaml read and checked, the arithmetic fixed, and the
project's own input errors turned into one line.

A stage script reads::

    @stage
    def main(params):
        kernels = Kernels(params.kernels, ...).apply()   # before any tensor operation (hw2.common.runtime)
        ...

    if __name__ == "__main__":
        main()

``stages/python`` runs it with the project's interpreter and this checkout's ``src/`` first on the path
(a queued experiment runs in a copy of the repository, with its own library).
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from hw2.common.errors import BandChoiceError, InputError, StaleInputError
from pipeline import params as _params
from pipeline.paths import Paths

ROOT = Path(__file__).resolve().parent.parent
PATHS = Paths.of(ROOT)  # where the stages read and write (paths.yaml, as dvc.yaml has it)
WORK = PATHS.work  # where they keep work in progress DVC does not track
BANDS_HINT = (
    "set captioning.imagery.bands in params.yaml to its 0-based red, green and blue bands "
    "(e.g. [3, 2, 1] for Sentinel-2's B4, B3, B2), or to one band for grey"
)


def queued_from() -> Path | None:
    """The repository a queued (or ``--temp``) experiment was started from, when this stage runs in
    DVC's copy of it (``.dvc/tmp/exps/…``); None in the workspace."""
    origin = os.environ.get("DVC_ROOT")
    return Path(origin).resolve() if origin and Path(origin).resolve() != ROOT else None


def shown(text: str) -> str:
    """``text`` with this repository's paths as a user names them (relative to its root)."""
    return " ".join(str(text).split("\n")).replace(f"{ROOT}{os.sep}", "")


def warn(text: str) -> None:
    print(f"WARNING: {shown(text)}", file=sys.stderr)


def stage(main):
    """Run ``main(params)`` with params.yaml read and checked as a whole (before any other work).
    The project's input errors (:class:`InputError`: a bad param, a missing or broken file) become
    ``error: <message>``, one line, exit 1; an interruption exits 130; anything else is a bug and
    keeps its traceback."""

    @functools.wraps(main)
    def run():
        try:
            main(_params.load(ROOT / "params.yaml"))
        except InputError as exc:  # paths in the repository, as a user names them
            message = shown(str(exc))
            if isinstance(exc, StaleInputError):
                message += "; run `dvc repro` again"
            if isinstance(exc, BandChoiceError):
                message += f"; {BANDS_HINT}"
            print(f"error: {message}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                traceback.print_exc()
                sys.exit(2)
            # The disk filled while writing (the stages check the room they need before they start,
            # but another process may take it). The writers have removed their temporaries; exit at
            # once, because HDF5 crashes (SIGSEGV) when Python finalises a file whose write failed.
            where = f" ({shown(str(exc.filename))})" if exc.filename else ""
            print(f"error: no space left on the device{where}; free some space and run again", file=sys.stderr)
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(1)
        except Exception:
            traceback.print_exc()
            sys.exit(2)

    return run


class StageLive:
    """DVCLive for a stage's training loop, through its public API: ``dvc exp show`` and the VS Code
    extension see the metrics of a running experiment after every epoch.

    A ``Live`` whose directory is ``folder`` logs each metric's per-epoch series to
    ``<folder>/plots/metrics/<name>.tsv`` (DVCLive's layout; columns ``step`` = epoch and the value,
    no timestamps); its summary (``Live.summary``, the latest value of each) goes to the stage's
    own metrics file, written atomically with sorted keys, so the same numbers give the same bytes.
    No dvc.yaml is written and no experiment saved: the pipeline declares these files itself.
    """

    def __init__(self, metrics: Path, folder: Path):
        import logging

        logging.getLogger("dvclive").setLevel(logging.WARNING)  # not "Logging to experiment …" in every stage
        self.metrics, self.folder = metrics, folder
        self.live = self._logger()

    def _logger(self):
        from dvclive import Live

        # a new logger starts afresh: DVCLive removes the series a previous one left in its folder
        return Live(dir=str(self.folder), dvcyaml=False, save_dvc_exp=False, report=None)

    def log(self, epoch: int, values: dict[str, float]) -> None:
        """One epoch's values (``{"name/with/slashes": value}``: nested keys in the summary)."""
        from hw2.common.atomic import write_json

        self.live.step = epoch
        for name, value in values.items():
            self.live.log_metric(name, value)
        write_json(self.metrics, {**self.live.summary, "step": epoch})

    def rewrite(self, series: dict[str, list[float]], summary: dict, epochs: int) -> None:
        """The final files, from the whole history (whatever order the epochs were logged in, and
        epochs resumed from a checkpoint included): every series from epoch 1, then the summary."""
        from hw2.common.atomic import write_json

        self.live = self._logger()
        for name, values in series.items():
            for epoch, value in enumerate(values, start=1):
                self.live.step = epoch
                self.live.log_metric(name, value)
        write_json(self.metrics, {**summary, "step": epochs})


class _Arguments(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"usage: {self.format_usage().split(':', 1)[1].strip()} ({message})")


def run_arguments(script: str) -> tuple[str, int]:
    """The run a per-run stage is for: its decoder, ``vanilla`` or ``attention``, and its seed, one of
    captioning.seeds (``stages/python stages/<script>.py attention 0``); InputError, one line, otherwise."""
    parser = _Arguments(prog=f"{script}.py", add_help=False)
    parser.add_argument("decoder", choices=("vanilla", "attention"), metavar="vanilla|attention")
    parser.add_argument("seed", type=int, metavar="seed")
    args = parser.parse_args(sys.argv[1:])
    return args.decoder, args.seed


def device_for(name: str, key: str):
    """The torch device ``name`` (auto | cpu | cuda) of params.yaml's ``key``; on CUDA with the
    deterministic kernels requested. A CUDA device that is not there is refused, naming the key."""
    from hw2.common.runtime import deterministic_device

    try:
        return deterministic_device(name)
    except ValueError as exc:  # cuda without CUDA
        raise _params.ParamsError(f"params.yaml: {key}: {exc}") from None


def require(path: Path, made_by: str) -> Path:
    """``path``, an output of the stage ``made_by``; refused with what to run when it is missing."""
    if not path.exists():
        raise InputError(f"{path}: not found; run the {made_by} stage first")
    return path
