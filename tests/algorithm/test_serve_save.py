"""``lesionseg serve --save-dir``: a finished lesion saved as a training case through real HTTP,
its mask on the session image's grid and its prompts recorded; off without the option."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.local_cli import main
from algorithm.server.app import ServerSettings
from algorithm.server.mask_codec import decode_mask
from tests.algorithm.helpers import OBLIQUE_FLIPPED, box_phantom, extreme_clicks
from tests.algorithm.prompt_support import box_value
from tests.algorithm.serve_support import (
    background_prompt, clicks_prompt, lesion_path, running_server,
)
from training.datasets import read_nnunet_folder


@pytest.fixture(scope="module")
def phantom():
    return box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0))


def test_a_corrected_lesion_is_saved_with_its_mask_image_and_prompts(tmp_path, phantom):
    image, truth = phantom
    save_dir = tmp_path / "site"
    with running_server(ServerSettings(save_dir=save_dir)) as live, live.client() as client:
        assert client.get("/health").json()["save_cases"] is True
        _, lesion = lesion_path(client, image)
        six = extreme_clicks(image, truth)
        assert client.post(f"{lesion}/prompts", json=clicks_prompt(six)).status_code == 200
        leak = np.array([image.TransformContinuousIndexToPhysicalPoint([20.0, 21.0, 9.0])])
        refined = client.post(f"{lesion}/prompts", json=background_prompt(leak)).json()
        saved = client.post(f"{lesion}/save", json={"case_id": "sts_014_ct",
                                                    "patient_id": "STS-014",
                                                    "licence": "hospital internal"})
        assert saved.status_code == 201, saved.text
        answer = saved.json()
        mask = decode_mask(client.get(f"{lesion}/mask").json())
    assert answer == {"case_id": "sts_014_ct", "patient_id": "STS-014",
                      "image": "imagesTr/sts_014_ct_0000.nii.gz",
                      "label": "labelsTr/sts_014_ct.nii.gz", "record": "casesTr/sts_014_ct.json",
                      "voxels": refined["voxels"], "cases": 1}
    label = sitk.ReadImage(str(save_dir / answer["label"]))
    saved_image = sitk.ReadImage(str(save_dir / answer["image"]))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(label), mask)  # the current mask
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved_image),
                                  sitk.GetArrayFromImage(image))
    assert label.GetDirection() == saved_image.GetDirection()
    np.testing.assert_allclose(label.GetDirection(), image.GetDirection(), atol=1e-6)
    record = json.loads((save_dir / answer["record"]).read_text(encoding="utf-8"))
    assert record["patient_id"] == "STS-014" and record["licence"] == "hospital internal"
    assert record["source"] == "case.mha" and record["modality"] == "CT"
    assert record["prompts"] == {"clicks": refined["clicks"]}  # six clicks and the correction
    assert len(record["prompts"]["clicks"]["points"]) == 7
    (case,) = read_nnunet_folder(save_dir)
    assert case.case_id == "sts_014_ct" and case.patient_id == "STS-014"


def test_another_prompt_kind_is_recorded_as_sent_and_ids_are_numbered(tmp_path, phantom):
    image, truth = phantom
    box = box_value(image, truth.astype(bool))
    with running_server(ServerSettings(save_dir=tmp_path / "site")) as live, \
            live.client() as client:
        _, lesion = lesion_path(client, image)
        assert client.post(f"{lesion}/prompts", json={"type": "box", "box": box}).status_code \
            == 200
        first = client.post(f"{lesion}/save").json()  # no body: the next free id
        second = client.post(f"{lesion}/save", json={"patient_id": "P1"}).json()
    assert (first["case_id"], second["case_id"]) == ("case_0001", "case_0002")
    assert first["patient_id"] == "case_0001" and second["cases"] == 2
    record = json.loads((tmp_path / "site" / first["record"]).read_text(encoding="utf-8"))
    assert record["prompts"] == {"box": box}


def test_saving_is_refused_in_one_line_without_save_dir(phantom):
    image, truth = phantom
    with running_server() as live, live.client() as client:
        assert client.get("/health").json()["save_cases"] is False
        _, lesion = lesion_path(client, image)
        client.post(f"{lesion}/prompts", json=clicks_prompt(extreme_clicks(image, truth)))
        refused = client.post(f"{lesion}/save", json={"case_id": "a"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "saving cases is off: start the server with --save-dir "
                                        "FOLDER"}


def test_what_cannot_be_saved_is_refused_and_nothing_is_written(tmp_path, phantom):
    image, truth = phantom
    save_dir = tmp_path / "site"
    with running_server(ServerSettings(save_dir=save_dir)) as live, live.client() as client:
        session, lesion = lesion_path(client, image)
        empty = client.post(f"{lesion}/save", json={})
        assert empty.status_code == 409 and "no mask to save" in empty.json()["detail"]
        client.post(f"{lesion}/prompts", json=clicks_prompt(extreme_clicks(image, truth)))
        for bad in ("../../etc/x", "a/b", ".hidden", "x" * 65):
            answer = client.post(f"{lesion}/save", json={"case_id": bad})
            assert answer.status_code == 422 and "case_id" in answer.json()["detail"]
        device = client.post(f"{lesion}/save", json={"case_id": "NUL"})
        assert device.status_code == 400 and "reserves" in device.json()["detail"]
        unknown = client.post(f"/sessions/{session}/lesions/99/save", json={})
        assert unknown.status_code == 404
        extra = client.post(f"{lesion}/save", json={"case_id": "a", "path": "/tmp/x"})
        assert extra.status_code == 422
        assert not (save_dir / "labelsTr").exists()
        assert client.post(f"{lesion}/save", json={"case_id": "a"}).status_code == 201
        again = client.post(f"{lesion}/save", json={"case_id": "a"})
        assert again.status_code == 409 and "already saved" in again.json()["detail"]
    assert [p.name for p in (save_dir / "labelsTr").iterdir()] == ["a.nii.gz"]
    assert not (tmp_path / "etc").exists()


def test_the_option_makes_its_folder_and_refuses_one_it_cannot_make(tmp_path, capsys):
    from algorithm.local_cli import build_parser
    from algorithm.server.run import settings_from

    args = build_parser().parse_args(["serve", "--save-dir", str(tmp_path / "new" / "site")])
    assert settings_from(args).save_dir == (tmp_path / "new" / "site").resolve()
    assert (tmp_path / "new" / "site").is_dir()
    (tmp_path / "file").write_text("not a folder")
    assert main(["serve", "--save-dir", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f"error: --save-dir {tmp_path / 'file'}: cannot make the folder")
