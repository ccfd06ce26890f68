"""The pipeline's arithmetic in miniature, one digest per numeric path: the same digests on two
machines mean that a run of the pipeline gives the same bytes on both.

    python tools/fingerprint.py            # the digests, with this machine's CPU and kernels
    python tools/fingerprint.py --check    # compare with tools/fingerprint.json; exit 1 naming what differs
    python tools/fingerprint.py --record   # add this machine's digests to bench/results/fingerprints.json

Each path runs the library's own code on small fixed inputs, in the kernels and threads the stages
use (hw2.common.runtime.use_kernels, float32): the synthetic images (NumPy, Pillow), the CNN's
SGD steps, Q2.1's shift measurements, ResNet-18 features, both decoders' training steps, greedy and
beam decoding, the caption scores and Q1.3's float64 checks. A digest is SHA-256 of the results'
bytes (tensors as stored, numbers as their repr).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tools" / "fingerprint.json"
MACHINES = ROOT / "bench" / "results" / "fingerprints.json"
FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16")
THREADS = 2  # params.yaml's captioning.threads as committed (the CNN's paths run on one, as its stages do)


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
    from hw2.common.runtime import cpu_flags

    name = platform.processor() or platform.machine()
    try:
        name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    flags = cpu_flags()
    return {"name": name, "flags": [f for f in FLAGS if f in flags]}


def paths(work: Path) -> dict[str, str]:
    """Every numeric path of the pipeline in miniature: name → digest."""
    import numpy as np
    import torch

    from hw2.captioning.decoding import beam_search, greedy_decode
    from hw2.captioning.encoded import CaptionData
    from hw2.captioning.features import build_encoder, encode_files
    from hw2.captioning.scoring import Scorer
    from hw2.captioning.synthetic import generate
    from hw2.captioning.train import CaptionTrainConfig, train_captioner
    from hw2.captioning.unzip import extract_images
    from hw2.fashion.equivariance import accuracy_under_shifts, change_under_one_pixel_shifts, conv_commutes_with_shifts
    from hw2.fashion.model import ConvNet
    from hw2.common.runtime import threads
    from hw2.fashion.train import RateConfig, train_rate
    from hw2.theory import attention_checks

    out = {}
    # the synthetic set: scenes drawn with NumPy and Pillow (standard and hard)
    info = generate(work / "set", n=9, seed=0)
    generate(work / "hard", n=9, seed=0, hard=True)
    out["synthetic images"] = digest([(work / d / "images.zip").read_bytes() for d in ("set", "hard")],
                                     (work / "set" / "dataset.json").read_text(), info)
    # the CNN: a rate's SGD steps (dropout, weight decay, a short last batch), its evaluation
    rng = np.random.default_rng(0)
    arrays = {f"{x}_{s}": (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if x == "x" else rng.integers(0, 10, n))
              for s, n in (("train", 100), ("val", 40), ("test", 40)) for x in ("x", "y")}
    with threads(1):  # as the CNN's stages run
        run = train_rate(arrays, RateConfig(lr=0.05, epochs=2, batch_size=8, dropout=0.3, l2_decay=0.01, seed=3),
                         progress=False)
        out["cnn training"] = digest(run.state_dict, run.train_loss, run.val_acc, run.test_acc)
        model = ConvNet(0.3)
        model.load_state_dict(run.state_dict)
        x = torch.from_numpy(arrays["x_test"]).unsqueeze(1).float() / 255
        out["equivariance"] = digest(conv_commutes_with_shifts(model.eval(), x), change_under_one_pixel_shifts(model, x),
                                     accuracy_under_shifts(model, x, torch.from_numpy(arrays["y_test"]), sizes=(0, 1, 4)))
    # ResNet-18 features of three synthetic images, as extract_features computes and stores them
    names = [f"{k}.tif" for k in (1, 2, 3)]
    extract_images(work / "set" / "images.zip", work / "images", names)
    feats = encode_files(build_encoder("none"), [work / "images" / n for n in names], 224, dtype="float32")
    out["resnet-18 features"] = digest(feats, feats.half())
    # both decoders: training steps (teacher forcing, Adam, clipping, the schedule) on fixed data
    g = torch.Generator().manual_seed(0)
    images, captions, vocab = 12, 36, 30
    lengths = torch.randint(4, 12, (captions,), generator=g)
    tokens = torch.randint(4, vocab, (captions, 12), generator=g)
    tokens[:, 0] = 1
    tokens[torch.arange(captions), lengths - 1] = 2
    tokens[torch.arange(12)[None] >= lengths[:, None]] = 0
    data = CaptionData(torch.randn(images, 49, 512, generator=g).relu().half(), tokens, lengths,
                       torch.arange(captions) % images, (torch.arange(captions) % images >= 8).long())
    models = {}
    for kind in ("vanilla", "attention"):
        cfg = CaptionTrainConfig(model=kind, embed_dim=32, decoder_dim=48, attention_dim=24, dropout=0.5, lr=3e-3,
                                 batch_size=8, epochs=3, smooth=1, patience=10, lr_decay=0.5, lr_patience=1,
                                 grad_clip=5.0, alpha_c=1.0, seed=0, precision="float32", device="cpu")
        models[kind], hist = train_captioner(data, vocab, 1, 2, 10, cfg, progress=False)
        out[f"{kind} decoder training"] = digest(models[kind].state_dict(), hist.train_loss, hist.val_bleu4, hist.lr)
    feats = data.features[8:].float()
    words, alphas = greedy_decode(models["attention"], feats, 1, 2, 10)
    out["greedy decoding"] = digest(words, alphas, greedy_decode(models["vanilla"], feats, 1, 2, 10)[0])
    beams = [beam_search(models[kind], f, 1, 2, 10, 3, penalty) for kind in models for f in feats for penalty in (0, 1)]
    out["beam search"] = digest([torch.tensor(ids) for ids, _ in beams], [a for _, a in beams if a is not None])
    # the scores of captions (nltk BLEU, coco-caption's ROUGE-L and CIDEr; METEOR is Java's)
    listed = json.loads((work / "set" / "dataset.json").read_text())["images"]
    refs = [[s["tokens"] for s in im["sentences"][1:]] for im in listed]
    hyps = [im["sentences"][0]["tokens"][::2] for im in listed]  # half of each image's first caption
    with Scorer(meteor=False) as scorer:
        out["caption scores"] = digest(scorer.score(hyps, refs))
    with threads(1):
        out["theory (float64)"] = digest(attention_checks())
    return out


def compare(got: dict, machine: dict, expected: dict, source: str) -> str | None:
    """None when ``got`` (this machine's digests) equals ``expected``'s, else one line naming the
    paths that differ and both CPUs."""
    differ = [name for name, value in expected["digests"].items() if got.get(name) != value]
    if not differ:
        return None
    theirs = expected["machine"]
    return (f"on {machine['name']} ({', '.join(machine['flags'])}) these paths compute other bytes than on "
            f"{theirs['name']} ({', '.join(theirs['flags'])}), where {source} was made: {', '.join(differ)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help=f"compare with {EXPECTED.relative_to(ROOT)}")
    ap.add_argument("--expected", type=Path, default=EXPECTED, help="compare with this file instead")
    ap.add_argument("--record", action="store_true", help=f"add this machine to {MACHINES.relative_to(ROOT)}")
    ap.add_argument("--expect", action="store_true", help=f"write {EXPECTED.relative_to(ROOT)} from this machine")
    ap.add_argument("--json", action="store_true", help="also print the digests as one line of JSON")
    args = ap.parse_args(argv)

    from hw2.common.runtime import use_kernels

    kernels = use_kernels(threads=THREADS)  # before any tensor operation: the stages' float32 kernels
    import torch

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        got = paths(Path(tmp))
    machine = cpu()
    print(f"{machine['name']} ({', '.join(machine['flags']) or 'no AVX2'}); torch {torch.__version__}; "
          f"{kernels['kernels']}, {kernels['threads']} threads; {time.perf_counter() - start:.1f} s")
    for name, value in got.items():
        print(f"  {name:26s} {value}")
    if args.expect:
        args.expected.write_text(json.dumps({"machine": machine, "digests": got}, indent=2) + "\n")
    if args.record:
        known = json.loads(MACHINES.read_text()) if MACHINES.is_file() else {}
        known[f"{machine['name']} ({', '.join(machine['flags'])})"] = {
            "digests": got, "torch": torch.__version__, "kernels": kernels["kernels"], "date": time.strftime("%Y-%m-%d")}
        MACHINES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    if args.check:
        problem = compare(got, machine, json.loads(args.expected.read_text()), args.expected.name)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        print(f"every digest as in {args.expected.name}")
    if args.json:
        print("JSON " + json.dumps({"machine": machine, "digests": got}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
