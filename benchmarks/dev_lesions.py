"""Loading the dev lesions for benchmarks: skipped cleanly where ``../shared`` is absent.

Cases load exactly as training validates them (``training.validation``), so benchmark and
validation figures are computed on the same images, masks and spacings.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from training.datasets import read_manifest  # noqa: E402
from training.validation import ValidationCase, dice, load_validation_cases  # noqa: E402,F401

DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "dev-lesions" / "manifest.json"


def dev_cases(manifest: Path = DEFAULT_MANIFEST, only: list[str] | None = None
              ) -> Iterator[ValidationCase]:
    if not manifest.is_file():
        print(f"SKIPPED: no dev lesions at {manifest} (they live in ../shared, beside the "
              "checkout)", file=sys.stderr)
        return
    for case in read_manifest(manifest):
        if only and not any(case.case_id.startswith(o) for o in only):
            continue
        yield from load_validation_cases([case])
