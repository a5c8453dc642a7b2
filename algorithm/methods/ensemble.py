"""Averaging segmenters that share a grid: e.g. the network with the classical method, whose
errors differ (the network knows lesions, the geodesic competition knows this image's edges)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from algorithm.methods.base import GridCase, Segmenter


@dataclass
class AverageSegmenter:
    members: list[Segmenter]
    weights: list[float] | None = None
    name: str = "ensemble"

    def __post_init__(self) -> None:
        sizes = {m.grid_size for m in self.members}
        if len(sizes) != 1:
            raise ValueError(f"ensemble members need one grid size, got {sorted(sizes)}")

    @property
    def grid_size(self) -> int:
        return self.members[0].grid_size

    def predict(self, case: GridCase) -> np.ndarray:
        weights = np.asarray(self.weights or [1.0] * len(self.members), dtype=np.float32)
        weights = weights / weights.sum()
        return sum(w * m.predict(case) for w, m in zip(weights, self.members)).astype(np.float32)
