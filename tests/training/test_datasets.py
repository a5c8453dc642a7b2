import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from training.datasets import (
    Case,
    GeometryError,
    lesion_labels_from_names,
    load_case,
    load_case_arrays,
    patient_id_from_case_id,
    patient_split,
    read_manifest,
    read_nnunet_folder,
)

DEV_LESIONS = Path("/work/shared/data/dev-lesions")
SHAPE = (6, 7, 8)  # z, y, x


def write(arr, path, spacing_xyz=(0.8, 0.8, 2.5), origin=(1.0, -2.0, 3.0)):
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing_xyz)
    img.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path))
    return path


def label_array(values=(1,)):
    lab = np.zeros(SHAPE, np.uint8)
    for i, v in enumerate(values):
        lab[2 + i % 2, 2:4, 1 + 2 * i : 3 + 2 * i] = v
    return lab


def image_array(seed=0):
    return np.random.default_rng(seed).normal(40, 10, SHAPE).astype(np.int16)


def make_manifest(root):
    entries = []
    for case, patient, images, labels, modality in [
        ("src_a_1", "P1", {"image": "img.nii.gz"}, [1], "CT"),
        ("src_a_2", "P1", {"image": "img.nii.gz"}, [1], "CT (uint8, pre-windowed)"),
        ("brats_x_pat0007_1", None, {"t1c": "t1c.nii.gz", "flair": "flair.nii.gz"}, [2, 4],
         "MR (T1c; FLAIR also present)"),
    ]:
        for i, f in enumerate(images.values()):
            write(image_array(i), root / case / f)
        write(label_array((1, 2, 4)), root / case / "label.nii.gz")
        e = {"case": case, "modality": modality, "images": images, "label": "label.nii.gz",
             "lesion_labels": labels, "licence": "CC0", "region": "chest"}
        if patient:
            e["patient_id"] = patient
        entries.append(e)
    (root / "manifest.json").write_text(json.dumps(entries))
    return root / "manifest.json"


def test_read_manifest_on_a_synthetic_manifest(tmp_path):
    cases = read_manifest(make_manifest(tmp_path))
    assert [c.case_id for c in cases] == ["src_a_1", "src_a_2", "brats_x_pat0007_1"]
    a1, a2, b = cases
    assert a1.patient_id == a2.patient_id == "P1"
    assert b.patient_id == "brats_x_pat0007"  # derived from the BraTS naming scheme
    assert a1.modality == a2.modality == "CT" and b.modality == "MR"
    assert a2.modality_detail.startswith("CT (uint8")
    assert b.channel_names == ("t1c", "flair") and len(b.image_paths) == 2
    assert b.lesion_labels == (2, 4) and a1.licence == "CC0" and a1.group == "src"
    images, label = load_case(b)
    assert len(images) == 2 and label.GetPixelID() == sitk.sitkUInt8
    lab = sitk.GetArrayFromImage(label)
    src = label_array((1, 2, 4))
    np.testing.assert_array_equal(lab, np.isin(src, [2, 4]))  # label value 1 is not lesion


