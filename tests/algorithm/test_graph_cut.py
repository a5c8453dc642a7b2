"""The graph cut: exact minimum on graphs small enough to enumerate, hard clicks, edge-following
on an anisotropic grid, and the model card switch that turns it on."""

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from pydantic import ValidationError

from algorithm.methods.base import GridCase
from algorithm.methods.graph_cut import GraphCutSegmenter, contrast_weights, min_cut
from algorithm.methods.select import make_segmenter
from algorithm.network import weights as weights_module
from algorithm.network.model_card import ModelCard
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, dice, extreme_clicks
from tests.algorithm.test_network import small_weights


def energy(labels, cost_lesion, cost_background, edges):
    total = np.where(labels, cost_lesion, cost_background).sum()
    for axis, weight in enumerate(edges):
        a = np.take(labels, np.arange(labels.shape[axis] - 1), axis=axis)
        b = np.take(labels, np.arange(1, labels.shape[axis]), axis=axis)
        total += weight[a != b].sum()
    return total


@pytest.mark.parametrize("seed", range(4))
def test_min_cut_finds_the_minimum_energy_of_every_labelling(seed):
    rng = np.random.default_rng(seed)
    shape = (2, 2, 3)
    cost_lesion, cost_background = rng.uniform(0, 3, shape), rng.uniform(0, 3, shape)
    edges = [rng.uniform(0, 2, tuple(s - (i == a) for i, s in enumerate(shape)))
             for a in range(3)]
    best = min(energy(np.array(bits, bool).reshape(shape), cost_lesion, cost_background, edges)
               for bits in itertools.product([0, 1], repeat=int(np.prod(shape))))
    found = min_cut(cost_lesion, cost_background, edges)
    assert energy(found, cost_lesion, cost_background, edges) == pytest.approx(best, abs=1e-2)


def test_seeds_are_hard_and_background_wins_a_conflict():
    shape = (3, 3, 3)
    cost_lesion = np.zeros(shape)  # every voxel would rather be lesion
    cost_background = np.full(shape, 5.0)
    edges = [np.full(tuple(s - (i == a) for i, s in enumerate(shape)), 0.1) for a in range(3)]
    background = np.zeros(shape, bool)
    background[0, 0, 0] = background[1, 1, 1] = True
    lesion = np.zeros(shape, bool)
    lesion[1, 1, 1] = True
    found = min_cut(cost_lesion, cost_background, edges, lesion.astype(np.uint8),
                    background.astype(np.uint8))  # any 0/1 masks, not only bool
    assert not found[0, 0, 0] and not found[1, 1, 1]
    assert found.sum() == found.size - 2
    # and a lesion seed holds against costs that all say background
    found = min_cut(np.full(shape, 5.0), np.zeros(shape), edges, lesion)
    assert found[1, 1, 1] and found.sum() == 1


def test_contrast_weights_are_weak_across_edges_and_scale_with_spacing():
    image = np.zeros((4, 6, 6))
    image[:, :, 3:] = 1.0  # an edge between x = 2 and x = 3
    weights = contrast_weights(image, spacing=(2.0, 1.0, 1.0), smoothness=3.0)
    assert [w.shape for w in weights] == [(3, 6, 6), (4, 5, 6), (4, 6, 5)]
    assert weights[2][:, :, 2].max() < 0.01 * weights[2][:, :, 0].min()
    assert weights[2][0, 0, 0] == pytest.approx(3.0)
    assert weights[0][0, 0, 0] == pytest.approx(1.5)  # twice as far apart along z


@dataclass
class Blurry:
    """A segmenter that sees the lesion as an over-large, soft blob."""

    prob: np.ndarray
    name: str = "blurry"
    grid_size: int = 32

    def predict(self, case: GridCase) -> np.ndarray:
        return self.prob


