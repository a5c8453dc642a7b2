"""HD95, ASSD and NSD against exact distances, spheres, and grand-challenge-metrics."""

from __future__ import annotations

import numpy as np
import pytest
from grand_challenge_metrics import stats as gcm

from evaluation.surface import (
    average_symmetric_surface_distance,
    directed_surface_distances,
    hausdorff_percentile,
    max_distance_mm,
    normalised_surface_dice,
    surface_scores,
    surface_voxels,
)
from tests.evaluation.helpers import ellipsoid


def test_single_voxels_use_spacing_in_array_order() -> None:
    """Two voxels (2, 3, 4) apart with spacing (3, 1, 0.5): sqrt(6^2 + 3^2 + 2^2) = 7 mm."""
    pred = np.zeros((3, 4, 5), bool)
    ref = np.zeros_like(pred)
    pred[0, 0, 0] = True
    ref[2, 3, 4] = True
    scores = surface_scores(pred, ref, (3.0, 1.0, 0.5))
    assert scores.hd95_mm == pytest.approx(7.0)
    assert scores.assd_mm == pytest.approx(7.0)
    assert scores.nsd == 0.0


@pytest.mark.parametrize(
    "axis, spacing, expected",
    [(0, (3.0, 1.0, 1.0), 6.0), (1, (1.0, 0.7, 1.0), 1.4), (2, (1.0, 1.0, 0.4), 0.8)],
)
def test_thin_plate_shift_gives_shift_times_spacing(axis: int, spacing, expected: float) -> None:
    """A one-voxel-thick plate moved 2 voxels off-plane: every surface distance is 2 x spacing."""
    ref = np.zeros((9, 9, 9), bool)
    index = [slice(2, 7)] * 3
    index[axis] = 3
    ref[tuple(index)] = True
    pred = np.roll(ref, 2, axis=axis)
    scores = surface_scores(pred, ref, spacing)
    assert scores.hd95_mm == pytest.approx(expected)
    assert scores.assd_mm == pytest.approx(expected)
    assert scores.nsd == (1.0 if expected <= 2.0 else 0.0)


