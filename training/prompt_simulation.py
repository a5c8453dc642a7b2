"""Simulated users of every prompt kind, drawn from a reference mask the way people draw them.

Each kind is drawn in the image's continuous voxel indices (z, y, x) from the reference mask
and its spacing (pure functions of the mask, the spacing and the rng), then handed over as the
product's own prompt objects in world mm (``simulate_prompt`` -> ``PromptSet``), so that
``algorithm.prompts.seeds.prompt_seeds`` turns a simulated drawing into exactly the seeds the
product makes from the same drawing at inference (its rasterisers, its slice-mask rules, its
box and RECIST facts):

* scribbles: 1-3 short strokes inside the tumour on 1-3 slices (any orientation), kept at
  least ``border_margin`` in-plane voxels from the tumour's border, and 0-2 background strokes
  along the tumour's contour, 2-6 mm outside it;
* outlines: 1-3 slices of one orientation (the largest most often; several spread over the
  extent), each the reference slice smoothed or slightly shifted, given as a slice mask
  (``--slice-mask``: inside is tumour, the rest of the slice background);
* box: the tumour's extent on its slice of largest area, each edge jittered by up to 10 % of
  the side; sometimes a second box on the largest slice of an orthogonal orientation;
* RECIST: on the axial slice of largest area, the longest in-plane diameter and its longest
  perpendicular chord (``algorithm.measurements.diameters``, RECIST 1.1's rules), each end
  moved up to ``jitter_mm`` in the slice; sometimes the long axis alone;
* clicks: the training's click mixture (``training.interaction.simulate_initial_clicks``).

The error-driven corrective clicks that follow any kind are ``training.samples``'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from algorithm.geometry import index_to_world, shape_zyx, spacing_zyx
from algorithm.measurements.axial import axial_array_axis
from algorithm.measurements.diameters import boundary_points_mm, feret_axes
from algorithm.prompts import Clicks
from algorithm.prompts.boxes import BoundingBox
from algorithm.prompts.distances import RecistAxes
from algorithm.prompts.lines import Scribble
from algorithm.prompts.prompt_set import PROMPT_KINDS, PromptSet
from algorithm.prompts.raster import in_plane_axes, segment_voxels
from algorithm.prompts.slices import annotated_slices
from training.interaction import (
    ClickSimulationConfig, simulate_initial_clicks, six_point_clicks,
)


class SimulationFailure(ValueError):
    """The mask offers nothing this kind can be drawn on (the caller draws clicks instead)."""


@dataclass(frozen=True)
class ScribbleConfig:
    strokes: tuple[int, int] = (1, 3)  #: tumour strokes, inclusive range
    background_strokes: tuple[int, int] = (0, 2)
    max_slices: int = 3  #: strokes share at most this many slices
    axis_weights: tuple[float, float, float] = (0.6, 0.2, 0.2)  #: slice orientation (z, y, x)
    p_largest: float = 0.5  #: a slice is the largest of its orientation, else area-weighted
    length_fraction: tuple[float, float] = (0.2, 0.6)  #: of the slice's tumour extent
    border_margin: float = 1.5  #: in-plane voxels (largest in-plane spacing) kept from the border
    depth_fraction: float = 0.25  #: and at least this share of the slice's deepest voxel's depth
    curvature: float = 0.15  #: radians of random turn per half-voxel step
    outside_mm: tuple[float, float] = (2.0, 6.0)  #: background strokes' distance outside
    arc: tuple[float, float] = (np.pi / 6, np.pi)  #: background strokes' angle around the tumour


@dataclass(frozen=True)
class OutlineConfig:
    slice_weights: tuple[float, float, float] = (0.5, 0.25, 0.25)  #: of 1, 2, 3 slices
    axis_weights: tuple[float, float, float] = (0.6, 0.2, 0.2)
    p_largest: float = 0.7  #: one slice: the largest, else area-weighted
    spread_jitter: float = 0.1  #: several slices: quantiles of the extent, moved this share
    p_smooth: float = 0.5
    smooth_mm: tuple[float, float] = (0.5, 1.5)  #: Gaussian sigma of the smoothed contour
    p_shift: float = 0.5
    max_shift_mm: float = 1.5  #: the contour moved by up to this in its plane


@dataclass(frozen=True)
class BoxConfig:
    axis_weights: tuple[float, float, float] = (0.6, 0.2, 0.2)
    jitter: float = 0.1  #: each edge moved by up to this share of its side
    p_two: float = 0.3  #: a second box on an orthogonal orientation's largest slice


@dataclass(frozen=True)
class RecistConfig:
    jitter_mm: float = 2.0  #: each end moved by up to this, in the slice
    p_long_only: float = 0.3


@dataclass(frozen=True)
class PromptSimulationConfig:
    scribbles: ScribbleConfig = field(default_factory=ScribbleConfig)
    outlines: OutlineConfig = field(default_factory=OutlineConfig)
    box: BoxConfig = field(default_factory=BoxConfig)
    recist: RecistConfig = field(default_factory=RecistConfig)
    clicks: ClickSimulationConfig = field(default_factory=ClickSimulationConfig)


# ---- slices -------------------------------------------------------------------------------

def slice_areas(mask: np.ndarray, axis: int) -> np.ndarray:
    return mask.sum(axis=in_plane_axes(axis))


def largest_slice(mask: np.ndarray, axis: int) -> int:
    """The slice across ``axis`` holding the most tumour voxels (ties: the lowest)."""
    return int(np.argmax(slice_areas(mask, axis)))


def _pick_slice(mask: np.ndarray, axis: int, p_largest: float, rng: np.random.Generator) -> int:
    areas = slice_areas(mask, axis).astype(float)
    if rng.random() < p_largest:
        return int(np.argmax(areas))
    return int(rng.choice(len(areas), p=areas / areas.sum()))


def _pick_axis(weights, rng: np.random.Generator) -> int:
    w = np.asarray(weights, dtype=float)
    return int(rng.choice(3, p=w / w.sum()))


def _to_3d(points_2d: np.ndarray, axis: int, number: int) -> np.ndarray:
    return np.insert(np.asarray(points_2d, dtype=float).reshape(-1, 2), axis, number, axis=1)


def _plane_voxels(points_2d: np.ndarray, plane_shape) -> np.ndarray:
    """(K, 2) in-plane voxels the polyline passes through (the product's supercover)."""
    voxels = segment_voxels(_to_3d(points_2d, 0, 0), (1, *plane_shape))
    return voxels[:, 1:]


# ---- scribbles ----------------------------------------------------------------------------

def tumour_stroke(plane: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
                  config: ScribbleConfig = ScribbleConfig()) -> np.ndarray:
    """(N, 2) continuous in-plane indices of one stroke inside the 2D tumour ``plane``: a
    gently curving walk through the voxels deeper than the margin, as long as a share of the
    tumour's extent; every voxel it passes through lies in that deep region (so short of the
    border). A tumour too thin for the margin gets a dot at its deepest voxel."""
    depth = ndimage.distance_transform_edt(np.pad(plane, 1), sampling=spacing)[1:-1, 1:-1]
    threshold = max(config.border_margin * float(spacing.max()),
                    config.depth_fraction * float(depth.max()))
    deep = depth >= threshold
    if not deep.any():
        point = np.unravel_index(int(np.argmax(depth)), depth.shape)
        return np.asarray([point, point], dtype=float)
    cells = np.argwhere(deep)
    start = cells[rng.integers(len(cells))].astype(float)
    extent_mm = float(((cells.max(axis=0) - cells.min(axis=0) + 1) * spacing).max())
    length_mm = rng.uniform(*config.length_fraction) * extent_mm
    heading = rng.uniform(0, 2 * np.pi)
    halves = [_walk(start, heading + turn, length_mm / 2, deep, spacing, rng, config)
              for turn in (0.0, np.pi)]
    return np.concatenate([halves[1][::-1], halves[0][1:]])


def _walk(start, heading, length_mm, allowed, spacing, rng, config) -> np.ndarray:
    """Points from ``start`` in half-voxel steps until ``length_mm`` or the edge of
    ``allowed``, which every voxel the walk passes through lies in."""
    step_mm = 0.5 * float(spacing.min())
    points = [start]
    for _ in range(int(length_mm / step_mm)):
        heading += rng.normal(0.0, config.curvature)
        nxt = points[-1] + step_mm * np.array([np.sin(heading), np.cos(heading)]) / spacing
        if not _stays_in(np.stack([points[-1], nxt]), allowed):
            break
        points.append(nxt)
    return np.asarray(points)


def _stays_in(segment: np.ndarray, allowed: np.ndarray) -> bool:
    inside = np.all((segment >= -0.5) & (segment <= np.asarray(allowed.shape) - 0.5))
    return bool(inside) and bool(allowed[tuple(_plane_voxels(segment, allowed.shape).T)].all())


def background_stroke(plane: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
                      config: ScribbleConfig = ScribbleConfig()) -> np.ndarray | None:
    """(N, 2) in-plane indices of a stroke along the tumour's contour, ``outside_mm`` outside
    it: rays from the tumour's centre, each stopped where it first lies that far from any
    tumour voxel, over an arc; cut where it would touch the tumour or leave the slice. None
    when no part of it fits."""
    away = ndimage.distance_transform_edt(~plane, sampling=spacing)
    offset = max(rng.uniform(*config.outside_mm), 1.5 * float(spacing.max()))
    centre_mm = np.argwhere(plane).mean(axis=0) * spacing
    first = rng.uniform(0, 2 * np.pi)
    arc = rng.uniform(*config.arc)
    limit_mm = float((np.asarray(plane.shape) * spacing).max())
    step_mm = 0.5 * float(spacing.min())
    radii = np.arange(0.0, limit_mm, step_mm)
    points = []
    for angle in np.linspace(first, first + arc, max(int(np.degrees(arc) / 5), 2)):
        ray = centre_mm + radii[:, None] * np.array([np.sin(angle), np.cos(angle)])
        cells = np.rint(ray / spacing).astype(int)
        inside = np.all((cells >= 0) & (cells < np.asarray(plane.shape)), axis=1)
        far = np.flatnonzero(inside & (away[tuple(np.clip(cells, 0, np.asarray(plane.shape) - 1)
                                                  .T)] >= offset))
        if not len(far) or not inside[:far[0] + 1].all():
            break
        point = ray[far[0]] / spacing
        if points and not _stays_in(np.stack([points[-1], point]), ~plane):
            break
        points.append(point)
    if not points:
        return None
    return np.asarray(points if len(points) > 1 else points * 2)


def draw_scribbles(mask: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
                   config: ScribbleConfig = ScribbleConfig(), *, on_largest: int | None = None
                   ) -> list[tuple[np.ndarray, bool]]:
    """Strokes as ((N, 3) continuous indices, is_tumour). ``on_largest``: every stroke on the
    largest slice across that axis (the issue's "one tumour and one background scribble on
    the largest slice")."""
    n_tumour = int(rng.integers(config.strokes[0], config.strokes[1] + 1))
    n_background = int(rng.integers(config.background_strokes[0],
                                    config.background_strokes[1] + 1))
    slices = []
    for _ in range(min(config.max_slices, n_tumour)):
        axis = _pick_axis(config.axis_weights, rng) if on_largest is None else on_largest
        number = (_pick_slice(mask, axis, config.p_largest, rng) if on_largest is None
                  else largest_slice(mask, axis))
        slices.append((axis, number))
    strokes = []
    for i in range(n_tumour + n_background):
        axis, number = slices[i % len(slices)]
        plane = np.take(mask, number, axis=axis)
        plane_spacing = spacing[list(in_plane_axes(axis))]
        tumour = i < n_tumour
        path = (tumour_stroke(plane, plane_spacing, rng, config) if tumour
                else background_stroke(plane, plane_spacing, rng, config))
        if path is not None:
            strokes.append((_to_3d(path, axis, number), tumour))
    return strokes


# ---- outlines -----------------------------------------------------------------------------

def outline_slices(mask: np.ndarray, axis: int, count: int, rng: np.random.Generator | None,
                   config: OutlineConfig = OutlineConfig()) -> list[int]:
    """Slice numbers to outline: one, the largest (or, with ``rng``, an area-weighted one
    sometimes); several, at the quantiles 1/(n+1) .. n/(n+1) of the tumour's extent (three:
    a quarter, half and three quarters), jittered with ``rng``, each moved to the nearest
    slice holding tumour."""
    areas = slice_areas(mask, axis)
    present = np.flatnonzero(areas)
    if count == 1:
        return [_pick_slice(mask, axis, config.p_largest, rng) if rng is not None
                else int(np.argmax(areas))]
    lo, hi = present.min(), present.max()
    wanted = lo + (hi - lo) * np.arange(1, count + 1) / (count + 1)
    if rng is not None:
        wanted = wanted + rng.uniform(-1, 1, count) * config.spread_jitter * (hi - lo)
    chosen = {int(present[np.argmin(np.abs(present - w))]) for w in wanted}
    return sorted(chosen)


def noisy_outline(plane: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
                  config: OutlineConfig = OutlineConfig()) -> np.ndarray:
    """The reference slice as a person outlines it: smoothed (a Gaussian of the filled contour
    at half height) and/or shifted in its plane; never empty."""
    out = plane.astype(float)
    if rng.random() < config.p_smooth:
        sigma = rng.uniform(*config.smooth_mm) / spacing
        out = ndimage.gaussian_filter(out, sigma, mode="constant")
    if rng.random() < config.p_shift:
        direction = rng.uniform(0, 2 * np.pi)
        shift_mm = rng.uniform(0, config.max_shift_mm) * np.array([np.sin(direction),
                                                                   np.cos(direction)])
        out = ndimage.shift(out, shift_mm / spacing, order=1, mode="constant")
    drawn = out >= 0.5
    return drawn if drawn.any() else plane.copy()


def draw_outlines(mask: np.ndarray, spacing: np.ndarray, rng: np.random.Generator,
                  config: OutlineConfig = OutlineConfig(), *, count: int | None = None,
                  axis: int | None = None, noise: bool = True) -> np.ndarray:
    """A slice mask (z, y, x) uint8 on the mask's grid, non-zero only on the outlined slices,
    which the product's slice-mask rules recognise as the annotated ones (else
    ``SimulationFailure``). ``count``/``axis`` fix the number and orientation (validation);
    ``noise=False`` copies the reference slices."""
    axis = _pick_axis(config.axis_weights, rng) if axis is None else axis
    if count is None:
        w = np.asarray(config.slice_weights, dtype=float)
        count = int(rng.choice(3, p=w / w.sum())) + 1
    numbers = outline_slices(mask, axis, count, rng if noise else None, config)
    plane_spacing = spacing[list(in_plane_axes(axis))]
    out = np.zeros(mask.shape, dtype=np.uint8)
    for number in numbers:
        plane = np.take(mask, number, axis=axis)
        drawn = noisy_outline(plane, plane_spacing, rng, config) if noise else plane
        index = [slice(None)] * 3
        index[axis] = number
        out[tuple(index)] = drawn
    if annotated_slices(out, spacing)[0] != axis:
        raise SimulationFailure("the outlined slices would be read across another axis")
    return out


# ---- boxes --------------------------------------------------------------------------------

def tight_box(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) in-plane continuous indices of the tumour's cells' outer edges on a slice."""
    cells = np.argwhere(plane)
    return cells.min(axis=0) - 0.5, cells.max(axis=0) + 0.5


def jittered_box(plane: np.ndarray, rng: np.random.Generator | None, jitter: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The tight box with each edge moved by up to ``jitter`` of its side, kept in the slice
    and at least half a voxel wide."""
    lo, hi = tight_box(plane)
    if rng is not None and jitter > 0:
        side = hi - lo
        lo = lo + rng.uniform(-jitter, jitter, 2) * side
        hi = hi + rng.uniform(-jitter, jitter, 2) * side
    bounds = np.asarray(plane.shape) - 0.5
    lo, hi = np.clip(lo, -0.5, bounds), np.clip(hi, -0.5, bounds)
    middle = (lo + hi) / 2.0
    narrow = hi - lo < 0.5
    lo = np.where(narrow, np.maximum(middle - 0.25, -0.5), lo)
    hi = np.where(narrow, np.minimum(middle + 0.25, bounds), hi)
    return lo, hi


def box_corners(lo: np.ndarray, hi: np.ndarray, axis: int, number: int) -> np.ndarray:
    """(4, 3) continuous indices of an in-plane box's corners, in order around it."""
    corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]], [hi[0], lo[1]]])
    return _to_3d(corners, axis, number)


