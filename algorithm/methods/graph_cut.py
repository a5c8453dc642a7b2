"""A contrast-sensitive graph cut (Boykov-Jolly) over another segmenter's probability.

The data term is the inner segmenter's probability, the smoothness term follows this image's
edges, and clicks are hard constraints. Why: the network tends to draw smooth blobs that spill
past a tumour's visible edge into uncertain surroundings; the minimum cut moves the boundary onto
nearby intensity edges and drops fringes that no edge supports, which an intensity-blind
threshold cannot do. The cut uses scipy's max-flow (Dinic), which keeps GPL max-flow code out of
the product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from algorithm.guidance.encoding import seed_mask
from algorithm.methods.base import GridCase, Segmenter

#: probabilities are clipped to [EPS, 1 - EPS] so every data cost stays finite
EPS = 1e-4
_INT_BUDGET = 2**30  #: scipy's max-flow works on int32 capacities and flows


def contrast_weights(image: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0),
                     smoothness: float = 1.0) -> list[np.ndarray]:
    """Weight of the edge from each voxel to its next neighbour along each axis (array ``a`` has
    the image's shape minus one along axis ``a``): ``smoothness * exp(-beta d^2) / distance``
    with ``d`` the intensity step and ``beta = 1 / (2 mean d^2)``, so the weights adapt to the
    image's own contrast (no intensity scale to tune)."""
    steps = [np.diff(image.astype(np.float64), axis=a) for a in range(image.ndim)]
    mean_sq = np.mean(np.concatenate([(s**2).ravel() for s in steps]))
    beta = 1.0 / (2.0 * mean_sq) if mean_sq > 0 else 0.0
    return [smoothness * np.exp(-beta * s**2) / float(spacing[a]) for a, s in enumerate(steps)]


def min_cut(cost_lesion: np.ndarray, cost_background: np.ndarray, edges: Sequence[np.ndarray],
            lesion_seeds: np.ndarray | None = None,
            background_seeds: np.ndarray | None = None) -> np.ndarray:
    """The labelling (True = lesion) that minimises the voxels' label costs plus the weights of
    the neighbour edges it cuts (``edges`` as ``contrast_weights`` returns them); seeds are
    hard, and a voxel that is both kinds of seed counts as background."""
    shape, n = cost_lesion.shape, cost_lesion.size
    none = np.zeros(shape, bool)
    background = none if background_seeds is None else background_seeds.astype(bool)
    lesion_seeds = (none if lesion_seeds is None else lesion_seeds.astype(bool)) & ~background
    index = np.arange(n).reshape(shape)
    rows, cols, caps = [], [], []
    for axis, weight in enumerate(edges):
        a = np.take(index, np.arange(shape[axis] - 1), axis=axis).ravel()
        b = np.take(index, np.arange(1, shape[axis]), axis=axis).ravel()
        rows += [a, b]
        cols += [b, a]
        caps += [weight.ravel(), weight.ravel()]
    pairwise = np.concatenate(caps) if caps else np.zeros(0)
    # a hard seed's terminal edge must outweigh everything else it could cut instead
    hard = 1.0 + 2.0 * sum(float(w.max(initial=0.0)) for w in edges) + max(
        float(cost_lesion.max()), float(cost_background.max()))
    to_source = np.where(lesion_seeds, hard, np.where(background, 0.0, cost_background))
    to_sink = np.where(background, hard, np.where(lesion_seeds, 0.0, cost_lesion))
    bound = min(to_source.sum(), to_sink.sum()) + pairwise.sum() / 2.0 + hard
    scale = min(1000.0, _INT_BUDGET / max(bound, 1e-12))
    source, sink = n, n + 1
    rows += [np.full(n, source), index.ravel()]
    cols += [index.ravel(), np.full(n, sink)]
    caps += [to_source.ravel(), to_sink.ravel()]
    cap = np.rint(np.concatenate(caps) * scale).astype(np.int64)
    keep = cap > 0
    graph = sparse.csr_matrix(
        (cap[keep].astype(np.int32), (np.concatenate(rows)[keep], np.concatenate(cols)[keep])),
        shape=(n + 2, n + 2))
    flow = maximum_flow(graph, source, sink, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int32)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    side = np.zeros(n + 2, bool)
    side[reached] = True
    return side[:n].reshape(shape)


@dataclass
class GraphCutSegmenter:
    """``inner``'s probability regularised by a graph cut of the given ``smoothness`` (the edge
    weight between two equal neighbours one coarsest voxel apart, in units of log-odds).

    Graph cuts favour short boundaries, so too smooth a cut shrinks the lesion towards the
    clicks; when the cut keeps less than ``min_kept_fraction`` of the inner lesion's volume
    (far less than dropping the fringe of a blob grown to 2-3 times the lesion's volume, which
    is the cut's job), it has collapsed, and the inner probability is returned unchanged."""

    inner: Segmenter
    smoothness: float = 2.0
    name: str = "graph-cut"
    min_kept_fraction: float = 0.2
    image_sigma: float = 0.5  #: grid voxels of denoising before the intensity steps are taken
    output_sigma: float = 0.5  #: grid voxels: a smooth edge for resampling to the image grid

    @property
    def grid_size(self) -> int:
        return self.inner.grid_size

    def predict(self, case: GridCase) -> np.ndarray:
        prob = np.clip(self.inner.predict(case).astype(np.float64), EPS, 1.0 - EPS)
        spacing = np.asarray(case.spacing, dtype=float)
        image = ndimage.gaussian_filter(case.image, self.image_sigma / spacing)
        tumour = seed_mask(case.positive, prob.shape)
        background = seed_mask(case.negative, prob.shape)
        if case.seeds is not None:  # other prompts' known voxels: hard too (not a box's middle)
            tumour, background = tumour | case.seeds.tumour, background | case.seeds.background
        lesion = min_cut(-np.log(prob), -np.log1p(-prob),
                         contrast_weights(image, spacing, self.smoothness),
                         lesion_seeds=tumour, background_seeds=background)
        if lesion.sum() < self.min_kept_fraction * (prob > 0.5).sum():
            return prob.astype(np.float32)
        return ndimage.gaussian_filter(lesion.astype(np.float32), self.output_sigma)

