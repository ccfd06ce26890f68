"""dvc.yaml's code dependencies, read from the stages' imports.

A stage's code dependencies are exactly the files its script runs: itself, stages/_stage.py and
every project module it imports, transitively (relative imports resolved, ``__init__.py`` files
counted only when they hold code). tests/test_dvc_deps.py fails when dvc.yaml disagrees; this
rewrites the lists so that nobody types them by hand:

    python tools/stage_deps.py          # rewrite dvc.yaml in place
    python tools/stage_deps.py --check  # exit 1 if dvc.yaml is not current

It reads and writes dvc.yaml with ruamel.yaml's round trip, so the data dependencies, the
comments and the layout stay as they are.
"""

from __future__ import annotations

import argparse
import ast
import io
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = "stages/python"
PACKAGES = ("hw2", "pipeline")  # the project's packages in src/


def module_file(name: str) -> Path | None:
    """The project file of module ``name`` (a helper in stages/ such as ``_stage``, or a module of
    the packages in src/: ``hw2.…``, ``pipeline.…``), or None for other modules."""
    if "." not in name and (ROOT / "stages" / f"{name}.py").is_file():
        return ROOT / "stages" / f"{name}.py"
    if name.split(".")[0] not in PACKAGES:
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
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
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
    return {str(p.relative_to(ROOT)) for p in files if p.name != "__init__.py" or has_code(p)}


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


def load_pipeline() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def round_trip():
    """ruamel.yaml set up to read and write dvc.yaml unchanged (its comments, quotes and layout)."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 4096
    rt.preserve_quotes = True
    return rt


def with_code_deps(text: str) -> str:
    """dvc.yaml's text with every stage's code deps (its script, stages/_stage.py, then what it
    imports, sorted) replaced by its script's import closure; the data deps follow, as they were,
    their comments kept."""
    from ruamel.yaml.comments import CommentedSeq

    rt = round_trip()
    doc = rt.load(text)
    for stage in doc["stages"].values():
        script = stage_script(stage["cmd"])
        first = [str(script.relative_to(ROOT)), "stages/_stage.py"]
        deps = stage["deps"]
        data = [(item, deps.ca.items.get(i)) for i, item in enumerate(deps) if not item.startswith(("stages/", "src/"))]
        new = CommentedSeq(first + sorted(import_closure(script) - set(first)))
        for item, comment in data:
            new.append(item)
            if comment is not None:  # after the append, which moves the comments of the items at its place
                new.ca.items[len(new) - 1] = comment
        stage["deps"] = new
    buf = io.StringIO()
    rt.dump(doc, buf)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    old = (ROOT / "dvc.yaml").read_text()
    new = with_code_deps(old)
    if new == old:
        print("dvc.yaml: code dependencies are current")
        return 0
    if args.check:
        print("dvc.yaml: code dependencies are not current (python tools/stage_deps.py)", file=sys.stderr)
        return 1
    (ROOT / "dvc.yaml").write_text(new)
    print("dvc.yaml: code dependencies rewritten from the imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
