"""The same bytes on every machine: each numeric path of the pipeline, run in miniature in the
stages' kernels (tools/fingerprint.py, in a process of its own as a stage is), gives the digests
committed in tools/fingerprint.json."""
from __future__ import annotations

import json
import sys

from conftest import ROOT, run

sys.path.insert(0, str(ROOT / "tools"))
from fingerprint import EXPECTED, compare  # noqa: E402


def test_every_numeric_path_computes_the_committed_bytes_on_this_cpu():
    out = run([sys.executable, "tools/fingerprint.py", "--json"], ROOT).stdout
    here = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    expected = json.loads(EXPECTED.read_text())
    assert set(here["digests"]) == set(expected["digests"])
    assert compare(here["digests"], here["machine"], expected, EXPECTED.name) is None, out
    # a difference is found, and named with both CPUs
    expected["digests"]["beam search"] = "0" * 16
    expected["machine"] = {"name": "another CPU", "flags": ["avx2"]}
    line = compare(here["digests"], here["machine"], expected, EXPECTED.name)
    assert line.startswith(f"on {here['machine']['name']} (") and "than on another CPU (avx2)" in line
    assert line.endswith("fingerprint.json was made: beam search"), line
