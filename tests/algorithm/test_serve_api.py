"""``lesionseg serve`` through real HTTP on loopback: every endpoint, the masks it returns equal
to the pipeline's for the same clicks on an oblique, anisotropic image, undo, reset, and several
lesions per image that never overwrite each other."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.measurements import measure_lesion
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from algorithm.server.mask_codec import StoredMask, decode_mask
from algorithm.server.openapi import openapi_text
from tests.algorithm.helpers import (
    OBLIQUE_FLIPPED, box_phantom, dice, extreme_clicks, two_box_phantom,
)
from tests.algorithm.serve_support import (
    background_prompt, clicks_prompt, lesion_path, new_lesion, running_server, upload,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    with running_server() as live:
        yield live


@pytest.fixture()
def client(server):
    with server.client() as c:
        yield c


def test_health_needs_no_token_and_names_the_segmenter(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["method"] == "classical"
    assert health["token_required"] is False


@pytest.mark.parametrize("suffix", [".mha", ".nii.gz", ".nrrd"])
def test_an_uploaded_image_becomes_a_session_with_its_geometry(client, suffix):
    image, _ = box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    info = upload(client, image, suffix)
    assert info["source"] == f"case{suffix}" and info["modality"] == "CT"
    assert tuple(info["image"]["size"]) == image.GetSize()
    np.testing.assert_allclose(info["image"]["spacing"], image.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(info["image"]["direction"], image.GetDirection(), atol=1e-5)
    np.testing.assert_allclose(info["image"]["origin"], image.GetOrigin(), atol=1e-4)
    assert info["lesions"] == []
    assert client.delete(f"/sessions/{info['id']}").status_code == 204


def test_the_modality_can_be_set_per_session(client):
    image, _ = box_phantom()
    info = upload(client, image, modality="MR")
    assert info["modality"] == "MR"
    client.delete(f"/sessions/{info['id']}")


def test_masks_equal_the_pipelines_for_the_same_clicks_and_refinement(client):
    """The first prompt as ``segment`` gives it; a refinement as ``segment`` with every click
    so far and the previous mask; measurements as ``measure_lesion`` gives them."""
    image, truth = box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    session = upload(client, image)["id"]
    lesion = new_lesion(client, session, "left box")
    six = extreme_clicks(image, truth)
    first = client.post(f"/sessions/{session}/lesions/{lesion}/prompts",
                        json=clicks_prompt(six)).json()
    expected = segment(image, Clicks.from_points(six), GeodesicSegmenter())
    np.testing.assert_array_equal(decode_mask(first["mask"]), expected.mask)
    assert first["measurements"] == measure_lesion(expected.mask, image).model_dump(mode="json")
    assert first["step"] == 1 and first["name"] == "left box"
    assert first["voxels"] == int(expected.mask.sum()) and dice(expected.mask, truth) > 0.9
    assert first["recist_axes"]["type"] == "Multiple distance measurements"
    assert [p["point"] for p in first["clicks"]["points"]] == six.tolist()

    corner = image.TransformContinuousIndexToPhysicalPoint([19.0, 21.0, 9.0])
    second = client.post(f"/sessions/{session}/lesions/{lesion}/prompts",
                         json=background_prompt(np.array([corner]))).json()
    previous = sitk.GetImageFromArray(expected.mask)
    previous.CopyInformation(image)
    refined = segment(image, Clicks.from_points(six, [corner]), GeodesicSegmenter(),
                      previous_mask=previous)
    np.testing.assert_array_equal(decode_mask(second["mask"]), refined.mask)
    assert second["step"] == 2 and len(second["clicks"]["points"]) == 7
    got = client.get(f"/sessions/{session}/lesions/{lesion}/mask").json()
    np.testing.assert_array_equal(decode_mask(got), refined.mask)
    client.delete(f"/sessions/{session}")


def test_several_lesions_are_separate_objects_that_never_overwrite_each_other(client):
    image, first, second = two_box_phantom()
    session = upload(client, image)["id"]
    a, b = new_lesion(client, session), new_lesion(client, session)
    assert (a, b) == (1, 2)
    mask_a = client.post(f"/sessions/{session}/lesions/{a}/prompts",
                         json=clicks_prompt(extreme_clicks(image, first))).json()["mask"]
    mask_b = client.post(f"/sessions/{session}/lesions/{b}/prompts",
                         json=clicks_prompt(extreme_clicks(image, second))).json()["mask"]
    assert dice(decode_mask(mask_a), first) > 0.9 and dice(decode_mask(mask_b), second) > 0.9
    listed = client.get(f"/sessions/{session}/lesions").json()
    assert [lesion["id"] for lesion in listed] == [a, b]
    assert all(lesion["measurements"]["volume_ml"] > 0 for lesion in listed)
    assert client.post(f"/sessions/{session}/lesions/{b}/reset").json()["voxels"] == 0
    assert client.get(f"/sessions/{session}/lesions/{a}/mask").json() == mask_a
    assert client.delete(f"/sessions/{session}/lesions/{a}").status_code == 204
    assert client.get(f"/sessions/{session}/lesions/{a}").status_code == 404
    assert new_lesion(client, session) == 3  # an id is never given again
    assert client.post(f"/sessions/{session}/lesions/{b}/undo").json()["mask"] == mask_b
    info = client.get(f"/sessions/{session}").json()
    assert [lesion["id"] for lesion in info["lesions"]] == [b, 3]
    client.delete(f"/sessions/{session}")


def test_undo_goes_back_one_step_and_reset_is_a_step_too(client):
    image, truth = box_phantom()
    session, base = lesion_path(client, image)
    first = client.post(f"{base}/prompts", json=clicks_prompt(extreme_clicks(image, truth)))
    corner = image.TransformContinuousIndexToPhysicalPoint([20.0, 21.0, 9.0])
    second = client.post(f"{base}/prompts", json=background_prompt(np.array([corner])))
    assert second.json()["step"] == 2
    undone = client.post(f"{base}/undo").json()
    assert undone["mask"] == first.json()["mask"] and undone["step"] == 1
    assert undone["clicks"] == first.json()["clicks"]
    emptied = client.post(f"{base}/reset").json()
    assert emptied["voxels"] == 0 and emptied["clicks"]["points"] == []
    assert emptied["measurements"]["long_axis"] is None and emptied["step"] == 2
    assert client.post(f"{base}/reset").json()["step"] == 2  # already empty: no new step
    assert client.post(f"{base}/undo").json()["mask"] == first.json()["mask"]
    assert client.post(f"{base}/undo").json()["voxels"] == 0
    refused = client.post(f"{base}/undo")
    assert refused.status_code == 409 and "no earlier step" in refused.json()["detail"]
    client.delete(f"/sessions/{session}")


def test_a_new_clicks_prompt_starts_afresh_and_refine_needs_a_tumour_click(client):
    image, truth = box_phantom()
    session, base = lesion_path(client, image)
    corner = image.TransformContinuousIndexToPhysicalPoint([20.0, 21.0, 9.0])
    refused = client.post(f"{base}/prompts", json=background_prompt(np.array([corner])))
    assert refused.status_code == 400 and "send its clicks first" in refused.json()["detail"]
    six = extreme_clicks(image, truth)
    client.post(f"{base}/prompts", json=clicks_prompt(six, [corner]))
    again = client.post(f"{base}/prompts", json=clicks_prompt(six[:3])).json()
    assert len(again["clicks"]["points"]) == 3  # the earlier clicks are set aside
    client.delete(f"/sessions/{session}")


@pytest.mark.parametrize("file_format", ["mha", "nrrd", "nii.gz"])
def test_the_mask_as_an_image_file_lies_on_the_image_grid(client, tmp_path, file_format):
    image, truth = box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))
    session = upload(client, image)["id"]
    lesion = new_lesion(client, session)
    result = client.post(f"/sessions/{session}/lesions/{lesion}/prompts",
                         json=clicks_prompt(extreme_clicks(image, truth))).json()
    response = client.get(f"/sessions/{session}/lesions/{lesion}/mask",
                          params={"format": file_format})
    assert response.status_code == 200
    path = tmp_path / f"mask.{file_format}"
    path.write_bytes(response.content)
    mask = sitk.ReadImage(str(path))
    assert mask.GetSize() == image.GetSize()
    np.testing.assert_allclose(mask.GetDirection(), image.GetDirection(), atol=1e-5)
    np.testing.assert_allclose(mask.GetOrigin(), image.GetOrigin(), atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), decode_mask(result["mask"]))
    client.delete(f"/sessions/{session}")


def test_sessions_are_listed_and_deleted(client):
    image, _ = box_phantom()
    ids = [upload(client, image)["id"] for _ in range(2)]
    listed = {s["id"]: s for s in client.get("/sessions").json()}
    assert set(ids) <= set(listed) and listed[ids[0]]["lesions"] == 0
    for sid in ids:
        assert client.delete(f"/sessions/{sid}").status_code == 204
        assert client.get(f"/sessions/{sid}").status_code == 404
        assert client.delete(f"/sessions/{sid}").status_code == 404
    assert not set(ids) & {s["id"] for s in client.get("/sessions").json()}


def test_an_image_on_the_servers_disk_is_read_from_an_allowed_folder(tmp_path):
    from algorithm.server.app import ServerSettings

    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir(), elsewhere.mkdir()
    image, _ = box_phantom()
    sitk.WriteImage(image, str(allowed / "case.nrrd"))
    sitk.WriteImage(image, str(elsewhere / "secret.mha"))
    (allowed / "link.mha").symlink_to(elsewhere / "secret.mha")
    with running_server(ServerSettings(allow_dirs=(allowed,))) as live, live.client() as client:
        read = client.post("/sessions/from-path", json={"path": "case.nrrd"})
        assert read.status_code == 201 and read.json()["source"] == str(allowed / "case.nrrd")
        absolute = client.post("/sessions/from-path", json={"path": str(allowed / "case.nrrd")})
        assert absolute.status_code == 201
        for escape in ("../elsewhere/secret.mha", str(elsewhere / "secret.mha"), "link.mha"):
            refused = client.post("/sessions/from-path", json={"path": escape})
            assert refused.status_code == 403, escape
            assert "outside the folders" in refused.json()["detail"]
        missing = client.post("/sessions/from-path", json={"path": "nothing.mha"})
        assert missing.status_code == 400 and "does not exist" in missing.json()["detail"]
        too_long = client.post("/sessions/from-path", json={"path": "x" * 4000})
        assert too_long.status_code == 400 and "cannot use the path" in too_long.json()["detail"]
    with running_server() as live, live.client() as client:
        refused = client.post("/sessions/from-path", json={"path": str(allowed / "case.nrrd")})
        assert refused.status_code == 403 and "--allow-dir" in refused.json()["detail"]


def test_stored_masks_round_trip_through_the_wire_format():
    rng = np.random.default_rng(0)
    mask = np.zeros((7, 9, 11), np.uint8)
    mask[2:5, 1:8, 3:4] = rng.integers(0, 2, size=(3, 7, 1))
    mask[2, 1, 3] = 1
    stored = StoredMask.from_array(mask)
    assert stored.start == (2, 1, 3) and stored.voxels == int(mask.sum())
    encoded = stored.encoded()
    assert encoded.box_start == (3, 1, 2) and encoded.image_size == (11, 9, 7)
    np.testing.assert_array_equal(decode_mask(encoded.model_dump()), mask)
    empty = StoredMask.from_array(np.zeros((3, 4, 5), np.uint8)).encoded()
    assert empty.box_size == (0, 0, 0) and empty.data == ""
    assert not decode_mask(empty).any()


def test_the_committed_openapi_schema_is_current():
    committed = (ROOT / "docs" / "serve_openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_text(), (
        "docs/serve_openapi.json is out of date: python -m algorithm.server.openapi > "
        "docs/serve_openapi.json")
