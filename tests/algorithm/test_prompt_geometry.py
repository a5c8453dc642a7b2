"""Every prompt kind lands on the voxels its world coordinates name, on oblique, anisotropic (and
permuted) images: checked against SimpleITK's own index <-> world transforms, never our own."""

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import ModelGrid, spacing_zyx
from algorithm.guidance.encoding import gaussian_click_map, gaussian_seed_map
from algorithm.measurements.axial import axial_array_axis
from algorithm.prompts.boxes import BoundingBox
from algorithm.prompts.clicks import Clicks
from algorithm.prompts.distances import RecistAxes
from algorithm.prompts.lines import Scribble
from algorithm.prompts.polygons import Outline
from algorithm.prompts.prompt_set import PromptSet
from algorithm.prompts.seeds import prompt_seeds
from algorithm.prompts.slices import annotated_slices, read_slice_mask
from tests.algorithm.helpers import OBLIQUE_FLIPPED, PERMUTED, make_image

SHAPE = (12, 40, 36)  # z, y, x
OBLIQUE = dict(spacing_xyz=(0.7, 0.9, 3.0), direction=OBLIQUE_FLIPPED)
SAGITTAL = dict(spacing_xyz=(2.5, 0.6, 0.8), direction=PERMUTED)


def image_of(geometry=OBLIQUE, shape=SHAPE) -> sitk.Image:
    return make_image(np.zeros(shape, np.int16), **geometry)


def world(image: sitk.Image, index_zyx) -> np.ndarray:
    """World points (x, y, z) of continuous (z, y, x) indices, by SimpleITK."""
    pts = np.asarray(index_zyx, dtype=float).reshape(-1, 3)
    return np.array([image.TransformContinuousIndexToPhysicalPoint([float(v) for v in p[::-1]])
                     for p in pts])


def sitk_index(image: sitk.Image, points_xyz) -> np.ndarray:
    """Continuous (z, y, x) indices of world points, by SimpleITK."""
    return np.array([image.TransformPhysicalPointToContinuousIndex([float(v) for v in p])[::-1]
                     for p in np.asarray(points_xyz, dtype=float).reshape(-1, 3)])


def as_set(voxels) -> set:
    return {tuple(int(v) for v in row) for row in np.asarray(voxels).reshape(-1, 3)}


def seeds_of(image, **prompts):
    return prompt_seeds(image, PromptSet(**prompts))


def inside_polygon(point, vertices) -> bool:
    """Ray casting, one point at a time: the reference for the scanline fill."""
    y, x = point
    inside = False
    for (y0, x0), (y1, x1) in zip(vertices, np.roll(vertices, -1, axis=0)):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


@pytest.mark.parametrize("geometry", [OBLIQUE, SAGITTAL], ids=["oblique", "sagittal"])
def test_a_scribble_across_slices_marks_exactly_the_voxels_it_passes(geometry):
    image = image_of(geometry)
    ends = world(image, [(1.3, 5.2, 4.1), (6.0, 20.7, 12.9), (10.4, 33.1, 30.2)])
    seeds = seeds_of(image, scribbles=(Scribble((ends,), tumour=True),))
    got = as_set(seeds.tumour)
    # every voxel SimpleITK names for points along the stroke (sampled in world mm) is marked
    t = np.linspace(0.0, 1.0, 4001)[:, None]
    samples = np.concatenate([a + t * (b - a) for a, b in zip(ends[:-1], ends[1:])])
    assert as_set(np.rint(sitk_index(image, samples[::7]))) <= got
    # and every marked voxel's cell is one the stroke passes through (Chebyshev <= 1/2)
    path = sitk_index(image, samples)
    for voxel in seeds.tumour:
        assert np.abs(path - voxel).max(axis=1).min() <= 0.5 + 1e-3
    assert len({v[0] for v in got}) > 5  # it crosses slices
    assert len(seeds.background) == 0 and not seeds.extent.bounded.any()


