"""napari reader: CT and MR volumes, DICOM series folders included, read as ``lesionseg
segment`` reads them; the layer keeps the world geometry (``volume.Volume``) in its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import SimpleITK as sitk

from algorithm.io.images import IMAGE_SUFFIXES, strip_image_suffix
from napari_lesionseg.volume import METADATA_KEY, open_volume, window_limits

LayerData = tuple  # (data, kwargs, layer type), napari's LayerDataTuple


def get_reader(path: str | list[str]) -> Callable[[str], list[LayerData]] | None:
    """The reader for one path it can read: an image file, or a folder (a DICOM series)."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    candidate = Path(path)
    if candidate.is_dir() or candidate.name.lower().endswith(tuple(IMAGE_SUFFIXES) + (".dcm",)):
        return read_layers
    return None


def read_layers(path: str | list[str]) -> list[LayerData]:
    if isinstance(path, list):
        path = path[0]
    source = Path(path)
    if source.suffix.lower() == ".dcm":  # one file of a series: read its whole folder
        source = source.parent
    image, volume = open_volume(source)
    data = sitk.GetArrayViewFromImage(image).copy()
    return [(data, {
        "name": _layer_name(source),
        "scale": volume.layer_scale(),
        "contrast_limits": window_limits(data, volume.modality),
        "colormap": "gray",
        "metadata": {METADATA_KEY: volume},
    }, "image")]


def _layer_name(source: Path) -> str:
    return strip_image_suffix(source.name) or source.name
