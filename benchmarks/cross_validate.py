"""Patient-level cross-validation on a cohort: every case scored by the fold model that never
saw its patient, beside the classical method, the six-click ellipsoid and a baseline model.

For each case and seed: six simulated protocol clicks; the shipped pipeline as the model card
configures it (``shipped``), the network alone (no classical average, no graph cut), the
classical method, the ellipsoid inscribed in the clicks, and optionally a ``--baseline`` model
(e.g. the previously shipped weights, which never saw these patients); then 1, 3 and 5
error-driven corrective clicks and one centre click with the shipped pipeline. Reported per
modality (CT, MR) or lesion size: DSC mean ± SD over cases x seeds, the cases whose mean
falls more than 0.05 below the ellipsoid, volume agreement (Pearson r, Bland-Altman bias and
limits, ml) and the bias of the maximum axial diameter (mm), with ``evaluation``'s own code.
``--prompt-kind`` scores another first prompt instead of the six clicks (an outlined slice,
three, one tumour and one background scribble, a box, two, the RECIST long axis alone or with
the short axis: ``training.prompt_simulation.VALIDATION_PROMPTS``), the corrective clicks then
joining it; the ellipsoid stays the six clicks' (no centre click is scored).

    python benchmarks/cross_validate.py --weights RUN/fold0/final ... RUN/fold4/final \
        [--manifest ../shared/data/sts-train/manifest.json] [--seeds 5] [--baseline DIR]
        [--correction-seeds 5] [--prompt-kind outlines-1] [--json rows.json]
        [--summary summary.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

# benchmarks/ is on sys.path
from dev_lesions import ROOT, dice  # noqa: I001

from algorithm.geometry import index_to_world
from algorithm.measurements import axial_diameters
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.network import NetworkSegmenter
from algorithm.methods.select import METHODS, make_segmenter
from algorithm.network.weights import read_card
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from evaluation.stats import agreement
from training.cross_validation import assign_fold_models, never_saw
from training.datasets import read_manifest
from training.interaction import centre_click, ellipsoid_from_clicks, six_point_clicks
from training.prompt_simulation import VALIDATION_PROMPTS
from training.validation import correct, first_prompt, load_validation_cases

STEPS = (1, 3, 5)
DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "sts-train" / "manifest.json"
BELOW = 0.05  #: a case this far below the ellipsoid is a failure the user must fight


def score_case(vc, shipped, network, classical, baseline, seed: int, corrections: bool,
               prompt: str = "clicks") -> dict:
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed)).astype(float)
    world = lambda idx: index_to_world(vc.image, np.asarray(idx, float).reshape(-1, 3))
    run = lambda seg, pts: segment(vc.image, Clicks.from_points(world(pts)), seg).mask.astype(bool)
    beside = None  # the first prompt of another kind, which corrective clicks join
    if prompt != "clicks":
        clicks, beside = first_prompt(vc, prompt, seed)
        run = lambda seg, _: segment(vc.image, beside, seg).mask.astype(bool)
    voxel_ml = float(np.prod(vc.spacing)) / 1000.0
    started = time.perf_counter()
    mask = run(shipped, clicks)
    out = {"seconds": time.perf_counter() - started, "shipped": dice(mask, vc.mask),
           # the same segmenter when the card ships the network alone: not run twice
           "network": dice(mask if network is shipped else run(network, clicks), vc.mask),
           "classical": dice(run(classical, clicks), vc.mask),
           "ellipsoid": dice(ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing), vc.mask),
           "volume_ml": float(mask.sum()) * voxel_ml,
           "reference_volume_ml": float(vc.mask.sum()) * voxel_ml,
           "diameter_mm": axial_diameters(mask, vc.spacing).long_mm,
           "reference_diameter_mm": axial_diameters(vc.mask, vc.spacing).long_mm}
    if baseline is not None:
        out["baseline"] = dice(run(baseline, clicks), vc.mask)
    if corrections:
        start = clicks if beside is None else np.zeros((0, 3))
        for step, corrected in enumerate(correct(vc, shipped, start, mask, max(STEPS), beside),
                                         1):
            if step in STEPS:
                out[f"shipped_{step}corr"] = dice(corrected, vc.mask)
        if beside is None:
            out["shipped_1click"] = dice(run(shipped, centre_click(vc.mask, vc.spacing)),
                                         vc.mask)
    return out


def stratum(vc, by: str) -> str:
    """The row's reporting group: the case's modality, or its lesion's size (the issue's nodule
    groups, cm^3)."""
    if by == "modality":
        return vc.case.modality
    ml = float(vc.mask.sum() * np.prod(vc.spacing)) / 1000.0
    return "< 0.5 cm3" if ml < 0.5 else "0.5-2 cm3" if ml <= 2.0 else "> 2 cm3"


def _stats(values) -> dict:
    values = np.asarray(values, float)
    sd = round(float(np.std(values, ddof=1)), 4) if values.size > 1 else None
    return {"mean": round(float(values.mean()), 4), "sd": sd, "n": int(values.size)}


def summarise(rows: list[dict], keys: list[str]) -> dict:
    """Per stratum (modality or size): DSC, failures against the ellipsoid, volume and
    diameter agreement."""
    out = {}
    for stratum in sorted({r["stratum"] for r in rows}):
        rs = [r for r in rows if r["stratum"] == stratum]
        cases = sorted({r["case"] for r in rs})
        per_case = {c: [r for r in rs if r["case"] == c] for c in cases}
        below = [c for c, v in per_case.items()
                 if np.mean([r["shipped"] for r in v]) < np.mean([r["ellipsoid"] for r in v])
                 - BELOW]
        first = [v[0] for v in per_case.values()]  # one seed per case: independent cases
        volume = agreement([r["volume_ml"] for r in first],
                           [r["reference_volume_ml"] for r in first])
        diameter = agreement([r["diameter_mm"] for r in first],
                             [r["reference_diameter_mm"] for r in first])
        out[stratum] = {
            "cases": len(cases),
            "dsc": {k: _stats([r[k] for r in rs if k in r]) for k in keys
                    if any(k in r for r in rs)},
            "below_ellipsoid": below,
            "volume": volume.model_dump(), "max_axial_diameter": diameter.model_dump(),
        }
    return out


def _mean_sd(stats: dict) -> str:
    sd = "n/a" if stats["sd"] is None else f"{stats['sd']:.3f}"
    return f"{stats['mean']:.3f} ± {sd}"


def print_tables(keys: list[str], summary: dict, prompt: str = "clicks") -> None:
    """The summary as tables: nothing is recomputed here."""
    modalities = sorted(summary)
    given = ("six protocol clicks unless named" if prompt == "clicks"
             else f"first prompt {prompt} (the ellipsoid: six protocol clicks)")
    print(f"\nDSC mean ± SD over cases x seeds; {given} "
          "(Ncorr: after N corrective clicks; 1click: one centre click)")
    print("| method | " + " | ".join(f"{m} (n={summary[m]['cases']})" for m in modalities) + " |")
    print("|---" * (len(modalities) + 1) + "|")
    for k in (k for k in keys if any(k in summary[m]["dsc"] for m in modalities)):  # scored
        cells = [_mean_sd(summary[m]["dsc"][k]) if k in summary[m]["dsc"] else ""
                 for m in modalities]
        print(f"| {k} | " + " | ".join(cells) + " |")
    for m in modalities:
        s = summary[m]
        v, d = s["volume"], s["max_axial_diameter"]
        named = ": " + ", ".join(s["below_ellipsoid"]) if s["below_ellipsoid"] else ""
        print(f"\n{m}: {len(s['below_ellipsoid'])} of {s['cases']} cases more than {BELOW} below "
              f"the ellipsoid{named}")
        r = "n/a" if v["pearson_r"] is None else f"{v['pearson_r']:.3f}"
        print(f"{m}: volume r {r}, Bland-Altman bias {v['bias']:+.1f} ml "
              f"(limits {v['loa_lower']:+.1f} to {v['loa_upper']:+.1f}); maximum axial "
              f"diameter bias {d['bias']:+.1f} mm (limits {d['loa_lower']:+.1f} to "
              f"{d['loa_upper']:+.1f}); seed 0 of each case")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", required=True, type=Path,
                        help="one model per fold (their cards say which cases each held out)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--correction-seeds", type=int, default=None,
                        help="seeds that also run corrections and the centre click "
                             "(default: all)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another model's weights, scored as it ships (it must never have "
                             "seen these patients)")
    parser.add_argument("--only", nargs="+", default=None, metavar="CASE_PREFIX")
    parser.add_argument("--held-out-only", action="store_true",
                        help="score only the cases these models held out (some folds of a "
                             "cross-validation, while the others train)")
    parser.add_argument("--by", choices=("modality", "size"), default="modality",
                        help="report per modality, or per lesion size (< 0.5, 0.5-2, > 2 cm3)")
    parser.add_argument("--prompt-kind", choices=VALIDATION_PROMPTS, default="clicks",
                        help="the first prompt scored (default: six protocol clicks)")
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="what answers as 'shipped' (and makes the corrections): the fold "
                             "model as its card configures it (auto), or e.g. classical, which "
                             "the shipped package answers outlines and scribbles with")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the per-case rows")
    parser.add_argument("--summary", type=Path, default=None, help="also write the summary")
    args = parser.parse_args()
    if not args.manifest.is_file():
        print(f"SKIPPED: no manifest at {args.manifest} (the cohort lives in ../shared)")
        return
    torch.set_num_threads(args.threads)
    cases = [c for c in read_manifest(args.manifest)
             if not args.only or c.case_id.startswith(tuple(args.only))]
    cards = [read_card(w) for w in args.weights]
    if args.held_out_only:
        held = {c for card in cards for c in card.training.get("validation_cases", [])}
        cases = [c for c in cases if c.case_id in held]
    if not cases:
        raise SystemExit("error: no case of the manifest is left to score (check --only and "
                         "--held-out-only against the models' held-out cases)")
    try:
        fold_of = assign_fold_models(cases, cards)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    baseline, baseline_version = None, None
    if args.baseline is not None:
        baseline_card = read_card(args.baseline)  # now: the folder may be overwritten later
        baseline_version = baseline_card.version
        if not never_saw(baseline_card, cases):
            raise SystemExit(f"error: --baseline {args.baseline} trained on some of these "
                             "patients")
        baseline = make_segmenter("auto", args.baseline, "cpu")
    correction_seeds = args.seeds if args.correction_seeds is None else args.correction_seeds
    classical = GeodesicSegmenter()
    rows = []
    for k, weights in enumerate(args.weights):
        shipped = make_segmenter(args.method, weights, "cpu")
        network = (shipped if isinstance(shipped, NetworkSegmenter)
                   else NetworkSegmenter.from_folder(weights, torch.device("cpu")))
        mine = [c for c, f in zip(cases, fold_of) if f == k]
        for vc in load_validation_cases(mine):
            for seed in range(args.seeds):
                rows.append({"case": vc.case.case_id, "patient": vc.case.patient_id,
                             "stratum": stratum(vc, args.by), "seed": seed,
                             "weights": cards[k].version,
                             **score_case(vc, shipped, network, classical, baseline, seed,
                                          seed < correction_seeds, args.prompt_kind)})
            own = [r for r in rows if r["case"] == vc.case.case_id]
            print(f"{vc.case.case_id:28s} {vc.case.modality} shipped "
                  f"{np.mean([r['shipped'] for r in own]):.3f} network "
                  f"{np.mean([r['network'] for r in own]):.3f} ellipsoid "
                  f"{np.mean([r['ellipsoid'] for r in own]):.3f}"
                  + (f" baseline {np.mean([r['baseline'] for r in own]):.3f}"
                     if baseline is not None else ""), flush=True)
    keys = (["shipped", "network", "classical", "ellipsoid"]
            + (["baseline"] if baseline is not None else [])
            + [f"shipped_{s}corr" for s in STEPS] + ["shipped_1click"])
    summary = summarise(rows, keys)
    print_tables(keys, summary, args.prompt_kind)
    seconds = [r["seconds"] for r in rows]
    given = "six clicks" if args.prompt_kind == "clicks" else args.prompt_kind
    answered = "" if args.method == "auto" else f", answered by --method {args.method}"
    print(f"\nshipped pipeline per case ({given}{answered}, CPU, {args.threads} threads): median "
          f"{np.median(seconds):.2f} s; seeds {args.seeds} (corrections and centre click: "
          f"{correction_seeds}); models: {', '.join(c.version for c in cards)}"
          + (f"; baseline {baseline_version}" if baseline is not None else ""))
    record = {"command": " ".join(["python", "benchmarks/cross_validate.py", *sys.argv[1:]]),
              "manifest": str(args.manifest), "seeds": args.seeds,
              "correction_seeds": correction_seeds, "method": args.method,
              **({"prompt": args.prompt_kind} if args.prompt_kind != "clicks" else {}),
              "models": [c.version for c in cards], "baseline": baseline_version,
              # the fields training.export reads to say whose figures these are
              "weights_version": " + ".join(c.version for c in cards),
              "held_out_cases": sorted({r["case"] for r in rows}), "summary": summary}
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    if args.summary:
        args.summary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