@pytest.mark.parametrize("geometry", [OBLIQUE, SAGITTAL], ids=["oblique", "sagittal"])
def test_background_strokes_around_a_short_tumour_stroke_widen_the_extent(geometry):
    """A short stroke deep in the tumour and a background stroke just outside it: the lesion
    lies between them, so the extent (and with it the volume of interest) reaches the
    background stroke, though it still bounds nothing."""
    image = image_of(geometry, shape=(30, 120, 110))
    tumour = Scribble((world(image, [(15, 58, 52), (15, 62, 55)]),), tumour=True)
    around = Scribble((world(image, [(15, 30, 25), (15, 30, 85), (15, 90, 85)]),), tumour=False)
    alone = seeds_of(image, scribbles=(tumour,))
    both = seeds_of(image, scribbles=(tumour, around))
    voxels = np.concatenate([both.tumour, both.background])
    assert (both.extent.lo <= voxels.min(axis=0) + 1e-9).all()
    assert (both.extent.hi >= voxels.max(axis=0) - 1e-9).all()
    assert ((both.extent.hi - both.extent.lo)[1:] > 2 * (alone.extent.hi - alone.extent.lo)[1:]).all()
    assert not both.extent.bounded.any()
    assert as_set(both.tumour) == as_set(alone.tumour)


def test_an_outline_on_a_slice_of_an_oblique_image():
    image = image_of()
    k = 7
    vertices = np.array([(8.3, 6.2), (9.1, 27.7), (30.6, 25.0), (33.4, 12.2), (20.0, 3.9)])
    points = world(image, np.insert(vertices, 0, k, axis=1) + [0.3, 0, 0])  # 0.3 off: allowed
    seeds = seeds_of(image, outlines=(Outline(points, tumour=True),))
    drawn = sitk_index(image, points)[:, 1:]  # the outline as SimpleITK maps it
    expected = {(k, y, x) for y in range(SHAPE[1]) for x in range(SHAPE[2])
                if inside_polygon((y, x), drawn)}
    assert as_set(seeds.tumour) == expected
    whole_slice = {(k, y, x) for y in range(SHAPE[1]) for x in range(SHAPE[2])}
    assert as_set(seeds.background) == whole_slice - expected  # a fully annotated slice
    assert seeds.extent.bounded.tolist() == [[False, False], [True, True], [True, True]]


def test_a_background_outline_cuts_a_hole_and_outlines_that_cross_are_refused():
    image = image_of()
    outer = world(image, [(5, 5, 5), (5, 5, 30), (5, 35, 30), (5, 35, 5)])
    hole = world(image, [(5, 15, 12), (5, 15, 20), (5, 25, 20), (5, 25, 12)])
    seeds = seeds_of(image, outlines=(Outline(outer, True), Outline(hole, False)))
    assert (5, 20, 16) in as_set(seeds.background) and (5, 10, 16) in as_set(seeds.tumour)
    across = world(image, [(5, 2, 2), (5, 2, 15), (5, 15, 15), (5, 15, 2)])
    with pytest.raises(InputError, match=r"^outlines 1 and 2 cross on slice k = 5"):
        seeds_of(image, outlines=(Outline(outer, True), Outline(across, False)))
    bowtie = world(image, [(5, 5, 5), (5, 30, 30), (5, 30, 5), (5, 5, 30)])
    with pytest.raises(InputError, match=r"^outline 1 crosses itself"):
        seeds_of(image, outlines=(Outline(bowtie, True),))
    flat = world(image, [(5, 5, 5), (5, 10, 10), (5, 20, 20)])
    with pytest.raises(InputError, match=r"^outline 1 encloses no area"):
        seeds_of(image, outlines=(Outline(flat, True),))
    other_slice = world(image, [(6, 2, 2), (6, 2, 15), (6, 15, 15), (6, 15, 2)])
    assert seeds_of(image, outlines=(Outline(outer, True), Outline(other_slice, True)))


