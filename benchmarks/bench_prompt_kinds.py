"""Seconds per prompt kind on a full-size CT: the prompts mapped onto the image grid
(``prompt_seeds``: a whole annotated 512 x 512 slice is 262 144 background voxels, a box's
outside about as many, a scribble of thousands of points), the seeds mapped onto the model grid
(``PromptSeeds.on_grid``), the Gaussian channel of a dense seed set (``gaussian_seed_map``,
one distance transform) against the per-point maximum it replaces, and a whole ``segment`` with
the classical method. Medians over the repeats; indicative only on a shared CPU.

    python benchmarks/bench_prompt_kinds.py                      # 512 x 512 x 300, 0.7 x 0.7 x 1.5 mm
    python benchmarks/bench_prompt_kinds.py --size 128 128 60 --repeats 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.geometry import ModelGrid, spacing_zyx  # noqa: E402
from benchmarks.bench_measurements import median_seconds  # noqa: E402
from algorithm.guidance.encoding import gaussian_click_map, gaussian_seed_map  # noqa: E402
from algorithm.methods.classical import GeodesicSegmenter  # noqa: E402
from algorithm.phantom import rotation_direction  # noqa: E402
from algorithm.pipeline import segment  # noqa: E402
from algorithm.prompts.boxes import parse_boxes  # noqa: E402
from algorithm.prompts.distances import parse_recist  # noqa: E402
from algorithm.prompts.lines import parse_scribbles  # noqa: E402
from algorithm.prompts.polygons import parse_outlines  # noqa: E402
from algorithm.prompts.prompt_set import PromptSet  # noqa: E402
from algorithm.prompts.seeds import prompt_seeds  # noqa: E402
from tests.algorithm.prompt_support import (  # noqa: E402
    box_value, outline_value, recist_value, scribbles_value,
)

SPACING_XYZ = (0.7, 0.7, 1.5)


def synthetic_ct(size_xyz: tuple[int, int, int], seed: int = 0) -> tuple[sitk.Image, np.ndarray]:
    """Soft tissue (45 HU, noise 12 HU) with air at the edges and a 4 cm ellipsoidal lesion
    (105 HU) in the middle, oblique; the lesion mask is returned with it."""
    rng = np.random.default_rng(seed)
    shape = tuple(size_xyz[::-1])
    array = (45 + rng.integers(-20, 21, size=shape, dtype=np.int16)).astype(np.int16)
    array[:, :, : shape[2] // 10] = -1000
    spacing = np.asarray(SPACING_XYZ[::-1])
    centre = (np.asarray(shape) - 1) / 2
    radii = np.array([20.0, 20.0, 16.0]) / spacing
    lo = np.maximum(np.floor(centre - radii).astype(int), 0)
    hi = np.minimum(np.ceil(centre + radii).astype(int) + 1, shape)
    grid = np.indices(hi - lo, dtype=np.float32) + lo[:, None, None, None]
    inside = sum(((grid[a] - centre[a]) / radii[a]) ** 2 for a in range(3)) < 1.0
    mask = np.zeros(shape, np.uint8)
    mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = inside
    array[mask.astype(bool)] += 60
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING_XYZ)
    image.SetDirection(rotation_direction((8.0, -5.0, 20.0)))
    return image, mask


def dense_scribble(image: sitk.Image, mask: np.ndarray, points: int) -> dict:
    """A freehand tumour stroke of ``points`` points spiralling inside the largest slice."""
    k = int(mask.sum(axis=(1, 2)).argmax())
    rows, cols = np.nonzero(mask[k])
    centre, radius = np.array([rows.mean(), cols.mean()]), 0.35 * (rows.max() - rows.min())
    t = np.linspace(0, 6 * np.pi, points)
    path = [(k, *(centre + radius * (s / t[-1]) * np.array([np.sin(s), np.cos(s)]))) for s in t]
    world = [list(image.TransformContinuousIndexToPhysicalPoint([p[2], p[1], p[0]]))
             for p in path]
    return {"type": "Multiple lines", "version": {"major": 1, "minor": 0},
            "lines": [{"seed_points": [], "path_point_lists": [world]}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=(512, 512, 300), metavar=("X", "Y", "Z"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    image, mask = synthetic_ct(tuple(args.size))
    slices = np.zeros_like(mask)
    k = int(mask.sum(axis=(1, 2)).argmax())
    slices[[k - 5, k, k + 5]] = mask[[k - 5, k, k + 5]]
    kinds = {
        "box": PromptSet(boxes=parse_boxes(box_value(image, mask))),
        "recist": PromptSet(recist=parse_recist(recist_value(image, mask))),
        "outline": PromptSet(outlines=parse_outlines(outline_value(image, mask))),
        "slice mask (3 slices)": PromptSet(slice_mask=slices.astype(bool)),
        "scribbles": PromptSet(scribbles=parse_scribbles(scribbles_value(image, mask))),
        "scribble of 5000 points": PromptSet(
            scribbles=parse_scribbles(dense_scribble(image, mask, 5000))),
    }
    spacing = spacing_zyx(image)
    segmenter = GeodesicSegmenter()
    print(f"image {tuple(args.size)} (x, y, z), spacing {SPACING_XYZ} mm, "
          f"{args.repeats} repeat(s), medians in seconds")
    print(f"{'prompt':26s} {'seed voxels':>12s} {'prompt_seeds':>13s} {'on_grid':>8s} "
          f"{'segment':>8s} {'DSC':>6s}")
    for name, prompts in kinds.items():
        seeds = prompt_seeds(image, prompts)
        grid = ModelGrid.around(seeds.extent.voi(spacing), spacing, segmenter.grid_size)
        t_seeds = median_seconds(lambda: prompt_seeds(image, prompts), args.repeats)
        t_grid = median_seconds(lambda: seeds.on_grid(grid), args.repeats)
        result = segment(image, prompts, segmenter)
        t_segment = median_seconds(lambda: segment(image, prompts, segmenter), args.repeats)
        overlap = 2 * np.logical_and(result.mask, mask).sum() / (result.mask.sum() + mask.sum())
        voxels = len(seeds.tumour) + len(seeds.background) + len(seeds.weak_tumour)
        print(f"{name:26s} {voxels:12d} {t_seeds:13.3f} {t_grid:8.3f} {t_segment:8.3f} "
              f"{overlap:6.3f}")
    dense = np.zeros((64, 64, 64), bool)
    dense[32] = True  # a whole annotated slice on the grid
    dense[10:50, 20, 20] = True
    t_edt = median_seconds(lambda: gaussian_seed_map(dense, 2.0), args.repeats)
    points = np.argwhere(dense).astype(float)
    t_points = median_seconds(lambda: gaussian_click_map(points, dense.shape, 2.0), 1)
    print(f"Gaussian channel of {len(points)} seed voxels on 64^3: distance transform "
          f"{t_edt:.3f} s, per-point maximum {t_points:.3f} s")


if __name__ == "__main__":
    main()
