"""Statistics over cases: summaries, agreement (Pearson, Bland-Altman), step AUC, Wilcoxon.

Each function states its rule for degenerate inputs so that nothing returns NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from evaluation.models import Agreement, PairedTest, Summary

LOA_Z = 1.96  # Bland-Altman limits of agreement: bias +/- 1.96 SD of the differences


def _as_values(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("need a non-empty 1-D sequence of values")
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite")
    return array


def sample_sd(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); 0.0 for a single value rather than NaN."""
    return float(np.std(values, ddof=1)) if values.size > 1 else 0.0


def summarise(values: Sequence[float]) -> Summary:
    """n, mean, sample SD, median, quartiles (numpy linear interpolation), min, max."""
    v = _as_values(values)
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    return Summary(
        n=int(v.size),
        mean=float(v.mean()),
        std=sample_sd(v),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        min=float(v.min()),
        max=float(v.max()),
    )


def agreement(prediction: Sequence[float], reference: Sequence[float]) -> Agreement:
    """Pearson r (when defined) and Bland-Altman bias and 95% limits of prediction - reference."""
    pred, ref = _as_values(prediction), _as_values(reference)
    if pred.shape != ref.shape:
        raise ValueError("prediction and reference need the same number of values")
    diff = pred - ref
    bias, sd = float(diff.mean()), sample_sd(diff)
    r = p = None
    if pred.size >= 2 and np.ptp(pred) > 0 and np.ptp(ref) > 0:
        result = sps.pearsonr(pred, ref)
        r, p = float(np.clip(result.statistic, -1.0, 1.0)), float(result.pvalue)
    return Agreement(
        n=int(pred.size),
        pearson_r=r,
        pearson_p=p,
        bias=bias,
        sd_diff=sd,
        loa_lower=bias - LOA_Z * sd,
        loa_upper=bias + LOA_Z * sd,
    )


def normalised_auc(dsc_by_step: Sequence[float]) -> float:
    """Trapezoidal area under DSC over steps 0..K divided by K: a mean DSC in [0, 1].

    With a single step (K = 0) the curve is a point and the area is defined as that DSC.
    """
    y = _as_values(dsc_by_step)
    if y.size == 1:
        return float(y[0])
    return float(np.sum((y[1:] + y[:-1]) / 2.0) / (y.size - 1))


def wilcoxon_paired(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of paired values a and b (scipy, exact when small).

    Zero differences are dropped (Wilcoxon's original rule); with no non-zero difference the
    methods are indistinguishable on these cases and p is 1.
    """
    x, y = _as_values(a), _as_values(b)
    if x.shape != y.shape:
        raise ValueError("paired test needs the same number of values for both methods")
    diff = x - y
    n_nonzero = int(np.count_nonzero(diff))
    if n_nonzero == 0:
        statistic, p_value = 0.0, 1.0
    else:
        result = sps.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return PairedTest(
        n=int(x.size),
        n_nonzero=n_nonzero,
        median_a=float(np.median(x)),
        median_b=float(np.median(y)),
        median_difference=float(np.median(diff)),
        statistic=statistic,
        p_value=p_value,
    )
