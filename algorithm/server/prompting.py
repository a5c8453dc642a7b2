"""One prompt on one lesion: from its state before to its state after, through the pipeline that
every entry point runs (``algorithm.pipeline.segment_prepared``), so a click sent to the server
gives the mask ``lesionseg segment`` gives for the same clicks.

Pure apart from the segmenter: the caller commits the new state only when this returns, so a
failure leaves the lesion as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.measurements import LesionMeasurements, measure_lesion
from algorithm.methods.base import Segmenter
from algorithm.pipeline import PipelineConfig, PreparedImage, segment_prepared
from algorithm.prompts import Clicks, parse_clicks
from algorithm.prompts.boxes import parse_boxes
from algorithm.prompts.distances import parse_recist
from algorithm.prompts.lines import parse_scribbles
from algorithm.prompts.polygons import parse_outlines
from algorithm.prompts.prompt_set import PromptSet
from algorithm.server.mask_codec import StoredMask
from algorithm.server.schemas import (
    BoxPrompt, ClicksPrompt, OtherPrompt, OutlinesPrompt, RecistPrompt, RefinePrompt,
    ScribblesPrompt,
)
from algorithm.suggestion import suggest_click

NO_CLICKS = Clicks.from_points(np.zeros((0, 3)))


@dataclass(frozen=True)
class LesionState:
    """A lesion after some step: the clicks its mask was made from, the mask, what was measured."""

    clicks: Clicks
    mask: StoredMask
    measurements: LesionMeasurements
    warnings: tuple[str, ...] = ()
    confidence: float | None = None  #: ``SegmentationResult.confidence`` of this mask
    #: the prompts other than clicks the mask was made from (scribbles, outlines, box, RECIST)
    others: PromptSet = field(default_factory=PromptSet)
    #: the suggested next click, world mm LPS (``algorithm.suggestion``), when asked for
    suggestion: tuple[float, float, float] | None = None
    #: ``others`` as they were sent: each kind's grand-challenge value, by kind
    other_values: dict = field(default_factory=dict)
    #: what image-specific fine-tuning did (``FineTuneReport.as_dict``), with --fine-tune
    fine_tune: dict | None = None

    @property
    def empty(self) -> bool:
        return self.mask.voxels == 0 and len(self.clicks.positive) == 0 and not self.others.kinds

    @property
    def prompts(self) -> PromptSet:
        """Everything the mask was made from."""
        return replace(self.others, clicks=self.clicks)

    @property
    def prompt_values(self) -> dict:
        """Everything the mask was made from as grand-challenge values, by kind (the clicks as
        "Multiple points", tumour then background): what a saved case records."""
        values = dict(self.other_values)
        if len(self.clicks.positive) or len(self.clicks.negative):
            values = {"clicks": self.clicks.to_multiple_points(), **values}
        return values


def empty_state(image: sitk.Image) -> LesionState:
    shape = tuple(int(n) for n in reversed(image.GetSize()))
    return LesionState(NO_CLICKS, StoredMask.empty(shape),
                       measure_lesion(np.zeros(shape, bool), image))


def apply_prompt(prepared: PreparedImage, state: LesionState, prompt: ClicksPrompt | RefinePrompt,
                 segmenter: Segmenter, config: PipelineConfig, *,
                 suggest: bool = False) -> LesionState:
    """The lesion's state after ``prompt``; ``InputError`` for prompts that cannot be used.
    ``suggest``: also find the suggested next click (a Gaussian and two distance transforms
    on the lesion's region, so only when the server is asked to)."""
    others, values = PromptSet(), {}
    if isinstance(prompt, ClicksPrompt):
        clicks, previous = parse_clicks(prompt.points), None
    elif isinstance(prompt, RefinePrompt):
        added = parse_clicks(prompt.points, require_positive=False)
        clicks = Clicks.from_points(np.vstack([state.clicks.positive, added.positive]),
                                    np.vstack([state.clicks.negative, added.negative]))
        others, values = state.others, state.other_values
        if len(clicks.positive) == 0 and not others.kinds:
            raise InputError("a refinement needs a tumour click: this lesion has none yet, so "
                             "send its clicks first (prompt type 'clicks')")
        previous = state.mask.to_array() if state.mask.voxels else None
    elif isinstance(prompt, OtherPrompt):
        clicks, previous, others = NO_CLICKS, None, other_prompts(prompt)
        values = {prompt.type: platform_value(prompt)}
    else:  # the schema admits no other kind; a new kind must be handled here
        raise TypeError(f"unhandled prompt kind {type(prompt).__name__}")
    prompts = clicks if not others.kinds else replace(others, clicks=clicks)
    result = segment_prepared(prepared, prompts, segmenter, previous_mask=previous, config=config)
    region = result.region or tuple(slice(0, n) for n in result.mask.shape)
    mask = StoredMask.from_region(result.mask[region], tuple(s.start for s in region),
                                  result.mask.shape)
    suggestion = suggest_click(result, prepared.image) if suggest else None
    return LesionState(clicks, mask, measure_lesion(result.mask, prepared.image),
                       tuple(result.warnings), result.confidence, others,
                       suggestion=suggestion.point_mm if suggestion else None,
                       other_values=values,
                       fine_tune=result.fine_tune.as_dict() if result.fine_tune else None)


def other_prompts(prompt: OtherPrompt) -> PromptSet:
    """A prompt other than clicks as the pipeline takes it, validated by the rules the files
    of ``lesionseg segment`` and the platform follow."""
    if isinstance(prompt, ScribblesPrompt):
        return PromptSet(scribbles=parse_scribbles(prompt.lines))
    if isinstance(prompt, OutlinesPrompt):
        return PromptSet(outlines=parse_outlines(prompt.polygons))
    if isinstance(prompt, BoxPrompt):
        return PromptSet(boxes=parse_boxes(prompt.box))
    if isinstance(prompt, RecistPrompt):
        return PromptSet(recist=parse_recist(prompt.axes))
    raise TypeError(f"unhandled prompt kind {type(prompt).__name__}")



def platform_value(prompt: OtherPrompt) -> dict:
    """The grand-challenge value a prompt other than clicks carries, as JSON (no null keys,
    whole version numbers, as the platform writes it)."""
    field_name = {"scribbles": "lines", "outlines": "polygons", "box": "box",
                  "recist": "axes"}[prompt.type]
    value = getattr(prompt, field_name).model_dump(mode="json", exclude_none=True)
    value["version"] = {k: int(v) for k, v in value["version"].items()}
    return value
