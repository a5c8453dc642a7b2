"""What a file is, from its first bytes, so that an unreadable image is explained in plain words.

A user who hands over the wrong file (a photo, the clicks JSON, a zipped export, one slice of a
DICOM series) should read what they gave and what was wanted, not an ITK message such as
"Unable to determine ImageIO reader". The content decides, not the extension: a PNG renamed
``.mha`` is still a PNG.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

#: What every image reader of this tool accepts, in the words errors use.
EXPECTED = "expected a 3D image: .mha, .nii.gz, .nii, .nrrd, .tif or a DICOM series folder"

HEAD_BYTES = 4096
NIFTI2_HEADER_BYTES = 540  #: enough for either NIfTI magic, readable from a truncated .nii.gz
_METAIMAGE_KEY = re.compile(rb"^\s*(ObjectType|NDims|DimSize|ElementType|ObjectSubType|Comment"
                            rb"|BinaryData|ElementSpacing|HeaderSize)\s*=")
_NIFTI_MAGICS = {(344, b"n+1\0"), (344, b"ni1\0"), (4, b"n+2\0"), (4, b"ni2\0")}
_GZIP_FEXTRA = 0x04  #: flag of a gzip header with extra fields (BGZF's blocks carry one)


@dataclass(frozen=True)
class FileKind:
    """``what`` completes "it is ..."; ``may_be_image``: worth handing to SimpleITK at all;
    ``damaged``: what to say when it is an image format that SimpleITK still cannot read."""

    what: str
    may_be_image: bool
    damaged: str = ""

    def unreadable(self) -> str:
        """The kind, as it is put when reading the file failed."""
        return self.damaged or self.what


EMPTY = FileKind("an empty file (0 bytes)", False)
METAIMAGE = FileKind("a MetaImage file", True, "a MetaImage (.mha/.mhd) file that is truncated "
                     "or damaged, or whose separate data file is missing")
NIFTI = FileKind("a NIfTI file", True, "a NIfTI file that is truncated or damaged")
NIFTI_GZ = FileKind("a gzip-compressed NIfTI file", True,
                    "a gzip-compressed NIfTI file (.nii.gz) that is truncated or damaged")
NRRD = FileKind("an NRRD file", True, "an NRRD file that is truncated or damaged, or whose "
                "separate data file is missing")
TIFF = FileKind("a TIFF file", True, "a TIFF file that is truncated or damaged")
DICOM = FileKind("a DICOM file", True, "a DICOM file that GDCM cannot decode (damaged, or "
                 "compressed in a way it does not support)")
SINGLE_DICOM = FileKind("a single DICOM file (one slice); give the folder that holds its "
                        "series' files instead", False)


def identify_file(path: Path) -> FileKind:
    """The kind of ``path`` from its content; ``OSError`` if it cannot be opened."""
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head:
        return EMPTY
    if head.startswith(b"\x1f\x8b"):
        return _gzip_kind(Path(path))
    return _kind_of_head(head)


def _kind_of_head(head: bytes) -> FileKind:
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if any(head[at:at + len(magic)] == magic for at, magic in _NIFTI_MAGICS):
        return NIFTI
    if head.startswith(b"NRRD"):
        return NRRD
    if head[:4] in (b"II*\0", b"MM\0*"):
        return TIFF
    if _METAIMAGE_KEY.match(head):
        return METAIMAGE
    for magic, kind in _NOT_IMAGES:
        if head.startswith(magic):
            return kind
    text = _as_text(head)
    if text is not None:
        if text.lstrip().startswith(("{", "[")):
            return FileKind("a JSON file (text, not an image; clicks go in the clicks argument)",
                            False)
        return FileKind("a text file, not an image", True)
    return FileKind("a file in a format this tool does not recognise (not MetaImage, NIfTI, "
                    "NRRD, TIFF or DICOM)", True)


_NOT_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", FileKind("a PNG picture (2D), not a 3D scan", False)),
    (b"\xff\xd8\xff", FileKind("a JPEG picture (2D), not a 3D scan", False)),
    (b"GIF8", FileKind("a GIF picture (2D), not a 3D scan", False)),
    (b"PK\x03\x04", FileKind("a ZIP archive: unpack it and give the image inside", False)),
    (b"PK\x05\x06", FileKind("an empty ZIP archive", False)),
    (b"%PDF", FileKind("a PDF document", False)),
    (b"\x89HDF\r\n\x1a\n", FileKind("an HDF5 file", False)),
    (b"\x93NUMPY", FileKind("a NumPy array file (.npy), which carries no geometry", False)),
)


def _gzip_kind(path: Path) -> FileKind:
    """gzip holds a NIfTI image (``.nii.gz``) or something this tool does not read."""
    try:
        with gzip.open(path, "rb") as stream:
            head = stream.read(NIFTI2_HEADER_BYTES)
    except (OSError, EOFError, zlib.error):
        return FileKind("a gzip file that is truncated or damaged", False)
    if head and _kind_of_head(head) is NIFTI:
        return NIFTI_GZ
    return FileKind("a gzip file that holds no NIfTI image", False)


def _as_text(head: bytes) -> str | None:
    """``head`` decoded, if it is text (UTF-8, no control characters but tab and newlines)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < HEAD_BYTES or exc.start < len(head) - 3:
            return None
        text = head[:exc.start].decode("utf-8")  # a character cut at HEAD_BYTES is still text
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return None
    return text


