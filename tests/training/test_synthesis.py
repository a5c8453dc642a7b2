import numpy as np
import pytest
from scipy import ndimage as ndi

from training.synthesis import (
    LesionSynthesisConfig,
    body_mask,
    generate_lesion_sample,
    insert_lesion,
    noise_texture,
    simulate_thick_slices,
    transplant_lesion,
)

CT_SPACING = (2.5, 0.8, 0.8)
SMALL = LesionSynthesisConfig(diameter_mm=(8.0, 14.0))


def ct_background(seed=0, noise=10.0, tissue_hu=50.0, shape=(20, 64, 64)):
    """Air outside an elliptic body; muscle-like tissue with a 'lung' and a 'bone' inside."""
    rng = np.random.default_rng(seed)
    _, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((y - 32) / 29.0) ** 2 + ((x - 32) / 30.0) ** 2 <= 1
    img = np.full(shape, -1000.0)
    img[:, body[0]] = tissue_hu
    img[:, 8:22, 10:26] = -850.0  # lung
    img[:, 44:50, 28:36] = 700.0  # bone
    img = img + rng.normal(0, noise, shape)
    return np.round(img).astype(np.int16)


def mr_background(seed=0, shape=(28, 44, 44)):
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    brain = ((z - 14) / 13.0) ** 2 + ((y - 22) / 20.0) ** 2 + ((x - 22) / 20.0) ** 2 <= 1
    wm = ((z - 14) / 8.0) ** 2 + ((y - 22) / 13.0) ** 2 + ((x - 22) / 13.0) ** 2 <= 1
    head = ((z - 14) / 14.0) ** 2 + ((y - 22) / 21.5) ** 2 + ((x - 22) / 21.5) ** 2 <= 1
    img = np.where(head & ~brain, 900.0, 0.0)  # bright scalp: headroom above white matter
    img = img + np.where(brain, 300.0, 0.0) + np.where(wm, 150.0, 0.0)
    return (img + rng.normal(0, 8, shape)).clip(0).astype(np.float32), wm


def test_mask_is_occupancy_half_and_only_the_lesion_changes_the_image():
    bg = ct_background()
    for seed in range(3):
        res = insert_lesion(bg, CT_SPACING, "CT", np.random.default_rng(seed), SMALL)
        occ = res.occupancy
        np.testing.assert_array_equal(res.mask, occ >= 0.5)
        assert res.mask.any()
        assert ndi.label(res.mask)[1] == 1  # one connected lesion
        changed = res.image != bg
        assert not np.any(changed & (occ == 0))  # occupancy 0: bit-identical background
        # far from the lesion (beyond margin + blur) nothing changes
        far = ndi.distance_transform_edt(~res.mask, sampling=CT_SPACING) > 4.0
        np.testing.assert_array_equal(res.image[far], bg[far].astype(np.float32))
        img2, mask2 = generate_lesion_sample(bg, CT_SPACING, "CT", np.random.default_rng(seed),
                                             SMALL)
        np.testing.assert_array_equal(img2, res.image)
        np.testing.assert_array_equal(mask2, res.mask)


def test_visible_lesion_changes_are_inside_the_mask():
    # fat background, lesion in soft-tissue HU: the inserted lesion stands out by > 100 HU
    bg = ct_background(tissue_hu=-100.0, noise=5.0)
    cfg = LesionSynthesisConfig(diameter_mm=(10.0, 14.0), p_necrosis=0.0, p_rim=0.0,
                                margin_mm=(0.2, 0.3), heterogeneity=(0.0, 0.0))
    res = insert_lesion(bg, CT_SPACING, "CT", np.random.default_rng(1), cfg)
    delta = res.image - bg
    core = ndi.binary_erosion(res.mask)
    assert np.median(delta[core]) > 100
    strong = delta > 55  # more than half the lesion-background difference
    # every strongly changed voxel is lesion (mask) or its partial-volume edge, never beyond
    edge = ndi.binary_dilation(res.mask) & ~res.mask
    assert not np.any(strong & ~res.mask & ~edge)
    assert strong[res.mask].mean() > 0.8


def test_ct_values_stay_in_plausible_hu_range():
    bg = ct_background()
    for seed in range(4):
        res = insert_lesion(bg, CT_SPACING, "CT", np.random.default_rng(seed), SMALL)
        lesion = res.image[res.mask]
        assert -10 <= np.median(lesion) <= 150, res.params
        assert np.percentile(lesion, 1) > -150 and np.percentile(lesion, 99) < 250
        assert 10 <= res.params["lesion_hu"] <= 80
        assert np.all(res.image == np.round(res.image))  # integer-valued like the int16 input


def test_placement_inside_tissue_and_away_from_avoid_mask():
    bg = ct_background()
    body = body_mask(bg, "CT")
    avoid = np.zeros(bg.shape, bool)
    avoid[:, 24:64, :] = True  # the whole lower half holds a "real lesion"
    cfg = LesionSynthesisConfig(diameter_mm=(6.0, 10.0), avoid_margin_mm=3.0)
    for seed in range(4):
        res = insert_lesion(bg, CT_SPACING, "CT", np.random.default_rng(seed), cfg,
                            avoid_mask=avoid, body=body)
        support = res.occupancy > 0
        assert body[support].all()
        dist = ndi.distance_transform_edt(~avoid, sampling=CT_SPACING)
        assert dist[support].min() >= 3.0
        # mostly tissue: neither the lung nor the bone holds the lesion
        tissue = (bg > -200) & (bg < 250)
        assert tissue[support].mean() >= 0.9


