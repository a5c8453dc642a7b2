"""Modality detection and intensity normalisation of the resampled crop.

CT is normalised with a fixed soft-tissue window in Hounsfield units, so the network sees the same
numbers for the same tissue in every scanner; MRI has no absolute scale, so the crop's own robust
statistics are used.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import SimpleITK as sitk

Modality = Literal["CT", "MR"]

#: Soft-tissue window: lung (-800 HU) still differs from lesion, muscle/tumour contrast survives.
CT_WINDOW = (-160.0, 240.0)
#: Value that stands for "outside the image" before normalisation (air in CT).
CT_OUTSIDE = -1024.0

_MODALITY_KEYS = ("Modality", "0008|0060")


def detect_modality(image: sitk.Image) -> Modality:
    """CT or MR, from the header when it says so, else from the intensities.

    grand-challenge's MHA files carry DICOM ``Modality`` when converted from DICOM. Otherwise CT
    is recognised by Hounsfield units: a clear share of voxels at or below air/lung values
    (< -500). Pre-windowed CT (0..255) is then treated as MR-like, i.e. normalised by its own
    statistics, which is the right thing for values that are no longer HU.
    """
    for key in _MODALITY_KEYS:
        if image.HasMetaDataKey(key):
            value = image.GetMetaData(key).strip().upper()
            if value in ("CT", "MR"):
                return value  # type: ignore[return-value]
    values = _subsample(image)
    if values.size and np.mean(values < -500.0) > 0.02 and np.min(values) >= -3100:
        return "CT"
    return "MR"


def _subsample(image: sitk.Image, target: int = 64) -> np.ndarray:
    shrink = [max(1, s // target) for s in image.GetSize()]
    return sitk.GetArrayFromImage(sitk.Shrink(image, shrink)).astype(np.float32).ravel()


def outside_value(modality: Modality) -> float:
    return CT_OUTSIDE if modality == "CT" else 0.0


def normalise(crop: np.ndarray, modality: Modality) -> np.ndarray:
    """Map the crop to roughly [-1, 1] (CT) or zero mean, unit variance (MR), float32."""
    crop = crop.astype(np.float32, copy=False)
    if modality == "CT":
        lo, hi = CT_WINDOW
        return ((np.clip(crop, lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2)).astype(np.float32)
    lo, hi = np.percentile(crop, [0.5, 99.5])
    clipped = np.clip(crop, lo, hi)
    std = float(clipped.std())
    return ((clipped - float(clipped.mean())) / (std if std > 1e-6 else 1.0)).astype(np.float32)
