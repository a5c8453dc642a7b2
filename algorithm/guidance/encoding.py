"""Guidance channels on the model grid: how clicks and a previous mask reach the network.

Channels (the network's contract; a model card lists the ones its weights were trained on):
normalised image; exponentialised geodesic distance from the positive clicks and, as in
DeepIGeoS, from the negative ones (a background click then speaks for the whole region of
similar intensity connected to it, not only for its neighbourhood); Gaussian blobs at positive and
at negative clicks; the previous mask (zeros for a first prediction), so refinement needs no
other architecture. Optional (a card names it, the default set does not): ``clicks_ellipsoid``,
the signed radial coordinate of the ellipsoid inscribed in the positive clicks' box, the
geometric baseline handed to the network as a prior it may grow or cut.

Prompts other than clicks (scribbles, outlines, boxes, RECIST axes) reach the same channels as
seed voxels (``algorithm.methods.base.GridSeeds``): known-tumour voxels join the positive
clicks as geodesic seeds and Gaussian sources, known-background voxels the negative ones. So
one network and one grid serve every prompt kind; a model card's ``prompt_kinds`` says which
kinds its weights were trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from algorithm.guidance.geodesic import exponentialised_geodesic_map, geodesic_distance

CHANNELS = ("image", "geodesic_positive", "clicks_positive", "clicks_negative", "previous_mask",
            "geodesic_negative")
#: the first shipped model's channels, before the negative geodesic map
LEGACY_CHANNELS = CHANNELS[:5]
#: channels a model may add to ``CHANNELS`` (its card lists them; new runs ask for them)
OPTIONAL_CHANNELS = ("clicks_ellipsoid",)
KNOWN_CHANNELS = CHANNELS + OPTIONAL_CHANNELS


def click_voxels(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest voxel of each continuous index that lies inside ``shape``: (M, 3) int."""
    pts = np.rint(np.asarray(points, dtype=float).reshape(-1, 3)).astype(int)
    inside = np.all((pts >= 0) & (pts < np.asarray(shape)), axis=1)
    return pts[inside]


def seed_mask(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    seeds = np.zeros(shape, dtype=bool)
    vox = click_voxels(points, shape)
    seeds[tuple(vox.T)] = True
    return seeds


def gaussian_click_map(points: np.ndarray, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Max over clicks of a Gaussian of ``sigma`` voxels at each continuous click position."""
    out = np.zeros(shape, dtype=np.float32)
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) == 0:
        return out
    axes = [np.arange(n, dtype=np.float32) for n in shape]
    radius = 4.0 * sigma
    for p in pts:
        lo = [max(0, int(np.floor(c - radius))) for c in p]
        hi = [min(n, int(np.ceil(c + radius)) + 1) for c, n in zip(p, shape)]
        if any(a >= b for a, b in zip(lo, hi)):
            continue
        g = [np.exp(-((ax[a:b] - c) ** 2) / (2 * sigma**2)) for ax, a, b, c in zip(axes, lo, hi, p)]
        blob = g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
        view = out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        np.maximum(view, blob, out=view)
    return out


def gaussian_seed_map(seeds: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-d^2 / (2 sigma^2))`` of each voxel's Euclidean distance ``d`` (voxels) to the
    nearest seed voxel: the maximum over a Gaussian at every seed, as ``gaussian_click_map``
    gives for points, but in one distance transform whatever the number of seeds (a whole
    annotated slice has thousands); no cut-off at 4 sigma, where the blobs are below 3.4e-4."""
    if not seeds.any():
        return np.zeros(seeds.shape, np.float32)
    distance = ndimage.distance_transform_edt(~seeds)
    return np.exp(-(distance**2) / (2.0 * sigma**2)).astype(np.float32)


def ellipsoid_prior(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``clip(1 - r, -1, 1)``, float32, where ``r`` is the normalised radius of the axis-aligned
    ellipsoid inscribed in the points' bounding box (semi-axes half the extent + 0.5 voxel, as
    ``training.interaction.ellipsoid_from_clicks`` without the inward shift): 1 at its centre,
    0 on its surface, negative outside, so the network can threshold it at whatever level the
    tumour's true extent lies. Without points, -1 everywhere (nothing inside)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) == 0:
        return np.full(shape, -1.0, np.float32)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, semi = (lo + hi) / 2.0, (hi - lo) / 2.0 + 0.5
    z, y, x = (((np.arange(n, dtype=np.float64) - c) / s) ** 2
               for n, c, s in zip(shape, centre, semi))
    r = np.sqrt(z[:, None, None] + y[None, :, None] + x[None, None, :])
    return np.clip(1.0 - r, -1.0, 1.0).astype(np.float32)


def encode(
    image: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    previous_mask: np.ndarray | None = None,
    *,
    spacing: np.ndarray = np.ones(3),
    intensity_weight: float,
    geodesic_scale: float,
    click_sigma: float,
    channels: Sequence[str] = CHANNELS,
    positive_seeds: np.ndarray | None = None,
    negative_seeds: np.ndarray | None = None,
) -> np.ndarray:
    """Stack the network input, (len(channels), D, H, W) float32; points are continuous grid
    indices and ``spacing`` the grid's relative voxel size (distances are in coarsest-voxel
    units). ``positive_seeds``/``negative_seeds``: (D, H, W) bool voxels that count with the
    positive/negative clicks (None: clicks alone, computed exactly as before seeds existed).
    Only the channels asked for are computed."""
    unknown = set(channels) - set(KNOWN_CHANNELS)
    if unknown:
        raise ValueError(f"unknown guidance channels {sorted(unknown)}; known: {KNOWN_CHANNELS}")
    shape = image.shape

    def geodesic(points: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        seeds = seed_mask(points, shape)
        if extra is not None:
            seeds |= extra
        if not seeds.any():
            return np.zeros(shape, np.float32)
        distance = geodesic_distance(image, seeds, spacing, intensity_weight=intensity_weight)
        return exponentialised_geodesic_map(distance, geodesic_scale * max(shape))

    def gaussian(points: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        blobs = gaussian_click_map(points, shape, click_sigma)
        if extra is None or not extra.any():
            return blobs
        return np.maximum(blobs, gaussian_seed_map(extra, click_sigma))

    make = {
        "image": lambda: image.astype(np.float32, copy=False),
        "geodesic_positive": lambda: geodesic(positive, positive_seeds),
        "geodesic_negative": lambda: geodesic(negative, negative_seeds),
        "clicks_positive": lambda: gaussian(positive, positive_seeds),
        "clicks_negative": lambda: gaussian(negative, negative_seeds),
        "previous_mask": lambda: (np.zeros(shape, np.float32) if previous_mask is None
                                  else previous_mask.astype(np.float32, copy=False)),
        "clicks_ellipsoid": lambda: ellipsoid_prior(positive, shape),
    }
    return np.stack([make[name]() for name in channels])
