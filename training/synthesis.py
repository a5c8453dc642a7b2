"""Synthetic lesions in real anatomy: the training data that real lesion collections cannot supply.

Real lesion masks are scarce, and the development CT is lung or pre-windowed, so soft-tissue
lesions in Hounsfield units must be synthesised. ``generate_lesion_sample`` inserts one lesion
into a real background volume:

* shape: a union of 1-4 randomly rotated, elongated ellipsoidal lobes whose radius is perturbed by
  a random sum of spherical harmonics (degree 2..``harmonic_degree``: lobulation), displaced by a
  smooth random field (irregularity) and a fine one (rough, infiltrating edge);
* margin: a soft occupancy that falls from 1 to 0 over ``2 * margin`` mm across the surface
  (sharp capsule to infiltrating boundary); partial volume comes from rendering at fine
  resolution, box-averaging onto the image grid (slice thickness on coarse axes: a thick slice
  *is* the average of thin ones) and a small in-plane point-spread blur;
* texture: smooth heterogeneity, necrotic core with irregular border, thin septa across it and an
  enhancing rim, each optional;
* intensities: CT in HU (solid part 10..80 HU, offset from the local background by a contrast
  drawn from barely visible to strong, necrosis 0..20 HU, rim enhancement), MR relative to the
  local background (a heavily smoothed version of it, which also carries the scanner's bias field)
  in units of the image's tissue intensity spread, hyper- or hypo-intense, with a mild bias ramp
  across the lesion; noise is synthesised with a correlation length and an amplitude calibrated on
  the local background's high-pass residual, so the lesion is as noisy as its surroundings.

Mask definition (exact, tested): ``mask = occupancy >= 0.5`` where ``occupancy`` is the lesion's
final partial-volume occupancy on the image grid; voxels with occupancy 0 are bit-identical to
the background, so every changed voxel has occupancy > 0 (a thin band outside the mask changes too,
as in a real partial-volume edge).

Conventions: arrays (z, y, x), spacing (z, y, x) mm, ``numpy.random.Generator`` for all randomness
(same seed, same sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.special import sph_harm_y

Modality = Literal["CT", "MR"]


@dataclass(frozen=True)
class LesionSynthesisConfig:
    """Ranges the generator samples from (uniform unless noted). Defaults aim at the variety of
    oncological lesions on CT/MR: 6-45 mm, round to lobulated/irregular, homogeneous to necrotic."""

    # size and shape
    diameter_mm: tuple[float, float] = (6.0, 45.0)  # main lobe diameter, log-uniform
    n_lobes: tuple[int, int] = (1, 4)
    elongation: tuple[float, float] = (0.6, 1.0)  # short/long semi-axis ratio
    harmonic_degree: int = 6
    harmonic_amplitude: tuple[float, float] = (0.0, 0.15)  # rms relative radius perturbation
    deformation: tuple[float, float] = (0.0, 0.15)  # smooth displacement, fraction of radius
    roughness_mm: tuple[float, float] = (0.0, 0.6)  # fine-scale edge irregularity
    margin_mm: tuple[float, float] = (0.2, 1.5)  # half-width of the soft margin
    # texture
    heterogeneity: tuple[float, float] = (0.0, 1.0)  # scales the texture amplitude below
    texture_scale_mm: tuple[float, float] = (2.5, 6.0)
    p_necrosis: float = 0.35
    necrosis_depth: tuple[float, float] = (0.25, 0.6)  # fraction of the lesion's max depth
    min_necrosis_diameter_mm: float = 12.0
    p_septa: float = 0.35  # given necrosis
    p_rim: float = 0.3  # without necrosis; 0.7 with it
    rim_mm: tuple[float, float] = (1.0, 3.0)
    # CT (HU)
    ct_lesion_hu: tuple[float, float] = (10.0, 80.0)
    ct_contrast_hu: tuple[float, float] = (6.0, 70.0)  # |solid - background|, log-uniform
    ct_necrosis_hu: tuple[float, float] = (0.0, 20.0)
    ct_rim_hu: tuple[float, float] = (10.0, 50.0)
    ct_texture_hu: float = 12.0  # texture amplitude at heterogeneity 1
    ct_clip_hu: tuple[float, float] = (-30.0, 180.0)  # lesion model values before noise
    ct_air_hu: float = -500.0  # body = above this (lungs filled in per slice)
    ct_tissue_hu: tuple[float, float] = (-200.0, 250.0)  # fat .. enhanced vessels
    ct_centre_hu: tuple[float, float] = (-50.0, 200.0)  # centre in soft tissue, not in fat
    # MR (in units of the body's intensity spread p95 - p5)
    mr_contrast: tuple[float, float] = (0.05, 0.6)  # log-uniform
    mr_p_hyper: float = 0.6
    mr_necrosis: tuple[float, float] = (0.15, 0.5)  # hypo- (70 %) or hyper-intense core
    mr_rim: tuple[float, float] = (0.1, 0.5)
    mr_texture: float = 0.1
    mr_bias: tuple[float, float] = (0.0, 0.2)  # relative lesion contrast ramp across the lesion
    mr_background_fraction: float = 0.1  # body = above min + fraction * (p99 - min)
    # partial volume, placement
    fine_spacing_mm: float = 1.0  # coarse axes are rendered at about this spacing
    max_supersample: int = 8
    psf_sigma_vox: float = 0.4  # in-plane blur of the occupancy and lesion pattern
    min_tissue_fraction: float = 0.9  # of the lesion footprint in tissue, not air/lung/bone
    avoid_margin_mm: float = 3.0
    max_placement_tries: int = 60

    def __post_init__(self) -> None:
        for name in ("p_necrosis", "p_septa", "p_rim", "mr_p_hyper", "min_tissue_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.diameter_mm[0] <= 0 or self.diameter_mm[0] > self.diameter_mm[1]:
            raise ValueError("diameter_mm must be an increasing positive range")
        if self.margin_mm[0] <= 0:
            raise ValueError("margin_mm must be positive")


@dataclass
class SynthesisResult:
    """A synthetic sample. ``occupancy`` lives on ``box`` (slices into the image) to save memory."""

    image: np.ndarray
    mask: np.ndarray
    box: tuple[slice, slice, slice]
    occupancy_box: np.ndarray
    centre: np.ndarray  # voxel index of the lesion frame origin
    params: dict = field(default_factory=dict)

    @property
    def occupancy(self) -> np.ndarray:
        full = np.zeros(self.mask.shape, np.float32)
        full[self.box] = self.occupancy_box
        return full


# ----------------------------------------------------------------------------------------------
# random fields and shape


def _log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


class _SmoothField:
    """Unit-variance smooth random field over a box in mm (Gaussian-filtered noise on a coarse
    lattice, linearly interpolated), so it can be evaluated on any grid inside the box."""

    def __init__(self, lo_mm: np.ndarray, hi_mm: np.ndarray, scale_mm: float,
                 rng: np.random.Generator) -> None:
        self.step = scale_mm / 2.0
        self.lo = np.asarray(lo_mm, float) - 2 * self.step
        span = np.asarray(hi_mm, float) + 2 * self.step - self.lo
        n = np.ceil(span / self.step).astype(int) + 1
        noise = ndi.gaussian_filter(rng.standard_normal(tuple(n)), 2.0, mode="wrap")
        self.grid = (noise / (noise.std() + 1e-12)).astype(np.float32)

    def __call__(self, axes_mm: Sequence[np.ndarray]) -> np.ndarray:
        coords = [(a - lo) / self.step for a, lo in zip(axes_mm, self.lo)]
        mesh = np.meshgrid(*coords, indexing="ij", sparse=False)
        return ndi.map_coordinates(self.grid, mesh, order=1, mode="nearest").astype(np.float32)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


class _HarmonicRadius:
    """Relative radius 1 + sum of random real spherical harmonics, tabulated on (theta, phi)."""

    N_THETA, N_PHI = 65, 129

    def __init__(self, degree: int, amplitude: float, rng: np.random.Generator) -> None:
        theta = np.linspace(0, np.pi, self.N_THETA)[:, None]
        phi = np.linspace(-np.pi, np.pi, self.N_PHI)[None, :]
        table = np.zeros((self.N_THETA, self.N_PHI))
        for n in range(2, max(2, degree) + 1):
            for m in range(0, n + 1):
                y = sph_harm_y(n, m, theta, phi)
                a, b = rng.standard_normal(2) * n ** -1.6
                table += a * y.real + (b * y.imag if m else 0.0)
        table *= amplitude / (np.sqrt(np.mean(table**2)) + 1e-12)
        self.table = (1.0 + table).clip(0.5, 1.6).astype(np.float32)

    def __call__(self, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        ti = np.arccos(np.clip(cos_theta, -1, 1)) * ((self.N_THETA - 1) / np.pi)
        pi = (phi + np.pi) * ((self.N_PHI - 1) / (2 * np.pi))
        return ndi.map_coordinates(self.table, [ti, pi], order=1, mode="nearest")


@dataclass
class _Lobe:
    centre: np.ndarray  # mm
    rotation: np.ndarray  # columns: lobe axes in image (z, y, x)
    radii: np.ndarray  # mm
    harmonic: _HarmonicRadius

    def distance(self, pts: np.ndarray) -> np.ndarray:
        """Approximate signed distance in mm (negative inside), measured along the ray from the
        lobe centre: |p| * (1 - s / rho) with rho the ellipsoidal radius and s the harmonic one."""
        p = pts - self.centre
        local = p @ self.rotation
        u = local / self.radii
        rho = np.sqrt(np.sum(u * u, axis=-1))
        norm = np.sqrt(np.sum(p * p, axis=-1))
        safe = np.maximum(rho, 1e-6)
        s = self.harmonic(u[..., 0] / safe, np.arctan2(u[..., 1], u[..., 2]))
        ray_radius = np.where(rho > 1e-6, norm / safe, float(np.min(self.radii)))
        return (rho - s) * ray_radius

    def bound(self) -> float:
        return float(np.linalg.norm(self.centre) + 1.6 * self.radii.max())


class _Shape:
    """Lesion geometry in mm around the origin: union of lobes + smooth and fine displacements."""

    def __init__(self, rng: np.random.Generator, cfg: LesionSynthesisConfig, radius: float):
        self.radius = radius
        n_lobes = int(rng.integers(cfg.n_lobes[0], cfg.n_lobes[1] + 1))
        amp = _uniform(rng, cfg.harmonic_amplitude)
        self.lobes = []
        for i in range(n_lobes):
            r = radius if i == 0 else radius * rng.uniform(0.35, 0.75)
            radii = r * np.array([1.0, *rng.uniform(*cfg.elongation, size=2)])
            centre = np.zeros(3)
            if i:
                main = self.lobes[0]
                direction = rng.standard_normal(3)
                direction /= np.linalg.norm(direction)
                reach = 1.0 / np.linalg.norm((direction @ main.rotation) / main.radii)
                centre = direction * reach * rng.uniform(0.4, 0.8)
            self.lobes.append(_Lobe(centre, _random_rotation(rng), radii,
                                    _HarmonicRadius(cfg.harmonic_degree, amp, rng)))
        self.deform_amp = radius * _uniform(rng, cfg.deformation)
        self.rough_amp = min(_uniform(rng, cfg.roughness_mm), 0.3 * radius)
        self.margin = _uniform(rng, cfg.margin_mm)
        self.extent = max(lobe.bound() for lobe in self.lobes)
        reach = self.extent + 3 * (self.deform_amp + self.rough_amp) + self.margin + 2.0
        lo, hi = np.full(3, -reach), np.full(3, reach)
        self.deform = _SmoothField(lo, hi, max(2.0, radius * rng.uniform(0.4, 0.8)), rng)
        self.rough = _SmoothField(lo, hi, rng.uniform(1.5, 3.0), rng)
        self.reach = reach

    def signed_distance(self, axes_mm: Sequence[np.ndarray]) -> np.ndarray:
        mesh = np.stack(np.meshgrid(*axes_mm, indexing="ij"), axis=-1).astype(np.float32)
        d = np.min([lobe.distance(mesh) for lobe in self.lobes], axis=0)
        if self.deform_amp > 0:
            d = d + self.deform_amp * np.clip(self.deform(axes_mm), -3, 3)
        if self.rough_amp > 0:
            d = d + self.rough_amp * np.clip(self.rough(axes_mm), -3, 3)
        return d.astype(np.float32)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ----------------------------------------------------------------------------------------------
# rendering on the image grid


@dataclass
class _Rendered:
    """Lesion maps on a box of the image grid, origin voxel at index ``-lo`` of the box.

    Each map is the box-average over fine sub-voxels of (soft occupancy x component), so the final
    lesion intensity is an exact partial-volume mix: solid = occ - nec, necrosis = nec, etc.
    """

    lo: np.ndarray  # box start relative to the centre voxel
    occ: np.ndarray
    nec: np.ndarray
    rim: np.ndarray
    tex: np.ndarray
    axes_mm: list[np.ndarray]  # voxel-centre coordinates of the box, relative to the centre voxel
    info: dict


def _supersampling(spacing: np.ndarray, cfg: LesionSynthesisConfig) -> np.ndarray:
    target = max(float(spacing.min()), cfg.fine_spacing_mm)
    return np.clip(np.round(spacing / target), 1, cfg.max_supersample).astype(int)


def _render(shape: _Shape, spacing: np.ndarray, rng: np.random.Generator,
            cfg: LesionSynthesisConfig) -> _Rendered | None:
    """Render ``shape`` (and its texture) onto the voxel grid around a centre voxel, or None if
    the shape falls apart into several pieces (a lesion is one connected object)."""
    # pass 1: where is the shape? coarse lattice, then a tight box on the image grid
    g = float(np.clip(shape.radius / 4.0, 0.4, 1.5))
    axis = np.arange(-shape.reach, shape.reach + g, g)
    d0 = shape.signed_distance([axis, axis, axis])
    near = np.argwhere(d0 < shape.margin + 2.0 * g)
    if len(near) == 0:
        return None
    lo_mm = axis[near.min(0)] - 2 * g
    hi_mm = axis[near.max(0)] + 2 * g
    psf_pad = np.where(_supersampling(spacing, cfg) > 1, 0, 2)
    lo = np.floor(lo_mm / spacing).astype(int) - psf_pad - 1
    hi = np.ceil(hi_mm / spacing).astype(int) + psf_pad + 1
    k = _supersampling(spacing, cfg)
    fine_axes = []
    for a in range(3):
        idx = np.arange(lo[a], hi[a] + 1)
        sub = (np.arange(k[a]) + 0.5) / k[a] - 0.5
        fine_axes.append(((idx[:, None] + sub[None, :]) * spacing[a]).ravel().astype(np.float32))
    fine_sp = spacing / k

    # pass 2: fine-resolution soft occupancy and components
    d = shape.signed_distance(fine_axes)
    w = shape.margin
    alpha = _smoothstep((w - d) / (2 * w))
    inside = d <= 0
    depth = ndi.distance_transform_edt(np.pad(inside, 1), sampling=fine_sp)[1:-1, 1:-1, 1:-1]
    max_depth = float(depth.max())
    info: dict = {"margin_mm": w, "max_depth_mm": max_depth, "n_lobes": len(shape.lobes)}

    region_lo, region_hi = [a.min() for a in fine_axes], [a.max() for a in fine_axes]
    tex_scale = _uniform(rng, cfg.texture_scale_mm)
    tex = _SmoothField(region_lo, region_hi, tex_scale, rng)(fine_axes)
    nec = np.zeros_like(alpha)
    has_necrosis = 2 * max_depth >= cfg.min_necrosis_diameter_mm and rng.random() < cfg.p_necrosis
    if has_necrosis:
        t = _uniform(rng, cfg.necrosis_depth) * max_depth
        wobble = _SmoothField(region_lo, region_hi, rng.uniform(2.0, 5.0), rng)(fine_axes)
        nec = _smoothstep((depth - t + 0.25 * t * np.clip(wobble, -2, 2)) / 1.5 + 0.5)
        if rng.random() < cfg.p_septa:
            sep_scale = rng.uniform(3.0, 7.0)
            sep = _SmoothField(region_lo, region_hi, sep_scale, rng)(fine_axes)
            thickness = rng.uniform(0.6, 1.5)
            nec = nec * (1.0 - np.exp(-0.5 * (sep * sep_scale / thickness) ** 2))
            info["septa"] = True
    info["necrosis"] = bool(has_necrosis)
    rim = np.zeros_like(alpha)
    if rng.random() < (0.7 if has_necrosis else cfg.p_rim):
        rim_w = _uniform(rng, cfg.rim_mm)
        # real enhancing rims are irregular and nodular: thickness varies 0.4-1.6x around
        lumpy = _SmoothField(region_lo, region_hi, rng.uniform(3.0, 8.0), rng)(fine_axes)
        thickness = rim_w * (1.0 + 0.4 * np.clip(lumpy, -1.5, 1.5))
        rim = np.exp(-0.5 * (depth / thickness) ** 2).astype(np.float32)
        info["rim_mm"] = rim_w

    def down(x: np.ndarray) -> np.ndarray:
        """Box-average fine sub-voxels onto the image grid (slice profile), then in-plane PSF."""
        n = [hi[a] - lo[a] + 1 for a in range(3)]
        y = x.reshape(n[0], k[0], n[1], k[1], n[2], k[2]).mean(axis=(1, 3, 5))
        sigma = np.where(k > 1, 0.0, cfg.psf_sigma_vox)
        return ndi.gaussian_filter(y, sigma, truncate=3.0, mode="constant").astype(np.float32)

    occ = down(alpha)
    occ[occ < 1e-4] = 0.0
    keep = occ > 0
    maps = [np.where(keep, down(alpha * c), 0.0).astype(np.float32) for c in (nec, rim, tex)]
    labels, n_parts = ndi.label(occ >= 0.5)
    if n_parts != 1:
        return None
    axes_mm = [np.arange(lo[a], hi[a] + 1) * spacing[a] for a in range(3)]
    return _Rendered(lo, occ, maps[0], maps[1], maps[2], axes_mm, info)


# ----------------------------------------------------------------------------------------------
# background analysis and placement


def body_mask(background: np.ndarray, modality: Modality,
              config: LesionSynthesisConfig | None = None) -> np.ndarray:
    """Inside-the-body mask: above the air threshold (CT) or a background fraction (MR), largest
    connected part (drops the couch, noise specks), holes filled per axial slice (lungs, ventricles:
    the trachea opens the lungs to the FOV edge in 3D, but not within a slice). Cache it per
    background when drawing many samples."""
    cfg = config or LesionSynthesisConfig()
    bg = np.asarray(background)
    if modality == "CT":
        fg = bg > cfg.ct_air_hu
    else:
        lo, hi = float(bg.min()), float(np.percentile(bg[:: max(1, bg.size // 2_000_000)], 99))
        fg = bg > lo + cfg.mr_background_fraction * (hi - lo)
    labels, n = ndi.label(fg)
    if n > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        fg = labels == int(np.argmax(sizes))
    for z in range(fg.shape[0]):
        fg[z] = ndi.binary_fill_holes(fg[z])
    return fg


def _centre_candidates(bg: np.ndarray, tissue: np.ndarray, avoid: np.ndarray | None,
                       modality: Modality, cfg: LesionSynthesisConfig) -> np.ndarray:
    """Flat indices where a lesion centre may go: tissue outside ``avoid``; for CT soft tissue
    (organs, muscle, nodes) rather than fat, falling back to any tissue."""
    ok = tissue if avoid is None else tissue & ~avoid
    if modality == "CT":
        soft = ok & (bg >= cfg.ct_centre_hu[0]) & (bg <= cfg.ct_centre_hu[1])
        if soft.any():
            ok = soft
    return np.flatnonzero(ok)


def _tissue_mask(bg: np.ndarray, body: np.ndarray, modality: Modality,
                 cfg: LesionSynthesisConfig) -> np.ndarray:
    if modality == "CT":
        return body & (bg >= cfg.ct_tissue_hu[0]) & (bg <= cfg.ct_tissue_hu[1])
    return body


def _dilate_mm(mask: np.ndarray, spacing: np.ndarray,
               radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask grown by ``radius_mm`` on a padded array, the per-axis padding)."""
    pad = np.ceil(max(radius_mm, 0.0) / spacing).astype(int) + 1
    padded = np.pad(mask, [(p, p) for p in pad])
    dist = ndi.distance_transform_edt(~padded, sampling=spacing)
    return dist <= max(radius_mm, 0.0), pad


