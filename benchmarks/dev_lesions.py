"""Loading the dev lesions for benchmarks: skipped cleanly where ``../shared`` is absent.

Cases load exactly as training validates them (``training.validation``), so benchmark and
validation figures are computed on the same images, masks and spacings.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from algorithm.methods.base import GridCase, Segmenter  # noqa: E402
from algorithm.methods.classical import GeodesicSegmenter  # noqa: E402
from algorithm.methods.ensemble import AverageSegmenter  # noqa: E402
from algorithm.methods.graph_cut import GraphCutSegmenter  # noqa: E402
from algorithm.methods.network import NetworkSegmenter  # noqa: E402
from algorithm.network.model_card import ModelCard  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from training.datasets import Case, read_manifest  # noqa: E402
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


def held_out_cases(weights: Path, manifest: Path = DEFAULT_MANIFEST
                   ) -> tuple[ModelCard, list[Case]]:
    """The dev cases a model's card says it never trained on; refuses a model that held out
    none (a final model on all data: benchmark its fold twin instead). Without the dev lesions
    (a checkout without ``../shared``) the benchmark ends, skipped, with exit code 0."""
    if not manifest.is_file():
        print(f"SKIPPED: no dev lesions at {manifest}")
        raise SystemExit(0)
    card = read_card(weights)
    held_out = set(card.training.get("validation_cases", []))
    cases = [c for c in read_manifest(manifest) if c.case_id in held_out]
    if not cases:
        raise SystemExit(f"error: {weights} ({card.version}) held out no dev case (trained on "
                         "all of them?); benchmark a run that held some out, e.g. its fold-0 "
                         "twin's final/")
    return card, cases


@dataclass
class CutAt:
    """``inner``'s probability rescaled so that ``threshold`` falls on the pipeline's 0.5."""

    inner: Segmenter
    threshold: float
    name: str = "cut"

    @property
    def grid_size(self) -> int:
        return self.inner.grid_size

    def predict(self, case: GridCase) -> np.ndarray:
        p = self.inner.predict(case) * (0.5 / self.threshold)
        return np.clip(p, 0.0, 1.0).astype(np.float32)


def segmenters(weights: Path, classical_weight: float = 1.0, cut: float = 0.5,
               graph_cut: float | None = None) -> dict[str, Segmenter]:
    """The compared methods: the network, the classical method, and their average (the shipped
    combination when the card says so; ``classical_weight`` and ``cut`` try other ones). With
    ``graph_cut`` (a smoothness), the network and the average are regularised by a graph cut."""
    network: Segmenter = NetworkSegmenter.from_folder(weights, torch.device("cpu"))
    classical = GeodesicSegmenter()
    both: Segmenter = AverageSegmenter([network, classical], [1.0, classical_weight])
    both = both if cut == 0.5 else CutAt(both, cut)
    if graph_cut:
        network, both = GraphCutSegmenter(network, graph_cut), GraphCutSegmenter(both, graph_cut)
    return {"network": network, "classical": classical, "net+classical": both}


def graph_cut_option(value: float | None, card: ModelCard) -> float | None:
    """A benchmark's ``--graph-cut``: absent means what the card ships, 0 means off."""
    if value is None:
        return card.graph_cut_smoothness
    return value or None


def print_group_table(rows: list[dict], keys: list[str], first_column: str = "method") -> None:
    """A markdown table of mean ± SD of each key over the rows, per group and overall."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    columns = sorted(groups.items()) + [("overall", rows)]
    print(f"| {first_column} | " + " | ".join(f"{g} (n={len({r['case'] for r in rs})})"
                                            for g, rs in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for k in keys:
        print(f"| {k} | " + " | ".join(
            f"{np.mean([r[k] for r in rs]):.3f} ± {np.std([r[k] for r in rs]):.3f}"
            for _, rs in columns) + " |")
