"""A site's finished cases, saved one by one as an nnU-Net v2 raw dataset to retrain on.

Each saved case is the image as it was segmented and its final mask, with what the mask came
from, so that ``python -m training.train --nnunet FOLDER --init-weights algorithm/weights``
continues the model on the site's own corrected cases (README "Training")::

    FOLDER/dataset.json                   channel_names, labels {background: 0, lesion: 1},
                                          numTraining, file_ending: valid for nnU-Net v2
    FOLDER/imagesTr/<case>_0000.nii.gz    the image, on its own grid
    FOLDER/labelsTr/<case>.nii.gz         the mask, uint8 0/1, on exactly the image's grid
    FOLDER/casesTr/<case>.json            this project's record of the case: its patient, the
                                          prompts (grand-challenge JSON values, by kind), the
                                          image's source, when it was saved and its licence

nnU-Net has no patient field; the records give one, so that a patient's cases stay on one side
of a split (``training.datasets.read_nnunet_folder`` reads them). A case's three files are
written under hidden temporary names and renamed into place together, the label last: a save
that fails or is killed leaves no case that a reader would see (at worst a stray image or
record without its label, which the next save of that case id replaces). Saves into one folder
take turns (a lock file), so the server and a viewer plug-in may save into the same folder.

Case ids become file names: they are refused unless they are short, plain names
(``CASE_ID_PATTERN``), whoever sends them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import SimpleITK as sitk

import algorithm
from algorithm.errors import InputError
from algorithm.io.atomic import StagedOutputs, write_atomic, write_image_file, write_json_file
from algorithm.io.previous_mask import binary_mask, check_same_grid
from algorithm.preprocessing import Modality, detect_modality
from algorithm.prompts import parse_clicks
from algorithm.prompts.boxes import parse_boxes
from algorithm.prompts.distances import parse_recist
from algorithm.prompts.lines import parse_scribbles
from algorithm.prompts.polygons import parse_outlines
from algorithm.prompts.prompt_set import PROMPT_KINDS

FILE_ENDING = ".nii.gz"
IMAGES, LABELS, RECORDS = "imagesTr", "labelsTr", "casesTr"
LABELS_MAP = {"background": 0, "lesion": 1}
#: the channel name of a folder holding both CT and MR cases (not "CT": nnU-Net then
#: normalises each image by its own statistics; each case's record keeps its modality)
MIXED = "CT+MR"
#: a letter or digit, then letters, digits, '_' or '-': 64 characters at most
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
#: names Windows refuses as files, whatever their ending
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
MAX_TEXT = 1000  #: characters of a patient id, a source or a licence
GENERATED_PREFIX = "case_"
RECORD_FORMAT = "lesionseg retraining case 1"

_PARSERS = {
    "clicks": lambda value, alone: parse_clicks(value, require_positive=alone),
    "scribbles": lambda value, alone: parse_scribbles(value),
    "outlines": lambda value, alone: parse_outlines(value),
    "box": lambda value, alone: parse_boxes(value),
    "recist": lambda value, alone: parse_recist(value),
}
_THREAD_LOCK = threading.Lock()  #: within one process (flock also serialises processes)


class CaseExists(InputError):
    """The folder already holds a case with this id."""


def save_case(root: Path, image: sitk.Image, mask: np.ndarray | sitk.Image, *,
              case_id: str | None = None, patient_id: str | None = None,
              prompts: dict | None = None, source: str | None = None,
              licence: str | None = None) -> str:
    """Append one finished case to the nnU-Net-style folder ``root`` (made if needed); its
    case id.

    ``mask``: (z, y, x) array of the image's shape, or an image on the image's grid; 0 and 1
    (or 255), not empty. ``case_id``: a plain file name (``CASE_ID_PATTERN``) not yet in the
    folder, or None for the next free ``case_NNNN``. ``patient_id``: whose image it is (None:
    the case is its own patient). ``prompts``: the grand-challenge values the mask was made
    from, by kind (``{"clicks": <Multiple points>, "scribbles": <Multiple lines>, ...}``, the
    kinds of ``PROMPT_KINDS``), validated as the platform validates them. ``source``: where the
    image came from (a file name or path), ``licence``: the terms the case may train under.
    The modality is the image's (``detect_modality``). ``InputError`` (``CaseExists`` for a
    taken id) for anything refused; the folder is then as it was.
    """
    return store_case(root, image, mask, case_id=case_id, patient_id=patient_id,
                      prompts=prompts, source=source, licence=licence)


def store_case(root: Path, image: sitk.Image, mask: np.ndarray | sitk.Image, *,
               case_id: str | None = None, patient_id: str | None = None,
               prompts: dict | None = None, source: str | None = None,
               licence: str | None = None, modality: Modality | None = None) -> str:
    """``save_case`` with the image's modality given (a server session knows it, and may
    have been told it), instead of detected."""
    root = Path(root)
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"the image must be a 3D scalar image, not {image.GetDimension()}D "
                         f"with {image.GetNumberOfComponentsPerPixel()} components per voxel")
    label = _label_image(image, mask)
    prompts = check_prompts(prompts)
    patient_id = _text(patient_id, "patient id", required=True) if patient_id is not None else None
    source, licence = _text(source, "source"), _text(licence, "licence")
    if case_id is not None:
        case_id = check_case_id(case_id)
    modality = modality or detect_modality(image)
    if modality not in ("CT", "MR"):
        raise InputError(f"modality must be CT or MR, not {modality!r}")
    with _folder_lock(root):
        meta = _dataset_meta(root)
        case_id = case_id or _next_case_id(root)
        if _label_path(root, case_id).exists():
            raise CaseExists(f"case {case_id} is already saved in {root.name}: choose another "
                             "case id")
        record = {
            "format": RECORD_FORMAT, "case_id": case_id,
            "patient_id": patient_id if patient_id is not None else case_id,
            "patient_id_given": patient_id is not None,
            "modality": modality, "prompts": prompts, "source": source, "licence": licence,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "saved_by": f"lesionseg {algorithm.__version__}",
            "voxels": int(np.count_nonzero(sitk.GetArrayViewFromImage(label))),
            "image": f"{IMAGES}/{case_id}_0000{FILE_ENDING}",
            "label": f"{LABELS}/{case_id}{FILE_ENDING}",
        }
        with StagedOutputs(root) as staged:
            staged.add(record["image"], lambda p: write_image_file(image, p), FILE_ENDING,
                       "case image")
            staged.add(f"{RECORDS}/{case_id}.json", lambda p: write_json_file(record, p),
                       ".json", "case record")
            staged.add(record["label"], lambda p: write_image_file(label, p), FILE_ENDING,
                       "case label")  # last: readers find cases by their labels
            staged.commit()
        _write_dataset_json(root, meta, modality)
    return case_id


def check_case_id(case_id: object) -> str:
    """The case id if it is a plain file name of ``CASE_ID_PATTERN``, else ``InputError``."""
    if not isinstance(case_id, str) or not re.fullmatch(CASE_ID_PATTERN, case_id):
        shown = repr(case_id)[:80]
        raise InputError(f"invalid case id {shown}: 1 to 64 letters, digits, '_' or '-', "
                         "starting with a letter or digit")
    if _RESERVED.match(case_id):
        raise InputError(f"invalid case id {case_id!r}: a name Windows reserves for devices")
    return case_id


def check_prompts(prompts: dict | None) -> dict:
    """Each kind's value validated as the platform's socket validates it (clicks beside
    another kind may all be background clicks, as corrections)."""
    if prompts is None:
        return {}
    if not isinstance(prompts, dict):
        raise InputError(f"prompts must be a dict of kind -> grand-challenge value, not "
                         f"{type(prompts).__name__}")
    unknown = [str(k) for k in prompts if k not in PROMPT_KINDS]
    if unknown:
        raise InputError(f"unknown prompt kind {unknown[0]!r}: the kinds are "
                         f"{', '.join(PROMPT_KINDS)}")
    alone = set(prompts) == {"clicks"}
    for kind, value in prompts.items():
        _PARSERS[kind](value, alone)  # raises InputError naming the problem
    try:
        return json.loads(json.dumps(prompts, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InputError(f"prompts must be plain JSON values: {error}") from None


def read_case_records(root: Path) -> dict[str, dict]:
    """The records of the cases saved in ``root``, by case id ({} for a folder without
    ``casesTr/``, such as any other nnU-Net dataset)."""
    folder = Path(root) / RECORDS
    if not folder.is_dir():
        return {}
    records = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: unreadable case record ({error})") from None
        if not isinstance(record, dict) or record.get("case_id") != path.name[:-len(".json")]:
            raise InputError(f"{path}: not a case record of this folder (its case_id should be "
                             f"{path.name[:-len('.json')]!r})")
        records[record["case_id"]] = record
    return records


def _label_image(image: sitk.Image, mask: np.ndarray | sitk.Image) -> sitk.Image:
    """The mask as uint8 0/1 carrying exactly the image's origin, spacing and direction."""
    if isinstance(mask, sitk.Image):
        if mask.GetDimension() != 3:
            raise InputError(f"the mask must be 3D, not {mask.GetDimension()}D")
        check_same_grid(mask, image, "the mask")
        candidate = mask
    else:
        array = np.asarray(mask)
        shape = tuple(reversed(image.GetSize()))
        if array.shape != shape:
            raise InputError(f"the mask has shape {array.shape}, the image (z, y, x) {shape}: "
                             "it must be on the image's voxel grid")
        if array.dtype == bool:
            array = array.astype(np.uint8)
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            raise InputError(f"the mask must hold numbers, not {array.dtype}")
        candidate = sitk.GetImageFromArray(array)
        candidate.CopyInformation(image)
    label = sitk.Cast(binary_mask(candidate, "the mask"), sitk.sitkUInt8)
    label.CopyInformation(image)  # the image's exact geometry, not the mask's rounding
    extremes = sitk.MinimumMaximumImageFilter()
    extremes.Execute(label)
    if extremes.GetMaximum() == 0:
        raise InputError("the mask is empty: there is no lesion to learn from")
    return label


