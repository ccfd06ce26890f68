"""The homework's CNN, the stacked sweep trainer checked against autograd, training, kernels."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from hw2.fashion.kernels import kernel_grid, plot_kernels
from hw2.fashion.model import ConvNet, count_parameters
from hw2.fashion.stacked import StackedConvNets
from hw2.fashion.train import RateConfig, SweepConfig, lr_key, train_rate, train_sweep


def test_the_cnn_has_769930_parameters_in_the_homeworks_layers():
    net = ConvNet()
    assert count_parameters(net) == 769_930
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["conv1.weight"] == (16, 1, 3, 3) and shapes["conv2.weight"] == (32, 16, 3, 3)
    assert shapes["fc1.weight"] == (600, 1152) and shapes["fc2.weight"] == (120, 600)
    assert shapes["fc3.weight"] == (10, 120)


def test_the_cnn_outputs_log_probabilities():
    out = ConvNet().eval()(torch.rand(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert torch.allclose(out.exp().sum(1), torch.ones(5), atol=1e-6)


class FixedMaskDropout(torch.nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_stacked_sgd_step_equals_autograd_sgd_for_every_rate(weight_decay):
    torch.manual_seed(0)
    net = ConvNet(0.3)
    lrs = [0.001, 0.01, 0.1]
    stacked = StackedConvNets.replicate(net, len(lrs))
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.rand(8, 1, 28, 28, generator=gen), torch.randint(0, 10, (8,), generator=gen),
                torch.empty(8, 600).bernoulli_(0.7, generator=gen).div_(0.7)) for _ in range(3)]
    batches.append((torch.rand(3, 1, 28, 28), torch.randint(0, 10, (3,)), None))  # a short last batch
    references = []
    for lr in lrs:
        ref = ConvNet(0.3)
        ref.load_state_dict(net.state_dict())
        opt = torch.optim.SGD(ref.parameters(), lr=lr, weight_decay=weight_decay)
        losses = []
        for x, y, mask in batches:
            ref.dropout = FixedMaskDropout(mask) if mask is not None else torch.nn.Identity()
            opt.zero_grad()
            loss = F.nll_loss(ref(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        references.append((ref, losses))
    got_losses = [stacked.sgd_step(x, y, mask, torch.tensor(lrs), weight_decay) for x, y, mask in batches]
    for k, (ref, losses) in enumerate(references):
        got = stacked.state_dict(k)
        for name, want in ref.state_dict().items():
            assert torch.allclose(got[name], want, atol=1e-6, rtol=1e-5), (lrs[k], name)
        assert np.allclose([g[k].item() for g in got_losses], losses, atol=1e-6)


def test_stacked_models_evaluate_like_convnet():
    torch.manual_seed(3)
    net = ConvNet().eval()
    x = torch.rand(7, 1, 28, 28)
    stacked = StackedConvNets.replicate(net, 2)
    out = stacked.log_probs(x)
    assert out.shape == (2, 7, 10)
    assert torch.allclose(out[0], net(x), atol=1e-5) and torch.allclose(out[1], net(x), atol=1e-5)


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
    cfg = SweepConfig(lrs=[0.05, 0.1], epochs=3, batch_size=8, dropout=0.3, l2_decay=0.0, seed=1)
    first = train_sweep(tiny_arrays(), cfg, torch.device("cpu"), progress=False)
    assert all(run.train_loss[-1] < 0.69 for run in first.runs)  # below chance-level NLL of two classes
    assert max(run.val_acc[-1] for run in first.runs) == 1.0
    second = train_sweep(tiny_arrays(), cfg, torch.device("cpu"), progress=False)
    for a, b in zip(first.runs, second.runs):
        assert a.train_loss == b.train_loss and a.val_acc == b.val_acc and a.test_acc == b.test_acc


def same_run(a, b) -> bool:
    return (a.lr == b.lr and a.train_loss == b.train_loss and a.val_acc == b.val_acc and a.test_acc == b.test_acc
            and a.state_dict.keys() == b.state_dict.keys()
            and all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict))


def test_the_sweep_trains_what_the_plain_autograd_loop_trains():
    # hw2.fashion.reference is the definition (ConvNet, autograd, torch.optim.SGD); the sweep's
    # hand-written step must give the same weights, losses and accuracies from the same draws.
    from hw2.fashion.reference import train_rate_reference

    arrays = tiny_arrays(n=100)  # a short last batch of 4
    for l2 in (0.0, 0.01):
        cfg = RateConfig(lr=0.05, epochs=2, batch_size=8, dropout=0.3, l2_decay=l2, seed=2)
        model, loss, acc = train_rate_reference(arrays, cfg)
        fast = train_rate(arrays, cfg, torch.device("cpu"), progress=False)
        for name, want in model.state_dict().items():
            assert torch.allclose(fast.state_dict[name], want, atol=1e-5, rtol=1e-4), (l2, name)
        assert np.allclose(fast.train_loss, loss, atol=1e-5) and fast.val_acc == acc
        assert loss[-1] < loss[0]  # it did train


def test_a_rate_alone_equals_its_row_of_a_sweep_whatever_runs_beside_it_and_however_many_threads():
    arrays = tiny_arrays(n=96)
    cfg = SweepConfig([0.02, 0.1, 0.05], epochs=2, batch_size=8, dropout=0.3, l2_decay=0.01, seed=4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        alone = train_sweep(arrays, SweepConfig([0.1], 2, 8, 0.3, 0.01, 4), torch.device("cpu"), progress=False).runs[0]
        torch.set_num_threads(1)
        one_by_one = train_sweep(arrays, cfg, torch.device("cpu"), processes=1, progress=False)
    finally:
        torch.set_num_threads(threads)
    side_by_side = train_sweep(arrays, cfg, torch.device("cpu"), processes=2, progress=False)
    assert [run.lr for run in side_by_side.runs] == cfg.lrs
    assert same_run(alone, one_by_one.runs[1]) and same_run(alone, side_by_side.runs[1])
    assert all(same_run(a, b) for a, b in zip(one_by_one.runs, side_by_side.runs))
    assert not same_run(side_by_side.runs[0], side_by_side.runs[1])  # the rates did differ


def test_resume_continues_bit_for_bit(tmp_path):
    ckpt = tmp_path / "resume.pt"
    cfg = RateConfig(0.1, 3, 8, 0.3, 0.0, 1)
    full = train_rate(tiny_arrays(), cfg, torch.device("cpu"), progress=False)
    part = train_rate(tiny_arrays(), replace(cfg, epochs=2), torch.device("cpu"), resume_path=ckpt, progress=False)
    assert part.resumed_from == 0 and ckpt.is_file()
    rest = train_rate(tiny_arrays(), cfg, torch.device("cpu"), resume_path=ckpt, progress=False)
    assert rest.resumed_from == 2 and same_run(full, rest)
    # A checkpoint made with other hyperparameters, or of a longer run, is ignored, not resumed.
    other = train_rate(tiny_arrays(), replace(cfg, dropout=0.2), torch.device("cpu"), resume_path=ckpt, progress=False)
    assert other.resumed_from == 0
    train_rate(tiny_arrays(), cfg, torch.device("cpu"), resume_path=ckpt, progress=False)  # a 3-epoch checkpoint
    shorter = train_rate(tiny_arrays(), replace(cfg, epochs=2), torch.device("cpu"), resume_path=ckpt, progress=False)
    assert shorter.resumed_from == 0 and same_run(shorter, part)


def test_a_sweep_resumes_each_rate_from_its_own_checkpoint(tmp_path):
    cfg = SweepConfig([0.05, 0.1], 2, 8, 0.3, 0.0, 1)
    full = train_sweep(tiny_arrays(), cfg, torch.device("cpu"), progress=False)
    train_rate(tiny_arrays(), RateConfig(0.1, 1, 8, 0.3, 0.0, 1), torch.device("cpu"),
               resume_path=tmp_path / "lr_0_1.pt", progress=False)  # as a sweep killed after lr 0.1's first epoch
    resumed = train_sweep(tiny_arrays(), cfg, torch.device("cpu"), resume_dir=tmp_path, processes=2, progress=False)
    assert [run.resumed_from for run in resumed.runs] == [0, 1]
    assert all(same_run(a, b) for a, b in zip(full.runs, resumed.runs))


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
    net = ConvNet()
    plot_kernels(tmp_path / "conv1.png", net.conv1.weight, "conv1")
    plot_kernels(tmp_path / "conv2.png", net.conv2.weight, "conv2")
    small, big = Image.open(tmp_path / "conv1.png"), Image.open(tmp_path / "conv2.png")
    assert small.format == big.format == "PNG"
    assert big.size[1] > big.size[0] > 300  # 32 rows of 16 kernels: taller than wide
    assert len(np.unique(np.asarray(big.convert("L")))) > 50  # an image, not a blank
    positive = np.asarray(Image.open(tmp_path / "conv1.png").convert("RGB")).astype(int)
    assert ((positive[..., 0] - positive[..., 2]) > 60).any() and ((positive[..., 2] - positive[..., 0]) > 60).any()  # red and blue: signs shown
    from hw2.fashion.equivariance import layer_outputs
    from hw2.fashion.kernels import plot_feature_maps
    x = torch.rand(2, 1, 28, 28)
    maps = layer_outputs(net.eval(), x)
    plot_feature_maps(tmp_path / "maps.png", x[:, 0].numpy(), ["a", "b"],
                      {"conv1": maps["conv1"].numpy(), "conv2": maps["conv2"].numpy()}, "maps")
    with Image.open(tmp_path / "maps.png") as im:
        assert im.width > 1000 and im.height > 400


def test_q2_1_measurements_on_a_convnet():
    from hw2.fashion.equivariance import (accuracy_under_shifts, change_under_one_pixel_shifts,
                                          conv_commutes_with_shifts, shift)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 1, 2] = 1.0
    moved = shift(x, 2, -1)
    assert moved[0, 0, 3, 1] == 1.0 and moved.sum() == 1.0  # moved 2 down, 1 left; zeros come in
    assert shift(x, 0, 5).sum() == 0.0  # shifted out entirely
    torch.manual_seed(0)
    net = ConvNet().eval()
    images = torch.rand(8, 1, 28, 28)
    assert conv_commutes_with_shifts(net, images) < 1e-6
    change = change_under_one_pixel_shifts(net, images)
    assert set(change) == {"conv1", "pool1", "conv2", "pool2"} and all(0 < v < 2 for v in change.values())
    rows = accuracy_under_shifts(net, images, torch.zeros(8, dtype=torch.long), sizes=(0, 1, 8))
    assert [r["shift"] for r in rows] == [0, 1, 8] and rows[0]["agreement"] == 1.0
    # the check can fail: a layer that is not a convolution does not commute with shifts
    class Flip(torch.nn.Module):
        conv1 = torch.nn.Conv2d(1, 1, 3, padding=1)
    flip = Flip()
    flip.conv1.forward = lambda t: torch.nn.functional.conv2d(t.flip(-1), flip.conv1.weight, flip.conv1.bias, padding=1)
    assert conv_commutes_with_shifts(flip, images) > 0.01
