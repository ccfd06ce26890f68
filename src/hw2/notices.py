"""The warnings a reader of any run must not miss: the captioning numbers come from the synthetic
demo set, or from a randomly initialised encoder. Read from the pipeline's own metrics, so they
can be repeated at the end of a run (the report stage, ``make repro``) whatever stages ran.

``python -m hw2.notices [ROOT]`` prints them, one ``WARNING:`` line each, on stderr."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def data_warnings(root: Path) -> list[str]:
    """One line per condition that makes the captioning results a demonstration, not results."""
    out = []
    try:
        dataset = json.loads((root / "metrics" / "dataset.json").read_text())
    except (OSError, ValueError):
        dataset = {}
    try:
        features = json.loads((root / "metrics" / "features.json").read_text())
    except (OSError, ValueError):
        features = {}
    if dataset.get("synthetic"):
        out.append("the captioning results come from the SYNTHETIC demo set (no caption set in "
                   "data/raw_dataset/): they show that the pipeline works, not results on real imagery")
    if features.get("encoder_weights") == "random":
        out.append("the image features come from a RANDOMLY INITIALISED ResNet-18 (no ImageNet weights): "
                   "see README, Captioning data, to use the real weights offline")
    return out


def print_warnings(root: Path, stream=None) -> int:
    stream = stream or sys.stderr
    lines = data_warnings(root)
    for line in lines:
        print(f"WARNING: {line}", file=stream)
    return len(lines)


if __name__ == "__main__":
    print_warnings(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
