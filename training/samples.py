"""One training sample: simulate a user, then build exactly what inference builds.

Clicks are simulated on the lesion (``training.interaction``); the VOI, the model grid, the
resampling, the normalisation and the guidance encoding are the algorithm's own functions, so
training and inference cannot drift apart. A share of samples simulates refinement: a flawed
previous mask plus error-driven corrective clicks, so one network serves both steps.

With ``prompt_kinds`` beyond clicks, each sample draws its kind (``training.prompt_simulation``):
the drawing becomes seeds through the product's own ``prompt_seeds``, the VOI comes from their
extent (grown across any side no prompt bounds until it holds the lesion, as the pipeline's
growth would), and the seeds reach the guidance through ``network_input``, as at inference.
Clicks alone (the default) draw exactly what they drew before kinds existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from algorithm.errors import InputError
from algorithm.geometry import Box, ModelGrid, mask_to_grid, resample_to_grid, voi_from_clicks
from algorithm.guidance.network_input import network_input
from algorithm.methods.base import GridSeeds
from algorithm.network.model_card import GuidanceSettings
from algorithm.preprocessing import normalise, outside_value
from algorithm.prompts.seeds import PromptSeeds, prompt_seeds
from training.augment import augment_intensity, random_flip
from training.interaction import (
    ClickSimulationConfig, append_click, corrective_click, simulate_initial_clicks,
)
from training.prompt_simulation import PromptSimulationConfig, SimulationFailure, simulate_prompt
from training.sources import LesionExample


@dataclass(frozen=True)
class SampleConfig:
    grid_size: int = 64
    p_refine: float = 0.3
    max_corrections: int = 3
    voi_scale_jitter: float = 0.1  #: random relative change of the VOI size
    clicks: ClickSimulationConfig = field(default_factory=ClickSimulationConfig)
    guidance: GuidanceSettings = field(default_factory=GuidanceSettings)
    augment: bool = True
    #: the prompt kinds samples draw from (``algorithm.prompts.prompt_set.PROMPT_KINDS``)
    prompt_kinds: tuple[str, ...] = ("clicks",)
    #: how often each is drawn (None: equally often)
    prompt_kind_weights: tuple[float, ...] | None = None
    prompts: PromptSimulationConfig = field(default_factory=PromptSimulationConfig)

    def __post_init__(self) -> None:
        weights = self.prompt_kind_weights
        if weights is not None and (len(weights) != len(self.prompt_kinds)
                                    or not all(w > 0 for w in weights)):
            raise ValueError(f"prompt_kind_weights must be one weight > 0 per kind "
                             f"{self.prompt_kinds}, got {weights}")


def as_image(example: LesionExample) -> sitk.Image:
    image = sitk.GetImageFromArray(example.image)
    image.SetSpacing(tuple(float(s) for s in example.spacing[::-1]))
    return image


@dataclass
class GridSample:
    """One simulated interaction on the model grid, before encoding: what a refinement loop
    (``training.self_refinement``) may still change by adding clicks and a previous mask."""

    image: np.ndarray  #: normalised (and intensity-augmented) grid, (P, P, P) float32
    target: np.ndarray  #: (P, P, P) bool
    positive: np.ndarray  #: (N, 3) continuous grid indices
    negative: np.ndarray  #: (M, 3)
    spacing: np.ndarray  #: the grid's relative voxel size
    previous: np.ndarray | None = None  #: (P, P, P) float32 in [0, 1]
    seeds: GridSeeds | None = None  #: prompts other than clicks on the grid (None: clicks only)
    kind: str = "clicks"  #: the prompt kind simulated


def draw_grid_sample(example: LesionExample, rng: np.random.Generator,
                     config: SampleConfig | None = None) -> GridSample:
    """Initial clicks, VOI, model grid, resampling and normalisation exactly as inference does;
    with probability ``p_refine`` a synthetic flawed previous mask and corrections on top."""
    config = config or SampleConfig()
    spacing = example.spacing
    image = as_image(example)
    kind = draw_prompt_kind(config, rng)
    seeds = None
    if kind != "clicks":
        try:
            seeds = prompt_seeds(image, simulate_prompt(kind, example.mask, image, rng,
                                                        config.prompts))
        except (SimulationFailure, InputError):
            kind = "clicks"  # nothing of that kind fits this lesion: a user would click
    if seeds is None:
        clicks = simulate_initial_clicks(example.mask, spacing, rng, config.clicks).astype(float)
        box = voi_from_clicks(clicks, spacing)
    else:
        clicks = seeds.positive_clicks
        box = voi_holding_lesion(seeds, example.mask, spacing)
    if config.voi_scale_jitter:
        scale = 1.0 + rng.uniform(-config.voi_scale_jitter, config.voi_scale_jitter)
        half = (box.hi - box.lo) / 2 * scale
        box = type(box)(lo=box.centre - half, hi=box.centre + half)
    grid = ModelGrid.around(box, spacing, config.grid_size)
    raw = resample_to_grid(image, grid, default=outside_value(example.modality))
    mask_image = sitk.GetImageFromArray(example.mask.astype(np.uint8))
    mask_image.CopyInformation(image)
    target = mask_to_grid(mask_image, grid)
    norm = normalise(raw, example.modality)
    if config.augment:
        norm = augment_intensity(norm, rng)
    sample = GridSample(norm, target, grid.image_to_grid_index(clicks), np.zeros((0, 3)),
                        grid.relative_spacing, seeds=None if seeds is None else seeds.on_grid(grid),
                        kind=kind)
    if target.any() and rng.random() < config.p_refine:
        previous = flawed_prediction(target, sample.positive, rng)
        sample.positive, sample.negative = add_corrections(
            previous, target, sample.positive, sample.negative, sample.spacing, rng,
            config.max_corrections)
        sample.previous = previous.astype(np.float32)
    return sample


def draw_prompt_kind(config: SampleConfig, rng: np.random.Generator) -> str:
    """This sample's prompt kind; one kind draws nothing (so clicks alone keep their stream)."""
    if len(config.prompt_kinds) == 1:
        return config.prompt_kinds[0]
    weights = np.asarray(config.prompt_kind_weights or [1.0] * len(config.prompt_kinds), float)
    return config.prompt_kinds[int(rng.choice(len(weights), p=weights / weights.sum()))]


