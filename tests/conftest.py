"""Shared fixtures: synthetic data only (the real dev lesions are for benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent

# Keep the suite fast and deterministic on small CI machines; never read installed weights.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_configure(config):
    config.addinivalue_line("markers", "installed_weights: use the weights shipped in the package")


@pytest.fixture(autouse=True)
def _no_installed_weights(request, monkeypatch, tmp_path_factory):
    """Point weight discovery at an empty folder unless a test installs weights itself."""
    if request.node.get_closest_marker("installed_weights"):
        monkeypatch.setattr("algorithm.network.weights.PLATFORM_MODEL_DIR",
                            tmp_path_factory.mktemp("no-platform-model"))
        return
    empty = tmp_path_factory.mktemp("no-weights")
    monkeypatch.setattr("algorithm.network.weights.PLATFORM_MODEL_DIR", empty / "opt-ml-model")
    monkeypatch.setattr("algorithm.network.weights.PACKAGE_WEIGHTS_DIR", empty / "package")
    monkeypatch.delenv("LESIONSEG_WEIGHTS", raising=False)
