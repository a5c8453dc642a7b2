"""The network's input from a case on the model grid: one function for inference
(``algorithm.methods.network``) and the training simulator (``training.samples``), so that what
the network learns from is built exactly as what it is later asked about."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from algorithm.guidance.encoding import encode

if TYPE_CHECKING:
    from algorithm.methods.base import GridSeeds
    from algorithm.network.model_card import GuidanceSettings


def network_input(image: np.ndarray, positive: np.ndarray, negative: np.ndarray,
                  previous_mask: np.ndarray | None, spacing: np.ndarray,
                  seeds: "GridSeeds | None", guidance: "GuidanceSettings") -> np.ndarray:
    """(C, D, H, W) float32 guidance channels: the clicks and, where prompts other than clicks
    gave them, the seed voxels (known or likely tumour with the positive clicks, known
    background with the negative ones)."""
    return encode(
        image, positive, negative, previous_mask, spacing=spacing,
        intensity_weight=guidance.geodesic_intensity_weight,
        geodesic_scale=guidance.geodesic_scale, click_sigma=guidance.click_sigma,
        channels=guidance.channels,
        positive_seeds=None if seeds is None else seeds.positive,
        negative_seeds=None if seeds is None else seeds.background,
    )
