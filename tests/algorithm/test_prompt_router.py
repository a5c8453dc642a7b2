"""A card naming a prompt model: clicks alone go to the clicks network, any other prompt to the
network trained for it, each cut at its own card's threshold; the warning for untrained kinds
follows the network that answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algorithm.errors import WeightsError
from algorithm.geometry import index_to_world
from algorithm.methods.prompt_router import PromptRoutedSegmenter
from algorithm.methods.select import make_segmenter
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import save_model
from algorithm.pipeline import first_answer_threshold, segment
from algorithm.prompts import Clicks
from algorithm.prompts.boxes import parse_boxes
from algorithm.prompts.prompt_set import PromptSet
from tests.algorithm.helpers import box_phantom, extreme_clicks

SMALL = dict(architecture={"features": [4, 8, 16]}, grid_size=32)


def _weights(folder, seed, **card):
    torch.manual_seed(seed)
    model = UNet3D(**Architecture(features=[4, 8, 16]).model_dump())
    save_model(model, ModelCard(name="tiny", version=f"v{seed}", **(SMALL | card)), folder)
    return folder


@pytest.fixture
def routed(tmp_path):
    root = _weights(tmp_path / "w", 0, threshold=0.7, prompt_model="prompts")
    _weights(root / "prompts", 1, prompt_kinds=("clicks", "box", "outlines"))
    return make_segmenter("network-only", root)


def test_the_card_builds_a_router_and_each_case_goes_to_its_network(routed, tmp_path):
    assert isinstance(routed, PromptRoutedSegmenter)
    assert routed.clicks.card.version == "v0" and routed.prompts.card.version == "v1"
    assert routed.prompt_kinds == ("clicks", "outlines", "box")
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask))
    alone = segment(image, clicks, routed)
    assert np.array_equal(alone.mask, segment(image, clicks, routed.clicks).mask)
    assert (alone.method, alone.model_version) == ("network", "v0")

    corners = index_to_world(image, np.array([[12.0, 19, 17], [12, 19, 40], [12, 44, 40],
                                              [12, 44, 17]]))
    box = PromptSet(boxes=parse_boxes({"type": "2D bounding box", "corners": corners.tolist(),
                                       "version": {"major": 1, "minor": 0}}))
    answered = segment(image, box, routed)
    assert np.array_equal(answered.mask, segment(image, box, routed.prompts).mask)
    assert not any("untrained" in w for w in answered.warnings)
    # the output names the network that answered, not the router's clicks network
    assert (answered.method, answered.model_version) == ("network", "v1")


def test_kinds_the_card_gives_the_classical_method_go_there(tmp_path):
    from algorithm.methods.base import GridCase, GridSeeds
    from algorithm.methods.classical import GeodesicSegmenter

    root = _weights(tmp_path / "w", 0, threshold=0.7, prompt_model="prompts")
    _weights(root / "prompts", 1, prompt_kinds=("clicks", "box", "outlines"),
             classical_kinds=("outlines",))
    routed = make_segmenter("network", root)
    empty = np.zeros((32, 32, 32), bool)
    case = lambda kinds: GridCase(np.zeros((32, 32, 32), np.float32), np.zeros((1, 3)),
                                  np.zeros((0, 3)), np.zeros(3), np.full(3, 31.0),
                                  seeds=GridSeeds(empty, empty, empty, kinds=kinds))
    assert isinstance(routed.route(case(("clicks", "outlines"))), GeodesicSegmenter)
    assert first_answer_threshold(routed, case(("outlines",))) == 0.5
    assert routed.route(case(("box",))) is routed.prompts
    assert routed.route(case(("box", "outlines"))) is routed.prompts
    assert routed.prompt_kinds == ("clicks", "outlines", "box")
    with pytest.raises(ValueError):
        ModelCard(name="x", version="0", classical_kinds=("clicks",))


def test_each_network_cuts_at_its_own_cards_threshold(routed):
    from algorithm.methods.base import GridCase, GridSeeds

    empty = np.zeros((32, 32, 32), bool)
    case = GridCase(np.zeros((32, 32, 32), np.float32), np.zeros((1, 3)), np.zeros((0, 3)),
                    np.zeros(3), np.full(3, 31.0))
    assert first_answer_threshold(routed, case) == 0.7
    seeded = GridCase(case.image, case.positive, case.negative, case.voi_lo, case.voi_hi,
                      seeds=GridSeeds(empty, empty, empty))
    assert first_answer_threshold(routed, seeded) == 0.5


def test_the_prompt_models_cuts_per_kind_apply_to_the_cases_holding_those_kinds(tmp_path):
    from algorithm.methods.base import GridCase, GridSeeds

    root = _weights(tmp_path / "w", 0, threshold=0.7, prompt_model="prompts")
    _weights(root / "prompts", 1, prompt_kinds=("clicks", "box", "outlines", "recist"),
             kind_thresholds={"box": 0.3, "recist": 0.4})
    routed = make_segmenter("network", root)
    empty = np.zeros((32, 32, 32), bool)
    case = lambda kinds: GridCase(np.zeros((32, 32, 32), np.float32), np.zeros((1, 3)),
                                  np.zeros((0, 3)), np.zeros(3), np.full(3, 31.0),
                                  seeds=GridSeeds(empty, empty, empty, kinds=kinds))
    assert first_answer_threshold(routed, case(("box",))) == 0.3
    assert first_answer_threshold(routed, case(("clicks", "recist"))) == 0.4
    assert first_answer_threshold(routed, case(("box", "recist"))) == 0.3  # the lowest
    assert first_answer_threshold(routed, case(("outlines",))) == 0.5  # the card's threshold
    clicks_alone = GridCase(np.zeros((32, 32, 32), np.float32), np.zeros((1, 3)),
                            np.zeros((0, 3)), np.zeros(3), np.full(3, 31.0))
    assert first_answer_threshold(routed, clicks_alone) == 0.7  # the clicks network's card
    for wrong in ({"clicks": 0.3}, {"lasso": 0.3}, {"box": 1.0}, {"box": 0.0}):
        with pytest.raises(ValueError):
            ModelCard(name="x", version="0", kind_thresholds=wrong)


def test_a_named_prompt_model_that_is_missing_is_an_error(tmp_path):
    root = _weights(tmp_path / "w", 0, prompt_model="prompts")
    with pytest.raises(WeightsError, match="prompt_model 'prompts'"):
        make_segmenter("network", root)


def test_a_prompt_model_name_must_be_a_plain_folder_name():
    with pytest.raises(ValueError):
        ModelCard(name="x", version="0", prompt_model="../elsewhere")


def test_the_platforms_measurements_name_the_network_that_answered(routed, tmp_path):
    import json

    import SimpleITK as sitk

    from algorithm.io.grand_challenge import locate_inputs
    from algorithm.platform_case import process_case

    image, mask = box_phantom()
    root = tmp_path / "input"
    (root / "images/medical-image").mkdir(parents=True)
    sitk.WriteImage(image, str(root / "images/medical-image/case.mha"))
    corners = index_to_world(image, np.array([[12.0, 19, 17], [12, 19, 40], [12, 44, 40],
                                              [12, 44, 17]]))
    (root / "lesion-box.json").write_text(json.dumps(
        {"type": "2D bounding box", "corners": corners.tolist(),
         "version": {"major": 1, "minor": 0}}))
    report = process_case(locate_inputs(root), tmp_path / "output", routed)
    written = json.loads((tmp_path / "output/lesion-measurements.json").read_text())
    assert (written["method"], written["version"]) == ("network", "v1")
    assert report.method == "network"
