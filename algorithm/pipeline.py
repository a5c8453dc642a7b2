"""From an image and world-coordinate prompts to a mask on the image's own grid.

1. prompts -> continuous voxel indices and seed voxels on the image grid (exact, any direction
   cosines; ``algorithm.prompts.seeds``); reject points outside; clicks the user placed on the
   boundary move to the protocol's depth (``click_convention``);
2. volume of interest from the prompts' extent (for clicks alone: the positive clicks), mapped
   onto an isotropic model grid, with the seed voxels;
3. only that grid is resampled and normalised; the segmenter predicts a probability;
4. while the lesion touches the grid border inside the image, the VOI grows and step 3 repeats;
5. the probability goes back to the image grid by linear interpolation, is cut at the model
   card's threshold (0.5 for the classical method and unless a card says otherwise) and
   cleaned up (components at the clicks and seeds, holes filled, each click's and seed's voxel
   labelled as the user said).

Clicks alone (a ``Clicks``, or a ``PromptSet`` of clicks only) take exactly the path they took
before other prompt kinds existed: no seeds reach the grid or the clean-up.

Every entry point runs ``segment``; an interactive server keeps a ``PreparedImage`` per image
and calls ``segment_prepared``, the same code path, so the image's modality and its model-grid
inputs are computed once for all the prompts that reuse them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from algorithm.confidence import agreement
from algorithm.errors import InputError
from algorithm.geometry import (
    Box, ModelGrid, VoiConfig, grid_to_image, mask_to_grid, resample_to_grid, shape_zyx,
    spacing_zyx,
)
from algorithm.methods.base import GridCase, Segmenter
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.prompt_kinds import untrained_kinds_warning
from algorithm.methods.select import model_version
from algorithm.plausibility import implausibility
from algorithm.postprocessing import postprocess
from algorithm.preprocessing import Modality, detect_modality, normalise, outside_value
from algorithm.prompts import Clicks
from algorithm.prompts.prompt_set import PromptSet
from algorithm.prompts.seeds import PromptSeeds, prompt_seeds


@dataclass(frozen=True)
class PipelineConfig:
    voi: VoiConfig = VoiConfig()
    max_grow_steps: int = 3
    grow_fraction: float = 0.5  #: of the VOI's extent, added on each side the lesion touches
    #: the user's extreme clicks lie on the tumour's boundary, not the protocol's 5 voxels inside
    clicks_on_boundary: bool = False
    #: score the answer (``SegmentationResult.confidence``): one classical prediction on the
    #: final grid, about a tenth of a second of CPU, so only the entry points that report it
    #: (the platform case, ``lesionseg rank``, ``serve --confidence``) ask for it
    confidence: bool = False
    #: seconds of image-specific fine-tuning of a copy of the network on this case
    #: (``algorithm.fine_tune``); 0: none. Its answer is kept only when it agrees better with
    #: the user's prompts, and ``SegmentationResult.fine_tune`` says which was kept
    fine_tune_seconds: float = 0.0


@dataclass
class SegmentationResult:
    mask: np.ndarray  #: uint8 (z, y, x) on the input image's grid
    modality: Modality
    grow_steps: int
    grid_spacing_mm: tuple[float, float, float]  #: (z, y, x)
    #: why the mask looks implausible for its prompts (``algorithm.plausibility``), or that the
    #: network was not trained for some prompt kind (``methods.prompt_kinds``); empty if neither
    warnings: tuple[str, ...] = ()
    #: the lesion probability (float32) on the image grid, inside ``region`` only: outside it
    #: the probability is 0, and a full-size float copy of a large CT would cost gigabytes
    probability: np.ndarray | None = None
    region: tuple[slice, slice, slice] | None = None
    #: how far to trust the mask, in [0, 1]: its DSC with the classical method's answer to the
    #: same prompts on the same grid (``algorithm.confidence``; a ranking of cases, not a
    #: calibrated DSC); None for the classical method itself or when not asked for
    confidence: float | None = None
    #: what image-specific fine-tuning did (``algorithm.fine_tune.FineTuneReport``), when asked
    fine_tune: object | None = None
    #: the segmenter that answered (behind a prompt router, the one this case was routed to)
    #: and its model card's version ("classical" without a network): the output's provenance
    method: str = ""
    model_version: str = ""

    def probability_image(self) -> np.ndarray:
        """The probability on the whole image grid, (z, y, x) float32 (0 outside the region)."""
        full = np.zeros(self.mask.shape, dtype=np.float32)
        if self.probability is not None and self.region is not None:
            full[self.region] = self.probability
        return full


@dataclass
class PreparedImage:
    """An image with what segmenting it again reuses: its modality and the normalised model-grid
    inputs of the last ``cache_size`` grids (a corrective click that leaves the VOI as it was
    needs no new crop, block average or resampling of the image)."""

    image: sitk.Image
    modality: Modality
    cache_size: int = 0
    _inputs: OrderedDict = field(default_factory=OrderedDict, repr=False, compare=False)

    @classmethod
    def of(cls, image: sitk.Image, modality: Modality | None = None,
           cache_size: int = 0) -> "PreparedImage":
        return cls(image, modality or detect_modality(image), cache_size)

    def model_input(self, grid: ModelGrid) -> np.ndarray:
        """The image resampled to ``grid`` and normalised, float32 (a copy the caller owns)."""
        key = (tuple(grid.centre_index.tolist()), tuple(grid.grid_spacing.tolist()), grid.size)
        cached = self._inputs.get(key)
        if cached is None:
            raw = resample_to_grid(self.image, grid, default=outside_value(self.modality))
            cached = normalise(raw, self.modality)
            if self.cache_size > 0:
                self._inputs[key] = cached
                while len(self._inputs) > self.cache_size:
                    self._inputs.popitem(last=False)
        else:
            self._inputs.move_to_end(key)
        return cached.copy()


def segment(
    image: sitk.Image,
    prompts: Clicks | PromptSet,
    segmenter: Segmenter,
    *,
    modality: Modality | None = None,
    previous_mask: sitk.Image | None = None,
    config: PipelineConfig = PipelineConfig(),
) -> SegmentationResult:
    """``prompts``: clicks, or any prompt kinds (``algorithm.prompts.prompt_set.PromptSet``)."""
    _require_tumour_click(prompts)
    return segment_prepared(PreparedImage.of(image, modality), prompts, segmenter,
                            previous_mask=previous_mask, config=config)


def segment_prepared(
    prepared: PreparedImage,
    prompts: Clicks | PromptSet,
    segmenter: Segmenter,
    *,
    previous_mask: sitk.Image | np.ndarray | None = None,
    config: PipelineConfig = PipelineConfig(),
) -> SegmentationResult:
    """``segment`` on an image prepared once (``PreparedImage``), for many prompts; the previous
    mask may be a (z, y, x) array on the image's grid (no whole-image copy)."""
    image, modality = prepared.image, prepared.modality
    shape, spacing = shape_zyx(image), spacing_zyx(image)
    _require_tumour_click(prompts)
    # LPS world mm -> image indices, refused if outside; the moved boundary clicks are the ones
    # honoured, so no lone voxels
    seeds = prompt_seeds(image, prompts, clicks_on_boundary=config.clicks_on_boundary)
    positive, negative = seeds.positive_clicks, seeds.negative_clicks
    box = seeds.extent.voi(spacing, config.voi)
    for step in range(config.max_grow_steps + 1):
        grid = ModelGrid.around(box, spacing, segmenter.grid_size)
        case = GridCase(
            image=prepared.model_input(grid),
            positive=grid.image_to_grid_index(positive),
            negative=grid.image_to_grid_index(negative),
            voi_lo=grid.image_to_grid_index(box.lo),
            voi_hi=grid.image_to_grid_index(box.hi),
            spacing=grid.relative_spacing,
            previous_mask=_previous_on_grid(previous_mask, grid, image),
            seeds=seeds.on_grid(grid),
            voi_bounded=None if seeds.clicks_only else seeds.extent.bounded,
        )
        prob = segmenter.predict(case)
        # grown where the answer's mask would reach a face: a first answer cut below 0.5 (a
        # box's, say) reaches further than the 0.5 cut
        grow_cut = 0.5 if previous_mask is not None else min(
            0.5, first_answer_threshold(segmenter, case))
        touching = (_touching_faces(prob > grow_cut, case.voi_lo, case.voi_hi)
                    & _faces_inside(box, shape))
        if not touching.any() or step == config.max_grow_steps:
            break
        box = _grow(box, touching, shape, config.grow_fraction)
    fine_tuned, fine_tune_warning = None, ()
    if config.fine_tune_seconds > 0:
        prob, fine_tuned, fine_tune_warning = _fine_tuned(segmenter, case, prob,
                                                          config.fine_tune_seconds)
    region, prob_image = grid_to_image(prob, grid, image)
    start = np.asarray([s.start for s in region], dtype=float)
    # the VOI grew on the 0.5 cut or a lower first-answer cut; a first answer is the cut the
    # weights' card chose, and a refinement the 0.5 cut, as training fed previous masks (a
    # higher cut fed back shrinks the mask step by step: README, "The shipped model")
    answering = answering_segmenter(segmenter, case)
    threshold = first_answer_threshold(segmenter, case) if previous_mask is None else 0.5
    local = _clean_up(prob_image > threshold, seeds, tuple(region), start)
    mask = np.zeros(tuple(shape), dtype=np.uint8)
    mask[region] = local
    confidence = None
    if config.confidence and segmenter.name != "classical":
        classical = GeodesicSegmenter(grid_size=segmenter.grid_size,
                                      device=_device_type(segmenter))
        _, other = grid_to_image(classical.predict(case), grid, image)
        confidence = agreement(local, _clean_up(other > 0.5, seeds, tuple(region), start))
    return SegmentationResult(mask, modality, step, tuple(float(v) for v in grid.grid_spacing),
                              tuple(_implausibility(mask, seeds, spacing))
                              + _untrained(segmenter, seeds) + fine_tune_warning,
                              probability=prob_image.astype(np.float32, copy=False),
                              region=tuple(region), confidence=confidence, fine_tune=fine_tuned,
                              method=answering.name, model_version=model_version(answering))


