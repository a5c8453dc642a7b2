"""Paired comparison of two methods scored on the same cases (Wilcoxon signed-rank per metric).

Each case contributes its final step (as in the headline aggregates), so pairs are independent.
Volume and diameters are compared as absolute errors against the reference: a signed difference
would reward errors that cancel out. p-values are per metric, not corrected for multiplicity.
"""

from __future__ import annotations

from collections.abc import Callable

from evaluation.aggregate import final_step
from evaluation.errors import EvaluationError
from evaluation.models import CaseResult, Comparison, MetricsFile
from evaluation.stats import wilcoxon_paired

COMPARED: dict[str, Callable[[CaseResult], float]] = {
    "dsc": lambda r: r.dsc,
    "iou": lambda r: r.iou,
    "sensitivity": lambda r: r.sensitivity,
    "precision": lambda r: r.precision,
    "hd95_mm": lambda r: r.hd95_mm,
    "assd_mm": lambda r: r.assd_mm,
    "nsd_2mm": lambda r: r.nsd_2mm,
    "volume_abs_error_ml": lambda r: abs(r.volume_diff_ml),
    "max_axial_diameter_abs_error_mm": lambda r: abs(r.max_axial_diameter_diff_mm),
    "short_axis_abs_error_mm": lambda r: abs(r.short_axis_diff_mm),
}


def compare_methods(a: MetricsFile, b: MetricsFile, name_a: str, name_b: str) -> Comparison:
    cases_a = {r.case: r for r in final_step(a.results)}
    cases_b = {r.case: r for r in final_step(b.results)}
    if cases_a.keys() != cases_b.keys():
        only = sorted(cases_a.keys() ^ cases_b.keys())
        raise EvaluationError(
            f"methods {name_a} and {name_b} were scored on different cases: {only[:5]}"
        )
    cases = sorted(cases_a)
    return Comparison(
        method_a=name_a,
        method_b=name_b,
        n_cases=len(cases),
        tests={
            metric: wilcoxon_paired(
                [get(cases_a[c]) for c in cases], [get(cases_b[c]) for c in cases]
            )
            for metric, get in COMPARED.items()
        },
    )
