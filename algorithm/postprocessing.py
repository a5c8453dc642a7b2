"""Clean-up on the image grid: keep what the user pointed at, fill enclosed holes, and give
every click's own voxel, and every voxel another prompt makes known (a scribble's, an outline's,
a box's outside), the label the user gave it."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from algorithm.guidance.encoding import seed_mask
from algorithm.measurements.bounding_box import bounding_box


def keep_clicked_components(mask: np.ndarray, clicks: np.ndarray,
                            anchor_mask: np.ndarray | None = None) -> np.ndarray:
    """Keep the 26-connected components that hold a positive click (or lie within one voxel of
    one), or a voxel of ``anchor_mask`` (idem; a bool array of the mask's shape, for seeds by
    the thousand); if none touches the mask, keep the largest component rather than nothing."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    if n <= 1:
        return mask.astype(bool)
    pts = np.rint(np.asarray(clicks, dtype=float).reshape(-1, 3)).astype(int)
    shape = np.asarray(mask.shape)
    keep: set[int] = set()
    for p in pts:
        lo = np.clip(p - 1, 0, shape)
        hi = np.clip(p + 2, 0, shape)
        window = labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        keep.update(int(v) for v in np.unique(window) if v)
    if anchor_mask is not None and anchor_mask.any():
        near = ndimage.binary_dilation(anchor_mask, structure=np.ones((3, 3, 3), bool))
        keep.update(int(v) for v in np.unique(labels[near]) if v)
    if not keep:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        keep = {int(sizes.argmax())}
    return np.isin(labels, sorted(keep))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    return ndimage.binary_fill_holes(mask)


def postprocess(mask: np.ndarray, positive_clicks: np.ndarray,
                negative_clicks: np.ndarray | None = None, *,
                tumour_seeds: np.ndarray | None = None,
                background_seeds: np.ndarray | None = None,
                anchors: np.ndarray | None = None) -> np.ndarray:
    """Why the click voxels are set outright: the segmenters honour clicks on the model grid,
    which interpolation back onto a coarser image grid can blur away, and a click whose voxel
    keeps the wrong label looks ignored (a user then clicks the same spot again, to no effect).
    A voxel clicked both ways is background, as in the graph cut; filled holes never cover a
    background click.

    Both clean-ups run on the mask's bounding box grown by one voxel, which gives exactly the
    whole array's answer (components and the background reaching the border are the same seen
    from there) at a fraction of the cost when the lesion is small in its region.

    ``tumour_seeds`` and ``background_seeds`` (bool, the mask's shape) are honoured like clicks;
    ``anchors`` ((P, 3) points, e.g. a box's likely middle) also mark components to keep, but
    set no voxel."""
    background = seed_mask(np.zeros((0, 3)) if negative_clicks is None else negative_clicks,
                           mask.shape)
    positive = seed_mask(positive_clicks, mask.shape)
    if background_seeds is not None:
        background |= background_seeds
    if tumour_seeds is not None:
        positive |= tumour_seeds
    out = (np.asarray(mask, dtype=bool) | positive) & ~background
    box = _padded_box(out)
    if box is None:
        return out
    offset = np.array([s.start for s in box], dtype=float)
    # rounded before the shift: rint rounds halves to even, so rint(p - 1) may not be rint(p) - 1
    clicks = np.rint(np.asarray(positive_clicks, dtype=float).reshape(-1, 3)) - offset
    result = np.zeros_like(out)
    anchor = None
    if tumour_seeds is not None or anchors is not None:  # as a mask: seeds come by the thousand
        more = seed_mask(np.zeros((0, 3)) if anchors is None else anchors, mask.shape)
        anchor = (positive | more)[box]
    result[box] = (fill_holes(keep_clicked_components(out[box], clicks, anchor))
                   & ~background[box])
    return result


def _padded_box(mask: np.ndarray, pad: int = 1) -> tuple[slice, ...] | None:
    """The mask's bounding box grown by ``pad`` voxels (clamped to the array); None if empty."""
    if not mask.any():
        return None
    return tuple(slice(max(s.start - pad, 0), min(s.stop + pad, n))
                 for s, n in zip(bounding_box(mask), mask.shape))
