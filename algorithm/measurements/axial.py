"""Which array axis is axial: RECIST measures on axial slices, whatever the storage order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def axial_array_axis(direction: Sequence[float]) -> int:
    """Array axis (z, y, x order) of the image axis most aligned with the patient's z axis.

    For the usual identity-like or flipped directions this is array axis 0; for images stored
    sagittally or coronally it is the axis that actually runs head to foot. Ties (a 45 degree
    oblique) go to the image's own z axis, then y.
    """
    matrix = np.asarray(direction, dtype=float).reshape(3, 3)
    alignment = np.abs(matrix[2, :])  # |z component| of each image index axis
    index_axis = max((2, 1, 0), key=lambda j: alignment[j])  # max() keeps the first on ties
    return 2 - index_axis
