"""The mask as a DICOM Segmentation (binary SEG, one segment "Lesion") referencing its source
series, for archives (PACS) and viewers that read SEG (OHIF, 3D Slicer, ...).

Each SEG frame references the source instance it was drawn on. The mask is on the grid GDCM
built from the series (``algorithm.io.dicom``), so every source file is placed on that grid by
its own ImagePositionPatient and ImageOrientationPatient, never by file order, names or
InstanceNumber; a series whose slices do not lie on one even grid (uneven spacing, a gantry tilt
GDCM did not model) is refused rather than mislabelled.

Coded terms (DICOM PS3.16): category "Morphologically Abnormal Structure" (SCT 49755003, CID
7150), type "Lesion" (SCT 52988006, CID 7151): a click-guided mask says where the lesion is,
not whether it is a neoplasm. Algorithm type SEMIAUTOMATIC: the user's clicks guide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.sr.codedict import codes

from algorithm import __version__
from algorithm.errors import InputError
from algorithm.geometry import world_to_index
from algorithm.io.atomic import write_atomic
from algorithm.io.images import ImageGrid

SEGMENT_LABEL = "Lesion"
LESION_CATEGORY = codes.cid7150.MorphologicallyAbnormalStructure
LESION_TYPE = codes.cid7151.Lesion
ALGORITHM_NAME = "lesionseg"
#: added to the source's SeriesNumber, so the SEG sorts after its series in a viewer's list
SERIES_NUMBER_OFFSET = 1000
#: how far (in voxels) a source slice may lie off the image grid: DICOM writes positions as
#: decimal strings, so exact equality is too strict, and a tenth of a voxel is unmistakable
GRID_TOLERANCE_VOXELS = 0.1
ORIENTATION_TOLERANCE = 1e-3
#: what a SEG copies or derives from its sources (Type 1 in the CT and MR image IODs)
REQUIRED_SOURCE_ATTRIBUTES = ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID",
                              "SeriesInstanceUID", "FrameOfReferenceUID", "ImagePositionPatient",
                              "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns")


@dataclass(frozen=True)
class SegAlgorithm:
    """What made the mask, as the SEG's algorithm identification records it."""

    method: str  #: the segmenter that ran, e.g. ``network+classical+graph-cut``
    model_version: str  #: the model card's version, or ``classical``

    @property
    def uses_network(self) -> bool:
        return "network" in self.method


def source_slice_indices(image: sitk.Image | ImageGrid,
                         sources: Sequence[pydicom.Dataset]) -> list[int]:
    """For each source dataset, the slice k of ``image`` (array index along z) it lies on.

    Raises ``InputError`` when a source's orientation, size or position does not match a slice
    of the grid, since a frame mapped to the wrong instance would be silently wrong."""
    grid = image if isinstance(image, ImageGrid) else ImageGrid.of(image)
    probe = grid.probe()
    direction = np.reshape(grid.direction, (3, 3))
    shape = np.asarray(grid.size)[::-1]
    indices = []
    for ds in sources:
        what = f"source instance {ds.get('SOPInstanceUID', '?')}"
        missing = [name for name in REQUIRED_SOURCE_ATTRIBUTES if not ds.get(name)]
        if missing:
            raise InputError(f"cannot write DICOM SEG: {what} lacks {', '.join(missing)}, which "
                             "a SEG needs from its source images")
        orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
        if not (np.allclose(orientation[:3], direction[:, 0], atol=ORIENTATION_TOLERANCE)
                and np.allclose(orientation[3:], direction[:, 1], atol=ORIENTATION_TOLERANCE)):
            raise InputError(f"cannot write DICOM SEG: {what} has another orientation than the "
                             "series read (a mixed or tilted series)")
        if (int(ds.Rows), int(ds.Columns)) != (int(shape[1]), int(shape[2])):
            raise InputError(f"cannot write DICOM SEG: {what} is {ds.Rows} x {ds.Columns} "
                             f"pixels, the series read {shape[1]} x {shape[2]}")
        index = world_to_index(probe, np.asarray(ds.ImagePositionPatient, dtype=float))[0]
        k = int(round(index[0]))
        off_grid = np.abs(index - (k, 0.0, 0.0)).max()
        if off_grid > GRID_TOLERANCE_VOXELS or not 0 <= k < shape[0]:
            raise InputError(f"cannot write DICOM SEG: {what} does not lie on a slice of the "
                             f"image grid (off by {off_grid:.2f} voxels; uneven slice spacing?)")
        indices.append(k)
    return indices


def build_segmentation(mask: np.ndarray, image: sitk.Image | ImageGrid,
                       sources: Sequence[pydicom.Dataset],
                       algorithm: SegAlgorithm) -> hd.seg.Segmentation:
    """A binary SEG of ``mask`` (uint8 z, y, x on ``image``'s grid, or on the grid alone), one
    frame per source instance that holds lesion voxels (empty frames are omitted, as SEG
    allows). The sources are put in slice order, so that a series with one instance per slice
    (the usual case) needs no reordered copy of the mask."""
    indices = source_slice_indices(image, sources)
    order = np.argsort(indices, kind="stable")
    sources = [sources[i] for i in order]
    indices = [indices[i] for i in order]
    mask = np.asarray(mask, dtype=np.uint8)
    frames = mask if indices == list(range(len(mask))) else mask[indices]
    identification = hd.AlgorithmIdentificationSequence(
        name=ALGORITHM_NAME,
        family=(codes.cid7162.ArtificialIntelligence if algorithm.uses_network
                else codes.cid7162.NeighborhoodAnalysis),
        version=__version__,
        source=ALGORITHM_NAME,
        parameters={"method": algorithm.method, "model": algorithm.model_version},
    )
    segment = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=SEGMENT_LABEL,
        segmented_property_category=LESION_CATEGORY,
        segmented_property_type=LESION_TYPE,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
        algorithm_identification=identification,
    )
    first = sources[0]
    return hd.seg.Segmentation(
        source_images=list(sources),
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment],
        series_instance_uid=hd.UID(),
        series_number=int(first.get("SeriesNumber") or 0) + SERIES_NUMBER_OFFSET,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=ALGORITHM_NAME,
        manufacturer_model_name=ALGORITHM_NAME,
        software_versions=[__version__, algorithm.model_version],  # type: ignore[arg-type]
        device_serial_number="0",
        content_label="LESION",
        content_description=f"Lesion segmented by {ALGORITHM_NAME} ({algorithm.method})"[:64],
        series_description=_series_description(first),
        omit_empty_frames=bool(frames.any()),  # an empty SEG keeps its frames anyway
    )


def write_dicom_seg(mask: np.ndarray, image: sitk.Image | ImageGrid, source_files: Sequence[Path],
                    path: Path, algorithm: SegAlgorithm) -> Path:
    """Build the SEG from the source files' headers, then write it via a temporary name and
    rename (``algorithm.io.atomic``): a failure leaves no file under ``path``."""
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in source_files]
    seg = build_segmentation(mask, image, sources, algorithm)
    return write_atomic(Path(path), lambda tmp: seg.save_as(tmp, enforce_file_format=True),
                        suffix=".dcm", what="DICOM SEG")


def _series_description(source: pydicom.Dataset) -> str:
    """"Lesion SEG of <source's description>", within the 64 characters of a LO value."""
    described = str(source.get("SeriesDescription") or "").strip()
    return (f"{SEGMENT_LABEL} SEG ({ALGORITHM_NAME})"
            + (f" of {described}" if described else ""))[:64]
