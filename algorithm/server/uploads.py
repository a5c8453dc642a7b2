"""Getting a session's image: an upload streamed to disk, or a path on the server's own disk.

Neither is trusted. An uploaded file must be one self-contained MetaImage, NIfTI or NRRD: a
MetaImage or NRRD header may name a separate data file, anywhere on the server's disk (even
``/dev/zero``), so only attached data is accepted. A path must resolve, symbolic links
followed, inside a folder the server was started with (``--allow-dir``), and so must any data
file its header names. Before any voxel is read, the size the header declares is checked
against the server's limit, so that a small compressed file cannot claim gigabytes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.file_kind import METAIMAGE, NIFTI, NIFTI_GZ, NRRD, identify_file
from algorithm.io.images import read_image

UPLOAD_KINDS = {METAIMAGE: ".mha", NIFTI: ".nii", NIFTI_GZ: ".nii.gz", NRRD: ".nrrd"}
UPLOAD_EXPECTED = "expected one 3D image file: .mha, .nii, .nii.gz or .nrrd (attached data)"
HEADER_BYTES = 65536
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class PathRefused(Exception):
    """A path outside the folders the server may read (a 403, not a bad request)."""


def upload_label(filename: str | None) -> str:
    """A safe stem for the uploaded file, from the name the client gave (or ``upload``)."""
    name = Path(filename or "").name
    for suffix in (".nii.gz", ".mha", ".nii", ".nrrd", ".gz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return (_SAFE_NAME.sub("_", name).strip("._") or "upload")[:100]


async def write_stream(chunks: AsyncIterator[bytes], path: Path) -> int:
    """Write the streamed body to ``path``; the number of bytes."""
    written = 0
    with open(path, "wb") as out:
        async for chunk in chunks:
            out.write(chunk)
            written += len(chunk)
    return written


def read_uploaded_image(path: Path, label: str, max_image_bytes: int) -> tuple[sitk.Image, Path]:
    """The image in an uploaded file, refused unless self-contained and within the limit.
    The file is renamed to ``label`` with its kind's suffix, so that errors name it and ITK
    picks the reader the content calls for; returns the image and the file's new path."""
    kind = identify_file(path)
    suffix = UPLOAD_KINDS.get(kind)
    if suffix is None:
        raise InputError(f"cannot read the uploaded image {label}: it is {kind.what}; "
                         f"{UPLOAD_EXPECTED}")
    named = path.with_name(label + suffix)
    path.rename(named)
    refs = _data_file_references(named, kind)
    if refs:
        raise InputError(f"the uploaded image {named.name} names a separate data file "
                         f"({refs[0]!r}); upload one self-contained file ({UPLOAD_EXPECTED})")
    _check_declared_size(named, max_image_bytes)
    return read_image(named), named


def resolve_allowed(requested: str, allowed: Sequence[Path]) -> Path:
    """The path, resolved, if it lies in one of the ``allowed`` folders; relative paths are
    taken from the first of them."""
    if not allowed:
        raise PathRefused("this server reads no paths from its disk (start it with --allow-dir "
                          "FOLDER); upload the image instead")
    if "\0" in requested:
        raise InputError("the path holds a NUL character")
    roots = [Path(a).resolve() for a in allowed]
    shown = requested if len(requested) <= 200 else requested[:200] + "..."
    try:
        path = Path(requested).expanduser()
        resolved = (path if path.is_absolute() else roots[0] / path).resolve()
        inside = any(resolved.is_relative_to(root) for root in roots)
        exists = inside and resolved.exists()
    except (OSError, RuntimeError) as exc:  # a name too long, a loop of links, no such user
        raise InputError(f"cannot use the path {shown!r}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if not inside:
        raise PathRefused(f"{shown} is outside the folders this server may read "
                          f"(--allow-dir: {', '.join(str(r) for r in roots)})")
    if not exists:
        raise InputError(f"{shown} does not exist")
    return resolved


def read_allowed_image(path: Path, allowed: Sequence[Path], series: str | None,
                       max_image_bytes: int) -> sitk.Image:
    """The image at a resolved, allowed ``path`` (file or DICOM folder)."""
    if path.is_file():
        kind = identify_file(path)
        if kind in (METAIMAGE, NRRD):
            roots = [Path(a).resolve() for a in allowed]
            for ref in _data_file_references(path, kind):
                data = (path.parent / ref).resolve()
                if not any(data.is_relative_to(root) for root in roots):
                    raise PathRefused(f"{path.name} names a data file outside the folders this "
                                      f"server may read ({ref})")
        if series:
            raise InputError(f"series chooses among a DICOM folder's series; {path.name} is a "
                             "file")
        _check_declared_size(path, max_image_bytes)
    return read_image(path, (series,) if series else ())


def _data_file_references(path: Path, kind) -> list[str]:
    """The separate data files a MetaImage or NRRD header names ([] when the data is attached).
    Lists and numbered patterns of files are refused outright: nothing here needs them."""
    with open(path, "rb") as stream:
        head = stream.read(HEADER_BYTES).decode("latin-1")
    if kind is METAIMAGE:
        for line in head.splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "elementdatafile":
                value = value.strip()
                if value.upper() == "LOCAL":
                    return []
                if value.upper() == "LIST" or len(value.split()) > 1:
                    raise InputError(f"{path.name}: a list or pattern of data files "
                                     f"(ElementDataFile = {value}) is not supported here")
                return [value]
        raise InputError(f"{path.name}: no ElementDataFile in the first {HEADER_BYTES} bytes of "
                         "its MetaImage header")
    if kind is NRRD:
        for line in head.splitlines()[1:]:
            if not line.strip():
                return []  # the blank line that ends the header: data attached
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("data file", "datafile"):
                value = value.strip()
                if value.upper().startswith("LIST") or len(value.split()) > 1:
                    raise InputError(f"{path.name}: a list or pattern of data files "
                                     f"(data file: {value}) is not supported here")
                return [value]
        return []
    return []


def _check_declared_size(path: Path, max_image_bytes: int) -> None:
    """Refuse an image whose header declares more voxel bytes than the limit."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        read_image(path)  # says in plain words what the file is; if it reads, so be it
        return
    one = sitk.Image([1] * reader.GetDimension(), reader.GetPixelID())
    item = sitk.GetArrayViewFromImage(one).itemsize
    declared = int(np.prod(reader.GetSize(), dtype=np.float64)) * item
    declared *= max(1, reader.GetNumberOfComponents())
    if declared > max_image_bytes:
        size = " x ".join(str(n) for n in reader.GetSize())
        raise InputError(f"{path.name} is {size} voxels ({declared / 2**20:.0f} MB in memory), "
                         f"over the server's limit of {max_image_bytes / 2**20:.0f} MB "
                         "(--max-image-mb)")
