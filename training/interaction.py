"""Simulated radiologist clicks for training and evaluation.

``six_point_clicks`` is the reference protocol the product asks of a user: six points just inside
the lesion's extreme boundaries, two per axis. A network trained on that protocol alone is brittle
to how people really click, so ``simulate_initial_clicks`` mixes in jittered, not-quite-extreme and
fewer clicks, and ``corrective_click`` simulates error-driven refinement.

Conventions: arrays are (z, y, x); ``spacing`` is (z, y, x) in mm; points are integer voxel indices
(z, y, x) in an (N, 3) int array. Every point returned lies inside the array, and every positive
click lies inside the mask it was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from algorithm.click_convention import PROTOCOL_INWARD, PROTOCOL_INWARD_THICK, inward_shifts

#: Order of the six protocol points: (axis, end) with end 0 = min, 1 = max.
PROTOCOL_SLOTS: tuple[tuple[int, int], ...] = tuple((a, e) for a in range(3) for e in range(2))


def _as_mask(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask).astype(bool, copy=False)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3D (z, y, x), got shape {m.shape}")
    if not m.any():
        raise ValueError("mask is empty: no click can be placed in it")
    return m


def _bbox(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive (lo, hi) voxel bounds of the nonzero voxels, per axis."""
    lo, hi = [], []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        nz = np.flatnonzero(m.any(axis=other))
        lo.append(nz[0])
        hi.append(nz[-1])
    return np.array(lo), np.array(hi)


def _plane_voxels(m: np.ndarray, axis: int, index: int) -> np.ndarray:
    """(K, 3) indices of the mask voxels lying on plane ``index`` of ``axis``."""
    plane = np.take(m, index, axis=axis)
    pts2 = np.argwhere(plane)
    return np.insert(pts2, axis, index, axis=1)


def sample_extreme_points(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Six random voxels of the mask's extreme planes, in protocol order, before any shift.

    Exposed so tests and analyses can see where ``six_point_clicks`` started: with the same seed
    ``six_point_clicks(mask, spacing, rng) == shift_inward(mask, sample_extreme_points(mask, rng),
    spacing)``.
    """
    m = _as_mask(mask)
    lo, hi = _bbox(m)
    points = []
    for axis, end in PROTOCOL_SLOTS:
        plane = _plane_voxels(m, axis, int(lo[axis] if end == 0 else hi[axis]))
        points.append(plane[rng.integers(len(plane))])
    return np.asarray(points, dtype=int).reshape(6, 3)


def _shift_point(
    m: np.ndarray, point: np.ndarray, axis: int, end: int, shift: int, lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """Move ``point`` up to ``shift`` voxels inward along ``axis``, stepping back into the mask.

    The shift is clamped so the point never passes the mask's centre along that axis (tiny
    lesions); the largest shift that lands inside the mask wins, which is the same as moving the
    full shift and stepping back one voxel at a time. ``point`` itself must be inside the mask,
    so the loop always ends inside.
    """
    p = np.asarray(point, dtype=int).copy()
    if not m[tuple(p)]:
        raise ValueError(f"point {tuple(p)} is not inside the mask")
    centre = (lo[axis] + hi[axis]) / 2.0
    direction = 1 if end == 0 else -1
    room = centre - p[axis] if end == 0 else p[axis] - centre
    shift = int(min(shift, max(0, np.floor(room))))
    for step in range(shift, -1, -1):
        q = p.copy()
        q[axis] += direction * step
        if m[tuple(q)]:
            return q
    return p  # unreachable: step 0 is ``point`` itself


def shift_inward(
    mask: np.ndarray, points: np.ndarray, spacing: Sequence[float],
    inward: int = PROTOCOL_INWARD, inward_thick: int = PROTOCOL_INWARD_THICK,
) -> np.ndarray:
    """The protocol's inward move applied to six protocol-ordered points (``six_point_clicks``)."""
    m = _as_mask(mask)
    pts = np.asarray(points, dtype=int).reshape(6, 3)
    lo, hi = _bbox(m)
    shifts = inward_shifts(spacing, inward, inward_thick)
    out = [
        _shift_point(m, p, axis, end, shifts[axis], lo, hi)
        for p, (axis, end) in zip(pts, PROTOCOL_SLOTS)
    ]
    return np.asarray(out, dtype=int).reshape(6, 3)


