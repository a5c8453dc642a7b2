"""Whole-case scoring: all metrics together, direction invariance, grid checks, empty rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.case_metrics import METRIC_NAMES, score_arrays
from evaluation.errors import EvaluationError
from evaluation.scoring import Pair, score_pair
from tests.evaluation.helpers import IDENTITY, ellipsoid, write_mask


def rotation_about_z(degrees: float) -> tuple[float, ...]:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)


def lesion_pair() -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    spacing_zyx = (2.5, 0.8, 0.6)
    shape = (9, 30, 40)
    ref = ellipsoid(shape, (4, 15, 20), (8.0, 9.0, 7.0), spacing_zyx)
    pred = ellipsoid(shape, (4, 16, 21), (7.0, 8.0, 8.0), spacing_zyx)
    return ref, pred, spacing_zyx


@pytest.mark.parametrize(
    "direction",
    [
        (-1.0, 0, 0, 0, -1.0, 0, 0, 0, 1.0),
        rotation_about_z(17.0),
        (1.0, 0, 0, 0, 1.0, 0, 0, 0, -1.0),
    ],
)
def test_flipped_or_oblique_direction_does_not_change_mm_metrics(tmp_path, direction) -> None:
    ref, pred, spacing_zyx = lesion_pair()
    spacing_xyz = spacing_zyx[::-1]

    def score(tag: str, direction_: tuple) -> dict:
        r = write_mask(
            tmp_path / f"{tag}_ref.mha", ref, spacing_xyz, origin=(5, -7, 30), direction=direction_
        )
        p = write_mask(
            tmp_path / f"{tag}_pred.mha",
            pred,
            spacing_xyz,
            origin=(5, -7, 30),
            direction=direction_,
        )
        return score_pair(Pair(case="c", prediction=p, reference=r)).model_dump(
            include=set(METRIC_NAMES)
        )

    plain, turned = score("plain", IDENTITY), score("turned", direction)
    assert turned == pytest.approx(plain)
    assert (
        plain["dsc"] < 1.0 and plain["hd95_mm"] > 0.0 and plain["max_axial_diameter_ref_mm"] > 0.0
    )


def test_reference_stored_sagittally_is_measured_in_the_patient_axial_plane(tmp_path) -> None:
    """Index x runs along patient z: axial slices are then across array axis 2."""
    ref = np.zeros((5, 5, 12), np.uint8)
    ref[2, 2, :] = 1  # a rod along patient z: a dot in every axial slice
    sagittal = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    r = write_mask(tmp_path / "ref.mha", ref, direction=sagittal)
    p = write_mask(tmp_path / "pred.mha", ref, direction=sagittal)
    result = score_pair(Pair(case="rod", prediction=p, reference=r))
    assert result.max_axial_diameter_ref_mm == 0.0
    r2 = write_mask(tmp_path / "ref2.mha", ref)
    p2 = write_mask(tmp_path / "pred2.mha", ref)
    assert (
        score_pair(Pair(case="rod", prediction=p2, reference=r2)).max_axial_diameter_ref_mm == 11.0
    )


def test_score_arrays_combines_every_metric_consistently() -> None:
    ref, pred, spacing = lesion_pair()
    m = score_arrays(pred, ref, spacing)
    assert m.volume_diff_ml == pytest.approx(m.volume_pred_ml - m.volume_ref_ml)
    assert m.max_axial_diameter_diff_mm == pytest.approx(
        m.max_axial_diameter_pred_mm - m.max_axial_diameter_ref_mm
    )
    assert m.short_axis_diff_mm == pytest.approx(m.short_axis_pred_mm - m.short_axis_ref_mm)
    assert m.volume_ref_ml == pytest.approx(ref.sum() * np.prod(spacing) / 1000)
    assert 0 < m.iou < m.dsc < 1 and 0 < m.nsd_2mm <= 1
    assert m.short_axis_ref_mm <= m.max_axial_diameter_ref_mm


def test_empty_prediction_against_lesion() -> None:
    ref, _, spacing = lesion_pair()
    m = score_arrays(np.zeros_like(ref), ref, spacing)
    assert (m.dsc, m.iou, m.sensitivity, m.precision, m.nsd_2mm) == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert m.empty_prediction and not m.empty_reference
    assert (
        m.hd95_mm
        == m.assd_mm
        == pytest.approx(math.dist((0, 0, 0), [(n - 1) * s for n, s in zip(ref.shape, spacing)]))
    )
    assert m.volume_pred_ml == 0.0 and m.max_axial_diameter_pred_mm == 0.0
    assert m.volume_diff_ml == -m.volume_ref_ml


def test_both_empty_is_a_perfect_true_negative() -> None:
    empty = np.zeros((3, 4, 5), bool)
    m = score_arrays(empty, empty, (1.0, 1.0, 1.0))
    assert (m.dsc, m.iou, m.sensitivity, m.precision, m.nsd_2mm, m.hd95_mm, m.assd_mm) == (
        1,
        1,
        1,
        1,
        1,
        0,
        0,
    )
    assert m.empty_prediction and m.empty_reference


def test_prediction_on_another_grid_is_refused(tmp_path) -> None:
    ref, pred, _ = lesion_pair()
    r = write_mask(tmp_path / "ref.mha", ref, (0.6, 0.8, 2.5))
    p = write_mask(tmp_path / "pred.mha", pred, (0.6, 0.8, 3.0))
    with pytest.raises(EvaluationError, match=r"not on the grid of reference ref.mha: spacing"):
        score_pair(Pair(case="c", prediction=p, reference=r))
