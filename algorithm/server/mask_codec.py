"""A lesion's mask as its bounding box with the box's voxels zlib-compressed: how the server keeps
every undo step (kilobytes, where a 512 x 512 x 300 mask is 78 MB) and how it sends masks.

A client decodes it as ``decode_mask`` does (docs/serve.md has the same in a few lines of
numpy); the format is ``schemas.EncodedMask``.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from algorithm.measurements.bounding_box import bounding_box
from algorithm.server.schemas import EncodedMask

ZYX = tuple[int, int, int]


@dataclass(frozen=True)
class StoredMask:
    """A uint8 0/1 mask on an image grid: the box ``start`` .. ``start + shape`` (z, y, x) of its
    foreground, compressed; everything outside the box is 0."""

    image_shape: ZYX
    start: ZYX
    shape: ZYX
    data: bytes  #: zlib of the box's uint8 voxels, C order
    voxels: int

    @classmethod
    def empty(cls, image_shape: ZYX) -> "StoredMask":
        return cls(tuple(image_shape), (0, 0, 0), (0, 0, 0), zlib.compress(b""), 0)

    @classmethod
    def from_region(cls, local: np.ndarray, offset: ZYX, image_shape: ZYX) -> "StoredMask":
        """The mask whose only foreground is ``local``, a block placed at ``offset``."""
        if not local.any():
            return cls.empty(image_shape)
        box = bounding_box(local)
        crop = np.ascontiguousarray(local[box] != 0, dtype=np.uint8)
        start = tuple(int(o + s.start) for o, s in zip(offset, box))
        return cls(tuple(int(n) for n in image_shape), start, crop.shape,
                   zlib.compress(crop.tobytes(), 6), int(np.count_nonzero(crop)))

    @classmethod
    def from_array(cls, mask: np.ndarray) -> "StoredMask":
        return cls.from_region(mask, (0, 0, 0), mask.shape)

    def box(self) -> np.ndarray:
        return np.frombuffer(zlib.decompress(self.data), np.uint8).reshape(self.shape)

    def to_array(self) -> np.ndarray:
        """The whole (z, y, x) uint8 mask."""
        mask = np.zeros(self.image_shape, np.uint8)
        if self.voxels:
            mask[tuple(slice(a, a + n) for a, n in zip(self.start, self.shape))] = self.box()
        return mask

    def to_image(self, reference: sitk.Image) -> sitk.Image:
        """The whole mask as a uint8 image on ``reference``'s grid."""
        image = sitk.GetImageFromArray(self.to_array())
        image.CopyInformation(reference)
        return image

    def encoded(self) -> EncodedMask:
        return EncodedMask(image_size=self.image_shape[::-1], box_start=self.start[::-1],
                           box_size=self.shape[::-1], voxels=self.voxels,
                           data=base64.b64encode(self.data if self.voxels else b"").decode())


def decode_mask(encoded: EncodedMask | dict) -> np.ndarray:
    """The whole (z, y, x) uint8 mask from its ``EncodedMask`` form (what a client does)."""
    m = EncodedMask.model_validate(encoded)
    mask = np.zeros(m.image_size[::-1], np.uint8)
    if m.voxels == 0:
        return mask
    box = np.frombuffer(zlib.decompress(base64.b64decode(m.data)), np.uint8)
    box = box.reshape(m.box_size[::-1])
    i, j, k = m.box_start
    mask[k:k + box.shape[0], j:j + box.shape[1], i:i + box.shape[2]] = box
    return mask

