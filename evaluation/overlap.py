"""Overlap metrics (DSC, IoU, sensitivity, precision) from voxel counts.

One pass over the volume yields the counts that all four ratios need. Empty-mask rule, applied to
every ratio whose denominator is zero: 1.0 when both masks are empty (nothing to find, nothing
found), 0.0 when exactly one is (a complete miss or a pure false positive). No NaN ever leaves here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Counts:
    """True positive, false positive and false negative voxel counts."""

    tp: int
    fp: int
    fn: int

    @property
    def n_prediction(self) -> int:
        return self.tp + self.fp

    @property
    def n_reference(self) -> int:
        return self.tp + self.fn

    @property
    def both_empty(self) -> bool:
        return self.n_prediction == 0 and self.n_reference == 0


def confusion_counts(prediction: np.ndarray, reference: np.ndarray) -> Counts:
    """Count TP/FP/FN of two same-shaped binary masks (non-zero is foreground)."""
    pred = np.asarray(prediction, dtype=bool)
    ref = np.asarray(reference, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"shape mismatch: prediction {pred.shape} vs reference {ref.shape}")
    tp = int(np.count_nonzero(pred & ref))
    return Counts(tp=tp, fp=int(np.count_nonzero(pred)) - tp, fn=int(np.count_nonzero(ref)) - tp)


def _ratio(numerator: int, denominator: int, both_empty: bool) -> float:
    if denominator == 0:
        return 1.0 if both_empty else 0.0
    return numerator / denominator


def dice(counts: Counts) -> float:
    """DSC = 2 TP / (2 TP + FP + FN)."""
    return _ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn, counts.both_empty)


def iou(counts: Counts) -> float:
    """IoU (Jaccard) = TP / (TP + FP + FN)."""
    return _ratio(counts.tp, counts.tp + counts.fp + counts.fn, counts.both_empty)


def sensitivity(counts: Counts) -> float:
    """Sensitivity (recall) = TP / (TP + FN); empty reference: 1 only if nothing is predicted."""
    return _ratio(counts.tp, counts.tp + counts.fn, counts.both_empty)


def precision(counts: Counts) -> float:
    """Precision (PPV) = TP / (TP + FP); empty prediction: 1 only if the reference is empty."""
    return _ratio(counts.tp, counts.tp + counts.fp, counts.both_empty)
