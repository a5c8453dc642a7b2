"""Score matched (prediction, reference) files into a complete ``MetricsFile``.

Shared by the platform entry point and the local CLI. Predictions must lie on the reference's
voxel grid (same size, spacing, origin, direction within float tolerance): a different grid means
a resampling or orientation bug upstream, so it is reported, never silently resampled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.aggregate import build_aggregates
from evaluation.case_metrics import score_arrays
from evaluation.errors import EvaluationError
from evaluation.masks import Mask, read_mask
from evaluation.models import CaseResult, MetricsFile


@dataclass(frozen=True)
class Pair:
    case: str
    prediction: Path
    reference: Path
    step: int = 0
    job_pk: str | None = None
    label: str = ""  # how error messages name this prediction, e.g. "job <pk>"


def score_pair(pair: Pair, reference: Mask | None = None) -> CaseResult:
    """Read, validate and score one pair (``reference`` may be passed in when already read)."""
    who = pair.label or f"case '{pair.case}'"
    ref = reference or read_mask(pair.reference, f"reference of {who}")
    pred = read_mask(pair.prediction, f"prediction of {who}")
    mismatch = ref.geometry.mismatch(pred.geometry)
    if mismatch:
        raise EvaluationError(
            f"prediction of {who} ({pred.path.name}) is not on the grid of reference "
            f"{ref.path.name}: {mismatch}"
        )
    metrics = score_arrays(pred.array, ref.array, ref.geometry.spacing_zyx, ref.geometry.axial_axis)
    return CaseResult(
        case=pair.case,
        step=pair.step,
        prediction=str(pair.prediction),
        reference=pair.reference.name,
        job_pk=pair.job_pk,
        **metrics.model_dump(),
    )


def score_pairs(
    pairs: Sequence[Pair],
    groups: dict[str, dict[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> MetricsFile:
    """Score every pair (each reference read once) and aggregate."""
    results: list[CaseResult] = []
    cached: Mask | None = None
    for pair in sorted(pairs, key=lambda p: (p.case, p.step)):
        if cached is None or cached.path != pair.reference:
            cached = read_mask(pair.reference, f"reference of {pair.label or repr(pair.case)}")
        result = score_pair(pair, cached)
        if groups is not None:
            result = result.model_copy(update={"groups": dict(groups[pair.case])})
        results.append(result)
        if progress:
            progress(
                f"{pair.case} step {pair.step}: DSC {result.dsc:.4f}, HD95 {result.hd95_mm:.2f} mm"
            )
    return MetricsFile(results=results, aggregates=build_aggregates(results))