def nifti_truncated(path: Path, compressed: bool) -> bool:
    """A single-file NIfTI (``.nii``, or ``.nii.gz`` when ``compressed``) holds fewer bytes than
    its header declares. ITK reads such a file without complaint (the missing voxels come back
    as whatever it finds), so it is checked here: an uncompressed file by its size, a gzip by
    the uncompressed size its trailer records (ISIZE, modulo 2**32), which costs no
    decompression. Files this cannot judge (a header pair, gzip with extra fields such as BGZF's
    blocks, odd dimensions) are left to ITK."""
    try:
        if compressed:
            with open(path, "rb") as stream:
                flags = stream.read(4)[3:]
                stream.seek(-4, os.SEEK_END)
                actual = int.from_bytes(stream.read(4), "little")
            if not flags or flags[0] & _GZIP_FEXTRA:
                return False
            with gzip.open(path, "rb") as unzipped:
                header = unzipped.read(NIFTI2_HEADER_BYTES)
        else:
            actual = Path(path).stat().st_size
            with open(path, "rb") as stream:
                header = stream.read(NIFTI2_HEADER_BYTES)
    except (OSError, EOFError, zlib.error):
        return True
    expected = _nifti_file_bytes(header)
    if expected is None:
        return False
    return actual != expected % 2 ** 32 if compressed else actual < expected


def _nifti_file_bytes(header: bytes) -> int | None:
    """Header, extensions and voxels of a single-file NIfTI-1 or -2, from its header."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348:
            if header[344:348] != b"n+1\0":
                return None
            dims = struct.unpack(endian + "8h", header[40:56])
            bitpix = struct.unpack(endian + "h", header[72:74])[0]
            offset = struct.unpack(endian + "f", header[108:112])[0]
            break
        if len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540:
            if header[4:8] != b"n+2\0":
                return None
            bitpix = struct.unpack(endian + "h", header[14:16])[0]
            dims = struct.unpack(endian + "8q", header[16:80])
            offset = struct.unpack(endian + "q", header[168:176])[0]
            break
    else:
        return None
    n = dims[0]
    if not 1 <= n <= 7 or any(d <= 0 for d in dims[1:n + 1]) or bitpix <= 0 or offset < 0:
        return None
    return int(offset) + (math.prod(dims[1:n + 1]) * bitpix + 7) // 8
