"""Loading the dev lesions for benchmarks: skipped cleanly where ``../shared`` is absent."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.datasets import Case, load_case, read_manifest  # noqa: E402

DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "dev-lesions" / "manifest.json"


@dataclass
class DevCase:
    case: Case
    image: sitk.Image
    mask: np.ndarray  #: bool (z, y, x)
    spacing: np.ndarray  #: (z, y, x) mm


def dev_cases(manifest: Path = DEFAULT_MANIFEST, only: list[str] | None = None
              ) -> Iterator[DevCase]:
    if not manifest.is_file():
        print(f"SKIPPED: no dev lesions at {manifest} (they live in ../shared, beside the "
              "checkout)", file=sys.stderr)
        return
    for case in read_manifest(manifest):
        if only and not any(case.case_id.startswith(o) for o in only):
            continue
        images, label = load_case(case)
        mask = sitk.GetArrayFromImage(label).astype(bool)
        yield DevCase(case, images[0], mask, np.asarray(images[0].GetSpacing())[::-1])


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    denom = a.sum() + b.sum()
    return float(2.0 * np.logical_and(a, b).sum() / denom) if denom else 1.0
