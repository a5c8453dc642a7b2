"""Exact mappings between world coordinates, the image grid and the model's grid.

Conventions: numpy arrays are indexed (z, y, x); SimpleITK speaks (x, y, z). Functions here take
and return (z, y, x) unless their name says ``xyz``. The model grid shares the image's direction
cosines, so it is axis-aligned with the image's voxel axes: mapping between the two is a diagonal
affine map in index space and the crop needs no rotation, whatever the image's obliquity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from algorithm.errors import InputError


def spacing_zyx(image: sitk.Image) -> np.ndarray:
    return np.asarray(image.GetSpacing(), dtype=float)[::-1]


def shape_zyx(image: sitk.Image) -> np.ndarray:
    return np.asarray(image.GetSize(), dtype=int)[::-1]


def world_to_index(image: sitk.Image, points_xyz: np.ndarray) -> np.ndarray:
    """Continuous voxel indices (z, y, x) of world points (x, y, z) in mm.

    Same result as ``TransformPhysicalPointToContinuousIndex`` (tested), vectorised: solve
    ``p = origin + D @ diag(spacing) @ index`` for each point.
    """
    points = np.asarray(points_xyz, dtype=float).reshape(-1, 3)
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    scale = direction @ np.diag(image.GetSpacing())
    index_xyz = np.linalg.solve(scale, (points - np.asarray(image.GetOrigin())).T).T
    return index_xyz[:, ::-1]


def index_to_world(image: sitk.Image, index_zyx: np.ndarray) -> np.ndarray:
    """World points (x, y, z) of continuous voxel indices (z, y, x)."""
    index = np.asarray(index_zyx, dtype=float).reshape(-1, 3)[:, ::-1]
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    scale = direction @ np.diag(image.GetSpacing())
    return (scale @ index.T).T + np.asarray(image.GetOrigin())


def inside_image(index_zyx: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Per point, whether it lies in the image (voxels span -0.5 .. size - 0.5 per axis)."""
    idx = np.asarray(index_zyx, dtype=float).reshape(-1, 3)
    return np.all((idx >= -0.5) & (idx <= np.asarray(shape) - 0.5), axis=1)


def check_inside(index_zyx: np.ndarray, shape: np.ndarray, what: str = "click",
                 hint: str = "clicks and image do not overlap") -> None:
    """Reject points outside the image (voxel centres span -0.5 .. size - 0.5 per axis), naming
    the first one (``what`` and its number)."""
    shape = np.asarray(shape)
    index = np.asarray(index_zyx, dtype=float).reshape(-1, 3)
    outside = np.flatnonzero(~inside_image(index, shape))
    if len(outside):
        i = int(outside[0])
        raise InputError(
            f"{what} {i + 1} lies outside the image (voxel index x,y,z = "
            f"{', '.join(f'{v:.1f}' for v in index[i][::-1])}; image size "
            f"{', '.join(str(int(v)) for v in shape[::-1])}): {hint}"
        )


@dataclass(frozen=True)
class VoiConfig:
    """How clicks become a volume of interest (all lengths in mm)."""

    relative_margin: float = 0.15  #: per side, as a fraction of the clicks' largest extent
    absolute_margin_mm: float = 5.0  #: per side, covers the clicks' ~5-voxel inward offset
    min_extent_mm: float = 30.0  #: smallest edge, so one click still gets context


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in continuous image index space (z, y, x): ``lo`` .. ``hi``."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return (self.lo + self.hi) / 2.0

    def extent_mm(self, spacing: np.ndarray) -> np.ndarray:
        return (self.hi - self.lo) * spacing


def voi_from_clicks(
    positive_index: np.ndarray, spacing: np.ndarray, config: VoiConfig = VoiConfig()
) -> Box:
    """Bounding box of the positive clicks plus a relaxation margin, as in the six-point method."""
    pts = np.asarray(positive_index, dtype=float).reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    extent = (hi - lo) * spacing
    margin_mm = config.relative_margin * extent.max() + config.absolute_margin_mm
    half_mm = np.maximum(extent / 2 + margin_mm, config.min_extent_mm / 2)
    centre = (lo + hi) / 2
    return Box(lo=centre - half_mm / spacing, hi=centre + half_mm / spacing)


