"""Reading images for segmentation and writing masks without leaving partial files behind."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.atomic import write_atomic, write_image_file
from algorithm.io.dicom import read_dicom_folder
from algorithm.io.file_kind import (
    DICOM, EXPECTED, NIFTI, NIFTI_GZ, SINGLE_DICOM, identify_file, nifti_truncated,
)

#: Extensions SimpleITK reads directly, longest first so ``.nii.gz`` wins over ``.gz``.
IMAGE_SUFFIXES = (".nii.gz", ".mha", ".mhd", ".nii", ".nrrd", ".nhdr", ".tif", ".tiff")


def image_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in IMAGE_SUFFIXES if name.endswith(s)), None)


def strip_image_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_image(path: Path, series: Collection[str] = (), *,
               series_required: bool = True) -> sitk.Image:
    """Read a 3D scalar image from a file (MHA, NIfTI, NRRD, TIFF) or a DICOM folder tree; of
    several series, the one ``series`` names (``algorithm.io.dicom.choose_series``)."""
    path = Path(path)
    if path.is_dir():
        image = read_dicom_folder(path, series, required=series_required)
    else:
        image = read_image_file(path)
    return validate_volume(image, path.name)


def read_image_file(path: Path) -> sitk.Image:
    """SimpleITK's reading of one file, refused in plain words when the file is no image (a
    photo, a JSON, an archive, one DICOM slice) or an image file it cannot read (truncated):
    what the file is, by its content (``algorithm.io.file_kind``), and what was expected."""
    try:
        kind = identify_file(path)
    except FileNotFoundError:
        raise InputError(f"cannot read image {path}: it does not exist; {EXPECTED}") from None
    except OSError as exc:
        raise InputError(f"cannot read image {path.name}: {exc.strerror}") from None
    if not kind.may_be_image:
        raise InputError(f"cannot read image {path.name}: it is {kind.what}; {EXPECTED}")
    if kind in (NIFTI, NIFTI_GZ) and nifti_truncated(path, compressed=kind is NIFTI_GZ):
        raise InputError(f"cannot read image {path.name}: it is {kind.unreadable()} (its size "
                         f"does not match its header); {EXPECTED}")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError:
        raise InputError(f"cannot read image {path.name}: it is {kind.unreadable()}; "
                         f"{EXPECTED}") from None
    if kind is DICOM and (image.GetDimension() == 2 or min(image.GetSize()) < 2):
        raise InputError(f"cannot read image {path.name}: it is {SINGLE_DICOM.what}; {EXPECTED}")
    return image


def validate_volume(image: sitk.Image, label: str = "image") -> sitk.Image:
    """Accept only 3D scalar images; squeeze a trailing singleton 4th dimension."""
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{label} has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a scalar (grey-value) 3D image is needed"
        )
    dim = image.GetDimension()
    if dim == 4 and image.GetSize()[3] == 1:
        image = image[:, :, :, 0]
        dim = 3
    if dim != 3:
        raise InputError(f"{label} is {dim}D with size {image.GetSize()}; a 3D image is needed")
    if min(image.GetSize()) < 2:
        raise InputError(f"{label} has size {image.GetSize()}; a 3D volume with at least 2 "
                         "voxels along every axis is needed")
    return image


@dataclass(frozen=True)
class ImageGrid:
    """An image's voxel grid (size, spacing, origin, direction) without its voxels: all that the
    outputs need of a scan once it is segmented, so that a large scan's voxels (2 GB for a
    1024 x 1024 x 1000 CT) can be freed before its full-size mask image is built."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> "ImageGrid":
        return cls(image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())

    def probe(self) -> sitk.Image:
        """A one-voxel image with this grid's spacing, origin and direction: enough for the
        world <-> index mappings of ``algorithm.geometry``, which do not use the size."""
        return ImageGrid((1, 1, 1), self.spacing, self.origin, self.direction).place(
            sitk.Image([1, 1, 1], sitk.sitkUInt8))

    def place(self, image: sitk.Image) -> sitk.Image:
        """Give ``image`` (of this size) this grid's geometry, as ``CopyInformation`` does."""
        if image.GetSize() != self.size:
            raise ValueError(f"image size {image.GetSize()} is not the grid's {self.size}")
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image


def mask_image(mask: np.ndarray, reference: sitk.Image | ImageGrid) -> sitk.Image:
    """A uint8 (z, y, x) mask as an image on ``reference``'s grid (an image, or its grid alone)."""
    grid = reference if isinstance(reference, ImageGrid) else ImageGrid.of(reference)
    return grid.place(sitk.GetImageFromArray(np.ascontiguousarray(mask, dtype=np.uint8)))


def write_mask_atomic(mask: np.ndarray, reference: sitk.Image | ImageGrid, path: Path) -> Path:
    """Write a uint8 mask on ``reference``'s grid, compressed, via a temporary name and rename.

    A crash or a kill mid-write leaves at most a hidden temporary file, never a truncated mask
    under the final name, so a platform or a batch script never picks up partial output.
    """
    path = Path(path)
    image = mask_image(mask, reference)
    return write_atomic(path, lambda tmp: write_image_file(image, tmp),
                        suffix=image_suffix(path) or ".mha", what="mask")
