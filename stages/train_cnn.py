"""Stage train_cnn: every learning rate in `lr`, trained together; the best one by validation."""
import time

from _stage import ROOT, load_params, stage

from hw2.common.atomic import write_json
from hw2.common.checkpoint import save_checkpoint
from hw2.common.runtime import configure_threads, resolve_device
from hw2.fashion.data import load_splits
from hw2.fashion.figures import write_sweep_plots
from hw2.fashion.model import ConvNet, count_parameters
from hw2.common.params import fraction, non_negative, positive_int
from hw2.fashion.params import learning_rates, lr_key
from hw2.fashion.train import SweepConfig, train_sweep

DATA = ROOT / "data" / "fashion_mnist.npz"
MODELS = ROOT / "models" / "cnn"
RESUME = ROOT / "models" / ".resume" / "train_cnn.pt"  # outside the outputs: survives a killed run
METRICS = ROOT / "metrics" / "cnn.json"
PLOTS = ROOT / "plots" / "cnn"


@stage
def main():
    params = load_params()
    cnn = params["cnn"]
    if cnn.get("optimizer", "sgd") != "sgd":
        raise ValueError(f"params.yaml: cnn.optimizer {cnn['optimizer']!r} is not supported; the homework's is sgd")
    cfg = SweepConfig(
        lrs=learning_rates(params.get("lr")),
        epochs=positive_int(cnn["epochs"], "cnn.epochs"),
        batch_size=positive_int(cnn["batch_size"], "cnn.batch_size"),
        dropout=fraction(cnn["dropout"], "cnn.dropout"),
        l2_decay=non_negative(cnn["l2_decay"], "cnn.l2_decay"),
        seed=positive_int(cnn["seed"], "cnn.seed", minimum=0))
    limit = positive_int(cnn.get("limit", 0), "cnn.limit", minimum=0)
    threads = configure_threads(positive_int(cnn.get("threads", 0), "cnn.threads", minimum=0))
    device = resolve_device(cnn.get("device", "auto"))

    arrays = load_splits(DATA)
    if limit:
        arrays = {k: v[:limit] for k, v in arrays.items()}
    print(f"train_cnn: {len(cfg.lrs)} rate(s) {cfg.lrs}, {cfg.epochs} epochs, batch {cfg.batch_size}, "
          f"{len(arrays['y_train']):,} training images, {device} ({threads} threads)")

    def report(epoch, losses, accs):
        cells = ", ".join(f"lr {lr:g}: loss {lo:.4f} val {a:.4f}" for lr, lo, a in zip(cfg.lrs, losses, accs))
        print(f"epoch {epoch:2d}/{cfg.epochs}  {cells}", flush=True)

    start = time.perf_counter()
    result = train_sweep(arrays, cfg, device, resume_path=RESUME, on_epoch=report)
    seconds = time.perf_counter() - start
    if result.resumed_from:
        print(f"resumed after epoch {result.resumed_from} from {RESUME.relative_to(ROOT)}")

    best, final_val = result.best(), result.val_acc[-1]
    rates = {}
    for k, lr in enumerate(cfg.lrs):
        ckpt = {"state_dict": result.state_dicts[k], "lr": lr, "dropout": cfg.dropout,
                "val_acc": final_val[k], "test_acc": result.test_acc[k], "epochs": cfg.epochs}
        save_checkpoint(MODELS / f"{lr_key(lr)}.pt", ckpt)
        if k == best:
            save_checkpoint(MODELS / "best.pt", ckpt)
        rates[lr_key(lr)] = {"lr": lr, "val_acc": final_val[k], "test_acc": result.test_acc[k],
                             "train_loss": result.train_loss[-1][k]}
    write_sweep_plots(PLOTS, cfg.lrs, result, best)
    lr_best = cfg.lrs[best]
    write_json(METRICS, {
        "best_lr": lr_best, "best_val_acc": final_val[best], "best_test_acc": result.test_acc[best],
        "n_params": count_parameters(ConvNet()), "rates": rates,
        "images": {"train": len(arrays["y_train"]), "val": len(arrays["y_val"]), "test": len(arrays["y_test"])}})
    RESUME.unlink(missing_ok=True)
    images = len(arrays["y_train"]) * cfg.epochs * len(cfg.lrs)
    print(f"best lr {lr_best:g}: validation {final_val[best]:.4f}, test {result.test_acc[best]:.4f}; "
          f"{len(cfg.lrs)} rate(s) x {cfg.epochs} epochs in {seconds:.1f} s ({images / seconds:,.0f} training images/s)")


if __name__ == "__main__":
    main()
