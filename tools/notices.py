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
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


ROOT = Path(__file__).resolve().parent.parent


def main(root: Path) -> int:
    from ruamel.yaml import YAML

    from pipeline.paths import NAME, Paths

    # a folder of metrics without a paths.yaml of its own is laid out as this repository lays them out
    layout = root / NAME if (root / NAME).is_file() else ROOT / NAME
    paths = Paths(YAML(typ="safe", pure=True).load(layout.read_text(encoding="utf-8")), root)
    dataset, features = read(paths.dataset_metrics), read(paths.features_metrics)
    lines = data_warnings(bool(dataset.get("synthetic")), features.get("encoder_weights"))
    computed = [paths.cnn_metrics, paths.features_metrics] + sorted(paths.decoder_metrics.glob("*.json"))
    lines += kernel_warnings([read(path) for path in computed])
    for line in lines:
        print(f"WARNING: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT))
