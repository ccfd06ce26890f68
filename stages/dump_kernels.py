"""Stage dump_kernels: the best model's conv1 and conv2 kernels as PNG grids and raw arrays."""
import numpy as np

from _stage import ROOT, stage

from hw2.common.atomic import atomic_path
from hw2.common.checkpoint import load_checkpoint
from hw2.common.errors import InputError
from hw2.fashion.kernels import plot_kernels

BEST = ROOT / "models" / "cnn" / "best.pt"
RAW = ROOT / "models" / "kernels.npz"
PLOTS = ROOT / "plots" / "kernels"


@stage
def main():
    ckpt = load_checkpoint(BEST)
    sd = ckpt.get("state_dict", {})
    if "conv1.weight" not in sd or "conv2.weight" not in sd:
        raise InputError(f"{BEST}: no conv1/conv2 weights in the checkpoint")
    conv1, conv2 = sd["conv1.weight"], sd["conv2.weight"]
    lr = ckpt.get("lr")
    plot_kernels(PLOTS / "conv1.png", conv1, f"conv1: {conv1.shape[0]} kernels 3x3 (lr {lr:g})")
    plot_kernels(PLOTS / "conv2.png", conv2, f"conv2: {conv2.shape[0]}x{conv2.shape[1]} kernels 3x3 (lr {lr:g})")
    with atomic_path(RAW, suffix=".npz") as tmp:
        np.savez(tmp, conv1=conv1.numpy(), conv2=conv2.numpy())
    print(f"kernels of the best model (lr {lr:g}): conv1 {tuple(conv1.shape)}, conv2 {tuple(conv2.shape)} "
          f"→ {PLOTS.relative_to(ROOT)}/conv1.png, conv2.png, {RAW.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
