"""What every segmenter sees and returns, so the pipeline does not care which one runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class GridSeeds:
    """What prompts other than clicks say, on the model grid: (D, H, W) bool each.

    ``tumour`` and ``background`` are known voxels (scribbles, outlines and annotated slices,
    RECIST axes; a box's outside on its slice) and never overlap: a grid voxel that straddles
    both kinds of image voxel is left unknown. ``weak_tumour`` is likely tumour (a box's
    middle), never known background or tumour: guidance and the classical method count it with
    the tumour, hard constraints (graph cut, clean-up) do not."""

    tumour: np.ndarray
    background: np.ndarray
    weak_tumour: np.ndarray
    #: the prompt kinds they come from (``prompt_set.PROMPT_KINDS``), for a router to choose by
    kinds: tuple[str, ...] = ()

    @property
    def positive(self) -> np.ndarray:
        """Every voxel that speaks for the tumour, known or likely."""
        return self.tumour | self.weak_tumour


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
    #: known voxels from scribbles, outlines, boxes and RECIST axes (None: clicks only)
    seeds: GridSeeds | None = None
    #: (3, 2) bool, axis and low/high side: does a prompt bound the lesion at that VOI face, or
    #: is the face a prior the VOI grows past when the mask reaches it (None: all bounded)
    voi_bounded: np.ndarray | None = None


class Segmenter(Protocol):
    name: str
    grid_size: int

    def predict(self, case: GridCase) -> np.ndarray:
        """Lesion probability on the grid, (D, H, W) float32 in [0, 1]; 0.5 is the boundary."""
        ...
