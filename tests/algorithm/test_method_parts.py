"""``--method network-only`` runs the raw network alone, even when the model card adds the
classical average and the graph cut; every entry point names what ran."""

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from algorithm import cli
from algorithm.errors import WeightsError
from algorithm.local_cli import main
from algorithm.methods.network import NetworkSegmenter
from algorithm.methods.select import METHODS, make_segmenter
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import save_model
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks

FULL_CARD = dict(combine_with_classical=True, graph_cut_smoothness=2.0)


@pytest.fixture
def full_weights(tmp_path):
    torch.manual_seed(0)
    model = UNet3D(**Architecture(features=[4, 8, 16]).model_dump())
    card = ModelCard(name="tiny", version="0", architecture={"features": [4, 8, 16]},
                     grid_size=32, **FULL_CARD)
    return save_model(model, card, tmp_path / "weights")


def test_network_only_is_the_raw_network(full_weights):
    assert "network-only" in METHODS
    full = make_segmenter("network", full_weights, "cpu")
    raw = make_segmenter("network-only", full_weights, "cpu")
    assert full.name == "network+classical+graph-cut"
    assert type(raw) is NetworkSegmenter and raw.name == "network"
    assert make_segmenter("classical", full_weights, "cpu").name == "classical"


def test_network_only_without_weights_is_an_error():
    with pytest.raises(WeightsError, match="no model weights"):
        make_segmenter("network-only")


def test_the_cli_runs_the_raw_network_and_names_it(full_weights, tmp_path, capfd):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    (tmp_path / "clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    out = tmp_path / "mask.mha"
    assert main(["segment", str(tmp_path / "scan.mha"), str(tmp_path / "clicks.json"), "-o",
                 str(out), "--method", "network-only", "--weights", str(full_weights),
                 "--device", "cpu"]) == 0
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert "(network, CT," in last and last.endswith(", model 0)")
    raw = NetworkSegmenter.from_folder(full_weights, torch.device("cpu"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(out))),
                                  segment(image, clicks, raw).mask)


def test_batch_and_platform_entry_point_name_the_method(tmp_path, capfd):
    image, truth = box_phantom()
    case = tmp_path / "cases" / "one"
    case.mkdir(parents=True)
    sitk.WriteImage(image, str(case / "scan.mha"))
    clicks = Clicks.from_points(extreme_clicks(image, truth)).to_multiple_points()
    (case / "lesion-clicks.json").write_text(json.dumps(clicks))
    assert main(["batch", str(tmp_path / "cases"), str(tmp_path / "out"), "--method",
                 "classical"]) == 0
    assert "segmenting 1 case(s) with classical" in capfd.readouterr().err
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text(encoding="utf-8"))
    assert report["method"] == "classical"
    platform = tmp_path / "in"
    (platform / "images/medical-image").mkdir(parents=True)
    sitk.WriteImage(image, str(platform / "images/medical-image/scan.mha"))
    (platform / "lesion-clicks.json").write_text(json.dumps(clicks))
    assert cli.main(["--input", str(platform), "--output", str(tmp_path / "gc"), "--method",
                     "classical"]) == 0
    assert "(classical, CT," in capfd.readouterr().err.strip().splitlines()[-1]
