"""Summaries, agreement, step AUC, Wilcoxon, and their assembly into aggregates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.aggregate import build_aggregates, by_group, final_step
from evaluation.case_metrics import METRIC_NAMES
from evaluation.errors import EvaluationError
from evaluation.models import CaseResult
from evaluation.stats import agreement, normalised_auc, summarise, wilcoxon_paired


def test_summary_of_known_values() -> None:
    s = summarise([4.0, 1.0, 3.0, 2.0])
    assert (s.n, s.mean, s.median, s.q1, s.q3, s.min, s.max) == (4, 2.5, 2.5, 1.75, 3.25, 1.0, 4.0)
    assert s.std == pytest.approx(math.sqrt(5 / 3))  # sample SD


def test_summary_of_one_value_has_zero_sd_and_rejects_nan() -> None:
    assert summarise([0.7]).std == 0.0
    with pytest.raises(ValueError):
        summarise([0.5, float("nan")])
    with pytest.raises(ValueError):
        summarise([])


def test_agreement_known_values() -> None:
    a = agreement([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert a.pearson_r == pytest.approx(0.5)
    assert a.bias == pytest.approx(0.0) and a.sd_diff == pytest.approx(1.0)
    assert (a.loa_lower, a.loa_upper) == (pytest.approx(-1.96), pytest.approx(1.96))


def test_agreement_constant_offset_and_undefined_correlation() -> None:
    a = agreement([2.0, 3.0, 5.0], [1.0, 2.0, 4.0])
    assert (a.bias, a.sd_diff, a.loa_lower, a.loa_upper) == (
        pytest.approx(1.0),
        0.0,
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert a.pearson_r == pytest.approx(1.0)
    flat = agreement([1.0, 2.0], [3.0, 3.0])  # reference does not vary: r undefined, left out
    assert flat.pearson_r is None and flat.pearson_p is None
    assert "pearson_r" not in flat.model_dump(exclude_none=True)


def test_normalised_auc() -> None:
    assert normalised_auc([0.5, 0.7, 0.9]) == pytest.approx(0.7)
    assert normalised_auc([0.2, 1.0]) == pytest.approx(0.6)
    assert normalised_auc([0.8]) == 0.8


def test_wilcoxon_exact_p_for_consistent_improvement() -> None:
    """Six pairs, all differences positive and distinct: exact two-sided p = 2 / 2^6."""
    a = [0.9, 0.8, 0.85, 0.95, 0.7, 0.75]
    b = [0.8, 0.75, 0.6, 0.9, 0.4, 0.72]
    test = wilcoxon_paired(a, b)
    assert test.p_value == pytest.approx(2 / 64)
    assert test.statistic == 0.0 and test.n_nonzero == 6
    assert test.median_difference == pytest.approx(float(np.median(np.subtract(a, b))))


def test_wilcoxon_without_differences_is_p_1() -> None:
    test = wilcoxon_paired([0.5, 0.6], [0.5, 0.6])
    assert (test.p_value, test.n_nonzero) == (1.0, 0)


def result(
    case: str, dsc: float, step: int = 0, group: str | None = None, volume: float = 1.0
) -> CaseResult:
    values = {name: 0.0 for name in METRIC_NAMES}
    values.update(dsc=dsc, volume_pred_ml=volume + dsc, volume_ref_ml=volume)
    return CaseResult(
        case=case,
        step=step,
        prediction=f"{case}.mha",
        reference=f"{case}.mha",
        groups={"modality": group} if group else {},
        empty_prediction=False,
        empty_reference=False,
        **values,
    )


def test_groups_are_summarised_separately() -> None:
    rows = [
        result("a", 0.9, group="CT"),
        result("b", 0.7, group="CT"),
        result("c", 0.4, group="MR"),
    ]
    groups = by_group(rows)
    assert groups["modality"]["CT"]["dsc"].mean == pytest.approx(0.8)
    assert groups["modality"]["CT"]["dsc"].n == 2
    assert groups["modality"]["MR"]["dsc"].median == 0.4
    agg = build_aggregates(rows)
    assert agg.dsc.mean == pytest.approx(2.0 / 3)
    assert agg.agreement["volume_ml"].bias == pytest.approx(2.0 / 3)


def test_steps_dsc_per_step_auc_and_final_step_headline() -> None:
    rows = [result("a", d, s) for s, d in enumerate([0.5, 0.7, 0.9])]
    rows += [result("b", d, s) for s, d in enumerate([0.3, 0.3, 0.6])]
    agg = build_aggregates(rows)
    assert agg.steps.steps == [0, 1, 2]
    assert agg.steps.dsc["0"].mean == pytest.approx(0.4) and agg.steps.dsc[
        "2"
    ].mean == pytest.approx(0.75)
    assert agg.steps.dsc_auc_per_case == {"a": pytest.approx(0.7), "b": pytest.approx(0.375)}
    assert agg.steps.dsc_auc.mean == pytest.approx((0.7 + 0.375) / 2)
    assert agg.dsc.mean == pytest.approx(0.75)  # headline = final step
    assert [r.step for r in final_step(rows)] == [2, 2]


def test_single_step_has_no_step_section() -> None:
    assert build_aggregates([result("a", 0.5), result("b", 0.6)]).steps is None


def test_unequal_or_duplicate_steps_are_input_errors() -> None:
    with pytest.raises(EvaluationError, match="same steps"):
        build_aggregates([result("a", 0.5, 0), result("a", 0.6, 1), result("b", 0.5, 0)])
    with pytest.raises(EvaluationError, match="two results for step 0"):
        build_aggregates([result("a", 0.5, 0), result("a", 0.6, 0)])
    with pytest.raises(EvaluationError, match="no cases"):
        build_aggregates([])
