"""From per-case results to ``aggregates``: overall, per group, agreement and per step.

With several steps per case (0, 1, ... corrective clicks) the headline statistics describe each
case's final step, the segmentation a user would keep; ``steps`` adds the DSC of every step and
the normalised area under each case's DSC-versus-step curve. Every case must have the same steps,
otherwise per-step means would mix different case sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from evaluation.case_metrics import AGREEMENT_PAIRS, METRIC_NAMES
from evaluation.errors import EvaluationError
from evaluation.models import Aggregates, CaseResult, StepAggregates, Summary
from evaluation.stats import agreement, normalised_auc, summarise


def steps_by_case(results: Sequence[CaseResult]) -> dict[str, dict[int, CaseResult]]:
    """Results indexed by case then step; duplicates and unequal step sets are input errors."""
    table: dict[str, dict[int, CaseResult]] = defaultdict(dict)
    for result in results:
        if result.step in table[result.case]:
            raise EvaluationError(f"case '{result.case}' has two results for step {result.step}")
        table[result.case][result.step] = result
    step_sets = {case: sorted(steps) for case, steps in table.items()}
    first_case, expected = next(iter(step_sets.items()))
    for case, steps in step_sets.items():
        if steps != expected:
            raise EvaluationError(
                f"case '{case}' has steps {steps} but case '{first_case}' has {expected}; "
                "every case needs the same steps"
            )
    return dict(table)


def final_step(results: Sequence[CaseResult]) -> list[CaseResult]:
    """Each case's result at its last step, in case order."""
    table = steps_by_case(results)
    return [table[case][max(table[case])] for case in sorted(table)]


def summarise_metrics(results: Sequence[CaseResult]) -> dict[str, Summary]:
    return {name: summarise([getattr(r, name) for r in results]) for name in METRIC_NAMES}


def by_group(results: Sequence[CaseResult]) -> dict[str, dict[str, dict[str, Summary]]]:
    """Summaries per value of every group column present in the results."""
    columns = sorted({column for r in results for column in r.groups})
    grouped: dict[str, dict[str, dict[str, Summary]]] = {}
    for column in columns:
        members: dict[str, list[CaseResult]] = defaultdict(list)
        for r in results:
            members[r.groups.get(column, "unspecified")].append(r)
        grouped[column] = {
            value: summarise_metrics(rows) for value, rows in sorted(members.items())
        }
    return grouped


def step_aggregates(results: Sequence[CaseResult]) -> StepAggregates | None:
    table = steps_by_case(results)
    steps = sorted(next(iter(table.values())))
    if len(steps) < 2:
        return None
    auc = {case: normalised_auc([table[case][s].dsc for s in steps]) for case in sorted(table)}
    return StepAggregates(
        steps=steps,
        dsc={str(s): summarise([table[case][s].dsc for case in sorted(table)]) for s in steps},
        dsc_auc=summarise(list(auc.values())),
        dsc_auc_per_case=auc,
    )


def build_aggregates(results: Sequence[CaseResult]) -> Aggregates:
    if not results:
        raise EvaluationError("there are no cases to aggregate")
    headline = final_step(results)
    return Aggregates(
        **summarise_metrics(headline),
        by_group=by_group(headline),
        agreement={
            name: agreement([getattr(r, p) for r in headline], [getattr(r, q) for r in headline])
            for name, (p, q) in AGREEMENT_PAIRS.items()
        },
        steps=step_aggregates(results),
    )
