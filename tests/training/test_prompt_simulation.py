"""Simulated prompts of every kind: where their seeds lie against the reference mask (on an
anisotropic grid), that they reach training samples and validation as the product reads them,
and a tiny multi-kind training run."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.network.weights import load_model
from algorithm.phantom import make_phantom
from algorithm.prompts.raster import in_plane_axes, segment_voxels
from algorithm.prompts.seeds import prompt_seeds
from algorithm.prompts.slices import annotated_slices
from training.prompt_simulation import (
    VALIDATION_PROMPTS, BoxConfig, OutlineConfig, PromptSimulationConfig, RecistConfig,
    ScribbleConfig, draw_boxes, draw_outlines, draw_scribbles, geometry_of, largest_slice,
    recist_lines, simulate_prompt, tight_box, validation_prompt,
)
from training.samples import SampleConfig, draw_grid_sample, draw_prompt_kind
from training.train import main as train_main
from training.validation import ValidationCase, validate
from tests.training.test_training_loop import nnunet_folder, phantom_example  # noqa: F401

SPACING = np.array([3.0, 0.7, 0.9])  #: thick slices, unequal in-plane spacing


def ellipsoid(shape=(18, 64, 56), radii_mm=(21.0, 16.0, 12.0), centre=None) -> np.ndarray:
    centre = (np.asarray(shape) - 1) / 2.0 + 0.3 if centre is None else np.asarray(centre)
    grid = np.indices(shape, dtype=float)
    return sum(((grid[a] - centre[a]) * SPACING[a] / radii_mm[a]) ** 2 for a in range(3)) <= 1


MASK = ellipsoid()
IMAGE = geometry_of(MASK, SPACING)


def stroke_axis(path: np.ndarray) -> int:
    return int(np.flatnonzero(np.ptp(path, axis=0) == 0)[0])


@pytest.mark.parametrize("seed", range(8))
def test_scribbles_lie_inside_short_of_the_border_and_background_just_outside(seed):
    strokes = draw_scribbles(MASK, SPACING, np.random.default_rng(seed),
                             ScribbleConfig(background_strokes=(1, 2)))
    tumour = [p for p, t in strokes if t]
    assert 1 <= len(tumour) <= 3 and len({(stroke_axis(p), p[0, stroke_axis(p)])
                                          for p in tumour}) <= 3
    away = ndimage.distance_transform_edt(~MASK, sampling=SPACING)
    for path, is_tumour in strokes:
        axis = stroke_axis(path)
        voxels = segment_voxels(path, MASK.shape)
        plane = np.take(MASK, int(path[0, axis]), axis=axis)
        cells = tuple(voxels[:, list(in_plane_axes(axis))].T)
        if is_tumour:  # inside, and no voxel touches the slice's background (8-neighbours)
            assert ndimage.binary_erosion(plane, np.ones((3, 3), bool))[cells].all()
            length = np.linalg.norm(np.diff(path, axis=0) * SPACING, axis=1).sum()
            extent = np.ptp(np.argwhere(plane), axis=0).max() + 1
            assert length <= 0.6 * extent * SPACING[list(in_plane_axes(axis))].max()
        else:  # outside, within 6 mm (and a voxel) of the tumour
            assert not MASK[tuple(voxels.T)].any()
            assert (away[tuple(voxels.T)] <= 6.0 + SPACING.max()).all()
    seeds = prompt_seeds(IMAGE, simulate_prompt("scribbles", MASK, IMAGE,
                                                np.random.default_rng(seed)))
    assert len(seeds.tumour) and MASK[tuple(seeds.tumour.T)].all()
    assert not MASK[tuple(seeds.background.T)].any()


@pytest.mark.parametrize("seed", range(6))
def test_an_outlined_slice_matches_the_reference_within_its_shift(seed):
    config = OutlineConfig(p_smooth=0.0, p_shift=1.0, max_shift_mm=1.5)
    slice_mask = draw_outlines(MASK, SPACING, np.random.default_rng(seed), config)
    axis, numbers = annotated_slices(slice_mask, SPACING)
    assert 1 <= len(numbers) <= 3
    plane_spacing = SPACING[list(in_plane_axes(axis))]
    seeds = prompt_seeds(IMAGE, simulate_prompt("outlines", MASK, IMAGE,
                                                np.random.default_rng(seed),
                                                PromptSimulationConfig(outlines=config)))
    for number in numbers:
        reference = np.take(MASK, number, axis=axis)
        drawn = np.take(slice_mask, number, axis=axis) != 0
        to_border = np.where(reference,
                             ndimage.distance_transform_edt(reference, sampling=plane_spacing),
                             ndimage.distance_transform_edt(~reference, sampling=plane_spacing))
        assert (to_border[drawn != reference] <= 1.5 + plane_spacing.max()).all()
    # the product reads the whole slice: the drawing is tumour, the rest background
    on_slices = np.isin(seeds.tumour[:, axis], numbers)
    assert on_slices.all() and (slice_mask[tuple(seeds.tumour.T)] != 0).all()
    assert len(seeds.tumour) + len(seeds.background) == len(numbers) * MASK.size // MASK.shape[axis]


def test_outline_protocols_copy_the_largest_slice_or_three_spread_over_the_extent():
    one = draw_outlines(MASK, SPACING, np.random.default_rng(0), count=1, axis=0, noise=False)
    three = draw_outlines(MASK, SPACING, np.random.default_rng(0), count=3, axis=0, noise=False)
    assert annotated_slices(one, SPACING) == (0, [largest_slice(MASK, 0)])
    present = np.flatnonzero(MASK.any(axis=(1, 2)))
    _, numbers = annotated_slices(three, SPACING)
    wanted = present.min() + np.ptp(present) * np.array([0.25, 0.5, 0.75])
    assert np.abs(np.array(numbers) - wanted).max() <= 0.5
    assert all(np.array_equal(three[k] != 0, MASK[k]) for k in numbers)


@pytest.mark.parametrize("seed", range(8))
def test_a_box_encloses_the_largest_slice_within_its_jitter(seed):
    boxes = draw_boxes(MASK, np.random.default_rng(seed), BoxConfig(p_two=0.5))
    axes = []
    for corners in boxes:
        axis = stroke_axis(corners)
        axes.append(axis)
        number = int(corners[0, axis])
        assert number == largest_slice(MASK, axis)
        rows, cols = in_plane_axes(axis)
        lo, hi = tight_box(np.take(MASK, number, axis=axis))
        side = hi - lo
        drawn_lo, drawn_hi = corners[:, [rows, cols]].min(0), corners[:, [rows, cols]].max(0)
        assert (np.abs(drawn_lo - lo) <= 0.1 * side + 1e-9).all()
        assert (np.abs(drawn_hi - hi) <= 0.1 * side + 1e-9).all()
    assert len(set(axes)) == len(axes)  # two boxes lie on orthogonal slices
    seeds = prompt_seeds(IMAGE, simulate_prompt("box", MASK, IMAGE, np.random.default_rng(seed)))
    assert len(seeds.weak_tumour) and MASK[tuple(seeds.weak_tumour.T)].all()


def longest_diameter(plane: np.ndarray, spacing: np.ndarray) -> float:
    """Brute force: the largest distance between tumour voxel centres on a slice, mm."""
    points = np.argwhere(plane) * spacing
    return float(np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)).max())


@pytest.mark.parametrize("seed", range(8))
def test_recist_axes_are_the_longest_diameter_and_its_perpendicular_within_the_jitter(seed):
    exact = recist_lines(MASK, SPACING, 0, None, long_only=False)
    jittered = recist_lines(MASK, SPACING, 0, np.random.default_rng(seed),
                            RecistConfig(jitter_mm=2.0), long_only=False)
    number = largest_slice(MASK, 0)
    assert all((line[:, 0] == number).all() for line in exact + jittered)
    truth = longest_diameter(MASK[number], SPACING[1:])
    length = lambda line: float(np.linalg.norm((line[1] - line[0]) * SPACING))
    assert length(exact[0]) == pytest.approx(truth)
    assert abs(length(jittered[0]) - truth) <= 2 * 2.0 + SPACING[1:].max()
    along, across = ((line[1] - line[0]) * SPACING for line in exact)
    assert abs(np.dot(along, across)) <= 1e-6 * length(exact[0]) * length(exact[1])
    for line, moved in zip(exact, jittered):  # each end moved at most 2 mm in the slice
        assert (np.linalg.norm((moved - line) * SPACING, axis=1) <= 2.0 + 1e-9).all()
    assert len(recist_lines(MASK, SPACING, 0, None, long_only=True)) == 1


def test_one_prompt_kind_draws_nothing_from_the_stream():
    rng = np.random.default_rng(3)
    assert draw_prompt_kind(SampleConfig(), rng) == "clicks"
    assert rng.random() == np.random.default_rng(3).random()
    with pytest.raises(ValueError, match="one weight"):
        SampleConfig(prompt_kinds=("clicks", "box"), prompt_kind_weights=(1.0,))


@pytest.mark.parametrize("kind", ["scribbles", "outlines", "box", "recist"])
def test_samples_of_each_kind_carry_its_seeds_and_hold_the_lesion(kind):
    example, _ = phantom_example()
    config = SampleConfig(grid_size=32, p_refine=0.0, augment=False, prompt_kinds=(kind,))
    sample = draw_grid_sample(example, np.random.default_rng(1), config)
    assert sample.kind == kind and sample.seeds is not None and len(sample.positive) == 0
    positive, background = sample.seeds.positive, sample.seeds.background
    assert positive.any() and sample.target[positive].mean() > 0.9
    if background.any():
        assert (~sample.target[background]).mean() > 0.9
    faces = [np.take(sample.target, i, axis=a) for a in range(3) for i in (0, -1)]
    assert not any(face.any() for face in faces)  # the VOI grew across unbounded sides


def test_validation_prompts_map_onto_an_oblique_image_as_onto_its_index_grid():
    phantom = make_phantom("CT", shape=(24, 64, 64), seed=0)
    mask = sitk.GetArrayFromImage(phantom.mask).astype(bool)
    plain = geometry_of(mask, np.asarray(phantom.image.GetSpacing())[::-1])
    for spec in VALIDATION_PROMPTS:
        on_oblique = prompt_seeds(phantom.image, validation_prompt(
            spec, mask, phantom.image, np.random.default_rng(0)))
        on_plain = prompt_seeds(plain, validation_prompt(spec, mask, plain,
                                                         np.random.default_rng(0)))
        for field in ("tumour", "background", "weak_tumour"):
            a, b = getattr(on_oblique, field), getattr(on_plain, field)
            if spec.startswith("recist"):
                # RECIST ends are voxel centres: a line through a voxel corner is rasterised
                # on either side of it by the world round trip's last bit
                assert abs(len(a) - len(b)) <= 2 and _within_a_voxel(a, b), spec
            else:
                assert np.array_equal(a, b), spec
        assert np.allclose(on_oblique.positive_clicks, on_plain.positive_clicks, atol=1e-9)


def _within_a_voxel(a: np.ndarray, b: np.ndarray) -> bool:
    if not (len(a) and len(b)):
        return len(a) == len(b)
    gap = lambda p, q: np.abs(p[:, None] - q[None]).max(-1).min(1)
    return bool(gap(a, b).max() <= 1 and gap(b, a).max() <= 1)


@pytest.mark.parametrize("spec", ["outlines-1", "box-2"])
def test_validation_scores_a_prompt_kind_and_its_corrections(spec):
    phantom = make_phantom("CT", shape=(24, 64, 64), seed=0)
    mask = sitk.GetArrayFromImage(phantom.mask).astype(bool)
    case = ValidationCase(type("Case", (), {"group": "phantom"})(), phantom.image, mask,
                          np.asarray(phantom.image.GetSpacing())[::-1])
    summary = validate(GeodesicSegmenter(), [case], corrections=1, prompt=spec)
    assert summary["prompt"] == spec
    # the prompt reaches the pipeline (no click is given) and the corrections join it
    assert summary["dsc"] > 0.8 and summary["dsc_corrected"] > 0.8


def test_a_tiny_run_of_every_prompt_kind_lists_them_in_its_card(nnunet_folder, tmp_path):
    out = tmp_path / "run"
    kinds = ["clicks", "scribbles", "outlines", "box", "recist"]
    assert train_main(["--nnunet", str(nnunet_folder), "--out", str(out), "--epochs", "1",
                       "--steps-per-epoch", "3", "--batch-size", "2", "--grid-size", "32",
                       "--features", "4", "8", "16", "--threads", "1",
                       "--synthetic-fraction", "0.0", "--prompt-kinds", *kinds,
                       "--prompt-kind-weights", "2", "1", "1", "1", "1",
                       "--val-prompt", "box"]) == 0
    _, card = load_model(out / "best")
    assert list(card.prompt_kinds) == kinds
    assert card.training["config"]["prompt_kind_weights"] == [2.0, 1.0, 1.0, 1.0, 1.0]
    assert card.validation["prompt"] == "box" and 0.0 <= card.validation["dsc"] <= 1.0
