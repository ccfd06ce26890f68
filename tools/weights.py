"""Put torchvision's ImageNet weights for ResNet-18 where the pipeline takes them from, by hand:
``data/weights/resnet18-f37072fd.pth``. Then `dvc exp run -S captioning.encoder.weights=imagenet`
(or params.yaml's ``captioning.encoder.weights: imagenet``) runs offline.

    python tools/weights.py                  # from the torch hub cache, else downloaded
    python tools/weights.py --from FILE      # a copy you fetched elsewhere
    make weights                             # the first

The torch hub cache is ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``),
where torchvision keeps the file once any program has loaded its pretrained ResNet-18. Whatever the
source, the file is checked against the SHA-256 prefix in its name before it is put in place; the
pipeline itself never looks in the cache (its results must not depend on what a machine has).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    from hw2.captioning.weights import (
        IMAGENET_FILE,
        IMAGENET_URL,
        check_imagenet_file,
        download_imagenet,
        hub_weights_path,
    )
    from hw2.common.atomic import atomic_path
    from hw2.common.errors import InputError
    from pipeline.paths import Paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--from", dest="source", type=Path, help=f"a copy of {IMAGENET_FILE} to put in place")
    args = ap.parse_args(argv)
    folder = Paths.of(root).weights
    target = folder / IMAGENET_FILE
    try:
        if target.is_file():
            check_imagenet_file(target)
            print(f"{target.relative_to(root)}: already there, and torchvision's ImageNet weights")
            return 0
        source = args.source or hub_weights_path()
        if source.is_file():
            check_imagenet_file(source)
            with atomic_path(target, suffix=".pth") as tmp:
                shutil.copyfile(source, tmp)
            print(f"{target.relative_to(root)}: copied from {source} (SHA-256 checked)")
        elif args.source:
            raise InputError(f"{source}: no such file")
        else:
            print(f"{IMAGENET_FILE}: not in the torch hub cache ({source.parent}); downloading {IMAGENET_URL}")
            download_imagenet(target)
            print(f"{target.relative_to(root)}: downloaded (SHA-256 checked)")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    track(target, root)
    print("now: dvc exp run -S captioning.encoder.weights=imagenet (or set it in params.yaml and run dvc repro)")
    return 0


def track(path: Path, root: Path) -> None:
    """``dvc add`` the file: DVC's cache holds it (`dvc push` shares it, queued experiments see it)
    and git ignores it; where DVC is not at hand, say how."""
    import subprocess

    rel = path.relative_to(root)
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", str(rel)], cwd=root, capture_output=True, text=True
    )
    if proc.returncode:
        print(
            f"note: `dvc add {rel}` failed ({proc.stderr.strip().splitlines()[-1:]}); run it yourself", file=sys.stderr
        )
    else:
        print(f"{rel}: tracked by DVC ({rel}.dvc: commit it)")


if __name__ == "__main__":
    sys.exit(main())
