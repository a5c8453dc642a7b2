"""Clicks on the tumour's boundary, moved to the protocol's depth before the network sees them."""

import numpy as np
import pytest

from algorithm.click_convention import (
    boundary_clicks_to_protocol, inward_shifts, move_extreme_pairs,
)
from algorithm.geometry import world_to_index
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks
from tests.algorithm.test_pipeline import GEOMETRIES, RecordingSegmenter
from training.interaction import sample_extreme_points, shift_inward


def ellipsoid(shape=(30, 40, 36), semi=(11.0, 15.0, 9.0)):
    z, y, x = np.indices(shape)
    c = (np.asarray(shape) - 1) / 2.0
    return ((z - c[0]) / semi[0]) ** 2 + ((y - c[1]) / semi[1]) ** 2 \
        + ((x - c[2]) / semi[2]) ** 2 <= 1.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 0.8, 0.8), (0.7, 0.7, 4.0)])
@pytest.mark.parametrize("seed", range(5))
def test_boundary_clicks_land_where_the_protocol_puts_them(spacing, seed):
    """From the same extreme voxels, the move equals the training simulator's protocol shift
    (5 voxels on fine axes, 1 on thick ones), on a convex tumour, whatever the click order."""
    mask = ellipsoid()
    extremes = sample_extreme_points(mask, np.random.default_rng(seed))
    order = np.random.default_rng(seed).permutation(6)
    moved = boundary_clicks_to_protocol(extremes[order], spacing)
    np.testing.assert_array_equal(moved, shift_inward(mask, extremes, spacing)[order])


def test_a_thin_pair_meets_at_its_midpoint_and_other_clicks_stay():
    clicks = np.array([[10, 5, 20], [13, 5, 20], [11, 0, 20], [11, 30, 20], [11, 5, 2],
                       [11, 5, 40], [11, 6, 19.5]], dtype=float)  # last: a click in between
    moved = boundary_clicks_to_protocol(clicks, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(moved[:2, 0], [11.5, 11.5])  # 3 voxels apart: both to the middle
    np.testing.assert_allclose(moved[2:4, 1], [5, 25])
    np.testing.assert_allclose(moved[4:6, 2], [7, 35])
    np.testing.assert_array_equal(moved[6], clicks[6])
    np.testing.assert_array_equal(boundary_clicks_to_protocol(clicks[:1], (1, 1, 1)), clicks[:1])
    outward = move_extreme_pairs(clicks, (1.0, 1.0, 4.0), inward=-2, inward_thick=-1)
    np.testing.assert_allclose(outward[:2, 0], [8, 15])
    np.testing.assert_allclose(outward[4:6, 2], [1, 41])  # the thick axis moves 1


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_pipeline_with_boundary_clicks_sees_what_protocol_clicks_give(geometry):
    """On oblique, permuted and flipped anisotropic images: clicks on the boundary with the
    option reach the segmenter exactly as the protocol's clicks do without it, and give the
    same mask; without the option they do not."""
    image, truth = box_phantom(lo=(4, 20, 18), hi=(20, 44, 40), **geometry)
    spacing_zyx = np.asarray(image.GetSpacing())[::-1]
    on_boundary = Clicks.from_points(extreme_clicks(image, truth, inward=(0, 0, 0)))
    protocol = Clicks.from_points(extreme_clicks(image, truth,
                                                 inward=tuple(inward_shifts(spacing_zyx))))
    runs = {}
    for name, clicks, flag in (("moved", on_boundary, True), ("protocol", protocol, False),
                               ("unmoved", on_boundary, False)):
        recorder = RecordingSegmenter()
        mask = segment(image, clicks, recorder,
                       config=PipelineConfig(clicks_on_boundary=flag)).mask
        runs[name] = (recorder.cases[0], mask)
    (moved, moved_mask), (proto, proto_mask) = runs["moved"], runs["protocol"]
    np.testing.assert_allclose(moved.positive, proto.positive, atol=1e-6)
    np.testing.assert_allclose(moved.voi_lo, proto.voi_lo, atol=1e-6)
    np.testing.assert_array_equal(moved_mask, proto_mask)
    assert not np.allclose(runs["unmoved"][0].positive, proto.positive, atol=0.5)
    # the moved clicks lie inside the tumour on the input grid
    inside = np.round(world_to_index(image, protocol.positive)).astype(int)
    assert truth[tuple(inside.T)].all()
