"""Paths in one place: dvc.yaml (through `vars`) and the stage scripts (through pipeline.paths,
as stages/_stage.py's PATHS and WORK) take every path a stage reads or writes from paths.yaml, so
a script uses exactly the paths its stage declares, and writes none of its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from conftest import ROOT

from pipeline.paths import Paths

PATHS = Paths.of(ROOT)

REFERENCE = re.compile(r"\$\{paths\.(\w+)\}")
# deps a stage reads through a param whose value the params schema confines to them
THROUGH_PARAMS = {"download_fashion_mnist": {"raw_fashion_mnist"}, "unzip_images": {"raw_dataset"}}
HELPERS = {"decoder": "decoders"}  # Paths' methods, by the entry they build on (PATHS.decoder(kind, seed))
OWN_PATH = re.compile(r"^((data|models|metrics|plots)/[\w./{}-]*|REPORT\.(md|html))$")


def declared(stage: dict) -> set[str]:
    """The paths.yaml names a stage of dvc.yaml (as written, before DVC's interpolation) declares."""
    entries = [e if isinstance(e, str) else next(iter(e)) for e in stage.get("deps", []) + stage.get("outs", [])]
    return {name for entry in entries for name in REFERENCE.findall(entry)}


def used(script: Path) -> tuple[set[str], set[str], list[str]]:
    """The paths.yaml names ``script`` uses (PATHS.x), its WORK names, and the
    repository paths it spells itself."""
    paths, work, own = set(), set(), []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "PATHS":
                paths.add(HELPERS.get(node.attr, node.attr))
            elif node.value.id == "WORK":
                work.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and OWN_PATH.match(node.value):
            own.append(node.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.left, ast.Name):
            if node.left.id == "ROOT" and isinstance(node.right, ast.Constant):
                if node.right.value not in ("params.yaml", "dvc.lock"):
                    own.append(f"ROOT / {node.right.value!r}")
    return paths, work, own


def problems(pipeline: dict, scripts: dict[str, Path]) -> list[str]:
    out = []
    for name, stage in pipeline["stages"].items():
        script = scripts[name]
        paths, work, own = used(script)
        listed = declared(stage)
        out += [
            f"{name}: {script.name} uses PATHS.{p}, which the stage does not declare" for p in sorted(paths - listed)
        ]
        out += [
            f"{name}: declares ${{paths.{p}}}, which {script.name} does not use"
            for p in sorted(listed - paths - THROUGH_PARAMS.get(name, set()))
        ]
        out += [f"{name}: {script.name} spells a path of its own: {p}" for p in own]
        out += [f"{name}: {script.name} uses WORK.{w}, not in paths.yaml" for w in sorted(work - PATHS.work.names())]
    return out


def scripts_of(pipeline: dict) -> dict[str, Path]:
    return {name: ROOT / stage["cmd"].split()[1] for name, stage in pipeline["stages"].items()}


def test_every_stage_script_uses_exactly_the_paths_its_stage_declares():
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert pipeline["vars"] == ["paths.yaml"]
    found = problems(pipeline, scripts_of(pipeline))
    assert not found, "\n".join(found)


def test_every_path_reference_in_dvc_yaml_is_an_entry_of_paths_yaml():
    text = (ROOT / "dvc.yaml").read_text()
    assert set(REFERENCE.findall(text)) <= PATHS.names()
    # and no repository path is spelled out in a stage's deps or outs, nor in metrics or plots
    pipeline = yaml.safe_load(text)
    spelled = [
        entry
        for stage in pipeline["stages"].values()
        for entry in (e if isinstance(e, str) else next(iter(e)) for e in stage.get("deps", []) + stage["outs"])
        if OWN_PATH.match(entry)
    ]
    spelled += [m for m in pipeline["metrics"] if OWN_PATH.match(m)]
    assert spelled == [], spelled


def test_the_check_finds_an_undeclared_path_an_unused_one_and_a_path_spelled_out(tmp_path):
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    scripts = scripts_of(pipeline)
    planted = tmp_path / "build_vocab.py"
    planted.write_text(
        scripts["build_vocab"]
        .read_text()
        .replace("OUT = PATHS.vocab\n", 'OUT = PATHS.vocab\nX = PATHS.features\nY = ROOT / "data" / "x"\n')
    )
    scripts["build_vocab"] = planted
    pipeline["stages"]["build_vocab"]["deps"].append("${paths.weights}")
    assert problems(pipeline, scripts) == [
        "build_vocab: build_vocab.py uses PATHS.features, which the stage does not declare",
        "build_vocab: declares ${paths.weights}, which build_vocab.py does not use",
        "build_vocab: build_vocab.py spells a path of its own: ROOT / 'data'",
    ]
