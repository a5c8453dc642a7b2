"""Short Markdown report of a local evaluation, linking the PNG plots beside it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evaluation.models import Comparison, MetricsFile, Summary

HEADLINE = (
    "dsc",
    "iou",
    "sensitivity",
    "precision",
    "hd95_mm",
    "assd_mm",
    "nsd_2mm",
    "volume_diff_ml",
    "max_axial_diameter_diff_mm",
    "short_axis_diff_mm",
)


def sd_text(s: Summary, fmt: str = ".3f") -> str:
    """The SD, or n/a for a single case (its SD of 0 would read as a measured agreement)."""
    return format(s.std, fmt) if s.n > 1 else "n/a"


def last_step_note(methods: Mapping[str, MetricsFile]) -> str:
    """What a table or plot of one value per case adds when the cases have several steps."""
    return " (each case's last step)" if any(m.aggregates.steps for m in methods.values()) else ""


def _cell(s: Summary) -> str:
    return f"{s.mean:.3f} ± {sd_text(s)} ({s.median:.3f} [{s.q1:.3f}, {s.q3:.3f}])"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def markdown_report(
    methods: Mapping[str, MetricsFile],
    sources: Mapping[str, str],
    references: str,
    comparison: Comparison | None,
    plots: Mapping[str, Path],
    out_dir: Path,
    skipped: Mapping[str, list[str]] | None = None,
) -> str:
    names = list(methods)
    first = methods[names[0]]
    n_cases = first.aggregates.dsc.n
    last = last_step_note(methods)
    skipped = {n: cases for n, cases in (skipped or {}).items() if cases}
    lines = [
        "# Segmentation evaluation report",
        "",
        f"{n_cases} case(s); references: `{references}`.",
        *(f"- **{name}**: `{sources[name]}`" for name in names),
        *(
            f"- {len(cases)} reference case(s) without a prediction from **{name}** were skipped "
            f"(`--allow-missing`): {', '.join(cases)}"
            for name, cases in skipped.items()
        ),
        "",
        "Values are mean ± SD (median [Q1, Q3]) over cases (SD n/a for one case), at each case's "
        "final step; "
        "differences are prediction − reference. Conventions (evaluation "
        f"{first.conventions.evaluation_version}): NSD tolerance "
        f"{first.conventions.nsd_tolerance_mm:g} mm, "
        f"HD{first.conventions.hd_percentile:g}; {first.conventions.surface}; "
        f"diameters: {first.conventions.diameters}; empty masks: {first.conventions.empty_masks}.",
        "",
        f"## Metrics{last}",
        "",
        *_table(
            ["metric", *names],
            [[m, *(_cell(getattr(methods[n].aggregates, m)) for n in names)] for m in HEADLINE],
        ),
    ]
    if comparison is not None:
        lines += [
            f"## Paired comparison: {comparison.method_a} vs {comparison.method_b}",
            "",
            f"{comparison.test}; {comparison.n_cases} paired cases; no multiplicity correction.",
            "",
            *_table(
                [
                    "metric",
                    f"median {comparison.method_a}",
                    f"median {comparison.method_b}",
                    "median difference",
                    "non-zero pairs",
                    "p",
                ],
                [
                    [
                        m,
                        f"{t.median_a:.3f}",
                        f"{t.median_b:.3f}",
                        f"{t.median_difference:.3f}",
                        str(t.n_nonzero),
                        _p(t.p_value),
                    ]
                    for m, t in comparison.tests.items()
                ],
            ),
        ]
    rows = []
    for name in names:
        for quantity, agreement in methods[name].aggregates.agreement.items():
            r = "n/a" if agreement.pearson_r is None else f"{agreement.pearson_r:.3f}"
            rows.append(
                [
                    quantity,
                    name,
                    r,
                    f"{agreement.bias:.3f}",
                    f"[{agreement.loa_lower:.3f}, {agreement.loa_upper:.3f}]",
                ]
            )
    lines += [
        f"## Agreement with the reference{last}",
        "",
        "Pearson r, Bland-Altman bias and 95% limits of agreement (bias ± 1.96 SD).",
        "",
        *_table(["quantity", "method", "Pearson r", "bias", "limits of agreement"], rows),
    ]
    if any(m.aggregates.steps for m in methods.values()):
        lines += [
            "## Interactive steps",
            "",
            *_table(
                ["method", "DSC per step (mean)", "normalised AUC (mean ± SD)"],
                [
                    [
                        n,
                        ", ".join(f"{k}: {s.mean:.3f}" for k, s in st.dsc.items()),
                        f"{st.dsc_auc.mean:.3f} ± {sd_text(st.dsc_auc)}",
                    ]
                    for n in names
                    if (st := methods[n].aggregates.steps)
                ],
            ),
        ]
    for column, values in first.aggregates.by_group.items():
        lines += [
            f"## DSC by {column}{last}",
            "",
            *_table(
                [column, "n", *names],
                [
                    [
                        v,
                        str(s["dsc"].n),
                        *(
                            f"{(d := methods[n].aggregates.by_group[column][v]['dsc']).mean:.3f}"
                            f" ± {sd_text(d)}"
                            for n in names
                        ),
                    ]
                    for v, s in values.items()
                ],
            ),
        ]
    lines += ["## Plots", ""]
    lines += [
        f"![{title}]({path.relative_to(out_dir).as_posix()})" for title, path in plots.items()
    ]
    lines += ["", "Per-case values: " + ", ".join(f"[{n}]({n}/results.csv)" for n in names), ""]
    return "\n".join(lines)
