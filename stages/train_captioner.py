"""Stage train_captioner@{vanilla,attention}-<seed>: one caption decoder trained with one seed of
captioning.seeds (a run) on the features and captions."""

import time

from _stage import PATHS, ROOT, WORK, StageLive, device_for, require, run_arguments, stage

from hw2.captioning.decoder_file import save_decoder
from hw2.captioning.encoded import load_encoded
from hw2.captioning.feature_file import load_features
from hw2.captioning.train import CaptionTrainConfig, train_captioner
from hw2.captioning.vocab import END, START, check_same_images, load_vocabulary
from hw2.common.runtime import Kernels
from pipeline.paths import run_name

FEATURES = PATHS.features
VOCAB = PATHS.vocab / "vocab.json"
ENCODED = PATHS.vocab / "captions.npz"


@stage
def main(params):
    kind, seed = run_arguments("train_captioner")
    run = run_name(kind, seed)
    cap = params.captioning
    kernels = Kernels(params.kernels, cap.train.precision, cap.threads).apply()
    device = device_for(cap.train.device, "captioning.train.device")
    cfg = CaptionTrainConfig(
        model=kind, seed=seed, **cap.decoder.model_dump(), **cap.train.model_dump() | {"device": device.type}
    )
    vocab, meta = load_vocabulary(require(VOCAB, "build_vocab"))
    features, names = load_features(require(FEATURES, "extract_features"))
    check_same_images(names, FEATURES, meta, VOCAB)
    data = load_encoded(features, ENCODED)
    print(
        f"{kind}, seed {seed}: {int((data.split == 0).sum()):,} training captions, {cfg.precision} arithmetic on "
        f"{device.type} ({kernels['kernels']} kernels: {kernels['kernel_path']}, {kernels['threads']} threads)",
        flush=True,
    )
    metrics = PATHS.decoder_metrics / f"{run}.json"
    live = StageLive(metrics, PATHS.decoder_series / run)  # the latest epoch's values while it trains

    def report(epoch, loss, bleu, lr):
        live.log(epoch, {"train_loss": loss, "val_bleu4": bleu, "lr": lr})
        print(f"{run} epoch {epoch:2d}: lr {lr:.3g}, loss {loss:.4f}, validation BLEU-4 {bleu:.4f}", flush=True)

    start = time.perf_counter()
    resume = WORK.resume / f"train_captioner_{run}.pt"
    model, hist = train_captioner(
        data, len(vocab), vocab.stoi[START], vocab.stoi[END], vocab.max_length, cfg, resume_path=resume, on_epoch=report
    )
    save_decoder(PATHS.decoder(kind, seed), model, cfg, len(vocab), hist)
    cuts = len(hist.cuts())
    live.rewrite(
        {"train_loss": hist.train_loss, "val_bleu4": hist.val_bleu4, "lr": hist.lr},
        {  # the best epoch's values
            "seed": seed,
            "best_epoch": hist.best_epoch,
            "epochs_run": len(hist.train_loss),
            "lr_cuts": cuts,
            "final_lr": hist.lr[-1],
            "val_bleu4": hist.val_bleu4[hist.best_epoch - 1],
            "train_loss": hist.train_loss[hist.best_epoch - 1],
            "feature_norm": cfg.feature_norm,
            **kernels,
            "device": cfg.device,
        },
        len(hist.train_loss),
    )
    if hist.resumed_from:
        print(f"{run}: resumed after epoch {hist.resumed_from} ({resume.relative_to(ROOT)})")
    resume.unlink(missing_ok=True)
    print(
        f"{run}: best validation BLEU-4 {hist.val_bleu4[hist.best_epoch - 1]:.4f} at epoch {hist.best_epoch} "
        f"of {len(hist.train_loss)}, learning rate cut {cuts} time(s) to {hist.lr[-1]:.3g} "
        f"({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
