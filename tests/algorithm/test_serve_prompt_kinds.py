"""``lesionseg serve`` takes every prompt kind: a box, RECIST axes, outlines or scribbles give
the mask the pipeline gives for the same prompt, corrective clicks refine it, and a bad prompt
is refused in one line with the lesion left as it was."""

from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from algorithm.prompts.boxes import parse_boxes
from algorithm.prompts.distances import parse_recist
from algorithm.prompts.lines import parse_scribbles
from algorithm.prompts.polygons import parse_outlines
from algorithm.prompts.prompt_set import PromptSet
from algorithm.server.mask_codec import decode_mask
from tests.algorithm.prompt_support import (
    box_value, outline_value, recist_value, scribbles_value, small_phantom,
)
from tests.algorithm.serve_support import background_prompt, lesion_path, running_server

#: server prompt type -> (its value's key, the value from the reference mask, as a PromptSet)
KINDS = {
    "box": ("box", box_value, lambda v: PromptSet(boxes=parse_boxes(v))),
    "recist": ("axes", recist_value, lambda v: PromptSet(recist=parse_recist(v))),
    "outlines": ("polygons", outline_value, lambda v: PromptSet(outlines=parse_outlines(v))),
    "scribbles": ("lines", scribbles_value, lambda v: PromptSet(scribbles=parse_scribbles(v))),
}


@pytest.fixture(scope="module")
def client():
    with running_server() as live, live.client() as c:
        yield c


@pytest.fixture(scope="module")
def lesion():
    phantom = small_phantom("MR")
    return phantom.image, sitk.GetArrayFromImage(phantom.mask)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_gives_the_pipelines_mask_and_clicks_refine_it(kind, client, lesion):
    image, truth = lesion
    key, make, as_prompts = KINDS[kind]
    value = make(image, truth)
    session, path = lesion_path(client, image)
    first = client.post(f"{path}/prompts", json={"type": kind, key: value})
    assert first.status_code == 200, first.text
    expected = segment(image, as_prompts(value), GeodesicSegmenter())
    np.testing.assert_array_equal(decode_mask(first.json()["mask"]), expected.mask)
    assert first.json()["prompt_kinds"] == [kind] and first.json()["clicks"]["points"] == []
    beside = np.argwhere(truth).max(axis=0) + [2, 4, 4]
    corner = image.TransformContinuousIndexToPhysicalPoint([float(v) for v in beside[::-1]])
    second = client.post(f"{path}/prompts", json=background_prompt(np.array([corner])))
    assert second.status_code == 200, second.text
    previous = sitk.GetImageFromArray(expected.mask)
    previous.CopyInformation(image)
    corrected = replace(as_prompts(value), clicks=Clicks.from_points(np.zeros((0, 3)), [corner]))
    refined = segment(image, corrected, GeodesicSegmenter(), previous_mask=previous)
    np.testing.assert_array_equal(decode_mask(second.json()["mask"]), refined.mask)
    assert second.json()["prompt_kinds"] == ["clicks", kind]
    client.delete(f"/sessions/{session}")


def test_a_bad_prompt_is_refused_and_leaves_the_lesion_as_it_was(client, lesion):
    image, truth = lesion
    session, path = lesion_path(client, image)
    flat = box_value(image, truth)
    flat["corners"] = [flat["corners"][0]] * 4
    refused = client.post(f"{path}/prompts", json={"type": "box", "box": flat})
    assert refused.status_code in (400, 422) and "zero area" in refused.json()["detail"]
    schema = client.post(f"{path}/prompts", json={"type": "box", "points": flat})
    assert schema.status_code == 422
    assert client.get(path).json()["step"] == 0
    client.delete(f"/sessions/{session}")
