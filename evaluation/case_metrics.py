"""All per-case metrics of one prediction against its reference, as a validated record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from algorithm.measurements import axial_diameters, volume_ml
from evaluation import overlap
from evaluation.surface import NSD_TOLERANCE_MM, surface_scores

# NaN or Infinity must never reach metrics.json (the platform would turn them into null).
Finite = Annotated[float, Field(allow_inf_nan=False)]


class CaseMetrics(BaseModel):
    """Metrics of one case. ``*_diff`` are prediction minus reference."""

    model_config = ConfigDict(extra="forbid")

    dsc: Finite
    iou: Finite
    sensitivity: Finite
    precision: Finite
    hd95_mm: Finite
    assd_mm: Finite
    nsd_2mm: Finite
    volume_pred_ml: Finite
    volume_ref_ml: Finite
    volume_diff_ml: Finite
    max_axial_diameter_pred_mm: Finite
    max_axial_diameter_ref_mm: Finite
    max_axial_diameter_diff_mm: Finite
    short_axis_pred_mm: Finite
    short_axis_ref_mm: Finite
    short_axis_diff_mm: Finite
    empty_prediction: bool
    empty_reference: bool


# Every float field is summarised in the aggregates, in this order.
METRIC_NAMES: tuple[str, ...] = tuple(
    name for name, field in CaseMetrics.model_fields.items() if field.annotation is not bool
)

# Paired quantities for agreement statistics (Pearson r, Bland-Altman): name -> (pred, ref) fields.
AGREEMENT_PAIRS: dict[str, tuple[str, str]] = {
    "volume_ml": ("volume_pred_ml", "volume_ref_ml"),
    "max_axial_diameter_mm": ("max_axial_diameter_pred_mm", "max_axial_diameter_ref_mm"),
    "short_axis_mm": ("short_axis_pred_mm", "short_axis_ref_mm"),
}


def score_arrays(
    prediction: np.ndarray,
    reference: np.ndarray,
    spacing: Sequence[float],
    axial_axis: int = 0,
) -> CaseMetrics:
    """Score two binary masks on the same grid; ``spacing`` in mm, in array axis order."""
    pred = np.asarray(prediction, dtype=bool)
    ref = np.asarray(reference, dtype=bool)
    counts = overlap.confusion_counts(pred, ref)
    surface = surface_scores(pred, ref, spacing, tolerance_mm=NSD_TOLERANCE_MM)
    vol_pred, vol_ref = volume_ml(pred, spacing), volume_ml(ref, spacing)
    diam_pred = axial_diameters(pred, spacing, axial_axis)
    diam_ref = axial_diameters(ref, spacing, axial_axis)
    return CaseMetrics(
        dsc=overlap.dice(counts),
        iou=overlap.iou(counts),
        sensitivity=overlap.sensitivity(counts),
        precision=overlap.precision(counts),
        hd95_mm=surface.hd95_mm,
        assd_mm=surface.assd_mm,
        nsd_2mm=surface.nsd,
        volume_pred_ml=vol_pred,
        volume_ref_ml=vol_ref,
        volume_diff_ml=vol_pred - vol_ref,
        max_axial_diameter_pred_mm=diam_pred.long_mm,
        max_axial_diameter_ref_mm=diam_ref.long_mm,
        max_axial_diameter_diff_mm=diam_pred.long_mm - diam_ref.long_mm,
        short_axis_pred_mm=diam_pred.short_mm,
        short_axis_ref_mm=diam_ref.short_mm,
        short_axis_diff_mm=diam_pred.short_mm - diam_ref.short_mm,
        empty_prediction=counts.n_prediction == 0,
        empty_reference=counts.n_reference == 0,
    )