@dataclass(frozen=True)
class ModelGrid:
    """A cubic grid of ``size`` voxels centred on a VOI, in the image's orientation.

    The VOI's largest edge (plus context) spans the grid, so every lesion reaches the network at
    the same scale (scale normalisation). Shorter edges keep that spacing, and so the lesion's
    shape, unless they are so short that they would get too few voxels: their spacing may then
    be refined, by at most ``max_anisotropy``.
    """

    centre_index: np.ndarray  #: grid centre as a continuous image index (z, y, x)
    grid_spacing: np.ndarray  #: mm, (z, y, x)
    size: int
    image_spacing: np.ndarray  #: mm, (z, y, x)

    @classmethod
    def around(cls, box: Box, image_spacing: np.ndarray, size: int, context: float = 1.25,
               max_anisotropy: float = 2.0) -> "ModelGrid":
        """``context`` > 1 leaves room around the VOI's largest edge too, so a lesion that
        reaches the VOI's border can be seen to do so."""
        extent = context * box.extent_mm(image_spacing)
        coarsest = float(extent.max()) / size
        spacing = np.clip(extent / size, coarsest / max_anisotropy, coarsest)
        return cls(box.centre, spacing, size, np.asarray(image_spacing, dtype=float))

    @property
    def relative_spacing(self) -> np.ndarray:
        """Voxel size in units of the coarsest axis, for distances measured in grid voxels."""
        return self.grid_spacing / self.grid_spacing.max()

    @property
    def step(self) -> np.ndarray:
        """Image-index units per grid voxel, per axis."""
        return self.grid_spacing / self.image_spacing

    def grid_to_image_index(self, grid_index: np.ndarray) -> np.ndarray:
        offset = (np.asarray(grid_index, dtype=float) - (self.size - 1) / 2.0) * self.step
        return self.centre_index + offset

    def image_to_grid_index(self, image_index: np.ndarray) -> np.ndarray:
        offset = (np.asarray(image_index, dtype=float) - self.centre_index) / self.step
        return offset + (self.size - 1) / 2.0

    def reference(self, image: sitk.Image) -> sitk.Image:
        """An empty SimpleITK image with this grid's geometry, for ``sitk.Resample``."""
        ref = sitk.Image([self.size] * 3, sitk.sitkUInt8)
        ref.SetSpacing([float(v) for v in self.grid_spacing[::-1]])
        ref.SetDirection(image.GetDirection())
        ref.SetOrigin(tuple(index_to_world(image, self.grid_to_image_index(np.zeros(3)))[0]))
        return ref

    def image_region(self, shape: np.ndarray, pad: int = 1) -> tuple[slice, slice, slice]:
        """The image voxels this grid covers (clamped to the image), as array slices."""
        lo = self.grid_to_image_index(np.full(3, -0.5))
        hi = self.grid_to_image_index(np.full(3, self.size - 0.5))
        start = np.clip(np.floor(lo).astype(int) - pad, 0, shape)
        stop = np.clip(np.ceil(hi).astype(int) + 1 + pad, 0, shape)
        return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))


def resample_to_grid(image: sitk.Image, grid: ModelGrid, default: float) -> np.ndarray:
    """Linear resampling of only the VOI onto the model grid.

    When the grid is coarser than the image, the crop is first block-averaged by the integer
    factor that fits (``BinShrink``: exact physical geometry, cheap anti-aliasing), so that
    downsampling does not alias noise into the network's input.
    """
    start_xyz, size_xyz = _source_region(image, grid)
    crop = sitk.Cast(sitk.RegionOfInterest(image, size_xyz, start_xyz), sitk.sitkFloat32)
    return _crop_to_grid(crop, grid, image, default)


def _bin_factors(image: sitk.Image, grid: ModelGrid) -> np.ndarray:
    return np.maximum(1, np.floor(grid.grid_spacing / spacing_zyx(image))).astype(int)