def _fine_tuned(segmenter: Segmenter, case: GridCase, prob: np.ndarray, seconds: float):
    """(probability, report, warnings) of image-specific fine-tuning on the final grid."""
    from algorithm.fine_tune import find_network, fine_tune

    network = find_network(segmenter, case)
    if network is None:
        return prob, None, ("fine-tuning was skipped: it tunes the network alone, and this "
                            f"answer comes from {segmenter.name}",)
    prob, report = fine_tune(network, case, prob, seconds)
    return prob, report, ()


def _device_type(segmenter: Segmenter) -> str:
    device = getattr(segmenter, "device", None)
    return getattr(device, "type", None) or (device if isinstance(device, str) else "cpu")


def _require_tumour_click(prompts: Clicks | PromptSet) -> None:
    """Clicks alone need a tumour click (other prompts are checked for tumour evidence when
    they are mapped onto the image)."""
    clicks = prompts if isinstance(prompts, Clicks) else (
        prompts.clicks if prompts.kinds == ("clicks",) else None)
    if clicks is not None and len(clicks.positive) == 0:
        raise InputError("at least one positive ('tumor') click is needed")


def _clean_up(mask: np.ndarray, seeds: PromptSeeds, region: tuple[slice, slice, slice],
              start: np.ndarray) -> np.ndarray:
    """``postprocess`` on the region, with the seeds honoured when there are any."""
    positive, negative = seeds.positive_clicks - start, seeds.negative_clicks - start
    if seeds.clicks_only:
        return postprocess(mask, positive, negative)
    tumour, background = seeds.region_masks(region)
    return postprocess(mask, positive, negative, tumour_seeds=tumour,
                       background_seeds=background, anchors=seeds.weak_tumour - start)


