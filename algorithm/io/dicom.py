"""DICOM folders as PACS and viewers export them: nested patient/study/series folders, several
series side by side. The series are found in every subfolder, listed when the choice is not
clear, and one is chosen by its SeriesInstanceUID.

Read with GDCM through SimpleITK, not panimg: panimg 0.18.2 assigns DICOM PixelSpacing (row
spacing, column spacing) to (x, y), which swaps the in-plane spacing of non-square pixels; GDCM
gets it right (tested).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from algorithm.errors import InputError

SERIES_DESCRIPTION = "0008|103e"
MODALITY = "0008|0060"


@dataclass(frozen=True)
class DicomSeries:
    uid: str  #: SeriesInstanceUID
    description: str  #: SeriesDescription, "" when absent
    files: int
    bytes: int

    def summary(self) -> str:
        what = f" '{self.description}'" if self.description else ""
        return f"{self.uid}{what} ({self.files} files, {self.bytes / 1e6:.1f} MB)"


def find_series(folder: Path) -> list[DicomSeries]:
    """Every DICOM series in ``folder`` and its subfolders, in the order first found."""
    files: dict[str, list[str]] = {}
    for directory, subdirs, names in os.walk(folder):
        subdirs.sort()
        if not names:  # patient and study levels: nothing to scan (and no GDCM warning)
            continue
        for uid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(directory):
            files.setdefault(uid, []).extend(
                sitk.ImageSeriesReader.GetGDCMSeriesFileNames(directory, uid))
    release_freed_memory()
    return [DicomSeries(uid, _description(names[0]), len(names),
                        sum(os.path.getsize(n) for n in names)) for uid, names in files.items()]


def choose_series(folder: Path, found: list[DicomSeries], wanted: Collection[str] = (),
                  *, required: bool = True) -> DicomSeries:
    """The one series to read: the only one found, or the one of ``wanted`` that is present.

    With ``required``, a ``wanted`` UID that is absent is an error even when only one series is
    found (the user asked for another); without it (a batch, whose UIDs belong to other cases),
    a folder's only series is read.
    """
    listing = "; ".join(s.summary() for s in found)
    chosen = [s for s in found if s.uid in wanted]
    if len(chosen) == 1:
        return chosen[0]
    if not found:
        raise InputError(f"folder {folder.name} holds no DICOM series (subfolders searched)")
    if len(chosen) > 1:
        raise InputError(f"folder {folder.name} holds more than one of the series asked for: "
                         f"{listing}")
    if wanted and (required or len(found) > 1):
        raise InputError(f"folder {folder.name} holds no series {', '.join(sorted(wanted))}; it "
                         f"holds: {listing}")
    if len(found) > 1:
        raise InputError(f"folder {folder.name} holds {len(found)} DICOM series: {listing}; "
                         "choose one with --series UID")
    return found[0]


@dataclass(frozen=True)
class DicomVolume:
    """A series read as one image, with the files it came from (a DICOM SEG references them)."""

    image: sitk.Image
    files: tuple[Path, ...]  #: in GDCM's order; map a file to a slice by its position, not this


def read_dicom_series(folder: Path, wanted: Collection[str] = (), *,
                      required: bool = True) -> DicomVolume:
    """Read the chosen series (``choose_series``) of a folder tree, sorted by GDCM."""
    series = choose_series(folder, find_series(folder), wanted, required=required)
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series.uid, recursive=True)
    release_freed_memory()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM series {series.uid} in {folder.name}: "
                         f"{str(exc).strip().splitlines()[-1]}") from None
    modality = reader.GetMetaData(0, MODALITY).strip() if reader.HasMetaDataKey(0, MODALITY) \
        else None
    del reader  # it shares the image's buffer: metadata set while it lives copies the image
    if modality is not None:
        image.SetMetaData("Modality", modality)
    return DicomVolume(image, tuple(Path(f) for f in files))


def read_dicom_folder(folder: Path, wanted: Collection[str] = (), *,
                      required: bool = True) -> sitk.Image:
    """The image of ``read_dicom_series``."""
    return read_dicom_series(folder, wanted, required=required).image


def release_freed_memory() -> None:
    """Give the memory GDCM has freed back to the system.

    GDCM's series scan (``GetGDCMSeriesIDs``, ``GetGDCMSeriesFileNames``) reads the files whole:
    for a 1000-slice CT it allocates as much as the image, and glibc keeps the freed blocks in
    its heap, where the image's own buffer (one large mapping) cannot reuse them, so reading the
    series would hold twice the image. ``malloc_trim`` (glibc only; elsewhere nothing) returns
    them."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _malloc_trim()


def _description(path: str) -> str:
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return ""
    return reader.GetMetaData(SERIES_DESCRIPTION).strip() if reader.HasMetaDataKey(
        SERIES_DESCRIPTION) else ""
