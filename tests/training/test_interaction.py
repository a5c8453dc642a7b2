import numpy as np
import pytest

from training.interaction import (
    ClickSimulationConfig,
    append_click,
    centre_click,
    corrective_click,
    ellipsoid_from_clicks,
    inward_shifts,
    perturbed_clicks,
    sample_extreme_points,
    shift_inward,
    simulate_initial_clicks,
    six_point_clicks,
)

ISO = (1.0, 1.0, 1.0)
THICK_Z = (5.0, 0.8, 0.8)


def box_mask(shape=(40, 40, 40), lo=(5, 8, 10), hi=(30, 33, 35)):
    m = np.zeros(shape, bool)
    m[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = True
    return m


def sphere(shape, centre, radius):
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius**2


def inside(mask, pts):
    return all(mask[tuple(p)] for p in np.asarray(pts).reshape(-1, 3))


def test_extreme_points_lie_on_the_extreme_planes():
    rng = np.random.default_rng(0)
    m = sphere((30, 30, 30), (14, 15, 13), 9) & (np.arange(30)[None, None, :] < 20)
    ext = sample_extreme_points(m, rng)
    coords = np.argwhere(m)
    lo, hi = coords.min(0), coords.max(0)
    assert ext.shape == (6, 3) and inside(m, ext)
    for i, p in enumerate(ext):
        axis, end = divmod(i, 2)
        assert p[axis] == (lo[axis] if end == 0 else hi[axis])


def test_six_points_are_the_shifted_extremes_with_same_seed():
    m = sphere((30, 30, 30), (15, 15, 15), 10)
    ext = sample_extreme_points(m, np.random.default_rng(7))
    clicks = six_point_clicks(m, ISO, np.random.default_rng(7))
    np.testing.assert_array_equal(clicks, shift_inward(m, ext, ISO))
    # each click moved only along its own axis, inward
    for i, (p, q) in enumerate(zip(ext, clicks)):
        axis, end = divmod(i, 2)
        delta = q - p
        assert np.count_nonzero(np.delete(delta, axis)) == 0
        assert (delta[axis] >= 0) if end == 0 else (delta[axis] <= 0)


@pytest.mark.parametrize("spacing,expected", [(ISO, (5, 5, 5)), (THICK_Z, (1, 5, 5)),
                                              ((1.0, 1.0, 3.0), (5, 5, 1)),
                                              ((2.9, 1.0, 1.0), (5, 5, 5))])
def test_anisotropy_rule_on_a_box(spacing, expected):
    m = box_mask()
    lo, hi = np.array([5, 8, 10]), np.array([30, 33, 35])
    assert tuple(inward_shifts(spacing)) == expected
    clicks = six_point_clicks(m, spacing, np.random.default_rng(1))
    assert inside(m, clicks)
    for i, q in enumerate(clicks):
        axis, end = divmod(i, 2)
        want = lo[axis] + expected[axis] if end == 0 else hi[axis] - expected[axis]
        assert q[axis] == want


def test_step_back_on_a_concave_shape():
    # a 2-voxel plate at x=10..11, a gap, then a block at x=20..30, joined by a bridge at high y
    m = np.zeros((40, 40, 40), bool)
    m[5:36, 5:36, 10:12] = True
    m[5:36, 5:36, 20:31] = True
    m[5:36, 34:36, 10:31] = True
    seen_step_back = False
    for seed in range(12):
        ext = sample_extreme_points(m, np.random.default_rng(seed))
        clicks = six_point_clicks(m, ISO, np.random.default_rng(seed))
        assert inside(m, clicks)
        p, q = ext[4], clicks[4]  # x-min
        k = q[2] - p[2]
        assert 0 <= k <= 5
        # the largest inward move <= 5 that lands in the mask, i.e. stepped back from +5
        for j in range(k + 1, 6):
            assert not m[p[0], p[1], p[2] + j]
        if k < 5:
            seen_step_back = True
            assert q[2] == 11 and q[1] < 34
    assert seen_step_back


def test_tiny_lesions_never_pass_the_centre():
    single = np.zeros((9, 9, 9), bool)
    single[4, 5, 3] = True
    clicks = six_point_clicks(single, ISO, np.random.default_rng(0))
    assert (clicks == [4, 5, 3]).all()

    cube = box_mask((9, 9, 9), (2, 2, 2), (4, 4, 4))  # extent 2: shift clamped to 1
    clicks = six_point_clicks(cube, ISO, np.random.default_rng(0))
    assert inside(cube, clicks)
    for i, q in enumerate(clicks):
        assert q[i // 2] == 3

    pair = box_mask((9, 9, 9), (2, 2, 2), (3, 6, 6))  # extent 1 along z: no z shift possible
    clicks = six_point_clicks(pair, ISO, np.random.default_rng(0))
    assert clicks[0][0] == 2 and clicks[1][0] == 3
    assert clicks[2][1] == 4 and clicks[3][1] == 4  # y extent 4: clamp to 2


def test_clicks_are_deterministic_with_a_seeded_rng():
    m = sphere((24, 24, 24), (12, 11, 12), 8)
    a = six_point_clicks(m, THICK_Z, np.random.default_rng(3))
    b = six_point_clicks(m, THICK_Z, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    cfg = ClickSimulationConfig(p_protocol=0.2)
    for seed in range(5):
        np.testing.assert_array_equal(
            simulate_initial_clicks(m, THICK_Z, np.random.default_rng(seed), cfg),
            simulate_initial_clicks(m, THICK_Z, np.random.default_rng(seed), cfg),
        )


def test_empty_mask_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        six_point_clicks(np.zeros((4, 4, 4), bool), ISO, np.random.default_rng(0))


def face_clicks(lo, hi, shifts):
    """Protocol clicks at the face centres of the box lo..hi, moved inward by ``shifts``."""
    lo, hi, c = np.array(lo), np.array(hi), (np.array(lo) + np.array(hi)) // 2
    pts = []
    for axis in range(3):
        for end, v in ((0, lo[axis] + shifts[axis]), (1, hi[axis] - shifts[axis])):
            p = c.copy()
            p[axis] = v
            pts.append(p)
    return np.array(pts)


@pytest.mark.parametrize("spacing", [ISO, THICK_Z])
def test_ellipsoid_baseline_recovers_a_known_box(spacing):
    lo, hi = (5, 8, 10), (30, 33, 35)
    m = box_mask(lo=lo, hi=hi)
    clicks = face_clicks(lo, hi, inward_shifts(spacing))
    assert inside(m, clicks)
    ell = ellipsoid_from_clicks(m.shape, clicks, spacing)
    coords = np.argwhere(ell)
    # grown back by the same shifts: the ellipsoid spans the box exactly, extremes included
    np.testing.assert_array_equal(coords.min(0), lo)
    np.testing.assert_array_equal(coords.max(0), hi)
    assert ell[17, 20, 22] and not ell[5, 8, 10]  # centre in, corner out
    assert abs(ell.sum() / m.sum() - np.pi / 6) < 0.05  # an inscribed ellipsoid fills pi/6
    # order-free: users' clicks arrive in any order
    perm = np.random.default_rng(0).permutation(6)
    np.testing.assert_array_equal(ellipsoid_from_clicks(m.shape, clicks[perm], spacing), ell)


def test_ellipsoid_of_a_single_click_is_its_grown_box():
    ell = ellipsoid_from_clicks((11, 11, 11), np.array([[5, 5, 5]]), ISO, inward=0)
    assert ell.sum() == 1 and ell[5, 5, 5]


def test_centre_click_is_the_deepest_voxel():
    m = sphere((40, 40, 40), (20, 20, 12), 9) | sphere((40, 40, 40), (20, 20, 31), 4)
    c = centre_click(m, ISO)
    assert c.shape == (1, 3)
    np.testing.assert_array_equal(c[0], [20, 20, 12])
    # depth is measured in mm: a slab 5 voxels thin along z loses to a cube at 1 mm slices
    # but wins at 4 mm slices (12 mm deep along z, 11 mm along y/x, against the cube's 6 mm)
    two = box_mask((24, 26, 40), (1, 2, 2), (5, 22, 22)) | box_mask((24, 26, 40), (10, 5, 25),
                                                                   (20, 15, 35))
    np.testing.assert_array_equal(centre_click(two, ISO)[0], [15, 10, 30])
    np.testing.assert_array_equal(centre_click(two, (4.0, 1.0, 1.0))[0], [3, 12, 12])


def test_perturbed_clicks_stay_inside_and_respect_count():
    m = sphere((32, 32, 32), (16, 16, 16), 11)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = 1 + seed % 6
        pts = perturbed_clicks(m, THICK_Z, rng, n_clicks=n, jitter_mm=3.0, not_extreme_prob=0.5)
        assert pts.shape == (n, 3) and inside(m, pts)
    with pytest.raises(ValueError):
        perturbed_clicks(m, ISO, np.random.default_rng(0), n_clicks=0)


def test_not_extreme_clicks_start_on_inner_planes():
    m = box_mask()
    lo, hi = np.array([5, 8, 10]), np.array([30, 33, 35])
    pts = perturbed_clicks(m, ISO, np.random.default_rng(2), jitter_mm=0.0, not_extreme_prob=1.0,
                           max_inner_fraction=0.2)
    for i, q in enumerate(pts):
        axis, end = divmod(i, 2)
        depth = (q[axis] - lo[axis]) if end == 0 else (hi[axis] - q[axis])
        assert 5 < depth <= 5 + int(0.2 * (hi[axis] - lo[axis]))


def test_simulated_initial_clicks_cover_the_behaviours():
    m = sphere((32, 32, 32), (16, 15, 16), 10)
    counts = set()
    for seed in range(40):
        pts = simulate_initial_clicks(m, ISO, np.random.default_rng(seed))
        assert 1 <= len(pts) <= 6 and inside(m, pts)
        counts.add(len(pts))
    assert 6 in counts and len(counts) >= 3
    protocol = ClickSimulationConfig(p_protocol=1.0, p_centre=0.0)
    np.testing.assert_array_equal(
        simulate_initial_clicks(m, ISO, np.random.default_rng(5), protocol)[:, :],
        six_point_clicks(m, ISO, _after_one_draw(5)),
    )
    with pytest.raises(ValueError):
        ClickSimulationConfig(p_protocol=0.8, p_centre=0.5)


def _after_one_draw(seed):
    rng = np.random.default_rng(seed)
    rng.random()  # the mode draw made by simulate_initial_clicks
    return rng


def test_corrective_click_targets_the_largest_error_with_the_right_sign():
    shape = (40, 40, 40)
    ref = sphere(shape, (20, 20, 20), 12)
    missed = ref & (np.arange(40)[None, None, :] >= 26)  # large false-negative cap
    overshoot = sphere(shape, (5, 5, 5), 2) & ~ref  # small false-positive blob
    pred = (ref & ~missed) | overshoot
    point, positive = corrective_click(pred, ref, ISO)
    assert positive and missed[tuple(point)] and ref[tuple(point)]

    big_fp = sphere(shape, (20, 20, 35), 4) & ~ref  # large overshoot outside the reference
    small_fn = ref & sphere(shape, (20, 20, 9), 2)
    pred = (ref | big_fp) & ~small_fn
    point, positive = corrective_click(pred, ref, ISO)
    assert not positive and big_fp[tuple(point)] and not ref[tuple(point)]

    assert corrective_click(ref, ref.copy(), ISO) is None


def test_corrective_click_connectivity_changes_the_component():
    # two diagonal-touching FN cubes (2x2x2 each) vs one face-connected 12-voxel FP bar
    ref = np.zeros((12, 12, 12), bool)
    pred = np.zeros_like(ref)
    ref[2:4, 2:4, 2:4] = True
    ref[4:6, 4:6, 4:6] = True  # touches the first cube only at a corner
    pred[8, 8, 0:12] = True
    point, positive = corrective_click(pred, ref, ISO, connectivity=26)
    assert positive  # 16 voxels joined at the corner beat the 12-voxel bar
    point, positive = corrective_click(pred, ref, ISO, connectivity=6)
    assert not positive and pred[tuple(point)]


def test_append_click_adds_to_the_side_the_click_belongs_to():
    positive, negative = np.array([[1.0, 2.0, 3.0]]), np.zeros((0, 3))
    positive, negative = append_click(positive, negative, (np.array([4, 5, 6]), False))
    positive, negative = append_click(positive, negative, (np.array([7, 8, 9]), True))
    np.testing.assert_array_equal(positive, [[1, 2, 3], [7, 8, 9]])
    np.testing.assert_array_equal(negative, [[4, 5, 6]])
    assert positive.dtype == negative.dtype == float


def test_an_inward_range_draws_clicks_on_the_border_and_deep_inside():
    """With ``inward_max`` each sample draws its own shift: over many samples the protocol
    clicks' depth below the extreme planes spans the range, and every click stays inside."""
    m = box_mask()
    lo, hi = np.argwhere(m).min(axis=0), np.argwhere(m).max(axis=0)
    config = ClickSimulationConfig(p_protocol=1.0, p_centre=0.0, inward=0, inward_max=8)
    depths = set()
    for seed in range(60):
        pts = simulate_initial_clicks(m, ISO, np.random.default_rng(seed), config)
        assert len(pts) == 6 and inside(m, pts)
        depth = pts[0, 0] - lo[0]  # the z-min click's depth; the z-max one has the same
        assert hi[0] - pts[1, 0] == depth
        depths.add(int(depth))
    assert min(depths) == 0 and max(depths) == 8 and len(depths) >= 7
    for fixed in (ClickSimulationConfig(p_protocol=1.0, p_centre=0.0),
                  ClickSimulationConfig(p_protocol=1.0, p_centre=0.0, inward_max=5)):
        np.testing.assert_array_equal(  # no range: the draws are exactly as before
            simulate_initial_clicks(m, ISO, np.random.default_rng(3), fixed),
            six_point_clicks(m, ISO, _after_one_draw(3)))
    with pytest.raises(ValueError, match="inward_max"):
        ClickSimulationConfig(inward=5, inward_max=2)
