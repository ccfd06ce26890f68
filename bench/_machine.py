"""What the benchmark scripts share: the machine they ran on, and params.yaml as plain values."""
from __future__ import annotations

import platform
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def params() -> dict:
    """params.yaml as written (the benchmarks time the settings the pipeline runs with)."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def caption_config(model: str, cap: dict, **overrides):
    """The decoder's training settings as params.yaml's ``captioning`` section (``cap``) gives them,
    the arithmetic resolved for the CPU, with ``overrides`` (epochs, patience, the schedule …)."""
    import torch

    from hw2.captioning.train import CaptionTrainConfig
    from hw2.common.precision import resolve_precision

    dec, tr = cap["decoder"], cap["train"]
    settings = dict(model=model, embed_dim=dec["embed_dim"], decoder_dim=dec["decoder_dim"],
                    attention_dim=dec["attention_dim"], dropout=dec["dropout"], lr=tr["lr"],
                    batch_size=tr["batch_size"], epochs=tr["epochs"], patience=tr["patience"],
                    grad_clip=tr["grad_clip"], alpha_c=tr["alpha_c"], seed=tr["seed"],
                    **{k: tr[k] for k in ("lr_decay", "lr_patience", "smooth") if k in tr})
    return CaptionTrainConfig(**(settings | overrides),
                              precision=resolve_precision(tr.get("precision", "auto"), torch.device("cpu")))
