"""An unreadable image says what the file is and what was expected, in one line, by content."""

import gzip
import json
import struct
import zipfile

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.cli import main as platform_main
from algorithm.errors import InputError
from algorithm.io.file_kind import EXPECTED, identify_file, nifti_truncated
from algorithm.io.images import read_image
from algorithm.local_cli import main
from algorithm.prompts import Clicks
from tests.algorithm.dicom import write_dicom_series
from tests.algorithm.helpers import box_phantom, extreme_clicks


def _complete(tmp_path, name, compress=False):
    image, _ = box_phantom()
    path = tmp_path / f"complete-{name}"
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path.read_bytes()


def _cut(tmp_path, name, fraction, compress=False):
    data = _complete(tmp_path, name, compress)
    (tmp_path / name).write_bytes(data[: int(len(data) * fraction)])
    return tmp_path / name


def _write(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def empty(tmp_path):
    return _write(tmp_path, "scan.mha", b"")


def clicks_json(tmp_path):
    return _write(tmp_path, "scan.mha", json.dumps({"type": "Multiple points"}).encode())


def text_file(tmp_path):
    return _write(tmp_path, "notes.nrrd", "patient notes, not a scan\n".encode())


def png_renamed(tmp_path):
    sitk.WriteImage(sitk.Image(16, 16, sitk.sitkUInt8), str(tmp_path / "photo.png"))
    return _write(tmp_path, "photo.mha", (tmp_path / "photo.png").read_bytes())


def jpeg(tmp_path):
    sitk.WriteImage(sitk.Image(16, 16, sitk.sitkUInt8), str(tmp_path / "photo.jpg"))
    return tmp_path / "photo.jpg"


def zip_archive(tmp_path):
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("scan.mha", b"ObjectType = Image\n")
    return tmp_path / "export.zip"


def one_dicom_slice(tmp_path):
    image, _ = box_phantom()
    write_dicom_series(image, tmp_path / "series")
    return tmp_path / "series" / "slice005.dcm"


def truncated_mha(tmp_path):
    return _cut(tmp_path, "scan.mha", 0.5)


def truncated_compressed_mha(tmp_path):
    return _cut(tmp_path, "scan.mha", 0.5, compress=True)


def truncated_nii(tmp_path):
    return _cut(tmp_path, "scan.nii", 0.5)


def truncated_nii_gz(tmp_path):
    return _cut(tmp_path, "scan.nii.gz", 0.6)


def gzip_of_text(tmp_path):
    return _write(tmp_path, "scan.nii.gz", gzip.compress(b"not an image"))


def unknown_binary(tmp_path):
    return _write(tmp_path, "scan.mha", np.random.default_rng(0).bytes(3000))


CASES = [
    (empty, "an empty file"),
    (clicks_json, "a JSON file"),
    (text_file, "a text file"),
    (png_renamed, "a PNG picture"),
    (jpeg, "a JPEG picture"),
    (zip_archive, "a ZIP archive: unpack it"),
    (one_dicom_slice, "a single DICOM file (one slice); give the folder"),
    (truncated_mha, "a MetaImage (.mha/.mhd) file that is truncated or damaged"),
    (truncated_compressed_mha, "a MetaImage (.mha/.mhd) file that is truncated or damaged"),
    (truncated_nii, "a NIfTI file that is truncated or damaged"),
    (truncated_nii_gz, "a gzip-compressed NIfTI file (.nii.gz) that is truncated or damaged"),
    (gzip_of_text, "a gzip file that holds no NIfTI image"),
    (unknown_binary, "a format this tool does not recognise"),
]


@pytest.mark.parametrize("make, what", CASES, ids=[c[0].__name__ for c in CASES])
def test_read_image_says_what_the_file_is(tmp_path, make, what):
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"cannot read image {path.name}: it is ")
    assert what in message and message.endswith(EXPECTED) and "\n" not in message
    assert "sitk::ERROR" not in message and "ImageIO" not in message