def test_read_manifest_reports_missing_files(tmp_path):
    path = make_manifest(tmp_path)
    (tmp_path / "src_a_1" / "img.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match="src_a_1"):
        read_manifest(path)


@pytest.mark.skipif(not (DEV_LESIONS / "manifest.json").exists(),
                    reason="dev data absent: /work/shared/data/dev-lesions/manifest.json not found")
def test_real_dev_manifest():
    cases = read_manifest(DEV_LESIONS / "manifest.json")
    assert len(cases) >= 10
    assert {c.modality for c in cases} == {"CT", "MR"}
    assert all(all(p.exists() for p in c.image_paths) and c.label_path.exists() for c in cases)
    small = min(cases, key=lambda c: c.label_path.stat().st_size)
    images, label = load_case(small)
    assert sitk.GetArrayViewFromImage(label).any()


@pytest.mark.parametrize("ending", [".nii.gz", ".nrrd", ".mha"])
def test_read_nnunet_folder_in_each_format(tmp_path, ending):
    root = tmp_path / "Dataset001_Test"
    meta = {"channel_names": {"0": "T1c", "1": "FLAIR"},
            "labels": {"background": 0, "tumor": 1}, "numTraining": 2, "file_ending": ending}
    (root).mkdir()
    (root / "dataset.json").write_text(json.dumps(meta))
    for case in ("case_001", "case_002"):
        for ch in range(2):
            write(image_array(ch), root / "imagesTr" / f"{case}_{ch:04d}{ending}")
        write(label_array((1,)), root / "labelsTr" / f"{case}{ending}")
    cases = read_nnunet_folder(root, patient_of=lambda c: "same")
    assert [c.case_id for c in cases] == ["case_001", "case_002"]
    c = cases[0]
    assert c.modality == "MR" and c.channel_names == ("T1c", "FLAIR")
    assert [p.name for p in c.image_paths] == [f"case_001_0000{ending}", f"case_001_0001{ending}"]
    assert c.lesion_labels is None and c.patient_id == "same" and c.group == "Dataset001_Test"
    stack, mask, spacing = load_case_arrays(c)
    assert stack.dtype == np.float32
    assert stack.shape == (2, *SHAPE) and mask.dtype == bool
    np.testing.assert_array_equal(mask, label_array((1,)) > 0)
    assert spacing == pytest.approx((2.5, 0.8, 0.8))


def test_nnunet_folder_reports_missing_channels(tmp_path):
    root = tmp_path / "ds"
    (root / "imagesTr").mkdir(parents=True)
    (root / "dataset.json").write_text(json.dumps({"channel_names": {"0": "T1", "1": "T2"},
                                                   "labels": {"background": 0, "tumor": 1},
                                                   "file_ending": ".nrrd"}))
    for case in ("a", "b"):
        write(image_array(), root / "imagesTr" / f"{case}_0000.nrrd")
        write(label_array(), root / "labelsTr" / f"{case}.nrrd")
    write(image_array(), root / "imagesTr" / "a_0001.nrrd")
    with pytest.raises(FileNotFoundError, match="b_0001.nrrd"):
        read_nnunet_folder(root)


def test_nnunet_folder_infers_file_ending_and_ct(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "dataset.json").write_text(json.dumps({"channel_names": {"0": "CT"},
                                                   "labels": {"background": 0, "kidney": 1,
                                                              "tumor": 2, "cyst": 3}}))
    write(image_array(), root / "imagesTr" / "k_0000.mha")
    write(label_array((1, 2, 3)), root / "labelsTr" / "k.mha")
    (c,) = read_nnunet_folder(root)
    assert c.modality == "CT" and c.lesion_labels == (2,)
    _, label = load_case(c)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(label), label_array((1, 2, 3)) == 2)


def test_msd_style_training_pairs(tmp_path):
    root = tmp_path / "Task03_Liver"
    root.mkdir()
    write(image_array(), root / "imagesTr" / "liver_1.nii.gz")
    write(label_array((1, 2)), root / "labelsTr" / "liver_1.nii.gz")
    meta = {"modality": {"0": "CT"}, "labels": {"0": "background", "1": "liver", "2": "cancer"},
            "training": [{"image": "./imagesTr/liver_1.nii.gz",
                          "label": "./labelsTr/liver_1.nii.gz"}]}
    (root / "dataset.json").write_text(json.dumps(meta))
    (c,) = read_nnunet_folder(root)
    assert c.case_id == "liver_1" and c.modality == "CT" and c.lesion_labels == (2,)


def test_lesion_labels_from_names():
    assert lesion_labels_from_names({"background": 0, "tumor": 1}) is None
    assert lesion_labels_from_names({"0": "background", "1": "liver", "2": "cancer"}) == (2,)
    assert lesion_labels_from_names({"background": 0, "whole tumor": [1, 2, 3],
                                     "enhancing tumor": 3}) is None
    assert lesion_labels_from_names({"background": 0, "organ": 1, "lesion": [2, 3]}) == (2, 3)


def _case(tmp_path, image, label):
    return Case("c", "c", (image,), label)