def _implausibility(mask: np.ndarray, seeds: PromptSeeds, spacing: np.ndarray) -> list[str]:
    """Clicks alone are judged by the click protocol; other prompts by their extent."""
    if seeds.clicks_only:
        return implausibility(mask, seeds.positive_clicks, spacing)
    return implausibility(mask, np.stack([seeds.extent.lo, seeds.extent.hi]), spacing,
                          prompts="prompts")


def _untrained(segmenter: Segmenter, seeds: PromptSeeds) -> tuple[str, ...]:
    warning = untrained_kinds_warning(segmenter, seeds.kinds)
    return () if warning is None else (warning,)


def _touching_faces(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(3, 2) bool: does the mask reach (within a voxel) the VOI's low/high face per axis?"""
    faces = np.zeros((3, 2), dtype=bool)
    if not mask.any():
        return faces
    for axis in range(3):
        present = np.flatnonzero(mask.any(axis=tuple(b for b in range(3) if b != axis)))
        faces[axis, 0] = present.min() <= lo[axis] + 1.0
        faces[axis, 1] = present.max() >= hi[axis] - 1.0
    return faces


def _faces_inside(box: Box, shape: np.ndarray) -> np.ndarray:
    """(3, 2) bool: can the VOI still grow past its low/high face along each axis?"""
    return np.stack([box.lo > 0.0, box.hi < np.asarray(shape) - 1.0], axis=1)


def _grow(box: Box, touching: np.ndarray, shape: np.ndarray, fraction: float) -> Box:
    extent = box.hi - box.lo
    lo = np.where(touching[:, 0], box.lo - fraction * extent, box.lo)
    hi = np.where(touching[:, 1], box.hi + fraction * extent, box.hi)
    return Box(lo=np.maximum(lo, -0.5), hi=np.minimum(hi, np.asarray(shape) - 0.5))


def _previous_on_grid(previous: sitk.Image | np.ndarray | None, grid: ModelGrid,
                      image: sitk.Image):
    """The previous mask on the grid exactly as training built its targets."""
    if previous is None:
        return None
    size = previous.shape[::-1] if isinstance(previous, np.ndarray) else previous.GetSize()
    if tuple(size) != tuple(image.GetSize()):
        raise InputError("the previous mask does not have the image's size")
    return mask_to_grid(previous, grid, like=image).astype(np.float32)


def answering_segmenter(segmenter: Segmenter, case: GridCase) -> Segmenter:
    """``segmenter`` itself, or, behind a prompt router, the one it sends this case to."""
    route = getattr(segmenter, "route", None)
    return segmenter if route is None else answering_segmenter(route(case), case)


def first_answer_threshold(segmenter: Segmenter, case: GridCase) -> float:
    """The cut of a first answer: the card's of the segmenter that answers this case (behind a
    prompt router, the route's; 0.5 for the classical method), or the lowest of its card's cuts
    for the prompt kinds this case holds."""
    answering = answering_segmenter(segmenter, case)
    by_kind = getattr(answering, "kind_thresholds", None) or {}
    kinds = () if case.seeds is None else case.seeds.kinds
    cuts = [by_kind[k] for k in kinds if k in by_kind]
    return float(min(cuts) if cuts else getattr(answering, "threshold", 0.5))
