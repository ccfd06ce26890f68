"""Benchmark: the learning-rate sweep the homework skeleton's way, the previous pipeline's way and
the pipeline's way.

All three train the same ConvNet with the same hyperparameters (params.yaml: lr, cnn) on the same
data (data/fashion_mnist.npz, made by `dvc repro download_fashion_mnist`), each in its own
process, one after the other, on this machine:

  baseline  the skeleton: a DataLoader over the training tensors at batch 8 (each batch moved
            to the device), one model per rate, eager PyTorch autograd + torch.optim.SGD,
            full-batch evaluation, torch's default threads
  stacked   the pipeline until 2026-11: every rate stacked into one model (grouped convolution,
            batched matrix products) and trained by the hand-written SGD step in one process on
            every core; a rate's arithmetic then depended on the other rates and the thread count
  pipeline  hw2.fashion.train.train_sweep, what `dvc repro train_cnn` runs: the same hand-written
            step, one single-threaded process per rate, side by side (a rate's numbers are the
            same whatever runs beside it)

  python bench/cnn_sweep.py                 # the full default sweep (about 25 minutes on 2 cores)
  python bench/cnn_sweep.py --epochs 1      # a quick look
  python bench/cnn_sweep.py --only stacked pipeline

Writes bench/results/cnn_sweep.json (machine, command, wall times, ratios, images/s, accuracies).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from _machine import cpu_name  # noqa: E402


def run_baseline(arrays, lrs, cnn, epochs):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from hw2.common.runtime import resolve_device
    from hw2.fashion.model import ConvNet

    device = resolve_device(cnn.get("device", "auto"))

    def train_batch(X, y, model, optimizer, criterion):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(X.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        return loss.item()

    def evaluate(model, X, y):
        model.eval()
        with torch.no_grad():
            return (model(X).argmax(-1) == y).float().mean().item()

    to_x = lambda a: torch.from_numpy(a).unsqueeze(1).float() / 255  # noqa: E731
    x_train, y_train = to_x(arrays["x_train"]), torch.from_numpy(arrays["y_train"])
    x_val, y_val = to_x(arrays["x_val"]).to(device), torch.from_numpy(arrays["y_val"]).to(device)
    x_test, y_test = to_x(arrays["x_test"]).to(device), torch.from_numpy(arrays["y_test"]).to(device)
    results = {}
    for lr in lrs:
        torch.manual_seed(cnn["seed"])
        model = ConvNet(cnn["dropout"]).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=cnn["l2_decay"])
        criterion = torch.nn.NLLLoss()
        loader = DataLoader(TensorDataset(x_train, y_train), batch_size=cnn["batch_size"], shuffle=True)
        val_acc = []
        for _ in range(epochs):
            losses = [train_batch(X, y, model, optimizer, criterion) for X, y in loader]
            val_acc.append(evaluate(model, x_val, y_val))
            print(f"baseline lr {lr:g} epoch {len(val_acc)}: loss {sum(losses) / len(losses):.4f} val {val_acc[-1]:.4f}",
                  flush=True)
        results[f"{lr:g}"] = {"val_acc": val_acc[-1], "test_acc": evaluate(model, x_test, y_test)}
    return results


def run_stacked(arrays, lrs, cnn, epochs):
    """The previous pipeline's sweep: the rates stacked into one computation, all threads."""
    import math

    import torch

    from hw2.common.runtime import configure_threads, resolve_device
    from hw2.common.seeding import generator
    from hw2.fashion.model import ConvNet
    from hw2.fashion.stacked import StackedConvNets
    from hw2.fashion.train import accuracy

    configure_threads()
    device = resolve_device(cnn.get("device", "auto"))
    x_train, y_train = torch.from_numpy(arrays["x_train"]).to(device), torch.from_numpy(arrays["y_train"]).to(device)
    x_train = x_train.unsqueeze(1).float().div_(255)
    x_val, y_val = torch.from_numpy(arrays["x_val"]).to(device), torch.from_numpy(arrays["y_val"]).to(device)
    n, m, batch = len(x_train), len(lrs), cnn["batch_size"]
    torch.manual_seed(cnn["seed"])
    models = StackedConvNets.replicate(ConvNet(cnn["dropout"]), m, device)
    shuffle_gen, dropout_gen = generator(cnn["seed"], "cpu"), generator(cnn["seed"] + 1, device)
    lr = torch.tensor(lrs, dtype=torch.float32, device=device)
    steps, keep = math.ceil(n / batch), 1.0 - cnn["dropout"]
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=shuffle_gen).to(device)
        xs, ys = x_train[perm], y_train[perm]
        masks = torch.empty(steps, batch, 600, device=device).bernoulli_(keep, generator=dropout_gen).div_(keep)
        for s in range(steps):
            lo, hi = s * batch, min(n, (s + 1) * batch)
            models.sgd_step(xs[lo:hi], ys[lo:hi], masks[s, :hi - lo], lr, cnn["l2_decay"])
        val = accuracy(models, x_val, y_val)
        print(f"stacked epoch {epoch + 1}: val {val}", flush=True)
    test = accuracy(models, torch.from_numpy(arrays["x_test"]).to(device), torch.from_numpy(arrays["y_test"]).to(device))
    return {f"{lr:g}": {"val_acc": val[k], "test_acc": test[k]} for k, lr in enumerate(lrs)}


