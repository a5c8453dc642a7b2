"""Which cases a radiologist should check first: ``lesionseg rank CASES/ -o ranking.csv``.

Each case folder (the layout ``lesionseg batch`` reads, ``algorithm.io.case_folders``) is
segmented from its prompts, scored by ``SegmentationResult.confidence`` (the mask's DSC with
the classical method's answer to the same prompts, ``algorithm.confidence``) and measured; the
CSV lists the cases least sure first, then the failed ones (by name) with their error. Each
scored case gets a thumbnail (``algorithm.thumbnail``) and, when asked, its mask.

The classical method has no confidence (it is what the score compares with), so ranking
refuses it rather than list cases in an order that means nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from algorithm.errors import InputError
from algorithm.io.atomic import write_atomic
from algorithm.io.case_folders import find_case_inputs
from algorithm.io.images import read_image, write_mask_atomic
from algorithm.measurements import measure_lesion
from algorithm.methods.base import Segmenter
from algorithm.pipeline import PipelineConfig, segment
from algorithm.preprocessing import Modality
from algorithm.prompts.prompt_set import read_prompt_files
from algorithm.thumbnail import write_thumbnail

COLUMNS = ("case", "confidence", "volume_ml", "long_axis_mm", "warnings", "thumbnail", "mask",
           "error")
WARNING_SEPARATOR = " | "


@dataclass(frozen=True)
class CaseScore:
    case: str
    confidence: float | None = None
    volume_ml: float | None = None
    long_axis_mm: float | None = None
    warnings: tuple[str, ...] = ()
    thumbnail: Path | None = None
    mask: Path | None = None
    error: str | None = None  #: why the case could not be scored (then nothing else is set)


@dataclass(frozen=True)
class RankOptions:
    thumbnails: Path  #: folder for <case>.png
    masks: Path | None = None  #: folder for <case>.mha, if the masks are wanted
    image_pattern: str | None = None
    series: Collection[str] = ()
    modality: Modality | None = None
    config: PipelineConfig = PipelineConfig(confidence=True)  #: asks for the ranking's score


def require_confidence(segmenter: Segmenter, config: PipelineConfig) -> None:
    """Ranking by a score that is not computed would be a silent lie: refuse it up front."""
    if segmenter.name == "classical":
        raise InputError("ranking needs a confidence score and the classical method has none "
                         "(the score is a mask's agreement with the classical answer): use "
                         "--method network or auto with weights installed")
    if not config.confidence:
        raise InputError("ranking needs the confidence score, which this configuration turns off")


def score_case(folder: Path, segmenter: Segmenter, options: RankOptions) -> CaseScore:
    """Segment, score, measure and draw one case; ``InputError`` for a case that cannot be."""
    image_path, files = find_case_inputs(folder, options.image_pattern)
    prompts = read_prompt_files(files)
    image = read_image(image_path, options.series, series_required=False)
    result = segment(image, prompts, segmenter, modality=options.modality, config=options.config)
    measured = measure_lesion(result.mask, image)
    thumbnail = write_thumbnail(image, result.mask, result.modality,
                                options.thumbnails / f"{folder.name}.png")
    mask = None
    if options.masks is not None:
        mask = write_mask_atomic(result.mask, image, options.masks / f"{folder.name}.mha")
    return CaseScore(
        case=folder.name, confidence=result.confidence, volume_ml=measured.volume_ml,
        long_axis_mm=measured.long_axis.length_mm if measured.long_axis else None,
        warnings=tuple(result.warnings), thumbnail=thumbnail, mask=mask)


def ranked(scores: Iterable[CaseScore]) -> list[CaseScore]:
    """Least sure first (ties by name); failed cases last, by name."""
    scores = list(scores)
    scored = sorted((s for s in scores if s.error is None),
                    key=lambda s: (s.confidence if s.confidence is not None else -1.0, s.case))
    return scored + sorted((s for s in scores if s.error is not None), key=lambda s: s.case)


def ranking_csv(scores: Iterable[CaseScore], relative_to: Path) -> str:
    """The CSV text of ``scores`` in their order; paths relative to ``relative_to`` (the CSV's
    folder) when they lie inside it, so the folder can be moved as a whole."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in scores:
        writer.writerow([s.case, _number(s.confidence, 4), _number(s.volume_ml, 3),
                         _number(s.long_axis_mm, 1), WARNING_SEPARATOR.join(s.warnings),
                         _path(s.thumbnail, relative_to), _path(s.mask, relative_to),
                         s.error or ""])
    return out.getvalue()


def write_ranking(scores: Iterable[CaseScore], path: Path) -> Path:
    text = ranking_csv(scores, Path(path).resolve().parent)
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), ".csv",
                        "ranking")


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _path(path: Path | None, root: Path) -> str:
    if path is None:
        return ""
    path = Path(path).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
