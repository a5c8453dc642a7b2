"""Batch case folders with several images: listed in the error, named with --image-pattern, or
the nnU-Net channel-0 file; DICOM files loose in a case folder are its image."""

import json

import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.case_folders import find_case_files, find_image
from algorithm.local_cli import main
from algorithm.phantom import rotation_direction
from algorithm.prompts import Clicks
from tests.algorithm.dicom import write_dicom_series
from tests.algorithm.helpers import box_phantom, extreme_clicks


def case_with(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    image, truth = box_phantom(shape=(8, 40, 36), lo=(2, 12, 10), hi=(6, 28, 26))
    for name in names:
        sitk.WriteImage(image, str(folder / name))
    clicks = Clicks.from_points(extreme_clicks(image, truth, inward=(1, 2, 2)))
    (folder / "lesion-clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    return folder


def test_several_images_are_listed(tmp_path):
    case = case_with(tmp_path / "c1", "t1.nii.gz", "t2.nii.gz")
    (case / "DICOM").mkdir()
    with pytest.raises(InputError) as info:
        find_case_files(case)
    assert str(info.value) == ("case c1: expected one image file or one DICOM folder, found 3 "
                               "(t1.nii.gz, t2.nii.gz, DICOM/); name it with --image-pattern GLOB "
                               "(or an nnU-Net <case>_0000 file)")


def test_image_pattern_and_nnunet_channel_zero(tmp_path):
    case = case_with(tmp_path / "c1", "c1_0000.nii.gz", "c1_0001.nii.gz", "seg.nrrd")
    assert find_image(case) == case / "c1_0000.nii.gz"
    assert find_image(case, "*_0001.nii.gz") == case / "c1_0001.nii.gz"
    assert find_image(case, "seg*") == case / "seg.nrrd"
    with pytest.raises(InputError, match=r"no image matches --image-pattern '\*.mha' \(found: "
                                         r"c1_0000.nii.gz, c1_0001.nii.gz, seg.nrrd\)"):
        find_image(case, "*.mha")
    both = case_with(tmp_path / "c2", "a_0000.nii.gz", "b_0000.nii.gz")
    with pytest.raises(InputError, match="found 2"):
        find_image(both)


def test_dicom_files_loose_in_the_case_folder(tmp_path):
    image, _ = box_phantom(shape=(8, 40, 36), lo=(2, 12, 10), hi=(6, 28, 26),
                           direction=rotation_direction((10.0, 20.0, -15.0)))
    write_dicom_series(image, tmp_path / "c1")
    assert find_image(tmp_path / "c1") == tmp_path / "c1"


def test_batch_with_image_pattern(tmp_path, capfd):
    cases = tmp_path / "cases"
    case_with(cases / "a", "a_ct.nii.gz", "a_pet.nii.gz")
    case_with(cases / "b", "b_ct.mha")
    args = ["batch", str(cases), str(tmp_path / "out"), "--method", "classical"]
    assert main(args) == 2
    report = json.loads((tmp_path / "out" / "batch_report.json").read_text(encoding="utf-8"))
    assert report["failed"][0]["case"] == "a" and "a_pet.nii.gz" in report["failed"][0]["error"]
    assert main([*args, "--image-pattern", "*_ct.*"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mha")) == ["a.mha", "b.mha"]


def test_a_slicer_markups_file_is_a_case_folders_clicks(tmp_path):
    case = case_with(tmp_path / "c1", "ct.nii.gz")
    (case / "lesion-clicks.json").rename(case / "F.mrk.json")
    assert find_case_files(case) == (case / "ct.nii.gz", case / "F.mrk.json")
