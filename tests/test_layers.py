"""The layers stay apart: the library knows no DVC, params.yaml or stage; bench/ and tools/ use the
library, not the stage scripts or the tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE_WORDS = re.compile(r"params\.yaml|\bdvc\b|\bstages?\b", re.IGNORECASE)


def offending_lines(files, pattern) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_the_library_does_not_know_the_pipeline():
    # Its messages name values and files; the stage layer adds the key, the stage and what to run.
    found = offending_lines(sorted((ROOT / "src" / "hw2").rglob("*.py")), PIPELINE_WORDS)
    assert not found, "src/hw2 mentions the pipeline:\n" + "\n".join(found)


def test_the_check_finds_a_library_line_that_names_a_stage():
    assert PIPELINE_WORDS.search('raise InputError(f"{path}: not found; run the build_vocab stage first")')
    assert PIPELINE_WORDS.search('raise ValueError("params.yaml: the decoder must be vanilla")')
    assert PIPELINE_WORDS.search("the feature file comes from another run; run `dvc repro` again")
    assert not PIPELINE_WORDS.search("a staged rollout of devices")


def test_bench_and_tools_do_not_reach_into_stages_or_tests():
    reach = re.compile(
        r"""sys\.path\.(insert|append)\(.*["'](stages|tests)["']|^\s*(import|from)\s+(_stage|_params|conftest)\b"""
    )
    files = sorted((ROOT / "bench").glob("*.py")) + sorted((ROOT / "tools").glob("*.py"))
    found = offending_lines(files, reach)
    assert not found, "\n".join(found)
    assert reach.search('sys.path.insert(0, str(ROOT / "stages"))') and reach.search("import _stage")