def test_load_case_geometry_check(tmp_path):
    img = write(image_array(), tmp_path / "img.nrrd")
    lab = label_array((1,))
    # float-precision origin difference: same grid, metadata copied from the image
    same = write(lab, tmp_path / "same.nii.gz", origin=(1.0 + 1e-6, -2.0, 3.0))
    _, out = load_case(_case(tmp_path, img, same))
    assert out.GetOrigin() == sitk.ReadImage(str(img)).GetOrigin()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(out), lab)
    # a quarter-voxel shift: resampled with nearest neighbour onto the image, still binary
    close = write(lab, tmp_path / "close.nii.gz", origin=(1.0 + 0.2, -2.0, 3.0))
    _, out = load_case(_case(tmp_path, img, close))
    arr = sitk.GetArrayFromImage(out)
    assert set(np.unique(arr)) <= {0, 1} and arr.sum() == lab.sum()
    assert out.GetOrigin() == pytest.approx(sitk.ReadImage(str(img)).GetOrigin())
    # a different spacing or size is a real mismatch
    far = write(lab, tmp_path / "far.nii.gz", spacing_xyz=(1.6, 0.8, 2.5))
    with pytest.raises(GeometryError, match="spacing"):
        load_case(_case(tmp_path, img, far))
    small = write(lab[:, :, :-1], tmp_path / "small.nii.gz")
    with pytest.raises(GeometryError, match="size"):
        load_case(_case(tmp_path, img, small))


def test_load_case_rejects_4d_images(tmp_path):
    four = sitk.JoinSeries([sitk.GetImageFromArray(image_array(i)) for i in range(2)])
    path = tmp_path / "4d.nii.gz"
    sitk.WriteImage(four, str(path))
    lab = write(label_array(), tmp_path / "lab.nii.gz")
    with pytest.raises(GeometryError, match="4D"):
        load_case(_case(tmp_path, path, lab))


def test_patient_id_rules():
    assert patient_id_from_case_id("deeplesion_000015_01_01_081-093") == "deeplesion_000015"
    assert patient_id_from_case_id("brats15_brats_2013_pat0001_1") == "brats15_brats_2013_pat0001"
    assert patient_id_from_case_id("radphantom_pat_1") == "radphantom_pat_1"


def test_patient_split_has_no_leak_and_covers_every_case():
    rng = np.random.default_rng(0)
    cases = []
    for p in range(13):
        group = "ab"[p % 2]
        for k in range(int(rng.integers(1, 4))):
            cases.append(Case(f"{group}{p}_{k}", f"P{p}", (Path("i"),), Path("l"), group=group))
    seen = []
    for fold in range(4):
        train, val = patient_split(cases, 4, fold, seed=1)
        assert {c.patient_id for c in train}.isdisjoint({c.patient_id for c in val})
        assert len(train) + len(val) == len(cases) and val
        seen += [c.case_id for c in val]
        assert patient_split(cases, 4, fold, seed=1) == (train, val)  # deterministic
    assert sorted(seen) == sorted(c.case_id for c in cases)  # each case validated exactly once
    sizes = [len(patient_split(cases, 4, f, seed=1)[1]) for f in range(4)]
    assert max(sizes) - min(sizes) <= 3
    assert any(patient_split(cases, 4, 0, seed=s)[1] != patient_split(cases, 4, 0, seed=1)[1]
               for s in range(2, 6))
    with pytest.raises(ValueError):
        patient_split(cases, 4, 4)


def test_a_groups_folds_do_not_move_when_other_sources_join():
    sts = [Case(f"sts{p}_{m}", f"STS-{p}", (Path("i"),), Path("l"), group="sts")
           for p in range(25) for m in ("ct", "mr")]
    lidc = [Case(f"lidc{k}", f"LIDC-{k // 3}", (Path("i"),), Path("l"), group="lidc")
            for k in range(90)]
    for fold in range(5):
        alone = patient_split(sts, 5, fold, seed=0)[1]
        mixed = [c for c in patient_split(sts + lidc, 5, fold, seed=0)[1] if c.group == "sts"]
        assert alone == mixed and len(alone) == 10  # 5 patients, both of their images
