import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.geometry import (
    Box, ModelGrid, check_inside, grid_to_image, index_to_world, resample_to_grid, spacing_zyx,
    voi_from_clicks, world_to_index,
)
from tests.algorithm.helpers import OBLIQUE_FLIPPED, PERMUTED, make_image

GEOMETRIES = [
    pytest.param(dict(direction=OBLIQUE_FLIPPED), id="oblique-flipped"),
    pytest.param(dict(direction=PERMUTED, spacing_xyz=(2.5, 0.6, 0.8)), id="permuted"),
    pytest.param(dict(direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), spacing_xyz=(0.5, 0.5, 5.0)),
                 id="axial-thick"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_world_to_index_matches_simpleitk(geometry):
    image = make_image(np.zeros((10, 12, 14), np.float32), **geometry)
    rng = np.random.default_rng(1)
    index_xyz = rng.uniform(-0.5, 9.5, (20, 3))
    world = np.array([image.TransformContinuousIndexToPhysicalPoint(list(i)) for i in index_xyz])
    np.testing.assert_allclose(world_to_index(image, world), index_xyz[:, ::-1], atol=1e-9)
    np.testing.assert_allclose(index_to_world(image, index_xyz[:, ::-1]), world, atol=1e-9)


def test_check_inside_uses_voxel_extent():
    shape = np.array([10, 12, 14])
    check_inside(np.array([[-0.5, -0.5, -0.5], [9.5, 11.5, 13.5]]), shape)
    with pytest.raises(InputError, match="click 2 lies outside the image"):
        check_inside(np.array([[0, 0, 0], [9.6, 0, 0]]), shape)


def test_voi_contains_clicks_with_margin_and_minimum_size():
    spacing = np.array([3.0, 0.8, 0.8])
    clicks = np.array([[5, 20, 20], [15, 60, 50]], dtype=float)
    box = voi_from_clicks(clicks, spacing)
    assert np.all(box.lo < clicks.min(axis=0)) and np.all(box.hi > clicks.max(axis=0))
    single = voi_from_clicks(np.array([[5.0, 5.0, 5.0]]), spacing)
    np.testing.assert_allclose(single.extent_mm(spacing), 30.0)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_model_grid_reference_agrees_with_index_mapping(geometry):
    image = make_image(np.zeros((20, 30, 40), np.float32), **geometry)
    box = Box(lo=np.array([2.0, 3.0, 4.0]), hi=np.array([15.0, 20.0, 30.0]))
    grid = ModelGrid.around(box, spacing_zyx(image), 16)
    ref = grid.reference(image)
    for g in ([0, 0, 0], [15, 15, 15], [3, 9, 12]):
        expected = index_to_world(image, grid.grid_to_image_index(np.array(g, float)))[0]
        actual = ref.TransformIndexToPhysicalPoint([int(v) for v in g[::-1]])
        np.testing.assert_allclose(actual, expected, atol=1e-6)
    np.testing.assert_allclose(grid.image_to_grid_index(grid.grid_to_image_index(
        np.array([1.5, 2.0, 3.0]))), [1.5, 2.0, 3.0])
    # the VOI's largest edge plus context spans the grid; no axis more than 2x finer
    assert grid.grid_spacing.max() * 16 == pytest.approx(
        1.25 * box.extent_mm(spacing_zyx(image)).max())
    assert grid.grid_spacing.min() >= grid.grid_spacing.max() / 2 - 1e-9


def linear_world_image(shape, coefficients, **geometry):
    """An image whose voxel values are a linear function of their world position."""
    image = make_image(np.zeros(shape, np.float32), **geometry)
    index = np.indices(shape).reshape(3, -1).T
    world = index_to_world(image, index)
    values = (world @ coefficients + 7.0).reshape(shape).astype(np.float32)
    out = sitk.GetImageFromArray(values)
    out.CopyInformation(image)
    return out


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_resampling_to_grid_is_exact_for_linear_fields(geometry):
    coefficients = np.array([0.3, -0.2, 0.5])
    image = linear_world_image((24, 40, 44), coefficients, **geometry)
    spacing = spacing_zyx(image)
    box = Box(lo=np.array([6.0, 12.0, 12.0]), hi=np.array([18.0, 28.0, 32.0]))
    # a grid as fine as the image's finest axis: no anti-aliasing, pure linear interpolation
    size = int(np.ceil(box.extent_mm(spacing).max() / spacing.min()))
    grid = ModelGrid.around(box, spacing, size, context=1.0, max_anisotropy=1.0)
    values = resample_to_grid(image, grid, default=0.0)
    inner = np.indices(values.shape).reshape(3, -1).T
    world = index_to_world(image, grid.grid_to_image_index(inner))
    expected = (world @ coefficients + 7.0).reshape(values.shape)
    # linear interpolation is exact between voxel centres; ITK holds values constant in the
    # outer half voxel, so compare where the grid point lies within the voxel-centre hull
    index = grid.grid_to_image_index(inner)
    inside = np.all((index >= 0) & (index <= np.array(image.GetSize()[::-1]) - 1), axis=1)
    inside = inside.reshape(values.shape)
    assert inside.sum() > 1000
    np.testing.assert_allclose(values[inside], expected[inside], atol=1e-3)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_grid_values_return_exactly_to_image_voxels(geometry):
    coefficients = np.array([0.1, 0.4, -0.3])
    image = make_image(np.zeros((24, 40, 44), np.float32), **geometry)
    box = Box(lo=np.array([6.0, 12.0, 12.0]), hi=np.array([18.0, 28.0, 32.0]))
    grid = ModelGrid.around(box, spacing_zyx(image), 24)
    g = np.indices((24, 24, 24)).reshape(3, -1).T
    on_grid = (index_to_world(image, grid.grid_to_image_index(g)) @ coefficients)
    region, back = grid_to_image(on_grid.reshape(24, 24, 24) + 100.0, grid, image)
    idx = np.indices(back.shape).reshape(3, -1).T + [s.start for s in region]
    expected = (index_to_world(image, idx) @ coefficients + 100.0).reshape(back.shape)
    gidx = grid.image_to_grid_index(idx)
    inside = np.all((gidx >= 0) & (gidx <= 23), axis=1).reshape(back.shape)
    assert inside.mean() > 0.3
    np.testing.assert_allclose(back[inside], expected[inside], atol=1e-3)


def test_downsampling_is_antialiased():
    rng = np.random.default_rng(0)
    image = make_image(rng.normal(0, 100, (20, 80, 80)).astype(np.float32),
                       spacing_xyz=(0.5, 0.5, 0.5), direction=OBLIQUE_FLIPPED)
    box = Box(lo=np.array([0.0, 0.0, 0.0]), hi=np.array([19.0, 79.0, 79.0]))
    grid = ModelGrid.around(box, spacing_zyx(image), 10)  # 4 mm voxels from 0.5 mm noise
    values = resample_to_grid(image, grid, default=0.0)
    assert values[values != 0].std() < 20.0  # plain interpolation would keep std ~ 100


def test_block_averaging_leaves_no_holes_at_the_crop_edge():
    image = make_image(np.full((200, 200, 200), 5.0, np.float32), spacing_xyz=(0.5, 0.5, 0.5))
    box = Box(lo=np.array([60.0, 60.0, 60.0]), hi=np.array([140.0, 140.0, 140.0]))
    grid = ModelGrid.around(box, spacing_zyx(image), 16, context=1.0)  # 2.5 mm: 5x averaging
    np.testing.assert_allclose(resample_to_grid(image, grid, default=-1.0), 5.0, atol=1e-4)
