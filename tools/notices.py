"""Print the warnings a reader of the last run must not miss (``make repro`` ends with it):
captioning results from the synthetic demo set, or from a randomly initialised encoder; digits
computed in other kernels than the portable AVX2 ones (native kernels, a CPU without AVX2). Read
from the metrics files, so they hold whichever stages just ran.

    python tools/notices.py [ROOT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hw2.notices import data_warnings, kernel_warnings


def read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main(root: Path) -> int:
    dataset, features = read(root / "metrics" / "dataset.json"), read(root / "metrics" / "features.json")
    lines = data_warnings(bool(dataset.get("synthetic")), features.get("encoder_weights"))
    lines += kernel_warnings(
        [
            read(root / "metrics" / f"{name}.json")
            for name in ("cnn", "features", "captioner_vanilla", "captioner_attention")
        ]
    )
    for line in lines:
        print(f"WARNING: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent))
