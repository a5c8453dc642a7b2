"""DICOM SEG output: read back with pydicom and highdicom, frame by frame against the image mask
of the same case, on an oblique, anisotropic CT series written in shuffled file order."""

import json

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.dicom import read_dicom_series
from algorithm.io.dicom_seg import SegAlgorithm, source_slice_indices, write_dicom_seg
from algorithm.local_cli import main
from algorithm.phantom import rotation_direction
from algorithm.prompts import Clicks
from tests.algorithm.dicom import write_ct_series_with_pydicom
from tests.algorithm.helpers import box_phantom, dice, extreme_clicks

OBLIQUE = rotation_direction((10.0, 20.0, -15.0))  # DICOM slices stack right-handed
SPACING = (0.7, 0.9, 3.0)


@pytest.fixture(scope="module")
def dicom_case(tmp_path_factory):
    """A CT series folder, its clicks, and each instance's true slice index."""
    root = tmp_path_factory.mktemp("dicom_case")
    image, truth = box_phantom(direction=OBLIQUE, spacing_xyz=SPACING)
    slice_of = write_ct_series_with_pydicom(image, root / "series", seed=3,
                                            description="CT thorax")
    clicks = root / "clicks.json"
    clicks.write_text(json.dumps(Clicks.from_points(extreme_clicks(image, truth))
                                 .to_multiple_points()))
    return root, slice_of, truth


def segment(dicom_case, out, *extra):
    root, _, _ = dicom_case
    return main(["segment", str(root / "series"), str(root / "clicks.json"), "-o", str(out),
                 "--method", "classical", *extra])


def test_seg_matches_the_image_mask_frame_by_frame(dicom_case, tmp_path):
    root, slice_of, truth = dicom_case
    assert segment(dicom_case, tmp_path / "mask.mha") == 0
    assert segment(dicom_case, tmp_path / "mask.dcm", "--format", "dicom-seg") == 0
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "mask.mha")))
    assert dice(mask, truth) > 0.9

    seg = hd.seg.segread(tmp_path / "mask.dcm")
    uids = list(slice_of)
    frames = seg.get_pixels_by_source_instance(uids, segment_numbers=[1])[..., 0]
    for uid, frame in zip(uids, frames):
        np.testing.assert_array_equal(frame, mask[slice_of[uid]], err_msg=uid)

    # the same through pydicom alone: each frame's source instance and its position
    ds = pydicom.dcmread(tmp_path / "mask.dcm")
    sources = {pydicom.dcmread(p).SOPInstanceUID: pydicom.dcmread(p)
               for p in (root / "series").iterdir()}
    assert ds.Modality == "SEG" and ds.SegmentationType == "BINARY"
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == \
        next(iter(sources.values())).SeriesInstanceUID
    pixels = ds.pixel_array.reshape(-1, *mask.shape[1:])
    assert len(ds.PerFrameFunctionalGroupsSequence) == len(pixels) == \
        int(np.count_nonzero(mask.any(axis=(1, 2))))  # a frame per slice with lesion voxels
    for group, frame in zip(ds.PerFrameFunctionalGroupsSequence, pixels):
        uid = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        np.testing.assert_array_equal(frame, mask[slice_of[uid]])
        np.testing.assert_allclose(
            [float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient],
            [float(v) for v in sources[uid].ImagePositionPatient], atol=1e-4)
    shared = ds.SharedFunctionalGroupsSequence[0]
    np.testing.assert_allclose([float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
                               [SPACING[1], SPACING[0]], atol=1e-5)
    np.testing.assert_allclose(
        [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
        np.reshape(OBLIQUE, (3, 3))[:, :2].T.ravel(), atol=1e-5)


def test_seg_describes_the_lesion_and_the_algorithm(dicom_case, tmp_path):
    assert segment(dicom_case, tmp_path / "mask.dcm", "--format", "dicom-seg") == 0
    ds = pydicom.dcmread(tmp_path / "mask.dcm")
    assert len(ds.SegmentSequence) == 1
    segment_item = ds.SegmentSequence[0]
    assert segment_item.SegmentLabel == "Lesion"
    assert segment_item.SegmentAlgorithmType == "SEMIAUTOMATIC"
    category = segment_item.SegmentedPropertyCategoryCodeSequence[0]
    kind = segment_item.SegmentedPropertyTypeCodeSequence[0]
    assert (category.CodingSchemeDesignator, category.CodeValue) == ("SCT", "49755003")
    assert (kind.CodingSchemeDesignator, kind.CodeValue, kind.CodeMeaning) == \
        ("SCT", "52988006", "Lesion")
    algorithm = segment_item.SegmentationAlgorithmIdentificationSequence[0]
    assert algorithm.AlgorithmName == "lesionseg"
    assert "method=classical" in algorithm.AlgorithmParameters
    assert "model=classical" in algorithm.AlgorithmParameters
    assert ds.SeriesDescription == "Lesion SEG (lesionseg) of CT thorax"
    assert ds.ManufacturerModelName == "lesionseg"
    assert hd.seg.segread(tmp_path / "mask.dcm").get_segment_description(1).segment_label == \
        "Lesion"


def test_batch_writes_a_seg_per_dicom_case(dicom_case, tmp_path, capfd):
    root, slice_of, _ = dicom_case
    cases = tmp_path / "cases"
    (cases / "a_dicom").mkdir(parents=True)
    (cases / "a_dicom" / "series").symlink_to(root / "series")
    (cases / "a_dicom" / "lesion-clicks.json").write_text((root / "clicks.json").read_text())
    (cases / "b_file").mkdir()
    image, _ = box_phantom()
    sitk.WriteImage(image, str(cases / "b_file" / "scan.mha"))
    (cases / "b_file" / "lesion-clicks.json").write_text((root / "clicks.json").read_text())
    code = main(["batch", str(cases), str(tmp_path / "out"), "--method", "classical",
                 "--format", "dicom-seg"])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: 1 of 2 cases failed (b_file)"), last
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_dicom.dcm",
                                                                    "batch_report.json"]
    report = json.loads((tmp_path / "out/batch_report.json").read_text(encoding="utf-8"))
    assert report["succeeded"][0]["mask"] == "a_dicom.dcm"
    assert "DICOM series folder" in report["failed"][0]["error"]
    seg = hd.seg.segread(tmp_path / "out/a_dicom.dcm")
    referenced = {i.ReferencedSOPInstanceUID
                  for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence}
    assert referenced == set(slice_of)


@pytest.mark.parametrize("output, extra, fragment", [
    ("mask.dcm", ("--format", "dicom-seg"), "needs a DICOM series folder"),
    ("mask.mha", ("--format", "dicom-seg"), "must end in .dcm"),
    ("mask.dcm", (), "add --format dicom-seg"),
])
def test_bad_requests_fail_in_one_line(tmp_path, capfd, output, extra, fragment):
    image, truth = box_phantom()
    sitk.WriteImage(image, str(tmp_path / "scan.mha"))
    (tmp_path / "clicks.json").write_text(json.dumps(
        Clicks.from_points(extreme_clicks(image, truth)).to_multiple_points()))
    code = main(["segment", str(tmp_path / "scan.mha"), str(tmp_path / "clicks.json"),
                 "-o", str(tmp_path / output), *extra])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and fragment in last, last
    assert not (tmp_path / output).exists()


def test_a_slice_off_the_grid_is_refused(dicom_case):
    root, _, _ = dicom_case
    series = read_dicom_series(root / "series")
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in series.files]
    image = series.image
    assert sorted(source_slice_indices(image, sources)) == list(range(image.GetDepth()))
    moved = sources[0]
    normal = np.cross(*np.reshape([float(v) for v in moved.ImageOrientationPatient], (2, 3)))
    moved.ImagePositionPatient = [f"{v:.6f}" for v in
                                  np.asarray(moved.ImagePositionPatient, float) + 1.2 * normal]
    with pytest.raises(InputError, match="does not lie on a slice"):
        source_slice_indices(image, sources)


