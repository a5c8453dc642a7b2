"""The guidance channels the network reads: names, order, and what each one encodes."""

import numpy as np
import pytest

from algorithm.guidance.encoding import CHANNELS, LEGACY_CHANNELS, encode

SETTINGS = dict(intensity_weight=10.0, geodesic_scale=0.25, click_sigma=2.0)


def two_regions():
    """Bright left half, dark right half: a negative click on the right should speak for it."""
    image = np.zeros((16, 16, 16), np.float32)
    image[:, :, :8] = 1.0
    return image


def test_negative_geodesic_follows_the_region_of_the_background_click():
    image = two_regions()
    x = encode(image, np.array([[8.0, 8.0, 3.0]]), np.array([[8.0, 8.0, 12.0]]), **SETTINGS)
    neg = x[CHANNELS.index("geodesic_negative")]
    pos = x[CHANNELS.index("geodesic_positive")]
    assert neg[8, 8, 12] == pytest.approx(1.0) and pos[8, 8, 3] == pytest.approx(1.0)
    # same distance in voxels from the negative click, but across the edge: much further
    assert neg[3, 8, 12] > 2 * neg[8, 8, 7]
    assert neg[:, :, 8:].mean() > 5 * neg[:, :, :8].mean()
    assert pos[:, :, :8].mean() > 5 * pos[:, :, 8:].mean()


def test_without_negative_clicks_the_negative_channels_are_zero():
    x = encode(two_regions(), np.array([[8.0, 8.0, 3.0]]), np.zeros((0, 3)), **SETTINGS)
    assert not x[CHANNELS.index("geodesic_negative")].any()
    assert not x[CHANNELS.index("clicks_negative")].any()
    assert not x[CHANNELS.index("previous_mask")].any()


def test_channels_follow_the_requested_order():
    image = two_regions()
    full = encode(image, np.array([[8.0, 8.0, 3.0]]), np.array([[8.0, 8.0, 12.0]]), **SETTINGS)
    legacy = encode(image, np.array([[8.0, 8.0, 3.0]]), np.array([[8.0, 8.0, 12.0]]),
                    channels=LEGACY_CHANNELS, **SETTINGS)
    assert legacy.shape[0] == 5
    for i, name in enumerate(LEGACY_CHANNELS):
        np.testing.assert_array_equal(legacy[i], full[CHANNELS.index(name)])
    with pytest.raises(ValueError, match="unknown guidance channels"):
        encode(image, np.zeros((1, 3)), np.zeros((0, 3)), channels=("image", "edges"), **SETTINGS)


def test_the_ellipsoid_channel_is_the_clicks_inscribed_ellipsoid_as_a_signed_radius():
    """Six protocol clicks on an anisotropic box's faces: the channel is 1 at the box centre,
    positive exactly on the voxels of the baseline ellipsoid (inward shift 0) and falls
    linearly with the normalised radius outside, down to -1."""
    from training.interaction import ellipsoid_from_clicks

    shape = (20, 40, 30)
    clicks = np.array([[3, 20, 15], [15, 22, 14], [9, 6, 15], [9, 33, 16], [9, 19, 4],
                       [9, 21, 26]], float)
    x = encode(np.zeros(shape, np.float32), clicks, np.zeros((0, 3)),
               channels=("image", "clicks_ellipsoid"), **SETTINGS)
    prior = x[1]
    baseline = ellipsoid_from_clicks(shape, clicks, spacing=(1.0, 1.0, 1.0), inward=0,
                                     inward_thick=0)
    assert np.array_equal(prior >= 0, baseline)
    # box 3..15 x 6..33 x 4..26: centre (9, 19.5, 15), semi-axes (6.5, 14, 11.5)
    assert prior[9, 19, 15] == pytest.approx(1.0 - 0.5 / 14, abs=1e-6)
    assert prior.min() == -1.0 and prior.max() <= 1.0
    # along z through (y, x) = (19, 15): r = hypot((z - 9) / 6.5, 0.5 / 14)
    assert np.allclose(prior[:, 19, 15], np.clip(1 - np.hypot((np.arange(20) - 9) / 6.5,
                                                              0.5 / 14), -1, 1), atol=1e-6)


def test_the_ellipsoid_channel_follows_positive_clicks_only():
    shape = (16, 16, 16)
    image = np.zeros(shape, np.float32)
    kwargs = dict(channels=("image", "clicks_ellipsoid"), **SETTINGS)
    none = encode(image, np.zeros((0, 3)), np.array([[8.0, 8.0, 8.0]]), **kwargs)[1]
    assert np.all(none == -1.0)  # no positive click: nothing inside
    one = encode(image, np.array([[8.0, 8.0, 8.0]]), np.zeros((0, 3)), **kwargs)[1]
    assert one[8, 8, 8] == 1.0 and (one >= 0).sum() == 1  # a single click: its own voxel
    seeds = np.zeros(shape, bool)
    seeds[2:14, 2:14, 8] = True  # an outline's voxels do not enter it
    seeded = encode(image, np.array([[8.0, 8.0, 8.0]]), np.zeros((0, 3)),
                    positive_seeds=seeds, **kwargs)[1]
    assert np.array_equal(seeded, one)


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="unknown guidance channels"):
        encode(two_regions(), np.zeros((0, 3)), np.zeros((0, 3)), channels=("image", "box"),
               **SETTINGS)