def isolated_pairs(offsets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Prediction voxels 30 apart along x, each with a reference partner ``offset`` away along z."""
    pred = np.zeros((max(offsets) + 1, 1, 30 * len(offsets)), bool)
    ref = np.zeros_like(pred)
    for i, offset in enumerate(offsets):
        pred[0, 0, 30 * i] = True
        ref[offset, 0, 30 * i] = True
    return pred, ref


def test_percentile_convention_is_linear_interpolation_of_each_direction() -> None:
    """Directed distances 1..20 mm both ways: the 95th percentile interpolates to 19.05 mm."""
    pred, ref = isolated_pairs(list(range(1, 21)))
    to_ref, to_pred = directed_surface_distances(pred, ref, (1.0, 1.0, 1.0))
    assert sorted(to_ref) == list(range(1, 21)) and sorted(to_pred) == list(range(1, 21))
    assert hausdorff_percentile(to_ref, to_pred) == pytest.approx(19.05)
    assert average_symmetric_surface_distance(to_ref, to_pred) == pytest.approx(10.5)
    assert normalised_surface_dice(to_ref, to_pred, 2.0) == pytest.approx(
        4 / 40
    )  # 1 and 2 mm, inclusive
    # grand-challenge-metrics takes the lower order statistic d[int((n - 1) * 0.95)] instead
    assert gcm.percentile_hausdorff_distance(pred, ref, voxelspacing=(1, 1, 1)) == 19.0


def test_tolerance_is_inclusive_despite_float_rounding() -> None:
    """10 x 0.2 mm is 2 mm: the plate 10 voxels away is within tolerance, 11 voxels is not."""
    ref = np.zeros((3, 5, 16), bool)
    ref[1, 1:4, 2] = True
    assert surface_scores(np.roll(ref, 10, axis=2), ref, (1.0, 1.0, 0.2)).nsd == 1.0
    assert surface_scores(np.roll(ref, 11, axis=2), ref, (1.0, 1.0, 0.2)).nsd == 0.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.8, 0.8)])
def test_concentric_spheres_are_radius_difference_apart(spacing) -> None:
    """Spheres of 10 and 7 mm: surfaces 3 mm apart, up to discretisation (one voxel)."""
    shape = tuple(int(np.ceil(26 / s)) for s in spacing)
    centre = [(n - 1) / 2 for n in shape]
    ref = ellipsoid(shape, centre, (10.0,) * 3, spacing)
    pred = ellipsoid(shape, centre, (7.0,) * 3, spacing)
    scores = surface_scores(pred, ref, spacing)
    assert scores.hd95_mm == pytest.approx(3.0, abs=max(spacing))
    assert scores.assd_mm == pytest.approx(3.0, abs=max(spacing) / 2)
    assert 0.0 <= scores.nsd < 0.5  # most of both surfaces is more than 2 mm from the other


def test_identical_masks_score_perfectly() -> None:
    ref = ellipsoid((9, 9, 9), (4, 4, 4), (3.0, 3.0, 3.0), (1.0, 1.0, 1.0))
    scores = surface_scores(ref, ref.copy(), (1.0, 1.0, 1.0))
    assert (scores.hd95_mm, scores.assd_mm, scores.nsd) == (0.0, 0.0, 1.0)


def test_surface_is_6_connected_inner_boundary_including_image_border() -> None:
    assert surface_voxels(np.ones((3, 3, 3), bool)).sum() == 26  # all but the centre
    cube = np.zeros((5, 5, 5), bool)
    cube[1:4, 1:4, 1:4] = True
    assert surface_voxels(cube).sum() == 26


def test_matches_grand_challenge_metrics_on_irregular_shapes() -> None:
    """Same surface and distance conventions as gcm: its HD and max-of-means agree exactly."""
    rng = np.random.default_rng(7)
    ref = ellipsoid((14, 16, 18), (7, 8, 9), (5.0, 6.0, 7.0), (1.5, 1.0, 0.8)) & (
        rng.random((14, 16, 18)) > 0.1
    )
    pred = np.roll(ref, (1, -2, 3), axis=(0, 1, 2)) | (rng.random(ref.shape) > 0.995)
    spacing = (1.5, 1.0, 0.8)
    to_ref, to_pred = directed_surface_distances(pred, ref, spacing)
    assert max(to_ref.max(), to_pred.max()) == pytest.approx(
        gcm.hausdorff_distance(pred, ref, spacing)
    )
    assert max(to_ref.mean(), to_pred.mean()) == pytest.approx(
        gcm.modified_hausdorff_distance(pred, ref, spacing)
    )


def test_cropping_does_not_change_distances() -> None:
    """Masks far from the border in a big image score exactly as in a tight image."""
    small_ref = ellipsoid((10, 10, 10), (4.5, 4.5, 4.5), (4.0, 4.0, 4.0), (1.0, 1.0, 1.0))
    small_pred = np.roll(small_ref, 1, axis=1)
    big_ref, big_pred = (np.pad(m, ((5, 9), (3, 2), (7, 4))) for m in (small_ref, small_pred))
    spacing = (2.0, 1.0, 0.5)
    small = directed_surface_distances(small_pred, small_ref, spacing)
    big = directed_surface_distances(big_pred, big_ref, spacing)
    for a, b in zip(small, big):
        np.testing.assert_allclose(np.sort(a), np.sort(b))


@pytest.mark.parametrize("pred_empty, ref_empty", [(True, False), (False, True)])
def test_one_empty_mask_gets_the_image_diagonal(pred_empty: bool, ref_empty: bool) -> None:
    blob = np.zeros((4, 6, 8), bool)
    blob[1:3, 2:4, 3:5] = True
    empty = np.zeros_like(blob)
    spacing = (2.0, 1.0, 0.5)
    scores = surface_scores(empty if pred_empty else blob, empty if ref_empty else blob, spacing)
    diagonal = np.sqrt((3 * 2.0) ** 2 + (5 * 1.0) ** 2 + (7 * 0.5) ** 2)
    assert max_distance_mm(blob.shape, spacing) == pytest.approx(diagonal)
    assert (scores.hd95_mm, scores.assd_mm, scores.nsd) == (
        pytest.approx(diagonal),
        pytest.approx(diagonal),
        0.0,
    )


def test_both_empty_is_perfect() -> None:
    empty = np.zeros((3, 3, 3), bool)
    scores = surface_scores(empty, empty, (1.0, 1.0, 1.0))
    assert (scores.hd95_mm, scores.assd_mm, scores.nsd) == (0.0, 0.0, 1.0)


def test_distances_refuse_empty_or_mismatched_input() -> None:
    blob = np.ones((2, 2, 2), bool)
    with pytest.raises(ValueError, match="non-empty"):
        directed_surface_distances(blob, np.zeros_like(blob), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="shape mismatch"):
        directed_surface_distances(blob, np.ones((2, 2, 3), bool), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        directed_surface_distances(blob, blob, (1.0, 1.0))