def test_a_failed_write_leaves_no_file(dicom_case, tmp_path, monkeypatch):
    root, _, truth = dicom_case
    series = read_dicom_series(root / "series")

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(hd.seg.Segmentation, "save_as", broken_save)
    with pytest.raises(OSError):
        write_dicom_seg(truth, series.image, series.files, tmp_path / "mask.dcm",
                        SegAlgorithm("classical", "classical"))
    assert list(tmp_path.iterdir()) == []


def test_frames_follow_positions_not_the_order_files_are_given(dicom_case, tmp_path):
    root, slice_of, truth = dicom_case
    series = read_dicom_series(root / "series")
    shuffled = [series.files[i] for i in np.random.default_rng(1).permutation(len(series.files))]
    write_dicom_seg(truth, series.image, shuffled, tmp_path / "mask.dcm",
                    SegAlgorithm("classical", "classical"))
    seg = hd.seg.segread(tmp_path / "mask.dcm")
    frames = seg.get_pixels_by_source_instance(list(slice_of), segment_numbers=[1])[..., 0]
    for uid, frame in zip(slice_of, frames):
        np.testing.assert_array_equal(frame, truth[slice_of[uid]], err_msg=uid)


def test_a_source_without_a_frame_of_reference_is_refused(tmp_path):
    """GDCM-written test series (tests.algorithm.dicom.write_dicom_series) lack it, as some
    anonymisers' output does: a one-line InputError, not highdicom's ValueError."""
    from tests.algorithm.dicom import write_dicom_series

    image, truth = box_phantom()
    write_dicom_series(image, tmp_path / "series")
    series = read_dicom_series(tmp_path / "series")
    with pytest.raises(InputError, match="lacks FrameOfReferenceUID"):
        write_dicom_seg(truth, series.image, series.files, tmp_path / "mask.dcm",
                        SegAlgorithm("classical", "classical"))
    assert not (tmp_path / "mask.dcm").exists()
