"""What the model grid alone costs: the reference mask taken onto the grid as training takes its
targets (``mask_to_grid``) and back onto the image as inference takes the network's answer
(``grid_to_image``, cut at 0.5), without any network. (Issue 17 asks what held the sarcoma
recipe back; the 64^3 grid spans a 10-20 cm tumour plus its margins at 2-4 mm per voxel.)

For each case the six protocol clicks (seed 0) give the volume of interest exactly as the
pipeline builds it (no growth steps: the VOI truncation shows up as its own loss), and the
round trip's DSC is measured at several grid sizes. A perfect network on this grid can score no
higher. No weights are read, so every case counts.

    python benchmarks/screens/grid_ceiling.py [--cohort sarcomas] [--sizes 64 96 128]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
from confidence import DATA  # noqa: E402

from algorithm.geometry import (  # noqa: E402
    ModelGrid, grid_to_image, index_to_world, mask_to_grid, spacing_zyx,
)
from algorithm.prompts import Clicks  # noqa: E402
from algorithm.prompts.seeds import prompt_seeds  # noqa: E402
from training.datasets import read_manifest  # noqa: E402
from training.interaction import six_point_clicks  # noqa: E402
from training.validation import dice, load_validation_cases  # noqa: E402

MANIFESTS = {"sarcomas": "sts-train/manifest.json", "dev": "dev-lesions/manifest.json"}


def round_trip(vc, size: int) -> dict[str, float]:
    """DSC of the reference after the grid round trip, and the share of it inside the VOI."""
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0)).astype(float)
    seeds = prompt_seeds(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)))
    spacing = spacing_zyx(vc.image)
    box = seeds.extent.voi(spacing)
    grid = ModelGrid.around(box, spacing, size)
    target = mask_to_grid(vc.mask.astype(np.uint8), grid, like=vc.image)
    region, back = grid_to_image(target.astype(np.float32), grid, vc.image)
    mask = np.zeros(vc.mask.shape, dtype=bool)
    mask[region] = back > 0.5
    lo = np.maximum(np.floor(box.lo).astype(int), 0)
    hi = np.minimum(np.ceil(box.hi).astype(int) + 1, vc.mask.shape)
    inside = vc.mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].sum() / max(vc.mask.sum(), 1)
    return {"dsc": dice(mask, vc.mask), "in_voi": float(inside),
            "grid_mm": float(grid.grid_spacing.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", choices=sorted(MANIFESTS), default="sarcomas")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128])
    args = parser.parse_args()
    rows = []
    for case in read_manifest(DATA / MANIFESTS[args.cohort]):
        vc = load_validation_cases([case])[0]
        row = {"case": case.case_id, "modality": case.modality}
        for size in args.sizes:
            for key, value in round_trip(vc, size).items():
                row[f"{key} {size}"] = value
        rows.append(row)
        print(row, flush=True)
    print(f"\n{args.cohort}: reference -> grid -> image, cut at 0.5 (mean, min over cases)")
    print("| grid | modality | n | DSC mean | DSC min | reference inside the VOI | coarsest grid "
          "voxel, median mm |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for m in ("CT", "MR"):
            rs = [r for r in rows if r["modality"] == m]
            if not rs:
                continue
            d = [r[f"dsc {size}"] for r in rs]
            print(f"| {size}^3 | {m} | {len(rs)} | {np.mean(d):.3f} | {np.min(d):.3f} | "
                  f"{np.mean([r[f'in_voi {size}'] for r in rs]):.3f} | "
                  f"{np.median([r[f'grid_mm {size}'] for r in rs]):.2f} |")


if __name__ == "__main__":
    main()
