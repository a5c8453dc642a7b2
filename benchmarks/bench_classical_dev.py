"""DSC of the classical method and of the six-click ellipsoid on the dev lesions, per group.

Six simulated clicks per case and seed (the reference protocol: ``training.interaction``).

    python benchmarks/bench_classical_dev.py [--seeds 5] [--only pyrad brats15]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch

from dev_lesions import dev_cases, dice  # noqa: I001  (benchmarks/ is on sys.path when run)

from algorithm.geometry import index_to_world
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import ellipsoid_from_clicks, six_point_clicks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--intensity-weight", type=float, default=None)
    parser.add_argument("--grid-size", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    segmenter = GeodesicSegmenter()
    if args.grid_size is not None:
        segmenter.grid_size = args.grid_size
    if args.intensity_weight is not None:
        segmenter.relative_intensity_weight = args.intensity_weight
    rows = []
    for dev in dev_cases(only=args.only):
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            clicks = six_point_clicks(dev.mask, dev.spacing, rng)
            world = index_to_world(dev.image, clicks)
            start = time.perf_counter()
            result = segment(dev.image, Clicks.from_points(world), segmenter)
            seconds = time.perf_counter() - start
            ellipsoid = ellipsoid_from_clicks(dev.mask.shape, clicks, dev.spacing)
            rows.append((dev.case.group, dev.case.case_id, seed, dice(result.mask, dev.mask),
                         dice(ellipsoid, dev.mask), seconds))
        group_rows = [r for r in rows if r[1] == dev.case.case_id]
        print(f"{dev.case.case_id:40s} classical {np.mean([r[3] for r in group_rows]):.3f}  "
              f"ellipsoid {np.mean([r[4] for r in group_rows]):.3f}  "
              f"{np.median([r[5] for r in group_rows]):.1f} s", flush=True)
    by_group = defaultdict(list)
    for r in rows:
        by_group[r[0]].append(r)
    print(f"\n{'group':12s} {'n':>3s} {'classical':>16s} {'ellipsoid':>16s}")
    for group, rs in sorted(by_group.items()) + [("overall", rows)]:
        c, e = np.array([r[3] for r in rs]), np.array([r[4] for r in rs])
        print(f"{group:12s} {len({r[1] for r in rs}):3d} {c.mean():8.3f} ± {c.std():.3f}"
              f" {e.mean():8.3f} ± {e.std():.3f}")
    print(f"median time per case: {np.median([r[5] for r in rows]):.2f} s")


if __name__ == "__main__":
    main()
