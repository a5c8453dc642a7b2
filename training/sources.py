"""Where training lesions come from: real labelled cases, and synthetic lesions placed in real
anatomy (CT in Hounsfield units needs soft-tissue lesions that the dev data lacks).

Every source yields ``LesionExample``s in memory; the grid sampling that turns one into a network
input lives in ``training.samples`` and uses the algorithm's own geometry and preprocessing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import SimpleITK as sitk

from algorithm.preprocessing import Modality, detect_modality
from training.datasets import Case, load_case
from training.synthesis import LesionSynthesisConfig, generate_lesion_sample, transplant_lesion


@dataclass
class LesionExample:
    image: np.ndarray  #: float32 (z, y, x)
    mask: np.ndarray  #: bool, one lesion
    spacing: np.ndarray  #: mm (z, y, x)
    modality: Modality  #: as the algorithm would detect it (pre-windowed CT counts as MR)
    source: str


class Source(Protocol):
    def draw(self, rng: np.random.Generator) -> LesionExample: ...


@dataclass
class LoadedCase:
    case: Case
    images: list[np.ndarray]  #: one per channel / sequence, float32
    mask: np.ndarray
    spacing: np.ndarray
    modality: Modality
    #: indices of the images whose appearance shows the label's boundary (all unless excluded)
    labelled: tuple[int, ...]

    def labelled_image(self, rng: np.random.Generator) -> np.ndarray:
        """One of the images the label may be learnt from."""
        return self.images[self.labelled[int(rng.integers(len(self.labelled)))]]


def load_cases(cases: list[Case], exclude_channels: tuple[str, ...] = ()) -> list[LoadedCase]:
    """``exclude_channels``: channel names whose images do not show what the label marks (e.g.
    BraTS whole-tumour labels, oedema included, on T1c): those images then never carry the label
    in training, and serve only as anatomy for synthetic lesions."""
    named = {name for case in cases for name in case.channel_names}
    unknown = sorted(set(exclude_channels) - named)
    if unknown:
        raise ValueError(f"no case has a channel named {', '.join(unknown)} (channels: "
                         f"{', '.join(sorted(named)) or 'unnamed'})")
    loaded = []
    for case in cases:
        images, label = load_case(case)
        modality = detect_modality(images[0])
        arrays = [sitk.GetArrayFromImage(im).astype(np.float32) for im in images]
        mask = sitk.GetArrayFromImage(label).astype(bool)
        spacing = np.asarray(images[0].GetSpacing(), dtype=float)[::-1]
        names = case.channel_names or tuple(str(i) for i in range(len(images)))
        labelled = tuple(i for i, name in enumerate(names) if name not in exclude_channels)
        if not labelled:
            raise ValueError(f"{case.case_id}: every channel ({', '.join(names)}) is excluded "
                             "from carrying the label; keep at least one")
        loaded.append(LoadedCase(case, arrays, mask, spacing, modality, labelled))
    return loaded


def sampling_weights(cases: list[Case], source_weights: dict[str, float]) -> np.ndarray | None:
    """How often each case is drawn, relative: a source's weight shared by its cases.

    Without weights (None) every case is drawn equally often, so a source of 702 nodules drowns
    one of 50 sarcomas; with weights each source gets its share whatever its size, a source
    not named getting 1.
    """
    if not source_weights:
        return None
    counts = Counter(c.source for c in cases)
    return np.array([source_weights.get(c.source, 1.0) / counts[c.source] for c in cases])


def _pick(n: int, weights: np.ndarray | None, rng: np.random.Generator) -> int:
    """Uniform draws keep the random stream of runs that predate weights."""
    if weights is None:
        return int(rng.integers(n))
    return int(rng.choice(n, p=weights / weights.sum()))


@dataclass
class RealLesions:
    """Labelled lesions as they are; each image of a multi-sequence case is its own sample, so
    the network learns lesions across MRI sequences. ``weights``: relative draw frequency of
    each case (``sampling_weights``); None draws them uniformly."""

    cases: list[LoadedCase]
    weights: np.ndarray | None = None

    def draw(self, rng: np.random.Generator) -> LesionExample:
        c = self.cases[_pick(len(self.cases), self.weights, rng)]
        return LesionExample(c.labelled_image(rng), c.mask, c.spacing, c.modality,
                             f"real:{c.case.case_id}")


@dataclass
class Background:
    image: np.ndarray
    spacing: np.ndarray
    modality: Modality
    avoid: np.ndarray | None
    name: str
    weight: float = 1.0  #: relative draw frequency


def backgrounds_from(cases: list[LoadedCase], extra: list[Path] = (),
                     case_weights: np.ndarray | None = None,
                     extra_weight: float = 1.0) -> list[Background]:
    """Training cases away from their lesions, plus lesion-free volumes such as a brain template.

    Unweighted (``case_weights`` None) every image is one background, as drawn before weights
    existed. Weighted, a case's weight is shared by its images and the ``extra`` volumes share
    ``extra_weight``, so the backgrounds follow the sources' shares too.
    """
    out = []
    for k, c in enumerate(cases):
        w = 1.0 if case_weights is None else float(case_weights[k]) / len(c.images)
        out += [Background(c.images[i], c.spacing, c.modality, c.mask,
                           f"{c.case.case_id}[{i}]", w) for i in range(len(c.images))]
    for path in extra:
        image = sitk.ReadImage(str(path))
        w = 1.0 if case_weights is None else extra_weight / len(extra)
        out.append(Background(sitk.GetArrayFromImage(image).astype(np.float32),
                              np.asarray(image.GetSpacing(), dtype=float)[::-1],
                              detect_modality(image), None, Path(path).name, w))
    return out


@dataclass
class SyntheticLesions:
    """A synthetic lesion, or a real one transplanted, inserted into a random crop of a
    background. Crops keep insertion fast and vary the anatomy around each lesion."""

    backgrounds: list[Background]
    donors: list[LoadedCase]
    crop_mm: float = 160.0
    p_transplant: float = 0.25
    synthesis: LesionSynthesisConfig | None = None  #: the generator's ranges (its defaults if None)
    #: relative draw frequency of each donor (``sampling_weights``); None: uniform
    donor_weights: np.ndarray | None = None

    max_tries: int = 8

    def __post_init__(self) -> None:
        weights = np.array([b.weight for b in self.backgrounds])
        uniform = len(weights) == 0 or np.all(weights == weights[0])
        self._background_weights = None if uniform else weights

    def draw(self, rng: np.random.Generator) -> LesionExample:
        """Placement can fail in a crop with too little tissue: then try another crop."""
        for _ in range(self.max_tries):
            try:
                return self._draw_once(rng)
            except RuntimeError:
                continue
        raise RuntimeError(f"no lesion could be placed in {self.max_tries} random crops")

    def _draw_once(self, rng: np.random.Generator) -> LesionExample:
        bg = self.backgrounds[_pick(len(self.backgrounds), self._background_weights, rng)]
        region = _random_crop(bg.image.shape, bg.spacing, self.crop_mm, rng)
        image = bg.image[region]
        avoid = bg.avoid[region] if bg.avoid is not None else None
        same = [k for k, d in enumerate(self.donors) if d.modality == bg.modality]
        if same and rng.random() < self.p_transplant:
            weights = None if self.donor_weights is None else self.donor_weights[same]
            donor = self.donors[same[_pick(len(same), weights, rng)]]
            src = donor.labelled_image(rng)
            out, mask = transplant_lesion(src, donor.mask, donor.spacing, image, bg.spacing,
                                          bg.modality, rng, self.synthesis, avoid_mask=avoid)
            kind = f"transplant:{donor.case.case_id}->{bg.name}"
        else:
            out, mask = generate_lesion_sample(image, bg.spacing, bg.modality, rng,
                                               self.synthesis, avoid_mask=avoid)
            kind = f"synthetic:{bg.name}"
        return LesionExample(out.astype(np.float32), mask, bg.spacing, bg.modality, kind)


def _random_crop(shape, spacing, crop_mm: float, rng: np.random.Generator):
    size = np.minimum(np.asarray(shape), np.ceil(crop_mm / np.asarray(spacing)).astype(int))
    start = [int(rng.integers(0, s - c + 1)) for s, c in zip(shape, size)]
    return tuple(slice(a, a + int(c)) for a, c in zip(start, size))


@dataclass
class Mixture:
    """Draw from each source with a fixed probability."""

    sources: list[Source]
    weights: list[float]

    def draw(self, rng: np.random.Generator) -> LesionExample:
        p = np.asarray(self.weights, dtype=float)
        return self.sources[int(rng.choice(len(self.sources), p=p / p.sum()))].draw(rng)