@pytest.mark.parametrize("offset, ok", [(0.45, True), (0.6, False)])
def test_slice_prompts_must_lie_in_one_slice_within_half_a_voxel(offset, ok):
    image = image_of()
    square = np.array([(4, 5, 5), (4, 5, 20), (4, 20, 20), (4, 20, 5)], dtype=float)
    tilted = square + [[0, 0, 0], [offset, 0, 0], [offset, 0, 0], [0, 0, 0]]
    for prompts in (dict(outlines=(Outline(world(image, tilted), True),)),
                    dict(boxes=(BoundingBox(world(image, tilted)),))):
        if ok:
            assert seeds_of(image, **prompts)
        else:
            with pytest.raises(InputError, match="does not lie in one slice of the image"):
                seeds_of(image, **prompts)


def test_a_box_says_its_outside_on_its_slice_is_background():
    image = image_of()
    k, (y0, y1), (x0, x1) = 6, (10.4, 31.6), (8.2, 25.5)
    corners = world(image, [(k, y0, x0), (k, y0, x1), (k, y1, x1), (k, y1, x0)])
    seeds = seeds_of(image, boxes=(BoundingBox(corners),))
    lo, hi = sitk_index(image, corners).min(axis=0), sitk_index(image, corners).max(axis=0)
    inside = {(k, y, x) for y in range(SHAPE[1]) for x in range(SHAPE[2])
              if lo[1] <= y <= hi[1] and lo[2] <= x <= hi[2]}
    whole_slice = {(k, y, x) for y in range(SHAPE[1]) for x in range(SHAPE[2])}
    assert as_set(seeds.background) == whole_slice - inside
    assert len(seeds.tumour) == 0 and as_set(seeds.weak_tumour) <= inside
    middle = np.rint((lo + hi) / 2).astype(int)
    assert tuple(middle) in as_set(seeds.weak_tumour)
    # the box bounds its plane, not its depth: the prior is half the larger edge (mm) each way
    assert seeds.extent.bounded.tolist() == [[False, False], [True, True], [True, True]]
    spacing = spacing_zyx(image)
    half_mm = max((y1 - y0) * spacing[1], (x1 - x0) * spacing[2]) / 2
    np.testing.assert_allclose(seeds.extent.hi[0] - k, min(half_mm / spacing[0],
                                                           SHAPE[0] - 0.5 - k), atol=1e-6)


def test_two_orthogonal_boxes_bound_the_lesion_in_3d():
    image = image_of(SAGITTAL)
    axial = world(image, [(4, 10, 8), (4, 10, 20), (4, 22, 20), (4, 22, 8)])
    across = world(image, [(2, 16, 8), (2, 16, 20), (9, 16, 20), (9, 16, 8)])
    seeds = seeds_of(image, boxes=(BoundingBox(axial), BoundingBox(across)))
    assert seeds.extent.bounded.all()
    np.testing.assert_allclose(seeds.extent.lo, [2, 10, 8], atol=1e-6)
    np.testing.assert_allclose(seeds.extent.hi, [9, 22, 20], atol=1e-6)


@pytest.mark.parametrize("geometry", [OBLIQUE, SAGITTAL], ids=["oblique", "sagittal"])
def test_recist_axes_are_tumour_lines_on_the_key_slice(geometry):
    image = image_of(geometry)
    key = axial_array_axis(image.GetDirection())
    a, b = (axis for axis in range(3) if axis != key)

    def on_key_slice(*fractions):  # points on slice 3 across the key axis, by in-plane share
        points = np.full((len(fractions), 3), 3.0)
        points[:, [a, b]] = np.asarray(fractions) * (np.array([SHAPE[a], SHAPE[b]]) - 1)
        return points

    long_ends = on_key_slice((0.13, 0.14), (0.79, 0.71))
    short_ends = on_key_slice((0.62, 0.2), (0.33, 0.66))
    long_w, short_w = world(image, long_ends), world(image, short_ends)
    seeds = seeds_of(image, recist=RecistAxes(long_w, short_w))
    got = as_set(seeds.tumour)
    assert {v[key] for v in got} == {3}
    for a, b in ((long_w[0], long_w[1]), (short_w[0], short_w[1])):
        middle = sitk_index(image, [a + t * (b - a) for t in np.linspace(0.2, 0.8, 61)])
        assert as_set(np.rint(middle)) <= got
    assert len(seeds.weak_tumour) > 0 and {v[key] for v in as_set(seeds.weak_tumour)} == {3}
    assert not seeds.extent.bounded[key].any() and seeds.extent.bounded.sum() == 4


