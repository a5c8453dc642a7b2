"""Two networks behind one segmenter: one for clicks, one for the other prompt kinds.

A network trained for every kind at once scored lower on the six protocol clicks than one
trained on clicks alone, with the training this project could afford on CPUs (README, "The
shipped model"), while the clicks network answers a box or an outline poorly (it never saw
one). So a case made of clicks alone goes to the clicks network, and one
with any other prompt (corrective clicks beside it included) to the network trained for it;
each with its own card's cut."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from algorithm.methods.base import GridCase, Segmenter
from algorithm.prompts.prompt_set import PROMPT_KINDS


@dataclass
class PromptRoutedSegmenter:
    clicks: Segmenter  #: answers cases of clicks alone
    prompts: Segmenter  #: answers cases with scribbles, outlines, boxes or RECIST lines
    classical: Segmenter | None = None  #: answers cases whose other kinds are all these:
    classical_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.clicks.grid_size != self.prompts.grid_size:
            raise ValueError(f"the two networks need one grid size, got "
                             f"{self.clicks.grid_size} and {self.prompts.grid_size}")

    @property
    def name(self) -> str:
        return self.clicks.name

    @property
    def grid_size(self) -> int:
        return self.clicks.grid_size

    @property
    def members(self) -> list[Segmenter]:
        return [self.clicks, self.prompts] + ([self.classical] if self.classical else [])

    @property
    def prompt_kinds(self) -> tuple[str, ...]:
        """Clicks from the first, the other kinds from the second network's card."""
        from algorithm.methods.prompt_kinds import trained_prompt_kinds

        theirs = set(trained_prompt_kinds(self.prompts) or ()) | set(self.classical_kinds)
        return ("clicks",) + tuple(k for k in PROMPT_KINDS if k in theirs and k != "clicks")

    def route(self, case: GridCase) -> Segmenter:
        if case.seeds is None:
            return self.clicks
        others = set(case.seeds.kinds) - {"clicks"}
        if self.classical is not None and others and others <= set(self.classical_kinds):
            return self.classical
        return self.prompts

    def predict(self, case: GridCase) -> np.ndarray:
        return self.route(case).predict(case)