def draw_boxes(mask: np.ndarray, rng: np.random.Generator, config: BoxConfig = BoxConfig(),
               *, count: int | None = None, axis: int | None = None,
               noise: bool = True) -> list[np.ndarray]:
    """One or two boxes ((4, 3) corners each, continuous indices), each on its orientation's
    largest slice; a second one on an orthogonal orientation."""
    first = _pick_axis(config.axis_weights, rng) if axis is None else axis
    count = (2 if rng.random() < config.p_two else 1) if count is None else count
    axes = [first]
    if count == 2:
        others = [a for a in range(3) if a != first]
        axes.append(others[int(rng.integers(2))] if noise else others[0])
    boxes = []
    for a in axes:
        number = largest_slice(mask, a)
        lo, hi = jittered_box(np.take(mask, number, axis=a), rng if noise else None,
                              config.jitter)
        boxes.append(box_corners(lo, hi, a, number))
    return boxes


# ---- RECIST -------------------------------------------------------------------------------

def recist_lines(mask: np.ndarray, spacing: np.ndarray, axial_axis: int,
                 rng: np.random.Generator | None, config: RecistConfig = RecistConfig(),
                 *, long_only: bool | None = None) -> list[np.ndarray]:
    """[long, short?] axes, (2, 3) continuous indices each, on the axial slice of largest
    area: the maximum Feret diameter of its boundary voxels' centres and the longest chord
    perpendicular to it, each end moved by up to ``jitter_mm`` in the slice with ``rng``. The
    longer line comes first (as the product sorts them)."""
    number = largest_slice(mask, axial_axis)
    in_plane = list(in_plane_axes(axial_axis))
    plane_spacing = spacing[in_plane]
    axes = feret_axes(boundary_points_mm(np.take(mask, number, axis=axial_axis), plane_spacing))
    if long_only is None:
        long_only = rng is not None and rng.random() < config.p_long_only
    pairs = [axes.long_ends] + ([] if long_only or axes.short_mm <= 0 else [axes.short_ends])
    bounds = np.asarray([mask.shape[a] for a in in_plane]) - 0.5
    lines = []
    for ends_mm in pairs:
        ends_mm = np.asarray(ends_mm, dtype=float)
        if rng is not None and config.jitter_mm > 0:
            radius = config.jitter_mm * np.sqrt(rng.random(2))
            angle = rng.uniform(0, 2 * np.pi, 2)
            ends_mm = ends_mm + radius[:, None] * np.stack([np.sin(angle), np.cos(angle)], 1)
        ends = np.clip(ends_mm / plane_spacing, -0.5, bounds)
        if np.linalg.norm((ends[1] - ends[0]) * plane_spacing) > 0:
            lines.append(_to_3d(ends, axial_axis, number))
    if not lines:
        raise SimulationFailure("the tumour's largest axial slice has no diameter to measure")
    lines.sort(key=lambda line: -np.linalg.norm((line[1] - line[0]) * spacing))
    return lines


