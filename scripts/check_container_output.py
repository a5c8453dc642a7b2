"""Compare what a container wrote with the expected output, file by file.

    python scripts/check_container_output.py EXPECTED_DIR ACTUAL_DIR [--min-dsc 0.98]

Both folders are walked recursively (usually ``test/expected_output`` and the folder of
per-case ``/output`` mounts that ``test.sh`` fills). Every expected file must have been written
and every written file must be expected (a stray file, e.g. a leftover ``.partial-*``, is a
mismatch). Images (masks) must have the same size, spacing, origin, direction and pixel type,
and a Dice similarity coefficient of at least ``--min-dsc`` (two empty masks agree); JSON files
must have the same structure, with numbers within ``--rtol``/``--atol``; other files must be
byte-identical. Prints one line per file and what differs; exits 1 on any mismatch.

Needs numpy and SimpleITK (the project's virtualenv or the algorithm image both have them).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

IMAGE_SUFFIXES = (".mha", ".mhd", ".nii", ".nii.gz", ".nrrd", ".tif", ".tiff")


def is_image(path: Path) -> bool:
    return path.name.lower().endswith(IMAGE_SUFFIXES)


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in values)


def compare_images(expected: Path, actual: Path, min_dsc: float, geometry_tol: float) -> list[str]:
    problems = []
    try:
        want, got = sitk.ReadImage(str(expected)), sitk.ReadImage(str(actual))
    except RuntimeError as exc:
        return [f"cannot read image: {' '.join(str(exc).split())[:200]}"]
    if want.GetSize() != got.GetSize():
        return [f"size {got.GetSize()} != expected {want.GetSize()}"]
    if want.GetPixelIDTypeAsString() != got.GetPixelIDTypeAsString():
        problems.append(f"pixel type {got.GetPixelIDTypeAsString()} != expected "
                        f"{want.GetPixelIDTypeAsString()}")
    for name in ("Spacing", "Origin", "Direction"):
        a = np.asarray(getattr(want, f"Get{name}")(), dtype=float)
        b = np.asarray(getattr(got, f"Get{name}")(), dtype=float)
        if not np.allclose(a, b, rtol=0.0, atol=geometry_tol):
            problems.append(f"{name.lower()} {_rounded(b)} != expected {_rounded(a)} "
                            f"(tolerance {geometry_tol})")
    mask_want = sitk.GetArrayViewFromImage(want) != 0
    mask_got = sitk.GetArrayViewFromImage(got) != 0
    total = int(mask_want.sum()) + int(mask_got.sum())
    dsc = 1.0 if total == 0 else 2.0 * int(np.logical_and(mask_want, mask_got).sum()) / total
    detail = f"DSC {dsc:.4f}, {int(mask_got.sum())} voxels (expected {int(mask_want.sum())})"
    if dsc < min_dsc:
        problems.append(f"{detail}: below {min_dsc}")
    return problems or [f"ok: {detail}"]


def compare_json_values(want: object, got: object, where: str, rtol: float, atol: float,
                        out: list[str]) -> None:
    if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
        if want != got or type(want) is not type(got):
            out.append(f"{where}: {got!r} != expected {want!r}")
    elif isinstance(want, (int, float)) and isinstance(got, (int, float)):
        if not math.isclose(float(want), float(got), rel_tol=rtol, abs_tol=atol) and not (
                math.isnan(float(want)) and math.isnan(float(got))):
            out.append(f"{where}: {got!r} != expected {want!r} (rtol {rtol}, atol {atol})")
    elif isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(want.keys() - got.keys()):
            out.append(f"{where}.{key}: missing")
        for key in sorted(got.keys() - want.keys()):
            out.append(f"{where}.{key}: not expected")
        for key in sorted(want.keys() & got.keys()):
            compare_json_values(want[key], got[key], f"{where}.{key}", rtol, atol, out)
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            out.append(f"{where}: {len(got)} items != expected {len(want)}")
        for i, (a, b) in enumerate(zip(want, got)):
            compare_json_values(a, b, f"{where}[{i}]", rtol, atol, out)
    elif want != got:
        out.append(f"{where}: {got!r} != expected {want!r}")


def compare_json(expected: Path, actual: Path, rtol: float, atol: float) -> list[str]:
    try:
        got = json.loads(actual.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"not valid JSON: {exc}"]
    want = json.loads(expected.read_text(encoding="utf-8"))
    problems: list[str] = []
    compare_json_values(want, got, "$", rtol, atol, problems)
    return problems or ["ok: JSON within tolerance"]


def relative_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("expected", type=Path)
    parser.add_argument("actual", type=Path)
    parser.add_argument("--min-dsc", type=float, default=0.98)
    parser.add_argument("--geometry-tol", type=float, default=1e-4,
                        help="absolute tolerance on spacing, origin and direction")
    parser.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance, JSON")
    parser.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance, JSON")
    args = parser.parse_args(argv)

    for folder in (args.expected, args.actual):
        if not folder.is_dir():
            print(f"error: {folder} is not a folder", file=sys.stderr)
            return 1
    expected, actual = relative_files(args.expected), relative_files(args.actual)
    if not expected:
        print(f"error: no expected files under {args.expected}", file=sys.stderr)
        return 1
    failures = 0
    for rel in sorted(expected | actual):
        if rel not in actual:
            lines = ["MISSING: not written"]
        elif rel not in expected:
            lines = ["UNEXPECTED: written but not in the expected output"]
        elif is_image(rel):
            lines = compare_images(args.expected / rel, args.actual / rel, args.min_dsc,
                                   args.geometry_tol)
        elif rel.name.lower().endswith(".json"):
            lines = compare_json(args.expected / rel, args.actual / rel, args.rtol, args.atol)
        else:
            same = (args.expected / rel).read_bytes() == (args.actual / rel).read_bytes()
            lines = ["ok: identical"] if same else ["contents differ"]
        ok = len(lines) == 1 and lines[0].startswith("ok:")
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {rel}: {lines[0]}")
        for line in lines[1:]:
            print(f"     {line}")
    checked = len(expected | actual)
    print(f"{checked - failures}/{checked} output files match {args.expected}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
