"""What the server's clients send and receive: the models behind its OpenAPI schema.

Prompts are a union discriminated by ``type``: clicks, a refinement with corrective clicks,
scribbles, outlines, a box and RECIST axes, each holding the grand-challenge value its socket
takes (``algorithm.prompts``); a later kind is a new member, so clients that send today's kinds
keep working. Coordinates are world
millimetres in LPS, as in the platform's "Multiple points"; voxel indices are ITK's (i, j, k),
the order 3D Slicer calls IJK.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from algorithm.io.retraining_folder import CASE_ID_PATTERN, MAX_TEXT
from algorithm.measurements import LesionMeasurements
from algorithm.prompts import MultiplePoints
from algorithm.prompts.boxes import BoundingBox2D, MultipleBoundingBoxes
from algorithm.prompts.distances import DistanceMeasurement, MultipleDistanceMeasurements
from algorithm.prompts.lines import MultipleLines
from algorithm.prompts.polygons import MultiplePolygons

Triple = tuple[float, float, float]
IndexTriple = tuple[int, int, int]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClicksPrompt(_Strict):
    """Segment the lesion afresh from these clicks: its earlier clicks and mask are set aside
    (undo brings them back). The same clicks give the same mask as ``lesionseg segment`` and
    the platform."""

    type: Literal["clicks"]
    points: MultiplePoints = Field(
        description="grand-challenge 'Multiple points', world mm LPS; points named 'tumor' "
        "(or unnamed) and 'background'; at least one tumour click")


class RefinePrompt(_Strict):
    """Correct the lesion: these clicks are added to its clicks and its current mask is the
    previous mask (``lesionseg segment --previous-mask`` with all the clicks so far). The
    added clicks may all be background ones."""

    type: Literal["refine"]
    points: MultiplePoints = Field(
        description="the clicks to add, grand-challenge 'Multiple points', world mm LPS")


_AFRESH = ("Segment the lesion afresh from this prompt (its earlier prompts and mask are set "
           "aside, undo brings them back); corrective clicks follow as 'refine'. ")


class ScribblesPrompt(_Strict):
    __doc__ = _AFRESH + "The same strokes give the mask ``lesionseg segment --scribbles`` gives."

    type: Literal["scribbles"]
    lines: MultipleLines = Field(
        description="grand-challenge 'Multiple lines', world mm LPS: each line a stroke, named "
        "'tumor' (or unnamed) or 'background'")


class OutlinesPrompt(_Strict):
    __doc__ = _AFRESH + "The same outlines give the mask ``lesionseg segment --outlines`` gives."

    type: Literal["outlines"]
    polygons: MultiplePolygons = Field(
        description="grand-challenge 'Multiple polygons', world mm LPS: a 'tumor' (or unnamed) "
        "polygon annotates its slice fully, a 'background' one cuts a hole")


class BoxPrompt(_Strict):
    __doc__ = _AFRESH + "The same box gives the mask ``lesionseg segment --box`` gives."

    type: Literal["box"]
    box: Annotated[Union[BoundingBox2D, MultipleBoundingBoxes], Field(discriminator="type")] = (
        Field(description="grand-challenge '2D bounding box' or 'Multiple 2D bounding boxes', "
              "world mm LPS: the tumour's extent on its slice"))


class RecistPrompt(_Strict):
    __doc__ = _AFRESH + "The same axes give the mask ``lesionseg segment --recist`` gives."

    type: Literal["recist"]
    axes: Annotated[Union[DistanceMeasurement, MultipleDistanceMeasurements],
                    Field(discriminator="type")] = Field(
        description="grand-challenge 'Distance measurement' or 'Multiple distance "
        "measurements', world mm LPS: the RECIST long axis, then optionally the short axis")


#: the kinds that segment afresh from a prompt other than clicks
OtherPrompt = Union[ScribblesPrompt, OutlinesPrompt, BoxPrompt, RecistPrompt]
Prompt = Annotated[Union[ClicksPrompt, RefinePrompt, ScribblesPrompt, OutlinesPrompt, BoxPrompt,
                         RecistPrompt], Field(discriminator="type")]


class FromPathRequest(_Strict):
    """An image the server reads from its own disk, inside a folder it was started with
    (``--allow-dir``)."""

    path: str = Field(min_length=1, max_length=4096,
                      description="absolute, or relative to the first --allow-dir: an image "
                      "file (.mha, .mhd, .nii, .nii.gz, .nrrd, .nhdr) or a DICOM series folder")
    series: str | None = Field(default=None, max_length=128,
                               description="SeriesInstanceUID, when the folder holds several")
    modality: Literal["CT", "MR"] | None = Field(
        default=None, description="overrides the header and the intensity test")


class NewLesion(_Strict):
    name: str | None = Field(default=None, max_length=200, description="a label for the user")


class SaveCaseRequest(_Strict):
    """Where a finished lesion goes in the server's --save-dir folder (an nnU-Net dataset to
    retrain on), and whose it is."""

    case_id: str | None = Field(
        default=None, pattern=CASE_ID_PATTERN, description="the case's name in the folder (its "
        "files' names): 1 to 64 letters, digits, '_' or '-', starting with a letter or digit, "
        "not yet saved; null: the next free case_NNNN")
    patient_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_TEXT, description="the patient the image "
        "belongs to, so that retraining keeps a patient's cases on one side of its split; "
        "null: the case is its own patient")
    licence: str | None = Field(
        default=None, max_length=MAX_TEXT, description="the terms the case may train under "
        "(the model card lists them)")


class SavedCase(BaseModel):
    """A lesion saved as a training case: its files, relative to the --save-dir folder."""

    case_id: str
    patient_id: str = Field(description="as given, or the case id")
    image: str = Field(description="imagesTr/<case>_0000.nii.gz: the session's image")
    label: str = Field(description="labelsTr/<case>.nii.gz: the lesion's mask on its grid")
    record: str = Field(description="casesTr/<case>.json: patient, prompts, source, time, "
                        "licence")
    voxels: int = Field(ge=1, description="foreground voxels of the mask")
    cases: int = Field(ge=1, description="cases the folder now holds (numTraining)")


class ImageGeometry(BaseModel):
    """The session image's grid, as ITK has it (x, y, z order; direction row-major)."""

    size: IndexTriple
    spacing: Triple
    origin: Triple
    direction: tuple[float, float, float, float, float, float, float, float, float]
    pixel_type: str