# ---- as the product's prompts -------------------------------------------------------------

def simulate_prompt(kind: str, mask: np.ndarray, image: sitk.Image, rng: np.random.Generator,
                    config: PromptSimulationConfig = PromptSimulationConfig()) -> PromptSet:
    """One simulated user's prompt of ``kind`` for the reference ``mask`` ((z, y, x) on
    ``image``'s grid; the image gives the geometry), in world mm as the product reads it."""
    mask = np.asarray(mask, dtype=bool)
    check_shape(mask, image)
    if kind not in PROMPT_KINDS:
        raise ValueError(f"unknown prompt kind {kind!r}; known: {PROMPT_KINDS}")
    if not mask.any():
        raise SimulationFailure("the reference mask is empty")
    spacing = spacing_zyx(image)
    world = lambda index: index_to_world(image, index)
    if kind == "clicks":
        clicks = simulate_initial_clicks(mask, spacing, rng, config.clicks).astype(float)
        return PromptSet(clicks=Clicks.from_points(world(clicks)))
    if kind == "scribbles":
        return scribble_prompt(draw_scribbles(mask, spacing, rng, config.scribbles), image)
    if kind == "outlines":
        return PromptSet(slice_mask=draw_outlines(mask, spacing, rng, config.outlines))
    if kind == "box":
        return box_prompt(draw_boxes(mask, rng, config.box), image)
    return recist_prompt(recist_lines(mask, spacing, axial_array_axis(image.GetDirection()),
                                      rng, config.recist), image)