def voi_holding_lesion(seeds: PromptSeeds, mask: np.ndarray, spacing: np.ndarray) -> Box:
    """The VOI of the prompts' extent, its sides that no prompt bounds moved out to the lesion's
    far voxel plus a voxel: where the pipeline's growth (while the mask reaches an unbounded
    face) would take it for a network that finds the lesion."""
    box = seeds.extent.voi(spacing)
    cells = np.argwhere(mask)
    if not len(cells):
        return box
    bounded = seeds.extent.bounded
    lo = np.where(bounded[:, 0], box.lo, np.minimum(box.lo, cells.min(axis=0) - 1.0))
    hi = np.where(bounded[:, 1], box.hi, np.maximum(box.hi, cells.max(axis=0) + 1.0))
    shape = np.asarray(mask.shape)
    return Box(lo=np.maximum(lo, -0.5), hi=np.minimum(hi, shape - 0.5))


def encode_sample(sample: GridSample, guidance: GuidanceSettings) -> np.ndarray:
    """The network input exactly as ``NetworkSegmenter.predict`` builds it."""
    return network_input(sample.image, sample.positive, sample.negative, sample.previous,
                         sample.spacing, sample.seeds, guidance)


def finish_sample(sample: GridSample, rng: np.random.Generator,
                  config: SampleConfig) -> tuple[np.ndarray, np.ndarray]:
    """Encode and flip: (x (C, P, P, P) float32, y (P, P, P) uint8)."""
    x, y = encode_sample(sample, config.guidance), sample.target.astype(np.uint8)
    if config.augment:
        x, y = random_flip(x, y, rng)
    return x, y


def make_sample(example: LesionExample, rng: np.random.Generator,
                config: SampleConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x (C, P, P, P) float32, y (P, P, P) uint8) for one lesion example."""
    config = config or SampleConfig()
    return finish_sample(draw_grid_sample(example, rng, config), rng, config)


def flawed_prediction(target: np.ndarray, clicks: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """A plausible first prediction: the lesion grown, shrunk, shifted, leaking or cut; never
    identical to the lesion (there would be nothing to correct)."""
    for _ in range(10):
        out = _flaw(target, rng)
        if (out != target).any():
            return out
    return ndimage.binary_dilation(target)


def _flaw(target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kind = rng.choice(["dilate", "erode", "shift", "leak", "cut"])
    out = target.copy()
    if kind == "dilate":
        out = ndimage.binary_dilation(target, iterations=int(rng.integers(1, 4)))
    elif kind == "erode":
        out = ndimage.binary_erosion(target, iterations=int(rng.integers(1, 4)))
    elif kind == "shift":
        out = np.roll(target, tuple(int(v) for v in rng.integers(-3, 4, 3)), axis=(0, 1, 2))
    elif kind == "leak":
        centre = np.argwhere(target)[int(rng.integers(target.sum()))]
        zz, yy, xx = np.indices(target.shape)
        radius = rng.uniform(3, 10)
        offset = rng.normal(0, radius, 3)
        blob = ((zz - centre[0] - offset[0]) ** 2 + (yy - centre[1] - offset[1]) ** 2
                + (xx - centre[2] - offset[2]) ** 2) < radius**2
        out = target | blob
    else:
        axis = int(rng.integers(3))
        coords = np.flatnonzero(target.any(axis=tuple(a for a in range(3) if a != axis)))
        cut = int(rng.integers(coords.min(), coords.max() + 1))
        index = [slice(None)] * 3
        index[axis] = slice(cut, None) if rng.random() < 0.5 else slice(None, cut)
        out[tuple(index)] = False
    return out


def add_corrections(previous, target, positive, negative, spacing, rng, max_corrections):
    """Error-driven clicks, as a user correcting ``previous`` would place them."""
    for _ in range(int(rng.integers(1, max_corrections + 1))):
        click = corrective_click(previous, target, spacing)
        if click is None:
            break
        positive, negative = append_click(positive, negative, click)
        # later clicks address the remaining errors: mark this error as handled
        component = _component_at(previous != target, click[0])
        previous = np.where(component, target, previous)
    return positive, negative


def _component_at(errors: np.ndarray, point: np.ndarray) -> np.ndarray:
    labels, _ = ndimage.label(errors, structure=np.ones((3, 3, 3), bool))
    value = labels[tuple(np.asarray(point, dtype=int))]
    return labels == value if value else np.zeros_like(errors)
