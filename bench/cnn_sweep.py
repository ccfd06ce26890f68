"""Benchmark: the learning-rate sweep the homework skeleton's way and the pipeline's way (and, with
``--rev``, the pipeline's way as another git revision had it).

Each trains the same ConvNet with the same hyperparameters (params.yaml: lr, cnn) on the same data
(data/fashion_mnist.npz, made by `dvc repro download_fashion_mnist`), in a process of its own, one
after the other, on this machine:

  skeleton   the homework skeleton: a DataLoader over the training tensors at batch 8 (each batch
             moved to the device), one model per rate, autograd + torch.optim.SGD, full-batch
             evaluation, torch's default threads
  pipeline   hw2.fashion.train.train_sweep, what `dvc repro train_cnn` runs: the plain loop
             (ConvNet, autograd, torch.optim.SGD) over tensors in memory, one single-threaded
             process per rate, side by side
  pipeline@REV   (--rev REV) the pipeline of git revision REV, run by that revision's own copy of
             this script from bench/.work/: the same harness, other training code

  python bench/cnn_sweep.py                          # the full default sweep, skeleton and pipeline
  python bench/cnn_sweep.py --only pipeline --rev 8e84ed3   # the pipeline against an older one
  python bench/cnn_sweep.py --epochs 1               # a quick look

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

from _machine import cpu_name, params, run_revision  # noqa: E402


def run_skeleton(arrays, lrs, cnn, epochs, kernels):  # kernels: applied here already (one process)
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
            print(
                f"skeleton lr {lr:g} epoch {len(val_acc)}: loss {sum(losses) / len(losses):.4f} val {val_acc[-1]:.4f}",
                flush=True,
            )
        results[f"{lr:g}"] = {"val_acc": val_acc[-1], "test_acc": evaluate(model, x_test, y_test)}
    return results


def run_pipeline(arrays, lrs, cnn, epochs, kernels):
    from hw2.common.runtime import cpu_budget, resolve_device
    from hw2.fashion.train import RateConfig, train_sweep

    cfg = RateConfig(lrs[0], epochs, cnn["batch_size"], cnn["dropout"], cnn["l2_decay"], cnn["seed"])
    runs = train_sweep(
        arrays,
        cfg,
        lrs,
        resolve_device(cnn.get("device", "auto")),
        processes=cpu_budget(),
        progress=False,
        on_epoch=lambda lr, e, lo, a: print(f"pipeline lr {lr:g} epoch {e}: val {a}", flush=True),
        kernels=kernels,
    )
    return {f"{run.lr:g}": {"val_acc": run.val_acc[-1], "test_acc": run.test_acc} for run in runs}


RUNS = {"skeleton": run_skeleton, "pipeline": run_pipeline}


def worker(impl: str, epochs: int, limit: int) -> dict:
    import torch

    from hw2.common.runtime import Kernels, resolve_device
    from hw2.fashion.data import load_splits

    settings = Kernels(params()["kernels"], threads=torch.get_num_threads())  # the pipeline's, every run alike
    kernels = settings.apply()
    values = params()
    cnn, lrs = values["cnn"], values["lr"]
    arrays = load_splits(ROOT / "data" / "fashion_mnist.npz")
    if limit:
        arrays = {k: v[:limit] for k, v in arrays.items()}
    start = time.perf_counter()
    acc = RUNS[impl](arrays, lrs, cnn, epochs, settings)
    seconds = time.perf_counter() - start
    images = len(arrays["y_train"]) * epochs * len(lrs)
    threads = {"skeleton": torch.get_num_threads(), "pipeline": 1}[impl]
    return {
        "seconds": round(seconds, 2),
        "train_images_per_s": round(images / seconds, 1),
        "threads_per_process": threads,
        "kernels": kernels["kernels"],
        "device": str(resolve_device(cnn.get("device", "auto"))),
        "accuracy": acc,
    }


def machine() -> dict:
    import torch

    info = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "os": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def result_of(proc: subprocess.CompletedProcess, name: str) -> dict:
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, help="epochs per rate (default: params.yaml cnn.epochs)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images of each split")
    ap.add_argument("--only", nargs="+", choices=list(RUNS), default=list(RUNS), help="run only these")
    ap.add_argument("--rev", nargs="*", default=[], help="also the pipeline of these git revisions")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cnn_sweep.json")
    ap.add_argument("--worker", choices=list(RUNS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epochs is None:
        args.epochs = params()["cnn"]["epochs"]
    common = ["--epochs", str(args.epochs), "--limit", str(args.limit)]
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.epochs, args.limit)), flush=True)
        return

    runs = {}
    for impl in args.only + [f"pipeline@{rev}" for rev in args.rev]:
        if "@" in impl:
            proc = run_revision(impl.split("@")[1], "cnn_sweep.py", "--worker", "pipeline", *common)
        else:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", impl, *common], capture_output=True, text=True, cwd=ROOT
            )
        runs[impl] = result_of(proc, impl)
        print(
            f"{impl}: {runs[impl]['seconds']:.1f} s, {runs[impl]['train_images_per_s']:,.0f} training images/s",
            flush=True,
        )
    others = [name for name in runs if name != "pipeline"]
    result = {
        "machine": machine(),
        "command": " ".join(["python bench/cnn_sweep.py", *sys.argv[1:]]),
        "epochs": args.epochs,
        "limit": args.limit,
        **runs,
        "seconds_over_pipeline": {
            name: round(runs[name]["seconds"] / runs["pipeline"]["seconds"], 2) for name in others if "pipeline" in runs
        },
        "accuracy_difference_points": {
            f"pipeline-{other}": {
                lr: {
                    k: round(100 * (runs["pipeline"]["accuracy"][lr][k] - runs[other]["accuracy"][lr][k]), 2)
                    for k in ("val_acc", "test_acc")
                }
                for lr in runs["pipeline"]["accuracy"]
            }
            for other in others
            if "pipeline" in runs
        },
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"time over the pipeline's {result['seconds_over_pipeline']}; accuracy differences (points): "
        f"{result['accuracy_difference_points']} → {args.out}"
    )


if __name__ == "__main__":
    main()
