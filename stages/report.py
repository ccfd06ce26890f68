"""Stage report: REPORT.md and REPORT.html, every answer of the homework regenerated from the
pipeline's own outputs (metrics/, plots/, params.yaml), nothing typed by hand."""

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from _stage import PATHS, ROOT, stage
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from hw2.answers import MODELS, captioning_section, fashion_section, theory_section
from hw2.captioning.images import Rendering
from hw2.common.atomic import write_text
from hw2.common.errors import InputError, StaleInputError
from hw2.document import Code, Heading, Image, Para, Table, to_html, to_markdown
from hw2.notices import data_warnings, kernel_warnings
from pipeline.paths import run_name


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path.relative_to(ROOT)}: cannot read ({exc}); run `dvc repro` first") from None


def image(path: Path, alt: str) -> Image:
    """A figure of the report, linked relative to the repository (REPORT.md lies at its root)."""
    if not path.is_file():
        raise InputError(f"{path.relative_to(ROOT)}: missing; run `dvc repro` first")
    return Image(str(path.relative_to(ROOT)), alt)


def provenance():
    """The checked-out commit and a digest of dvc.lock's entries for every stage but this one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src", "stages", "dvc.yaml", "params.yaml"],
            cwd=ROOT,
            capture_output=True,
        ).returncode
        if dirty:  # the code or params that ran differ from the commit (an experiment, or work in progress)
            commit = f"`{commit}` + uncommitted changes to src/, stages/, dvc.yaml or params.yaml"
        else:
            commit = f"`{commit}`"
    except (OSError, subprocess.CalledProcessError):
        commit = "`(not a git checkout)`"
    try:  # as DVC reads it (ruamel.yaml, YAML 1.2), like params.yaml
        stages = YAML(typ="safe", pure=True).load((ROOT / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    except (OSError, YAMLError, KeyError, TypeError):
        raise InputError("dvc.lock: missing or unreadable; run `dvc repro`") from None
    stages.pop("report", None)
    return commit, hashlib.sha256(json.dumps(stages, sort_keys=True).encode()).hexdigest()[:16], encoder_md5(stages)


def encoder_md5(stages: dict) -> str:
    """The MD5 dvc.lock records for the encoder's weights file, the encoder_weights stage's one output
    (the report names it; it does not read the file)."""
    try:
        (out,) = stages["encoder_weights"]["outs"]
        return out["md5"]
    except (KeyError, TypeError, ValueError):
        raise InputError("dvc.lock: no encoder_weights stage with its one output; run `dvc repro`") from None


def arithmetic(computed: dict[str, dict]) -> str:
    """What the stages computed in (``computed``: stage → its metrics, with kernels, kernel_path,
    precision), and what that gives."""
    ways: dict[tuple[str, str, str], list[str]] = {}
    for name, m in computed.items():
        if "kernel_path" not in m:
            raise StaleInputError(
                f"the metrics of {name} do not say which kernels it computed in (an older version "
                "of the pipeline made them)"
            )
        ways.setdefault((m["kernels"], m["kernel_path"], m.get("precision", "float32")), []).append(name)
    parts = []
    for (kernels, path, precision), names in ways.items():
        what = f"{precision} in the **{kernels}** kernels ({path})" + (
            "" if len(ways) == 1 else f": {', '.join(names)}"
        )
        if kernels == "native":
            what += (
                "; faster, but the digits are this CPU's own: `kernels: portable` gives those of every x86-64 "
                "CPU with AVX2"
            )
        elif "without AVX2" in path:
            what += "; the digits of CPUs without AVX2, not those of AVX2 CPUs (the committed run's)"
        else:
            what += (
                "; the digits of every AVX2 CPU tested (a real AMD EPYC; Intel Haswell and AMD EPYC-Milan emulated; "
                "not yet a real Intel) (`kernels: native`: this CPU's "
                "fastest kernels, with digits of its own)"
            )
        parts.append(what)
    return "; ".join(parts)


def imagery(dataset) -> str:
    """How the caption set's images became the RGB the encoder saw: what they were, and the choice."""
    if "imagery" not in dataset:
        raise StaleInputError(
            f"{PATHS.dataset_metrics.relative_to(ROOT)} does not say how the images became RGB (an older version of "
            "the pipeline made it)"
        )
    chosen = dataset["imagery"]
    read = ", ".join(f"{n:,} image{'s' if n != 1 else ''} read as {how}" for how, n in chosen["read_as"].items())
    return f"{read}; {Rendering(bands=chosen['bands'], stretch=chosen['stretch']).describe()}"


def held_out(dataset) -> str:
    """How the validation split was made, when the set came without one."""
    h = dataset.get("val_held_out")
    if not h:
        return ""
    return (
        f"; the set has no val split: {h['images']:,} of its {h['of_train']:,} training images "
        f"({h['share']:.0%}, drawn with seed {h['seed']}) held out for validation"
    )


