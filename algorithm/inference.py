"""One case, end to end: read, segment, write atomically. Shared by every entry point."""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path

from algorithm.io.images import read_image, write_mask_atomic
from algorithm.methods.base import Segmenter
from algorithm.pipeline import PipelineConfig, SegmentationResult, segment
from algorithm.preprocessing import Modality
from algorithm.prompts import read_clicks


def segment_file(
    image_path: Path,
    clicks_path: Path,
    output_path: Path,
    segmenter: Segmenter,
    *,
    modality: Modality | None = None,
    previous_mask_path: Path | None = None,
    config: PipelineConfig = PipelineConfig(),
    series: Collection[str] = (),
    series_required: bool = True,
) -> SegmentationResult:
    """``series``: SeriesInstanceUIDs to choose from when a DICOM folder holds several
    (``algorithm.io.dicom.choose_series``)."""
    clicks = read_clicks(clicks_path)
    image = read_image(image_path, series, series_required=series_required)
    previous = read_image(previous_mask_path) if previous_mask_path else None
    result = segment(image, clicks, segmenter, modality=modality, previous_mask=previous,
                     config=config)
    write_mask_atomic(result.mask, image, output_path)
    for warning in result.warnings:  # the mask is written: a warning, for a person to judge
        print(f"warning: {output_path.name}: {warning}", file=sys.stderr)
    return result


