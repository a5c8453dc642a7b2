"""Regenerate the bundled example cases (``test/input``) and their expected output.

The images are synthetic phantoms (no patient data, freely shippable). The expected output is
what the shipped default method writes (the mask, lesion-measurements.json and
lesion-recist-axes.json); rerun this after the weights, the method or the measurements change,
and review the DSC it prints against the phantom's own lesion mask.

    python scripts/make_example_cases.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithm.cli import main as algorithm_main  # noqa: E402
from algorithm.io.grand_challenge import OUTPUT_DIR  # noqa: E402
from algorithm.phantom import make_phantom  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402

CASES = {
    # name: (modality, seed, write inputs.json as the platform does)
    "ct_phantom": ("CT", 1, True),
    "mr_phantom": ("MR", 2, False),
}


def inputs_listing(image_name: str, clicks: dict) -> list[dict]:
    return [
        {"socket": {"slug": "medical-image", "kind": "Image", "super_kind": "Image",
                    "relative_path": "images/medical-image"},
         "image": {"name": image_name}, "file": None, "value": None},
        {"socket": {"slug": "lesion-clicks", "kind": "Multiple points", "super_kind": "Value",
                    "relative_path": "lesion-clicks.json"},
         "image": None, "file": None, "value": clicks},
    ]


def main() -> None:
    for name, (modality, seed, with_listing) in CASES.items():
        case_in = ROOT / "test" / "input" / name
        case_out = ROOT / "test" / "expected_output" / name
        for folder in (case_in, case_out):
            shutil.rmtree(folder, ignore_errors=True)
        phantom = make_phantom(modality, seed=seed)
        image_name = f"{name}.mha"
        (case_in / "images" / "medical-image").mkdir(parents=True)
        sitk.WriteImage(phantom.image, str(case_in / "images/medical-image" / image_name),
                        useCompression=True)
        clicks = Clicks.from_points(np.round(phantom.clicks_xyz, 3)).to_multiple_points()
        (case_in / "lesion-clicks.json").write_text(json.dumps(clicks, indent=2) + "\n")
        if with_listing:
            (case_in / "inputs.json").write_text(
                json.dumps(inputs_listing(image_name, clicks), indent=2) + "\n")
        if algorithm_main(["--input", str(case_in), "--output", str(case_out)]) != 0:
            raise SystemExit(f"algorithm failed on {name}")
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(case_out / OUTPUT_DIR / image_name)))
        truth = sitk.GetArrayFromImage(phantom.mask)
        dsc = 2 * np.logical_and(mask, truth).sum() / (mask.sum() + truth.sum())
        print(f"{name}: DSC against the phantom's lesion {dsc:.3f}")


if __name__ == "__main__":
    main()
