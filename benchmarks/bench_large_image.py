"""Peak memory and time of a whole case on a 1024 x 1024 x 1000 CT (target: 4 GB = 4e9 bytes).

A synthetic CT (int16 HU, 0.4 x 0.4 x 0.5 mm, 2 GB uncompressed) with a 3 cm lesion and six
clicks per protocol is written once, slab by slab, to a temporary folder. Each entry point then
runs on it in its own process, as a user or the platform runs it: ``python -m algorithm`` on the
grand-challenge layout and ``lesionseg segment`` on the MHA file, each also refining the first
run's mask (the ``previous-segmentation`` socket, ``--previous-mask``), and optionally
``lesionseg segment --format dicom-seg`` on a DICOM series of the same scan (written with
``--dicom``; 1000 files). Reported per entry point: the median over the repeats of the child's
peak resident memory (``ru_maxrss`` from ``wait4``) and of its wall time, process start to mask
written. The time is indicative only on a shared CPU.

    python benchmarks/bench_large_image.py                        # 1024 1024 1000, shipped model
    python benchmarks/bench_large_image.py --method classical --repeats 3
    python benchmarks/bench_large_image.py --size 256 256 200     # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.prompts import Clicks  # noqa: E402

TARGET_GB = 4.0  #: 10**9 bytes: the stricter reading of "4 GB"
SPACING_XYZ = (0.4, 0.4, 0.5)
ORIGIN_XYZ = (-200.0, -220.0, -600.0)
LESION_RADIUS_MM = 15.0
SLAB = 16  #: slices synthesised at a time (16 x 1024 x 1024 int16 = 32 MB)


def write_metaimage_header(path: Path, size_xyz, spacing_xyz, origin_xyz) -> None:
    """An uncompressed int16 MHA header; the voxels follow it in the same file."""
    header = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n"
        f"Offset = {' '.join(map(str, origin_xyz))}\nCenterOfRotation = 0 0 0\n"
        "AnatomicalOrientation = RAI\n"
        f"ElementSpacing = {' '.join(map(str, spacing_xyz))}\n"
        f"DimSize = {' '.join(map(str, size_xyz))}\nElementType = MET_SHORT\n"
        "ElementDataFile = LOCAL\n"
    )
    path.write_bytes(header.encode("ascii"))


def lesion_centre_index_xyz(size_xyz) -> np.ndarray:
    return np.array([0.55 * size_xyz[0], 0.45 * size_xyz[1], 0.5 * size_xyz[2]])


def synthesise_ct(path: Path, size_xyz) -> None:
    """Air around an elliptic body of soft tissue with a denser spherical lesion and noise,
    appended slab by slab so that the synthesis never holds the whole volume."""
    nx, ny, nz = size_xyz
    write_metaimage_header(path, size_xyz, SPACING_XYZ, ORIGIN_XYZ)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float32)
    body = (((x - nx / 2) / (0.45 * nx)) ** 2 + ((y - ny / 2) / (0.38 * ny)) ** 2) < 1
    slab_base = np.where(body, 40, -1000).astype(np.int16)
    centre = lesion_centre_index_xyz(size_xyz)
    in_plane_r2 = ((x - centre[0]) * SPACING_XYZ[0]) ** 2 + ((y - centre[1]) * SPACING_XYZ[1]) ** 2
    with open(path, "ab") as out:
        for z0 in range(0, nz, SLAB):
            slab = np.repeat(slab_base[None], min(SLAB, nz - z0), axis=0)
            for k in range(slab.shape[0]):
                dz = (z0 + k - centre[2]) * SPACING_XYZ[2]
                slab[k][in_plane_r2 + dz * dz < LESION_RADIUS_MM ** 2] = 100
            slab += rng.integers(-12, 13, size=slab.shape, dtype=np.int16)
            out.write(slab.astype("<i2", copy=False).tobytes())


def protocol_clicks(size_xyz) -> Clicks:
    """Six clicks 5 voxels inside the lesion's extremes (1 voxel along the coarse z axis)."""
    centre = lesion_centre_index_xyz(size_xyz)
    points = []
    for axis, inward in ((0, 5), (1, 5), (2, 1)):
        for sign in (-1, 1):
            p = centre.copy()
            p[axis] += sign * (LESION_RADIUS_MM / SPACING_XYZ[axis] - 1 - inward)
            points.append(np.asarray(ORIGIN_XYZ) + p * np.asarray(SPACING_XYZ))
    return Clicks.from_points(np.asarray(points))