def six_point_clicks(
    mask: np.ndarray, spacing: Sequence[float], rng: np.random.Generator,
    inward: int = PROTOCOL_INWARD, inward_thick: int = PROTOCOL_INWARD_THICK,
) -> np.ndarray:
    """The reference six-click protocol: (6, 3) int, ordered z-min, z-max, y-min, y-max, x-min, x-max.

    For each axis end: a random voxel of the mask's extreme plane, moved ``inward`` voxels inward
    (``inward_thick`` on a thick-slice axis), clamped at the mask centre, then stepped back towards
    the extreme voxel until it is inside the mask. A radiologist clicks just inside the border, not
    on it, and that is what the network sees at inference.
    """
    extremes = sample_extreme_points(mask, rng)
    return shift_inward(mask, extremes, spacing, inward, inward_thick)


def ellipsoid_from_clicks(
    shape: Sequence[int], clicks: np.ndarray, spacing: Sequence[float],
    inward: int = PROTOCOL_INWARD, inward_thick: int = PROTOCOL_INWARD_THICK,
) -> np.ndarray:
    """Geometric baseline: the axis-aligned ellipsoid inscribed in the clicks' grown bounding box.

    The bounding box of all clicks (order-free: users' clicks arrive unordered) is grown back
    outward by the protocol's inward shift per side (thick-axis rule included) to estimate the
    lesion's true extent; on a box-like lesion a click may sit on another axis's face, so this can
    overshoot by up to that shift, never undershoot. Centre = box centre; semi-axes = half the grown
    extent + 0.5 voxel: indices are voxel centres, so the extreme voxels reach half a voxel beyond
    them, and the +0.5 makes the on-axis extreme voxels fall inside (and a one-voxel extent still
    gives a voxel). Any method worth shipping must beat this.
    """
    pts = np.asarray(clicks, dtype=float).reshape(-1, 3)
    if len(pts) == 0:
        raise ValueError("need at least one click")
    shifts = inward_shifts(spacing, inward, inward_thick)
    lo = pts.min(axis=0) - shifts
    hi = pts.max(axis=0) + shifts
    centre = (lo + hi) / 2.0
    semi = (hi - lo) / 2.0 + 0.5
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    r2 = ((z - centre[0]) / semi[0]) ** 2 + ((y - centre[1]) / semi[1]) ** 2
    r2 = r2 + ((x - centre[2]) / semi[2]) ** 2
    return r2 <= 1.0


