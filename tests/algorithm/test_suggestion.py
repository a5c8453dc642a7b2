import json

import numpy as np
import SimpleITK as sitk

from algorithm.local_cli import main
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from algorithm.suggestion import SuggestionConfig, most_uncertain_voxel, suggest_click
from tests.algorithm.helpers import box_phantom, extreme_clicks


def _sure_ball(shape=(20, 40, 40), radius=8.0):
    """A probability that is sure everywhere (0.02 / 0.98) and its mask, a ball."""
    z, y, x = np.mgrid[:shape[0], :shape[1], :shape[2]]
    ball = (z - 10) ** 2 + (y - 20) ** 2 + (x - 20) ** 2 <= radius**2
    return np.where(ball, 0.98, 0.02).astype(np.float32), ball


def test_a_wide_uncertain_patch_beats_a_lone_uncertain_voxel():
    p, mask = _sure_ball()
    p[10, 20, 28] = 0.5  # one voxel on the surface, as uncertain as can be
    p[8:13, 9:14, 18:23] = 0.62  # a wider patch at the opposite surface, less uncertain
    index, score = most_uncertain_voxel(p, mask, (1.0, 1.0, 1.0))
    assert 8 <= index[0] < 13 and 9 <= index[1] < 14 and 18 <= index[2] < 23
    assert 0.0 < score < 1.0


def test_far_from_the_surface_is_never_suggested():
    p, mask = _sure_ball()
    p[10, 20, 20] = 0.5  # the ball's centre: 8 mm from its surface
    assert most_uncertain_voxel(p, mask, (1.0, 1.0, 1.0), SuggestionConfig(band_mm=3.0)) is None
    p[10, 20, 29] = 0.5  # just outside the surface
    assert most_uncertain_voxel(p, mask, (1.0, 1.0, 1.0), SuggestionConfig(band_mm=3.0))[0] == (
        10, 20, 29)


def test_a_sure_or_empty_answer_has_no_suggestion():
    p, mask = _sure_ball()
    assert most_uncertain_voxel(p, mask, (3.0, 0.9, 0.7)) is None
    assert most_uncertain_voxel(p, np.zeros_like(mask), (3.0, 0.9, 0.7)) is None


def test_the_point_maps_back_to_its_voxel_on_an_oblique_anisotropic_image():
    image, truth = box_phantom()  # oblique, flipped, 0.7 x 0.9 x 3 mm
    result = segment(image, Clicks.from_points(extreme_clicks(image, truth)),
                     GeodesicSegmenter(), config=PipelineConfig(confidence=False))
    found = suggest_click(result, image)
    assert found is not None
    index_xyz = image.TransformPhysicalPointToIndex(found.point_mm)
    assert tuple(index_xyz[::-1]) == found.index_zyx
    assert all(0 <= i < n for i, n in zip(index_xyz, image.GetSize()))
    p = result.probability_image()[found.index_zyx]
    assert abs(p - 0.5) < 0.4 and p == found.probability


def test_segment_suggest_writes_one_named_point(tmp_path, capfd):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    clicks = tmp_path / "clicks.json"
    clicks.write_text(json.dumps(Clicks.from_points(extreme_clicks(image, truth))
                                 .to_multiple_points()))
    out, suggestion = tmp_path / "mask.mha", tmp_path / "next.json"
    assert main(["segment", str(tmp_path / "scan.mha"), str(clicks), "-o", str(out),
                 "--method", "classical", "--suggest", str(suggestion)]) == 0
    value = json.loads(suggestion.read_text())
    assert value["type"] == "Multiple points" and [p["name"] for p in value["points"]] == [
        "suggestion"]
    index = image.TransformPhysicalPointToIndex(value["points"][0]["point"])
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    near = mask[max(index[2] - 1, 0):index[2] + 2, max(index[1] - 6, 0):index[1] + 7,
                max(index[0] - 8, 0):index[0] + 9]
    assert near.any() and not near.all()  # the point is on the mask's boundary


def test_the_server_returns_the_suggestion_only_when_asked():
    from algorithm.server.app import ServerSettings
    from tests.algorithm.serve_support import clicks_prompt, new_lesion, running_server, upload

    image, truth = box_phantom()
    six = extreme_clicks(image, truth)
    expected = suggest_click(segment(image, Clicks.from_points(six), GeodesicSegmenter(),
                                     config=PipelineConfig(confidence=False)), image)
    for suggest in (False, True):
        with running_server(ServerSettings(suggest=suggest)) as live, live.client() as client:
            session = upload(client, image)["id"]
            lesion = new_lesion(client, session)
            answer = client.post(f"/sessions/{session}/lesions/{lesion}/prompts",
                                 json=clicks_prompt(six)).json()
        if suggest:
            np.testing.assert_allclose(answer["suggestion"], expected.point_mm)
        else:
            assert answer["suggestion"] is None