def header(dataset, features, computed):
    commit, lock, encoder = provenance()
    return [
        Heading(1, "Homework 2: the answers, regenerated by the pipeline"),
        Para(
            "Written by the `report` stage of `dvc repro` from `metrics/`, `plots/` and `params.yaml`; "
            "nothing here is typed by hand."
        ),
        Table(
            ["made from", ""],
            [
                [
                    "captioning data",
                    f"{dataset['dataset']}"
                    + (" (**SYNTHETIC demo set**: not results on real imagery)" if dataset.get("synthetic") else "")
                    + held_out(dataset),
                ],
                [
                    "encoder weights",
                    features["encoder_weights"]
                    + (
                        " (**random**: no ImageNet weights; the homework's encoder: "
                        "`dvc exp run -S captioning.encoder.weights=imagenet`)"
                        if features["encoder_weights"] == "random"
                        else ""
                    )
                    + f"; its file's MD5 in dvc.lock `{encoder}`",
                ],
                ["images as RGB", imagery(dataset)],
                ["arithmetic", arithmetic(computed)],
                ["git commit checked out", commit],
                ["dvc.lock digest (every other stage)", f"`{lock}`"],
                ["parameters", "`params.yaml`, in full in the appendix at the end"],
            ],
        ),
    ]


def appendix():
    return [
        Heading(2, "Appendix: the parameters of this run (params.yaml)"),
        Code((ROOT / "params.yaml").read_text(encoding="utf-8")),
    ]


@stage
def main(params):
    dataset, features = read_json(PATHS.dataset_metrics), read_json(PATHS.features_metrics)
    computed = {
        "train_cnn": read_json(PATHS.cnn_metrics),
        "extract_features": features,
        **{
            f"train_captioner@{m}-{seed}": read_json(PATHS.decoder_metrics / f"{run_name(m, seed)}.json")
            for m in MODELS
            for seed in params.captioning.seeds
        },
    }
    order = params.captioning.images
    with open(PATHS.theory_layers, newline="", encoding="utf-8") as f:
        layers = list(csv.DictReader(f))
    blocks = header(dataset, features, computed) + theory_section(read_json(PATHS.theory_metrics), layers)
    blocks += fashion_section(
        computed["train_cnn"],
        read_json(PATHS.equivariance_metrics),
        read_json(PATHS.kernels_metrics),
        {
            "shifts": image(
                PATHS.equivariance_plots / "shifts.png",
                "accuracy and unchanged predictions of the best CNN on shifted test images",
            ),
            "best_train_loss": image(PATHS.cnn_plots / "best_train_loss.png", "training loss of the best rate"),
            "best_val_acc": image(PATHS.cnn_plots / "best_val_acc.png", "validation accuracy of the best rate"),
            "rates_val_acc": image(PATHS.cnn_plots / "rates_val_acc.png", "validation accuracy of every rate"),
            "conv1": image(PATHS.kernels_plots / "conv1.png", "conv1 kernels, on one scale centred on zero"),
            "conv2": image(
                PATHS.kernels_plots / "conv2.png",
                "conv2 kernels: one row per output channel, one column per input channel",
            ),
            "feature_maps": image(
                PATHS.kernels_plots / "feature_maps.png", "feature maps of conv1 and conv2 for three test images"
            ),
        },
    )
    blocks += captioning_section(
        read_json(PATHS.captioning_metrics),
        {m: {seed: computed[f"train_captioner@{m}-{seed}"] for seed in params.captioning.seeds} for m in MODELS},
        read_json(PATHS.captioned / "caps_generated_enc_dec_w_attention.json"),
        read_json(PATHS.captioned / "decoder.json"),
        order,
        {
            "curves": image(
                PATHS.curves, "training loss, validation BLEU-4 and learning rate of both decoders, every seed"
            ),
            "captions": image(PATHS.captioned / "captions.png", "the images with their captions"),
        },
        [
            image(
                PATHS.captioned / f"attention_{k}.png",
                f"{name}: where the attention decoder looks for each word, <end> included, on one scale",
            )
            for k, name in enumerate(order, 1)
        ],
        read_json(PATHS.bootstrap),
    )
    blocks += appendix()
    write_text(PATHS.report_md, to_markdown(blocks))
    write_text(PATHS.report_html, to_html(blocks, "Homework 2: the answers", images_from=ROOT))  # one file
    print(
        f"REPORT.md and REPORT.html written ({sum(isinstance(b, Image) for b in blocks)} figures; "
        f"data {dataset['dataset']}, encoder {features['encoder_weights']})"
    )
    for line in data_warnings(bool(dataset.get("synthetic")), features.get("encoder_weights")) + kernel_warnings(
        list(computed.values())
    ):
        print(f"WARNING: {line}", file=sys.stderr)  # repeated at the end of the run, where they cannot be missed


if __name__ == "__main__":
    main()
