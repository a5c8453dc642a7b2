"""A scan's grid without its voxels places a mask exactly where the scan itself would."""

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.io.images import ImageGrid, mask_image
from tests.algorithm.helpers import OBLIQUE_FLIPPED, box_phantom


def test_the_grid_places_a_mask_as_the_image_does():
    image, truth = box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    from_image, from_grid = mask_image(truth, image), mask_image(truth, ImageGrid.of(image))
    for out in (from_image, from_grid):
        assert out.GetPixelID() == sitk.sitkUInt8 and out.GetSize() == image.GetSize()
        assert out.GetSpacing() == image.GetSpacing() and out.GetOrigin() == image.GetOrigin()
        assert out.GetDirection() == image.GetDirection()
        np.testing.assert_array_equal(sitk.GetArrayViewFromImage(out), truth)


def test_the_grid_refuses_an_image_of_another_size():
    image, truth = box_phantom()
    with pytest.raises(ValueError, match="not the grid's"):
        mask_image(truth[:-1], ImageGrid.of(image))
