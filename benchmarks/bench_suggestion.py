"""Seconds the suggested next click adds to a prompt (``lesionseg serve --suggest``): the rule of
``algorithm.suggestion`` on a synthetic probability over a lesion's region, median of repeats.

    python benchmarks/bench_suggestion.py [--shape 68 128 128] [--spacing 2.5 0.8 0.8] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from algorithm.suggestion import most_uncertain_voxel


def soft_ball(shape: tuple[int, int, int], spacing: np.ndarray) -> np.ndarray:
    """A probability falling from 1 to 0 over a few mm around a ball filling half the region."""
    centre = (np.asarray(shape) - 1) / 2.0
    grids = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    mm = np.sqrt(sum(((g - c) * s) ** 2 for g, c, s in zip(grids, centre, spacing)))
    radius = 0.3 * float(np.min(np.asarray(shape) * spacing))
    return (1.0 / (1.0 + np.exp((mm - radius) / 3.0))).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(68, 128, 128))
    parser.add_argument("--spacing", type=float, nargs=3, default=(2.5, 0.8, 0.8))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    spacing = np.asarray(args.spacing)
    p = soft_ball(tuple(args.shape), spacing)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        most_uncertain_voxel(p, p > 0.5, spacing)
        seconds.append(time.perf_counter() - start)
    print(f"suggestion on a {'x'.join(map(str, args.shape))} region "
          f"({p.size / 1e6:.2f} M voxels): median {np.median(seconds):.3f} s "
          f"over {args.repeats}")


if __name__ == "__main__":
    main()
