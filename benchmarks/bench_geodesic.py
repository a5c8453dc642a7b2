"""Time ``geodesic_distance`` on a smooth random volume (a script, not a test).

    python benchmarks/bench_geodesic.py [--size 128] [--repeats 7] [--iterations 2]

Prints the median (and min) wall time over the repeats, after one warm-up call, for one seed at
the centre and for six seeds like the six extreme clicks on a lesion, with torch using all the
cores this process may run on; on CUDA too when it is available.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from algorithm.guidance.geodesic import geodesic_distance  # noqa: E402


def smooth_volume(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vol = gaussian_filter(rng.standard_normal((size,) * 3).astype(np.float32), 4.0)
    return ((vol - vol.mean()) / vol.std()).astype(np.float32)


def seed_sets(size: int) -> dict[str, np.ndarray]:
    c = size // 2
    centre = np.zeros((size,) * 3, dtype=bool)
    centre[c, c, c] = True
    clicks = np.zeros((size,) * 3, dtype=bool)
    radii = (size * 3 // 20, size // 5, size // 4)  # an ellipsoidal lesion's extreme points
    for axis, r in enumerate(radii):
        for sign in (-1, 1):
            idx = [c, c, c]
            idx[axis] += sign * r
            clicks[tuple(idx)] = True
    return {"1 centre": centre, "6 clicks": clicks}


def time_call(fn, repeats: int) -> list[float]:
    fn()  # warm-up (allocator, CUDA context, kernels)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--weights", type=float, nargs="+", default=[10.0, 0.0],
                        help="intensity weights (lambda) to time; 10 is the model card's")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="CPU thread counts to time (default: the available cores)")
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    thread_counts = args.threads or [cores]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, available cores {cores}, CPU threads {thread_counts}, "
          f"devices {devices}")
    if "cuda" in devices:
        print(f"cuda device: {torch.cuda.get_device_name(0)}")
    print(f"volume {args.size}^3 float32 (smooth random), spacing (1, 1, 1), "
          f"iterations={args.iterations}, repeats={args.repeats}\n")

    image = smooth_volume(args.size)
    runs = [("cpu", n) for n in thread_counts] + [("cuda", cores) for d in devices if d == "cuda"]
    rows = []
    for device, threads in runs:
        torch.set_num_threads(threads)
        for lam in args.weights:
            for name, seeds in seed_sets(args.size).items():
                times = time_call(lambda: geodesic_distance(  # noqa: B023
                    image, seeds, (1.0, 1.0, 1.0), intensity_weight=lam,
                    iterations=args.iterations, device=device), args.repeats)
                rows.append((device, threads, f"{lam:g}", name, np.median(times), np.min(times)))

    print(f"{'device':<7}{'threads':>8}{'lambda':>8}  {'seeds':<10}{'median s':>10}{'min s':>9}")
    for device, threads, lam, name, med, best in rows:
        print(f"{device:<7}{threads:>8}{lam:>8}  {name:<10}{med:>10.3f}{best:>9.3f}")


if __name__ == "__main__":
    main()
