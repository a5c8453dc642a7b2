"""The reader keeps the world geometry: a point placed in the viewer maps to the world point
that SimpleITK gives for the same voxel, on an oblique, anisotropic image."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from napari_lesionseg.reader import get_reader
from napari_lesionseg.volume import METADATA_KEY, window_limits


def test_reader_layer_carries_scale_and_exact_world_mapping(phantom, phantom_file):
    reader = get_reader(str(phantom_file))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(phantom_file))
    assert kind == "image"
    np.testing.assert_array_equal(data, sitk.GetArrayFromImage(phantom.image))
    volume = kwargs["metadata"][METADATA_KEY]
    assert kwargs["scale"] == pytest.approx(phantom.image.GetSpacing()[::-1])
    assert volume.modality == "CT"
    assert kwargs["contrast_limits"] == (-160.0, 240.0)  # soft-tissue window
    rng = np.random.default_rng(0)
    data_points = rng.uniform(0, 20, (5, 3))
    expected = [phantom.image.TransformContinuousIndexToPhysicalPoint(p[::-1].tolist())
                for p in data_points]
    world = volume.to_world(data_points)
    np.testing.assert_allclose(world, expected, atol=1e-9)
    np.testing.assert_allclose(volume.to_data(world), data_points, atol=1e-9)


def test_reader_declines_what_it_cannot_read(tmp_path):
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader([str(tmp_path / "a.mha"), str(tmp_path / "b.mha")]) is None


def test_unreadable_image_says_what_it_is(tmp_path):
    bad = tmp_path / "scan.mha"
    bad.write_text('{"not": "an image"}')
    with pytest.raises(InputError, match="cannot read image scan.mha: it is"):
        get_reader(str(bad))(str(bad))


def test_mr_window_from_percentiles():
    values = np.arange(1000, dtype=np.float32)
    low, high = window_limits(values, "MR")
    assert 0 < low < 10 and 990 < high < 999
