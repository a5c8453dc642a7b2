"""Implausible masks are flagged (stderr, results, batch report); correct ones never are."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.click_convention import boundary_clicks_to_protocol
from algorithm.geometry import spacing_zyx
from algorithm.phantom import make_phantom, reference_clicks
from algorithm.plausibility import implausibility
from algorithm.pipeline import segment
from algorithm.prompts import Clicks

PHANTOMS = [
    pytest.param(dict(), id="default"),
    pytest.param(dict(modality="MR", seed=3), id="mr"),
    pytest.param(dict(radii_mm=(8.0, 6.0, 5.0), seed=1), id="small"),
    pytest.param(dict(shape=(60, 80, 80), spacing_zyx=(1.0, 1.0, 1.0),
                      radii_mm=(25.0, 30.0, 20.0), seed=2), id="isotropic-large"),
    pytest.param(dict(radii_mm=(40.0, 30.0, 10.0), seed=4), id="flat"),
]


def _lesion(**kwargs):
    phantom = make_phantom(**kwargs)
    return sitk.GetArrayFromImage(phantom.mask).astype(bool), spacing_zyx(phantom.image)


@pytest.mark.parametrize("kwargs", PHANTOMS)
@pytest.mark.parametrize("seed", range(3))
def test_a_correct_mask_clicked_per_protocol_is_never_flagged(kwargs, seed):
    mask, spacing = _lesion(**{**kwargs, "seed": kwargs.get("seed", 0) + 10 * seed})
    assert implausibility(mask, reference_clicks(mask, spacing), spacing) == []
    # clicked on the boundary and moved inward by --clicks-on-boundary: the same holds
    moved = boundary_clicks_to_protocol(reference_clicks(mask, spacing, inward=0), spacing)
    assert implausibility(mask, moved, spacing) == []


def test_a_correct_mask_with_fewer_clicks_is_not_flagged():
    mask, spacing = _lesion()
    centre = np.argwhere(mask).mean(axis=0)
    assert implausibility(mask, centre[None], spacing) == []
    assert implausibility(mask, reference_clicks(mask, spacing)[:2], spacing) == []


def test_a_runaway_mask_is_flagged_for_its_volume():
    mask, spacing = _lesion()
    everything = np.ones_like(mask)
    (warning,) = implausibility(everything, reference_clicks(mask, spacing), spacing)
    assert warning.startswith("implausible mask for its clicks: its ") and "limit 8x" in warning
    assert "5 voxels inside" in warning
    one_click = np.argwhere(mask).mean(axis=0)[None]
    assert "limit 8x" in implausibility(everything, one_click, spacing)[0]


def test_a_leak_far_beyond_the_clicks_is_flagged_though_its_volume_is_modest():
    lesion, spacing = _lesion()
    mask = np.pad(lesion, ((0, 0), (0, 0), (0, 120)))  # room for a long leak along x
    clicks = reference_clicks(mask, spacing)
    leak = mask.copy()
    z, y, x = np.argwhere(mask).mean(axis=0).astype(int)
    leak[z - 1:z + 2, y - 2:y + 3, x:] = True  # a thin tube from the lesion to the image's edge
    assert leak.sum() < 1.5 * mask.sum()
    (warning,) = implausibility(leak, clicks, spacing)
    assert "mm beyond the tumour clicks' box" in warning and "limit" not in warning
    near = mask.copy()  # a little over-segmentation next to the lesion is no alarm
    near[z - 1:z + 2, y - 2:y + 3, x:x + int(np.argwhere(mask)[:, 2].max() - x + 4)] = True
    assert implausibility(near, clicks, spacing) == []


class EverythingSegmenter:
    """Test double: an undertrained model that calls every voxel tumour."""

    name = "everything"
    grid_size = 32

    def predict(self, case):
        return np.ones((self.grid_size,) * 3, dtype=np.float32)


def test_the_pipeline_records_the_warning_and_the_entry_points_print_it(tmp_path, capfd,
                                                                       monkeypatch):
    from algorithm.local_cli import main

    phantom = make_phantom()
    clicks = Clicks.from_points(phantom.clicks_xyz)
    assert segment(phantom.image, clicks, EverythingSegmenter()).warnings
    case = tmp_path / "cases" / "case1"
    case.mkdir(parents=True)
    sitk.WriteImage(phantom.image, str(case / "scan.mha"))
    (case / "lesion-clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    monkeypatch.setattr("algorithm.local_cli.make_segmenter", lambda *a: EverythingSegmenter())
    assert main(["batch", str(tmp_path / "cases"), str(tmp_path / "out")]) == 0
    err = capfd.readouterr().err
    assert "warning: case1.mha: implausible mask for its clicks" in err
    assert "case1: ok" in err and "implausible mask: see the warning" in err
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text())
    assert report["succeeded"][0]["warnings"][0].startswith("implausible mask")


def test_a_plausible_segmentation_has_no_warnings():
    from algorithm.methods.classical import GeodesicSegmenter

    phantom = make_phantom()
    result = segment(phantom.image, Clicks.from_points(phantom.clicks_xyz), GeodesicSegmenter())
    assert result.warnings == ()


def test_the_platform_output_records_the_warning(tmp_path, capfd):
    """On grand-challenge stderr is seen by few: the warning also goes into the case's
    lesion-measurements output, which the platform shows and keeps."""
    from algorithm.io.grand_challenge import locate_inputs
    from algorithm.platform_case import process_case
    from tests.algorithm.helpers import write_platform_case

    phantom = make_phantom()
    clicks = Clicks.from_points(phantom.clicks_xyz).to_multiple_points()
    root = write_platform_case(tmp_path / "input", phantom.image, clicks)
    process_case(locate_inputs(root), tmp_path / "output", EverythingSegmenter())
    report = json.loads((tmp_path / "output" / "lesion-measurements.json").read_text())
    assert report["warnings"] and report["warnings"][0].startswith("implausible mask")
    assert "warning: case.mha: implausible mask for its clicks" in capfd.readouterr().err
