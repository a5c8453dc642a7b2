"""A case's prompts, as given: every kind validated, in world mm (LPS), not yet tied to an image.

One case may combine kinds (a box, then corrective clicks): ``PromptFiles`` names each kind's
file, ``read_prompt_files`` reads and validates them all before the image is read, so a bad
prompt fails fast. A slice mask lies on the image's grid, so it is read with the image
(``algorithm.prompts.slices.read_slice_mask``) and added with ``PromptSet.with_slice_mask``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np

from algorithm.errors import InputError
from algorithm.prompts.boxes import BoundingBox, read_boxes
from algorithm.prompts.clicks import Clicks, read_clicks
from algorithm.prompts.distances import RecistAxes, read_recist
from algorithm.prompts.lines import Scribble, read_scribbles
from algorithm.prompts.polygons import Outline, read_outlines

PromptKind = Literal["clicks", "scribbles", "outlines", "box", "recist"]
PROMPT_KINDS: tuple[str, ...] = ("clicks", "scribbles", "outlines", "box", "recist")


@dataclass(frozen=True)
class PromptSet:
    """Everything the user said about one lesion; any kind may be absent."""

    clicks: Clicks | None = None
    scribbles: tuple[Scribble, ...] = ()
    outlines: tuple[Outline, ...] = ()
    boxes: tuple[BoundingBox, ...] = ()
    recist: RecistAxes | None = None
    #: (z, y, x) bool on the image's grid, non-zero on the annotated slices only (outlines)
    slice_mask: np.ndarray | None = None

    @classmethod
    def of(cls, prompts: "PromptSet | Clicks") -> "PromptSet":
        return prompts if isinstance(prompts, PromptSet) else cls(clicks=prompts)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds present (a slice mask counts as outlines), in ``PROMPT_KINDS`` order."""
        present = {
            "clicks": self.clicks is not None and (len(self.clicks.positive) > 0
                                                   or len(self.clicks.negative) > 0),
            "scribbles": bool(self.scribbles),
            "outlines": bool(self.outlines) or self.slice_mask is not None,
            "box": bool(self.boxes),
            "recist": self.recist is not None,
        }
        return tuple(kind for kind in PROMPT_KINDS if present[kind])

    def with_slice_mask(self, mask: np.ndarray | None) -> "PromptSet":
        return self if mask is None else replace(self, slice_mask=mask)


@dataclass(frozen=True)
class PromptFiles:
    """Where a case's prompt files are; ``None`` for a kind the case does not have."""

    clicks: Path | None = None
    scribbles: Path | None = None
    outlines: Path | None = None
    box: Path | None = None
    recist: Path | None = None

    def given(self) -> dict[str, Path]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


def require_a_prompt(files: PromptFiles, *, slice_mask_given: bool = False) -> None:
    """Refuse a case without any prompt (before a model is loaded for it)."""
    if not files.given() and not slice_mask_given:
        raise InputError("no prompt given: at least one of clicks, scribbles, outlines, a box, "
                         "a RECIST line or a slice mask is needed")


def read_prompt_files(files: PromptFiles, *, slice_mask_given: bool = False) -> PromptSet:
    """Read and validate every prompt file; at least one prompt (a slice mask counts) is
    needed. Clicks beside another prompt may all be background (corrections)."""
    require_a_prompt(files, slice_mask_given=slice_mask_given)
    others = slice_mask_given or any(kind != "clicks" for kind in files.given())
    return PromptSet(
        clicks=read_clicks(files.clicks, require_positive=not others) if files.clicks else None,
        scribbles=read_scribbles(files.scribbles) if files.scribbles else (),
        outlines=read_outlines(files.outlines) if files.outlines else (),
        boxes=read_boxes(files.box) if files.box else (),
        recist=read_recist(files.recist) if files.recist else None,
    )