def _source_region(image: sitk.Image, grid: ModelGrid) -> tuple[list[int], list[int]]:
    """(start, size), x-y-z, of the image voxels the grid's resampling reads."""
    # pad by a whole bin: BinShrink drops a trailing partial bin
    region = grid.image_region(shape_zyx(image), pad=int(_bin_factors(image, grid).max()) + 2)
    start_xyz = [s.start for s in region][::-1]
    size_xyz = [s.stop - s.start for s in region][::-1]
    if min(size_xyz) <= 0:
        raise InputError("the volume of interest does not overlap the image")
    return start_xyz, size_xyz


def _crop_to_grid(crop: sitk.Image, grid: ModelGrid, image: sitk.Image,
                  default: float) -> np.ndarray:
    """Block-average (when the grid is coarser) and resample a float crop of ``image``."""
    size_zyx = np.asarray(crop.GetSize())[::-1]
    factors = np.minimum(_bin_factors(image, grid), np.maximum(1, size_zyx // 2))
    if np.any(factors > 1):
        crop = sitk.BinShrink(crop, [int(f) for f in factors[::-1]])
    out = sitk.Resample(crop, grid.reference(image), sitk.Transform(), sitk.sitkLinear,
                        float(default), sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out)


def mask_to_grid(mask: sitk.Image | np.ndarray, grid: ModelGrid,
                 like: sitk.Image | None = None) -> np.ndarray:
    """A binary mask on the model grid: nonzero voxels, block-averaged and linearly resampled
    like the image, then cut at 0.5. Training targets and the previous mask at inference both
    come from here, so the network is refined on masks shaped like those it learnt from.
    ``like``: an image whose geometry the mask shares (default: the mask's own; needed for a
    (z, y, x) array).

    Only the region the grid reads is converted to a float fraction (a whole 512^3 mask would
    cost a second): the crop gets the geometry a crop of ``like`` would have, so the result is
    the same as resampling the whole converted mask."""
    if isinstance(mask, np.ndarray):
        if like is None:
            raise ValueError("a mask given as an array needs the image it lies on (like=)")
        size_xyz = tuple(int(n) for n in mask.shape[::-1])
    else:
        like = mask if like is None else like
        size_xyz = mask.GetSize()
    if tuple(size_xyz) != tuple(like.GetSize()):
        raise ValueError(f"mask size {size_xyz} differs from its image's {like.GetSize()}")
    start_xyz, crop_xyz = _source_region(like, grid)
    if isinstance(mask, np.ndarray):
        region = tuple(slice(a, a + n) for a, n in zip(start_xyz[::-1], crop_xyz[::-1]))
        crop = sitk.GetImageFromArray((mask[region] != 0).astype(np.float32))
    else:
        crop = sitk.Cast(sitk.RegionOfInterest(mask, crop_xyz, start_xyz) != 0,
                         sitk.sitkFloat32)
    crop.SetSpacing(like.GetSpacing())
    crop.SetDirection(like.GetDirection())
    crop.SetOrigin(like.TransformIndexToPhysicalPoint(start_xyz))
    return _crop_to_grid(crop, grid, like, default=0.0) > 0.5


def grid_to_image(
    values: np.ndarray, grid: ModelGrid, image: sitk.Image
) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """Linear resampling of a grid-valued array back onto the image voxels the grid covers."""
    region = grid.image_region(shape_zyx(image), pad=1)
    moving = sitk.GetImageFromArray(np.ascontiguousarray(values, dtype=np.float32))
    moving.CopyInformation(grid.reference(image))
    ref = sitk.Image([s.stop - s.start for s in region][::-1], sitk.sitkUInt8)
    ref.SetSpacing(image.GetSpacing())
    ref.SetDirection(image.GetDirection())
    ref.SetOrigin(image.TransformIndexToPhysicalPoint([s.start for s in region][::-1]))
    out = sitk.Resample(moving, ref, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return region, sitk.GetArrayFromImage(out)
