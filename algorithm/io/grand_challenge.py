"""grand-challenge.org's algorithm I/O layout: find one case's inputs, and where to write.

With ``inputs.json`` the platform lists socket values; each file is found through its socket's
``relative_path``. Without it (local runs) the default relative paths are used. Paths from
``inputs.json`` are never trusted: they must resolve inside the input folder.

The prompts are JSON sockets, each optional, at least one needed (``PROMPT_SOCKETS``:
``lesion-clicks``, ``lesion-scribbles``, ``lesion-outlines``, ``lesion-box``,
``lesion-recist``, by default ``<slug>.json``). The optional ``previous-segmentation`` socket
(the mask of the previous refinement step) is an image socket like ``medical-image``: the
platform puts image sockets under ``images/<slug>/``. Each optional socket is used when
``inputs.json`` lists it (its file must then exist) or, without a listing entry, when its
default path exists; an image socket's folder must hold exactly one image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from algorithm.errors import InputError
from algorithm.io.images import strip_image_suffix
from algorithm.prompts.prompt_set import PromptFiles

IMAGE_SOCKET = "medical-image"
CLICKS_SOCKET = "lesion-clicks"
PREVIOUS_SOCKET = "previous-segmentation"
IMAGE_DIR = "images/medical-image"
CLICKS_FILE = "lesion-clicks.json"
PREVIOUS_DIR = "images/previous-segmentation"
OUTPUT_DIR = "images/lesion-segmentation"
PLATFORM_IMAGE_SUFFIXES = (".mha", ".tif", ".tiff")
#: prompt kind (``PromptFiles`` field) -> its socket's slug; the default file is ``<slug>.json``
PROMPT_SOCKETS = {
    "clicks": CLICKS_SOCKET,
    "scribbles": "lesion-scribbles",
    "outlines": "lesion-outlines",
    "box": "lesion-box",
    "recist": "lesion-recist",
}
PROMPT_FILES = {kind: f"{slug}.json" for kind, slug in PROMPT_SOCKETS.items()}


@dataclass(frozen=True)
class CaseInputs:
    image: Path
    #: the case's prompt files, one per socket it has (at least one)
    prompts: PromptFiles = field(default_factory=PromptFiles)
    #: the previous step's mask (``previous-segmentation`` socket), when the case has one
    previous_segmentation: Path | None = None

    @property
    def clicks(self) -> Path | None:
        return self.prompts.clicks


def locate_inputs(input_dir: Path) -> CaseInputs:
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InputError(f"input folder {input_dir} does not exist")
    relative = {IMAGE_SOCKET: IMAGE_DIR, PREVIOUS_SOCKET: PREVIOUS_DIR,
                **{slug: PROMPT_FILES[kind] for kind, slug in PROMPT_SOCKETS.items()}}
    listing = input_dir / "inputs.json"
    listed: dict[str, str] = {}
    if listing.is_file():
        listed = _relative_paths_from_listing(listing)
        relative.update(listed)
    image = _single_image(_inside(input_dir, relative[IMAGE_SOCKET], IMAGE_SOCKET), IMAGE_SOCKET)
    prompts = {}
    for kind, slug in PROMPT_SOCKETS.items():
        path = _inside(input_dir, relative[slug], slug)
        if slug in listed or path.exists():
            prompts[kind] = _existing_file(path, slug)
    if not prompts:
        raise InputError(f"no prompt in {input_dir}: expected at least one of "
                         f"{', '.join(PROMPT_FILES.values())}")
    previous_path = _inside(input_dir, relative[PREVIOUS_SOCKET], PREVIOUS_SOCKET)
    previous = None
    if PREVIOUS_SOCKET in listed or previous_path.exists():
        previous = _single_image(previous_path, PREVIOUS_SOCKET)
    return CaseInputs(image=image, prompts=PromptFiles(**prompts),
                      previous_segmentation=previous)


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
        if slug in (IMAGE_SOCKET, PREVIOUS_SOCKET, *PROMPT_SOCKETS.values()):
            rel = socket.get("relative_path")
            if not isinstance(rel, str) or not rel:
                raise InputError(f"inputs.json socket '{slug}' has no relative_path")
            found[slug] = rel
    if IMAGE_SOCKET not in found:
        raise InputError(f"inputs.json lists no value for socket(s): {IMAGE_SOCKET}")
    if not found.keys() & set(PROMPT_SOCKETS.values()):
        raise InputError("inputs.json lists no prompt socket: at least one of "
                         f"{', '.join(PROMPT_SOCKETS.values())} is needed")
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


def _existing_file(path: Path, slug: str) -> Path:
    if not path.is_file():
        what = "clicks" if slug == CLICKS_SOCKET else f"'{slug}'"
        raise InputError(f"{what} file {path} does not exist")
    return path
