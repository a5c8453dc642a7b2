"""Which way of combining segmenters pays, on held-out dev lesions with six clicks.

Every variant averages the probabilities of some members (the network, the classical method, and
optionally more networks trained with the same patients held out) with its own weights, and
cuts at its own threshold or regularises the average with a graph cut of some smoothness; the
rest of the pipeline (VOI growth, postprocessing) is the shipped one. Member predictions are
cached per model-grid case, so a variant costs no extra network pass. Use it before shipping an
ensemble, a threshold or a smoothness: a variant that wins here was still chosen on
these cases, so confirm it elsewhere (e.g. ``bench_synthetic_lesions.py``).

    python benchmarks/bench_combinations.py --weights runs/v3fold0/final [--second W2 [W3 ...]]
        [--graph-cut 1 2 4 8]
"""

from __future__ import annotations

import argparse
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# benchmarks/ is on sys.path
from dev_lesions import CutAt, dice, held_out_cases  # noqa: I001

from algorithm.geometry import index_to_world
from algorithm.methods.base import GridCase, Segmenter
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.ensemble import AverageSegmenter
from algorithm.methods.graph_cut import GraphCutSegmenter
from algorithm.methods.network import NetworkSegmenter
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import six_point_clicks
from training.validation import load_validation_cases


@dataclass
class Cached:
    """A member whose prediction for a grid case is computed once, however many variants use it."""

    member: Segmenter

    def __post_init__(self) -> None:
        self.name, self.grid_size = self.member.name, self.member.grid_size
        self._cache: dict[str, np.ndarray] = {}

    def predict(self, case: GridCase) -> np.ndarray:
        key = hashlib.sha1(case.image.tobytes() + case.positive.tobytes()
                           + case.negative.tobytes()).hexdigest()
        if key not in self._cache:
            self._cache[key] = self.member.predict(case)
        return self._cache[key]

    def clear(self) -> None:
        self._cache.clear()


def variants(members: dict[str, Cached], smoothness: tuple[float, ...] = ()
             ) -> dict[str, Segmenter]:
    """Each variant is the shipped averaging (``AverageSegmenter``) of some members, with its
    own weights, optionally cut at another threshold; then the network with the classical method
    under a graph cut of each ``smoothness``."""
    table = {"network": ({"net": 1}, 0.5),
             "network+classical (shipped)": ({"net": 1, "cls": 1}, 0.5),
             "network+2 classical": ({"net": 1, "cls": 2}, 0.5),
             "network+classical, cut 0.45": ({"net": 1, "cls": 1}, 0.45),
             "network+classical, cut 0.55": ({"net": 1, "cls": 1}, 0.55),
             "network+classical, cut 0.6": ({"net": 1, "cls": 1}, 0.6)}
    nets = [m for m in members if m.startswith("net")]
    if len(nets) > 1:
        # The networks' mean weighs as much as the classical method, as one network does.
        each = {m: 1 / len(nets) for m in nets}
        table |= {f"{len(nets)} networks": (each, 0.5),
                  f"{len(nets)} networks+classical": (each | {"cls": 1}, 0.5),
                  f"{len(nets)} networks+2 classical": (each | {"cls": 2}, 0.5)}
    out: dict[str, Segmenter] = {}
    for name, (weights, threshold) in table.items():
        average = AverageSegmenter([members[m] for m in weights], list(weights.values()))
        out[name] = average if threshold == 0.5 else CutAt(average, threshold)
    both = Cached(out["network+classical (shipped)"])  # one average for every smoothness
    for value in smoothness:
        out[f"network+classical, graph cut {value:g}"] = GraphCutSegmenter(both, value)
    if len(nets) > 1:
        all_nets = Cached(out[f"{len(nets)} networks+classical"])
        for value in smoothness:
            out[f"{len(nets)} networks+classical, graph cut {value:g}"] = GraphCutSegmenter(
                all_nets, value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="a model that held dev cases out")
    parser.add_argument("--second", nargs="+", default=[], metavar="W",
                        help="more models that held out the same cases (ensemble members)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--graph-cut", type=float, nargs="*", default=(), metavar="SMOOTHNESS",
                        help="also the network+classical average under a graph cut of each")
    parser.add_argument("--volumes", action="store_true",
                        help="also print each variant's predicted / reference volume per case")
    args = parser.parse_args()
    torch.set_num_threads(2)
    card, cases = held_out_cases(Path(args.weights))
    cpu = torch.device("cpu")
    members = {"net": Cached(NetworkSegmenter.from_folder(Path(args.weights), cpu)),
               "cls": Cached(GeodesicSegmenter())}
    others = []
    for i, other in enumerate(args.second, start=2):
        other_card, other_cases = held_out_cases(Path(other))
        if {c.case_id for c in other_cases} != {c.case_id for c in cases}:
            raise SystemExit(f"error: {other} held out other cases than {args.weights}")
        members[f"net{i}"] = Cached(NetworkSegmenter.from_folder(Path(other), cpu))
        others.append(f"{other} ({other_card.version})")
    table = variants(members, tuple(args.graph_cut))
    rows, volumes = [], []  # volumes: predicted / reference lesion volume
    for vc in load_validation_cases(cases):
        for seed in range(args.seeds):
            clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed))
            prompt = Clicks.from_points(index_to_world(vc.image, clicks.astype(float)))
            masks = {name: segment(vc.image, prompt, v).mask for name, v in table.items()}
            rows.append({"group": vc.case.group,
                         **{name: dice(m, vc.mask) for name, m in masks.items()}})
            volumes.append({"case": vc.case.case_id, **{
                name: float(m.astype(bool).sum() / vc.mask.sum()) for name, m in masks.items()}})
        for member in [*members.values(), *(getattr(v, "inner", v) for v in table.values())]:
            if isinstance(member, Cached):
                member.clear()
    groups = defaultdict(list)
    for r in rows:
        groups[r["group"]].append(r)
    columns = sorted(groups.items()) + [("overall", rows)]
    print(f"weights: {args.weights} ({card.version})"
          + (f"; with: {', '.join(others)}" if others else "")
          + f"; {len(cases)} held-out cases x {args.seeds} seeds, six clicks, mean DSC")
    print("| variant | " + " | ".join(g for g, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in table:
        print(f"| {name} | " + " | ".join(f"{np.mean([r[name] for r in rs]):.3f}"
                                         for _, rs in columns) + " |")
    if args.volumes:
        ids = sorted({v["case"] for v in volumes})
        print("\npredicted / reference volume, mean over seeds")
        print("| variant | " + " | ".join(ids) + " |")
        print("|---" * (len(ids) + 1) + "|")
        for name in table:
            print(f"| {name} | " + " | ".join(
                f"{np.mean([v[name] for v in volumes if v['case'] == i]):.2f}" for i in ids)
                + " |")


if __name__ == "__main__":
    main()
