"""One case of `lesionseg segment` and `batch`, end to end: read, segment, write atomically
(the platform's exec and invoke modes share `algorithm.platform_case` instead)."""

from __future__ import annotations

import sys
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from algorithm.errors import InputError
from algorithm.io.dicom import read_dicom_series
from algorithm.io.images import ImageGrid, read_image, validate_volume, write_mask_atomic
from algorithm.methods.base import Segmenter
from algorithm.pipeline import PipelineConfig, SegmentationResult, segment
from algorithm.preprocessing import Modality
from algorithm.prompts.prompt_set import PromptFiles, read_prompt_files
from algorithm.prompts.slices import read_slice_mask

#: ``image``: the mask as an image file (.mha, .nii.gz, ...); ``dicom-seg``: a DICOM SEG that
#: references the source series (DICOM input only)
OutputFormat = Literal["image", "dicom-seg"]
OUTPUT_FORMATS: tuple[str, ...] = ("image", "dicom-seg")


def segment_file(
    image_path: Path,
    prompts: Path | PromptFiles,
    output_path: Path,
    segmenter: Segmenter,
    *,
    modality: Modality | None = None,
    previous_mask_path: Path | None = None,
    config: PipelineConfig = PipelineConfig(),
    series: Collection[str] = (),
    series_required: bool = True,
    output_format: OutputFormat = "image",
    slice_mask_path: Path | None = None,
    suggestion_path: Path | None = None,
) -> SegmentationResult:
    """``prompts``: the clicks file, or every prompt file of the case; ``slice_mask_path``: a
    mask on the image's grid whose non-zero slices are annotated (outlines). ``series``:
    SeriesInstanceUIDs to choose from when a DICOM folder holds several
    (``algorithm.io.dicom.choose_series``). ``suggestion_path``: where to write the suggested
    next click (``algorithm.suggestion``) beside the mask."""
    files = prompts if isinstance(prompts, PromptFiles) else PromptFiles(clicks=prompts)
    prompt_set = read_prompt_files(files, slice_mask_given=slice_mask_path is not None)
    if output_format == "dicom-seg":
        require_dicom_folder(Path(image_path))
        volume = read_dicom_series(Path(image_path), series, required=series_required)
        files, image = volume.files, validate_volume(volume.image, Path(image_path).name)
        del volume  # the scan is held once, as ``image``, so that it can be freed below
    else:
        image = read_image(image_path, series, series_required=series_required)
    if slice_mask_path is not None:
        prompt_set = prompt_set.with_slice_mask(read_slice_mask(slice_mask_path, image))
    previous = read_image(previous_mask_path) if previous_mask_path else None
    result = segment(image, prompt_set, segmenter, modality=modality, previous_mask=previous,
                     config=config)
    grid = ImageGrid.of(image)
    del image, previous  # only the grid is needed now: free a large scan before writing
    if output_format == "dicom-seg":
        from algorithm.io.dicom_seg import SegAlgorithm, write_dicom_seg  # highdicom: 0.4 s

        write_dicom_seg(result.mask, grid, files, output_path,
                        SegAlgorithm(result.method, result.model_version))
    else:
        write_mask_atomic(result.mask, grid, output_path)
    if suggestion_path is not None:
        from algorithm.suggestion import suggest_click, write_suggestion

        write_suggestion(suggest_click(result, grid.probe()), suggestion_path)
    for warning in result.warnings:  # the mask is written: a warning, for a person to judge
        print(f"warning: {output_path.name}: {warning}", file=sys.stderr)
    return result


def require_dicom_folder(image_path: Path) -> None:
    """A DICOM SEG references its source instances, so only a DICOM series folder has one."""
    if not Path(image_path).is_dir():
        raise InputError(f"--format dicom-seg needs a DICOM series folder as the image (the SEG "
                         f"references its source instances); {Path(image_path).name} is a file: "
                         "write an image mask instead (--format image)")
