"""The shortcuts the interactive server relies on give exactly what the plain computation gives:
the previous mask converted only where the grid reads it (from an image or an array), the
clean-up run on the lesion's box,
and a prepared image whose cached model-grid inputs serve several prompts."""

import numpy as np
import pytest
import SimpleITK as sitk

import algorithm.pipeline as pipeline
from algorithm.geometry import (
    ModelGrid, mask_to_grid, resample_to_grid, spacing_zyx, voi_from_clicks,
)
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import PreparedImage, segment, segment_prepared
from algorithm.postprocessing import fill_holes, keep_clicked_components, postprocess
from algorithm.prompts import Clicks
from tests.algorithm.helpers import OBLIQUE_FLIPPED, PERMUTED, box_phantom, extreme_clicks

GEOMETRIES = [
    pytest.param(dict(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0)), id="oblique"),
    pytest.param(dict(direction=PERMUTED, spacing_xyz=(2.5, 0.6, 0.8)), id="permuted"),
]


def _whole_mask_to_grid(mask: sitk.Image, grid: ModelGrid, like: sitk.Image) -> np.ndarray:
    """The conversion as it was: the whole mask to a float fraction, then resampled."""
    fraction = sitk.Cast(mask != 0, sitk.sitkFloat32)
    fraction.CopyInformation(like)
    return resample_to_grid(fraction, grid, default=0.0) > 0.5


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("grid_size", [16, 64])  # coarser than the image (block average) or not
def test_mask_to_grid_equals_converting_the_whole_mask(geometry, grid_size):
    image, truth = box_phantom(**geometry)
    mask = sitk.GetImageFromArray(truth * 255)
    mask.SetOrigin([v + 1e-4 for v in image.GetOrigin()])  # a mask file's rounding: `like` wins
    index = np.argwhere(truth).astype(float)
    box = voi_from_clicks(index[[0, -1]], spacing_zyx(image))
    grid = ModelGrid.around(box, spacing_zyx(image), grid_size)
    fast = mask_to_grid(mask, grid, like=image)
    assert fast.any() and not fast.all()
    np.testing.assert_array_equal(fast, _whole_mask_to_grid(mask, grid, image))
    np.testing.assert_array_equal(mask_to_grid(truth * 255, grid, like=image), fast)  # an array


def _blobs(rng: np.random.Generator, shape=(20, 24, 28)) -> np.ndarray:
    """A few hollow and solid boxes, some touching the array's faces."""
    mask = np.zeros(shape, bool)
    for _ in range(rng.integers(1, 4)):
        lo = rng.integers(0, np.asarray(shape) - 4)
        hi = np.minimum(lo + rng.integers(4, 12, size=3), shape)
        mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
        if rng.random() < 0.6 and np.all(hi - lo >= 3):
            mask[lo[0] + 1:hi[0] - 1, lo[1] + 1:hi[1] - 1, lo[2] + 1:hi[2] - 1] = False
    return mask


@pytest.mark.parametrize("seed", range(12))
def test_postprocess_on_the_lesions_box_equals_the_whole_array(seed):
    rng = np.random.default_rng(seed)
    mask = _blobs(rng)
    coords = np.argwhere(mask)
    positive = coords[rng.integers(0, len(coords), size=2)] + rng.choice([0.0, 0.5, -0.5], (2, 3))
    positive = np.vstack([positive, rng.uniform(0, 19, (1, 3))])  # one far from any blob
    negative = rng.uniform(0, 19, (2, 3))
    from algorithm.guidance.encoding import seed_mask

    background = seed_mask(negative, mask.shape)
    clicked = (mask | seed_mask(positive, mask.shape)) & ~background
    whole = fill_holes(keep_clicked_components(clicked, positive)) & ~background
    np.testing.assert_array_equal(postprocess(mask, positive, negative), whole)


def test_a_click_half_way_between_voxels_keeps_the_same_components():
    """rint rounds halves to even: x = 4.5 is voxel 4, whose window (3..5) misses the blob at
    6..10; shifted by the box's odd offset first it would round to 5 and reach the blob."""
    mask = np.zeros((8, 8, 16), bool)
    mask[2:5, 2:5, 6:11] = True  # the blob next to the click
    mask[5:7, 5:7, 2:3] = True  # another component, so the box starts at x = 2 (offset 1)
    positive = np.array([[3.0, 3.0, 4.5]])
    out = postprocess(mask, positive)
    assert out[3, 3, 4] and not out[2:5, 2:5, 6:11].any()


def test_postprocess_of_nothing_is_nothing():
    out = postprocess(np.zeros((5, 6, 7), bool), np.zeros((0, 3)), np.array([[2.0, 2.0, 2.0]]))
    assert out.dtype == bool and not out.any()


def test_a_prepared_image_serves_repeated_prompts_from_its_cache(monkeypatch):
    """Corrective clicks that keep the VOI reuse the cached grid input, and every mask equals
    what ``segment`` gives from scratch."""
    image, truth = box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    resamples = []
    real = pipeline.resample_to_grid
    monkeypatch.setattr(pipeline, "resample_to_grid",
                        lambda *a, **k: resamples.append(1) or real(*a, **k))
    prepared = PreparedImage.of(image, cache_size=4)
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    inside = image.TransformContinuousIndexToPhysicalPoint([30.0, 32.0, 12.0])
    corrected = Clicks.from_points(clicks.positive, [inside])
    segmenter = GeodesicSegmenter()
    first = segment_prepared(prepared, clicks, segmenter)
    second = segment_prepared(prepared, corrected, segmenter)
    assert len(resamples) == 1
    resamples.clear()
    np.testing.assert_array_equal(first.mask, segment(image, clicks, segmenter).mask)
    np.testing.assert_array_equal(second.mask, segment(image, corrected, segmenter).mask)
    assert first.modality == prepared.modality == "CT"


def test_the_cache_holds_at_most_its_size():
    image, truth = box_phantom()
    prepared = PreparedImage.of(image, cache_size=2)
    spacing = spacing_zyx(image)
    for shift in range(4):
        index = np.argwhere(truth)[[0, -1]].astype(float) + shift
        grid = ModelGrid.around(voi_from_clicks(index, spacing), spacing, 16)
        value = prepared.model_input(grid)
        value[...] = 0.0  # the caller owns its copy: the cache is untouched
        assert prepared.model_input(grid).any()
    assert len(prepared._inputs) == 2