def run_pipeline(arrays, lrs, cnn, epochs):
    from hw2.common.runtime import cpu_budget, resolve_device
    from hw2.fashion.train import SweepConfig, train_sweep

    cfg = SweepConfig(lrs=lrs, epochs=epochs, batch_size=cnn["batch_size"], dropout=cnn["dropout"],
                      l2_decay=cnn["l2_decay"], seed=cnn["seed"])
    res = train_sweep(arrays, cfg, resolve_device(cnn.get("device", "auto")), processes=cpu_budget(), progress=False,
                      on_epoch=lambda lr, e, lo, a: print(f"pipeline lr {lr:g} epoch {e}: val {a}", flush=True))
    return {f"{run.lr:g}": {"val_acc": run.val_acc[-1], "test_acc": run.test_acc} for run in res.runs}


RUNS = {"baseline": run_baseline, "stacked": run_stacked, "pipeline": run_pipeline}


def worker(impl: str, epochs: int, limit: int) -> dict:
    import torch
    import yaml

    from hw2.common.runtime import cpu_budget, resolve_device
    from hw2.fashion.data import load_splits

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    cnn, lrs = params["cnn"], [float(v) for v in (params["lr"] if isinstance(params["lr"], list) else [params["lr"]])]
    arrays = load_splits(ROOT / "data" / "fashion_mnist.npz")
    if limit:
        arrays = {k: v[:limit] for k, v in arrays.items()}
    start = time.perf_counter()
    acc = RUNS[impl](arrays, lrs, cnn, epochs)
    seconds = time.perf_counter() - start
    images = len(arrays["y_train"]) * epochs * len(lrs)
    threads = {"baseline": torch.get_num_threads(), "stacked": cpu_budget(), "pipeline": 1}[impl]
    return {"seconds": round(seconds, 2), "train_images_per_s": round(images / seconds, 1),
            "threads_per_process": threads, "device": str(resolve_device(cnn.get("device", "auto"))), "accuracy": acc}


def machine() -> dict:
    import torch
    info = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "os": platform.platform()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, help="epochs per rate (default: params.yaml cnn.epochs)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images of each split")
    ap.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS), help="run only these")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cnn_sweep.json")
    ap.add_argument("--worker", choices=list(RUNS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epochs is None:
        import yaml
        args.epochs = yaml.safe_load((ROOT / "params.yaml").read_text())["cnn"]["epochs"]
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.epochs, args.limit)), flush=True)
        return

    runs = {}
    for impl in args.only:
        cmd = [sys.executable, __file__, "--worker", impl, "--epochs", str(args.epochs), "--limit", str(args.limit)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            sys.exit(f"{impl} failed:\n{proc.stderr[-3000:]}")
        runs[impl] = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
        print(f"{impl}: {runs[impl]['seconds']:.1f} s, {runs[impl]['train_images_per_s']:,.0f} training images/s",
              flush=True)
    result = {
        "machine": machine(),
        "command": "python bench/cnn_sweep.py" + (f" --epochs {args.epochs}" if args.epochs else "")
                   + (f" --limit {args.limit}" if args.limit else "")
                   + (f" --only {' '.join(args.only)}" if args.only != list(RUNS) else ""),
        "epochs": args.epochs, "limit": args.limit, **runs,
        "speedup": {f"{slow}/{fast}": round(runs[slow]["seconds"] / runs[fast]["seconds"], 2)
                    for slow, fast in (("baseline", "pipeline"), ("stacked", "pipeline"), ("baseline", "stacked"))
                    if slow in runs and fast in runs},
        "accuracy_difference_points": {
            f"pipeline-{other}": {lr: {k: round(100 * (runs["pipeline"]["accuracy"][lr][k] - runs[other]["accuracy"][lr][k]), 2)
                                       for k in ("val_acc", "test_acc")} for lr in runs["pipeline"]["accuracy"]}
            for other in ("baseline", "stacked") if other in runs and "pipeline" in runs},
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"speed-ups {result['speedup']}; accuracy differences (points): {result['accuracy_difference_points']} "
          f"→ {args.out}")


if __name__ == "__main__":
    main()
