"""DSC, IoU, sensitivity, precision and volume on boxes with known overlap, plus empty masks."""

from __future__ import annotations

import numpy as np
import pytest

from algorithm.measurements import volume_ml
from evaluation import overlap


def boxes() -> tuple[np.ndarray, np.ndarray]:
    ref = np.zeros((6, 10, 12), bool)
    ref[1:5, 2:8, 2:10] = True  # 4 x 6 x 8 = 192 voxels
    pred = np.zeros_like(ref)
    pred[1:5, 2:8, 4:12] = True  # shifted by 2 in x: 4 x 6 x 6 = 144 overlap
    return pred, ref


def test_known_overlap_of_shifted_boxes() -> None:
    pred, ref = boxes()
    counts = overlap.confusion_counts(pred, ref)
    assert (counts.tp, counts.fp, counts.fn) == (144, 48, 48)
    assert overlap.dice(counts) == pytest.approx(2 * 144 / 384)
    assert overlap.iou(counts) == pytest.approx(144 / 240)
    assert overlap.sensitivity(counts) == pytest.approx(144 / 192)
    assert overlap.precision(counts) == pytest.approx(144 / 192)


def test_prediction_inside_reference_has_full_precision() -> None:
    ref = np.zeros((5, 5, 5), bool)
    ref[1:4, 1:4, 1:4] = True  # 27 voxels
    pred = np.zeros_like(ref)
    pred[2, 2, 2] = True
    counts = overlap.confusion_counts(pred, ref)
    assert overlap.precision(counts) == 1.0
    assert overlap.sensitivity(counts) == pytest.approx(1 / 27)
    assert overlap.dice(counts) == pytest.approx(2 / 28)
    # DSC and IoU are tied by DSC = 2 IoU / (1 + IoU)
    assert overlap.dice(counts) == pytest.approx(
        2 * overlap.iou(counts) / (1 + overlap.iou(counts))
    )


@pytest.mark.parametrize(
    "pred_empty, ref_empty, expected",
    [
        (True, True, 1.0),  # nothing to find, nothing found
        (True, False, 0.0),  # missed lesion
        (False, True, 0.0),  # lesion where there is none
    ],
)
def test_empty_mask_rule(pred_empty: bool, ref_empty: bool, expected: float) -> None:
    blob = np.zeros((4, 4, 4), bool)
    blob[1:3, 1:3, 1:3] = True
    pred = np.zeros_like(blob) if pred_empty else blob
    ref = np.zeros_like(blob) if ref_empty else blob
    counts = overlap.confusion_counts(pred, ref)
    scores = [
        overlap.dice(counts),
        overlap.iou(counts),
        overlap.sensitivity(counts),
        overlap.precision(counts),
    ]
    assert scores == [expected] * 4


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape mismatch"):
        overlap.confusion_counts(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)))


def test_volume_uses_anisotropic_spacing() -> None:
    mask = np.zeros((4, 5, 6), bool)
    mask[:2, :3, :4] = True  # 24 voxels of 2.5 x 0.5 x 0.8 = 1 mm^3
    assert volume_ml(mask, (2.5, 0.5, 0.8)) == pytest.approx(0.024)
    assert volume_ml(np.zeros_like(mask), (2.5, 0.5, 0.8)) == 0.0
    with pytest.raises(ValueError):
        volume_ml(mask, (1.0, 1.0))