def _text(value: object, what: str, required: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InputError(f"the {what} is empty")
    if len(value) > MAX_TEXT or any(not ch.isprintable() for ch in value):
        raise InputError(f"the {what} must be one line of at most {MAX_TEXT} printable "
                         "characters")
    return value


def _label_path(root: Path, case_id: str) -> Path:
    return root / LABELS / f"{case_id}{FILE_ENDING}"


def saved_case_ids(root: Path) -> list[str]:
    """Case ids with a label and an image: what nnU-Net and ``read_nnunet_folder`` train on."""
    labels = root / LABELS
    if not labels.is_dir():
        return []
    ids = [p.name[:-len(FILE_ENDING)] for p in labels.iterdir()
           if p.name.endswith(FILE_ENDING) and not p.name.startswith(".")]
    return sorted(c for c in ids if (root / IMAGES / f"{c}_0000{FILE_ENDING}").exists())


def _next_case_id(root: Path) -> str:
    """``case_NNNN``, one past the highest such id with any file in the folder."""
    taken = [0]
    for folder, suffix in ((LABELS, FILE_ENDING), (IMAGES, f"_0000{FILE_ENDING}"),
                           (RECORDS, ".json")):
        for path in (root / folder).glob(f"{GENERATED_PREFIX}*{suffix}"):
            number = path.name[len(GENERATED_PREFIX):-len(suffix)]
            if number.isdigit():
                taken.append(int(number))
    return f"{GENERATED_PREFIX}{max(taken) + 1:04d}"


def _dataset_meta(root: Path) -> dict:
    """The folder's dataset.json (a new one's for an empty folder), refused when its cases
    could not sit beside ours: another file ending, several channels, other labels."""
    path = root / "dataset.json"
    if not path.exists():
        return {"name": root.name, "description": (
            f"cases saved by lesionseg; {RECORDS}/<case>.json records each case's patient, "
            "prompts, source, time and licence")}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable ({error})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: not an nnU-Net dataset.json (a JSON object)")
    ending = meta.get("file_ending", FILE_ENDING)
    channels = meta.get("channel_names", {"0": "CT"})
    labels = meta.get("labels", LABELS_MAP)
    values = (sorted(labels.values()) if isinstance(labels, dict)
              and all(isinstance(v, int) for v in labels.values()) else None)
    if ending != FILE_ENDING:
        raise InputError(f"{path}: its cases are {ending} files; cases are saved as "
                         f"{FILE_ENDING}: save into another folder")
    if not isinstance(channels, dict) or list(channels) != ["0"]:
        raise InputError(f"{path}: its cases have channels {channels}; a saved case has one "
                         "image: save into another folder")
    if values != [0, 1] or labels.get("background", 0) != 0:
        raise InputError(f"{path}: its labels are {labels}; a saved case has background 0 "
                         "and lesion 1: save into another folder")
    return meta


def _write_dataset_json(root: Path, meta: dict, modality: Modality) -> None:
    """The folder's dataset.json with this case counted, its channel named for the
    modalities it now holds."""
    updated = {**meta, "channel_names": {"0": _channel_name(meta, modality)},
               "labels": meta.get("labels", LABELS_MAP),
               "numTraining": len(saved_case_ids(root)), "file_ending": FILE_ENDING}
    write_atomic(root / "dataset.json", lambda p: write_json_file(updated, p), ".json",
                 "dataset.json")


def _channel_name(meta: dict, modality: Modality) -> str:
    """A new folder's channel is the case's modality; a folder of the other modality becomes
    ``MIXED`` (a channel not named CT counts as MR, as ``read_nnunet_folder`` reads it)."""
    if "channel_names" not in meta:
        return modality
    old = str(meta["channel_names"]["0"])
    held = {"CT", "MR"} if old == MIXED else {"CT"} if old.strip().upper() == "CT" else {"MR"}
    return old if modality in held else MIXED


@contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """One save at a time into ``root``: threads of this process, and processes (flock) where
    the system has it."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot make the folder {root}: {error.strerror}") from None
    with _THREAD_LOCK:
        try:
            import fcntl
        except ImportError:  # Windows: this process's saves still take turns
            yield
            return
        with open(root / ".lesionseg.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
