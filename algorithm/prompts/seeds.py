"""One structure for what a case's prompts say, on the image's own voxel grid: ``PromptSeeds``.

Every prompt kind becomes the same few facts (``prompt_seeds``), so the pipeline, the guidance,
the classical method, the clean-up and the training simulator need not know which kinds
there were:

* clicks, kept as continuous points (so the click-only path is exactly what it was);
* voxels known to be tumour: along tumour scribbles, inside outlines, along RECIST axes;
* voxels known to be background: along background scribbles, the rest of a slice with a
  tumour outline (or of a slice-mask slice), inside background outlines, a box's outside on its
  slice, background clicks aside;
* voxels likely tumour: a box's middle third;
* the extent the prompts imply, with per axis side whether a prompt bounds it. A box or a
  RECIST line on one slice says nothing about the lesion's depth across that slice: there
  the extent starts from a prior (as deep as the lesion is wide in the prompts' plane) and the
  pipeline grows the volume of interest while the mask reaches its border.

Frames: continuous voxel indices (z, y, x) of the image: voxel ``k`` is centred on ``k`` and
spans ``k - 0.5 .. k + 0.5``; ``algorithm.geometry.world_to_index`` maps world mm (LPS) to it
(exactly ``TransformPhysicalPointToContinuousIndex``, reversed). Conflicting facts resolve as
clicks do: background wins, and known tumour outranks likely tumour.

The training simulator builds the same structure from a reference mask: ``combine_facts`` with
``PromptFacts`` it draws (``algorithm.prompts.slices.annotated_slice_facts`` for slices of the
mask, ``algorithm.prompts.raster`` for strokes), then ``PromptSeeds.on_grid`` as inference does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk

from algorithm.click_convention import boundary_clicks_to_protocol
from algorithm.click_frame import clicks_to_index
from algorithm.errors import InputError
from algorithm.geometry import Box, ModelGrid, VoiConfig, shape_zyx, spacing_zyx, voi_from_clicks
from algorithm.methods.base import GridSeeds
from algorithm.prompts.boxes import box_facts
from algorithm.prompts.clicks import Clicks
from algorithm.prompts.distances import recist_facts
from algorithm.prompts.facts import ExtentPiece, PromptFacts, no_voxels
from algorithm.prompts.lines import scribble_facts
from algorithm.prompts.polygons import outline_facts
from algorithm.prompts.prompt_set import PromptSet
from algorithm.prompts.slices import slice_mask_facts

NO_TUMOUR_EVIDENCE = ("the prompts say nowhere that the tumour is: at least one tumour click, "
                      "tumour scribble, tumour outline, box or RECIST line is needed")


@dataclass(frozen=True)
class PromptExtent:
    """Where the lesion reaches, by the prompts: ``lo`` .. ``hi`` (continuous indices, (3,)
    each, inside the image), and ``bounded`` ((3, 2): axis, low/high side) whether a prompt
    says the lesion ends there; an unbounded side is evidence or a prior, not a bound."""

    lo: np.ndarray
    hi: np.ndarray
    bounded: np.ndarray

    #: the extent is where tumour clicks are (about 5 voxels inside the tumour's extremes, per
    #: the protocol), not where the tumour ends
    clicks: bool = False

    def voi(self, spacing: np.ndarray, config: VoiConfig = VoiConfig()) -> Box:
        """The volume of interest: the extent plus the relaxation margin of ``config``. For
        clicks alone this is exactly ``voi_from_clicks`` of the positive clicks; other prompts
        mark the tumour's edge itself (a box's, a RECIST axis's ends, an outline) or a prior,
        so the absolute margin, which covers the clicks' inward offset, is left out: the lesion
        then fills the model grid as it does for protocol clicks."""
        if not self.clicks:
            config = replace(config, absolute_margin_mm=0.0)
        return voi_from_clicks(np.stack([self.lo, self.hi]), spacing, config)


@dataclass(frozen=True)
class PromptSeeds:
    """What one lesion's prompts say about one image (module docstring)."""

    shape: tuple[int, int, int]  #: the image's (z, y, x) size
    positive_clicks: np.ndarray  #: (N, 3) float, continuous indices
    negative_clicks: np.ndarray  #: (M, 3) float
    tumour: np.ndarray  #: (K, 3) int64 voxel indices, distinct, known tumour
    background: np.ndarray  #: (L, 3) int64, distinct, known background (never in ``tumour``)
    weak_tumour: np.ndarray  #: (W, 3) int64, distinct, likely tumour (in neither of those)
    extent: PromptExtent
    kinds: tuple[str, ...]  #: the prompt kinds present (``prompt_set.PROMPT_KINDS``)

    @property
    def clicks_only(self) -> bool:
        """No voxel seeds: the pipeline then runs exactly the clicks' path."""
        return not (len(self.tumour) or len(self.background) or len(self.weak_tumour))

    def anchors(self) -> np.ndarray:
        """(P, 3) float: every point that says "the lesion is here" (clicks, known and likely
        tumour voxels), for keeping the components the user pointed at."""
        return np.concatenate([self.positive_clicks, self.tumour, self.weak_tumour]).astype(float)

    def on_grid(self, grid: ModelGrid) -> GridSeeds | None:
        """The voxel seeds on the model grid (None for clicks only).

        The grid shares the image's direction, so the map between the two is a per-axis affine
        map of indices (``ModelGrid.image_to_grid_index``). A grid voxel is a seed of a kind
        when its centre lies in a seed voxel of that kind (so a dense annotated slice stays
        dense on a finer grid), or when a seed voxel's centre is nearest to it (so a one-voxel
        stroke survives a coarser grid). A grid voxel claimed by both tumour and background
        straddles the boundary and is left unknown."""
        if self.clicks_only:
            return None
        region = grid.image_region(np.asarray(self.shape), pad=1)
        tumour, background, weak = (_voxels_on_grid(v, grid, region)
                                    for v in (self.tumour, self.background, self.weak_tumour))
        both = tumour & background
        return GridSeeds(tumour=tumour & ~both, background=background & ~both,
                         weak_tumour=weak & ~(tumour | background), kinds=self.kinds)

    def region_masks(self, region: tuple[slice, slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        """(known tumour, known background) as bool arrays over the image region ``region``."""
        return _dense(self.tumour, region), _dense(self.background, region)


def prompt_seeds(image: sitk.Image, prompts: PromptSet | Clicks, *,
                 clicks_on_boundary: bool = False) -> PromptSeeds:
    """Every prompt in ``prompts`` mapped exactly onto ``image``'s grid and combined. Refused
    (one-line ``InputError``): a point outside the image, a slice prompt off its slice, crossing
    outlines, and prompts that say nowhere that the tumour is. ``clicks_on_boundary``: the
    extreme tumour clicks lie on the boundary and move to the protocol's depth first."""
    prompts = PromptSet.of(prompts)
    shape, spacing = shape_zyx(image), spacing_zyx(image)
    clicks = prompts.clicks or Clicks.from_points(np.zeros((0, 3)))
    positive, negative = clicks_to_index(image, clicks)  # refused if outside, with a RAS hint
    if clicks_on_boundary and len(positive):
        positive = boundary_clicks_to_protocol(positive, spacing)
    facts = []
    if prompts.scribbles:
        facts.append(scribble_facts(image, prompts.scribbles))
    if prompts.outlines:
        facts.append(outline_facts(image, prompts.outlines))
    if prompts.slice_mask is not None:
        facts.append(slice_mask_facts(prompts.slice_mask, spacing))
    if prompts.boxes:
        facts.append(box_facts(image, prompts.boxes))
    if prompts.recist is not None:
        facts.append(recist_facts(image, prompts.recist))
    return combine_facts(tuple(int(n) for n in shape), spacing, positive, negative, facts,
                         prompts.kinds)


def combine_facts(shape: tuple[int, int, int], spacing: np.ndarray, positive: np.ndarray,
                  negative: np.ndarray, facts: list[PromptFacts],
                  kinds: tuple[str, ...]) -> PromptSeeds:
    """One ``PromptSeeds`` from clicks (continuous indices) and the other kinds' facts.

    Clicks alone follow the six-point protocol and bound the lesion on every side; beside other
    prompts they are corrections, which say only that the lesion reaches them."""
    positive = np.asarray(positive, dtype=float).reshape(-1, 3)
    negative = np.asarray(negative, dtype=float).reshape(-1, 3)
    background = _distinct([f.background for f in facts], shape)
    tumour = _without(_distinct([f.tumour for f in facts], shape), background, shape)
    weak = _without(_distinct([f.weak_tumour for f in facts], shape),
                    np.concatenate([background, tumour]), shape)
    if not (len(positive) or len(tumour) or len(weak)):
        raise InputError(NO_TUMOUR_EVIDENCE)
    pieces = [piece for f in facts for piece in f.extent]
    if len(positive):
        pieces.append(ExtentPiece.of(positive.min(axis=0), positive.max(axis=0), not facts))
    for voxels in (tumour, weak):  # evidence a piece may not cover (a stroke's far end)
        if len(voxels):
            pieces.append(ExtentPiece.of(voxels.min(axis=0), voxels.max(axis=0), False))
    extent = combine_extent(pieces, np.asarray(spacing, dtype=float), np.asarray(shape))
    if not facts:
        extent = replace(extent, clicks=True)
    return PromptSeeds(shape, positive, negative, tumour, background, weak, extent, kinds)


def combine_extent(pieces: list[ExtentPiece], spacing: np.ndarray,
                   shape: np.ndarray) -> PromptExtent:
    """The union of the pieces; a side is bounded when the piece reaching furthest there bounds
    it. Unbounded sides start from a prior, and the pipeline grows the volume of interest from
    there while the mask reaches its border:

    * beside a bounded axis (a box, a RECIST line, an outline in its plane), an unbounded side
      reaches at least half the largest bounded edge (mm) from the extent's middle: the lesion
      taken as deep as it is wide;
    * with no bounded axis (strokes inside the tumour, corrective clicks), each unbounded side
      reaches at least the largest edge from the middle: a stroke short of the tumour's border
      spans about half of it."""
    lows = np.stack([p.lo for p in pieces])
    highs = np.stack([p.hi for p in pieces])
    flags = np.stack([p.bounded for p in pieces])
    lo, hi = lows.min(axis=0), highs.max(axis=0)
    bounded = np.stack([(flags[:, :, 0] & (lows <= lo + 1e-9)).any(axis=0),
                        (flags[:, :, 1] & (highs >= hi - 1e-9)).any(axis=0)], axis=1)
    if not bounded.all():
        edges_mm = (hi - lo) * spacing
        both = bounded.all(axis=1)
        reach_mm = edges_mm[both].max() / 2.0 if both.any() else edges_mm.max()
        middle = (lo + hi) / 2.0
        lo = np.where(bounded[:, 0], lo, np.minimum(lo, middle - reach_mm / spacing))
        hi = np.where(bounded[:, 1], hi, np.maximum(hi, middle + reach_mm / spacing))
    lo = np.clip(lo, -0.5, shape - 0.5)
    hi = np.clip(hi, -0.5, shape - 0.5)
    return PromptExtent(lo, hi, bounded)


def _distinct(parts: list[np.ndarray], shape) -> np.ndarray:
    """The voxels once each, in array order (a sort: ``np.unique``'s hashing is 10x slower on
    the 10^5-10^6 voxels of annotated slices)."""
    voxels = np.concatenate([no_voxels(), *parts]).astype(np.int64)
    flat = np.sort(np.ravel_multi_index(tuple(voxels.T), tuple(shape)))
    flat = flat[np.concatenate([[True], flat[1:] != flat[:-1]])] if len(flat) else flat
    return np.stack(np.unravel_index(flat, tuple(shape)), axis=1).astype(np.int64)


def _without(voxels: np.ndarray, remove: np.ndarray, shape) -> np.ndarray:
    if not len(voxels) or not len(remove):
        return voxels
    keep = ~np.isin(np.ravel_multi_index(tuple(voxels.T), tuple(shape)),
                    np.ravel_multi_index(tuple(remove.T), tuple(shape)))
    return voxels[keep]


def _dense(voxels: np.ndarray, region: tuple[slice, slice, slice]) -> np.ndarray:
    """Bool array over ``region`` with the voxels that lie in it set."""
    start = np.array([s.start for s in region])
    size = np.array([s.stop - s.start for s in region])
    out = np.zeros(tuple(size), dtype=bool)
    local = voxels - start
    inside = np.all((local >= 0) & (local < size), axis=1)
    out[tuple(local[inside].T)] = True
    return out


def _voxels_on_grid(voxels: np.ndarray, grid: ModelGrid,
                    region: tuple[slice, slice, slice]) -> np.ndarray:
    """(size, size, size) bool: grid voxels whose centre lies in one of ``voxels`` (pulled), or
    nearest to one's centre (pushed); see ``PromptSeeds.on_grid``."""
    size = grid.size
    out = np.zeros((size,) * 3, dtype=bool)
    if not len(voxels):
        return out
    pushed = np.rint(grid.image_to_grid_index(voxels.astype(float))).astype(np.int64)
    pushed = pushed[np.all((pushed >= 0) & (pushed < size), axis=1)]
    out[tuple(pushed.T)] = True
    crop = _dense(voxels, region)
    centres = grid.grid_to_image_index(np.repeat(np.arange(size, dtype=float)[:, None], 3, 1))
    picks, valid = [], []
    for axis, sl in enumerate(region):
        local = np.rint(centres[:, axis]).astype(np.int64) - sl.start
        valid.append((local >= 0) & (local < crop.shape[axis]))
        picks.append(np.clip(local, 0, max(crop.shape[axis] - 1, 0)))
    if min(crop.shape) > 0:
        pulled = crop[np.ix_(*picks)] & (valid[0][:, None, None] & valid[1][None, :, None]
                                         & valid[2][None, None, :])
        out |= pulled
    return out
