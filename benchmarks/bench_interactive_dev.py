"""Network vs classical vs six-click ellipsoid on held-out dev lesions, as issue #3 asks.

For each validation case of the given model (its card lists them) and each seed: six
simulated clicks (reference protocol); one centre click; then 1, 3 and 5 error-driven
corrective clicks fed back with the previous mask. DSC on the original grid; mean ± SD per group
and overall; inference time per case and peak memory of this process.

    python benchmarks/bench_interactive_dev.py [--seeds 5] [--weights algorithm/weights]
        [--graph-cut SMOOTHNESS]

Cross-validation: give one model per fold (``--weights runs/v3fold0/final runs/v3fold1/final``);
each is scored on the cases it held out, which must not overlap, and the rows are pooled.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

# benchmarks/ is on sys.path
from dev_lesions import (  # noqa: I001
    dice, graph_cut_option, held_out_cases, print_group_table, segmenters,
)

from algorithm.geometry import index_to_world
from algorithm.network.weights import PACKAGE_WEIGHTS_DIR
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import centre_click, ellipsoid_from_clicks, six_point_clicks
from training.validation import correct, load_validation_cases

STEPS = (1, 3, 5)


def run_case(vc, network, classical, combined, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    clicks = six_point_clicks(vc.mask, vc.spacing, rng).astype(float)
    world = lambda idx: index_to_world(vc.image, np.asarray(idx, dtype=float).reshape(-1, 3))
    first = lambda seg, pts: segment(vc.image, Clicks.from_points(world(pts)), seg).mask
    out: dict[str, float] = {}
    start = time.perf_counter()
    net_mask = first(network, clicks)
    out["seconds"] = time.perf_counter() - start
    out["network"] = dice(net_mask, vc.mask)
    out["classical"] = dice(first(classical, clicks), vc.mask)
    both_mask = first(combined, clicks)
    out["net+classical"] = dice(both_mask, vc.mask)
    out["ellipsoid"] = dice(ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing), vc.mask)
    centre = centre_click(vc.mask, vc.spacing).astype(float)
    out["network_1click"] = dice(first(network, centre), vc.mask)
    out["classical_1click"] = dice(first(classical, centre), vc.mask)
    for name, seg, mask in (("network", network, net_mask), ("net+classical", combined, both_mask)):
        for step, corrected in enumerate(correct(vc, seg, clicks, mask, max(STEPS)), start=1):
            if step in STEPS:
                out[f"{name}_{step}corr"] = dice(corrected, vc.mask)
    return out


def summarise(rows: list[dict], keys: list[str], seeds: int, cases, weights: list[str],
              version: str, graph_cut: float | None, options: str = "") -> dict:
    groups = sorted({r["group"] for r in rows})
    return {
        "command": ("python benchmarks/bench_interactive_dev.py --seeds "
                    f"{seeds} --weights {' '.join(weights)} --graph-cut {graph_cut or 0:g}"
                    + options),
        "weights_version": version,
        "held_out_cases": sorted(c.case_id for c in cases),
        "seeds": seeds,
        "overall": {k: {"mean": round(float(np.mean([r[k] for r in rows])), 4),
                        "sd": round(float(np.std([r[k] for r in rows])), 4)}
                    for k in ["seconds"] + keys},
        "groups": {g: {k: round(float(np.mean([r[k] for r in rows if r["group"] == g])), 4)
                       for k in keys} for g in groups},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--weights", nargs="+", default=[str(PACKAGE_WEIGHTS_DIR)],
                        help="one model, or one per cross-validation fold")
    parser.add_argument("--graph-cut", type=float, default=None, metavar="SMOOTHNESS",
                        help="regularise the network and net+classical with a graph cut "
                             "(default: as the model card says; 0: off)")
    parser.add_argument("--channel", default=None,
                        help="score multi-sequence cases on this channel where they have it "
                             "(e.g. flair; default: their first)")
    parser.add_argument("--only", nargs="+", default=None, metavar="PREFIX",
                        help="only the held-out cases whose id starts so (e.g. brats15)")
    parser.add_argument("--json", default=None, help="also write the per-case rows here")
    parser.add_argument("--summary", default=None,
                        help="also write the summary that training.export records in the card")
    args = parser.parse_args()
    torch.set_num_threads(2)
    folds = [(w, *held_out_cases(Path(w))) for w in args.weights]
    if args.only:
        folds = [(w, card, [c for c in fold_cases if c.case_id.startswith(tuple(args.only))])
                 for w, card, fold_cases in folds]
    cases = [c for _, _, fold_cases in folds for c in fold_cases]
    if not cases:
        raise SystemExit(f"error: no held-out case starts with {' or '.join(args.only)}")
    ids = [c.case_id for c in cases]
    if len(set(ids)) < len(ids):
        raise SystemExit("error: these models held out some of the same cases; give one model "
                         "per fold of one cross-validation")
    card = folds[0][1]
    graph_cut = graph_cut_option(args.graph_cut, card)
    rows = []
    for weights, fold_card, fold_cases in folds:
        if graph_cut_option(args.graph_cut, fold_card) != graph_cut:
            raise SystemExit("error: the models' cards disagree on the graph cut; set "
                             "--graph-cut")
        network, classical, combined = segmenters(Path(weights), graph_cut=graph_cut).values()
        for vc in load_validation_cases(fold_cases, args.channel):
            for seed in range(args.seeds):
                rows.append({"case": vc.case.case_id, "group": vc.case.group, "seed": seed,
                             "weights": fold_card.version,
                             **run_case(vc, network, classical, combined, seed)})
            mine = [r for r in rows if r["case"] == vc.case.case_id]
            print(f"{vc.case.case_id:38s} net {np.mean([r['network'] for r in mine]):.3f} "
                  f"cls {np.mean([r['classical'] for r in mine]):.3f} "
                  f"ell {np.mean([r['ellipsoid'] for r in mine]):.3f} "
                  f"3corr {np.mean([r['network_3corr'] for r in mine]):.3f}", flush=True)
    versions = " + ".join(fold_card.version for _, fold_card, _ in folds)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    keys = ["network", "classical", "net+classical", "ellipsoid", "network_1click",
            "classical_1click"] + [f"{m}_{s}corr" for m in ("network", "net+classical")
                                   for s in STEPS]
    print("\nDSC mean ± SD over cases x seeds; six clicks unless named "
          "(1click: one centre click; Ncorr: after N corrective clicks)")
    print_group_table(rows, keys)
    options = ((f" --channel {args.channel}" if args.channel else "")
               + (f" --only {' '.join(args.only)}" if args.only else ""))
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(summarise(rows, keys, args.seeds, cases, args.weights, versions,
                                graph_cut, options), f, indent=1)
    seconds = [r["seconds"] for r in rows]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\nnetwork inference per case (six clicks, CPU, {torch.get_num_threads()} threads): "
          f"median {np.median(seconds):.2f} s, max {max(seconds):.2f} s; "
          f"peak memory of this process {peak:.2f} GiB")
    print(f"weights: {' + '.join(args.weights)} ({versions}); graph cut: {graph_cut or 'off'}; "
          f"held-out cases: {len(cases)}; channel: {args.channel or 'first'}")


if __name__ == "__main__":
    main()
