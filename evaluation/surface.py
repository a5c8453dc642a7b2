"""Boundary metrics: 95th-percentile Hausdorff distance, ASSD and normalised surface dice (NSD).

Conventions follow Metrics Reloaded (``BinaryPairwiseMeasures``): the surface of a mask is its
inner boundary, the foreground voxels with at least one 6-connected background neighbour (voxels
on the image border count as surface); distances are Euclidean between voxel centres in mm, from
scipy's exact ``distance_transform_edt`` with ``sampling=spacing``, so anisotropic voxels are
honoured. HD95 is the larger of the two directed 95th percentiles (numpy's linear interpolation);
ASSD averages all distances of both directions together; NSD is the fraction of surface voxels of
both masks that lie within the tolerance (inclusive) of the other surface.

Empty masks: both empty gives HD95 = ASSD = 0 and NSD = 1; exactly one empty gives NSD = 0 and
HD95 = ASSD = the largest distance possible in the image (its voxel-centre diagonal), a finite
worst case instead of infinity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

NSD_TOLERANCE_MM = 2.0
HD_PERCENTILE = 95.0
# Distances are computed in float64 from products of spacings; without a little slack a distance
# meant to equal the tolerance (e.g. 10 x 0.2 mm) can land 1 ulp above it and be excluded.
_TOLERANCE_SLACK = 1e-9


def surface_voxels(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with a 6-connected (face) neighbour in the background or off the image."""
    mask = np.asarray(mask, dtype=bool)
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def max_distance_mm(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """The longest voxel-centre-to-voxel-centre distance in an image: the worst possible HD."""
    extent = (np.asarray(shape, dtype=float) - 1.0) * np.asarray(spacing, dtype=float)
    return float(np.sqrt(np.sum(extent**2)))


def _union_box(a: np.ndarray, b: np.ndarray, margin: int = 1) -> tuple[slice, ...]:
    """Bounding box of both masks plus a margin, clipped to the image.

    Cropping leaves every distance unchanged (all surface voxels are inside) and keeps the surface
    identical: inside the image the margin supplies the background neighbours, at the image border
    the crop border coincides with it.
    """
    box = ndimage.find_objects((a | b).astype(np.uint8))[0]
    return tuple(
        slice(max(s.start - margin, 0), min(s.stop + margin, n)) for s, n in zip(box, a.shape)
    )


def directed_surface_distances(
    prediction: np.ndarray, reference: np.ndarray, spacing: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each prediction surface voxel to the reference surface, and back."""
    pred = np.asarray(prediction, dtype=bool)
    ref = np.asarray(reference, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"shape mismatch: prediction {pred.shape} vs reference {ref.shape}")
    if len(spacing) != pred.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match a {pred.ndim}-D mask")
    if not pred.any() or not ref.any():
        raise ValueError("surface distances need two non-empty masks")
    box = _union_box(pred, ref)
    pred_surface = surface_voxels(pred[box])
    ref_surface = surface_voxels(ref[box])
    sampling = [float(s) for s in spacing]
    to_ref = ndimage.distance_transform_edt(~ref_surface, sampling=sampling)[pred_surface]
    to_pred = ndimage.distance_transform_edt(~pred_surface, sampling=sampling)[ref_surface]
    return to_ref, to_pred


def hausdorff_percentile(
    pred_to_ref: np.ndarray, ref_to_pred: np.ndarray, percentile: float = HD_PERCENTILE
) -> float:
    """Symmetric percentile Hausdorff: the larger directed percentile (linear interpolation)."""
    return float(
        max(np.percentile(pred_to_ref, percentile), np.percentile(ref_to_pred, percentile))
    )


def average_symmetric_surface_distance(pred_to_ref: np.ndarray, ref_to_pred: np.ndarray) -> float:
    """ASSD: mean over the surface voxels of both masks of the distance to the other surface."""
    return float((pred_to_ref.sum() + ref_to_pred.sum()) / (pred_to_ref.size + ref_to_pred.size))


def normalised_surface_dice(
    pred_to_ref: np.ndarray, ref_to_pred: np.ndarray, tolerance_mm: float = NSD_TOLERANCE_MM
) -> float:
    """NSD: share of both surfaces' voxels within ``tolerance_mm`` (inclusive) of the other."""
    limit = tolerance_mm * (1.0 + _TOLERANCE_SLACK)
    within = np.count_nonzero(pred_to_ref <= limit) + np.count_nonzero(ref_to_pred <= limit)
    return float(within / (pred_to_ref.size + ref_to_pred.size))


@dataclass(frozen=True)
class SurfaceScores:
    hd95_mm: float
    assd_mm: float
    nsd: float


def surface_scores(
    prediction: np.ndarray,
    reference: np.ndarray,
    spacing: Sequence[float],
    tolerance_mm: float = NSD_TOLERANCE_MM,
    percentile: float = HD_PERCENTILE,
) -> SurfaceScores:
    """HD95, ASSD and NSD of two masks with the empty-mask rules of this module."""
    pred = np.asarray(prediction, dtype=bool)
    ref = np.asarray(reference, dtype=bool)
    pred_empty, ref_empty = not pred.any(), not ref.any()
    if pred_empty and ref_empty:
        return SurfaceScores(hd95_mm=0.0, assd_mm=0.0, nsd=1.0)
    if pred_empty or ref_empty:
        worst = max_distance_mm(ref.shape, spacing)
        return SurfaceScores(hd95_mm=worst, assd_mm=worst, nsd=0.0)
    to_ref, to_pred = directed_surface_distances(pred, ref, spacing)
    return SurfaceScores(
        hd95_mm=hausdorff_percentile(to_ref, to_pred, percentile),
        assd_mm=average_symmetric_surface_distance(to_ref, to_pred),
        nsd=normalised_surface_dice(to_ref, to_pred, tolerance_mm),
    )
