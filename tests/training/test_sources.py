"""Lesion sources: the generator's ranges reach the lesions, the real lesion is avoided, a
fixed seed gives the same lesion, and excluded channels never carry a label."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.phantom import make_phantom
from training.datasets import Case
from training.sources import (
    Background, LoadedCase, RealLesions, SyntheticLesions, backgrounds_from, load_cases,
    sampling_weights,
)
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


def _two_sequence_case(tmp_path):
    """A case whose label shows on 'flair' (constant 2) but not on 't1c' (constant 1)."""
    phantom = make_phantom("MR", shape=(20, 48, 48), seed=1)
    paths = []
    for name, value in (("t1c", 1.0), ("flair", 2.0)):
        image = sitk.GetImageFromArray(np.full((20, 48, 48), value, np.float32))
        image.CopyInformation(phantom.image)
        paths.append(tmp_path / f"{name}.nii.gz")
        sitk.WriteImage(image, str(paths[-1]))
    sitk.WriteImage(phantom.mask, str(tmp_path / "label.nii.gz"))
    return Case("c1", "p1", tuple(paths), tmp_path / "label.nii.gz", modality="MR",
                channel_names=("t1c", "flair"))


def test_excluded_channels_never_carry_the_label_but_stay_anatomy(tmp_path):
    case = _two_sequence_case(tmp_path)
    everything = load_cases([case])
    assert {float(RealLesions(everything).draw(np.random.default_rng(s)).image.flat[0])
            for s in range(20)} == {1.0, 2.0}
    loaded = load_cases([case], exclude_channels=("t1c",))
    assert loaded[0].labelled == (1,)
    assert {float(RealLesions(loaded).draw(np.random.default_rng(s)).image.flat[0])
            for s in range(20)} == {2.0}
    assert {float(loaded[0].labelled_image(np.random.default_rng(s)).flat[0])
            for s in range(20)} == {2.0}  # what transplants take from a donor
    assert len(backgrounds_from(loaded)) == 2  # both sequences still serve as anatomy
    with pytest.raises(ValueError, match="every channel"):
        load_cases([case], exclude_channels=("t1c", "flair"))
    with pytest.raises(ValueError, match="no case has a channel named T1c"):  # a typo
        load_cases([case], exclude_channels=("T1c",))


def test_validation_scores_a_named_channel_where_the_case_has_it(tmp_path):
    from training.validation import load_validation_cases

    case = _two_sequence_case(tmp_path)
    value = lambda channel: float(sitk.GetArrayFromImage(
        load_validation_cases([case], channel)[0].image).flat[0])
    assert (value(None), value("flair"), value("t2")) == (1.0, 2.0, 1.0)


def _cases(source: str, n: int, group: str) -> list[Case]:
    return [Case(f"{group}{i}", f"{group}-p{i}", (Path("i"),), Path("l"), group=group,
                 source=source) for i in range(n)]


def test_source_weights_give_each_source_its_share_whatever_its_size():
    cases = _cases("big.json", 700, "lidc") + _cases("small.json", 50, "sts")
    assert sampling_weights(cases, {}) is None  # unweighted: every case equally often
    weights = sampling_weights(cases, {"small.json": 3.0})  # big.json unnamed: weight 1
    share = weights / weights.sum()
    assert share[700:].sum() == pytest.approx(0.75) and share[:700].sum() == pytest.approx(0.25)
    assert np.allclose(share[700:], share[700])  # uniform within a source
    loaded = [LoadedCase(c, [np.zeros((2, 2, 2), np.float32)], np.zeros((2, 2, 2), bool),
                         np.ones(3), "CT", (0,)) for c in cases]
    real = RealLesions(loaded, weights)
    rng = np.random.default_rng(0)
    drawn = [real.draw(rng).source for _ in range(2000)]
    assert 0.70 < np.mean([d.startswith("real:sts") for d in drawn]) < 0.80


def test_weighted_backgrounds_follow_the_sources_and_the_extra_volumes_share_their_weight(
        tmp_path):
    cases = _cases("a.json", 4, "a") + _cases("b.json", 1, "b")
    loaded = [LoadedCase(c, [np.zeros((2, 2, 2), np.float32)] * (2 if c.group == "b" else 1),
                         np.zeros((2, 2, 2), bool), np.ones(3), "CT", (0,)) for c in cases]
    extra = tmp_path / "extra.nii.gz"
    sitk.WriteImage(sitk.Image(4, 4, 4, sitk.sitkFloat32), str(extra))
    unweighted = backgrounds_from(loaded, [extra])
    assert [b.weight for b in unweighted] == [1.0] * 7  # every image once, as before weights
    weighted = backgrounds_from(loaded, [extra], sampling_weights(cases, {"a.json": 4.0}), 0.5)
    by_name = {b.name: b.weight for b in weighted}
    assert sum(w for n, w in by_name.items() if n.startswith("a")) == pytest.approx(4.0)
    assert by_name["b0[0]"] == by_name["b0[1]"] == pytest.approx(0.5)  # b's 1 shared by 2 images
    assert by_name["extra.nii.gz"] == pytest.approx(0.5)
    source = SyntheticLesions(weighted, loaded, donor_weights=sampling_weights(cases, {}))
    assert source._background_weights is not None