def test_graph_cut_pulls_an_overgrown_blob_onto_the_lesion_edge_on_an_anisotropic_grid():
    rng = np.random.default_rng(0)
    spacing = np.array([2.0, 1.0, 1.0])
    z, y, x = np.mgrid[:32, :32, :32] * spacing[:, None, None, None]
    centre = np.array([16.0, 16.0, 16.0]) * spacing
    # an irregular lesion: a sphere of 8 (mm-like units) with a bite out of one side
    truth = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 < 8.0**2
    truth &= ~((x - centre[2] > 3.0) & (y - centre[1] > 0.0))
    image = truth + rng.normal(0, 0.15, truth.shape)
    # the inner segmenter's guess: sure of the lesion's core, but also a little more likely
    # lesion than not over a fringe to radius 11 (the bite included), as a blob-drawing net is
    r = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    prob = np.where(truth, 0.95, np.where(r < 11.0, 0.6, 0.02)).astype(np.float32)
    case = GridCase(image=image.astype(np.float32), positive=np.array([[16.0, 16.0, 12.0]]),
                    negative=np.array([[16.0, 20.0, 20.0]]), voi_lo=np.zeros(3),
                    voi_hi=np.full(3, 31.0), spacing=spacing)
    out = GraphCutSegmenter(Blurry(prob), smoothness=2.0).predict(case)
    assert out.shape == prob.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert dice(out > 0.5, truth) > 0.9
    assert dice(out > 0.5, truth) > dice(prob > 0.5, truth) + 0.15
    assert out[16, 20, 20] < 0.5 and out[16, 16, 12] > 0.5


def test_a_cut_that_collapses_towards_the_clicks_gives_way_to_the_inner_probability():
    z, y, x = np.mgrid[:24, :24, :24]
    prob = np.where((z - 12) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 < 36, 0.7, 0.1)
    image = np.random.default_rng(0).normal(0, 1, prob.shape).astype(np.float32)
    case = GridCase(image=image, positive=np.array([[12.0, 12.0, 12.0]]),
                    negative=np.zeros((0, 3)), voi_lo=np.zeros(3), voi_hi=np.full(3, 23.0))
    kept = GraphCutSegmenter(Blurry(prob.astype(np.float32)), smoothness=1.0).predict(case)
    assert (kept > 0.5).sum() > 0.5 * (prob > 0.5).sum()
    # far too smooth: only the clicked voxel would stay lesion, so the cut is not used
    collapsed = GraphCutSegmenter(Blurry(prob.astype(np.float32)), smoothness=50.0)
    np.testing.assert_array_equal(collapsed.predict(case), prob.astype(np.float32))
    collapsed.min_kept_fraction = 0.0
    assert (collapsed.predict(case) > 0.5).sum() <= 1


def test_card_turns_the_graph_cut_on_and_refuses_a_bad_smoothness(tmp_path, monkeypatch):
    package = tmp_path / "package"
    small_weights(package, combine_with_classical=True, graph_cut_smoothness=2.0)
    monkeypatch.setattr(weights_module, "PACKAGE_WEIGHTS_DIR", package)
    segmenter = make_segmenter("auto")
    assert isinstance(segmenter, GraphCutSegmenter) and segmenter.smoothness == 2.0
    assert segmenter.inner.name == "network+classical" and segmenter.grid_size == 32
    assert segmenter.name == "network+classical+graph-cut"
    assert ModelCard(name="m", version="0").graph_cut_smoothness is None
    with pytest.raises(ValidationError):
        ModelCard(name="m", version="0", graph_cut_smoothness=0.0)


@dataclass
class WholeVoi:
    """A segmenter that only knows the clicks' volume of interest: lesion a little more likely
    than not anywhere inside it."""

    name: str = "voi"
    grid_size: int = 32

    def predict(self, case: GridCase) -> np.ndarray:
        idx = np.indices(case.image.shape).reshape(3, -1).T
        inside = np.all((idx >= np.floor(case.voi_lo)) & (idx <= np.ceil(case.voi_hi)), axis=1)
        return np.where(inside, 0.6, 0.05).reshape(case.image.shape).astype(np.float32)


def test_through_the_pipeline_on_an_oblique_anisotropic_image_the_cut_finds_the_lesion():
    image, truth = box_phantom()  # oblique, flipped directions; spacing 0.7 x 0.9 x 3.0 mm
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    plain = segment(image, clicks, WholeVoi()).mask
    cut = segment(image, clicks, GraphCutSegmenter(WholeVoi(), smoothness=2.0)).mask
    assert cut.shape == truth.shape
    assert dice(cut, truth) > 0.9
    assert dice(cut, truth) > dice(plain, truth) + 0.1
