"""grand-challenge.org's evaluation contract: ``predictions.json`` and the job output layout.

``/input/predictions.json`` lists the successful algorithm jobs of a submission (the platform only
starts an evaluation once every job has succeeded), each with its ``inputs`` and ``outputs`` as
socket values; the socket is under ``socket`` (``interface`` in older files). A job's output files
are at ``/input/<job pk>/output/<socket relative_path>``. Unknown keys are ignored.

Steps: a case is the input image (by name). Several jobs on the same image are steps of an
interactive protocol, ordered by the number of points in their ``lesion-clicks`` input: step =
clicks - fewest clicks of that case (0 for the initial prompt, 1 after one corrective click...).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from evaluation.errors import EvaluationError
from evaluation.jsonio import read_json

IMAGE_SOCKET = "medical-image"
CLICKS_SOCKET = "lesion-clicks"
OUTPUT_SOCKET = "lesion-segmentation"
DEFAULT_OUTPUT_PATH = "images/lesion-segmentation"
OUTPUT_SUFFIXES = (".mha", ".tif", ".tiff")
_SAFE_PK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImageRef(_Lenient):
    name: str
    pk: str | int | None = None


class Socket(_Lenient):
    slug: str
    relative_path: str | None = None
    kind: str | None = None


class SocketValue(_Lenient):
    socket: Socket | None = None
    interface: Socket | None = None  # legacy name of ``socket``
    image: ImageRef | None = None
    file: str | None = None
    value: Any = None

    @model_validator(mode="after")
    def _has_socket(self) -> SocketValue:
        if self.socket is None and self.interface is None:
            raise ValueError("has neither 'socket' nor 'interface'")
        return self

    @property
    def spec(self) -> Socket:
        return self.socket if self.socket is not None else self.interface  # type: ignore[return-value]


class Job(_Lenient):
    pk: str | int
    inputs: list[SocketValue]
    outputs: list[SocketValue]
    status: str | None = None

    @field_validator("pk")
    @classmethod
    def _path_safe(cls, value: str | int) -> str:
        text = str(value)
        if not _SAFE_PK.match(text) or text in {".", ".."}:
            raise ValueError(f"job pk {text!r} is not a plain identifier")
        return text

    def value_of(self, slug: str, side: str) -> SocketValue | None:
        values = [v for v in getattr(self, side) if v.spec.slug == slug]
        if len(values) > 1:
            raise EvaluationError(f"job {self.pk} has {len(values)} {side} for socket '{slug}'")
        return values[0] if values else None


_JOBS = TypeAdapter(list[Job])


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "top level"
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"


def load_jobs(path: Path) -> list[Job]:
    """Validated jobs of ``predictions.json``; failed jobs and an empty list are input errors."""
    try:
        jobs = _JOBS.validate_python(read_json(path, "predictions file"))
    except ValidationError as exc:
        raise EvaluationError(
            f"predictions file {path} is malformed at {_first_error(exc)}"
        ) from None
    if not jobs:
        raise EvaluationError(f"predictions file {path} lists no jobs")
    seen: set[str] = set()
    for job in jobs:
        if job.pk in seen:
            raise EvaluationError(f"predictions file {path} lists job {job.pk} twice")
        seen.add(job.pk)
        if job.status is not None and job.status != "Succeeded":
            raise EvaluationError(f"job {job.pk} has status {job.status!r}, not 'Succeeded'")
    return jobs


@dataclass(frozen=True)
class JobEntry:
    pk: str
    image_name: str
    mask: Path
    n_clicks: int | None


def _relative_dir(root: Path, relative: str, what: str) -> Path:
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise EvaluationError(f"{what}: relative_path {relative!r} must stay inside the job folder")
    return root / candidate


def _single_output_file(folder: Path, pk: str) -> Path:
    if not folder.is_dir():
        raise EvaluationError(f"job {pk}: output folder {folder} does not exist")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(OUTPUT_SUFFIXES)
    )
    if len(files) != 1:
        raise EvaluationError(
            f"job {pk}: expected exactly one .mha/.tif/.tiff file in {folder}, found {len(files)}"
        )
    return files[0]


def _count_clicks(value: Any) -> int | None:
    points = value.get("points") if isinstance(value, dict) else None
    return len(points) if isinstance(points, list) else None


def resolve_job(job: Job, input_dir: Path) -> JobEntry:
    """Input image name, output mask path and click count of one job."""
    image = job.value_of(IMAGE_SOCKET, "inputs")
    if image is None or image.image is None or not image.image.name:
        raise EvaluationError(f"job {job.pk} has no '{IMAGE_SOCKET}' input image with a name")
    output = job.value_of(OUTPUT_SOCKET, "outputs")
    if output is None:
        raise EvaluationError(f"job {job.pk} has no '{OUTPUT_SOCKET}' output")
    job_output = Path(input_dir) / job.pk / "output"
    folder = _relative_dir(
        job_output, output.spec.relative_path or DEFAULT_OUTPUT_PATH, f"job {job.pk}"
    )
    clicks = job.value_of(CLICKS_SOCKET, "inputs")
    return JobEntry(
        pk=job.pk,
        image_name=image.image.name,
        mask=_single_output_file(folder, job.pk),
        n_clicks=_count_clicks(clicks.value) if clicks is not None else None,
    )


def assign_steps(entries: Sequence[JobEntry]) -> dict[str, int]:
    """Job pk -> step, per input image (see module docstring)."""
    by_image: dict[str, list[JobEntry]] = defaultdict(list)
    for entry in entries:
        by_image[entry.image_name].append(entry)
    steps: dict[str, int] = {}
    for name, jobs in by_image.items():
        if len(jobs) == 1:
            steps[jobs[0].pk] = 0
            continue
        counts = [job.n_clicks for job in jobs]
        if any(c is None for c in counts) or len(set(counts)) != len(counts):
            raise EvaluationError(
                f"image {name!r} has {len(jobs)} jobs; to treat them as steps each needs a "
                f"'{CLICKS_SOCKET}' value with a distinct number of points (found {counts})"
            )
        base = min(counts)  # type: ignore[type-var]
        steps.update({job.pk: job.n_clicks - base for job in jobs})  # type: ignore[operator]
    return steps
