import numpy as np
import pytest

from algorithm.confidence import agreement, expected_dice, margin


def _ball(shape=(20, 20, 20), radius=6.0):
    z, y, x = np.indices(shape)
    return np.sqrt((z - 10) ** 2 + (y - 10) ** 2 + (x - 10) ** 2)


def test_a_sharp_probability_expects_a_perfect_dice():
    mask = _ball() < 6
    assert expected_dice(mask.astype(float), mask) == pytest.approx(1.0)
    assert margin(mask.astype(float), mask) == pytest.approx(1.0)


def test_a_blurred_border_lowers_both_scores_and_more_blur_lowers_them_more():
    r = _ball()
    mask = r < 6
    soft = 1.0 / (1.0 + np.exp((r - 6) / 0.5))
    softer = 1.0 / (1.0 + np.exp((r - 6) / 2.0))
    assert 1.0 > expected_dice(soft, mask) > expected_dice(softer, mask) > 0.0
    assert 1.0 > margin(soft, mask) > margin(softer, mask) > 0.0


def test_expected_dice_is_the_dice_against_the_probability_read_as_a_soft_reference():
    p = np.array([1.0, 0.5, 0.5, 0.0])
    m = np.array([True, True, False, False])
    # 2 * (1 + 0.5) / (2 + 2)
    assert expected_dice(p, m) == pytest.approx(0.75)


def test_empty_answers_score_zero_and_shapes_must_match():
    assert expected_dice(np.zeros(5), np.zeros(5, bool)) == 0.0
    assert margin(np.zeros(5), np.zeros(5, bool)) == 0.0
    assert agreement(np.zeros(5, bool), np.zeros(5, bool)) == 0.0
    with pytest.raises(ValueError):
        expected_dice(np.zeros(4), np.zeros(5, bool))


def test_agreement_is_the_dice_of_two_answers():
    a = np.array([1, 1, 0, 0], bool)
    b = np.array([1, 0, 1, 0], bool)
    assert agreement(a, b) == pytest.approx(0.5)
    assert agreement(a, a) == pytest.approx(1.0)


# --- the pipeline's score -------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402

from algorithm.methods.classical import GeodesicSegmenter  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from tests.algorithm.helpers import box_phantom, extreme_clicks  # noqa: E402


@dataclass
class _Shrunk:
    """A stand-in network: the classical answer, eroded by ``by`` grid voxels."""

    by: int
    name: str = "network"
    grid_size: int = 64

    def predict(self, case):
        from scipy import ndimage

        mask = GeodesicSegmenter(grid_size=self.grid_size).predict(case) > 0.5
        if self.by:
            mask = ndimage.binary_erosion(mask, iterations=self.by)
        return mask.astype(np.float32)


def test_the_pipeline_scores_an_answer_by_its_agreement_with_the_classical_method():
    image, truth = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    on = PipelineConfig(confidence=True)
    same = segment(image, clicks, _Shrunk(0), config=on).confidence
    worse = segment(image, clicks, _Shrunk(3), config=on).confidence
    assert same == pytest.approx(1.0, abs=0.02)  # a binary map interpolates a little apart
    assert 0.0 < worse < same - 0.05


def test_the_classical_method_and_a_config_that_does_not_ask_get_no_score():
    image, truth = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    on = PipelineConfig(confidence=True)
    assert segment(image, clicks, GeodesicSegmenter(), config=on).confidence is None
    assert segment(image, clicks, _Shrunk(0)).confidence is None  # the default does not ask


def test_the_server_reports_the_pipelines_score_only_when_asked():
    from algorithm.server.app import ServerSettings
    from tests.algorithm.serve_support import clicks_prompt, new_lesion, running_server, upload

    image, truth = box_phantom()
    six = extreme_clicks(image, truth)
    expected = segment(image, Clicks.from_points(six), _Shrunk(3),
                       config=PipelineConfig(confidence=True)).confidence
    for settings, want in ((ServerSettings(), None),
                           (ServerSettings(pipeline=PipelineConfig(confidence=True)), expected)):
        with running_server(settings, _Shrunk(3)) as server, server.client() as client:
            session = upload(client, image)["id"]
            lesion = new_lesion(client, session)
            answer = client.post(f"/sessions/{session}/lesions/{lesion}/prompts",
                                 json=clicks_prompt(six)).json()
            assert answer["confidence"] == (None if want is None else pytest.approx(want))
