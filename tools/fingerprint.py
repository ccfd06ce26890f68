"""The pipeline's arithmetic in miniature, one digest per numeric path: the same digests on two
machines mean that a run of the pipeline gives the same bytes on both.

    python tools/fingerprint.py            # the digests, with this CPU's name and kernels
    python tools/fingerprint.py --check    # compare with tools/fingerprint.json; exit 1 naming what differs
    python tools/fingerprint.py --record   # add this CPU's digests to bench/results/fingerprints.json
    qemu-x86_64 -cpu EPYC-Milan-v1 .venv/bin/python tools/fingerprint.py --check   # an emulated AMD EPYC

Each path runs the library's own code on small fixed inputs, in the kernels and threads the stages
use (hw2.common.runtime.Kernels; float32 unless --kernels native): the synthetic images (NumPy,
Pillow), the CNN's SGD steps (one thread), Q2.1's shift measurements, ResNet-18 features as
extract_features computes and stores them (a batch of captioning.encoder.batch_size images, at 64
pixels so that an emulated CPU runs it in seconds) and as tools/caption.py computes them (one image
at 224 pixels), both decoders' training steps with their validation, greedy and beam decoding, the
caption scores, Q1.3's float64 checks and figures as the stages draw them. A digest is SHA-256 of
the results' bytes (tensors as stored, numbers as their repr). The CPU is named by its CPUID
instruction, so an emulated one is named as such (hw2.common.cpu). Sized for emulation: about 3 s
natively, a minute or two under qemu-x86_64 (tests/test_fingerprint.py runs it there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tools" / "fingerprint.json"
MACHINES = ROOT / "bench" / "results" / "fingerprints.json"
THREADS = 2  # params.yaml's captioning.threads as committed (the CNN's and Q1's paths run on one, as their stages do)
ENCODER_BATCH = 32  # params.yaml's captioning.encoder.batch_size as committed
FEATURE_NORM = True  # params.yaml's captioning.decoder.feature_norm as committed: the decoders that decode below


def digest(*values) -> str:
    """SHA-256 of tensors' and arrays' bytes (with their shapes and types) and other values' repr."""
    import numpy as np
    import torch

    h = hashlib.sha256()
    for v in values:
        if isinstance(v, dict):
            v = [v[k] for k in sorted(v)]
        for item in v if isinstance(v, (list, tuple)) else [v]:
            if isinstance(item, torch.Tensor):
                item = item.detach().cpu().contiguous().numpy()
            if isinstance(item, np.ndarray):
                h.update(f"{item.dtype}{item.shape}".encode())
                h.update(np.ascontiguousarray(item).tobytes())
            else:
                h.update(repr(item).encode())
    return h.hexdigest()[:16]


def cpu() -> dict:
    """This CPU as CPUID names it (an emulated CPU as the emulator's model), with the flags that
    decide the kernels."""
    from hw2.common.cpu import this_cpu

    here = this_cpu()
    return {"name": here.name, "flags": list(here.flags)}