def test_no_room_raises():
    bg = ct_background()
    with pytest.raises(RuntimeError):
        insert_lesion(bg, CT_SPACING, "CT", np.random.default_rng(0), SMALL,
                      avoid_mask=np.ones(bg.shape, bool))


def test_deterministic_with_seed():
    bg = ct_background()
    a = generate_lesion_sample(bg, CT_SPACING, "CT", np.random.default_rng(7), SMALL)
    b = generate_lesion_sample(bg, CT_SPACING, "CT", np.random.default_rng(7), SMALL)
    c = generate_lesion_sample(bg, CT_SPACING, "CT", np.random.default_rng(8), SMALL)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_noise_is_matched_to_the_background():
    cfg = LesionSynthesisConfig(diameter_mm=(16.0, 18.0), n_lobes=(1, 1), p_necrosis=0.0,
                                p_rim=0.0, heterogeneity=(0.0, 0.0))
    for noise in (4.0, 25.0):
        bg = ct_background(noise=noise, shape=(20, 72, 72))
        res = insert_lesion(bg, (2.5, 0.8, 0.8), "CT", np.random.default_rng(3), cfg)
        core = ndi.binary_erosion(res.mask, iterations=2)
        inside, _ = noise_texture(res.image, (2.5, 0.8, 0.8), core)
        outside, _ = noise_texture(bg.astype(np.float32), (2.5, 0.8, 0.8), (bg > 0) & (bg < 100))
        assert 0.6 < inside / outside < 1.6, (noise, inside, outside)


def test_thick_slices_get_partial_volume_along_the_slice_axis():
    bg = ct_background(shape=(12, 64, 64))
    res = insert_lesion(bg, (5.0, 0.8, 0.8), "CT", np.random.default_rng(2),
                        LesionSynthesisConfig(diameter_mm=(14.0, 18.0)))
    occ = res.occupancy
    zs = np.flatnonzero(occ.max(axis=(1, 2)) > 0)
    # the end slices of the lesion are partly occupied: rendered on thin slices then averaged
    end_peak = min(occ[zs[0]].max(), occ[zs[-1]].max())
    assert 0 < end_peak < 1
    np.testing.assert_array_equal(res.mask, occ >= 0.5)


def test_simulate_thick_slices():
    img = np.arange(8 * 4 * 4, dtype=np.float32).reshape(8, 4, 4)
    occ = np.zeros((8, 4, 4), np.float32)
    occ[2:5] = 1.0  # slices 2, 3, 4
    out, mask, sp = simulate_thick_slices(img, occ, (1.0, 0.7, 0.7), 3)
    assert out.shape == (2, 4, 4) and sp == (3.0, 0.7, 0.7)
    np.testing.assert_allclose(out[0], img[0:3].mean(0))
    assert not mask[0].any() and mask[1].all()  # occupancy 1/3 < 0.5 <= 2/3


def test_mr_lesion_is_relative_to_local_background():
    bg, white_matter = mr_background()
    body = body_mask(bg, "MR")
    outside_wm = ~white_matter  # placed inside uniform white matter: a well-defined local level
    common = dict(diameter_mm=(8.0, 10.0), avoid_margin_mm=1.0, mr_contrast=(0.3, 0.35),
                  p_necrosis=0.0, p_rim=0.0, heterogeneity=(0.0, 0.0))
    hyper = LesionSynthesisConfig(mr_p_hyper=1.0, **common)
    hypo = LesionSynthesisConfig(mr_p_hyper=0.0, **common)
    lo, p5, p95, hi = np.percentile(bg[body], [0.5, 5, 95, 99.5])
    for cfg, sign in ((hyper, 1), (hypo, -1)):
        res = insert_lesion(bg, (1.0, 1.0, 1.0), "MR", np.random.default_rng(4), cfg,
                            avoid_mask=outside_wm, body=body)
        core = ndi.binary_erosion(res.mask)
        ring = ndi.binary_dilation(res.mask, iterations=3) & ~ndi.binary_dilation(res.mask) & body
        diff = np.median(res.image[core]) - np.median(bg[ring])
        assert sign * diff > 0.15 * (p95 - p5), (sign, diff)  # contrast 0.3 spread, minus blur
        assert body[res.occupancy > 0].all()
        assert res.image[res.mask].min() >= lo - 40 and res.image[res.mask].max() <= hi + 40


def test_transplant_lesion_keeps_shape_and_hu():
    rng = np.random.default_rng(0)
    src = np.full((16, 40, 40), 50.0) + rng.normal(0, 2, (16, 40, 40))
    smask = np.zeros(src.shape, bool)
    z, y, x = np.ogrid[:16, :40, :40]
    smask |= ((z - 8) / 3.0) ** 2 + ((y - 20) / 7.0) ** 2 + ((x - 18) / 5.0) ** 2 <= 1
    src[smask] = -20.0 + rng.normal(0, 2, smask.sum())  # a hypodense lesion at -20 HU
    bg = ct_background(noise=1.0)
    body = body_mask(bg, "CT")
    avoid = np.zeros(bg.shape, bool)
    avoid[:, :, 40:] = True
    img, mask = transplant_lesion(src, smask, CT_SPACING, bg, CT_SPACING, "CT",
                                  np.random.default_rng(1), avoid_mask=avoid, body=body,
                                  flip=False)
    assert mask.sum() == smask.sum() and ndi.label(mask)[1] == 1
    core = ndi.binary_erosion(mask)
    assert abs(np.median(img[core]) - (-20)) < 5  # HU kept
    dist = ndi.distance_transform_edt(~mask, sampling=CT_SPACING)
    np.testing.assert_array_equal(img[dist > 5], bg[dist > 5].astype(np.float32))
    assert not (ndi.binary_dilation(mask, iterations=3) & avoid).any()