def _deepest_voxel(component: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Voxel of ``component`` farthest (in mm) from its outside; beyond the array counts as outside.

    Ties go to the first voxel in C order, so the result is deterministic.
    """
    lo, hi = _bbox(component)
    crop = component[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1]
    padded = np.pad(crop, 1)
    dist = ndi.distance_transform_edt(padded, sampling=np.asarray(spacing, dtype=float))
    idx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return np.asarray(idx, dtype=int) - 1 + lo


def centre_click(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """(1, 3): the mask voxel deepest inside it in mm, where a one-click user would aim."""
    return _deepest_voxel(_as_mask(mask), spacing).reshape(1, 3)


def _jitter_inside(
    m: np.ndarray, point: np.ndarray, spacing: np.ndarray, jitter_mm: float,
    rng: np.random.Generator, max_tries: int,
) -> np.ndarray:
    """Gaussian jitter of ``jitter_mm`` (per axis, mm), redrawn until the point stays in the mask.

    After ``max_tries`` misses the unjittered point (inside the mask) is kept, so a positive click
    is never placed outside the lesion.
    """
    if jitter_mm <= 0:
        return point
    shape = np.asarray(m.shape)
    for _ in range(max_tries):
        q = np.rint(point + rng.normal(0.0, jitter_mm, 3) / spacing).astype(int)
        if np.all(q >= 0) and np.all(q < shape) and m[tuple(q)]:
            return q
    return point


def perturbed_clicks(
    mask: np.ndarray, spacing: Sequence[float], rng: np.random.Generator, n_clicks: int = 6,
    jitter_mm: float = 2.0, not_extreme_prob: float = 0.25, max_inner_fraction: float = 0.2,
    inward: int = PROTOCOL_INWARD, inward_thick: int = PROTOCOL_INWARD_THICK,
    max_tries: int = 10,
) -> np.ndarray:
    """What real users do: (n_clicks, 3) extreme-ish clicks, in protocol order.

    ``n_clicks`` (1..6) protocol slots are kept (a random subset when fewer than six). Each click
    starts on the extreme plane or, with probability ``not_extreme_prob``, on an inner plane up to
    ``max_inner_fraction`` of the extent deep (a user who misjudged the extreme slice); then gets
    the protocol's inward shift and Gaussian jitter of ``jitter_mm`` kept inside the mask.
    """
    if not 1 <= n_clicks <= 6:
        raise ValueError(f"n_clicks must be in 1..6, got {n_clicks}")
    m = _as_mask(mask)
    sp = np.asarray(spacing, dtype=float).reshape(3)
    lo, hi = _bbox(m)
    shifts = inward_shifts(sp, inward, inward_thick)
    slots = range(6) if n_clicks == 6 else np.sort(rng.choice(6, size=n_clicks, replace=False))
    out = []
    for slot in slots:
        axis, end = PROTOCOL_SLOTS[int(slot)]
        extreme = int(lo[axis] if end == 0 else hi[axis])
        depth = 0
        max_depth = int(np.floor(max_inner_fraction * (hi[axis] - lo[axis])))
        if max_depth >= 1 and rng.random() < not_extreme_prob:
            depth = int(rng.integers(1, max_depth + 1))
        plane = _plane_voxels(m, axis, extreme + depth if end == 0 else extreme - depth)
        if len(plane) == 0:  # an inner plane can miss a multi-component mask: fall back
            plane = _plane_voxels(m, axis, extreme)
        p = plane[rng.integers(len(plane))]
        p = _shift_point(m, p, axis, end, shifts[axis], lo, hi)
        out.append(_jitter_inside(m, p, sp, jitter_mm, rng, max_tries))
    return np.asarray(out, dtype=int).reshape(-1, 3)


@dataclass(frozen=True)
class ClickSimulationConfig:
    """Mixture of click behaviours used to draw the initial clicks of a training sample.

    With probability ``p_protocol`` the exact protocol, with ``p_centre`` one (jittered) centre
    click, otherwise perturbed clicks: fewer than six (uniform 1..5) with probability ``p_fewer``.
    Defaults keep the protocol dominant (the product's contract) while covering sloppy use.
    """

    p_protocol: float = 0.5
    p_centre: float = 0.05
    p_fewer: float = 0.3
    jitter_mm: float = 2.0
    not_extreme_prob: float = 0.25
    max_inner_fraction: float = 0.2
    inward: int = PROTOCOL_INWARD
    inward_thick: int = PROTOCOL_INWARD_THICK
    #: when set, each sample's inward shift (fine axes) is drawn uniformly from
    #: ``inward``..``inward_max``, for annotators who click on the border or deeper inside (on
    #: the dev lesions, 1..9 made border clicks worse, not better: docs/model_report.md)
    inward_max: int | None = None

    def __post_init__(self) -> None:
        for name in ("p_protocol", "p_centre", "p_fewer", "not_extreme_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.p_protocol + self.p_centre > 1.0:
            raise ValueError("p_protocol + p_centre must not exceed 1")
        if self.jitter_mm < 0:
            raise ValueError("jitter_mm must be >= 0")
        if not 0.0 <= self.max_inner_fraction < 0.5:
            raise ValueError("max_inner_fraction must be in [0, 0.5)")
        if self.inward < 0 or self.inward_thick < 0:
            raise ValueError("inward shifts must be >= 0")
        if self.inward_max is not None and self.inward_max < self.inward:
            raise ValueError(f"inward_max ({self.inward_max}) must be >= inward ({self.inward})")


def simulate_initial_clicks(
    mask: np.ndarray, spacing: Sequence[float], rng: np.random.Generator,
    config: ClickSimulationConfig | None = None,
) -> np.ndarray:
    """Initial positive clicks for one training sample: (N, 3) int, 1 <= N <= 6, all in the mask."""
    cfg = config or ClickSimulationConfig()
    m = _as_mask(mask)
    u = rng.random()
    # a range of one value draws nothing, so runs without a range keep their random stream
    inward = (cfg.inward if cfg.inward_max in (None, cfg.inward)
              else int(rng.integers(cfg.inward, cfg.inward_max + 1)))
    if u < cfg.p_protocol:
        return six_point_clicks(m, spacing, rng, inward, cfg.inward_thick)
    if u < cfg.p_protocol + cfg.p_centre:
        sp = np.asarray(spacing, dtype=float).reshape(3)
        c = centre_click(m, sp)[0]
        return _jitter_inside(m, c, sp, cfg.jitter_mm, rng, max_tries=10).reshape(1, 3)
    n = int(rng.integers(1, 6)) if rng.random() < cfg.p_fewer else 6
    return perturbed_clicks(
        m, spacing, rng, n_clicks=n, jitter_mm=cfg.jitter_mm,
        not_extreme_prob=cfg.not_extreme_prob, max_inner_fraction=cfg.max_inner_fraction,
        inward=inward, inward_thick=cfg.inward_thick,
    )


def corrective_click(
    prediction: np.ndarray, reference: np.ndarray, spacing: Sequence[float],
    connectivity: int = 26,
) -> tuple[np.ndarray, bool] | None:
    """Next refinement click: (point (3,), is_positive), or None when prediction equals reference.

    Errors split into false negatives (missed lesion) and false positives (overshoot). The largest
    connected error component of either kind is chosen (ties go to the false negatives, since a
    missed lesion is the worse error) and clicked at its deepest voxel in mm, the least ambiguous
    spot to click. 26-connectivity by default: errors touching diagonally look like one region on
    screen, and 6-connectivity would shatter thin boundary error shells into many small parts.
    A positive click therefore lies in the reference, a negative one outside it.
    """
    if connectivity not in (6, 18, 26):
        raise ValueError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    pred = np.asarray(prediction).astype(bool, copy=False)
    ref = np.asarray(reference).astype(bool, copy=False)
    if pred.shape != ref.shape or pred.ndim != 3:
        raise ValueError(
            f"prediction {pred.shape} and reference {ref.shape} must be equal 3D shapes"
        )
    structure = ndi.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[connectivity])
    best: tuple[int, np.ndarray, bool] | None = None
    for errors, positive in ((ref & ~pred, True), (pred & ~ref, False)):
        if not errors.any():
            continue
        labels, _ = ndi.label(errors, structure=structure)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        k = int(np.argmax(sizes))
        if best is None or sizes[k] > best[0]:
            best = (int(sizes[k]), labels == k, positive)
    if best is None:
        return None
    _, component, positive = best
    return _deepest_voxel(component, spacing), positive


def append_click(positive: np.ndarray, negative: np.ndarray, click: tuple[np.ndarray, bool]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative) point arrays (N, 3) with a ``corrective_click`` result added to the
    side it belongs to."""
    point, is_positive = click
    point = np.asarray(point, dtype=float).reshape(1, 3)
    if is_positive:
        return np.vstack([positive, point]), negative
    return positive, np.vstack([negative, point])
