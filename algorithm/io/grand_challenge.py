"""grand-challenge.org's algorithm I/O layout: find one case's inputs, and where to write.

With ``inputs.json`` the platform lists socket values; each file is found through its socket's
``relative_path``. Without it (local runs) the default relative paths are used. Paths from
``inputs.json`` are never trusted: they must resolve inside the input folder.

The optional ``previous-segmentation`` socket (the mask of the previous refinement step) is an
image socket like ``medical-image``: the platform puts image sockets under ``images/<slug>/``.
It is used when ``inputs.json`` lists it or, without a listing entry, when its default folder
exists; either way its folder must then hold exactly one image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from algorithm.errors import InputError
from algorithm.io.images import strip_image_suffix

IMAGE_SOCKET = "medical-image"
CLICKS_SOCKET = "lesion-clicks"
PREVIOUS_SOCKET = "previous-segmentation"
IMAGE_DIR = "images/medical-image"
CLICKS_FILE = "lesion-clicks.json"
PREVIOUS_DIR = "images/previous-segmentation"
OUTPUT_DIR = "images/lesion-segmentation"
PLATFORM_IMAGE_SUFFIXES = (".mha", ".tif", ".tiff")


@dataclass(frozen=True)
class CaseInputs:
    image: Path
    clicks: Path
    #: the previous step's mask (``previous-segmentation`` socket), when the case has one
    previous_segmentation: Path | None = None


def locate_inputs(input_dir: Path) -> CaseInputs:
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InputError(f"input folder {input_dir} does not exist")
    relative = {IMAGE_SOCKET: IMAGE_DIR, CLICKS_SOCKET: CLICKS_FILE, PREVIOUS_SOCKET: PREVIOUS_DIR}
    listing = input_dir / "inputs.json"
    listed: dict[str, str] = {}
    if listing.is_file():
        listed = _relative_paths_from_listing(listing)
        relative.update(listed)
    image = _single_image(_inside(input_dir, relative[IMAGE_SOCKET], IMAGE_SOCKET), IMAGE_SOCKET)
    clicks = _existing_file(_inside(input_dir, relative[CLICKS_SOCKET], CLICKS_SOCKET))
    previous_path = _inside(input_dir, relative[PREVIOUS_SOCKET], PREVIOUS_SOCKET)
    previous = None
    if PREVIOUS_SOCKET in listed or previous_path.exists():
        previous = _single_image(previous_path, PREVIOUS_SOCKET)
    return CaseInputs(image=image, clicks=clicks, previous_segmentation=previous)


def output_mask_path(output_dir: Path, image_path: Path) -> Path:
    """The mask keeps the input image's stem so batch users can pair them up."""
    return Path(output_dir) / OUTPUT_DIR / f"{strip_image_suffix(image_path.name)}.mha"


def _relative_paths_from_listing(listing: Path) -> dict[str, str]:
    try:
        values = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"inputs.json is not valid JSON: {exc}") from None
    if not isinstance(values, list):
        raise InputError("inputs.json must be a list of socket values")
    found: dict[str, str] = {}
    for i, value in enumerate(values):
        socket = value.get("socket", value.get("interface")) if isinstance(value, dict) else None
        if not isinstance(socket, dict) or not isinstance(socket.get("slug"), str):
            raise InputError(f"inputs.json item {i} has no 'socket' (or 'interface') with a slug")
        slug = socket["slug"]
        if slug in (IMAGE_SOCKET, CLICKS_SOCKET, PREVIOUS_SOCKET):
            rel = socket.get("relative_path")
            if not isinstance(rel, str) or not rel:
                raise InputError(f"inputs.json socket '{slug}' has no relative_path")
            found[slug] = rel
    missing = {IMAGE_SOCKET, CLICKS_SOCKET} - found.keys()
    if missing:
        raise InputError(f"inputs.json lists no value for socket(s): {', '.join(sorted(missing))}")
    return found


def _inside(root: Path, relative: str, slug: str) -> Path:
    candidate = Path(relative)
    if candidate.is_absolute() or "\x00" in relative:
        raise InputError(f"socket '{slug}' relative_path {relative!r} must be a relative path")
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"socket '{slug}' relative_path {relative!r} escapes the input folder")
    return resolved


def _single_image(folder: Path, slug: str) -> Path:
    if not folder.is_dir():
        raise InputError(f"image folder {folder} (socket '{slug}') does not exist")
    files = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.name.lower().endswith(PLATFORM_IMAGE_SUFFIXES)
    )
    if len(files) != 1:
        raise InputError(
            f"expected exactly one .mha/.tif/.tiff image in {folder} (socket '{slug}'), "
            f"found {len(files)}"
        )
    return files[0]


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"clicks file {path} does not exist")
    return path
