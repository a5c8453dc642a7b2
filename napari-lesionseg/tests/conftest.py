"""Synthetic data only: an oblique, anisotropic phantom (``algorithm.phantom``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import SimpleITK as sitk

from algorithm.phantom import make_phantom

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def phantom():
    return make_phantom("CT", shape=(24, 64, 64), spacing_zyx=(3.0, 0.9, 0.8),
                        radii_mm=(20.0, 14.0, 12.0), seed=3)


@pytest.fixture
def phantom_file(phantom, tmp_path) -> Path:
    path = tmp_path / "phantom_ct.mha"
    sitk.WriteImage(phantom.image, str(path))
    return path
