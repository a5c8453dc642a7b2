"""One training sample: simulate a user, then build exactly what inference builds.

Clicks are simulated on the lesion (``training.interaction``); the VOI, the model grid, the
resampling, the normalisation and the guidance encoding are the algorithm's own functions, so
training and inference cannot drift apart. A share of samples simulates refinement: a flawed
previous mask plus error-driven corrective clicks, so one network serves both steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from algorithm.geometry import ModelGrid, mask_to_grid, resample_to_grid, voi_from_clicks
from algorithm.guidance.encoding import encode
from algorithm.network.model_card import GuidanceSettings
from algorithm.preprocessing import normalise, outside_value
from training.augment import augment_intensity, random_flip
from training.interaction import (
    ClickSimulationConfig, append_click, corrective_click, simulate_initial_clicks,
)
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


def draw_grid_sample(example: LesionExample, rng: np.random.Generator,
                     config: SampleConfig | None = None) -> GridSample:
    """Initial clicks, VOI, model grid, resampling and normalisation exactly as inference does;
    with probability ``p_refine`` a synthetic flawed previous mask and corrections on top."""
    config = config or SampleConfig()
    spacing = example.spacing
    clicks = simulate_initial_clicks(example.mask, spacing, rng, config.clicks).astype(float)
    box = voi_from_clicks(clicks, spacing)
    if config.voi_scale_jitter:
        scale = 1.0 + rng.uniform(-config.voi_scale_jitter, config.voi_scale_jitter)
        half = (box.hi - box.lo) / 2 * scale
        box = type(box)(lo=box.centre - half, hi=box.centre + half)
    grid = ModelGrid.around(box, spacing, config.grid_size)
    image = as_image(example)
    raw = resample_to_grid(image, grid, default=outside_value(example.modality))
    mask_image = sitk.GetImageFromArray(example.mask.astype(np.uint8))
    mask_image.CopyInformation(image)
    target = mask_to_grid(mask_image, grid)
    norm = normalise(raw, example.modality)
    if config.augment:
        norm = augment_intensity(norm, rng)
    sample = GridSample(norm, target, grid.image_to_grid_index(clicks), np.zeros((0, 3)),
                        grid.relative_spacing)
    if target.any() and rng.random() < config.p_refine:
        previous = flawed_prediction(target, sample.positive, rng)
        sample.positive, sample.negative = add_corrections(
            previous, target, sample.positive, sample.negative, sample.spacing, rng,
            config.max_corrections)
        sample.previous = previous.astype(np.float32)
    return sample


def encode_sample(sample: GridSample, guidance: GuidanceSettings) -> np.ndarray:
    return encode(sample.image, sample.positive, sample.negative, sample.previous,
                  spacing=sample.spacing, intensity_weight=guidance.geodesic_intensity_weight,
                  geodesic_scale=guidance.geodesic_scale, click_sigma=guidance.click_sigma,
                  channels=guidance.channels)


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
