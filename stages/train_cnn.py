"""Stage train_cnn: every learning rate in `lr`, each trained on its own; the best one by validation."""

import time

from _stage import PATHS, ROOT, WORK, StageLive, device_for, require, stage

from hw2.common.checkpoint import save_checkpoint
from hw2.common.runtime import Kernels, cpu_budget
from hw2.fashion.data import load_splits
from hw2.fashion.figures import write_sweep_plots
from hw2.fashion.model import ConvNet, count_parameters
from hw2.fashion.train import RateConfig, best_rate, lr_key, train_sweep

DATA = PATHS.fashion_mnist
MODELS = PATHS.cnn_models
RESUME = WORK.resume / "train_cnn"  # one file per rate, outside the outputs: survives a kill
METRICS = PATHS.cnn_metrics
PLOTS = PATHS.cnn_plots


@stage
def main(params):
    settings = Kernels(params.kernels)  # one thread per rate, one process per rate
    kernels = settings.apply()
    lrs, cnn = params.lr, params.cnn
    cfg = RateConfig(
        lr=lrs[0],
        epochs=cnn.epochs,
        batch_size=cnn.batch_size,
        dropout=cnn.dropout,
        l2_decay=cnn.l2_decay,
        seed=cnn.seed,
    )
    device = device_for(cnn.device, "cnn.device")
    cores = cpu_budget()

    arrays = load_splits(require(DATA, "download_fashion_mnist"))
    if cnn.limit:
        arrays = {k: v[: cnn.limit] for k, v in arrays.items()}
    side_by_side = device.type == "cpu" and cores > 1 and len(lrs) > 1
    print(
        f"train_cnn: {len(lrs)} rate(s) {lrs}, {cfg.epochs} epochs, batch {cfg.batch_size}, "
        f"{len(arrays['y_train']):,} training images, {device} ({kernels['kernels']} kernels: "
        f"{kernels['kernel_path']}), {cores} core(s): "
        + ("one single-threaded process per rate, side by side" if side_by_side else "one rate after the other")
    )

    live = StageLive(METRICS, PLOTS / "epochs")  # rates.<lr>.{train_loss,val_acc} after every epoch

    def report(lr, epoch, loss, acc):
        live.log(epoch, {f"rates/{lr_key(lr)}/train_loss": loss, f"rates/{lr_key(lr)}/val_acc": acc})
        print(f"epoch {epoch:2d}/{cfg.epochs}  lr {lr:g}: loss {loss:.4f} val {acc:.4f}", flush=True)

    start = time.perf_counter()
    runs = train_sweep(arrays, cfg, lrs, device, resume_dir=RESUME, processes=cores, on_epoch=report, kernels=settings)
    seconds = time.perf_counter() - start
    for run in runs:
        if run.resumed_from:
            print(f"lr {run.lr:g}: resumed after epoch {run.resumed_from} from {RESUME.relative_to(ROOT)}")

    best = best_rate(runs)
    rates = {}
    for k, run in enumerate(runs):
        ckpt = {
            "state_dict": run.state_dict,
            "lr": run.lr,
            "dropout": cfg.dropout,
            "val_acc": run.val_acc[-1],
            "test_acc": run.test_acc,
            "epochs": cfg.epochs,
        }
        save_checkpoint(MODELS / f"{lr_key(run.lr)}.pt", ckpt)
        if k == best:
            save_checkpoint(MODELS / "best.pt", ckpt)
        rates[lr_key(run.lr)] = {
            "lr": run.lr,
            "val_acc": run.val_acc[-1],
            "test_acc": run.test_acc,
            "train_loss": run.train_loss[-1],
        }
    write_sweep_plots(PLOTS, runs, best)
    top = runs[best]
    live.rewrite(
        {
            f"rates/{lr_key(run.lr)}/{name}": values
            for run in runs
            for name, values in (("train_loss", run.train_loss), ("val_acc", run.val_acc))
        },
        {
            "best_lr": top.lr,
            "best_val_acc": top.val_acc[-1],
            "best_test_acc": top.test_acc,
            "n_params": count_parameters(ConvNet(cfg.dropout)),
            "rates": rates,
            **kernels,
            "device": device.type,
            "images": {"train": len(arrays["y_train"]), "val": len(arrays["y_val"]), "test": len(arrays["y_test"])},
        },
        cfg.epochs,
    )
    for lr in lrs:
        (RESUME / f"{lr_key(lr)}.pt").unlink(missing_ok=True)
    trained = sum(cfg.epochs - run.resumed_from for run in runs) * len(arrays["y_train"])
    print(
        f"best lr {top.lr:g}: validation {top.val_acc[-1]:.4f}, test {top.test_acc:.4f}; "
        f"{len(lrs)} rate(s) x {cfg.epochs} epochs in {seconds:.1f} s"
        + (f" ({trained / seconds:,.0f} training images/s)" if trained else " (every epoch resumed)")
    )


if __name__ == "__main__":
    main()