def scribble_prompt(strokes: list[tuple[np.ndarray, bool]], image: sitk.Image) -> PromptSet:
    return PromptSet(scribbles=tuple(Scribble((index_to_world(image, path),), tumour)
                                     for path, tumour in strokes))


def box_prompt(boxes: list[np.ndarray], image: sitk.Image) -> PromptSet:
    return PromptSet(boxes=tuple(BoundingBox(index_to_world(image, c)) for c in boxes))


def recist_prompt(lines: list[np.ndarray], image: sitk.Image) -> PromptSet:
    world = [index_to_world(image, line) for line in lines]
    return PromptSet(recist=RecistAxes(world[0], world[1] if len(world) > 1 else None))


def geometry_of(mask: np.ndarray, spacing: np.ndarray) -> sitk.Image:
    """An image with the mask's grid (identity direction, origin 0), for the world mapping."""
    image = sitk.Image([int(n) for n in np.asarray(mask.shape)[::-1]], sitk.sitkUInt8)
    image.SetSpacing([float(s) for s in np.asarray(spacing, dtype=float)[::-1]])
    return image


def check_shape(mask: np.ndarray, image: sitk.Image) -> None:
    if tuple(mask.shape) != tuple(int(n) for n in shape_zyx(image)):
        raise ValueError(f"the mask {mask.shape} is not on the image's grid {shape_zyx(image)}")


