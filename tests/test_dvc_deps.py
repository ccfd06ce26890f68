"""dvc.yaml's contract: a stage's code dependencies are exactly the files its script imports.

The import closure is read from the code itself (tools/stage_deps.py: every ``import`` statement,
relative imports resolved, followed transitively through ``stages/_stage.py`` and ``src/hw2``),
so that an edit to any module reruns exactly the stages that use it, and nothing else.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from stage_deps import LAUNCHER, dependency_problems, import_closure, load_pipeline, stage_script  # noqa: E402


def test_every_stage_depends_on_exactly_the_code_it_runs():
    problems = dependency_problems(load_pipeline())
    assert not problems, "dvc.yaml's deps disagree with the imports:\n" + "\n".join(problems)


def test_every_stage_runs_with_the_launcher_and_it_is_executable():
    assert os.access(ROOT / LAUNCHER, os.X_OK)
    for name, stage in load_pipeline()["stages"].items():
        assert stage_script(stage["cmd"]).is_file(), name


def test_the_check_finds_a_missing_module_and_a_folder_listed_instead_of_files():
    wrong = copy.deepcopy(load_pipeline())
    deps = wrong["stages"]["train_cnn"]["deps"]
    deps.remove("stages/_stage.py")
    deps.remove("src/hw2/common/checkpoint.py")
    deps.append("src/hw2/common")
    wrong["stages"]["build_vocab"]["deps"].append("src/hw2/captioning/models.py")
    assert dependency_problems(wrong) == [
        "train_cnn: does not list src/hw2/common/checkpoint.py, which it runs",
        "train_cnn: does not list stages/_stage.py, which it runs",
        "train_cnn: lists src/hw2/common, which it does not run",
        "build_vocab: lists src/hw2/captioning/models.py, which it does not run",
    ]


def test_the_closure_follows_relative_imports_and_skips_empty_packages():
    closure = import_closure(ROOT / "stages/dump_kernels.py")
    assert {
        "stages/dump_kernels.py",
        "stages/_stage.py",
        "src/hw2/fashion/kernels.py",
        "src/hw2/common/checkpoint.py",
        "src/hw2/common/atomic.py",
        "src/hw2/common/errors.py",
    } <= closure
    assert not any(path.endswith("__init__.py") for path in closure)  # docstrings only, today
    assert "src/hw2/fashion/train.py" not in closure
