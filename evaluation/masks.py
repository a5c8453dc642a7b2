"""Reading binary masks (MHA, NIfTI, NRRD, TIFF) with SimpleITK, validated for scoring."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from evaluation.errors import EvaluationError
from evaluation.geometry import Geometry

# Longest first so that "case.nii.gz" loses ".nii.gz", not ".gz".
MASK_SUFFIXES = (".nii.gz", ".nii", ".mha", ".nrrd", ".tiff", ".tif")


def mask_suffix(name: str) -> str | None:
    """The recognised mask extension of a file name (case-insensitive), or None."""
    lower = name.lower()
    return next((s for s in MASK_SUFFIXES if lower.endswith(s)), None)


def strip_mask_suffix(name: str) -> str:
    """File name without its mask extension: the case identifier used for matching."""
    suffix = mask_suffix(name)
    return name[: len(name) - len(suffix)] if suffix else name


def list_masks(folder: Path) -> list[Path]:
    """Mask files directly inside ``folder`` (not recursive), sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and mask_suffix(p.name))


@dataclass(frozen=True)
class Mask:
    array: np.ndarray  # bool, (z, y, x)
    geometry: Geometry
    path: Path


def read_mask(path: Path, role: str = "mask") -> Mask:
    """Read a 3D scalar mask whose values are only 0 and 1; anything else is an input error."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{role} {path} does not exist")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise EvaluationError(f"{role} {path} cannot be read: {str(exc).strip()}") from None
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise EvaluationError(f"{role} {path} is not a scalar image (vector/RGB pixels)")
    if image.GetDimension() != 3:
        raise EvaluationError(f"{role} {path} is {image.GetDimension()}-D; a 3D mask is needed")
    values = sitk.GetArrayViewFromImage(image)
    not_binary = (values != 0) & (values != 1)
    if not_binary.any():
        found = np.unique(values[not_binary])[:5]
        listed = ", ".join(f"{v:g}" for v in found.astype(float))
        raise EvaluationError(
            f"{role} {path} is not binary: it contains value(s) {listed} besides 0 and 1"
        )
    return Mask(array=values.astype(bool), geometry=Geometry.of(image), path=path)
