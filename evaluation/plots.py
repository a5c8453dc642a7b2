"""PNG plots for the local report: DSC box plots per group, Bland-Altman, DSC per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from evaluation.aggregate import steps_by_case  # noqa: E402
from evaluation.models import CaseResult  # noqa: E402
from evaluation.stats import LOA_Z, sample_sd  # noqa: E402

Methods = Mapping[str, Sequence[CaseResult]]  # method name -> its final-step results


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _group_of(result: CaseResult, column: str | None) -> str:
    return result.groups.get(column, "unspecified") if column else "all"


def dsc_box_plot(methods: Methods, column: str | None, path: Path, note: str = "") -> Path:
    """Box plot of per-case DSC for each group value of ``column`` (all cases if None);
    ``note`` ends the title (e.g. that only each case's last step is shown)."""
    names = list(methods)
    values = sorted({_group_of(r, column) for rows in methods.values() for r in rows})
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(values) * len(names) + 2), 4))
    for i, name in enumerate(names):
        data = [[r.dsc for r in methods[name] if _group_of(r, column) == v] for v in values]
        positions = np.arange(len(values)) + (i - (len(names) - 1) / 2) * width
        boxes = ax.boxplot(
            data,
            positions=positions,
            widths=width * 0.9,
            patch_artist=True,
            medianprops={"color": "black"},
            showfliers=True,
            manage_ticks=False,
        )
        for patch in boxes["boxes"]:
            patch.set_facecolor(f"C{i}")
            patch.set_alpha(0.6)
        ax.plot([], [], color=f"C{i}", linewidth=8, alpha=0.6, label=name)
    first = next(iter(methods.values()))
    counts = [sum(1 for r in first if _group_of(r, column) == v) for v in values]
    ax.set_xticks(np.arange(len(values)), [f"{v}\n(n={n})" for v, n in zip(values, counts)])
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("DSC")
    ax.set_title((f"DSC by {column}" if column else "DSC") + note)
    ax.legend(loc="lower left")
    return _save(fig, path)


def bland_altman_plot(
    methods: Methods, pred_field: str, ref_field: str, unit: str, title: str, path: Path
) -> Path:
    """Difference (prediction - reference) against mean, with bias and 95% limits, one panel per
    method on a shared y-axis, so that the methods' spreads compare at a glance."""
    fig, axes = plt.subplots(
        1, len(methods), figsize=(5 * len(methods), 4.4), squeeze=False, sharey=True
    )
    for ax, (name, rows) in zip(axes[0], methods.items()):
        pred = np.array([getattr(r, pred_field) for r in rows])
        ref = np.array([getattr(r, ref_field) for r in rows])
        mean, diff = (pred + ref) / 2.0, pred - ref
        bias, sd = float(diff.mean()), sample_sd(diff)
        ax.scatter(mean, diff, s=18, alpha=0.8)
        upper, lower = bias + LOA_Z * sd, bias - LOA_Z * sd
        ax.axhline(bias, color="grey", linewidth=1)
        ax.axhline(upper, linestyle="--", color="grey", linewidth=1)
        ax.axhline(lower, linestyle="--", color="grey", linewidth=1)
        for y, x, ha, va, text in (  # values beside their lines, apart even when they coincide
            (bias, 0, "left", "bottom", f"bias {bias:.2f}"),
            (upper, 1, "right", "bottom", f"+1.96 SD {upper:.2f}"),
            (lower, 1, "right", "top", f"-1.96 SD {lower:.2f}"),
        ):
            ax.annotate(text, xy=(x, y), xycoords=("axes fraction", "data"), ha=ha, va=va,
                        fontsize=8)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel(f"mean of prediction and reference ({unit})")
        ax.set_title(f"{name} (n={len(rows)})")
    axes[0][0].set_ylabel(f"prediction - reference ({unit})")
    fig.suptitle(f"Bland-Altman: {title}\nsolid: bias (mean difference); dashed: 95% limits of "
                 "agreement (bias ± 1.96 SD)", fontsize=10)
    return _save(fig, path)


def dsc_step_plot(methods: Mapping[str, Sequence[CaseResult]], path: Path) -> Path:
    """Mean DSC (+/- SD) against interaction step; ``methods`` hold all steps here."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for i, (name, rows) in enumerate(methods.items()):
        table = steps_by_case(rows)
        steps = sorted(next(iter(table.values())))
        dsc = np.array([[table[c][s].dsc for s in steps] for c in table])
        ax.errorbar(
            steps,
            dsc.mean(axis=0),
            yerr=dsc.std(axis=0),
            marker="o",
            capsize=3,
            color=f"C{i}",
            label=name,
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole clicks
    ax.set_xlabel("step (corrective clicks)")
    ax.set_ylabel("DSC")
    ax.set_ylim(0, 1.02)
    ax.legend()
    return _save(fig, path)
