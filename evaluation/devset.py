"""Prepare the shared dev lesions for the local CLI: binary references, groups, degraded masks.

    python -m evaluation.devset --dev-lesions ../shared/data/dev-lesions \\
        --output /tmp/eval-report/data [--degrade dilate1 bbox_ellipsoid erode1]

Reads ``manifest.json`` (case, modality, region, label file, lesion label values) and writes
``references/<case>.mha`` (the union of the lesion labels, 0/1, on the label's grid),
``groups.csv`` (case, modality, dataset, region) and one folder of synthetic predictions per
degradation, to exercise the metrics before a real method is available. Nothing is written into
the repository; the shared data stay where they are.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from scipy import ndimage

from evaluation.cli import guarded
from evaluation.errors import EvaluationError
from evaluation.jsonio import read_json, write_text_atomic


class ManifestCase(BaseModel):
    model_config = ConfigDict(extra="allow")
    case: str
    modality: str
    region: str
    label: str
    lesion_labels: list[int]


def dilate1(mask: np.ndarray) -> np.ndarray:
    """One voxel of 6-connected dilation: over-segmentation by one voxel layer."""
    return ndimage.binary_dilation(mask)


def erode1(mask: np.ndarray) -> np.ndarray:
    """One voxel of 6-connected erosion (may empty thin lesions: exercises the empty rules)."""
    return ndimage.binary_erosion(mask)


def bbox_ellipsoid(mask: np.ndarray) -> np.ndarray:
    """The ellipsoid inscribed in the mask's bounding box: a crude shape prior."""
    out = np.zeros_like(mask, dtype=bool)
    if not mask.any():
        return out
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    grids = np.ogrid[tuple(slice(0, s.stop - s.start) for s in box)]
    total = sum(
        ((g - (s.stop - s.start - 1) / 2) / ((s.stop - s.start) / 2)) ** 2
        for g, s in zip(grids, box)
    )
    out[box] = total <= 1.0
    return out


DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "dilate1": dilate1,
    "erode1": erode1,
    "bbox_ellipsoid": bbox_ellipsoid,
}


def modality_group(modality: str) -> str:
    """'CT (uint8, pre-windowed)' -> 'CT', 'MR (T1 post-contrast)' -> 'MR'."""
    return modality.split()[0] if modality.strip() else "unspecified"


def write_binary(mask: np.ndarray, like: sitk.Image, path: Path) -> None:
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(like)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)


def prepare(dev_lesions: Path, output: Path, degradations: Sequence[str]) -> list[ManifestCase]:
    try:
        cases = TypeAdapter(list[ManifestCase]).validate_python(
            read_json(dev_lesions / "manifest.json", "manifest")
        )
    except ValidationError as exc:
        raise EvaluationError(
            f"manifest {dev_lesions / 'manifest.json'} is malformed: {exc.errors()[0]['msg']}"
        ) from None
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["case", "modality", "dataset", "region"])
    for case in cases:
        label = sitk.ReadImage(str(dev_lesions / case.case / case.label))
        mask = np.isin(sitk.GetArrayFromImage(label), case.lesion_labels)
        write_binary(mask, label, output / "references" / f"{case.case}.mha")
        for name in degradations:
            write_binary(DEGRADATIONS[name](mask), label, output / name / f"{case.case}.mha")
        writer.writerow(
            [case.case, modality_group(case.modality), case.case.split("_")[0], case.region]
        )
        print(f"{case.case}: {int(mask.sum())} lesion voxels", flush=True)
    write_text_atomic(output / "groups.csv", rows.getvalue())
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.devset", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dev-lesions", type=Path, required=True, help="folder with manifest.json")
    parser.add_argument(
        "--output", type=Path, required=True, help="folder to write (outside the repo)"
    )
    parser.add_argument(
        "--degrade",
        nargs="*",
        default=["dilate1", "bbox_ellipsoid"],
        choices=sorted(DEGRADATIONS),
        help="synthetic prediction sets to write",
    )
    args = parser.parse_args(argv)
    cases = prepare(args.dev_lesions, args.output, args.degrade)
    print(
        f"wrote {len(cases)} references, groups.csv and {', '.join(args.degrade) or 'no'} "
        f"prediction folder(s) to {args.output}"
    )


if __name__ == "__main__":
    sys.exit(guarded(main))