def write_dicom_copy(image_path: Path, folder: Path) -> None:
    """The same scan as a DICOM CT series, one file per slice (for --format dicom-seg), written
    by a process of its own: this one must stay small (see ``run_child``)."""
    script = ("import sys; from pathlib import Path; import SimpleITK as sitk; "
              "from tests.algorithm.dicom import write_ct_series_with_pydicom; "
              "write_ct_series_with_pydicom(sitk.ReadImage(sys.argv[1]), Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", script, str(image_path), str(folder)], check=True,
                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def run_child(command: list[str], log: Path) -> tuple[int, float, float]:
    """(exit code, peak RSS in GB, wall seconds) of one process.

    A forked child starts with its parent's resident pages, and Linux keeps that high-water mark
    across exec, so a child's ``ru_maxrss`` is at least this process's: it is refused when it
    may be this process's own rather than the child's."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with open(log, "wb") as err:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if usage.ru_maxrss <= own:
        raise RuntimeError(f"the child's peak ({usage.ru_maxrss} KiB) may be the benchmark's own "
                           f"({own} KiB): keep large work out of this process")
    return child.returncode, usage.ru_maxrss * 1024 / 1e9, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=(1024, 1024, 1000),
                        metavar=("X", "Y", "Z"))
    parser.add_argument("--method", default="auto", help="as the entry points' --method")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dicom", action="store_true",
                        help="also time --format dicom-seg on a DICOM copy of the scan")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the 2 GB case is written (default: a temporary folder)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-large-", dir=args.workdir))
    try:
        case = work / "case"
        image = case / "images/medical-image/large_ct.mha"
        image.parent.mkdir(parents=True)
        start = time.perf_counter()
        synthesise_ct(image, args.size)
        clicks = case / "lesion-clicks.json"
        clicks.write_text(json.dumps(protocol_clicks(args.size).to_multiple_points()))
        print(f"synthesised {' x '.join(map(str, args.size))} int16 CT "
              f"({image.stat().st_size / 2 ** 30:.2f} GiB) in {time.perf_counter() - start:.0f} s",
              flush=True)
        python = sys.executable
        runs = {
            "python -m algorithm (platform)": [python, "-m", "algorithm", "--input", str(case),
                                               "--output", str(work / "out"),
                                               "--method", args.method],
            "lesionseg segment (.mha)": [python, "-m", "algorithm.local_cli", "segment",
                                         str(image), str(clicks), "-o", str(work / "mask.mha"),
                                         "--method", args.method],
        }
        refined = work / "refine"
        (refined / "images/medical-image").mkdir(parents=True)
        os.link(image, refined / "images/medical-image/large_ct.mha")  # inputs may not link out
        (refined / "images/previous-segmentation").mkdir(parents=True)
        shutil.copy(clicks, refined / "lesion-clicks.json")
        runs["python -m algorithm, refining"] = [
            python, "-m", "algorithm", "--input", str(refined), "--output", str(work / "out2"),
            "--method", args.method]
        runs["lesionseg segment --previous-mask"] = [
            python, "-m", "algorithm.local_cli", "segment", str(image), str(clicks),
            "-o", str(work / "mask2.mha"), "--previous-mask", str(work / "mask.mha"),
            "--method", args.method]
        if args.dicom:
            write_dicom_copy(image, work / "dicom")
            runs["lesionseg segment --format dicom-seg"] = [
                python, "-m", "algorithm.local_cli", "segment", str(work / "dicom"), str(clicks),
                "-o", str(work / "mask.dcm"), "--format", "dicom-seg", "--method", args.method]
        print(f"{'entry point':40s} {'peak GB':>8s} {'GiB':>6s} {'seconds':>8s}  (median of "
              f"{args.repeats}; target {TARGET_GB:g} GB)")
        worst = 0.0
        for name, command in runs.items():
            peaks, times = [], []
            for _ in range(args.repeats):
                if name == "python -m algorithm, refining":  # the first run's mask
                    shutil.copy(work / "out/images/lesion-segmentation/large_ct.mha",
                                refined / "images/previous-segmentation/large_ct.mha")
                code, peak, seconds = run_child(command, work / "stderr.log")
                if code != 0:
                    tail = (work / "stderr.log").read_text(errors="replace").strip()
                    print(f"{name}: exit {code}: {tail.splitlines()[-1] if tail else ''}")
                    return 1
                peaks.append(peak)
                times.append(seconds)
            peak = statistics.median(peaks)
            worst = max(worst, peak)
            print(f"{name:40s} {peak:8.2f} {peak * 1e9 / 2 ** 30:6.2f} "
                  f"{statistics.median(times):8.1f}", flush=True)
        print(f"largest peak {worst:.2f} GB: {'within' if worst <= TARGET_GB else 'OVER'} the "
              f"{TARGET_GB:g} GB target")
        return 0 if worst <= TARGET_GB else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
