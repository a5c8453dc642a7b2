"""The network path: architecture, safetensors round trip, discovery order, and a full run with
(untrained) weights to prove the wiring and the geometry, not the accuracy."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from algorithm.errors import WeightsError
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.network import NetworkSegmenter
from algorithm.methods.select import make_segmenter
from algorithm.network import weights as weights_module
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import find_weights_dir, load_model, save_model
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks

SMALL = dict(architecture={"features": [4, 8, 16]}, grid_size=32)


def small_weights(folder, **card):
    torch.manual_seed(0)
    model = UNet3D(**Architecture(features=[4, 8, 16]).model_dump())
    return save_model(model, ModelCard(name="tiny", version="0", **(SMALL | card)), folder), model


def test_unet_shapes_and_deep_supervision():
    model = UNet3D(in_channels=5, out_channels=2, features=[4, 8, 16])
    x = torch.zeros(2, 5, 32, 32, 32)
    model.eval()
    assert model(x).shape == (2, 2, 32, 32, 32)
    model.train()
    outputs = model(x)
    assert [o.shape[-1] for o in outputs] == [32, 16]
    assert model.divisor == 4


def test_safetensors_round_trip_is_exact(tmp_path):
    folder, original = small_weights(tmp_path / "w")
    loaded, card = load_model(folder)
    assert card.grid_size == 32
    for (name, a), (_, b) in zip(original.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # safetensors, never pickle: the file starts with a little-endian header length + JSON
    raw = (folder / "model.safetensors").read_bytes()
    header = int.from_bytes(raw[:8], "little")
    assert json.loads(raw[8:8 + header])["__metadata__"]["name"] == "tiny"


def test_discovery_prefers_platform_model_dir(tmp_path, monkeypatch):
    platform, package = tmp_path / "opt-ml-model", tmp_path / "package"
    small_weights(package)
    monkeypatch.setattr(weights_module, "PLATFORM_MODEL_DIR", platform)
    monkeypatch.setattr(weights_module, "PACKAGE_WEIGHTS_DIR", package)
    assert find_weights_dir() == package
    small_weights(platform / "wrapped")  # a tarball that wraps the files in a folder
    assert find_weights_dir() == platform / "wrapped"
    assert isinstance(make_segmenter("auto"), NetworkSegmenter)


def test_auto_falls_back_to_classical_only_without_weights():
    assert find_weights_dir() is None
    assert isinstance(make_segmenter("auto"), GeodesicSegmenter)
    with pytest.raises(WeightsError, match="no model weights"):
        make_segmenter("network")


def test_missing_weights_file_and_bad_card(tmp_path):
    folder, _ = small_weights(tmp_path / "w")
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model(folder)
    (folder / "model_card.json").write_text("{")
    with pytest.raises(WeightsError, match="unreadable"):
        load_model(folder)
    with pytest.raises(WeightsError, match="no model_card.json"):
        find_weights_dir(tmp_path / "elsewhere")


@pytest.mark.parametrize("flips", [False, True])
def test_network_segmenter_end_to_end_keeps_geometry(tmp_path, flips):
    folder, _ = small_weights(tmp_path / "w", test_time_flips=flips)
    segmenter = NetworkSegmenter.from_folder(folder, torch.device("cpu"))
    image, truth = box_phantom()
    result = segment(image, Clicks.from_points(extreme_clicks(image, truth)), segmenter)
    assert result.mask.shape == truth.shape and result.mask.dtype == np.uint8
    first = segment(image, Clicks.from_points(extreme_clicks(image, truth)), segmenter).mask
    np.testing.assert_array_equal(first, result.mask)  # deterministic


def test_previous_mask_reaches_the_network(tmp_path):
    folder, _ = small_weights(tmp_path / "w")
    segmenter = NetworkSegmenter.from_folder(folder, torch.device("cpu"))
    seen = []
    original = segmenter.predict
    segmenter.predict = lambda case: seen.append(case.previous_mask) or original(case)
    image, truth = box_phantom()
    previous = sitk.GetImageFromArray(truth)
    previous.CopyInformation(image)
    segment(image, Clicks.from_points(extreme_clicks(image, truth)), segmenter,
            previous_mask=previous)
    assert seen[0] is not None and seen[0].max() == pytest.approx(1.0) and seen[0].mean() > 0.01


def test_a_card_with_the_ellipsoid_channel_feeds_the_clicks_ellipsoid_on_the_model_grid(tmp_path):
    from algorithm.guidance.encoding import CHANNELS, ellipsoid_prior

    channels = (*CHANNELS, "clicks_ellipsoid")
    torch.manual_seed(0)
    model = UNet3D(**Architecture(in_channels=7, features=[4, 8, 16]).model_dump())
    card = ModelCard(name="tiny", version="0", **SMALL | {
        "architecture": {"in_channels": 7, "features": [4, 8, 16]},
        "guidance": {"channels": channels}})
    segmenter = NetworkSegmenter.from_folder(save_model(model, card, tmp_path / "w"),
                                             torch.device("cpu"))
    seen = []
    forward = segmenter.model.forward
    segmenter.model.forward = lambda x: seen.append(x) or forward(x)
    cases = []
    original = segmenter.predict
    segmenter.predict = lambda case: cases.append(case) or original(case)
    image, truth = box_phantom()
    segment(image, Clicks.from_points(extreme_clicks(image, truth)), segmenter)
    prior = seen[0][0, -1].numpy()
    assert np.array_equal(prior, ellipsoid_prior(cases[0].positive, prior.shape))
    assert prior.max() > 0.8 and (prior >= 0).mean() > 0.02  # centre off-voxel
    with pytest.raises(ValueError, match="in_channels"):
        ModelCard(name="tiny", version="0", guidance={"channels": channels})
    with pytest.raises(ValueError, match="distinct names"):
        ModelCard(name="tiny", version="0", architecture={"in_channels": 7},
                  guidance={"channels": (*CHANNELS, "clicks_ellipse")})


def test_average_segmenter_averages_members():
    from algorithm.methods.base import GridCase
    from algorithm.methods.ensemble import AverageSegmenter

    class Constant:
        grid_size = 8

        def __init__(self, value):
            self.value = value

        def predict(self, case):
            return np.full((8, 8, 8), self.value, np.float32)

    case = GridCase(np.zeros((8, 8, 8), np.float32), np.zeros((1, 3)), np.zeros((0, 3)),
                    np.zeros(3), np.full(3, 7.0))
    assert AverageSegmenter([Constant(0.2), Constant(0.8)]).predict(case)[0, 0, 0] == \
        pytest.approx(0.5)
    assert AverageSegmenter([Constant(0.0), Constant(1.0)], [1, 3]).predict(case)[0, 0, 0] == \
        pytest.approx(0.75)
    other = Constant(0.5)
    other.grid_size = 16
    with pytest.raises(ValueError, match="one grid size"):
        AverageSegmenter([Constant(0.2), other])


def test_card_can_ask_for_the_network_classical_average(tmp_path, monkeypatch):
    from algorithm.methods.ensemble import AverageSegmenter

    package = tmp_path / "package"
    small_weights(package, combine_with_classical=True)
    monkeypatch.setattr(weights_module, "PACKAGE_WEIGHTS_DIR", package)
    segmenter = make_segmenter("auto")
    assert isinstance(segmenter, AverageSegmenter) and segmenter.grid_size == 32
    assert [type(m) for m in segmenter.members] == [NetworkSegmenter, GeodesicSegmenter]
    image, truth = box_phantom()
    result = segment(image, Clicks.from_points(extreme_clicks(image, truth)), segmenter)
    assert result.mask.shape == truth.shape
