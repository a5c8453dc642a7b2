"""Geodesic distance transform on a 3D image: a vectorised raster-scan shortest path.

Graph
-----
Every voxel is a node and is joined to its 26 neighbours. The edge between neighbours ``p`` and
``q`` whose voxel offset is ``delta`` (each component in {-1, 0, 1}) costs::

    sqrt( sum_i (delta_i * spacing_i)**2  +  intensity_weight**2 * (I_p - I_q)**2 )

so ``intensity_weight = 0`` gives a purely spatial distance (the Euclidean length of the shortest
26-connected path, in mm) and larger weights make paths that cross intensity changes expensive.
The geodesic distance of a voxel is the length of its shortest path to any seed (``np.inf`` where
no seed can be reached, i.e. when there are no seeds).

Algorithm
---------
The parallel raster scan of FastGeodis (Asad et al., 2022, "FastGeodis: Fast Generalised Geodesic
Distance Transform", JOSS 7(79), 4532): for each axis and each direction, walk plane by plane; a
plane is updated, all of it at once with tensor operations, from the 3x3 neighbourhood of the plane
before it (the in-line neighbour and 8 diagonals). In-plane moves are edges that the sweeps along
the other axes cover, so every one of the 26 edge directions is relaxed by some sweep; each sweep
only ever lowers a distance to the length of a real path, and a fixed point of all sweeps satisfies
Bellman's equation on the whole graph. Repeating the sweeps therefore converges to the exact
shortest-path distance of the graph above; two sweeps are close on smooth images, and paths that
wind back and forth through a maze need more.

Implementation notes: distances live in float32 tensors padded by one voxel of ``inf`` on every
side, so the 9 candidate predecessors of a whole plane are one strided view (no ``roll`` and no
boundary cases). Sweeps along z and y run on a (z, y, x) layout and sweeps along x on a (z, x, y)
copy, so that every plane's rows are contiguous in memory; the layout switches at most once per
iteration. The same code runs on CUDA with ``device="cuda"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["geodesic_distance", "exponentialised_geodesic_map"]

# A layout is the permutation of the original (z, y, x) axes in which a padded tensor is stored;
# it serves sweeps along the original axes whose planes keep the x or y rows contiguous.
_LAYOUTS: dict[tuple[int, int, int], tuple[int, ...]] = {
    (0, 1, 2): (0, 1),  # (z, y, x): sweeps along z and y
    (0, 2, 1): (0, 2),  # (z, x, y): sweeps along z and x
}


def _validate(image, seeds, spacing, intensity_weight, iterations):
    image = np.asarray(image)
    seeds = np.asarray(seeds)
    if image.ndim != 3:
        raise ValueError(f"image must be a 3D array (z, y, x), got shape {image.shape}")
    if seeds.shape != image.shape:
        raise ValueError(f"seeds shape {seeds.shape} does not match image shape {image.shape}")
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise ValueError(f"image must be numeric, got dtype {image.dtype}")
    if np.iscomplexobj(image):
        raise ValueError("image must be real-valued")
    try:
        spacing_arr = np.asarray(spacing, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"spacing must be 3 positive numbers, got {spacing!r}") from exc
    if spacing_arr.shape != (3,):
        raise ValueError(f"spacing must have 3 values (z, y, x), got {spacing!r}")
    if not np.all(np.isfinite(spacing_arr)) or np.any(spacing_arr <= 0):
        raise ValueError(f"spacing values must be finite and > 0, got {spacing!r}")
    try:
        lam = float(intensity_weight)
    except (TypeError, ValueError):
        lam = float("nan")
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"intensity_weight must be finite and >= 0, got {intensity_weight!r}")
    if not isinstance(iterations, (int, np.integer)) or isinstance(iterations, bool) \
            or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    return image, seeds, spacing_arr, lam, int(iterations)


class _Layout:
    """Padded distance (and scaled image) tensors stored in one axis permutation."""

    def __init__(self, perm, shape, spacing, image_t, lam, device):
        self.perm = perm
        self.shape = tuple(shape[a] for a in perm)
        padded = tuple(n + 2 for n in self.shape)
        self.dist = torch.full(padded, float("inf"), dtype=torch.float32, device=device)
        self.image = None
        if image_t is not None:
            # Pre-scaled by lambda so an edge's intensity term is a plain difference; the padding
            # value is irrelevant (its distances are inf) but must be finite.
            self.image = torch.zeros(padded, dtype=torch.float32, device=device)
            torch.mul(image_t.permute(perm), lam, out=self.interior(self.image))
        self.spacing = [float(spacing[a]) for a in perm]
        self._views = {}

    @staticmethod
    def interior(t):
        return t[1:-1, 1:-1, 1:-1]

    def views(self, k):
        """Per-plane views for a sweep along layout axis ``k`` (cached)."""
        if k not in self._views:
            u, v = (a for a in range(3) if a != k)
            n_u, n_v = self.shape[u], self.shape[v]
            st = self.dist.stride()
            n_planes = self.dist.shape[k]

            def nbhd(t):  # [p] -> (3, 3, n_u, n_v): 3x3 neighbourhood in padded plane p
                return t.as_strided((n_planes, 3, 3, n_u, n_v),
                                    (st[k], st[u], st[v], st[u], st[v])).unbind(0)

            def plane(t):  # [p] -> (n_u, n_v): interior of padded plane p
                return t.as_strided((n_planes, n_u, n_v), (st[k], st[u], st[v]),
                                    st[u] + st[v]).unbind(0)

            # Squared spatial step lengths to the 9 predecessors, shape (3, 3, 1, 1).
            off = np.arange(-1, 2, dtype=np.float64)
            s2 = (self.spacing[k] ** 2 + (off[:, None] * self.spacing[u]) ** 2
                  + (off[None, :] * self.spacing[v]) ** 2)
            dev = self.dist.device
            entry = {
                "d_nb": nbhd(self.dist),
                "d_pl": plane(self.dist),
                "s2": torch.tensor(s2, dtype=torch.float32, device=dev).view(3, 3, 1, 1),
                "s": torch.tensor(np.sqrt(s2), dtype=torch.float32, device=dev).view(3, 3, 1, 1),
                "buf": torch.empty((3, 3, n_u, n_v), dtype=torch.float32, device=dev),
                "min": torch.empty((n_u, n_v), dtype=torch.float32, device=dev),
            }
            if self.image is not None:
                entry["i_nb"] = nbhd(self.image)
                entry["i_pl"] = plane(self.image)
            self._views[k] = entry
        return self._views[k]

    def sweep(self, k):
        """Forward then backward pass along layout axis ``k``."""
        n = self.shape[k]
        if n < 2:
            return
        w = self.views(k)
        d_nb, d_pl, buf, mn = w["d_nb"], w["d_pl"], w["buf"], w["min"]
        flat = buf.view(9, *mn.shape)
        forward = [(q - 1, q) for q in range(2, n + 1)]
        backward = [(q + 1, q) for q in range(n - 1, 0, -1)]
        if self.image is None:  # constant edge costs: the spatial step lengths
            s = w["s"]
            for p, q in forward + backward:
                torch.add(d_nb[p], s, out=buf)
                torch.amin(flat, dim=0, out=mn)
                torch.minimum(d_pl[q], mn, out=d_pl[q])
        else:
            s2, i_nb, i_pl = w["s2"], w["i_nb"], w["i_pl"]
            for p, q in forward + backward:
                torch.sub(i_nb[p], i_pl[q], out=buf)      # lambda * (I_prev - I_cur)
                torch.addcmul(s2, buf, buf, out=buf)      # + spatial step^2
                buf.sqrt_()                               # edge costs
                buf.add_(d_nb[p])                         # candidate distances
                torch.amin(flat, dim=0, out=mn)
                torch.minimum(d_pl[q], mn, out=d_pl[q])


#: Planes up to this many voxels are swept on one CPU thread: intra-op threading of such small
#: tensors costs more than it saves, and several times more on a busy machine (measured 8x).
_SINGLE_THREAD_PLANE = 96 * 96


def _plane_sizes(shape: tuple[int, ...]) -> list[int]:
    return [int(np.prod(shape)) // max(n, 1) for n in shape]


@contextmanager
def _torch_threads(n: int | None):
    """Temporarily use ``n`` intra-op threads (None: leave as is), restored afterwards."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def geodesic_distance(
    image: np.ndarray,
    seeds: np.ndarray,
    spacing: Sequence[float],
    intensity_weight: float = 1.0,
    iterations: int = 2,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Geodesic distance from ``seeds`` over ``image`` (see the module docstring for the graph).

    Args:
        image: 3D float array, axes (z, y, x), already intensity-normalised.
        seeds: 3D bool array of the same shape; True where the distance is 0.
        spacing: voxel size in mm, (z, y, x) order; all > 0.
        intensity_weight: lambda in the edge cost; 0 gives a purely spatial distance.
        iterations: number of full sweeps, each a forward and a backward pass along all 3 axes.
            More sweeps converge to the exact shortest path of the 26-connected graph.
        device: torch device to compute on ("cpu", "cuda", ...).

    Returns:
        float32 array of the image's shape: distance in mm-equivalent units, 0 at seeds and
        ``np.inf`` everywhere when there are no seeds.

    Raises:
        ValueError: non-3D input, shape mismatch, bad spacing, negative weight or iterations < 1,
            or non-finite image values.
    """
    image, seeds, spacing_arr, lam, iterations = _validate(
        image, seeds, spacing, intensity_weight, iterations)
    seeds = seeds.astype(bool, copy=False)
    shape = image.shape
    n_seeds = int(np.count_nonzero(seeds))
    if n_seeds == 0:
        return np.full(shape, np.inf, dtype=np.float32)
    if n_seeds == seeds.size:
        return np.zeros(shape, dtype=np.float32)
    image32 = np.ascontiguousarray(image, dtype=np.float32)
    if lam > 0 and not np.isfinite(image32).all():
        raise ValueError("image contains non-finite values (nan or inf)")

    device = torch.device(device)
    threads = 1 if device.type == "cpu" and max(_plane_sizes(shape)) <= _SINGLE_THREAD_PLANE else None
    with torch.inference_mode(), _torch_threads(threads):
        image_t = None
        if lam > 0:
            image_t = torch.from_numpy(image32).to(device)

        # Axes that actually need sweeping (a length-1 axis has no edges along it).
        axes = [a for a in range(3) if shape[a] > 1]
        layouts: dict[tuple[int, ...], _Layout] = {}

        def get_layout(perm):
            if perm not in layouts:
                layouts[perm] = _Layout(perm, shape, spacing_arr, image_t, lam, device)
            return layouts[perm]

        current = get_layout((0, 1, 2) if 2 not in axes or 1 in axes else (0, 2, 1))
        if n_seeds <= 4096:  # a few clicks: scatter zeros at their padded flat indices
            coords = np.nonzero(seeds)
            flat = np.ravel_multi_index(tuple(coords[a] + 1 for a in current.perm),
                                        current.dist.shape)
            current.dist.view(-1)[torch.from_numpy(flat).to(device)] = 0.0
        else:
            seeds_t = torch.from_numpy(np.ascontiguousarray(seeds)).to(device)
            _Layout.interior(current.dist).masked_fill_(seeds_t.permute(current.perm), 0.0)

        last = None
        for _ in range(iterations):
            todo = list(axes)
            while todo:
                served = [a for a in todo if a in _LAYOUTS[current.perm]]
                if not served:  # switch layout: copy the distances over
                    perm = (0, 2, 1) if current.perm == (0, 1, 2) else (0, 1, 2)
                    nxt = get_layout(perm)
                    _Layout.interior(nxt.dist).copy_(
                        _Layout.interior(current.dist).permute(
                            tuple(current.perm.index(a) for a in perm)))
                    current = nxt
                    continue
                a = next((x for x in served if x != last), served[0])
                current.sweep(current.perm.index(a))
                todo.remove(a)
                last = a

        inv = tuple(current.perm.index(a) for a in range(3))
        out = _Layout.interior(current.dist).permute(inv)
        return out.contiguous().cpu().numpy()


def exponentialised_geodesic_map(distance: np.ndarray, scale: float) -> np.ndarray:
    """``exp(-distance / scale)`` as float32: 1 at seeds, in (0, 1], and 0 where distance is inf."""
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    distance = np.asarray(distance, dtype=np.float32)
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(-distance / np.float32(scale)).astype(np.float32, copy=False)
