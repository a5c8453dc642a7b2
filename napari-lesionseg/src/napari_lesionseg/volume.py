"""A CT or MR volume as the plug-in holds it: the voxels for napari, the grid (origin, spacing,
direction) that maps every drawn point to world millimetres, and, for a DICOM series, the files
a DICOM SEG must reference.

napari shows the voxel grid at its spacing (``layer_scale``): layers' data coordinates are then
continuous voxel indices (z, y, x), which ``to_world`` maps through the full direction matrix. An
oblique scan is thus shown as its slices (as a radiologist reads it) and every prompt is still
exact in patient coordinates; napari's own affine display would drop the out-of-plane rotation
when it slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from algorithm.geometry import index_to_world, world_to_index
from algorithm.io.dicom import read_dicom_series
from algorithm.io.images import ImageGrid, read_image, validate_volume
from algorithm.preprocessing import detect_modality

#: metadata key under which a layer carries its ``Volume``
METADATA_KEY = "lesionseg_volume"

#: window presets as (level, width) in HU; MR gets percentiles instead
CT_WINDOWS = {"soft tissue": (40.0, 400.0), "lung": (-600.0, 1500.0), "bone": (400.0, 1800.0)}
MR_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Volume:
    """What the plug-in needs of an opened image besides its voxels."""

    grid: ImageGrid
    modality: str  #: "CT" or "MR"
    source: Path
    dicom_files: tuple[Path, ...] = ()  #: the series' files, for a DICOM SEG; () for a file

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.grid.size[::-1])  # type: ignore[return-value]

    def layer_scale(self) -> tuple[float, float, float]:
        """napari's (z, y, x) scale: the voxel spacing in mm."""
        return tuple(float(s) for s in self.grid.spacing[::-1])  # type: ignore[return-value]

    def to_world(self, data_zyx: np.ndarray) -> np.ndarray:
        """World points (x, y, z mm, LPS) of layer data coordinates (continuous z, y, x voxel
        indices): what every prompt sent to the server is made of."""
        return index_to_world(self.grid.probe(), np.asarray(data_zyx, dtype=float))

    def to_data(self, world_xyz: np.ndarray) -> np.ndarray:
        """Layer data coordinates (z, y, x) of world points (the server's clicks, axes, ...)."""
        return world_to_index(self.grid.probe(), np.asarray(world_xyz, dtype=float))


def open_volume(path: Path, series: tuple[str, ...] = ()) -> tuple[sitk.Image, Volume]:
    """Read a file (MHA, NIfTI, NRRD, ...) or a DICOM series folder as ``lesionseg segment``
    does, with the same errors (``algorithm.errors.InputError``: one line for the user)."""
    path = Path(path)
    if path.is_dir():
        series_read = read_dicom_series(path, series)
        image, files = validate_volume(series_read.image, path.name), series_read.files
    else:
        image, files = read_image(path), ()
    return image, Volume(ImageGrid.of(image), detect_modality(image), path, tuple(files))


def window_limits(values: np.ndarray, modality: str, preset: str = "soft tissue"
                  ) -> tuple[float, float]:
    """Contrast limits for napari: a CT window preset (level, width in HU), or the MR volume's
    0.5 and 99.5 percentiles (sampled, so a 500 MB volume costs no full sort)."""
    if modality == "CT":
        level, width = CT_WINDOWS[preset]
        return level - width / 2, level + width / 2
    flat = np.asarray(values).ravel()
    sample = flat[:: max(1, flat.size // 1_000_000)].astype(np.float32)
    low, high = np.percentile(sample, MR_PERCENTILES)
    return float(low), float(high) if high > low else float(low) + 1.0
