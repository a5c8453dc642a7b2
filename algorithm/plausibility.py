"""Is a mask plausible for its clicks? A warning, not an error, for masks far beyond them.

An undertrained model once wrote a 34-litre "tumour" for six clicks and reported success. Clicks
placed per protocol lie ``inward_shifts`` voxels inside the tumour's extremes, so the positive
clicks' bounding box grown by that shift on every side contains every correct mask: the rules
below sit far outside it. Each edge of the box is at least ``MIN_EDGE_MM``, so that one or two
clicks (no box to speak of) are not held to a sliver, and with fewer than the protocol's six
tumour clicks the box says little about how far the lesion reaches: only the volume rule holds.
"""

from __future__ import annotations

import numpy as np

from algorithm.click_convention import inward_shifts
from algorithm.geometry import VoiConfig

#: a mask more than this many times the clicks' box's volume is implausible
VOLUME_FACTOR = 8.0
#: "far" beyond the box: more than this fraction of the box's largest edge outside it
FAR_FRACTION = 0.5
#: share of the mask that may lie far beyond the box before it is implausible
FAR_SHARE = 0.01
MIN_EDGE_MM = VoiConfig().min_extent_mm
PROTOCOL_CLICKS = 6


def expected_box(positive_index: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) continuous indices (z, y, x): where a mask of clicks per protocol can reach."""
    pts = np.asarray(positive_index, dtype=float).reshape(-1, 3)
    spacing = np.asarray(spacing, dtype=float)
    grow = inward_shifts(spacing) + 0.5  # to the extreme voxel's outer face
    lo, hi = pts.min(axis=0) - grow, pts.max(axis=0) + grow
    pad = np.maximum(MIN_EDGE_MM / spacing - (hi - lo), 0.0) / 2.0
    return lo - pad, hi + pad


def implausibility(mask: np.ndarray, positive_index: np.ndarray, spacing: np.ndarray, *,
                   prompts: str = "clicks") -> list[str]:
    """Why ``mask`` (z, y, x on the image grid) cannot be a lesion these clicks mark; [] if it can.
    ``prompts``: what ``positive_index`` came from when not clicks (e.g. "prompts", with the two
    corners of the prompts' extent), for the wording."""
    voxels = int(np.count_nonzero(mask))
    if voxels == 0:
        return []
    spacing = np.asarray(spacing, dtype=float)
    lo, hi = expected_box(positive_index, spacing)
    box_ml = float(np.prod((hi - lo) * spacing)) / 1000.0
    mask_ml = voxels * float(np.prod(spacing)) / 1000.0
    problems = []
    if mask_ml > VOLUME_FACTOR * box_ml:
        problems.append(f"its {mask_ml:.1f} ml are {mask_ml / box_ml:.0f}x the {box_ml:.1f} ml "
                        f"box of the tumour {prompts} (limit {VOLUME_FACTOR:g}x)")
    if len(np.reshape(positive_index, (-1, 3))) >= PROTOCOL_CLICKS:
        far_mm = FAR_FRACTION * float(((hi - lo) * spacing).max())
        share = _share_beyond(mask, lo - far_mm / spacing, hi + far_mm / spacing, voxels)
        if share > FAR_SHARE:
            problems.append(f"{100.0 * share:.0f} % of it lies more than {far_mm:.0f} mm beyond "
                            "the tumour clicks' box")
    if not problems:
        return []
    advice = ("that the clicks are about 5 voxels inside the tumour's extremes, two per axis, "
              if prompts == "clicks" else f"the {prompts} ")
    return [f"implausible mask for its {prompts}: " + "; ".join(problems) + f". Check {advice}"
            "and that the weights are a trained model's"]


def _share_beyond(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray, voxels: int) -> float:
    """Share of the mask's voxels whose centres lie outside the index box ``lo`` .. ``hi``."""
    region = tuple(slice(max(int(np.ceil(a)), 0), max(int(np.floor(b)) + 1, 0))
                   for a, b in zip(lo, hi))
    return 1.0 - np.count_nonzero(mask[region]) / voxels
