"""Geodesic distance transform: exact against Dijkstra on the same graph, analytic cases, edges."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.ndimage import gaussian_filter
from scipy.sparse.csgraph import dijkstra

from algorithm.guidance.geodesic import exponentialised_geodesic_map, geodesic_distance

SPACING = (3.0, 0.7, 0.9)


def reference_distance(image, seeds, spacing, intensity_weight):
    """Brute force: the 26-connected graph as a sparse matrix, shortest paths by Dijkstra."""
    shape = image.shape
    index = np.arange(image.size).reshape(shape)
    img = image.astype(np.float64)
    rows, cols, weights = [], [], []
    for delta in itertools.product((-1, 0, 1), repeat=3):
        if delta <= (0, 0, 0):  # each undirected edge once; added in both directions below
            continue
        src = tuple(slice(max(0, -d), n - max(0, d)) for d, n in zip(delta, shape))
        dst = tuple(slice(max(0, d), n - max(0, -d)) for d, n in zip(delta, shape))
        a, b = index[src].ravel(), index[dst].ravel()
        spatial2 = sum((d * s) ** 2 for d, s in zip(delta, spacing))
        cost = np.sqrt(spatial2 + intensity_weight**2 * (img[src] - img[dst]) ** 2).ravel()
        rows += [a, b]
        cols += [b, a]
        weights += [cost, cost]
    graph = scipy.sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(image.size, image.size))
    dist = dijkstra(graph, directed=True, indices=np.flatnonzero(seeds), min_only=True)
    return dist.reshape(shape)


def random_seeds(shape, count, rng):
    seeds = np.zeros(shape, dtype=bool)
    seeds.flat[rng.choice(int(np.prod(shape)), size=count, replace=False)] = True
    return seeds


def max_relative_error(d, ref):
    finite = np.isfinite(ref)
    assert np.array_equal(finite, np.isfinite(d))
    return float(np.max(np.abs(d[finite] - ref[finite]) / np.maximum(ref[finite], 1e-6)))


# -- exactness against Dijkstra ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7, 9, 8), (5, 6, 11)])
@pytest.mark.parametrize("intensity_weight", [0.0, 1.0, 20.0])
@pytest.mark.parametrize("n_seeds", [1, 4])
def test_matches_dijkstra_on_random_volumes(shape, intensity_weight, n_seeds):
    rng = np.random.default_rng([*shape, int(intensity_weight), n_seeds])
    image = rng.random(shape).astype(np.float32)
    seeds = random_seeds(shape, n_seeds, rng)
    ref = reference_distance(image, seeds, SPACING, intensity_weight)
    d = geodesic_distance(image, seeds, SPACING, intensity_weight=intensity_weight, iterations=6)
    assert max_relative_error(d, ref) < 1e-4  # observed: ~1e-7 (float32 rounding)


@pytest.mark.parametrize("shape",
                         [(1, 5, 6), (4, 1, 7), (6, 5, 1), (2, 2, 2), (1, 1, 9), (3, 1, 1)])
def test_matches_dijkstra_on_thin_volumes(shape):
    rng = np.random.default_rng(7)
    image = rng.random(shape).astype(np.float32)
    seeds = random_seeds(shape, 1, rng)
    ref = reference_distance(image, seeds, SPACING, 2.0)
    d = geodesic_distance(image, seeds, SPACING, intensity_weight=2.0, iterations=4)
    assert d.shape == shape
    assert max_relative_error(d, ref) < 1e-4


@pytest.mark.parametrize(("intensity_weight", "max_rel", "mean_rel"), [(2.0, 1e-4, 1e-6),
                                                                       (5.0, 5e-2, 5e-4)])
def test_two_iterations_close_on_smooth_image(intensity_weight, max_rel, mean_rel):
    # Observed with this image and these seeds, iterations=2 against Dijkstra:
    #   lambda=2: max relative error 2.4e-7 (already exact to float32);
    #   lambda=5: max 2.7e-2, mean 1.4e-4, 1.2% of voxels off by more than 1e-4.
    # iterations=3 is exact (~2e-7) for both.
    rng = np.random.default_rng(4)
    shape = (16, 20, 18)
    image = gaussian_filter(rng.standard_normal(shape), 2.5)
    image = (image / image.std()).astype(np.float32)
    seeds = random_seeds(shape, 2, rng)
    ref = reference_distance(image, seeds, SPACING, intensity_weight)
    d2 = geodesic_distance(image, seeds, SPACING, intensity_weight=intensity_weight, iterations=2)
    rel = np.abs(d2 - ref) / np.maximum(ref, 1e-6)
    assert rel.max() < max_rel
    assert rel.mean() < mean_rel
    assert np.all(d2 >= ref * (1 - 1e-6))
    d3 = geodesic_distance(image, seeds, SPACING, intensity_weight=intensity_weight, iterations=3)
    assert max_relative_error(d3, ref) < 1e-4


def test_more_iterations_only_lower_the_distance_towards_the_exact_one():
    # A serpentine corridor between high-intensity walls: the shortest path turns back on itself
    # along x several times, which one sweep cannot follow.
    shape = (1, 11, 11)
    image = np.zeros(shape, dtype=np.float32)
    for y in (2, 6):
        image[0, y, :-1] = 100.0  # wall open at the right end
    for y in (4, 8):
        image[0, y, 1:] = 100.0  # wall open at the left end
    seeds = np.zeros(shape, dtype=bool)
    seeds[0, 0, 0] = True
    ref = reference_distance(image, seeds, (1.0, 1.0, 1.0), 1.0)
    previous = None
    for iterations in (1, 2, 3, 4, 8):
        d = geodesic_distance(image, seeds, (1.0, 1.0, 1.0), intensity_weight=1.0,
                              iterations=iterations)
        assert np.all(d >= ref * (1 - 1e-6))  # every value is the length of a real path
        if previous is not None:
            assert np.all(d <= previous)
        previous = d
    assert max_relative_error(previous, ref) < 1e-4
    d1 = geodesic_distance(image, seeds, (1.0, 1.0, 1.0), intensity_weight=1.0, iterations=1)
    assert max_relative_error(d1, ref) > 0.1  # the maze really needs several sweeps


# -- analytic cases ------------------------------------------------------------------------------

def test_spatial_distance_along_axes_and_diagonals_is_exact():
    spacing = (2.0, 0.5, 1.25)
    shape = (9, 9, 9)
    rng = np.random.default_rng(0)
    image = rng.random(shape).astype(np.float32)  # ignored with intensity_weight=0
    seeds = np.zeros(shape, dtype=bool)
    c = 4
    seeds[c, c, c] = True
    d = geodesic_distance(image, seeds, spacing, intensity_weight=0.0)
    k = np.arange(-c, c + 1)
    for axis in range(3):
        line = d[tuple(slice(None) if a == axis else c for a in range(3))]
        np.testing.assert_allclose(line, np.abs(k) * spacing[axis], rtol=1e-6)
    main_diagonal = d[k + c, k + c, k + c]
    np.testing.assert_allclose(main_diagonal, np.abs(k) * np.sqrt(np.sum(np.square(spacing))),
                               rtol=1e-6)
    anti_diagonal = d[k + c, c - k, k + c]
    np.testing.assert_allclose(anti_diagonal, main_diagonal, rtol=1e-6)
    plane_diagonal = d[k + c, k + c, c]
    np.testing.assert_allclose(plane_diagonal, np.abs(k) * np.hypot(spacing[0], spacing[1]),
                               rtol=1e-6)
    # Never shorter than the straight line, which the 26-connected graph only approximates.
    grid = np.stack(np.meshgrid(*[(np.arange(9) - c) * s for s in spacing], indexing="ij"))
    assert np.all(d >= np.sqrt((grid**2).sum(0)) * (1 - 1e-6))


def test_constant_image_ignores_intensity_weight():
    shape = (6, 7, 8)
    seeds = np.zeros(shape, dtype=bool)
    seeds[1, 2, 3] = True
    image = np.full(shape, 0.3, dtype=np.float32)
    d0 = geodesic_distance(image, seeds, SPACING, intensity_weight=0.0)
    d1 = geodesic_distance(image, seeds, SPACING, intensity_weight=50.0)
    np.testing.assert_allclose(d0, d1, rtol=1e-6)


def test_intensity_wall_is_a_barrier():
    shape = (5, 12, 21)
    image = np.zeros(shape, dtype=np.float32)
    image[:, :, 10] = 10.0  # a wall across the whole volume at x = 10
    seeds = np.zeros(shape, dtype=bool)
    seeds[2, 6, 5] = True
    d = geodesic_distance(image, seeds, (1.0, 1.0, 1.0), intensity_weight=1.0)
    flat = geodesic_distance(image, seeds, (1.0, 1.0, 1.0), intensity_weight=0.0)
    same_side, across = (2, 6, 8), (2, 6, 12)
    assert d[same_side] == pytest.approx(3.0)
    assert flat[across] == pytest.approx(7.0)
    # The straight path is still the shortest, but its two steps onto and off the wall cost
    # sqrt(1 + 10**2) each instead of 1: 5 + 2 * sqrt(101) = 25.1 instead of 7.
    assert d[across] == pytest.approx(5 + 2 * np.sqrt(101.0), rel=1e-6)
    assert d[across] > 3 * flat[across]
    # Everything beyond the wall pays a toll, at least that of two (3D-diagonal) steps of length
    # sqrt(3) onto and off it: 2 * (sqrt(3 + 100) - sqrt(3)) = 16.8; nothing before it does.
    toll = d[:, :, 11:] - flat[:, :, 11:]
    assert toll.min() >= 2 * (np.sqrt(103.0) - np.sqrt(3.0)) - 1e-4
    np.testing.assert_allclose(d[:, :, :10], flat[:, :, :10], rtol=1e-6)


# -- contract and edge cases ---------------------------------------------------------------------

def test_output_contract_and_seeds_are_zero():
    rng = np.random.default_rng(1)
    image = rng.random((6, 7, 8))  # float64 input is accepted
    seeds = random_seeds(image.shape, 3, rng)
    d = geodesic_distance(image, seeds, [1, 1, 1])
    assert d.dtype == np.float32 and d.shape == image.shape
    assert np.all(d[seeds] == 0)
    assert np.all(d[~seeds] > 0) and np.all(np.isfinite(d))


def test_no_seeds_gives_inf_everywhere():
    d = geodesic_distance(np.zeros((4, 5, 6), np.float32), np.zeros((4, 5, 6), bool), SPACING)
    assert d.dtype == np.float32 and d.shape == (4, 5, 6)
    assert np.all(np.isinf(d))


def test_all_seeds_gives_zero():
    d = geodesic_distance(np.ones((3, 4, 5)), np.ones((3, 4, 5), bool), SPACING)
    assert d.dtype == np.float32 and np.all(d == 0)


def test_single_voxel_volume():
    d = geodesic_distance(np.ones((1, 1, 1)), np.ones((1, 1, 1), bool), SPACING)
    assert d.shape == (1, 1, 1) and d[0, 0, 0] == 0


def test_non_contiguous_input_matches_contiguous():
    rng = np.random.default_rng(2)
    big = rng.random((12, 9, 20)).astype(np.float64)
    image = big[::2, :, ::-3].transpose(2, 0, 1)  # strided, reversed and transposed view
    seeds_big = np.zeros((14, 6, 9), bool)
    seeds_big[2, 4, 5] = seeds_big[10, 1, 2] = True
    seeds = seeds_big[::2]
    assert not image.flags.c_contiguous and not seeds.flags.c_contiguous
    d = geodesic_distance(image, seeds, SPACING, intensity_weight=3.0, iterations=4)
    d_ref = geodesic_distance(np.ascontiguousarray(image), np.ascontiguousarray(seeds), SPACING,
                              intensity_weight=3.0, iterations=4)
    np.testing.assert_array_equal(d, d_ref)
    ref = reference_distance(np.ascontiguousarray(image), seeds, SPACING, 3.0)
    assert max_relative_error(d, ref) < 1e-4


def test_many_seeds_take_the_mask_path():
    rng = np.random.default_rng(4)
    shape = (18, 20, 16)
    image = rng.random(shape).astype(np.float32)
    seeds = rng.random(shape) < 0.9  # more seeds than the scatter path handles
    ref = reference_distance(image, seeds, SPACING, 1.0)
    d = geodesic_distance(image, seeds, SPACING, intensity_weight=1.0, iterations=3)
    assert max_relative_error(d, ref) < 1e-4


@pytest.mark.parametrize(
    ("image", "seeds", "spacing", "kwargs", "match"),
    [
        (np.zeros((4, 4)), np.zeros((4, 4), bool), (1, 1), {}, "3D"),
        (np.zeros((2, 3, 4, 5)), np.zeros((2, 3, 4, 5), bool), (1, 1, 1), {}, "3D"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 6), bool), (1, 1, 1), {}, "shape"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, 1), {}, "spacing"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, 0, 1), {}, "spacing"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, -2, 1), {}, "spacing"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, np.nan, 1), {}, "spacing"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, 1, 1), {"iterations": 0},
         "iterations"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, 1, 1), {"iterations": 1.5},
         "iterations"),
        (np.zeros((3, 4, 5)), np.zeros((3, 4, 5), bool), (1, 1, 1), {"intensity_weight": -1},
         "intensity_weight"),
    ],
)
def test_invalid_arguments_raise_value_error(image, seeds, spacing, kwargs, match):
    with pytest.raises(ValueError, match=match):
        geodesic_distance(image, seeds, spacing, **kwargs)


def test_non_finite_image_raises_value_error():
    image = np.zeros((3, 4, 5), np.float32)
    image[1, 1, 1] = np.nan
    seeds = np.zeros(image.shape, bool)
    seeds[0, 0, 0] = True
    with pytest.raises(ValueError, match="non-finite"):
        geodesic_distance(image, seeds, (1, 1, 1), intensity_weight=1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(5)
    image = gaussian_filter(rng.standard_normal((20, 24, 22)), 2).astype(np.float32)
    seeds = random_seeds(image.shape, 3, rng)
    cpu = geodesic_distance(image, seeds, SPACING, intensity_weight=4.0, iterations=3)
    gpu = geodesic_distance(image, seeds, SPACING, intensity_weight=4.0, iterations=3,
                            device="cuda")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5)


# -- exponentialised map -------------------------------------------------------------------------

def test_exponentialised_map():
    rng = np.random.default_rng(6)
    image = rng.random((5, 6, 7)).astype(np.float32)
    seeds = random_seeds(image.shape, 2, rng)
    d = geodesic_distance(image, seeds, SPACING)
    e = exponentialised_geodesic_map(d, scale=4.0)
    assert e.dtype == np.float32 and e.shape == d.shape
    assert np.all(e[seeds] == 1.0)
    assert np.all((e > 0) & (e <= 1))
    np.testing.assert_allclose(e, np.exp(-d.astype(np.float64) / 4.0), rtol=1e-6)
    # Monotone: farther is smaller.
    order = np.argsort(d, axis=None)
    assert np.all(np.diff(e.ravel()[order]) <= 0)


def test_exponentialised_map_of_inf_is_zero_and_scale_is_validated():
    d = np.array([[[0.0, 1.0, np.inf]]], dtype=np.float32)
    e = exponentialised_geodesic_map(d, 2.0)
    np.testing.assert_allclose(e, [[[1.0, np.exp(-0.5), 0.0]]], rtol=1e-6)
    assert e.dtype == np.float32
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="scale"):
            exponentialised_geodesic_map(d, bad)