def paths(work: Path, only: set[str] | None = None) -> tuple[dict[str, str], dict[str, float]]:
    """Every numeric path of the pipeline in miniature (those named in ``only``, when given, and
    what they need): name → digest, and name → seconds."""
    import numpy as np
    import torch

    from hw2.captioning.decoding import beam_search, greedy_decode
    from hw2.captioning.encoded import CaptionData
    from hw2.captioning.feature_file import load_features
    from hw2.captioning.features import build_encoder, encode_files, extract_features
    from hw2.captioning.scoring import Scorer
    from hw2.captioning.synthetic import generate
    from hw2.captioning.train import CaptionTrainConfig, train_captioner
    from hw2.captioning.unzip import extract_images
    from hw2.common.runtime import threads
    from hw2.fashion.equivariance import accuracy_under_shifts, change_under_one_pixel_shifts, conv_commutes_with_shifts
    from hw2.fashion.model import ConvNet
    from hw2.fashion.train import RateConfig, train_rate
    from hw2.theory import attention_checks

    out, seconds = {}, {}
    clock = [time.perf_counter()]

    def wanted(*names: str) -> bool:
        return only is None or any(n in only for n in names)

    def done(name: str, value: str) -> None:
        out[name] = value
        seconds[name] = round(time.perf_counter() - clock[0], 2)
        clock[0] = time.perf_counter()

    # the synthetic set: scenes drawn with NumPy and Pillow (standard and hard)
    info = generate(work / "set", n=ENCODER_BATCH, seed=0)
    listed = json.loads((work / "set" / "dataset.json").read_text())["images"]
    names = [im["filename"] for im in listed]
    if wanted("synthetic images"):
        generate(work / "hard", n=9, seed=0, hard=True)
        done(
            "synthetic images",
            digest(
                [(work / d / "images.zip").read_bytes() for d in ("set", "hard")],
                (work / "set" / "dataset.json").read_text(),
                info,
            ),
        )
    # the CNN: a rate's SGD steps (dropout, weight decay, a short last batch), its evaluation
    if wanted("cnn training", "equivariance", "figures"):
        rng = np.random.default_rng(0)
        arrays = {
            f"{x}_{s}": (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if x == "x" else rng.integers(0, 10, n))
            for s, n in (("train", 100), ("val", 40), ("test", 40))
            for x in ("x", "y")
        }
        with threads(1):  # as the CNN's stages run
            run = train_rate(
                arrays, RateConfig(lr=0.05, epochs=2, batch_size=8, dropout=0.3, l2_decay=0.01, seed=3), progress=False
            )
            done("cnn training", digest(run.state_dict, run.train_loss, run.val_acc, run.test_acc))
            model = ConvNet(0.3)
            model.load_state_dict(run.state_dict)
            x = torch.from_numpy(arrays["x_test"]).unsqueeze(1).float() / 255
            done(
                "equivariance",
                digest(
                    conv_commutes_with_shifts(model.eval(), x),
                    change_under_one_pixel_shifts(model, x),
                    accuracy_under_shifts(model, x, torch.from_numpy(arrays["y_test"]), sizes=(0, 1, 4)),
                ),
            )
    # ResNet-18 features: a batch as extract_features computes and stores them (HDF5, float16), and
    # one image at the pipeline's size as tools/caption.py computes them
    extract_images(work / "set" / "images.zip", work / "images", names)
    if wanted("resnet-18 features, a batch", "resnet-18 features, one image"):
        encoder = build_encoder("none")
        if wanted("resnet-18 features, a batch"):
            extract_features(
                work / "images",
                names,
                [im["split"] for im in listed],
                work / "features.h5",
                encoder,
                image_size=64,
                batch_size=ENCODER_BATCH,
                dtype="float16",
                progress=False,
            )
            done("resnet-18 features, a batch", digest(load_features(work / "features.h5")[0]))
        if wanted("resnet-18 features, one image"):
            done(
                "resnet-18 features, one image",
                digest(encode_files(encoder, [work / "images" / names[0]], 224, dtype="float16")),
            )
    # both decoders, with and without LayerNorm on the features (captioning.decoder.feature_norm):
    # training steps (teacher forcing, fused Adam, clipping, the schedule) and each epoch's
    # validation BLEU-4 of greedy captions, on fixed data; then decoding by those of the committed params
    training = {
        f"{kind} decoder training" + (", feature_norm" if norm else ""): (kind, norm)
        for kind in ("vanilla", "attention")
        for norm in (False, True)
    }
    if wanted(*training, "greedy decoding", "beam search", "figures"):
        g = torch.Generator().manual_seed(0)
        images, captions, vocab = 12, 36, 30
        lengths = torch.randint(4, 12, (captions,), generator=g)
        tokens = torch.randint(4, vocab, (captions, 12), generator=g)
        tokens[:, 0] = 1
        tokens[torch.arange(captions), lengths - 1] = 2
        tokens[torch.arange(12)[None] >= lengths[:, None]] = 0
        data = CaptionData(
            torch.randn(images, 49, 512, generator=g).relu().half(),
            tokens,
            lengths,
            torch.arange(captions) % images,
            (torch.arange(captions) % images >= 8).long(),
        )
        models = {}
        for name, (kind, norm) in training.items():
            cfg = CaptionTrainConfig(
                model=kind,
                embed_dim=32,
                decoder_dim=48,
                attention_dim=24,
                dropout=0.5,
                feature_norm=norm,
                lr=3e-3,
                batch_size=8,
                epochs=3,
                smooth=1,
                patience=10,
                lr_decay=0.5,
                lr_patience=1,
                grad_clip=5.0,
                alpha_c=1.0,
                seed=0,
                precision="float32",
                device="cpu",
            )
            decoder, hist = train_captioner(data, vocab, 1, 2, 10, cfg, progress=False)
            done(name, digest(decoder.state_dict(), hist.train_loss, hist.val_bleu4, hist.lr))
            if norm == FEATURE_NORM:
                models[kind] = decoder
        feats = data.features[8:].float()
        words, alphas = greedy_decode(models["attention"], feats, 1, 2, 10)
        done("greedy decoding", digest(words, alphas, greedy_decode(models["vanilla"], feats, 1, 2, 10)[0]))
        beams = [
            beam_search(models[kind], f, 1, 2, 10, 3, penalty) for kind in models for f in feats for penalty in (0, 1)
        ]
        done("beam search", digest([torch.tensor(ids) for ids, _ in beams], [a for _, a in beams if a is not None]))
    # figures as the stages draw them (matplotlib, Agg, Pillow's resampling): conv1's kernels, an
    # attention figure, training curves
    if wanted("figures"):
        from hw2.captioning.curves import training_curves
        from hw2.captioning.figures import captioned_image
        from hw2.fashion.kernels import plot_kernels

        plot_kernels(work / "conv1.png", model.conv1.weight.detach(), "conv1")
        steps = [f"w{int(t)}" for t in words[0]]
        captioned_image(
            work / "attention.png", work / "images" / names[0], steps, alphas[0, : len(steps)].numpy(), "attention"
        )
        training_curves(
            work / "curves.png",
            {
                "vanilla": {
                    "epoch": [1, 2, 3],
                    "train_loss": [2.0, 1.5, 1.2],
                    "val_bleu4": [0.1, 0.2, 0.25],
                    "best_epoch": 3,
                    "lr": [3e-3, 3e-3, 1.5e-3],
                }
            },
        )
        done("figures", digest([(work / f"{n}.png").read_bytes() for n in ("conv1", "attention", "curves")]))
    # the scores of captions (nltk BLEU, coco-caption's ROUGE-L and CIDEr; METEOR is Java's)
    if wanted("caption scores"):
        refs = [[s["tokens"] for s in im["sentences"][1:]] for im in listed]
        hyps = [im["sentences"][0]["tokens"][::2] for im in listed]  # half of each image's first caption
        with Scorer(meteor=False) as scorer:
            done("caption scores", digest(scorer.score(hyps, refs)))
    if wanted("theory (float64)"):
        with threads(1):
            done("theory (float64)", digest(attention_checks()))
    return ({k: v for k, v in out.items() if wanted(k)}, {k: v for k, v in seconds.items() if wanted(k)})


