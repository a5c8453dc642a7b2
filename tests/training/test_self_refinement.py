"""Refinement samples built from a model's own predictions: the clicks address that model's
errors and the previous mask is its last prediction."""

import numpy as np
from scipy import ndimage

from training.samples import GridSample
from training.self_refinement import refine_with_model


def cube_sample() -> GridSample:
    target = np.zeros((24, 24, 24), bool)
    target[6:18, 6:18, 6:18] = True
    return GridSample(image=np.zeros(target.shape, np.float32), target=target,
                      positive=np.array([[12.0, 12.0, 12.0]]), negative=np.zeros((0, 3)),
                      spacing=np.ones(3))


def test_missed_lesion_gets_positive_clicks_inside_what_was_missed():
    sample = cube_sample()
    under = ndimage.binary_erosion(sample.target, iterations=3).astype(np.float32)
    seen = []

    def predict(x):
        seen.append(x)
        return under

    out = refine_with_model(sample, predict, lambda s: np.zeros(1), np.random.default_rng(0), 3)
    n_new = len(out.positive) - 1
    assert 1 <= n_new == len(seen) and len(out.negative) == 0
    for p in out.positive[1:].astype(int):
        assert out.target[tuple(p)] and not under[tuple(p)]
    np.testing.assert_array_equal(out.previous, under)


def test_overshoot_gets_negative_clicks_outside_the_lesion():
    sample = cube_sample()
    over = ndimage.binary_dilation(sample.target, iterations=3).astype(np.float32)
    out = refine_with_model(sample, lambda x: over, lambda s: np.zeros(1),
                            np.random.default_rng(1), 3)
    assert len(out.negative) >= 1 and len(out.positive) == 1
    for p in out.negative.astype(int):
        assert over[tuple(p)] and not out.target[tuple(p)]


def test_each_round_sees_the_previous_round():
    """The encoder is called with the sample as it stands: clicks and mask of the last round."""
    sample = cube_sample()
    under = ndimage.binary_erosion(sample.target, iterations=2).astype(np.float32)
    states = []

    def encode(s):
        states.append((len(s.positive), None if s.previous is None else s.previous.sum()))
        return np.zeros(1)

    rng = np.random.default_rng(5)
    out = refine_with_model(sample, lambda x: under, encode, rng, 3)
    assert states[0] == (1, None)
    assert all(n == i + 1 and prev == under.sum() for i, (n, prev) in enumerate(states[1:], 1))
    assert len(out.positive) == len(states) + 1


def test_perfect_prediction_stops_without_clicks():
    sample = cube_sample()
    out = refine_with_model(sample, lambda x: sample.target.astype(np.float32),
                            lambda s: np.zeros(1), np.random.default_rng(0), 3)
    assert len(out.positive) == 1 and len(out.negative) == 0
    np.testing.assert_array_equal(out.previous > 0.5, sample.target)
