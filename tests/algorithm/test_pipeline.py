"""End to end on synthetic images: clicks in world mm land on the right voxels, whatever the
image's orientation and spacing, and the mask comes back on the input grid."""

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.phantom import make_phantom
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import (
    OBLIQUE_FLIPPED, PERMUTED, box_phantom, dice, extreme_clicks, two_box_phantom,
)

GEOMETRIES = [
    pytest.param(dict(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0)), id="oblique"),
    pytest.param(dict(direction=PERMUTED, spacing_xyz=(2.5, 0.6, 0.8)), id="permuted"),
    pytest.param(dict(direction=(-1, 0, 0, 0, -1, 0, 0, 0, 1), spacing_xyz=(0.8, 0.8, 4.0)),
                 id="flipped-lps"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_box_lesion_found_on_the_input_grid(geometry):
    image, truth = box_phantom(**geometry)
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    result = segment(image, clicks, GeodesicSegmenter())
    assert result.mask.shape == truth.shape and result.mask.dtype == np.uint8
    assert dice(result.mask, truth) > 0.9


def test_clicks_on_a_different_box_segment_that_box():
    """Two boxes: six clicks on the second one must give the second one, not the first."""
    moved, first, second = two_box_phantom()
    result = segment(moved, Clicks.from_points(extreme_clicks(moved, second)), GeodesicSegmenter())
    assert dice(result.mask, second) > 0.9 and not (result.mask & first).any()


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_lobulated_phantom(modality):
    phantom = make_phantom(modality)
    result = segment(phantom.image, Clicks.from_points(phantom.clicks_xyz), GeodesicSegmenter())
    assert result.modality == modality
    assert dice(result.mask, sitk.GetArrayFromImage(phantom.mask)) > 0.8


class ThresholdSegmenter:
    """Test double: the bright region connected to the clicks, whatever the VOI, so the growth
    of the VOI is tested on its own."""

    name = "threshold"
    grid_size = 64

    def predict(self, case):
        from scipy import ndimage

        labels, _ = ndimage.label(case.image > 0.3)
        seeds = np.rint(case.positive).astype(int)
        keep = {labels[tuple(p)] for p in seeds if labels[tuple(p)]}
        return np.isin(labels, list(keep)).astype(np.float32)


def test_single_click_grows_the_voi_to_the_whole_lesion():
    """A lesion much larger than the single-click VOI: the VOI must grow, not cut it off."""
    image, truth = box_phantom(shape=(30, 120, 120), lo=(5, 20, 20), hi=(25, 100, 100),
                               spacing_xyz=(0.8, 0.8, 2.0))
    centre = np.argwhere(truth).mean(axis=0)
    click = image.TransformContinuousIndexToPhysicalPoint([float(v) for v in centre[::-1]])
    result = segment(image, Clicks.from_points([click]), ThresholdSegmenter())
    fixed = segment(image, Clicks.from_points([click]), ThresholdSegmenter(),
                    config=PipelineConfig(max_grow_steps=0))
    assert result.grow_steps >= 1
    assert dice(result.mask, truth) > 0.9 > 0.5 > dice(fixed.mask, truth)


def test_negative_click_excludes_a_region_the_clicks_spanned():
    image, truth = box_phantom()
    array = sitk.GetArrayFromImage(image)
    neighbour = np.zeros_like(truth)
    neighbour[8:16, 44:56, 18:40] = 1  # same intensity, glued to the lesion
    array[neighbour.astype(bool)] = 120
    glued = sitk.GetImageFromArray(array)
    glued.CopyInformation(image)
    clicks = extreme_clicks(glued, truth | neighbour)  # the user's clicks spanned both
    before = segment(glued, Clicks.from_points(clicks), GeodesicSegmenter()).mask
    neighbour_centre = glued.TransformContinuousIndexToPhysicalPoint([29.0, 52.0, 12.0])
    after = segment(glued, Clicks.from_points(clicks, [neighbour_centre]),
                    GeodesicSegmenter()).mask
    assert (after & neighbour).sum() < (before & neighbour).sum()
    assert dice(after, truth) > dice(before, truth)


class RecordingSegmenter(ThresholdSegmenter):
    """Remembers the grid cases it was given."""

    def __init__(self):
        self.cases = []

    def predict(self, case):
        self.cases.append(case)
        return super().predict(case)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_previous_mask_reaches_the_grid_binary_and_where_the_lesion_is(geometry):
    """Refinement sees the previous mask as training built it: binary, on the lesion's voxels
    (the image grid's lesion, resampled to the model grid, matches the previous-mask channel)."""
    image, truth = box_phantom(**geometry)
    previous = sitk.GetImageFromArray(truth)
    previous.CopyInformation(image)
    recorder = RecordingSegmenter()
    segment(image, Clicks.from_points(extreme_clicks(image, truth)), recorder,
            previous_mask=previous)
    case = recorder.cases[-1]
    assert set(np.unique(case.previous_mask)) == {0.0, 1.0}
    lesion_on_grid = case.image > 0.3  # the box is the only bright region inside the VOI
    assert dice(case.previous_mask.astype(bool), lesion_on_grid) > 0.9


class BallSegmenter:
    """Test double that ignores every click but the first: a small ball around it, so what the
    pipeline itself does with the other clicks is tested on its own."""

    name = "ball"
    grid_size = 32

    def predict(self, case):
        grid = np.indices(case.image.shape, dtype=float)
        centre = np.asarray(case.positive[0]).reshape(3, 1, 1, 1)
        return (((grid - centre) ** 2).sum(axis=0) <= 3.0**2).astype(np.float32)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_every_click_voxel_carries_its_label_whatever_the_segmenter_says(geometry):
    """A background click inside the predicted ball (an enclosed hole that hole filling must not
    close) and tumour clicks far outside it: each click's own voxel comes out as clicked."""
    image, truth = box_phantom(**geometry)
    centre = np.rint(np.argwhere(truth).mean(axis=0)).astype(int)
    to_world = lambda idx: image.TransformContinuousIndexToPhysicalPoint(
        [float(v) for v in np.asarray(idx)[::-1]])
    finest = int(np.argmin(np.asarray(image.GetSpacing())[::-1]))
    inside = centre + np.eye(3, dtype=int)[finest]  # one voxel off centre, along the finest axis
    extremes = extreme_clicks(image, truth)
    clicks = Clicks.from_points(np.vstack([[to_world(centre)], extremes]), [to_world(inside)])
    mask = segment(image, clicks, BallSegmenter()).mask
    assert mask[tuple(centre)] == 1 and mask[tuple(inside)] == 0
    for point in extremes:
        index = image.TransformPhysicalPointToContinuousIndex([float(v) for v in point])[::-1]
        assert mask[tuple(np.rint(index).astype(int))] == 1


def test_the_mask_is_the_cut_the_segmenters_threshold_names():
    """A card's threshold cuts a first answer's probability (the VOI still grows on the 0.5
    cut); a refinement is cut at 0.5."""

    class Graded:
        """A probability falling off linearly from the lesion's centre: a higher cut, a
        smaller mask."""

        name, grid_size = "network", 48

        def __init__(self, threshold=None):
            if threshold is not None:
                self.threshold = threshold

        def predict(self, case):
            centre = (np.asarray(case.voi_lo) + np.asarray(case.voi_hi)) / 2
            half = (np.asarray(case.voi_hi) - np.asarray(case.voi_lo)) / 2
            grid = np.indices((self.grid_size,) * 3, dtype=np.float32)
            r = np.sqrt(sum(((g - c) / h) ** 2 for g, c, h in zip(grid, centre, half)))
            return np.clip(1.0 - 0.5 * r, 0.0, 1.0).astype(np.float32)

    image, truth = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    plain = segment(image, clicks, Graded()).mask.sum()
    half = segment(image, clicks, Graded(0.5)).mask.sum()
    high = segment(image, clicks, Graded(0.8)).mask.sum()
    assert plain == half and 0 < high < half
    # a refinement (fed the previous mask) is cut at 0.5 whatever the card says
    previous = sitk.GetImageFromArray(segment(image, clicks, Graded(0.8)).mask)
    previous.CopyInformation(image)
    refined = [segment(image, clicks, g, previous_mask=previous).mask
               for g in (Graded(), Graded(0.8))]
    np.testing.assert_array_equal(refined[0], refined[1])


def test_a_box_is_cut_at_its_kinds_threshold_and_the_voi_grows_on_that_cut():
    """A card's cut for a prompt kind (``kind_thresholds``) applies to first answers of cases
    holding it, and the VOI grows where that cut's mask reaches a face; clicks alone keep the
    card's ``threshold``."""
    from algorithm.geometry import index_to_world
    from algorithm.prompts.boxes import parse_boxes
    from algorithm.prompts.prompt_set import PromptSet

    class Stepped:
        """Sure (0.9) in the VOI's middle, unsure (0.4) out to 1.3 times its half extents:
        the 0.5 cut stays well inside the VOI, a 0.3 cut reaches past its faces."""

        name, grid_size, threshold = "network", 48, 0.5

        def __init__(self, kind_thresholds=None):
            self.kind_thresholds = kind_thresholds or {}

        def predict(self, case):
            centre = (np.asarray(case.voi_lo) + np.asarray(case.voi_hi)) / 2
            half = (np.asarray(case.voi_hi) - np.asarray(case.voi_lo)) / 2
            grid = np.indices((self.grid_size,) * 3, dtype=np.float32)
            r = np.sqrt(sum(((g - c) / h) ** 2 for g, c, h in zip(grid, centre, half)))
            return np.select([r < 0.5, r < 1.3], [0.9, 0.4], 0.0).astype(np.float32)

    image, truth = box_phantom()
    corners = index_to_world(image, np.array([[12.0, 19, 17], [12, 19, 40], [12, 44, 40],
                                              [12, 44, 17]]))
    box = PromptSet(boxes=parse_boxes({"type": "2D bounding box", "corners": corners.tolist(),
                                       "version": {"major": 1, "minor": 0}}))
    plain = segment(image, box, Stepped())
    lowered = segment(image, box, Stepped({"box": 0.3}))
    other_kind = segment(image, box, Stepped({"recist": 0.3}))
    assert plain.grow_steps == 0 and lowered.grow_steps > 0
    assert lowered.mask.sum() > 2 * plain.mask.sum()
    np.testing.assert_array_equal(other_kind.mask, plain.mask)
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    np.testing.assert_array_equal(segment(image, clicks, Stepped({"box": 0.3})).mask,
                                  segment(image, clicks, Stepped()).mask)
