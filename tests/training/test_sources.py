"""Synthetic-lesion sources: the generator's ranges reach the lesions, the real lesion is
avoided, and a fixed seed gives the same lesion."""

import numpy as np
import SimpleITK as sitk

from algorithm.phantom import make_phantom
from training.sources import Background, SyntheticLesions
from training.synthesis import LesionSynthesisConfig


def _background() -> Background:
    phantom = make_phantom("CT", shape=(40, 128, 128), spacing_zyx=(2.0, 1.0, 1.0), seed=3)
    return Background(sitk.GetArrayFromImage(phantom.image).astype(np.float32),
                      np.array([2.0, 1.0, 1.0]), "CT",
                      sitk.GetArrayFromImage(phantom.mask).astype(bool), "phantom")


def _diameter_mm(example) -> float:
    return float(np.cbrt(6 * example.mask.sum() * np.prod(example.spacing) / np.pi))


def test_the_synthesis_ranges_reach_the_lesions_and_the_real_lesion_is_avoided():
    bg = _background()
    small = SyntheticLesions([bg], donors=[], p_transplant=0.0, crop_mm=1000.0,
                             synthesis=LesionSynthesisConfig(diameter_mm=(6.0, 8.0),
                                                             n_lobes=(1, 1)))
    large = SyntheticLesions([bg], donors=[], p_transplant=0.0, crop_mm=1000.0,
                             synthesis=LesionSynthesisConfig(diameter_mm=(30.0, 32.0),
                                                             n_lobes=(1, 1)))
    for seed in range(3):
        a = small.draw(np.random.default_rng(seed))
        b = large.draw(np.random.default_rng(seed))
        assert a.mask.shape == bg.image.shape  # the crop covers the whole small background
        assert _diameter_mm(a) < 10.0 < 18.0 < _diameter_mm(b) < 34.0
        assert not (a.mask & bg.avoid).any() and not (b.mask & bg.avoid).any()
        again = small.draw(np.random.default_rng(seed))
        np.testing.assert_array_equal(again.image, a.image)
