"""Dataset readers: the dev-lesions manifest, nnU-Net v2 and Medical Segmentation Decathlon folders.

Every reader returns ``Case`` records (paths only, nothing loaded) so that splitting, filtering and
counting stay cheap; ``load_case`` reads one case and checks that images and label share a grid.
Splits are by patient (``patient_split``): two studies of one patient on both sides of a split
would leak anatomy and lesion appearance into validation.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import SimpleITK as sitk

from algorithm.io.retraining_folder import read_case_records

#: File endings read by SimpleITK that the folder readers recognise (longest first).
IMAGE_ENDINGS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


@dataclass(frozen=True)
class Case:
    """One training case: several co-registered images (channels, e.g. T1c and FLAIR) + a label.

    ``lesion_labels`` lists the label values that form the lesion (None: every value > 0).
    ``modality`` is normalised to 'CT' or 'MR'; ``modality_detail`` keeps the source's wording
    (e.g. 'CT (uint8, pre-windowed)' is CT but not in Hounsfield units). ``group`` names the source
    collection, for stratified splits and per-group reporting.
    """

    case_id: str
    patient_id: str
    image_paths: tuple[Path, ...]
    label_path: Path
    lesion_labels: tuple[int, ...] | None = None
    modality: str = "CT"
    group: str = ""
    licence: str = ""
    channel_names: tuple[str, ...] = ()
    modality_detail: str = ""
    #: the manifest or folder it was read from, as given (training weighs sources by it)
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.modality not in ("CT", "MR"):
            raise ValueError(
                f"case {self.case_id}: modality must be 'CT' or 'MR', got {self.modality!r}"
            )
        if not self.image_paths:
            raise ValueError(f"case {self.case_id}: needs at least one image")


class GeometryError(ValueError):
    """Images and label of a case do not share a voxel grid (beyond a small tolerance)."""


def normalise_modality(text: str) -> str:
    """'CT', 'CT (uint8, pre-windowed)' -> 'CT'; 'MR (T1 post-contrast)', 'T2', 'FLAIR' -> 'MR'."""
    t = text.strip().upper()
    if t.startswith("CT"):
        return "CT"
    if t.startswith(("MR", "T1", "T2", "FLAIR", "ADC", "DWI", "PD")):
        return "MR"
    raise ValueError(f"unknown modality {text!r}: expected CT or an MR sequence name")


_PATIENT_RULES: tuple[tuple[re.Pattern, str], ...] = (
    # DeepLesion: <patient>_<study>_<series>_<slices>; several studies per patient.
    (re.compile(r"^(deeplesion)_(\d+)_\d+_\d+_.*$"), r"\1_\2"),
    # BraTS: ..._patNNNN_<timepoint>
    (re.compile(r"^(brats.*_pat\d+)_\d+$"), r"\1"),
)


def patient_id_from_case_id(case_id: str) -> str:
    """Patient of a dev-lesions case id where the naming scheme encodes it, else the case id.

    Only schemes known to encode the patient are parsed (DeepLesion, BraTS); a generic rule would
    wrongly merge e.g. ``radphantom_pat_1`` and ``radphantom_pat_2``.
    """
    for pattern, repl in _PATIENT_RULES:
        if pattern.match(case_id):
            return pattern.sub(repl, case_id)
    return case_id


def _group_of(case_id: str) -> str:
    return case_id.split("_", 1)[0]


def _as_labels(values: Iterable | None) -> tuple[int, ...] | None:
    if values is None:
        return None
    labels = tuple(int(v) for v in values)
    if any(v <= 0 for v in labels):
        raise ValueError(f"lesion labels must be > 0, got {labels}")
    return labels or None


def read_manifest(path: str | Path) -> list[Case]:
    """Cases of a dev-lesions style ``manifest.json`` (a list of case entries).

    Each entry has ``case``, ``modality``, ``images`` ({channel name: file}), ``label``,
    ``lesion_labels`` and optionally ``licence``, ``patient``/``patient_id`` and ``group``; files
    are relative to ``<manifest dir>/<case>/`` (absolute paths are kept). Missing files raise.
    """
    path = Path(path)
    entries = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(entries, dict) and "cases" in entries:
        entries = entries["cases"]
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of case entries")
    cases = []
    for i, e in enumerate(entries):
        try:
            case_id = str(e["case"])
            images = e["images"]
            label = e["label"]
            modality_text = str(e["modality"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: entry {i} lacks field {exc}") from None
        if isinstance(images, str):
            images = {"image": images}
        case_dir = path.parent / case_id

        def resolve(name: str) -> Path:
            p = Path(name)
            p = p if p.is_absolute() else case_dir / p
            if not p.exists():
                raise FileNotFoundError(f"{path}: case {case_id}: missing file {p}")
            return p

        cases.append(Case(
            case_id=case_id,
            patient_id=str(
                e.get("patient_id") or e.get("patient") or patient_id_from_case_id(case_id)
            ),
            image_paths=tuple(resolve(f) for f in images.values()),
            label_path=resolve(label),
            lesion_labels=_as_labels(e.get("lesion_labels")),
            modality=normalise_modality(modality_text),
            group=str(e.get("group") or _group_of(case_id)),
            licence=str(e.get("licence") or e.get("license") or ""),
            channel_names=tuple(str(k) for k in images),
            modality_detail=modality_text,
            extra={k: v for k, v in e.items() if k in ("region", "lesion_type", "source", "notes")},
        ))
    return cases


def _strip_ending(name: str, ending: str | None) -> str | None:
    endings = (ending,) if ending else IMAGE_ENDINGS
    for end in endings:
        if name.endswith(end):
            return name[: -len(end)]
    return None


def read_nnunet_folder(
    path: str | Path, lesion_labels: Sequence[int] | None = None,
    patient_of: Callable[[str], str] | None = None, group: str | None = None,
) -> list[Case]:
    """Cases of an nnU-Net v2 (or Medical Segmentation Decathlon) raw dataset folder.

    nnU-Net v2: ``dataset.json`` with ``channel_names`` (or MSD's ``modality``), ``labels``,
    ``file_ending`` (inferred from ``labelsTr`` when absent), images ``imagesTr/CASE_XXXX<ending>``
    one file per channel, labels ``labelsTr/CASE<ending>``; NIfTI, NRRD and MHA all work. An MSD
    style ``training: [{image, label}]`` list is used when the per-channel files are absent (each
    listed image must then be a 3D file: 4D MSD images are rejected by ``load_case``).
    The modality is CT if any channel is named CT, else MR. Lesion values: ``lesion_labels``, else
    ``lesion_labels_from_names`` of the ``labels`` map. ``patient_of`` maps case id to patient.
    nnU-Net has no patient field, so by default each case is its own patient, unless the folder
    holds the case records of ``algorithm.io.retraining_folder`` (``casesTr/<case>.json``, cases
    saved from the server or a viewer): then each record's patient, licence and modality count.
    """
    root = Path(path)
    meta_path = root / "dataset.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    channels = meta.get("channel_names") or meta.get("modality") or {"0": "unknown"}
    channel_names = tuple(str(channels[k]) for k in sorted(channels, key=int))
    modality = "CT" if any(c.strip().upper() == "CT" for c in channel_names) else "MR"
    labels = _as_labels(lesion_labels)
    if labels is None:
        labels = lesion_labels_from_names(meta.get("labels", {}))
    records = read_case_records(root)
    patient_of = patient_of or (lambda case_id: str(records.get(case_id, {}).get("patient_id")
                                                    or case_id))
    group = group if group is not None else root.name
    licence = str(meta.get("licence") or meta.get("license") or "")
    ending = meta.get("file_ending")

    def make(case_id: str, images: tuple[Path, ...], label: Path) -> Case:
        record = records.get(case_id, {})
        return Case(case_id=case_id, patient_id=patient_of(case_id), image_paths=images,
                    label_path=label, lesion_labels=labels,
                    modality=record.get("modality") or modality, group=group,
                    licence=str(record.get("licence") or licence), channel_names=channel_names)

    cases: list[Case] = []
    incomplete: list[str] = []
    label_dir, image_dir = root / "labelsTr", root / "imagesTr"
    label_files = sorted(label_dir.iterdir()) if label_dir.is_dir() else []
    for label in label_files:
        case_id = _strip_ending(label.name, ending)
        if case_id is None or label.name.startswith("."):
            continue
        end = label.name[len(case_id):]
        images = tuple(image_dir / f"{case_id}_{i:04d}{end}" for i in range(len(channel_names)))
        missing = [p for p in images if not p.exists()]
        if missing:
            incomplete.append(f"{case_id} (missing {', '.join(p.name for p in missing)})")
        else:
            cases.append(make(case_id, images, label))
    if cases and incomplete:
        raise FileNotFoundError(f"{root}: channel files missing for {'; '.join(incomplete)}")
    if cases:
        return cases
    for item in meta.get("training", []):  # MSD-style explicit pairs
        image, label = root / item["image"], root / item["label"]
        if not (image.exists() and label.exists()):
            raise FileNotFoundError(f"{meta_path}: listed pair {item} is missing on disk")
        case_id = _strip_ending(image.name, None) or image.stem
        cases.append(make(case_id, (image,), label))
    if not cases:
        raise ValueError(f"{root}: no cases found (labelsTr/ + imagesTr/ or dataset.json training)")
    return cases


_LESION_NAME = re.compile(
    r"tumou?r|lesion|cancer|mass|metasta|nodule|neoplas|carcinoma|glioma|oedema|edema|necro",
    re.IGNORECASE,
)


def lesion_labels_from_names(labels: dict) -> tuple[int, ...] | None:
    """Lesion values from a dataset.json ``labels`` map, or None for "every value > 0".

    nnU-Net v2 maps name -> value (a list of values for regions), MSD maps "value" -> name. When
    some foreground names read like lesions and others do not (e.g. MSD liver: liver + cancer,
    KiTS: kidney + tumor + cyst), only the lesion-like ones count; otherwise all foreground does.
    """
    named: list[tuple[str, list[int]]] = []
    for key, val in labels.items():
        if isinstance(val, str) and str(key).lstrip("-").isdigit():
            named.append((val, [int(key)]))
        elif isinstance(val, (int, float)):
            named.append((str(key), [int(val)]))
        elif isinstance(val, list):
            named.append((str(key), [int(v) for v in val]))
    foreground = [(n, [v for v in vals if v > 0]) for n, vals in named]
    foreground = [(n, vals) for n, vals in foreground if vals]
    lesion = [(n, vals) for n, vals in foreground if _LESION_NAME.search(n)]
    if not lesion or len(lesion) == len(foreground):
        return None
    return tuple(sorted({v for _, vals in lesion for v in vals}))


def _geometry(img: sitk.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.array(img.GetSize()), np.array(img.GetSpacing()), np.array(img.GetOrigin()),
            np.array(img.GetDirection()))


#: Tolerances for "same grid": spacing and direction relative/absolute, origin in voxels.
SAME_SPACING_RTOL = 1e-4
SAME_ORIGIN_VOXELS = 1e-3
SAME_DIRECTION_ATOL = 1e-4
#: Beyond "same" but within these, the grid is treated as a rounding/float-precision mismatch and
#: resampled onto the first image; anything larger raises ``GeometryError``.
CLOSE_SPACING_RTOL = 1e-2
CLOSE_ORIGIN_VOXELS = 0.5
CLOSE_DIRECTION_ATOL = 1e-3


def compare_geometry(reference: sitk.Image, other: sitk.Image) -> str:
    """'same', 'close' (resample-worthy rounding differences) or 'different', see tolerances."""
    size_r, sp_r, org_r, dir_r = _geometry(reference)
    size_o, sp_o, org_o, dir_o = _geometry(other)
    if len(size_r) != len(size_o) or not np.array_equal(size_r, size_o):
        return "different"
    sp_err = np.max(np.abs(sp_o - sp_r) / sp_r)
    org_err = np.max(np.abs(org_o - org_r) / sp_r)
    dir_err = np.max(np.abs(dir_o - dir_r))
    if (sp_err <= SAME_SPACING_RTOL and org_err <= SAME_ORIGIN_VOXELS
            and dir_err <= SAME_DIRECTION_ATOL):
        return "same"
    if (sp_err <= CLOSE_SPACING_RTOL and org_err <= CLOSE_ORIGIN_VOXELS
            and dir_err <= CLOSE_DIRECTION_ATOL):
        return "close"
    return "different"


def _onto(reference: sitk.Image, img: sitk.Image, what: str, case_id: str,
          interpolator: int) -> sitk.Image:
    verdict = compare_geometry(reference, img)
    if verdict == "same":
        out = sitk.Image(img)
        out.CopyInformation(reference)
        return out
    if verdict == "close":
        pixel = img.GetPixelID() if interpolator == sitk.sitkNearestNeighbor else sitk.sitkFloat32
        return sitk.Resample(img, reference, sitk.Transform(), interpolator, 0.0, pixel)
    raise GeometryError(
        f"case {case_id}: {what} grid differs from the first image: size {img.GetSize()} vs "
        f"{reference.GetSize()}, spacing {img.GetSpacing()} vs {reference.GetSpacing()}, origin "
        f"{img.GetOrigin()} vs {reference.GetOrigin()}, direction {img.GetDirection()} vs "
        f"{reference.GetDirection()}"
    )


def load_case(case: Case) -> tuple[list[sitk.Image], sitk.Image]:
    """Read a case: (images on the first image's grid, binary uint8 lesion label on that grid).

    Geometry check: every other image and the label must share size, spacing, origin and
    direction with the first image. Float-precision differences ('same') just get the first
    image's metadata copied; small ones ('close': spacing within 1 %, origin within half a voxel,
    same size) are resampled onto the first image (nearest neighbour for the label, linear to
    float32 for images), the usual NIfTI/NRRD conversion rounding; anything else raises ``GeometryError``
    rather than silently training on misaligned labels.
    """
    images = [sitk.ReadImage(str(p)) for p in case.image_paths]
    for p, img in zip(case.image_paths, images):
        if img.GetDimension() != 3:
            raise GeometryError(f"case {case.case_id}: {p.name} is {img.GetDimension()}D, need 3D")
        if img.GetNumberOfComponentsPerPixel() != 1:
            raise GeometryError(f"case {case.case_id}: {p.name} is a vector image, need scalar")
    ref = images[0]
    images = [ref] + [
        _onto(ref, img, f"image {p.name}", case.case_id, sitk.sitkLinear)
        for p, img in zip(case.image_paths[1:], images[1:])
    ]
    label = sitk.ReadImage(str(case.label_path))
    if label.GetDimension() != 3:
        raise GeometryError(f"case {case.case_id}: label is {label.GetDimension()}D, need 3D")
    label = _onto(ref, label, "label", case.case_id, sitk.sitkNearestNeighbor)
    values = sitk.GetArrayViewFromImage(label)
    lesion = np.isin(values, case.lesion_labels) if case.lesion_labels else values > 0
    out = sitk.GetImageFromArray(lesion.astype(np.uint8))
    out.CopyInformation(ref)
    return images, out


def load_case_arrays(case: Case) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(images (C, z, y, x) float32, lesion mask (z, y, x) bool, spacing (z, y, x) mm)."""
    images, label = load_case(case)
    stack = np.stack([sitk.GetArrayFromImage(i).astype(np.float32) for i in images])
    spacing = tuple(float(s) for s in reversed(images[0].GetSpacing()))
    return stack, sitk.GetArrayFromImage(label).astype(bool), spacing  # type: ignore[return-value]


def patient_split(
    cases: Sequence[Case], n_folds: int, fold: int, seed: int = 0,
) -> tuple[list[Case], list[Case]]:
    """(train, validation) for ``fold`` of ``n_folds``, never splitting a patient.

    Each source collection (``group``) is split on its own: its patients are shuffled with
    ``seed`` and the group's name, and dealt greedily (largest first) to the fold with the fewest
    of the group's cases, ties broken in an order that also depends on the group. So folds are
    balanced and stratified, and a group's folds do not change when other sources join or leave
    the training data: the sarcoma folds of an all-data run and of a run without the
    non-commercial cases are the same. Deterministic; input order is kept within each side.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must be in 0..{n_folds - 1}, got {fold}")
    by_patient: dict[str, list[Case]] = {}
    for c in cases:
        by_patient.setdefault(c.patient_id, []).append(c)
    if len(by_patient) < n_folds:
        raise ValueError(f"{len(by_patient)} patients cannot fill {n_folds} folds")
    groups: dict[str, list[str]] = {}
    for patient in sorted(by_patient):
        groups.setdefault(by_patient[patient][0].group, []).append(patient)
    fold_of: dict[str, int] = {}
    for group, patients in groups.items():
        key = zlib.crc32(group.encode("utf-8"))
        order = np.random.default_rng([seed, key]).permutation(len(patients))
        # larger patients first so greedy balancing works; stable, so ties keep the shuffle
        shuffled = sorted((patients[i] for i in order), key=lambda p: -len(by_patient[p]))
        counts = np.zeros(n_folds, int)
        offset = key % n_folds
        for p in shuffled:
            f = min(range(n_folds), key=lambda k: (counts[k], (k - offset) % n_folds))
            fold_of[p] = f
            counts[f] += len(by_patient[p])
    val = [c for c in cases if fold_of[c.patient_id] == fold]
    train = [c for c in cases if fold_of[c.patient_id] != fold]
    return train, val
