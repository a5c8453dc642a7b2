"""One case folder of a batch: its image and its prompts.

A case folder holds the grand-challenge layout, or one image (a file, a DICOM folder, or DICOM
files loose in the case folder itself) and its prompt files by their socket names
(``lesion-clicks.json``, ``lesion-scribbles.json``, ``lesion-outlines.json``,
``lesion-box.json``, ``lesion-recist.json``: any of them, at least one) or, with none of those,
one clicks JSON of any name (a Slicer ``.mrk.json`` too). Exports often put several images in a
case (sequences, a resampled copy): ``--image-pattern`` names the one to use, and of several,
the nnU-Net channel-0 file (``<case>_0000.nii.gz``) is taken, as nnU-Net itself would.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import SimpleITK as sitk

from algorithm.errors import InputError
from algorithm.io.grand_challenge import IMAGE_DIR, PROMPT_FILES, locate_inputs
from algorithm.io.images import image_suffix, strip_image_suffix
from algorithm.prompts.prompt_set import PromptFiles

CLICKS_NAME = "lesion-clicks.json"
#: nnU-Net names each channel ``<case>_<4 digits>``; channel 0 is the image to segment.
NNUNET_FIRST_CHANNEL = "_0000"


def find_case_files(folder: Path, image_pattern: str | None = None) -> tuple[Path, Path]:
    """(image, clicks) of a case folder whose prompts are clicks."""
    image, prompts = find_case_inputs(folder, image_pattern)
    if prompts.clicks is None or len(prompts.given()) > 1:
        raise InputError(f"case {folder.name}: expected clicks alone, found "
                         f"{', '.join(prompts.given())}")
    return image, prompts.clicks


def find_case_inputs(folder: Path, image_pattern: str | None = None) -> tuple[Path, PromptFiles]:
    """(image, prompt files) of a case folder."""
    if (folder / IMAGE_DIR).is_dir():
        found = locate_inputs(folder)
        return found.image, found.prompts
    return find_image(folder, image_pattern), find_prompts(folder)


def find_prompts(folder: Path) -> PromptFiles:
    """The prompt files by their socket names; with none of those, the one clicks JSON."""
    named = {kind: folder / name for kind, name in PROMPT_FILES.items()
             if (folder / name).is_file()}
    return PromptFiles(**named) if named else PromptFiles(clicks=find_clicks(folder))


def find_clicks(folder: Path) -> Path:
    jsons = [folder / CLICKS_NAME] if (folder / CLICKS_NAME).is_file() else sorted(
        folder.glob("*.json"))
    if len(jsons) != 1:
        raise InputError(f"case {folder.name}: expected {CLICKS_NAME} (or exactly one .json) or "
                         f"another prompt file ({', '.join(list(PROMPT_FILES.values())[1:])})")
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
