"""Lesion volume in millilitres from voxel count and spacing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def volume_ml(mask: np.ndarray, spacing: Sequence[float]) -> float:
    """Foreground voxels times the voxel volume (mm^3), in ml (1 ml = 1000 mm^3)."""
    mask = np.asarray(mask)
    if len(spacing) != mask.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match a {mask.ndim}-D mask")
    return int(np.count_nonzero(mask)) * float(np.prod(spacing)) / 1000.0
