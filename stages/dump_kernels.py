"""Stage dump_kernels (Q2.3): the best model's conv1 and conv2 kernels as PNG grids and raw arrays,
its feature maps for a few test images, and the measurements the answer rests on."""

import numpy as np
import torch
from _stage import PATHS, ROOT, require, stage

from hw2.common.atomic import atomic_path, write_json
from hw2.common.runtime import Kernels
from hw2.fashion.data import CLASSES, load_splits, to_float
from hw2.fashion.equivariance import layer_outputs
from hw2.fashion.kernels import balance, plot_feature_maps, plot_kernels, receptive_fields
from hw2.fashion.saved import load_convnet

BEST = PATHS.cnn_models / "best.pt"
DATA = PATHS.fashion_mnist
RAW = PATHS.kernels_raw
PLOTS = PATHS.kernels_plots
METRICS = PATHS.kernels_metrics
IMAGES = 3  # feature maps of the first test images of this many different classes


@stage
def main(params):
    Kernels(params.kernels).apply()
    model, ckpt = load_convnet(require(BEST, "train_cnn"))
    conv1, conv2 = model.conv1.weight.detach(), model.conv2.weight.detach()
    lr = ckpt.get("lr")
    arrays = load_splits(require(DATA, "download_fashion_mnist"))
    labels = arrays["y_test"].tolist()
    picked = [labels.index(c) for c in dict.fromkeys(labels)][:IMAGES]  # first image of each of the first classes
    x = to_float(torch.from_numpy(arrays["x_test"][picked]))
    maps = layer_outputs(model, x)
    plot_kernels(PLOTS / "conv1.png", conv1, f"conv1: {conv1.shape[0]} kernels 3x3 (lr {lr:g})")
    plot_kernels(PLOTS / "conv2.png", conv2, f"conv2: {conv2.shape[0]}x{conv2.shape[1]} kernels 3x3 (lr {lr:g})")
    plot_feature_maps(
        PLOTS / "feature_maps.png",
        x[:, 0].numpy(),
        [f"test image {i}: {CLASSES[labels[i]]}" for i in picked],
        {"conv1": maps["conv1"].numpy(), "conv2": maps["conv2"].numpy()},
        f"What the best model's layers respond to (lr {lr:g}): conv1 maps (28x28) and conv2 maps (12x12) after ReLU",
    )
    with atomic_path(RAW, suffix=".npz") as tmp:
        np.savez(tmp, conv1=conv1.numpy(), conv2=conv2.numpy())
    fields = receptive_fields(model.conv1.kernel_size[0], 2, model.conv2.kernel_size[0])
    b1, b2 = balance(conv1), balance(conv2)
    write_json(
        METRICS,
        {
            "receptive_field_px": fields,
            "feature_map_images": [int(i) for i in picked],
            "conv1_balance_median": round(float(np.median(b1)), 4),
            "conv2_balance_median": round(float(np.median(b2)), 4),
            "conv1_difference_kernels": int((b1 < 0.3).sum()),
            "conv1_kernels": len(b1),
        },
    )
    print(
        f"kernels of the best model (lr {lr:g}): conv1 {tuple(conv1.shape)}, conv2 {tuple(conv2.shape)} "
        f"→ {PLOTS.relative_to(ROOT)}/conv1.png, conv2.png, feature_maps.png, {RAW.relative_to(ROOT)}; "
        f"receptive fields {fields['conv1']} and {fields['conv2']} px; {int((b1 < 0.3).sum())} of {len(b1)} "
        "conv1 kernels answer to differences (|sum w| < 0.3 sum |w|)"
    )


if __name__ == "__main__":
    main()
