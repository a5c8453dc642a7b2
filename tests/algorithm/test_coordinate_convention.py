"""Clicks are LPS world mm; 3D Slicer markups are read through their own coordinate system, and
RAS clicks refused as outside the image say that they look like RAS."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.local_cli import main
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks, read_clicks
from algorithm.slicer_markups import parse_slicer_markups
from tests.algorithm.helpers import box_phantom, dice, extreme_clicks

RAS = np.array([-1.0, -1.0, 1.0])


def markups(points, system="LPS", labels=None, **extra) -> dict:
    labels = labels or [f"F-{i + 1}" for i in range(len(points))]
    control = [{"id": str(i + 1), "label": label, "position": [float(v) for v in p],
                "positionStatus": "defined"} for i, (p, label) in enumerate(zip(points, labels))]
    return {"@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/"
                       "Markups/Resources/Schema/markups-schema-v1.0.3.json#",
            "markups": [{"type": "Fiducial", "coordinateSystem": system, "coordinateUnits": "mm",
                         "controlPoints": control, **extra}]}


def test_ras_markups_become_lps_exactly(tmp_path):
    lps = np.array([[10.5, -20.25, 30.0], [-1.0, 2.0, -3.0], [4.0, 5.0, 6.0]])
    path = tmp_path / "F.mrk.json"
    path.write_text(json.dumps(markups(lps * RAS, "RAS", labels=["F-1", "F-2", "background"])))
    clicks = read_clicks(path)
    np.testing.assert_array_equal(clicks.positive, lps[:2])
    np.testing.assert_array_equal(clicks.negative, lps[2:])
    path.write_text(json.dumps(markups(lps, "LPS")))
    np.testing.assert_array_equal(read_clicks(path).positive, lps)


def test_markups_units_unplaced_points_and_background_lists():
    data = markups([[1000.0, 2000.0, 3000.0]], coordinateUnits="um")
    data["markups"][0]["controlPoints"].append({"label": "F-2", "position": [0, 0, 0],
                                                "positionStatus": "undefined"})
    data["markups"].append({"type": "Fiducial", "name": "background", "coordinateSystem": "RAS",
                            "controlPoints": [{"label": "B", "position": [1.0, 1.0, 1.0]}]})
    clicks = parse_slicer_markups(data)
    np.testing.assert_allclose(clicks.positive, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(clicks.negative, [[-1.0, -1.0, 1.0]])


@pytest.mark.parametrize("change, fragment", [
    ({"type": "Line"}, "not a point list"),
    ({"coordinateSystem": "XYZ"}, "coordinateSystem"),
    ({"coordinateUnits": "cm"}, "coordinateUnits"),
    ({"controlPoints": [{"label": "F-1", "position": [1.0, "a", 2.0]}]}, "three finite"),
    ({"controlPoints": [{"label": "background", "position": [1.0, 2.0, 3.0]}]}, "no tumour"),
])
def test_bad_markups_are_refused(change, fragment):
    data = markups([[1.0, 2.0, 3.0]])
    data["markups"][0].update(change)
    with pytest.raises(InputError, match=fragment):
        parse_slicer_markups(data)


def test_segment_reads_a_ras_markups_file_like_its_lps_clicks(tmp_path):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    lps = extreme_clicks(image, truth)
    (tmp_path / "F.mrk.json").write_text(json.dumps(markups(lps * RAS, "RAS")))
    out = tmp_path / "mask.mha"
    assert main(["segment", str(tmp_path / "scan.mha"), str(tmp_path / "F.mrk.json"), "-o",
                 str(out), "--method", "classical"]) == 0
    expected = segment(image, Clicks.from_points(lps), GeodesicSegmenter()).mask
    got = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    np.testing.assert_array_equal(got, expected)
    assert dice(got, truth) > 0.9


def test_ras_clicks_outside_the_image_get_the_hint(tmp_path, capfd):
    image, truth = box_phantom(origin=(60.0, 80.0, 10.0))  # far from x = y = 0: RAS lands outside
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    ras = Clicks.from_points(extreme_clicks(image, truth) * RAS)
    (tmp_path / "clicks.json").write_text(json.dumps(ras.to_multiple_points()))
    out = tmp_path / "mask.mha"
    code = main(["segment", str(tmp_path / "scan.mha"), str(tmp_path / "clicks.json"), "-o",
                 str(out), "--method", "classical"])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and not out.exists()
    assert last.startswith("error: ") and "outside the image" in last
    assert "look like RAS coordinates (3D Slicer): flip x and y, or pass the .mrk.json" in last


def test_clicks_outside_either_way_get_no_hint(tmp_path):
    image, truth = box_phantom(origin=(60.0, 80.0, 10.0))
    far = Clicks.from_points(extreme_clicks(image, truth) + [500.0, 0.0, 0.0])
    with pytest.raises(InputError, match="outside the image") as info:
        segment(image, far, GeodesicSegmenter())
    assert "RAS" not in str(info.value)
