"""Validation as the product runs: full pipeline on held-out patients' images, six simulated
clicks (fixed seeds), DSC on the original grid, beside the six-click ellipsoid. Any other
prompt protocol (``training.prompt_simulation.VALIDATION_PROMPTS``: an outlined slice, a box,
RECIST axes...) can be scored instead, corrective clicks then joining that prompt."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk

from algorithm.geometry import index_to_world
from algorithm.methods.base import Segmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from algorithm.prompts.prompt_set import PromptSet
from training.datasets import Case, load_case
from training.prompt_simulation import validation_prompt
from training.interaction import (
    append_click, corrective_click, ellipsoid_from_clicks, six_point_clicks,
)


@dataclass
class ValidationCase:
    case: Case
    image: sitk.Image
    mask: np.ndarray
    spacing: np.ndarray


def load_validation_cases(cases: list[Case], channel: str | None = None
                          ) -> list[ValidationCase]:
    """Each case on its first image, or on its ``channel`` where it has one by that name."""
    out = []
    for case in cases:
        images, label = load_case(case)
        image = images[case.channel_names.index(channel)
                       if channel in case.channel_names else 0]
        out.append(ValidationCase(case, image, sitk.GetArrayFromImage(label).astype(bool),
                                  np.asarray(image.GetSpacing(), dtype=float)[::-1]))
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    denom = a.sum() + b.sum()
    return float(2.0 * np.logical_and(a, b).sum() / denom) if denom else 1.0


def correct(vc: ValidationCase, segmenter: Segmenter, clicks: np.ndarray, mask: np.ndarray,
            steps: int, prompts: PromptSet | None = None) -> list[np.ndarray]:
    """Simulate ``steps`` error-driven corrective clicks after the first ``mask``, each fed back
    with the previous mask as the product does; the mask after every step. ``prompts``: the
    first prompt of another kind, which the clicks join as corrections."""
    positive, negative, masks = np.asarray(clicks, float).reshape(-1, 3), np.zeros((0, 3)), []
    world = lambda pts: index_to_world(vc.image, pts)
    given = lambda c: c if prompts is None else replace(prompts, clicks=c)
    for _ in range(steps):
        click = corrective_click(mask.astype(bool), vc.mask, vc.spacing)
        if click is not None:
            positive, negative = append_click(positive, negative, click)
            previous = sitk.GetImageFromArray(mask.astype(np.uint8))
            previous.CopyInformation(vc.image)
            mask = segment(vc.image, given(Clicks.from_points(
                world(positive), world(negative) if len(negative) else None)),
                segmenter, previous_mask=previous).mask
        masks.append(mask)
    return masks


def first_prompt(vc: ValidationCase, prompt: str, seed: int) -> tuple[np.ndarray, PromptSet]:
    """(the protocol clicks, the prompt scored): for ``clicks`` the two are the same clicks;
    for another protocol no click is given (the clicks are the ellipsoid baseline's)."""
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed))
    if prompt == "clicks":
        return clicks, PromptSet(clicks=Clicks.from_points(index_to_world(vc.image, clicks)))
    return clicks, validation_prompt(prompt, vc.mask, vc.image, np.random.default_rng(seed))


def validate(segmenter: Segmenter, cases: list[ValidationCase], seeds=(0,),
             corrections: int = 0, prompt: str = "clicks") -> dict:
    """Mean DSC overall and per group, for the segmenter and the six-click ellipsoid baseline;
    with ``corrections``, also the DSC after that many corrective clicks. ``prompt``: the
    protocol given first (``VALIDATION_PROMPTS``)."""
    rows = []
    for vc in cases:
        for seed in seeds:
            clicks, given = first_prompt(vc, prompt, seed)
            # clicks alone as the product takes them; corrections join any other prompt
            first, beside = (given.clicks, None) if prompt == "clicks" else (given, given)
            result = segment(vc.image, first, segmenter)
            ellipsoid = ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing)
            start = clicks if beside is None else np.zeros((0, 3))
            corrected = (dice(correct(vc, segmenter, start, result.mask, corrections,
                                      beside)[-1], vc.mask)
                         if corrections else float("nan"))
            rows.append((vc.case.group, dice(result.mask.astype(bool), vc.mask),
                         dice(ellipsoid, vc.mask), corrected))
    by_group = defaultdict(list)
    for group, d, e, _ in rows:
        by_group[group].append((d, e))
    summary = {"dsc": float(np.mean([r[1] for r in rows])) if rows else 0.0,
               "ellipsoid_dsc": float(np.mean([r[2] for r in rows])) if rows else 0.0,
               "groups": {g: {"n": len(v), "dsc": float(np.mean([d for d, _ in v])),
                              "ellipsoid_dsc": float(np.mean([e for _, e in v]))}
                          for g, v in sorted(by_group.items())}}
    if prompt != "clicks":
        summary["prompt"] = prompt
    if corrections and rows:
        summary["corrections"] = corrections
        summary["dsc_corrected"] = float(np.mean([r[3] for r in rows]))
    return summary
