"""Saving finished cases into an nnU-Net-style folder to retrain on
(algorithm/io/retraining_folder): the mask lands on the image's own grid, the folder stays a
valid nnU-Net dataset that training reads with each case's patient, ids from anyone are
checked, and a failed save leaves nothing."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io import retraining_folder
from algorithm.io.retraining_folder import CaseExists, read_case_records, save_case
from algorithm.prompts import Clicks
from tests.algorithm.helpers import OBLIQUE_FLIPPED, box_phantom, extreme_clicks
from tests.algorithm.prompt_support import box_value
from training.datasets import load_case, patient_split, read_nnunet_folder


def _geometry(image: sitk.Image) -> tuple:
    return image.GetSize(), image.GetOrigin(), image.GetSpacing(), image.GetDirection()


def _oblique():
    return box_phantom(direction=OBLIQUE_FLIPPED, spacing_xyz=(0.7, 0.9, 3.0),
                       origin=(-123.4567, 87.654321, -301.25))


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_an_oblique_anisotropic_case_round_trips_onto_its_own_grid(tmp_path):
    image, mask = _oblique()
    root = tmp_path / "site"
    case = save_case(root, image, mask, case_id="sts_001", patient_id="P001")
    saved = sitk.ReadImage(str(root / "imagesTr" / "sts_001_0000.nii.gz"))
    label = sitk.ReadImage(str(root / "labelsTr" / "sts_001.nii.gz"))
    assert case == "sts_001"
    # the label's header is the image's, bit for bit: the same grid, not merely a close one
    assert _geometry(label) == _geometry(saved)
    # and that grid is the original's, to the precision a NIfTI header holds (float32)
    assert saved.GetSize() == image.GetSize()
    np.testing.assert_allclose(saved.GetOrigin(), image.GetOrigin(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(saved.GetSpacing(), image.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(saved.GetDirection(), image.GetDirection(), rtol=0, atol=1e-6)
    # voxels exactly: the image as it was (its pixel type too), the mask as uint8 0/1
    assert saved.GetPixelID() == image.GetPixelID()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved), sitk.GetArrayFromImage(image))
    assert label.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayFromImage(label), mask)
    # a lesion voxel is at the same place in the world in both
    k, j, i = np.argwhere(mask)[0]
    np.testing.assert_allclose(label.TransformIndexToPhysicalPoint((int(i), int(j), int(k))),
                               image.TransformIndexToPhysicalPoint((int(i), int(j), int(k))),
                               atol=1e-4)
    # training reads it back as the same case
    (read,) = read_nnunet_folder(root)
    images, lesion = load_case(read)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(lesion), mask)
    assert read.patient_id == "P001" and read.modality == "CT"


def test_a_mask_image_on_the_images_grid_is_taken_and_one_off_it_refused(tmp_path):
    image, mask = _oblique()
    as_image = sitk.GetImageFromArray(mask * 255)
    as_image.CopyInformation(image)
    save_case(tmp_path / "site", image, as_image, case_id="a")
    label = sitk.ReadImage(str(tmp_path / "site" / "labelsTr" / "a.nii.gz"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(label), mask)  # 255 saved as 1
    shifted = sitk.Image(as_image)
    shifted.SetOrigin([v + 2.0 for v in image.GetOrigin()])
    with pytest.raises(InputError, match="origin"):
        save_case(tmp_path / "other", image, shifted, case_id="b")
    with pytest.raises(InputError, match="shape"):
        save_case(tmp_path / "other", image, mask[:, :, :-1], case_id="b")
    with pytest.raises(InputError, match="not binary"):
        save_case(tmp_path / "other", image, mask * 3 + (mask > 0), case_id="b")
    with pytest.raises(InputError, match="empty"):
        save_case(tmp_path / "other", image, np.zeros_like(mask), case_id="b")
    assert not (tmp_path / "other" / "labelsTr").exists()


@pytest.mark.parametrize("bad", ["../evil", "a/b", "a\\b", "", ".hidden", "-x", "a b", "a.b",
                                 "case\x00", "x" * 65, "é", "CON", "lpt1", "a:b", 7])
def test_case_ids_that_are_not_plain_file_names_are_refused(tmp_path, bad):
    image, mask = box_phantom()
    with pytest.raises(InputError, match="invalid case id"):
        save_case(tmp_path / "site", image, mask, case_id=bad)
    assert not (tmp_path / "site").exists() or _files(tmp_path / "site") == []
    assert not (tmp_path / "evil").exists()


def test_cases_are_appended_counted_and_never_overwritten(tmp_path):
    image, mask = box_phantom()
    root = tmp_path / "site"
    first = save_case(root, image, mask, licence="CC BY 4.0")
    second = save_case(root, image, mask, patient_id="P2", source="scan.nii.gz")
    named = save_case(root, image, mask, case_id="late-case_7", patient_id="P2")
    assert (first, second) == ("case_0001", "case_0002")
    meta = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
    assert meta["channel_names"] == {"0": "CT"}
    assert meta["labels"] == {"background": 0, "lesion": 1}
    assert meta["numTraining"] == 3 and meta["file_ending"] == ".nii.gz"
    before = {p: p.read_bytes() for p in (root / "labelsTr").iterdir()}
    with pytest.raises(CaseExists, match="late-case_7 is already saved"):
        save_case(root, image, 1 - mask, case_id=named)
    assert {p: p.read_bytes() for p in (root / "labelsTr").iterdir()} == before
    records = read_case_records(root)
    assert records[first]["patient_id"] == first and not records[first]["patient_id_given"]
    assert records[second]["patient_id"] == "P2" and records[second]["source"] == "scan.nii.gz"
    assert records[first]["licence"] == "CC BY 4.0" and records[first]["saved_at"]
    cases = {c.case_id: c for c in read_nnunet_folder(root)}
    assert {c.patient_id for c in cases.values()} == {first, "P2"}
    assert cases[first].licence == "CC BY 4.0" and cases[second].licence == ""
    train, val = patient_split(list(cases.values()), 2, 0)
    for side in (train, val):  # P2's two cases are on one side
        assert {c.case_id for c in side} >= {second, named} or \
            not {c.case_id for c in side} & {second, named}


def test_the_prompts_are_recorded_as_given_and_checked_as_the_platform_checks_them(tmp_path):
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask)).to_multiple_points()
    box = box_value(image, mask.astype(bool))
    fix = Clicks.from_points(np.zeros((0, 3)), extreme_clicks(image, mask)[:1])
    prompts = {"box": box, "clicks": fix.to_multiple_points()}  # corrections beside a box
    case = save_case(tmp_path / "site", image, mask, prompts=prompts)
    assert read_case_records(tmp_path / "site")[case]["prompts"] == prompts
    save_case(tmp_path / "site", image, mask, prompts={"clicks": clicks})
    with pytest.raises(InputError, match="no positive"):  # background clicks alone say nothing
        save_case(tmp_path / "site", image, mask, prompts={"clicks": fix.to_multiple_points()})
    with pytest.raises(InputError, match="unknown prompt kind 'lasso'"):
        save_case(tmp_path / "site", image, mask, prompts={"lasso": {}})
    wrong = {**clicks, "points": [{"point": [0, 0, 0], "name": "tumour"}]}
    with pytest.raises(InputError, match="tumour"):
        save_case(tmp_path / "site", image, mask, prompts={"clicks": wrong})
    assert json.loads((tmp_path / "site" / "dataset.json").read_text())["numTraining"] == 2


def test_a_save_that_fails_midway_leaves_no_case_behind(tmp_path, monkeypatch):
    image, mask = box_phantom()
    root = tmp_path / "site"
    save_case(root, image, mask, case_id="kept")
    before = _files(root)
    real = retraining_folder.write_image_file

    def fail_on_the_label(img, path):
        if path.parent.name == "labelsTr":
            raise OSError("disk full")
        real(img, path)

    monkeypatch.setattr(retraining_folder, "write_image_file", fail_on_the_label)
    with pytest.raises(OSError, match="disk full"):
        save_case(root, image, mask, case_id="lost")
    assert _files(root) == before  # no image, record or partial file of the lost case
    assert [c.case_id for c in read_nnunet_folder(root)] == ["kept"]


def test_ct_and_mr_cases_share_a_folder_each_with_its_modality(tmp_path):
    from algorithm.phantom import make_phantom

    root = tmp_path / "site"
    ct, _ = box_phantom()
    save_case(root, ct, _, case_id="ct")
    mr = make_phantom("MR", shape=(20, 40, 40), seed=1)
    save_case(root, mr.image, mr.mask, case_id="mr")
    meta = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
    assert meta["channel_names"] == {"0": "CT+MR"} and meta["numTraining"] == 2
    assert {c.case_id: c.modality for c in read_nnunet_folder(root)} == {"ct": "CT", "mr": "MR"}


def test_a_folder_whose_dataset_does_not_fit_is_refused(tmp_path):
    image, mask = box_phantom()
    root = tmp_path / "Dataset042_Organs"
    root.mkdir()
    (root / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1, "tumour": 2},
        "numTraining": 0, "file_ending": ".nii.gz"}))
    with pytest.raises(InputError, match="labels"):
        save_case(root, image, mask)
    assert not (root / "labelsTr").exists()


def test_saves_from_several_threads_at_once_take_turns(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    image, mask = box_phantom()
    root = tmp_path / "site"
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: save_case(root, image, mask), range(6)))
    assert sorted(ids) == [f"case_{n:04d}" for n in range(1, 7)]
    assert json.loads((root / "dataset.json").read_text(encoding="utf-8"))["numTraining"] == 6
    assert len(read_nnunet_folder(root)) == 6
