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

from stage_deps import (  # noqa: E402
    LAUNCHER,
    dependency_problems,
    import_closure,
    load_pipeline,
    stage_script,
    with_code_deps,
)


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


def test_the_rewrite_regenerates_the_code_deps_and_keeps_the_rest_as_written():
    text = (ROOT / "dvc.yaml").read_text()
    assert "GENERATED from each script's" in text and "python tools/stage_deps.py" in text  # said in the file
    assert with_code_deps(text) == text  # current: the rewrite changes nothing
    stale = text.replace("      - src/hw2/common/checkpoint.py\n", "", 1)
    stale = stale.replace("      - stages/_stage.py\n", "      - src/hw2/theory.py\n      - stages/_stage.py\n", 1)
    assert stale != text and with_code_deps(stale) == text  # a missing and a wrong entry, mended
    assert "- ${paths.raw_fashion_mnist}  # fashion_mnist.local_dir lies in it" in with_code_deps(stale)


def test_no_fashion_mnist_stage_depends_on_captioning_code():
    """A change to the captioning half reruns only captioning stages (the params schema every
    stage imports takes nothing from it)."""
    pipeline = load_pipeline()
    for name in ("download_fashion_mnist", "train_cnn", "dump_kernels", "equivariance", "theory"):
        captioning = [d for d in pipeline["stages"][name]["deps"] if d.startswith("src/hw2/captioning/")]
        assert captioning == [], (name, captioning)
