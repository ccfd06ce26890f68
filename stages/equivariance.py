"""Stage equivariance (Q2.1): on the best CNN and real test images, that a convolution commutes with
translation, that max-pooling makes one-pixel shifts approximately invariant, and that the
prediction survives small shifts but not large ones."""

import torch
from _stage import PATHS, require, stage

from hw2.common.atomic import write_json
from hw2.common.plotting import line_plot, write_csv
from hw2.common.runtime import Kernels
from hw2.fashion.data import load_splits, to_float
from hw2.fashion.equivariance import accuracy_under_shifts, change_under_one_pixel_shifts, conv_commutes_with_shifts
from hw2.fashion.saved import load_convnet

BEST = PATHS.cnn_models / "best.pt"
DATA = PATHS.fashion_mnist
METRICS = PATHS.equivariance_metrics
PLOTS = PATHS.equivariance_plots
FEATURE_IMAGES = 1000  # the feature-map measurements: the first this many test images (the norms settle)


@stage
def main(params):
    Kernels(params.kernels).apply()
    limit = params.cnn.limit  # smoke runs: the first `limit` test images (0: all)
    model, _ = load_convnet(require(BEST, "train_cnn"))
    arrays = load_splits(require(DATA, "download_fashion_mnist"))
    count = limit or len(arrays["y_test"])
    x = to_float(torch.from_numpy(arrays["x_test"][:count]))
    y = torch.from_numpy(arrays["y_test"][:count])
    commute = conv_commutes_with_shifts(model, x[:FEATURE_IMAGES])
    change = change_under_one_pixel_shifts(model, x[:FEATURE_IMAGES])
    shifts = accuracy_under_shifts(model, x, y)
    write_json(
        METRICS,
        {
            "images": len(x),
            "feature_map_images": min(len(x), FEATURE_IMAGES),
            "conv1_shift_max_diff": float(f"{commute:.3g}"),
            "one_pixel_change": {k: round(v, 4) for k, v in change.items()},
            "accuracy_by_shift": {f"px_{r['shift']}": r["accuracy"] for r in shifts},
            "agreement_by_shift": {f"px_{r['shift']}": r["agreement"] for r in shifts},
        },
    )
    write_csv(
        PLOTS / "shifts.csv",
        ["shift", "accuracy", "agreement"],
        [(r["shift"], r["accuracy"], r["agreement"]) for r in shifts],
    )
    line_plot(
        PLOTS / "shifts.png",
        {
            "test accuracy": ([r["shift"] for r in shifts], [r["accuracy"] for r in shifts]),
            "same prediction as unshifted": ([r["shift"] for r in shifts], [r["agreement"] for r in shifts]),
        },
        title=f"The best CNN on {len(x):,} shifted test images",
        xlabel="shift (pixels, mean of 4 directions)",
        ylabel="share of images",
    )
    print(
        f"Q2.1 on {len(x):,} test images: conv1 commutes with shifts (largest difference {commute:.1e} of the "
        f"largest activation); a 1-pixel shift changes conv1's maps by {change['conv1']:.0%}, pooled "
        f"{change['pool1']:.0%}, conv2 {change['conv2']:.0%}, pooled {change['pool2']:.0%}; accuracy "
        + ", ".join(f"{r['accuracy']:.3f} at {r['shift']} px" for r in shifts)
    )


if __name__ == "__main__":
    main()
