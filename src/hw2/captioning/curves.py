"""The decoders' training curves on shared axes: training loss, validation BLEU-4 and the
learning rate per epoch, with the epochs the schedule cut the rate marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from ..common.plotting import plt, save_figure
from .history import CaptionHistory

MARKERS = ("o", "s", "^", "D", "v", "P", "X")  # the runs of one group, in order


def training_curves(
    path: Path,
    runs: dict[str, dict[str, Any]],
    loss_labels: dict[str, str] | None = None,
    groups: dict[str, str] | None = None,
) -> None:
    """Training loss, validation BLEU-4 and the learning rate per epoch, every run on the same
    three axes; ``runs`` maps a run's name to its series (epoch, train_loss, val_bleu4, best_epoch,
    and lr, the learning rate of each epoch); ``loss_labels`` names a run's loss where it is more
    than the cross-entropy. ``groups`` maps a run to its group (its decoder, when each decoder is
    trained with several seeds): a group's runs share a colour and differ by marker. A run alone in
    its group also has each learning-rate cut marked by a dashed line on the other two axes, before
    the first epoch that trained with it (with several, the learning-rate axis shows them)."""
    fig, (loss_ax, bleu_ax, lr_ax) = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1, 0.7]})
    group_of = groups or {name: name for name in runs}
    members = {g: [n for n in runs if group_of[n] == g] for g in dict.fromkeys(group_of[n] for n in runs)}
    colours: dict[str, str] = {}
    for k, (name, run) in enumerate(runs.items()):
        group = group_of[name]
        alone, marker = len(members[group]) == 1, MARKERS[members[group].index(name) % len(MARKERS)]
        (line,) = loss_ax.plot(
            run["epoch"],
            run["train_loss"],
            marker=marker,
            markersize=3,
            label=(loss_labels or {}).get(name, name),
            **({"color": colours[group]} if group in colours else {}),
        )
        colour = colours.setdefault(group, line.get_color())
        bleu_ax.plot(run["epoch"], run["val_bleu4"], marker=marker, markersize=3, color=colour)
        best = run["best_epoch"]
        bleu_ax.plot(
            [best],
            [run["val_bleu4"][best - 1]],
            marker="*",
            markersize=12,
            color=colour,
            linestyle="none",
            label=f"{name}: best epoch {best}",
        )
        lr = run.get("lr") or []
        if lr:
            lr_ax.step(
                run["epoch"], lr, where="mid", color=colour, linewidth=2.5 if k == 0 else 1.2
            )  # both seen where equal
        cuts = [run["epoch"][e] for e in CaptionHistory(lr=lr).cuts()] if alone else []  # each new rate's first epoch
        for i, epoch in enumerate(cuts):
            for ax in (loss_ax, bleu_ax):
                ax.axvline(
                    epoch - 0.5,
                    color=colour,
                    linestyle="--",
                    linewidth=1,
                    alpha=0.7,
                    label=f"{name}: learning rate cut ({len(cuts)}x, {lr[0]:.2g} → {lr[-1]:.2g})"
                    if i == 0 and ax is bleu_ax
                    else None,
                )
        if lr and alone and not cuts:
            bleu_ax.plot(
                [],
                [],
                color=colour,
                linestyle="--",
                linewidth=1,
                alpha=0.7,
                label=f"{name}: learning rate never cut ({lr[0]:.2g})",
            )
    loss_ax.set(title="Training loss per epoch", xlabel="epoch", ylabel="mean training loss")
    bleu_ax.set(title="Validation BLEU-4 per epoch (greedy)", xlabel="epoch", ylabel="validation BLEU-4")
    lr_ax.set(title="Learning rate per epoch", xlabel="epoch", ylabel="learning rate", yscale="log")
    for ax in (loss_ax, bleu_ax, lr_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    loss_ax.legend(loc="upper right", fontsize=9)
    bleu_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(
        "Caption decoders (dashed: the learning rate cut before that epoch)"
        if all(len(m) == 1 for m in members.values())
        else "Caption decoders, each trained with several seeds (stars: each run's best epoch)",
        fontsize=11,
    )
    fig.tight_layout()
    save_figure(fig, path)
