import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image
from scipy import ndimage

import algorithm.local_cli as local_cli
from algorithm.local_cli import main
from algorithm.methods.base import GridCase
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.prompts import Clicks
from algorithm.review import COLUMNS
from algorithm.thumbnail import OUTLINE_RGB, PANEL_PX, outline_of, thumbnail_rgb
from tests.algorithm.helpers import box_phantom, extreme_clicks

#: lesion intensity (HU) of each case: the brighter, the more the stand-in erodes its answer
LESION_HU = {"a_sure": 120, "b_unsure": 200, "c_middle": 160}


class ErodingSegmenter:
    """A stand-in network: the classical answer eroded by more grid voxels the brighter the
    lesion is at the clicks, so its agreement with the classical method (the confidence) falls
    in a known order. Named "network" so that the pipeline scores it."""

    name = "network"

    def __init__(self):
        self.classical = GeodesicSegmenter()
        self.grid_size = self.classical.grid_size

    def predict(self, case: GridCase) -> np.ndarray:
        answer = self.classical.predict(case) > 0.5
        at = np.clip(np.rint(case.positive.mean(axis=0)).astype(int), 0,
                     np.asarray(case.image.shape) - 1)
        brightness = float(case.image[tuple(at)])  # CT normalised: 120 HU -> 0.4, 200 -> 0.8
        steps = max(0, int(round((brightness - 0.4) * 20)))  # 0, 4 and 8
        if steps:
            answer = ndimage.binary_erosion(answer, iterations=steps)
        return answer.astype(np.float32)


def _write_case(folder, lesion_hu):
    image, truth = box_phantom()  # oblique, flipped, anisotropic
    array = sitk.GetArrayFromImage(image)
    array[truth.astype(bool)] += lesion_hu - 120
    case = sitk.GetImageFromArray(array)
    case.CopyInformation(image)
    folder.mkdir(parents=True)
    sitk.WriteImage(case, str(folder / "scan.nii.gz"))
    (folder / "lesion-clicks.json").write_text(json.dumps(
        Clicks.from_points(extreme_clicks(image, truth)).to_multiple_points()))


@pytest.fixture
def cases(tmp_path):
    root = tmp_path / "cases"
    for name, hu in LESION_HU.items():
        _write_case(root / name, hu)
    return root


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(local_cli, "make_segmenter", lambda *a, **k: ErodingSegmenter())


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_cases_are_listed_least_sure_first(tmp_path, cases, stand_in):
    out = tmp_path / "ranking.csv"
    assert main(["rank", str(cases), "-o", str(out), "--masks", str(tmp_path / "masks")]) == 0
    rows = _rows(out)
    assert tuple(rows[0]) == COLUMNS
    assert [r["case"] for r in rows] == ["b_unsure", "c_middle", "a_sure"]
    confidences = [float(r["confidence"]) for r in rows]
    assert confidences == sorted(confidences) and confidences[0] < confidences[-1] - 0.1
    for row in rows:
        assert float(row["volume_ml"]) > 0 and float(row["long_axis_mm"]) > 0
        assert row["error"] == ""
        assert (out.parent / row["thumbnail"]).is_file()
        mask = sitk.ReadImage(str(out.parent / row["mask"]))
        assert mask.GetSize() == sitk.ReadImage(str(cases / row["case"] / "scan.nii.gz")).GetSize()


def test_failed_cases_are_reported_and_listed_last(tmp_path, cases, stand_in, capfd):
    (cases / "0_broken").mkdir()
    (cases / "0_broken" / "lesion-clicks.json").write_text('{"type": "Multiple points"')
    out = tmp_path / "ranking.csv"
    code = main(["rank", str(cases), "-o", str(out)])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: 1 of 4 cases failed (0_broken)")
    rows = _rows(out)
    assert [r["case"] for r in rows] == ["b_unsure", "c_middle", "a_sure", "0_broken"]
    assert rows[-1]["error"] and rows[-1]["confidence"] == rows[-1]["thumbnail"] == ""
    assert all(r["mask"] == "" for r in rows)  # no --masks


def test_the_classical_method_is_refused(tmp_path, cases, capfd):
    out = tmp_path / "ranking.csv"
    code = main(["rank", str(cases), "-o", str(out), "--method", "classical"])
    assert code == 2 and "confidence" in capfd.readouterr().err.splitlines()[-1]
    assert not out.exists()


def test_thumbnail_shows_three_slices_with_the_outline(tmp_path, cases, stand_in):
    out = tmp_path / "ranking.csv"
    assert main(["rank", str(cases), "-o", str(out)]) == 0
    png = Image.open(out.parent / _rows(out)[0]["thumbnail"])
    assert png.mode == "RGB" and png.size == (3 * PANEL_PX, PANEL_PX)
    rgb = np.asarray(png)
    for panel in np.split(rgb, 3, axis=1):
        assert np.all(panel == OUTLINE_RGB, axis=2).any()  # every view crosses the lesion


def test_thumbnail_keeps_the_physical_aspect_ratio():
    """A lesion 3 mm x 24 mm x 24 mm in voxels of 3 x 1 x 1 mm: in the coronal and sagittal
    panels its outline is eight times wider than tall, not as in voxels (1 x 24)."""
    mask = np.zeros((9, 40, 40), np.uint8)
    mask[4:5, 8:32, 8:32] = 1
    image = sitk.GetImageFromArray(np.where(mask, 100, 0).astype(np.int16))
    image.SetSpacing((1.0, 1.0, 3.0))
    rgb = thumbnail_rgb(image, mask, "MR", panel=96)
    for panel in np.split(rgb, 3, axis=1)[1:]:
        rows, cols = np.nonzero(np.all(panel == OUTLINE_RGB, axis=2))
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert 6 <= width / height <= 10


def test_outline_is_the_mask_border_only():
    square = np.zeros((7, 7), bool)
    square[1:6, 1:6] = True
    outline = outline_of(square)
    assert outline.sum() == 16 and not outline[2:5, 2:5].any()
