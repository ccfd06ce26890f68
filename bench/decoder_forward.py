"""Benchmark: the decoders' teacher-forcing forward pass, fused (``Decoder.forward``, what training
runs) against the plain per-step loop (``Decoder.forward_stepwise``: ``step`` per word, the
homework's and sgrvinod's way), in float32 and in bfloat16 autocast.

Each measurement is a training step as train_captioner runs it (forward, loss, backward, gradient
clipping, Adam) over the same batches of UCM-sized random data (bench/captioner.py's), with
params.yaml's decoder settings. The variants take turns batch by batch, so that a change in the
machine's speed during the run touches all of them alike; the first rounds are a warm-up.

  python bench/decoder_forward.py               # about 3 minutes on 2 cores
  python bench/decoder_forward.py --batches 10  # a quick look

Writes bench/results/decoder_forward.json (machine, command, ms per training step, ratios).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from _machine import ROOT, cpu_name, params
from captioner import ucm_like
from hw2.captioning.models import caption_loss
from hw2.captioning.train import CaptionTrainConfig
from hw2.common.runtime import configure_threads

WARMUP = 3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=40, help="timed batches per variant (default 40)")
    args = ap.parse_args()
    threads = configure_threads()
    cap = params()["captioning"]
    dec, tr = cap["decoder"], cap["train"]
    data, vocab = ucm_like()
    train_rows = torch.nonzero(data.split == 0).squeeze(1)
    order = train_rows[torch.randperm(len(train_rows), generator=torch.Generator().manual_seed(0))]
    batches = [order[i * tr["batch_size"]:(i + 1) * tr["batch_size"]] for i in range(WARMUP + args.batches)]
    results = {}
    for kind in ("vanilla", "attention"):
        cfg = CaptionTrainConfig(model=kind, embed_dim=dec["embed_dim"], decoder_dim=dec["decoder_dim"],
                                 attention_dim=dec["attention_dim"], dropout=dec["dropout"])
        variants = {}
        for how in ("fused", "plain"):
            for precision in ("float32", "bfloat16"):
                torch.manual_seed(0)
                model = cfg.build(len(vocab), 512).train()
                variants[f"{how} {precision}"] = (model, torch.optim.Adam(model.parameters(), lr=tr["lr"], fused=True),
                                                  how, precision, [])
        alpha_c = tr["alpha_c"] if kind == "attention" else 0.0
        for k, rows in enumerate(batches):
            n = int(data.lengths[rows].max())
            features, tokens, lengths = data.features[data.image[rows]].float(), data.tokens[rows, :n], data.lengths[rows]
            for model, opt, how, precision, times in variants.values():
                start = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                    forward = model if how == "fused" else model.forward_stepwise
                    loss = caption_loss(forward(features, tokens, lengths), alpha_c)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), tr["grad_clip"])
                opt.step()
                if k >= WARMUP:
                    times.append(time.perf_counter() - start)
        ms = {name: round(1000 * statistics.median(v[4]), 1) for name, v in variants.items()}
        results[kind] = {"ms_per_step": ms,
                         "plain_over_fused": {p: round(ms[f"plain {p}"] / ms[f"fused {p}"], 2)
                                              for p in ("float32", "bfloat16")},
                         "bfloat16_over_float32": {h: round(ms[f"{h} bfloat16"] / ms[f"{h} float32"], 2)
                                                   for h in ("fused", "plain")}}
        print(f"{kind}: " + ", ".join(f"{name} {t} ms" for name, t in ms.items())
              + f"; plain/fused {results[kind]['plain_over_fused']}", flush=True)
    out = ROOT / "bench" / "results" / "decoder_forward.json"
    out.write_text(json.dumps({
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads",
        "torch": torch.__version__, "threads": threads, "command": "python bench/decoder_forward.py",
        "what": "median ms of one training step (forward, loss, backward, clipping, Adam) at batch "
                f"{tr['batch_size']} on UCM-sized random data; {args.batches} batches after {WARMUP} of warm-up, "
                "the variants taking turns", "results": results}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
