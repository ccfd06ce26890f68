"""dvc.yaml's contract: a stage's code dependencies are exactly the files its script imports.

The import closure is read from the code itself (every ``import`` statement, relative imports
resolved, followed transitively through ``stages/_stage.py`` and ``src/hw2``), so that an edit to
any module reruns exactly the stages that use it, and nothing else.
"""
from __future__ import annotations

import ast
import copy
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = "stages/python"


def module_file(name: str) -> Path | None:
    """The project file of module ``name`` (``_stage`` or ``hw2.…``), or None for other modules."""
    if name == "_stage":
        return ROOT / "stages" / "_stage.py"
    if name != "hw2" and not name.startswith("hw2."):
        return None
    base = ROOT / "src" / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def has_code(path: Path) -> bool:
    """Whether a file holds more than a docstring (an empty ``__init__.py`` changes no result)."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "src").with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports anywhere in it, with ``from a import b`` giving ``a`` and ``a.b``."""
    package = module_name(path).rpartition(".")[0] if path.is_relative_to(ROOT / "src") else ""
    if path.name == "__init__.py":
        package = module_name(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_closure(script: Path) -> set[str]:
    """The project files ``script`` runs: itself and every project module it imports, transitively,
    with the packages they live in (those whose ``__init__.py`` holds code)."""
    files, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in files:
            continue
        files.add(path)
        for name in imported_modules(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing hw2.a.b runs hw2/__init__ and hw2/a/__init__ too
                found = module_file(".".join(parts[:i]))
                if found is not None and (found.name != "__init__.py" or has_code(found) or i == len(parts)):
                    todo.append(found)
    return {str(p.relative_to(ROOT)) for p in files
            if p.name != "__init__.py" or has_code(p)}


def stage_script(cmd: str) -> Path:
    words = shlex.split(cmd)
    assert words[0] == LAUNCHER and words[1].startswith("stages/"), cmd
    return ROOT / words[1]


def dependency_problems(pipeline: dict) -> list[str]:
    """How each stage's code deps in ``pipeline`` (dvc.yaml as a dict) differ from its script's closure."""
    problems = []
    for name, stage in pipeline["stages"].items():
        expected = import_closure(stage_script(stage["cmd"]))
        listed = {d for d in stage.get("deps", []) if d.startswith(("stages/", "src/"))}
        problems += [f"{name}: does not list {path}, which it runs" for path in sorted(expected - listed)]
        problems += [f"{name}: lists {path}, which it does not run" for path in sorted(listed - expected)]
    return problems


def pipeline() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def test_every_stage_depends_on_exactly_the_code_it_runs():
    problems = dependency_problems(pipeline())
    assert not problems, "dvc.yaml's deps disagree with the imports:\n" + "\n".join(problems)


def test_every_stage_runs_with_the_launcher_and_it_is_executable():
    import os
    assert os.access(ROOT / LAUNCHER, os.X_OK)
    for name, stage in pipeline()["stages"].items():
        assert stage_script(stage["cmd"]).is_file(), name


def test_the_check_finds_a_missing_module_and_a_folder_listed_instead_of_files():
    wrong = copy.deepcopy(pipeline())
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
    assert {"stages/dump_kernels.py", "stages/_stage.py", "src/hw2/fashion/kernels.py",
            "src/hw2/common/checkpoint.py", "src/hw2/common/atomic.py", "src/hw2/common/errors.py"} <= closure
    assert not any(path.endswith("__init__.py") for path in closure)  # docstrings only, today
    assert "src/hw2/fashion/train.py" not in closure
