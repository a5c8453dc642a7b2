"""How many separate pieces a lesion mask has."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from algorithm.measurements.bounding_box import bounding_box

# 26-connectivity: voxels touching by a face, an edge or a corner belong to one component, so a
# lesion drawn slice by slice with a diagonal step is not split.
CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)


def count_components(mask: np.ndarray) -> int:
    """Number of 26-connected components of a 3D mask (0 when empty)."""
    volume = np.asarray(mask, dtype=bool)
    if volume.ndim != 3:
        raise ValueError(f"a 3D mask is needed, got {volume.ndim} dimensions")
    if not volume.any():
        return 0
    return int(ndimage.label(volume[bounding_box(volume)], structure=CONNECTIVITY_26)[1])
