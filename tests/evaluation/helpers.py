"""Builders for the evaluation tests: analytic masks, mask files, platform folders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def ellipsoid(
    shape: Sequence[int],
    centre: Sequence[float],
    radii_mm: Sequence[float],
    spacing: Sequence[float],
) -> np.ndarray:
    """Voxels whose centre lies in the ellipsoid (all in array order, mm)."""
    grids = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    total = sum(((g - c) * s / r) ** 2 for g, c, s, r in zip(grids, centre, spacing, radii_mm))
    return total <= 1.0 + 1e-12


def write_mask(
    path: Path,
    array: np.ndarray,
    spacing_xyz: Sequence[float] = (1.0, 1.0, 1.0),
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    direction: Sequence[float] = IDENTITY,
    dtype: type = np.uint8,
) -> Path:
    image = sitk.GetImageFromArray(np.asarray(array).astype(dtype))
    image.SetSpacing(tuple(float(s) for s in spacing_xyz))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(float(d) for d in direction))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)
    return path


def job_json(
    pk: str,
    image_name: str,
    key: str = "socket",
    n_clicks: int | None = 6,
    output_relative_path: str = "images/lesion-segmentation",
) -> dict:
    """One algorithm job as grand-challenge lists it in predictions.json."""
    inputs = [
        {
            "image": {"pk": f"img-{pk}", "name": image_name},
            "file": None,
            "value": None,
            key: {
                "slug": "medical-image",
                "kind": "Image",
                "relative_path": "images/medical-image",
            },
        }
    ]
    if n_clicks is not None:
        points = [{"point": [float(i), 1.0, 2.0], "name": "tumor"} for i in range(n_clicks)]
        inputs.append(
            {
                "image": None,
                "file": None,
                "value": {
                    "type": "Multiple points",
                    "points": points,
                    "version": {"major": 1, "minor": 0},
                },
                key: {
                    "slug": "lesion-clicks",
                    "kind": "Multiple points",
                    "relative_path": "lesion-clicks.json",
                },
            }
        )
    return {
        "pk": pk,
        "status": "Succeeded",
        "inputs": inputs,
        "outputs": [
            {
                "image": {"pk": f"out-{pk}", "name": "out.mha"},
                "file": None,
                "value": None,
                key: {
                    "slug": "lesion-segmentation",
                    "kind": "Segmentation",
                    "relative_path": output_relative_path,
                },
            }
        ],
        "started_at": "2025-01-01T00:00:00Z",
    }


class PlatformDirs:
    """An /input, ground-truth and /output layout in tmp_path, filled case by case."""

    def __init__(self, root: Path) -> None:
        self.input = root / "input"
        self.ground_truth = root / "ground_truth"
        self.output = root / "output"
        for folder in (self.input, self.ground_truth, self.output):
            folder.mkdir(parents=True)
        self.jobs: list[dict] = []

    def add(
        self,
        name: str,
        reference: np.ndarray | None,
        prediction: np.ndarray,
        *,
        key: str = "socket",
        ref_suffix: str = ".mha",
        image_name: str | None = None,
        pk: str | None = None,
        n_clicks: int | None = 6,
        spacing_xyz=(1.0, 1.0, 1.0),
        pred_spacing_xyz=None,
    ) -> dict:
        pk = pk or f"job-{len(self.jobs):03d}-{name}"
        if reference is not None:
            write_mask(self.ground_truth / f"{name}{ref_suffix}", reference, spacing_xyz)
        write_mask(
            self.input / pk / "output" / "images" / "lesion-segmentation" / "result.mha",
            prediction,
            pred_spacing_xyz or spacing_xyz,
        )
        job = job_json(pk, image_name or f"{name}.mha", key=key, n_clicks=n_clicks)
        self.jobs.append(job)
        return job

    def write_predictions(self, payload: object | None = None) -> Path:
        path = self.input / "predictions.json"
        path.write_text(json.dumps(self.jobs if payload is None else payload))
        return path

    @property
    def argv(self) -> list[str]:
        return [
            "--input",
            str(self.input),
            "--output",
            str(self.output),
            "--ground-truth",
            str(self.ground_truth),
        ]

    def metrics(self) -> dict:
        return strict_load(self.output / "metrics.json")


def strict_load(path: Path) -> dict:
    """Load JSON, failing on NaN/Infinity literals; it must re-serialise with allow_nan=False."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} found in {path}")

    data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=refuse)
    json.dumps(data, allow_nan=False)
    return data


def sphere_pair(
    shift: int = 0, radius: float = 4.0, shape=(12, 14, 16)
) -> tuple[np.ndarray, np.ndarray]:
    """(reference, prediction) balls, the prediction shifted ``shift`` voxels along x."""
    centre = np.array(shape) / 2.0 - 0.5
    ref = ellipsoid(shape, centre, (radius,) * 3, (1.0, 1.0, 1.0))
    return ref, np.roll(ref, shift, axis=2)
