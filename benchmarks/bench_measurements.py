"""Seconds to measure a lesion (``measure_lesion``) and its exact max 3D diameter alone, per shape.

Synthetic lesions of ``--diameter-mm`` on 1 mm voxels, inside an image ``--margin`` voxels
larger on every side: a ball, an ellipsoid (1 : 0.7 : 0.4) and a lumpy lesion (a ball with random
bumps and a dent). Prints the median over ``--repeats`` runs. Target: the max 3D diameter of a
20 cm lesion well under a second.

    python benchmarks/bench_measurements.py [--diameter-mm 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import SimpleITK as sitk

from algorithm.measurements import max_3d_diameter_mm, measure_lesion


def shapes(diameter_mm: int, margin: int) -> dict[str, np.ndarray]:
    r = diameter_mm / 2
    n = diameter_mm + 1 + 2 * margin
    z, y, x = (np.arange(n, dtype=np.float32) - n // 2 for _ in range(3))
    z, y, x = z[:, None, None], y[None, :, None], x[None, None, :]
    rng = np.random.default_rng(0)
    radius = np.sqrt(z**2 + y**2 + x**2)
    lumpy = radius <= r * 0.8
    for centre in rng.uniform(-0.6 * r, 0.6 * r, size=(6, 3)):
        bump = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2
        lumpy |= bump <= (0.3 * r) ** 2
    lumpy &= (z - 0.7 * r) ** 2 + y**2 + x**2 > (0.35 * r) ** 2
    return {
        "ball": radius <= r,
        "ellipsoid": (z / r) ** 2 + (y / (0.7 * r)) ** 2 + (x / (0.4 * r)) ** 2 <= 1,
        "lumpy": lumpy,
    }


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diameter-mm", type=int, default=200)
    parser.add_argument("--margin", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'shape':10s} {'voxels':>10s} {'max 3D (mm)':>12s} {'max 3D (s)':>11s} "
          f"{'measure_lesion (s)':>19s}")
    for name, mask in shapes(args.diameter_mm, args.margin).items():
        mask = mask.astype(np.uint8)
        image = sitk.GetImageFromArray(mask)
        spacing = (1.0, 1.0, 1.0)
        diameter = max_3d_diameter_mm(mask, spacing)
        t_diameter = median_seconds(lambda: max_3d_diameter_mm(mask, spacing), args.repeats)
        t_all = median_seconds(lambda: measure_lesion(mask, image), args.repeats)
        print(f"{name:10s} {int(mask.sum()):>10d} {diameter:>12.1f} {t_diameter:>11.3f} "
              f"{t_all:>19.3f}", flush=True)


if __name__ == "__main__":
    main()
