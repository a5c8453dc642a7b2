"""Generate the container test fixture and its expected metrics (run from anywhere).

    python evaluation/test/make_fixture.py

Writes, next to this script:
  input/predictions.json + input/<job pk>/output/images/lesion-segmentation/*.mha
  ground_truth/{box_shift.mha, sphere_identical.nii.gz, empty_pred.nrrd, groups.csv}
  expected_metrics.json

Expected values do not come from the evaluation package: overlap, volumes and diameters are
closed-form for these shapes, and HD95/ASSD/NSD come from a brute-force implementation of the
documented conventions (6-neighbour surface, all-pairs voxel-centre distances) below.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy.spatial.distance import cdist

HERE = Path(__file__).resolve().parent
OUTPUT_SOCKET = {
    "slug": "lesion-segmentation",
    "kind": "Segmentation",
    "super_kind": "Image",
    "relative_path": "images/lesion-segmentation",
}
IMAGE_SOCKET = {
    "slug": "medical-image",
    "kind": "Image",
    "super_kind": "Image",
    "relative_path": "images/medical-image",
}
CLICKS_SOCKET = {
    "slug": "lesion-clicks",
    "kind": "Multiple points",
    "super_kind": "Value",
    "relative_path": "lesion-clicks.json",
}


def write(array: np.ndarray, path: Path, spacing_xyz, direction=None) -> None:
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.SetSpacing(spacing_xyz)
    image.SetOrigin((-10.0, 5.0, 2.5))
    if direction is not None:
        image.SetDirection(direction)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)


def brute_force_surface_metrics(pred: np.ndarray, ref: np.ndarray, spacing_zyx) -> dict:
    def surface(mask):
        padded = np.pad(mask, 1)
        neighbours = sum(
            np.roll(padded, shift, axis)[1:-1, 1:-1, 1:-1].astype(int)
            for axis in range(3)
            for shift in (1, -1)
        )
        return mask & (neighbours < 6)

    a = np.argwhere(surface(pred)) * np.asarray(spacing_zyx)
    b = np.argwhere(surface(ref)) * np.asarray(spacing_zyx)
    pairwise = cdist(a, b)
    d_ab, d_ba = pairwise.min(axis=1), pairwise.min(axis=0)
    within = np.count_nonzero(d_ab <= 2.0 + 1e-9) + np.count_nonzero(d_ba <= 2.0 + 1e-9)
    return {
        "hd95_mm": float(max(np.percentile(d_ab, 95), np.percentile(d_ba, 95))),
        "assd_mm": float((d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size)),
        "nsd_2mm": float(within / (d_ab.size + d_ba.size)),
    }


def box_shift(root: Path) -> dict:
    """Two 6x8x10-voxel boxes (z, y, x), the prediction shifted 2 voxels along x."""
    spacing_xyz = (0.8, 0.6, 2.0)
    ref = np.zeros((10, 14, 18), bool)
    ref[2:8, 3:11, 3:13] = True
    pred = np.roll(ref, 2, axis=2)
    write(ref, root / "ground_truth" / "box_shift.mha", spacing_xyz)
    write(
        pred,
        root / "input" / "job-box" / "output" / "images" / "lesion-segmentation" / "3f1c.mha",
        spacing_xyz,
    )
    voxel_ml = 0.8 * 0.6 * 2.0 / 1000
    width, height = 9 * 0.8, 7 * 0.6  # voxel-centre extent of a 10 x 8 rectangle
    diagonal = math.hypot(width, height)
    short = height * diagonal / width  # chord through the centre perpendicular to the diagonal
    expected = {
        "dsc": 2 * 384 / (480 + 480),
        "iou": 384 / 576,
        "sensitivity": 384 / 480,
        "precision": 384 / 480,
        "volume_pred_ml": 480 * voxel_ml,
        "volume_ref_ml": 480 * voxel_ml,
        "volume_diff_ml": 0.0,
        "max_axial_diameter_pred_mm": diagonal,
        "max_axial_diameter_ref_mm": diagonal,
        "max_axial_diameter_diff_mm": 0.0,
        "short_axis_pred_mm": short,
        "short_axis_ref_mm": short,
        "short_axis_diff_mm": 0.0,
        "empty_prediction": False,
        "empty_reference": False,
    }
    expected.update(brute_force_surface_metrics(pred, ref, spacing_xyz[::-1]))
    return expected


def sphere_identical(root: Path) -> dict:
    """A ball of radius 4 voxels (1.5 mm), flipped x/y directions, predicted perfectly."""
    spacing = 1.5
    z, y, x = np.mgrid[:11, :11, :11]
    ball = (z - 5) ** 2 + (y - 5) ** 2 + (x - 5) ** 2 <= 16
    direction = (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
    write(ball, root / "ground_truth" / "sphere_identical.nii.gz", (spacing,) * 3, direction)
    write(
        ball,
        root / "input" / "job-sphere" / "output" / "images" / "lesion-segmentation" / "9a0b.mha",
        (spacing,) * 3,
        direction,
    )
    volume = int(ball.sum()) * spacing**3 / 1000
    return {
        "dsc": 1.0,
        "iou": 1.0,
        "sensitivity": 1.0,
        "precision": 1.0,
        "hd95_mm": 0.0,
        "assd_mm": 0.0,
        "nsd_2mm": 1.0,
        "volume_pred_ml": volume,
        "volume_ref_ml": volume,
        "volume_diff_ml": 0.0,
        # lattice points of a radius-4 disc: farthest pair (+-4, 0), perpendicular chord (0, +-4)
        "max_axial_diameter_pred_mm": 8 * spacing,
        "max_axial_diameter_ref_mm": 8 * spacing,
        "max_axial_diameter_diff_mm": 0.0,
        "short_axis_pred_mm": 8 * spacing,
        "short_axis_ref_mm": 8 * spacing,
        "short_axis_diff_mm": 0.0,
        "empty_prediction": False,
        "empty_reference": False,
    }


def empty_pred(root: Path) -> dict:
    """A 3x3x3 reference cube and an empty prediction: the worst-case rules."""
    spacing_xyz = (1.0, 1.0, 1.0)
    ref = np.zeros((6, 7, 8), bool)
    ref[1:4, 2:5, 3:6] = True
    write(ref, root / "ground_truth" / "empty_pred.nrrd", spacing_xyz)
    write(
        np.zeros_like(ref),
        root / "input" / "job-empty" / "output" / "images" / "lesion-segmentation" / "c2d4.mha",
        spacing_xyz,
    )
    diagonal = math.sqrt(5**2 + 6**2 + 7**2)  # largest voxel-centre distance in a 6x7x8 grid
    return {
        "dsc": 0.0,
        "iou": 0.0,
        "sensitivity": 0.0,
        "precision": 0.0,
        "hd95_mm": diagonal,
        "assd_mm": diagonal,
        "nsd_2mm": 0.0,
        "volume_pred_ml": 0.0,
        "volume_ref_ml": 0.027,
        "volume_diff_ml": -0.027,
        "max_axial_diameter_pred_mm": 0.0,
        "max_axial_diameter_ref_mm": math.sqrt(8),
        "max_axial_diameter_diff_mm": -math.sqrt(8),
        "short_axis_pred_mm": 0.0,
        "short_axis_ref_mm": math.sqrt(8),
        "short_axis_diff_mm": -math.sqrt(8),
        "empty_prediction": True,
        "empty_reference": False,
    }


def job(pk: str, image_name: str, key: str, n_clicks: int) -> dict:
    points = [{"name": "tumor", "point": [float(i), 0.0, 0.0]} for i in range(n_clicks)]
    return {
        "pk": pk,
        "url": f"https://grand-challenge.org/api/v1/algorithms/jobs/{pk}/",
        "inputs": [
            {
                "pk": 1,
                "file": None,
                "value": None,
                key: IMAGE_SOCKET,
                "image": {"pk": f"img-{pk}", "name": image_name},
            },
            {
                "pk": 2,
                "file": None,
                "image": None,
                key: CLICKS_SOCKET,
                "value": {
                    "type": "Multiple points",
                    "points": points,
                    "version": {"major": 1, "minor": 0},
                },
            },
        ],
        "outputs": [
            {
                "pk": 3,
                "file": None,
                "value": None,
                key: OUTPUT_SOCKET,
                "image": {"pk": f"out-{pk}", "name": "segmentation.mha"},
            }
        ],
        "status": "Succeeded",
        "rendered_result_text": "",
    }


def main() -> None:
    for sub in ("input", "ground_truth"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    cases = {
        "box_shift": box_shift(HERE),
        "sphere_identical": sphere_identical(HERE),
        "empty_pred": empty_pred(HERE),
    }
    jobs = [
        job("job-box", "box_shift.mha", "socket", 6),
        job("job-sphere", "sphere_identical.mha", "interface", 6),  # legacy key
        job("job-empty", "empty_pred.mha", "socket", 6),
    ]
    (HERE / "input" / "predictions.json").write_text(json.dumps(jobs, indent=2) + "\n")
    groups = {"box_shift": "CT", "sphere_identical": "MR", "empty_pred": "CT"}
    (HERE / "ground_truth" / "groups.csv").write_text(
        "case,modality\n" + "".join(f"{c},{m}\n" for c, m in groups.items())
    )

    def stats(values: list[float]) -> dict:
        v = np.asarray(values, float)
        return {"n": len(values), "mean": float(v.mean()), "median": float(np.median(v))}

    expected = {
        "results": [{"case": case, "step": 0, **values} for case, values in sorted(cases.items())],
        "aggregates": {
            **{
                m: stats([c[m] for c in cases.values()])
                for m in ("dsc", "iou", "hd95_mm", "nsd_2mm")
            },
            "by_group": {
                "modality": {
                    g: {"dsc": stats([cases[c]["dsc"] for c in cases if groups[c] == g])}
                    for g in ("CT", "MR")
                }
            },
        },
    }
    (HERE / "expected_metrics.json").write_text(json.dumps(expected, indent=2) + "\n")
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"fixture written to {HERE} ({total / 1024:.1f} KiB in all)")


if __name__ == "__main__":
    main()
