"""What every stage script shares: reading params.yaml and turning bad input into one line."""
from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The library of this copy of the repository (a queued experiment runs in a copy of its own),
# not whichever one an editable install points at.
sys.path.insert(0, str(ROOT / "src"))

try:
    import torch  # noqa: F401  (the heaviest requirement: if it imports, the environment is the project's)
    import yaml

    from hw2.common.errors import InputError
except ModuleNotFoundError as exc:
    sys.exit(f"error: {sys.executable} lacks this project's packages ({exc}): run `make setup`, "
             "then `source .venv/bin/activate` (or set HW2_PYTHON to your environment's python)")


def load_params(path: Path = ROOT / "params.yaml") -> dict:
    try:
        params = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read parameters ({exc})") from None
    if not isinstance(params, dict):
        raise InputError(f"{path}: expected a mapping of parameters")
    return params


def stage(main):
    """Run ``main``; an InputError or ValueError becomes ``error: <message>`` and exit 1."""
    @functools.wraps(main)
    def run():
        try:
            main()
        except (InputError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        except Exception:  # a bug, not bad input: keep the traceback
            traceback.print_exc()
            sys.exit(2)
    return run
