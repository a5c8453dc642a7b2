"""Pydantic models of the JSON this package writes (metrics.json, comparison.json).

Every float is declared finite, so a NaN or Infinity is a validation error at construction
instead of a ``null`` on the leaderboard.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from evaluation import __version__
from evaluation.case_metrics import METRIC_NAMES, CaseMetrics, Finite
from evaluation.surface import HD_PERCENTILE, NSD_TOLERANCE_MM


class Summary(BaseModel):
    """Distribution of one metric over cases; std is the sample SD (0 for a single case)."""

    n: int
    mean: Finite
    std: Finite
    median: Finite
    q1: Finite
    q3: Finite
    min: Finite
    max: Finite


class Agreement(BaseModel):
    """Prediction-vs-reference agreement of one quantity; differences are prediction - reference.

    Pearson r and its p-value are left out when undefined (fewer than two cases, or a quantity
    that does not vary).
    """

    n: int
    pearson_r: Finite | None = None
    pearson_p: Finite | None = None
    bias: Finite
    sd_diff: Finite
    loa_lower: Finite
    loa_upper: Finite


class StepAggregates(BaseModel):
    """Interactive protocols: DSC per step and the normalised area under DSC-versus-step."""

    steps: list[int]
    dsc: dict[str, Summary]
    dsc_auc: Summary
    dsc_auc_per_case: dict[str, Finite]


class CaseIdentity(BaseModel):
    case: str  # the reference file name without extension
    step: int = 0
    prediction: str
    reference: str
    job_pk: str | None = None
    groups: dict[str, str] = Field(default_factory=dict)


class CaseResult(CaseMetrics, CaseIdentity):
    """One row of ``results``: who (identity fields first in the JSON), then the metrics."""


_MetricSummaries = create_model(  # one field per metric: aggregates.<metric>.<statistic>
    "_MetricSummaries", **{name: (Summary, ...) for name in METRIC_NAMES}
)


class Aggregates(_MetricSummaries):  # type: ignore[misc, valid-type]
    by_group: dict[str, dict[str, dict[str, Summary]]] = Field(default_factory=dict)
    agreement: dict[str, Agreement]
    steps: StepAggregates | None = None


class Conventions(BaseModel):
    """The choices behind the numbers, stored with them."""

    evaluation_version: str = __version__
    nsd_tolerance_mm: float = NSD_TOLERANCE_MM
    hd_percentile: float = HD_PERCENTILE
    surface: str = "inner boundary, 6-connected; distances between voxel centres in mm"
    diameters: str = (
        "axial = image axis closest to patient z; boundary voxel centres, no voxel width added"
    )
    empty_masks: str = (
        "both empty: perfect scores; one empty: DSC/IoU/NSD 0, HD95/ASSD = image diagonal"
    )
    headline_step: str = "aggregates use each case's final step"


class MetricsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conventions: Conventions = Field(default_factory=Conventions)
    results: list[CaseResult]
    aggregates: Aggregates


class PairedTest(BaseModel):
    """Wilcoxon signed-rank test of one metric between two methods over the same cases."""

    n: int
    n_nonzero: int
    median_a: Finite
    median_b: Finite
    median_difference: Finite  # median of (a - b)
    statistic: Finite
    p_value: Finite


class Comparison(BaseModel):
    method_a: str
    method_b: str
    n_cases: int
    test: str = (
        "Wilcoxon signed-rank, two-sided, zero differences dropped (scipy zero_method='wilcox')"
    )
    tests: dict[str, PairedTest]