@pytest.mark.parametrize("make, what", CASES, ids=[c[0].__name__ for c in CASES])
def test_cli_ends_with_that_line(tmp_path, capfd, make, what):
    path = make(tmp_path)
    image, mask = box_phantom()
    clicks = tmp_path / "clicks.json"
    clicks.write_text(json.dumps(Clicks.from_points(extreme_clicks(image, mask))
                                 .to_multiple_points()))
    out = tmp_path / "out" / "mask.mha"
    code = main(["segment", str(path), str(clicks), "-o", str(out), "--method", "classical"])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert last.startswith(f"error: cannot read image {path.name}: it is ") and what in last
    assert last.endswith(EXPECTED)
    assert not out.parent.exists()


def test_platform_entry_says_it_too(tmp_path, capfd):
    inputs = tmp_path / "in"
    (inputs / "images/medical-image").mkdir(parents=True)
    png_renamed(inputs / "images/medical-image")
    (inputs / "images/medical-image/photo.png").unlink()
    image, mask = box_phantom()
    (inputs / "lesion-clicks.json").write_text(json.dumps(
        Clicks.from_points(extreme_clicks(image, mask)).to_multiple_points()))
    code = platform_main(["--input", str(inputs), "--output", str(tmp_path / "out")])
    last = capfd.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "it is a PNG picture" in last and last.endswith(EXPECTED), last


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_image(tmp_path / "nowhere.mha")


@pytest.mark.parametrize("name, compress", [("scan.mha", False), ("scan.mha", True),
                                            ("scan.nii", False), ("scan.nii.gz", True),
                                            ("scan.nrrd", True), ("scan.tif", False)])
def test_complete_images_still_read(tmp_path, name, compress):
    image, _ = box_phantom()
    sitk.WriteImage(image, str(tmp_path / name), useCompression=compress)
    assert read_image(tmp_path / name).GetSize() == image.GetSize()


def test_a_dicom_series_folder_still_reads(tmp_path):
    image, _ = box_phantom()
    write_dicom_series(image, tmp_path / "series")
    assert read_image(tmp_path / "series").GetSize() == image.GetSize()


def test_nifti_size_checks_read_the_header(tmp_path):
    """NIfTI-1 and -2, either byte order: a complete file passes, a byte short fails."""
    for version, endian in [(1, "<"), (1, ">"), (2, "<"), (2, ">")]:
        header = _nifti_header(version, endian, dims=(5, 4, 3), bitpix=16)
        complete = header + bytes(5 * 4 * 3 * 2)
        for data, truncated in [(complete, False), (complete[:-1], True)]:
            path = _write(tmp_path, "x.nii", data)
            assert nifti_truncated(path, compressed=False) is truncated, (version, endian)
            path = _write(tmp_path, "x.nii.gz", gzip.compress(data))
            assert identify_file(path).what == "a gzip-compressed NIfTI file"
            assert nifti_truncated(path, compressed=True) is truncated, (version, endian)


def _nifti_header(version: int, endian: str, dims: tuple[int, ...], bitpix: int) -> bytes:
    dim = (len(dims), *dims) + (1,) * (7 - len(dims))
    if version == 1:
        header = bytearray(352)
        header[0:4] = struct.pack(endian + "i", 348)
        header[40:56] = struct.pack(endian + "8h", *dim)
        header[72:74] = struct.pack(endian + "h", bitpix)
        header[108:112] = struct.pack(endian + "f", 352.0)
        header[344:348] = b"n+1\0"
    else:
        header = bytearray(544)
        header[0:4] = struct.pack(endian + "i", 540)
        header[4:8] = b"n+2\0"
        header[14:16] = struct.pack(endian + "h", bitpix)
        header[16:80] = struct.pack(endian + "8q", *dim)
        header[168:176] = struct.pack(endian + "q", 544)
    return bytes(header)
