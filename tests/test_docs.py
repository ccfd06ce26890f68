"""The README and docs/ can fail: every code name they put in backticks exists (a module or one of
its names, a file of the repository or an output dvc.yaml declares, a make target), the counts
they state are dvc.yaml's, and they speak to a reader who never saw the project's history."""

from __future__ import annotations

import importlib
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
NUMBERS = {w: i for i, w in enumerate(f"{WORDS} seventeen eighteen nineteen twenty".split())}
SUFFIXES = r"py|yaml|yml|json|md|csv|tsv|png|pt|pth|h5|npz|html|lock|zip|tif|txt|toml|cfg|sh"
# files the user puts in place (the docs say where), and what a run writes outside dvc.yaml's outputs
USERS_FILES = {
    "data/raw_dataset/images.zip",
    "data/raw_dataset/dataset.json",
    "data/weights/resnet18-f37072fd.pth",
    "REPORT.pdf",
    "dvc_plots/index.html",
    "smoke/REPORT.html",
    "smoke/REPORT.md",
}


EXTERNAL = {"gdal_edit.py"}  # other projects' scripts the docs name


def spans(path: Path) -> list[str]:
    """The inline code spans of a markdown file (fenced blocks: each line, as a span)."""
    text = path.read_text(encoding="utf-8")
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    text = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", text) + [line for block in fenced for line in block.splitlines()]


@cache
def known_paths() -> set[str]:
    """Git's files and their folders, every output and dependency dvc.yaml declares (resolved), and
    the folders where the stages keep work in progress (paths.yaml's ``work``)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = set(files) | {str(p) for f in files for p in Path(f).parents if str(p) != "."}
    from dvc.repo import Repo

    with Repo(str(ROOT)) as dvc:
        for stage in dvc.index.stages:
            for entry in [*stage.outs, *stage.deps]:
                path = str(entry.def_path)
                found |= {path, *(str(p) for p in Path(path).parents if str(p) != ".")}
    return found


@cache
def folders_of_outputs() -> set[str]:
    """Folders whose files a run writes: declared folder outputs and the work folders."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as dvc:
        outs = {str(out.def_path) for stage in dvc.index.stages for out in stage.outs}
    work = yaml.safe_load((ROOT / "paths.yaml").read_text(encoding="utf-8"))["work"].values()
    return {o for o in outs if not Path(o).suffix} | set(work)


def exists(path: str) -> bool:
    """A path the docs name: a file or folder of the repository or a declared output, a file inside
    a folder a run writes, or a pattern (``<run>``, ``*``, ``{a,b}``) that one of those matches."""
    path = path.rstrip("/")
    known = known_paths()
    if path in USERS_FILES or path in known or f".dvc/{path}" in known:  # .dvc/config's paths: from .dvc/
        return True
    if "/" not in path:  # a script named alone: a file of the repository of that name
        return path in EXTERNAL or any(Path(k).name == path for k in known)
    if re.search(r"[<*{]", path):
        pattern = re.sub(r"<[^>/]*>", "[^/]+", re.escape(path))
        pattern = pattern.replace(r"\*", "[^/]*")
        pattern = re.sub(r"\\\{([^}]*)\\\}", lambda m: "(" + "|".join(m.group(1).split(",")) + ")", pattern)
        if any(re.fullmatch(pattern, k) for k in known):
            return True
    return any(path == folder or path.startswith(folder + "/") for folder in folders_of_outputs())


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def names(kind: str) -> list[tuple[str, str]]:
    """(document, name) for each code name of ``kind`` the docs put in backticks."""
    out = []
    for doc in DOCS:
        for span in spans(doc):
            if kind == "module":
                out += [(doc.name, m) for m in re.findall(r"\b((?:hw2|pipeline)(?:\.\w+)+)", span)]
            elif kind == "make":
                out += [(doc.name, m) for m in re.findall(r"(?:^|\s|;|&&)make ([a-z][\w-]*)", span)]
            elif kind == "path":
                for word in span.split():
                    word = word.strip(",;:()'\"").rstrip(".")
                    if word.startswith(("http", "/", "~", "../", "-", "$", ".venv/")) or "://" in word or word == "n/a":
                        continue
                    if re.fullmatch(r"[\w.<>*{},\-]+(/[\w.<>*{},\-]+)+/?", word) or word.endswith(".py"):
                        out.append((doc.name, word))
    return out


def test_the_docs_exist_and_the_readme_is_one_screen():
    assert len(DOCS) > 1
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md: {lines} lines"
    for doc in DOCS[1:]:
        assert f"docs/{doc.name}" in (ROOT / "README.md").read_text(encoding="utf-8"), (
            f"README.md does not link {doc.name}"
        )


def resolve(name: str):
    """The module or attribute ``name`` (a.b.c: the longest importable module, then attributes)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def test_every_module_name_in_backticks_exists():
    found = names("module")
    assert found, "no module names found: the pattern is wrong"
    missing = []
    for doc, name in found:
        try:
            resolve(name.rstrip("."))
        except (ModuleNotFoundError, AttributeError) as exc:
            missing.append(f"{doc}: `{name}` ({type(exc).__name__})")
    assert missing == []


def test_every_make_target_in_backticks_exists():
    found = names("make")
    assert {"repro", "test"} <= {t for _, t in found}
    targets = make_targets()
    assert [f"{doc}: make {t}" for doc, t in found if t not in targets] == []


def test_every_path_in_backticks_exists_or_is_declared():
    found = names("path")
    assert len(found) > 20, found
    assert [f"{doc}: `{p}`" for doc, p in found if not exists(p)] == []


def test_the_counts_the_docs_state_are_dvc_yamls():
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
    counts = {
        "chart": sum(isinstance(p, dict) for p in plots),
        "figure": sum(isinstance(p, str) for p in plots),
        "stage": len(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]),
    }
    stated = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for number, what in re.findall(rf"\b({'|'.join(NUMBERS)}|\d+) (chart|figure|stage)s\b", text):
            stated.append((doc.name, int(number) if number.isdigit() else NUMBERS[number], what))
    assert stated, "the docs state no count of charts or figures"
    assert [s for s in stated if s[1] != counts[s[2]]] == [], counts


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_docs_speak_without_the_trackers_history(doc):
    """No issue numbers and no changelog voice: the reader never saw the history."""
    text = doc.read_text(encoding="utf-8")
    found = re.findall(r"\bissues? #?\d+|\bbefore this change\b|\bsince issue\b|\(#\d+\)", text, re.I)
    assert found == []
