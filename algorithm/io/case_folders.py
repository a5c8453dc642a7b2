"""One case folder of a batch: its image and its clicks.

A case folder holds the grand-challenge layout, or one image (a file, a DICOM folder, or DICOM
files loose in the case folder itself) and one clicks JSON. Exports often put several images in a
case (sequences, a resampled copy): ``--image-pattern`` names the one to use, and of several,
the nnU-Net channel-0 file (``<case>_0000.nii.gz``) is taken, as nnU-Net itself would.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.grand_challenge import IMAGE_DIR, locate_inputs
from algorithm.io.images import image_suffix, strip_image_suffix

CLICKS_NAME = "lesion-clicks.json"
#: nnU-Net names each channel ``<case>_<4 digits>``; channel 0 is the image to segment.
NNUNET_FIRST_CHANNEL = "_0000"


def find_case_files(folder: Path, image_pattern: str | None = None) -> tuple[Path, Path]:
    """(image, clicks) of a case folder."""
    if (folder / IMAGE_DIR).is_dir():
        found = locate_inputs(folder)
        return found.image, found.clicks
    return find_image(folder, image_pattern), find_clicks(folder)


def find_clicks(folder: Path) -> Path:
    jsons = [folder / CLICKS_NAME] if (folder / CLICKS_NAME).is_file() else sorted(
        folder.glob("*.json"))
    if len(jsons) != 1:
        raise InputError(f"case {folder.name}: expected {CLICKS_NAME} (or exactly one .json)")
    return jsons[0]


def find_image(folder: Path, image_pattern: str | None = None) -> Path:
    """The case's one image file or DICOM folder; see the module docstring for the choice."""
    entries = sorted(folder.iterdir())
    found = [p for p in entries if p.is_file() and image_suffix(p)]
    found += [p for p in entries if p.is_dir()]
    if image_pattern is not None:
        matching = [p for p in found if fnmatch(p.name, image_pattern)]
        if not matching:
            raise InputError(f"case {folder.name}: no image matches --image-pattern "
                             f"{image_pattern!r} (found: {_names(found) or 'none'})")
        found = matching
    if not found and image_pattern is None and sitk.ImageSeriesReader.GetGDCMSeriesIDs(
            str(folder)):
        return folder  # DICOM files loose in the case folder
    if len(found) > 1:
        first = [p for p in found if p.is_file()
                 and strip_image_suffix(p.name).endswith(NNUNET_FIRST_CHANNEL)]
        if len(first) == 1:
            return first[0]
    if len(found) != 1:
        raise InputError(f"case {folder.name}: expected one image file or one DICOM folder, "
                         f"found {len(found)}{f' ({_names(found)})' if found else ''}; "
                         "name it with --image-pattern GLOB (or an nnU-Net <case>_0000 file)")
    return found[0]


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name + ("/" if p.is_dir() else "") for p in paths)