# ---- fixed protocols for validation -------------------------------------------------------

#: what validation can score: the issue's per-kind table (each drawn without the training's
#: noise, so a figure is the method's, not the simulated user's; scribbles' strokes are random)
VALIDATION_PROMPTS = ("clicks", "outlines-1", "outlines-3", "scribbles", "box", "box-2",
                      "recist-long", "recist-long-short")


def validation_prompt(spec: str, mask: np.ndarray, image: sitk.Image,
                      rng: np.random.Generator) -> PromptSet:
    """The prompt of a ``VALIDATION_PROMPTS`` protocol: six protocol clicks; the largest axial
    slice outlined, or three at a quarter, half and three quarters of the extent; one tumour
    and one background scribble on the largest axial slice; the box on the largest axial
    slice, and a second on the largest slice of an orthogonal orientation; the RECIST long
    axis, alone or with the short axis."""
    if spec not in VALIDATION_PROMPTS:
        raise ValueError(f"unknown prompt protocol {spec!r}; known: {VALIDATION_PROMPTS}")
    mask = np.asarray(mask, dtype=bool)
    check_shape(mask, image)
    spacing = spacing_zyx(image)
    axial = axial_array_axis(image.GetDirection())
    if spec == "clicks":
        clicks = six_point_clicks(mask, spacing, rng).astype(float)
        return PromptSet(clicks=Clicks.from_points(index_to_world(image, clicks)))
    if spec.startswith("outlines-"):
        return PromptSet(slice_mask=draw_outlines(mask, spacing, rng, count=int(spec[-1]),
                                                  axis=axial, noise=False))
    if spec == "scribbles":
        one_each = ScribbleConfig(strokes=(1, 1), background_strokes=(1, 1))
        return scribble_prompt(draw_scribbles(mask, spacing, rng, one_each, on_largest=axial),
                               image)
    if spec.startswith("box"):
        return box_prompt(draw_boxes(mask, rng, count=2 if spec == "box-2" else 1, axis=axial,
                                     noise=False), image)
    return recist_prompt(recist_lines(mask, spacing, axial, None,
                                      long_only=spec == "recist-long"), image)
