"""The clean-up's promises about clicks, on plain arrays."""

import numpy as np

from algorithm.postprocessing import postprocess


def _cube() -> np.ndarray:
    mask = np.zeros((9, 9, 9), bool)
    mask[2:7, 2:7, 2:7] = True
    return mask


def test_background_click_inside_a_solid_lesion_stays_background():
    """The clicked voxel is an enclosed hole once cleared; hole filling must not close it."""
    out = postprocess(_cube(), np.array([[3.0, 3.0, 3.0]]), np.array([[4.2, 3.9, 4.4]]))
    assert not out[4, 4, 4]
    assert out.sum() == _cube().sum() - 1


def test_tumour_click_outside_the_prediction_is_kept_as_lesion():
    out = postprocess(_cube(), np.array([[4.0, 4.0, 4.0], [8.0, 0.0, 8.0]]))
    assert out[8, 0, 8] and out.sum() == _cube().sum() + 1


def test_a_voxel_clicked_both_ways_is_background_and_clicks_off_the_array_are_ignored():
    out = postprocess(_cube(), np.array([[4.0, 4.0, 4.0], [20.0, 4.0, 4.0]]),
                      np.array([[4.0, 4.0, 4.0], [-3.0, 0.0, 0.0]]))
    assert not out[4, 4, 4] and out.sum() == _cube().sum() - 1


def test_without_clicks_to_honour_the_mask_is_only_cleaned():
    mask = _cube()
    mask[0, 0, 0] = True  # a stray voxel, no click on it
    mask[4, 4, 4] = False  # an enclosed hole
    assert np.array_equal(postprocess(mask, np.array([[3.0, 3.0, 3.0]])), _cube())
