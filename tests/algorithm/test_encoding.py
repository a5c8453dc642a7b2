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