def test_recist_lines_off_one_slice_are_refused():
    image = image_of()
    flat = world(image, [(3, 6, 5), (3, 30, 25)])
    with pytest.raises(InputError, match="RECIST long axis .*does not lie in one slice"):
        seeds_of(image, recist=RecistAxes(world(image, [(3, 6, 5), (5, 30, 25)])))
    with pytest.raises(InputError, match="RECIST long and short axes lie on different slices"):
        seeds_of(image, recist=RecistAxes(flat, world(image, [(4, 20, 6), (4, 14, 20)])))


def test_points_outside_the_image_are_refused_with_the_ras_hint_when_it_applies():
    image = image_of(dict(spacing_xyz=(0.7, 0.9, 3.0), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1),
                          origin=(10.0, 20.0, 30.0)))
    inside = world(image, [(3, 5, 5), (3, 5, 20), (3, 20, 20), (3, 20, 5)])
    with pytest.raises(InputError, match=r"^box 1 point 1 lies outside the image .*the prompt "
                                         r"and the image do not overlap; these look like RAS"):
        seeds_of(image, boxes=(BoundingBox(inside * [-1, -1, 1]),))
    beyond = inside + [0, 0, 500.0]
    with pytest.raises(InputError, match=r"^scribble 1 point 1 lies outside the image .*do not "
                                         r"overlap$"):
        seeds_of(image, scribbles=(Scribble((beyond,), True),))


def test_background_wins_and_prompts_without_tumour_are_refused():
    image = image_of()
    box = world(image, [(6, 10, 10), (6, 10, 20), (6, 20, 20), (6, 20, 10)])
    stroke = world(image, [(6, 15, 2), (6, 15, 30)])  # runs out of the box on its slice
    seeds = seeds_of(image, boxes=(BoundingBox(box),), scribbles=(Scribble((stroke,), True),))
    assert (6, 15, 3) in as_set(seeds.background) and (6, 15, 3) not in as_set(seeds.tumour)
    assert not as_set(seeds.tumour) & as_set(seeds.background)
    assert not as_set(seeds.weak_tumour) & (as_set(seeds.tumour) | as_set(seeds.background))
    with pytest.raises(InputError, match="say nowhere that the tumour is"):
        seeds_of(image, scribbles=(Scribble((stroke,), False),))


def test_a_slice_mask_annotates_the_axis_with_fewest_nonzero_slices(tmp_path):
    image = image_of(SAGITTAL)
    mask = np.zeros(SHAPE, np.uint8)
    mask[:, :, 10][3:9, 12:30] = 1  # two sagittal-like slices across array axis 2 ...
    mask[:, :, 22][4:8, 15:25] = 2  # ... any non-zero value is tumour
    assert annotated_slices(mask, spacing_zyx(image)) == (2, [10, 22])
    file = tmp_path / "slices.nii.gz"
    written = sitk.GetImageFromArray(mask)
    written.CopyInformation(image)
    sitk.WriteImage(written, str(file))
    seeds = prompt_seeds(image, PromptSet(slice_mask=read_slice_mask(file, image)))
    assert as_set(seeds.tumour) == as_set(np.argwhere(mask))
    assert {v[2] for v in as_set(seeds.background)} == {10, 22}
    assert len(seeds.background) == 2 * SHAPE[0] * SHAPE[1] - len(seeds.tumour)
    with pytest.raises(InputError, match="no non-zero voxel"):
        annotated_slices(np.zeros(SHAPE), spacing_zyx(image))
    moved = sitk.GetImageFromArray(mask)
    moved.CopyInformation(image)
    moved.SetOrigin((0.0, 0.0, 0.0))
    sitk.WriteImage(moved, str(tmp_path / "moved.nii.gz"))
    with pytest.raises(InputError, match="slice mask moved.nii.gz has origin"):
        read_slice_mask(tmp_path / "moved.nii.gz", image)


