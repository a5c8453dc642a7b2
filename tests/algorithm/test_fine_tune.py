"""Image-specific fine-tuning: a copy is tuned, the weights never change, the tuned answer is
kept only when it agrees better with the user's voxels, and every entry point reaches it."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
import torch

from algorithm import fine_tune as ft
from algorithm.local_cli import main as cli_main
from algorithm.methods.base import GridCase
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.network import NetworkSegmenter
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import load_model, save_model
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from algorithm.server.app import ServerSettings
from tests.algorithm.helpers import box_phantom, extreme_clicks
from tests.algorithm.serve_support import clicks_prompt, lesion_path, running_server

SMALL = dict(architecture={"features": [4, 8, 16]}, grid_size=32)


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    model = UNet3D(**Architecture(features=[4, 8, 16]).model_dump())
    return save_model(model, ModelCard(name="tiny", version="0", **SMALL), tmp_path / "w")


def _steps(n):
    """A clock that lets exactly ``n`` steps run within a budget of ``n`` (one tick per call
    after the start)."""
    ticks = itertools.count()
    return lambda: float(next(ticks)) / 2.0


def _case(rng=0):
    image = np.random.default_rng(rng).normal(size=(32, 32, 32)).astype(np.float32)
    return GridCase(image, np.array([[16.0, 16, 16], [10, 16, 16]]), np.array([[3.0, 3, 3]]),
                    np.full(3, 6.0), np.full(3, 25.0))


def test_a_copy_is_tuned_and_the_weights_stay_as_they_were(weights, monkeypatch):
    network = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    before = {k: v.clone() for k, v in network.model.state_dict().items()}
    digest = hashlib.sha256((weights / "model.safetensors").read_bytes()).hexdigest()
    case = _case()
    prob = network.predict(case)
    monkeypatch.setattr(ft, "LEARNING_RATE", 3e-2)  # a tiny random net, a few steps
    tuned, report = ft.fine_tune(network, case, prob, budget_s=30, clock=_steps(60))
    assert report.steps > 5 and report.user_voxels > 0
    assert all(torch.equal(v, network.model.state_dict()[k]) for k, v in before.items())
    assert hashlib.sha256((weights / "model.safetensors").read_bytes()).hexdigest() == digest
    assert np.array_equal(network.predict(case), prob)  # the segmenter answers as before
    # the user's voxels learnt: the copy gets them right where the original did not
    assert report.agreement_tuned == 1.0 > report.agreement_original
    assert report.kept == "tuned" and not np.array_equal(tuned, prob)


def test_the_original_is_kept_unless_the_copy_agrees_better(weights):
    network = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    case = _case()
    tumour, background = ft.user_labels(case)
    perfect = np.where(tumour, 0.99, 0.01).astype(np.float32)  # already right on every voxel
    kept, report = ft.fine_tune(network, case, perfect, budget_s=1, clock=_steps(2))
    assert report.agreement_original == 1.0 and report.kept == "original"
    assert kept is perfect


def test_user_labels_balls_seeds_and_background_winning():
    case = _case()
    tumour, background = ft.user_labels(case)
    assert tumour[16, 16, 16] and tumour[10, 16, 16] and tumour[16, 16, 17]
    assert background[3, 3, 3] and not tumour[3, 3, 3]
    assert tumour.sum() == 2 * 19  # a ball of radius 1.5 voxels: 1 + 6 + 12
    weights = ft.network_weights(np.array([0.5, 0.85, 0.95, 1.0, 0.02], np.float32))
    np.testing.assert_allclose(weights, [0.0, 0.0, 0.5, 1.0, 0.8], atol=1e-6)


def test_no_user_voxel_no_tuning(weights):
    network = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    empty = GridCase(np.zeros((32, 32, 32), np.float32), np.zeros((0, 3)), np.zeros((0, 3)),
                     np.zeros(3), np.full(3, 31.0))
    prob = np.full((32, 32, 32), 0.3, np.float32)
    same, report = ft.fine_tune(network, empty, prob, budget_s=5)
    assert same is prob and report.steps == 0 and report.kept == "original"


def test_the_pipeline_reports_it_and_skips_it_for_the_classical_method(weights):
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask))
    network = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    result = segment(image, clicks, network, config=PipelineConfig(fine_tune_seconds=0.5))
    assert result.fine_tune is not None and result.fine_tune.steps >= 1
    assert result.fine_tune.kept in ("tuned", "original")
    plain = segment(image, clicks, GeodesicSegmenter(), config=PipelineConfig(fine_tune_seconds=1))
    assert plain.fine_tune is None and any("fine-tuning was skipped" in w for w in plain.warnings)
    assert segment(image, clicks, network).fine_tune is None  # off by default


def test_the_command_line_and_the_server_take_it(weights, tmp_path, capsys):
    import json

    import SimpleITK as sitk

    image, mask = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    points = extreme_clicks(image, mask)
    (tmp_path / "clicks.json").write_text(json.dumps(clicks_prompt(points)["points"]))
    args = ["segment", str(tmp_path / "scan.mha"), str(tmp_path / "clicks.json"), "-o",
            str(tmp_path / "mask.mha"), "--weights", str(weights), "--method", "network"]
    assert cli_main(args + ["--fine-tune", "-1"]) != 0
    assert "--fine-tune needs" in capsys.readouterr().err.strip().splitlines()[-1]
    assert cli_main(args + ["--fine-tune", "0.5"]) == 0 and (tmp_path / "mask.mha").exists()

    network = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    settings = ServerSettings(pipeline=PipelineConfig(fine_tune_seconds=0.5))
    with running_server(settings, network) as live, live.client() as client:
        session, base = lesion_path(client, image)
        answer = client.post(f"{base}/prompts", json=clicks_prompt(points)).json()
        assert answer["fine_tune"]["steps"] >= 1
        assert answer["fine_tune"]["kept"] in ("tuned", "original")