def compare(got: dict, machine: dict, expected: dict, source: str) -> str | None:
    """None when ``got`` (this machine's digests) equals ``expected``'s (those it has), else one
    line naming the paths that differ and both CPUs."""
    differ = [name for name, value in expected["digests"].items() if name in got and got[name] != value]
    if not differ:
        return None
    theirs = expected["machine"]
    return (
        f"on {machine['name']} ({', '.join(machine['flags']) or 'no AVX2'}) these paths compute other bytes than on "
        f"{theirs['name']} ({', '.join(theirs['flags']) or 'no AVX2'}), where {source} was made: {', '.join(differ)}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help=f"compare with {EXPECTED.relative_to(ROOT)}")
    ap.add_argument("--expected", type=Path, default=EXPECTED, help="compare with this file instead")
    ap.add_argument("--record", action="store_true", help=f"add this machine to {MACHINES.relative_to(ROOT)}")
    ap.add_argument(
        "--expect",
        action="store_true",
        help=f"write this machine's digests to {EXPECTED.relative_to(ROOT)} (for its kernel path)",
    )
    ap.add_argument("--only", nargs="+", metavar="PATH", help="only these paths (their names as printed)")
    ap.add_argument(
        "--kernels",
        choices=("portable", "native"),
        default="portable",
        help="the kernels to compute in (default portable, as params.yaml's kernels)",
    )
    ap.add_argument(
        "--no-avx2",
        action="store_true",
        help="compute in the portable kernels of CPUs without AVX2, whatever this CPU has",
    )
    ap.add_argument("--json", action="store_true", help="also print the digests as one line of JSON")
    args = ap.parse_args(argv)

    from hw2.common.runtime import Kernels

    kernels = Kernels(
        args.kernels, threads=THREADS, avx2=False if args.no_avx2 else None
    ).apply()  # before any tensor operation: the stages' float32 kernels
    import torch

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        got, seconds = paths(Path(tmp), set(args.only) if args.only else None)
    machine = cpu()
    path = kernels["kernel_path"] if kernels["kernels"] == "portable" else f"native: {kernels['kernel_path']}"
    print(
        f"{machine['name']} ({', '.join(machine['flags']) or 'no AVX2'}); torch {torch.__version__}; "
        f"{kernels['kernels']} kernels: {kernels['kernel_path']}, {kernels['threads']} threads; "
        f"{time.perf_counter() - start:.1f} s"
    )
    for name, value in got.items():
        print(f"  {name:40s} {value}  ({seconds[name]:.1f} s)")
    if args.expect:
        known = json.loads(args.expected.read_text()) if args.expected.is_file() else {}
        known[path] = {"machine": machine, "digests": got}
        args.expected.write_text(json.dumps(known, indent=2) + "\n")
    if args.record:
        import fcntl

        with open(MACHINES.with_suffix(".lock"), "w") as lock:  # several emulated CPUs may record at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            known = json.loads(MACHINES.read_text()) if MACHINES.is_file() else {}
            known[f"{machine['name']} ({', '.join(machine['flags']) or 'no AVX2'}); {path}"] = {
                "digests": got,
                "torch": torch.__version__,
                "date": time.strftime("%Y-%m-%d"),
            }
            MACHINES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    if args.check:
        expected = json.loads(args.expected.read_text()).get(path)
        if expected is None:
            print(f"error: {args.expected.name} has no digests for the kernel path {path!r}", file=sys.stderr)
            return 1
        problem = compare(got, machine, expected, args.expected.name)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        print(f"every digest as in {args.expected.name}")
    if args.json:
        print("JSON " + json.dumps({"machine": machine, "kernel_path": path, "digests": got}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