def _place(
    rendered: _Rendered, spacing: np.ndarray, body: np.ndarray, tissue: np.ndarray,
    candidates: np.ndarray, avoid: np.ndarray | None, rng: np.random.Generator,
    cfg: LesionSynthesisConfig,
) -> tuple[np.ndarray, tuple[slice, slice, slice]] | None:
    """A centre voxel where the lesion footprint lies inside the body, mostly in tissue and at
    least ``avoid_margin_mm`` from ``avoid``; None after ``max_placement_tries`` misses."""
    shape = np.asarray(body.shape)
    n = np.asarray(rendered.occ.shape)
    support = rendered.occ > 0
    if avoid is not None:
        grown, pad = _dilate_mm(support, spacing, cfg.avoid_margin_mm)
    for _ in range(cfg.max_placement_tries):
        centre = np.asarray(np.unravel_index(candidates[rng.integers(len(candidates))], body.shape))
        start = centre + rendered.lo
        if np.any(start < 0) or np.any(start + n > shape):
            continue
        box = tuple(slice(s, s + m) for s, m in zip(start, n))
        if not body[box][support].all():
            continue
        if tissue[box][support].mean() < cfg.min_tissue_fraction:
            continue
        if avoid is not None:
            a0 = start - pad
            a1 = start + n + pad
            c0, c1 = np.maximum(a0, 0), np.minimum(a1, shape)
            region = avoid[tuple(slice(x, y) for x, y in zip(c0, c1))]
            sub = grown[tuple(slice(x - s, y - s) for x, y, s in zip(c0, c1, a0))]
            if np.any(region & sub):
                continue
        return centre, box  # type: ignore[return-value]
    return None


