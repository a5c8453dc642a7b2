"""Screening: does averaging two runs of the shipped recipe (sample seeds 0 and 1) beat one?
(Issue 17; the method's lineage ensembles its networks as nnU-Net does.)

Each held-out case (six protocol clicks, seed 0) is answered by its fold's seed-0 model alone and
by the average of its fold's two models' probabilities (``AverageSegmenter``, as a card's
``ensemble_members`` ships it), both first answers cut at 0.8 as the shipped card cuts them.

The rule, fixed before any figure was seen (2026-12-06): on the held-out sarcomas of folds 0
and 1, the ensemble is adopted if its mean DSC beats the single model's by at least 0.005 (one
more network answer per call). The sarcomas of folds 2-4, the dev lesions and the held-out
nodules are reported, never chosen on.

    python benchmarks/screens/ensemble.py --weights RUN/fold0/final ... RUN/fold4/final \\
        --members RUN_SEED1/fold0/final ... RUN_SEED1/fold4/final [--json rows.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from threshold import fold_rows, nested_groups, print_table  # noqa: E402

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.ensemble import AverageSegmenter  # noqa: E402
from algorithm.methods.network import NetworkSegmenter  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.interaction import six_point_clicks  # noqa: E402
from training.validation import dice  # noqa: E402

CUT = 0.8
CHOOSE_FOLDS = (0, 1)
MARGIN = 0.005


def cut_at(network: NetworkSegmenter, cut: float) -> NetworkSegmenter:
    return dataclasses.replace(network, card=network.card.model_copy(update={"threshold": cut}))


def fold_segmenters(first: Path, second: Path) -> dict[str, object]:
    single = cut_at(NetworkSegmenter.from_folder(first, torch.device("cpu")), CUT)
    other = cut_at(NetworkSegmenter.from_folder(second, torch.device("cpu")), CUT)
    if read_card(first).training["validation_cases"] != read_card(second).training[
            "validation_cases"]:
        raise SystemExit(f"error: {first} and {second} hold out different cases")
    ensemble = AverageSegmenter([single, other], name="network-ensemble")
    ensemble.threshold = CUT
    return {"single": single, "ensemble": ensemble}


def case_scores(vc, segmenters: dict[str, object]) -> dict[str, float]:
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0)).astype(float)
    prompt = Clicks.from_points(index_to_world(vc.image, clicks))
    return {name: dice(segment(vc.image, prompt, s, config=PipelineConfig(confidence=False))
                       .mask.astype(bool), vc.mask) for name, s in segmenters.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", nargs="+", type=Path, help="seed-0 fold models")
    source.add_argument("--from-json", nargs="+", type=Path, default=None)
    parser.add_argument("--members", nargs="+", type=Path, default=[],
                        help="the seed-1 fold models, in the same order")
    parser.add_argument("--nodules", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_json:
        rows = [r for p in args.from_json for r in json.loads(p.read_text("utf-8"))]
    else:
        if len(args.members) != len(args.weights):
            parser.error("--members needs one model per --weights model")
        cards = [read_card(w) for w in args.weights]
        segmenters = [fold_segmenters(a, b) for a, b in zip(args.weights, args.members)]
        rows = fold_rows(cards, args.nodules, lambda vc, k: case_scores(vc, segmenters[k]),
                         args.json)
    groups = nested_groups(rows, CHOOSE_FOLDS)
    choose, sarcomas = groups[0][1], [r for r in rows if r["cohort"] == "sarcomas"]
    print(f"\nDSC mean (six clicks, seed 0, held-out patients, first answers cut at {CUT})")
    print_table("answer", [("one model (seed 0)", "single"), ("two-model ensemble", "ensemble")],
                groups)
    gain = float(np.mean([r["ensemble"] - r["single"] for r in choose]))
    worse = sum(r["ensemble"] < r["single"] - 0.01 for r in sarcomas)
    print(f"\nensemble against one model on the choosing folds: {gain:+.4f}; adopted: "
          f"{gain >= MARGIN} (margin {MARGIN}); sarcoma images more than 0.01 worse with it: "
          f"{worse} of {len(sarcomas)}")


if __name__ == "__main__":
    main()
