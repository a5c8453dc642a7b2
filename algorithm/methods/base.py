"""What every segmenter sees and returns, so the pipeline does not care which one runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class GridCase:
    """One case resampled to the model grid. Points are continuous grid indices (z, y, x)."""

    image: np.ndarray  #: normalised intensities, (D, H, W) float32
    positive: np.ndarray  #: (N, 3)
    negative: np.ndarray  #: (M, 3), may be empty
    voi_lo: np.ndarray  #: the clicks' volume of interest on the grid, low corner
    voi_hi: np.ndarray  #: and high corner
    spacing: np.ndarray = field(default_factory=lambda: np.ones(3))  #: relative voxel size
    previous_mask: np.ndarray | None = None  #: (D, H, W) in [0, 1], for refinement


class Segmenter(Protocol):
    name: str
    grid_size: int

    def predict(self, case: GridCase) -> np.ndarray:
        """Lesion probability on the grid, (D, H, W) float32 in [0, 1]; 0.5 is the boundary."""
        ...