def _noise_residual(x: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """High-pass residual used to measure noise: x minus an in-plane Gaussian of 1 voxel (no
    smoothing across coarse axes, whose neighbours hold different anatomy)."""
    thick = spacing >= 2.0 * spacing.min()
    sigma = np.where(thick, 0.0, 1.0)
    return x - ndi.gaussian_filter(x, sigma, mode="nearest")


def _robust_std(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _flat_residual(x: np.ndarray, sp: np.ndarray,
                   where: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(high-pass residual, selection of the flattest 30 % of ``where`` by gradient magnitude)."""
    thick = sp >= 2.0 * sp.min()
    grad = ndi.gaussian_gradient_magnitude(x, np.where(thick, 0.0, 1.5), mode="nearest")
    sel = np.ones(x.shape, bool) if where is None else np.asarray(where, bool)
    if not sel.any():
        return np.zeros_like(x), sel
    return _noise_residual(x, sp), sel & (grad <= np.percentile(grad[sel], 30))


def noise_texture(
    x: np.ndarray, spacing: Sequence[float], where: np.ndarray | None = None,
) -> tuple[float, float]:
    """(noise level, grain): robust std and lag-1 in-plane correlation of the high-pass residual
    over the flattest 30 % of ``where``.

    Restricting to low-gradient voxels keeps anatomical edges (cortex, organ borders) from being
    read as noise, so a smooth template (MNI152) gets a smooth lesion; the lag-1 correlation
    captures the grain (reconstruction kernel, zero-filled MR interpolation). Synthetic noise is
    calibrated with this same measure, which cancels the selection's bias.
    """
    sp = np.asarray(spacing, dtype=float).reshape(3)
    x = np.asarray(x, np.float32)
    r, flat = _flat_residual(x, sp, where)
    if not flat.any():
        return 0.0, 0.0
    level = _robust_std(r[flat])
    corrs = []
    for axis in np.flatnonzero(sp < 2.0 * sp.min()):
        n = x.shape[axis]
        if n < 2:
            continue
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(0, n - 1), slice(1, n)
        pair = flat[tuple(a)] & flat[tuple(b)]
        if pair.sum() < 20:
            continue
        u, v = r[tuple(a)][pair], r[tuple(b)][pair]
        corrs.append(float(np.sum(u * v) / (np.sqrt(np.sum(u * u) * np.sum(v * v)) + 1e-12)))
    return level, float(np.mean(corrs)) if corrs else 0.0


def noise_level(x: np.ndarray, spacing: Sequence[float], where: np.ndarray | None = None) -> float:
    """Robust noise level of ``x`` (see ``noise_texture``)."""
    return noise_texture(x, spacing, where)[0]


_GRAIN_SIGMAS = np.linspace(0.0, 2.0, 11)


@lru_cache(maxsize=8)
def _grain_table(thick: tuple[bool, bool, bool]) -> np.ndarray:
    """Lag-1 residual correlation of white noise smoothed in-plane by each of ``_GRAIN_SIGMAS``."""
    sp = np.where(np.asarray(thick), 3.0, 1.0)
    white = np.random.default_rng(1234).standard_normal((40, 40, 40)).astype(np.float32)
    out = []
    for sigma in _GRAIN_SIGMAS:
        smooth = ndi.gaussian_filter(white, np.where(thick, 0.0, sigma), mode="wrap")
        out.append(noise_texture(smooth, sp)[1])
    return np.maximum.accumulate(np.asarray(out)) + np.arange(len(out)) * 1e-6  # increasing


def _matched_noise(shape: tuple[int, ...], spacing: np.ndarray, level: float, grain: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Correlated Gaussian noise whose ``noise_texture`` matches (level, grain); also its sigma."""
    thick = spacing >= 2.0 * spacing.min()
    table = _grain_table(tuple(bool(t) for t in thick))
    sigma = float(np.interp(grain, table, _GRAIN_SIGMAS))
    noise = _correlated_noise(shape, spacing, sigma, rng)
    unit = noise_level(noise, spacing)
    return noise * (level / max(unit, 1e-6)), sigma


def _correlated_noise(shape: tuple[int, ...], spacing: np.ndarray, corr_vox: float,
                      rng: np.random.Generator) -> np.ndarray:
    thick = spacing >= 2.0 * spacing.min()
    noise = rng.standard_normal(shape).astype(np.float32)
    return ndi.gaussian_filter(noise, np.where(thick, 0.0, corr_vox), mode="wrap")


def _normalised_smooth(values: np.ndarray, weight: np.ndarray, sigma_vox: np.ndarray) -> np.ndarray:
    """Smooth ``values`` using only voxels where ``weight`` is set (normalised convolution)."""
    w = weight.astype(np.float32)
    num = ndi.gaussian_filter(values * w, sigma_vox, mode="nearest")
    den = ndi.gaussian_filter(w, sigma_vox, mode="nearest")
    fallback = float(np.median(values[weight])) if weight.any() else float(np.median(values))
    return np.where(den > 1e-3, num / np.maximum(den, 1e-3), fallback).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# public API


def insert_lesion(
    background: np.ndarray, spacing: Sequence[float], modality: Modality,
    rng: np.random.Generator, config: LesionSynthesisConfig | None = None,
    avoid_mask: np.ndarray | None = None, body: np.ndarray | None = None,
) -> SynthesisResult:
    """Insert one synthetic lesion; see the module docstring. Raises RuntimeError when no
    placement fits (background too small, no tissue, or ``avoid_mask`` everywhere)."""
    cfg = config or LesionSynthesisConfig()
    if modality not in ("CT", "MR"):
        raise ValueError(f"modality must be 'CT' or 'MR', got {modality!r}")
    bg = np.asarray(background)
    if bg.ndim != 3:
        raise ValueError(f"background must be 3D (z, y, x), got shape {bg.shape}")
    sp = np.asarray(spacing, dtype=float).reshape(3)
    body = body_mask(bg, modality, cfg) if body is None else np.asarray(body, bool)
    tissue = _tissue_mask(bg, body, modality, cfg)
    avoid = None if avoid_mask is None else np.asarray(avoid_mask, bool)
    candidates = _centre_candidates(bg, tissue, avoid, modality, cfg)
    if len(candidates) == 0:
        raise RuntimeError("no tissue voxel to place a lesion in")

    diameter = _log_uniform(rng, cfg.diameter_mm)
    placed = None
    for attempt in range(6):
        rendered = _render(_Shape(rng, cfg, diameter / 2.0), sp, rng, cfg)
        if rendered is not None:
            placed = _place(rendered, sp, body, tissue, candidates, avoid, rng, cfg)
            if placed is not None:
                break
        diameter = max(cfg.diameter_mm[0] * 0.5, diameter * 0.75)  # smaller fits more places
    if placed is None:
        raise RuntimeError("could not place a lesion: background too small or no free tissue")
    centre, box = placed
    r = rendered
    occ, nec, rim, tex = r.occ, r.nec, r.rim, r.tex
    bg_box = bg[box].astype(np.float32)
    tissue_box = tissue[box]
    support = occ > 0
    params: dict = {"modality": modality, "diameter_mm": diameter, **r.info}

    # noise: level and grain matched to the background's high-pass residual around the lesion
    level, grain = noise_texture(bg_box, sp, tissue_box)
    noise, grain_sigma = _matched_noise(occ.shape, sp, level, grain, rng)
    params.update(noise_level=level, noise_grain_vox=grain_sigma)

    solid = occ - nec
    if modality == "CT":
        local = float(np.median(bg_box[support & tissue_box])) if (support & tissue_box).any() \
            else float(np.median(bg_box[support]))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        contrast = sign * _log_uniform(rng, cfg.ct_contrast_hu)
        lo_hu, hi_hu = cfg.ct_lesion_hu
        if lo_hu <= local <= hi_hu:
            mean = float(np.clip(local + contrast, lo_hu, hi_hu))
        else:  # in fat (or next to enhanced vessels) any soft-tissue value already stands out
            mean = _uniform(rng, cfg.ct_lesion_hu)
        nec_hu = min(_uniform(rng, cfg.ct_necrosis_hu), mean)
        rim_hu = _uniform(rng, cfg.ct_rim_hu)
        tex_hu = cfg.ct_texture_hu * _uniform(rng, cfg.heterogeneity)
        model = mean * solid + nec_hu * nec + rim_hu * rim + tex_hu * tex
        lo_clip, hi_clip = cfg.ct_clip_hu
        params.update(local_hu=local, lesion_hu=mean, contrast_hu=mean - local, necrosis_hu=nec_hu,
                      rim_hu=rim_hu if r.info.get("rim_mm") else 0.0)
    else:
        sample = bg[body][:: max(1, int(body.sum()) // 500_000)]
        p_lo, p5, p95, p_hi = np.percentile(sample, [0.5, 5, 95, 99.5])
        spread = float(max(p95 - p5, 1e-6))
        sigma = np.maximum(0.6 * diameter / 2.0 / sp, 1.0)
        local = _normalised_smooth(bg_box, tissue_box & (bg_box > p_lo), sigma)
        # hyper- or hypo-intense, but within the image's tissue range: a lesion brighter than
        # anything else in the image (e.g. than white matter on T1) would be a giveaway
        level = float(np.median(local[support]))
        room = {1.0: (p_hi - level) / spread, -1.0: (level - p_lo) / spread}
        magnitude = _log_uniform(rng, cfg.mr_contrast)
        sign = 1.0 if rng.random() < cfg.mr_p_hyper else -1.0
        if magnitude > room[sign]:  # clamp to the room; flip only if there is far too little
            if room[sign] < 0.5 * magnitude and room[-sign] > room[sign]:
                sign = -sign
            magnitude = min(magnitude, max(room[sign], cfg.mr_contrast[0]))
        contrast = sign * magnitude
        nec_c = (-1.0 if rng.random() < 0.7 else 1.0) * _uniform(rng, cfg.mr_necrosis)
        rim_c = _uniform(rng, cfg.mr_rim)
        tex_c = cfg.mr_texture * _uniform(rng, cfg.heterogeneity)
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        mesh = np.meshgrid(*r.axes_mm, indexing="ij")
        ramp = sum(m * c for m, c in zip(mesh, direction)) / max(diameter / 2.0, 1.0)
        bias = 1.0 + _uniform(rng, cfg.mr_bias) * np.clip(ramp, -1.5, 1.5)
        pattern = contrast * solid + nec_c * nec + rim_c * rim + tex_c * tex
        model = occ * local + spread * bias * pattern
        lo_clip, hi_clip = float(p_lo), float(p_hi)
        params.update(contrast_rel=contrast, necrosis_rel=nec_c, spread=spread)
    # clip the lesion's own values (model / occ) to a plausible range, keeping partial volume
    safe = np.maximum(occ, 1e-6)
    model = np.where(support, np.clip(model / safe, lo_clip, hi_clip) * occ, 0.0)
    blended = (1.0 - occ) * bg_box + model + noise * np.sqrt(np.clip(occ * (2.0 - occ), 0, 1))
    new_box = np.where(support, blended, bg_box)
    image, mask = _paste(bg, box, new_box, occ >= 0.5)
    return SynthesisResult(image, mask, box, occ, centre, params)


def _paste(bg: np.ndarray, box: tuple[slice, ...], new_box: np.ndarray,
           lesion_box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float32 image, bool mask): ``new_box`` written into a copy of ``bg`` (rounded and clipped
    to the background's range when it is an integer image), the lesion mask into zeros."""
    if np.issubdtype(bg.dtype, np.integer):
        info = np.iinfo(bg.dtype)
        new_box = np.clip(np.rint(new_box), info.min, info.max)
    image = bg.astype(np.float32, copy=True)
    image[box] = new_box
    mask = np.zeros(bg.shape, bool)
    mask[box] = lesion_box
    return image, mask


def generate_lesion_sample(
    background: np.ndarray, spacing: Sequence[float], modality: Modality,
    rng: np.random.Generator, config: LesionSynthesisConfig | None = None,
    avoid_mask: np.ndarray | None = None, body: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(image float32, mask bool): ``background`` plus one synthetic lesion; mask = occupancy >= 0.5.

    Placed inside the body (CT: above ``ct_air_hu``; MR: above a background fraction), mostly in
    tissue, and ``avoid_margin_mm`` away from ``avoid_mask`` (e.g. the background's real lesion,
    which would otherwise be an unlabelled lesion). Pass a cached ``body_mask`` for speed.
    """
    res = insert_lesion(background, spacing, modality, rng, config, avoid_mask, body)
    return res.image, res.mask


def simulate_thick_slices(
    image: np.ndarray, occupancy: np.ndarray, spacing: Sequence[float], factor: int, axis: int = 0,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Average ``factor`` consecutive slices along ``axis`` (a thick slice is the mean of thin
    ones): (image, mask = averaged occupancy >= 0.5, new spacing). Turns isotropic samples (MNI,
    BraTS) into thick-slice ones; a trailing remainder of slices is dropped."""
    if factor < 1:
        raise ValueError("factor must be >= 1")
    n = (image.shape[axis] // factor) * factor

    def avg(x: np.ndarray) -> np.ndarray:
        x = np.moveaxis(np.asarray(x, np.float32), axis, 0)[:n]
        x = x.reshape(n // factor, factor, *x.shape[1:]).mean(axis=1)
        return np.moveaxis(x, 0, axis)

    sp = list(float(s) for s in spacing)
    sp[axis] *= factor
    return avg(image), avg(occupancy) >= 0.5, tuple(sp)  # type: ignore[return-value]


def transplant_lesion(
    source_image: np.ndarray, source_mask: np.ndarray, source_spacing: Sequence[float],
    background: np.ndarray, spacing: Sequence[float], modality: Modality,
    rng: np.random.Generator, config: LesionSynthesisConfig | None = None,
    avoid_mask: np.ndarray | None = None, body: np.ndarray | None = None,
    blend_mm: float = 1.5, flip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Copy a real lesion (image patch + mask) into another background: (image, mask).

    The lesion crop is resampled to ``spacing`` (linear; mask = resampled occupancy >= 0.5),
    optionally flipped in-plane, placed like a synthetic lesion and alpha-blended with a weight
    that is the mask blurred over ``blend_mm`` (1 deep inside, ~0.5 at the border, 0 a few mm
    outside); the source's surroundings are not copied: the lesion is extended outward with its
    nearest core values before blending. Intensity matching: CT keeps HU (absolute
    physical units, and a lung nodule's -800 HU surroundings must not shift a lesion); MR maps
    the lesion from the source's to the target's local level and tissue spread. If the target is
    noisier, matching extra noise is added inside.
    """
    cfg = config or LesionSynthesisConfig()
    src = np.asarray(source_image, np.float32)
    smask = np.asarray(source_mask, bool)
    if src.shape != smask.shape or not smask.any():
        raise ValueError("source image and a non-empty source mask of the same shape are needed")
    bg = np.asarray(background)
    sp_t = np.asarray(spacing, float).reshape(3)
    sp_s = np.asarray(source_spacing, float).reshape(3)

    # crop with a context ring, resample onto the target spacing around the crop centre
    ring_mm = blend_mm * 2 + 4.0
    coords = np.argwhere(smask)
    lo_s = np.maximum(coords.min(0) - np.ceil(ring_mm / sp_s).astype(int), 0)
    hi_s = np.minimum(coords.max(0) + np.ceil(ring_mm / sp_s).astype(int),
                      np.asarray(src.shape) - 1)
    centre_s = (lo_s + hi_s) / 2.0
    half_mm = (hi_s - lo_s) / 2.0 * sp_s
    n_half = np.floor(half_mm / sp_t).astype(int)
    axes = [np.arange(-h, h + 1) for h in n_half]
    mesh = np.meshgrid(*[centre_s[a] + axes[a] * sp_t[a] / sp_s[a] for a in range(3)],
                       indexing="ij")
    patch = ndi.map_coordinates(src, mesh, order=1, mode="nearest")
    occ = ndi.map_coordinates(smask.astype(np.float32), mesh, order=1, mode="constant")
    if flip:
        for a in (1, 2):
            if rng.random() < 0.5:
                patch, occ = np.flip(patch, a), np.flip(occ, a)
    lesion = occ >= 0.5
    if not lesion.any():
        raise ValueError("source lesion vanishes at the target spacing")
    # blend weight: the lesion blurred over blend_mm, a soft partial-volume-like edge both sides
    sigma = np.maximum(blend_mm / 2.0 / sp_t, 0.3)
    weight = ndi.gaussian_filter(lesion.astype(np.float32), sigma, mode="constant")
    weight[weight < 1e-3] = 0.0
    # the source's surroundings do not come along: outside its core the lesion is extended with
    # its nearest core value (the edge layer also holds partial volume of the source surroundings)
    core = ndi.binary_erosion(lesion)
    core = core if core.any() else lesion
    nearest = ndi.distance_transform_edt(~core, sampling=sp_t, return_distances=False,
                                         return_indices=True)
    ring = ~ndi.binary_dilation(lesion, iterations=2)
    ring_values = patch[ring]
    patch = np.where(core, patch, patch[tuple(nearest)])

    body = body_mask(bg, modality, cfg) if body is None else np.asarray(body, bool)
    tissue = _tissue_mask(bg, body, modality, cfg)
    avoid = None if avoid_mask is None else np.asarray(avoid_mask, bool)
    candidates = _centre_candidates(bg, tissue, avoid, modality, cfg)
    if len(candidates) == 0:
        raise RuntimeError("no tissue voxel to place the lesion in")
    dummy = _Rendered(-n_half, weight, weight * 0, weight * 0, weight * 0, [], {})
    placed = _place(dummy, sp_t, body, tissue, candidates, avoid, rng, cfg)
    if placed is None:
        raise RuntimeError("could not place the transplanted lesion")
    _, box = placed
    bg_box = bg[box].astype(np.float32)
    if modality == "MR":
        s_body = body_mask(src, "MR", cfg)
        s_spread = float(np.subtract(*np.percentile(src[s_body], [95, 5]))) or 1.0
        t_sample = bg[body][:: max(1, int(body.sum()) // 500_000)]
        t_spread = float(np.subtract(*np.percentile(t_sample, [95, 5]))) or 1.0
        s_level = float(np.median(ring_values if ring_values.size else src[s_body]))
        t_level = float(np.median(bg_box[tissue[box]])) if tissue[box].any() else s_level
        patch = t_level + (patch - s_level) * (t_spread / s_spread)
    level, grain = noise_texture(bg_box, sp_t, tissue[box])
    extra = level**2 - noise_level(patch, sp_t, core) ** 2
    if extra > 0:
        patch = patch + _matched_noise(patch.shape, sp_t, float(np.sqrt(extra)), grain, rng)[0]
    new_box = np.where(weight > 0, (1 - weight) * bg_box + weight * patch, bg_box)
    return _paste(bg, box, new_box, lesion)
