"""How far to trust one answer: scores that predict the DSC the user will get, without a reference.

Every score is in [0, 1], higher meaning more trustworthy, and comes from what the pipeline
already has (the probability map, the mask, the clicks' ellipsoid) or from one extra answer to
compare with (a flipped input, another segmenter). ``benchmarks/screens/confidence.py`` measures
how well each ranks cases by their real DSC on held-out patients.
"""

from __future__ import annotations

import numpy as np

def expected_dice(probability: np.ndarray, mask: np.ndarray) -> float:
    """The DSC the mask would have if the reference were drawn from the voxel probabilities:
    2 sum(p m) / (sum(p) + sum(m)). A sharp, confident map scores near 1; a mask whose border
    runs through a wide band of p near 0.5 scores lower, in proportion to that band's volume
    against the lesion's."""
    p = np.asarray(probability, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    if p.shape != m.shape:
        raise ValueError(f"probability {p.shape} and mask {m.shape} differ in shape")
    denom = p.sum() + m.sum()
    return float(2.0 * p[m].sum() / denom) if denom > 0 else 0.0


def margin(probability: np.ndarray, mask: np.ndarray, band: float = 0.5) -> float:
    """One minus the volume of the uncertain band (|p - 0.5| < ``band`` / 2) relative to the
    mask's volume plus that band: the share of the answer the network was sure of."""
    p = np.asarray(probability, dtype=np.float64)
    uncertain = int(np.count_nonzero(np.abs(p - 0.5) < band / 2.0))
    sure = int(np.count_nonzero(np.asarray(mask, dtype=bool) & (np.abs(p - 0.5) >= band / 2.0)))
    total = uncertain + sure
    return float(sure / total) if total else 0.0


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """DSC between two answers to the same prompt (a flipped input, another segmenter, the
    clicks' ellipsoid): where two reasonable answers disagree, at least one is wrong."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    denom = int(a.sum()) + int(b.sum())
    return float(2.0 * np.logical_and(a, b).sum() / denom) if denom else 0.0
