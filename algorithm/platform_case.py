"""One grand-challenge case from ``/input`` to ``/output``: the work exec mode
(``python -m algorithm``) and invoke mode (``algorithm.platform_server``) share, so both write
exactly the same files and fail the same way."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from algorithm.io.case_outputs import write_case_outputs
from algorithm.io.grand_challenge import CaseInputs
from algorithm.io.images import ImageGrid, read_image
from algorithm.io.previous_mask import read_previous_mask
from algorithm.methods.base import Segmenter
from algorithm.methods.select import network_card
from algorithm.pipeline import PipelineConfig, SegmentationResult, segment
from algorithm.preprocessing import Modality
from algorithm.prompts.prompt_set import read_prompt_files


@dataclass(frozen=True)
class CaseReport:
    written: list[Path]
    result: SegmentationResult
    method: str
    seconds: float

    def summary(self) -> str:
        return (f"wrote {self.written[0]} ({self.method}, {self.result.modality}, "
                f"{int(self.result.mask.sum())} voxels, {self.seconds:.1f} s)")


def process_case(inputs: CaseInputs, output_dir: Path, segmenter: Segmenter, *,
                 modality: Modality | None = None, write_probability: bool = False) -> CaseReport:
    """Segment the case and write all its outputs, or raise (``InputError`` for bad input)
    having written nothing. Plausibility warnings go to stderr, as in every entry point."""
    start = time.perf_counter()
    prompts = read_prompt_files(inputs.prompts)
    image = read_image(inputs.image)
    previous = (read_previous_mask(inputs.previous_segmentation, image)
                if inputs.previous_segmentation is not None else None)
    config = PipelineConfig(confidence=True,  # lesion-measurements reports it
                            fine_tune_seconds=card_fine_tune_seconds(segmenter))
    result = segment(image, prompts, segmenter, modality=modality, previous_mask=previous,
                     config=config)
    grid = ImageGrid.of(image)
    del image, previous  # only the grid is needed now: free a large scan before its mask is built
    written = write_case_outputs(Path(output_dir), inputs.image, grid, result,
                                 method=result.method, version=result.model_version,
                                 write_probability=write_probability)
    for warning in result.warnings:  # the mask is written: a warning, for a person to judge
        print(f"warning: {written[0].name}: {warning}", file=sys.stderr)
    return CaseReport(written, result, result.method, time.perf_counter() - start)


def card_fine_tune_seconds(segmenter: Segmenter) -> float:
    """Fine-tuning on the platform only when the model card turns it on (its
    ``fine_tune_seconds``; the clicks network's card behind a prompt router)."""
    card = network_card(segmenter)
    return float(card.fine_tune_seconds) if card is not None else 0.0
