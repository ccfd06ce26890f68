"""The homework's CNN, its training at every rate (deterministic, resumable, a rate alone equal to its
row of a sweep), its kernels and Q2.1's measurements."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from conftest import KERNELS
from PIL import Image

from hw2.common.runtime import threads
from hw2.fashion.kernels import kernel_grid, plot_kernels
from hw2.fashion.model import ConvNet, count_parameters
from hw2.fashion.train import RateConfig, RateResult, best_rate, lr_key, train_rate, train_sweep


def test_the_cnn_has_769930_parameters_in_the_homeworks_layers():
    net = ConvNet(0.3)
    assert count_parameters(net) == 769_930
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["conv1.weight"] == (16, 1, 3, 3) and shapes["conv2.weight"] == (32, 16, 3, 3)
    assert shapes["fc1.weight"] == (600, 1152) and shapes["fc2.weight"] == (120, 600)
    assert shapes["fc3.weight"] == (10, 120)


def test_the_cnn_outputs_log_probabilities():
    out = ConvNet(0.3).eval()(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(5), atol=1e-6)


def tiny_arrays(n=64, seed=0):
    """Two easy classes: bright top half vs bright bottom half, with noise."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, 2, n)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            rows = slice(0, 14) if label == 0 else slice(14, 28)
            x[i, rows] += 180
        return x, y.astype(np.int64)

    arrays = {}
    for name, size in (("train", n), ("val", n // 2), ("test", n // 2)):
        arrays[f"x_{name}"], arrays[f"y_{name}"] = split(size)
    return arrays


def test_a_training_run_learns_a_tiny_task_and_is_deterministic():
    cfg = RateConfig(lr=0.05, epochs=3, batch_size=8, dropout=0.3, l2_decay=0.0, seed=1)
    first = train_sweep(tiny_arrays(), cfg, [0.05, 0.1], progress=False, kernels=KERNELS)
    assert all(run.train_loss[-1] < 0.69 for run in first)  # below chance-level NLL of two classes
    assert max(run.val_acc[-1] for run in first) == 1.0
    second = train_sweep(tiny_arrays(), cfg, [0.05, 0.1], progress=False, kernels=KERNELS)
    assert all(same_run(a, b) for a, b in zip(first, second, strict=True))


def same_run(a, b) -> bool:
    return (
        a.lr == b.lr
        and a.train_loss == b.train_loss
        and a.val_acc == b.val_acc
        and a.test_acc == b.test_acc
        and a.state_dict.keys() == b.state_dict.keys()
        and all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    )


def test_a_rate_is_the_plain_loop_of_convnet_autograd_and_sgd():
    # the homework's training, written out here as PyTorch's MNIST example does it: train_rate must
    # compute exactly this (from the same seed: initial weights, batches, dropout masks)
    arrays = tiny_arrays(n=100)  # a short last batch of 4
    cfg = RateConfig(lr=0.05, epochs=2, batch_size=8, dropout=0.3, l2_decay=0.01, seed=2)
    x_train, y_train = (
        torch.from_numpy(arrays["x_train"]).unsqueeze(1).float() / 255,
        torch.from_numpy(arrays["y_train"]),
    )
    with threads(1):  # as train_rate runs
        torch.manual_seed(cfg.seed)
        model = ConvNet(cfg.dropout)
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.l2_decay)
        shuffle = torch.Generator().manual_seed(cfg.seed)
        for _ in range(cfg.epochs):
            model.train()
            for batch in torch.randperm(len(x_train), generator=shuffle).split(cfg.batch_size):
                optimizer.zero_grad()
                F.nll_loss(model(x_train[batch]), y_train[batch]).backward()
                optimizer.step()
        x_test, y_test = (
            torch.from_numpy(arrays["x_test"]).unsqueeze(1).float() / 255,
            torch.from_numpy(arrays["y_test"]),
        )
        test_acc = (model.eval()(x_test).argmax(1) == y_test).double().mean().item()
    run = train_rate(arrays, cfg, progress=False)
    for name, want in model.state_dict().items():
        assert torch.equal(run.state_dict[name], want), name
    assert run.test_acc == test_acc and run.train_loss[-1] < run.train_loss[0]  # it did train


def test_a_rate_alone_equals_its_row_of_a_sweep_whatever_runs_beside_it():
    arrays = tiny_arrays(n=96)
    cfg = RateConfig(lr=0.1, epochs=2, batch_size=8, dropout=0.3, l2_decay=0.01, seed=4)
    lrs = [0.02, 0.1, 0.05]
    alone = train_sweep(arrays, cfg, [0.1], progress=False, kernels=KERNELS)[0]
    one_by_one = train_sweep(arrays, cfg, lrs, processes=1, progress=False, kernels=KERNELS)
    side_by_side = train_sweep(arrays, cfg, lrs, processes=2, progress=False, kernels=KERNELS)  # a process a rate
    assert [run.lr for run in side_by_side] == lrs
    assert same_run(alone, one_by_one[1]) and same_run(alone, side_by_side[1])
    assert all(same_run(a, b) for a, b in zip(one_by_one, side_by_side, strict=True))
    assert not same_run(side_by_side[0], side_by_side[1])  # the rates did differ


def test_the_best_rate_is_the_best_last_validation_accuracy_and_the_first_on_a_tie():
    def run(lr, *val_acc):
        return RateResult(lr, val_acc=list(val_acc))

    assert best_rate([run(0.001, 0.9, 0.5), run(0.01, 0.1, 0.7), run(0.1, 0.2, 0.6)]) == 1  # the last epoch counts
    assert best_rate([run(0.001, 0.5), run(0.01, 0.8), run(0.1, 0.8)]) == 1  # a tie: the first
    assert best_rate([run(0.1, 0.3)]) == 0


def test_resume_continues_bit_for_bit(tmp_path):
    ckpt = tmp_path / "resume.pt"
    cfg = RateConfig(0.1, 3, 8, 0.3, 0.0, 1)
    full = train_rate(tiny_arrays(), cfg, progress=False)
    part = train_rate(tiny_arrays(), replace(cfg, epochs=2), resume_path=ckpt, progress=False)
    assert part.resumed_from == 0 and ckpt.is_file()
    rest = train_rate(tiny_arrays(), cfg, resume_path=ckpt, progress=False)
    assert rest.resumed_from == 2 and same_run(full, rest)
    # A checkpoint made with other hyperparameters, or of a longer run, is ignored, not resumed.
    other = train_rate(tiny_arrays(), replace(cfg, dropout=0.2), resume_path=ckpt, progress=False)
    assert other.resumed_from == 0
    train_rate(tiny_arrays(), cfg, resume_path=ckpt, progress=False)  # a 3-epoch checkpoint
    shorter = train_rate(tiny_arrays(), replace(cfg, epochs=2), resume_path=ckpt, progress=False)
    assert shorter.resumed_from == 0 and same_run(shorter, part)


def test_a_sweep_resumes_each_rate_from_its_own_checkpoint(tmp_path):
    cfg = RateConfig(0.05, 2, 8, 0.3, 0.0, 1)
    full = train_sweep(tiny_arrays(), cfg, [0.05, 0.1], progress=False, kernels=KERNELS)
    train_rate(
        tiny_arrays(), RateConfig(0.1, 1, 8, 0.3, 0.0, 1), resume_path=tmp_path / "lr_0_1.pt", progress=False
    )  # as a sweep killed after lr 0.1's first epoch
    resumed = train_sweep(
        tiny_arrays(), cfg, [0.05, 0.1], resume_dir=tmp_path, processes=2, progress=False, kernels=KERNELS
    )
    assert [run.resumed_from for run in resumed] == [0, 1]
    assert all(same_run(a, b) for a, b in zip(full, resumed, strict=True))


def test_rate_keys_hold_no_dots():
    assert [lr_key(v) for v in (0.001, 0.01, 0.1, 1e-5)] == ["lr_0_001", "lr_0_01", "lr_0_1", "lr_1em05"]


def test_kernel_grid_keeps_every_weight_as_it_is():
    # One scale for the layer (the figure centres it on zero): a kernel 1000x larger stays 1000x larger,
    # and a negative weight stays negative; per-kernel min-max scaling would lose both.
    w = torch.randn(4, 2, 3, 3)
    w[0, 0] *= 1000
    grid = kernel_grid(w, columns=2)
    assert grid.shape == (4 * 4 - 1, 2 * 4 - 1)  # 8 kernels of 3x3 in 4 rows of 2, one-pixel gaps
    assert np.array_equal(grid[0:3, 0:3], w[0, 0].numpy()) and np.array_equal(grid[0:3, 4:7], w[0, 1].numpy())
    assert np.isnan(grid[3]).all() and np.isnan(grid[:, 3]).all()
    assert np.array_equal(np.sort(grid[~np.isnan(grid)]), np.sort(w.flatten().numpy()))


def test_kernel_figures_are_written(tmp_path):
    net = ConvNet(0.3)
    plot_kernels(tmp_path / "conv1.png", net.conv1.weight, "conv1")
    plot_kernels(tmp_path / "conv2.png", net.conv2.weight, "conv2")
    small, big = Image.open(tmp_path / "conv1.png"), Image.open(tmp_path / "conv2.png")
    assert small.format == big.format == "PNG"
    assert big.size[1] > big.size[0] > 300  # 32 rows of 16 kernels: taller than wide
    assert len(np.unique(np.asarray(big.convert("L")))) > 50  # an image, not a blank
    positive = np.asarray(Image.open(tmp_path / "conv1.png").convert("RGB")).astype(int)
    assert ((positive[..., 0] - positive[..., 2]) > 60).any() and (
        (positive[..., 2] - positive[..., 0]) > 60
    ).any()  # red and blue: signs shown
    from hw2.fashion.equivariance import layer_outputs
    from hw2.fashion.kernels import plot_feature_maps

    x = torch.rand(2, 1, 28, 28)
    maps = layer_outputs(net.eval(), x)
    plot_feature_maps(
        tmp_path / "maps.png",
        x[:, 0].numpy(),
        ["a", "b"],
        {"conv1": maps["conv1"].numpy(), "conv2": maps["conv2"].numpy()},
        "maps",
    )
    with Image.open(tmp_path / "maps.png") as im:
        assert im.width > 1000 and im.height > 400


def test_q2_1_measurements_on_a_convnet():
    from hw2.fashion.equivariance import (
        accuracy_under_shifts,
        change_under_one_pixel_shifts,
        conv_commutes_with_shifts,
        shift,
    )

    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 1, 2] = 1.0
    moved = shift(x, 2, -1)
    assert moved[0, 0, 3, 1] == 1.0 and moved.sum() == 1.0  # moved 2 down, 1 left; zeros come in
    assert shift(x, 0, 5).sum() == 0.0  # shifted out entirely
    torch.manual_seed(0)
    net = ConvNet(0.3).eval()
    images = torch.rand(8, 1, 28, 28)
    assert conv_commutes_with_shifts(net, images) < 1e-6
    change = change_under_one_pixel_shifts(net, images)
    assert set(change) == {"conv1", "pool1", "conv2", "pool2"} and all(0 < v < 2 for v in change.values())
    rows = accuracy_under_shifts(net, images, torch.zeros(8, dtype=torch.long), sizes=(0, 1, 8))
    assert [r["shift"] for r in rows] == [0, 1, 8] and rows[0]["agreement"] == 1.0

    # the check can fail: a layer that is not a convolution does not commute with shifts
    class FlippedConv(torch.nn.Conv2d):
        def forward(self, input: torch.Tensor) -> torch.Tensor:
            return super().forward(input.flip(-1))

    flip = ConvNet(0.3)
    flip.conv1 = FlippedConv(1, 16, 3, padding=1)
    assert conv_commutes_with_shifts(flip, images) > 0.01
