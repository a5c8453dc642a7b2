"""Everything one platform case writes to ``/output``, in exec and invoke mode alike.

    images/lesion-segmentation/<stem>.mha   the mask (uint8 0/1 on the scan's grid)
    lesion-measurements.json                kind Anything: measurements, method, modality,
                                            warnings, confidence, model version
    lesion-recist-axes.json                 kind Multiple distance measurements: the RECIST
                                            long and short axis, for the viewer to draw
    images/lesion-probability/<stem>.mha    only when asked (LESIONSEG_WRITE_PROBABILITY=1):
                                            the lesion probability, float32 on the scan's grid

The platform reads only the files its output sockets name and ignores the rest; but every file
under /output is uploaded first, and a full-size float map of a large CT is hundreds of MB of
writing and uploading. So the probability map is written only for an algorithm that has the
``lesion-probability`` socket and says so through the environment variable.

Nothing is written until every output is computed, and the files are renamed into place together
(``algorithm.io.atomic.StagedOutputs``): a failure leaves ``/output`` as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydantic import BaseModel, ConfigDict

from algorithm.errors import InputError
from algorithm.io.atomic import StagedOutputs, write_image_file, write_json_file
from algorithm.io.grand_challenge import output_mask_path
from algorithm.io.images import ImageGrid, mask_image
from algorithm.measurements import LesionMeasurements, measure_lesion, recist_axes_value
from algorithm.pipeline import SegmentationResult

MEASUREMENTS_FILE = "lesion-measurements.json"
RECIST_AXES_FILE = "lesion-recist-axes.json"
PROBABILITY_DIR = "images/lesion-probability"
PROBABILITY_ENV = "LESIONSEG_WRITE_PROBABILITY"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class LesionReport(BaseModel):
    """The ``lesion-measurements`` value: what was measured and how far to trust it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measurements: LesionMeasurements
    method: str  #: the segmenter that ran (``network+classical+graph-cut``, ``classical``, ...)
    modality: str
    warnings: list[str]  #: why the mask looks implausible for its clicks; empty if it does not
    confidence: float | None  #: predicted DSC, when the pipeline gives one
    version: str  #: the model card's version, or "classical"
    #: what image-specific fine-tuning did, when the model card turns it on (left out if not)
    fine_tune: dict | None = None


def probability_requested(environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(PROBABILITY_ENV, "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise InputError(f"{PROBABILITY_ENV} must be 1 or 0, not {environ[PROBABILITY_ENV]!r}")
    return value in _TRUE


def lesion_report(result: SegmentationResult, image: sitk.Image, *, method: str,
                  version: str) -> LesionReport:
    confidence = result.confidence
    return LesionReport(
        measurements=measure_lesion(result.mask, image),
        method=method,
        modality=str(result.modality),
        warnings=list(result.warnings),
        confidence=None if confidence is None else float(confidence),
        version=version,
        fine_tune=result.fine_tune.as_dict() if result.fine_tune is not None else None,
    )


def write_case_outputs(output_dir: Path, image_path: Path, image: sitk.Image | ImageGrid,
                       result: SegmentationResult, *, method: str, version: str,
                       write_probability: bool = False) -> list[Path]:
    """Compute every output of the case, then write them all or none; returns the paths.
    ``image``: the scan, or only its grid (``ImageGrid``), which is all the outputs use."""
    mask = mask_image(result.mask, image)  # the mask image carries the grid from here on
    report = lesion_report(result, mask, method=method, version=version)
    axes = recist_axes_value(report.measurements)
    mask_path = output_mask_path(output_dir, image_path)
    with StagedOutputs(output_dir) as staged:
        staged.add(mask_path, lambda tmp: write_image_file(mask, tmp), ".mha", what="mask")
        staged.add(MEASUREMENTS_FILE,
                   lambda tmp: write_json_file(report.model_dump(
                       mode="json", exclude={"fine_tune"} if report.fine_tune is None else None),
                       tmp), ".json")
        staged.add(RECIST_AXES_FILE, lambda tmp: write_json_file(axes, tmp), ".json")
        if write_probability:
            probability = _probability_image(result, mask)
            staged.add(Path(PROBABILITY_DIR) / mask_path.name,
                       lambda tmp: write_image_file(probability, tmp), ".mha",
                       what="probability map")
        return staged.commit()


def _probability_image(result: SegmentationResult, image: sitk.Image) -> sitk.Image:
    out = sitk.GetImageFromArray(np.ascontiguousarray(result.probability_image(),
                                                      dtype=np.float32))
    out.CopyInformation(image)
    return out