class EncodedMask(BaseModel):
    """A uint8 mask (0/1) on the session image's grid, as its bounding box.

    ``data`` is base64 of the zlib stream of the box's ``box_size`` voxels in C order over
    (k, j, i), i.e. i (x) varies fastest: numpy ``reshape(box_size[::-1])``. The box's first
    voxel is at index ``box_start`` (i, j, k); every voxel outside the box is 0. An empty mask
    has ``box_size`` (0, 0, 0) and no data bytes."""

    encoding: Literal["zlib-base64"] = "zlib-base64"
    image_size: IndexTriple
    box_start: IndexTriple
    box_size: IndexTriple
    voxels: int = Field(ge=0, description="foreground voxels")
    data: str


class LesionInfo(BaseModel):
    id: int = Field(description="unique in its session, never reused")
    name: str | None
    step: int = Field(ge=0, description="how many steps undo can go back (0: none left)")
    clicks: MultiplePoints = Field(description="every click the current mask was made from")
    prompt_kinds: list[str] = Field(
        default_factory=list, description="every prompt kind the current mask was made from "
        "(clicks, scribbles, outlines, box, recist)")
    voxels: int = Field(ge=0)
    measurements: LesionMeasurements
    recist_axes: dict = Field(
        description="the RECIST axes as grand-challenge 'Multiple distance measurements'")
    warnings: list[str] = Field(description="why the mask looks implausible for its clicks")
    confidence: float | None = Field(
        default=None, description="how far to trust the mask, in [0, 1]: its DSC with the "
        "classical method's answer to the same prompts (a ranking of cases, not a calibrated "
        "DSC); null unless the server runs with --confidence, for an empty lesion, or for the "
        "classical method")
    fine_tune: dict | None = Field(
        default=None, description="what image-specific fine-tuning did (the server runs with "
        "--fine-tune SECONDS): kept ('tuned' or 'original', the tuned answer kept only when it "
        "agrees better with the prompts), steps, seconds, agreement_original and "
        "agreement_tuned (share of the prompts' voxels each answer gets right), user_voxels; "
        "null without --fine-tune")
    suggestion: Triple | None = Field(
        default=None, description="the suggested next click, world mm LPS, for the viewer to "
        "highlight: the voxel near the mask's boundary where the segmenter is least sure, a "
        "wide uncertain region preferred over a lone voxel (a correction there changes the "
        "mask most); null unless the server runs with --suggest, or when no voxel near the "
        "boundary is uncertain")

    @field_serializer("clicks")
    def _platform_json(self, clicks: MultiplePoints) -> dict:
        """As the platform writes it: no null keys, integer version numbers."""
        value = clicks.model_dump(exclude_none=True)
        value["version"] = {k: int(v) for k, v in value["version"].items()}
        return value


class LesionResult(LesionInfo):
    """A lesion's new state after a prompt, an undo or a reset, with its mask."""

    mask: EncodedMask
    seconds: float = Field(description="server time for this request")


class SessionInfo(BaseModel):
    id: str
    source: str = Field(description="the uploaded file's name or the path read")
    modality: Literal["CT", "MR"]
    image: ImageGeometry
    method: str = Field(description="the segmenter that runs (e.g. network)")
    expires_after_idle_s: float
    lesions: list[LesionInfo]


class SessionSummary(BaseModel):
    id: str
    source: str
    modality: Literal["CT", "MR"]
    lesions: int
    idle_s: float


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    method: str
    sessions: int
    max_sessions: int
    max_upload_mb: float
    token_required: bool
    save_cases: bool = Field(default=False, description="finished lesions can be saved as "
                             "training cases (POST .../save; the server runs with --save-dir)")


class ErrorMessage(BaseModel):
    detail: str = Field(description="one line, for a person")
