"""Whole-case time and peak memory: process start to mask written, for a large CT.

A synthetic 512 x 512 x 300 CT (0.8 x 0.8 x 1.5 mm, int16 HU) with a 10 cm soft-tissue lesion and
six reference clicks is written as a compressed MHA; ``python -m algorithm`` then runs on it as
grand-challenge would run it, several times. Prints the median wall time and the peak resident
memory of the process (``ru_maxrss`` of the child).

    python benchmarks/bench_whole_case.py [--repeats 5] [--method auto]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402


def make_large_ct(folder: Path, shape=(300, 512, 512), spacing=(1.5, 0.8, 0.8),
                  radius_mm=50.0) -> np.ndarray:
    """Writes the case into ``folder``; returns the lesion's (z, y, x) mask."""
    rng = np.random.default_rng(0)
    z, y, x = (np.arange(n, dtype=np.float32) for n in shape)
    cy, cx = (shape[1] - 1) / 2, (shape[2] - 1) / 2
    body = ((y[:, None] - cy) ** 2 + (x[None, :] - cx) ** 2) < (0.45 * shape[1]) ** 2
    volume = np.where(body, 45, -1000).astype(np.int16)[None].repeat(shape[0], axis=0)
    centre = np.array([shape[0] / 2, cy + 40, cx - 30])
    r2 = (((z[:, None, None] - centre[0]) * spacing[0]) ** 2
          + ((y[None, :, None] - centre[1]) * spacing[1]) ** 2
          + ((x[None, None, :] - centre[2]) * spacing[2]) ** 2)
    lesion = r2 < radius_mm**2
    volume[lesion] = 95
    volume += rng.integers(-15, 16, size=shape, dtype=np.int16)
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing(spacing[::-1])
    (folder / "images/medical-image").mkdir(parents=True)
    sitk.WriteImage(image, str(folder / "images/medical-image/large_ct.mha"), useCompression=True)
    inward = np.array([1, 5, 5])
    radius_vox = radius_mm / np.asarray(spacing)
    points = []
    for axis in range(3):
        for sign in (-1, 1):
            p = centre.copy()
            p[axis] += sign * (radius_vox[axis] - 1 - inward[axis])
            points.append(p)
    clicks = Clicks.from_points(index_to_world(image, np.asarray(points)))
    (folder / "lesion-clicks.json").write_text(json.dumps(clicks.to_multiple_points()))
    return lesion


def run_once(case: Path, output: Path, method: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "algorithm", "--input", str(case), "--output",
                           str(output), "--method", method], cwd=ROOT, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak_kib, before) / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case"
        make_large_ct(case)
        size_mb = (case / "images/medical-image/large_ct.mha").stat().st_size / 1e6
        times, peaks = [], []
        for i in range(args.repeats):
            seconds, peak = run_once(case, Path(tmp) / f"out{i}", args.method)
            times.append(seconds)
            peaks.append(peak)
        print(f"CPU cores: {os.cpu_count()}, image 512x512x300 int16 ({size_mb:.0f} MB MHA), "
              f"method {args.method}")
        print(f"whole case, process start to mask written: median {np.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)})")
        print(f"peak resident memory: {max(peaks):.2f} GiB")


if __name__ == "__main__":
    main()