def test_seeds_reach_the_model_grid_exactly_fine_or_coarse():
    image = image_of()
    spacing = spacing_zyx(image)
    outline = world(image, [(5, 8, 6), (5, 8, 28), (5, 32, 28), (5, 32, 6)])
    stroke = world(image, [(2, 3, 3), (9, 35, 31)])
    seeds = seeds_of(image, outlines=(Outline(outline, True),),
                     scribbles=(Scribble((stroke,), True),))
    stroke_only = seeds_of(image, scribbles=(Scribble((stroke,), True),))
    for box_scale in (0.4, 3.0):  # a grid finer than the image, then a coarser one
        voi = seeds.extent.voi(spacing)
        half = (voi.hi - voi.lo) / 2 * box_scale
        grid = ModelGrid.around(type(voi)(voi.centre - half, voi.centre + half), spacing, 32)
        on_grid = seeds.on_grid(grid)
        assert on_grid.tumour.any() and on_grid.background.any()
        assert not (on_grid.tumour & on_grid.background).any()
        tumour = stroke_only.on_grid(grid).tumour
        # pushed: each seed voxel whose centre falls on the grid marks its nearest grid voxel
        near = np.rint(grid.image_to_grid_index(stroke_only.tumour.astype(float))).astype(int)
        near = near[np.all((near >= 0) & (near < 32), axis=1)]
        # pulled: a grid voxel whose centre lies in a seed voxel is a seed
        centres = np.argwhere(np.ones((32,) * 3, bool))
        cells = np.rint(grid.grid_to_image_index(centres.astype(float))).astype(int)
        inside = np.all((cells >= 0) & (cells < SHAPE), axis=1)
        is_seed = np.zeros(SHAPE, bool)
        is_seed[tuple(stroke_only.tumour.T)] = True
        pulled = centres[inside][is_seed[tuple(cells[inside].T)]]
        expected = np.zeros_like(tumour)
        expected[tuple(near.T)] = True
        expected[tuple(pulled.T)] = True
        np.testing.assert_array_equal(tumour, expected)
    fine = ModelGrid.around(seeds.extent.voi(spacing), spacing, 64)
    slab = fine.image_to_grid_index(np.array([[5.0, 20.0, 17.0]]))[0]
    plane = seeds.on_grid(fine).tumour[int(np.rint(slab[0]))]
    assert plane[int(slab[1]) - 3:int(slab[1]) + 3, int(slab[2]) - 3:int(slab[2]) + 3].all()


def test_the_gaussian_seed_map_is_the_max_of_per_voxel_gaussians():
    rng = np.random.default_rng(0)
    seeds = rng.random((20, 24, 22)) > 0.995
    seeds[10, 5:18, 7] = True
    dense = gaussian_seed_map(seeds, 2.0)
    per_voxel = gaussian_click_map(np.argwhere(seeds).astype(float), seeds.shape, 2.0)
    # equal up to the click map's cut-off at 4 sigma, below exp(-8)
    assert np.abs(dense - per_voxel).max() <= np.exp(-8.0) + 1e-6
    assert dense[seeds].min() == 1.0


def test_clicks_alone_keep_the_click_path():
    image = image_of()
    clicks = Clicks.from_points(world(image, [(3, 10, 10), (8, 30, 25)]))
    seeds = prompt_seeds(image, clicks)
    assert seeds.clicks_only and seeds.on_grid(ModelGrid.around(
        seeds.extent.voi(spacing_zyx(image)), spacing_zyx(image), 16)) is None
    np.testing.assert_allclose(seeds.positive_clicks, sitk_index(image, clicks.positive),
                               atol=1e-9)
    assert seeds.extent.bounded.all() and seeds.kinds == ("clicks",)
