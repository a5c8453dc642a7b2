"""Write one method's masks for the dev lesions (six simulated clicks, one seed), named
``<case>.mha`` on each case's own grid, ready for ``python -m evaluation.local``.

    python benchmarks/predict_dev.py --method classical --out /tmp/dev-pred/classical
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from dev_lesions import dev_cases  # noqa: I001  (benchmarks/ is on sys.path when run)

from algorithm.geometry import index_to_world
from algorithm.io.images import write_mask_atomic
from algorithm.methods.select import METHODS, make_segmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import ellipsoid_from_clicks, six_point_clicks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=(*METHODS, "ellipsoid"), default="classical")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    segmenter = None if args.method == "ellipsoid" else make_segmenter(args.method, args.weights)
    for dev in dev_cases(only=args.only):
        clicks = six_point_clicks(dev.mask, dev.spacing, np.random.default_rng(args.seed))
        if segmenter is None:
            mask = ellipsoid_from_clicks(dev.mask.shape, clicks, dev.spacing)
        else:
            mask = segment(dev.image, Clicks.from_points(index_to_world(dev.image, clicks)),
                           segmenter).mask
        write_mask_atomic(mask.astype(np.uint8), dev.image, args.out / f"{dev.case.case_id}.mha")
        print(f"{dev.case.case_id}: {int(mask.sum())} voxels", flush=True)


if __name__ == "__main__":
    main()
