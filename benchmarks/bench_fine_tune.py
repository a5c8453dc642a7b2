"""Image-specific fine-tuning (``--fine-tune SECONDS``): DSC gain against seconds spent, per case.

Every case is scored by the fold model that never saw its patient (as
``benchmarks/cross_validate.py``), for three moments of a session: after two scribbles (one
tumour, one background stroke on the largest slice), and after 1 and 3 error-driven corrective
clicks following the six protocol clicks (the corrections themselves untuned; the tuning runs
on the last step, with the previous mask, as a user would ask for it). For each budget the
gain is the tuned pipeline's DSC minus the untuned one's on the same prompts. Budgets are
wall-clock seconds: run it alone on the machine, or the copy gets fewer steps per second.

    python benchmarks/bench_fine_tune.py --weights RUN/fold{0,1,2,3,4}/final \
        [--manifest ../shared/data/sts-train/manifest.json] [--budgets 2 5 10 20] \
        [--limit N] [--threads 2] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

# benchmarks/ is on sys.path
from dev_lesions import ROOT, dice  # noqa: I001

from algorithm.geometry import index_to_world
from algorithm.methods.select import make_segmenter
from algorithm.network.weights import read_card
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from training.cross_validation import assign_fold_models
from training.datasets import read_manifest
from training.interaction import append_click, corrective_click, six_point_clicks
from training.validation import first_prompt, load_validation_cases

DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "sts-train" / "manifest.json"
MOMENTS = ("scribbles", "clicks+1", "clicks+3")


def moments(vc, segmenter, seed: int = 0):
    """(name, prompts, previous mask image or None) for each moment of the session."""
    _, scribbles = first_prompt(vc, "scribbles", seed)
    yield "scribbles", scribbles, None
    world = lambda pts: index_to_world(vc.image, np.asarray(pts, float).reshape(-1, 3))
    positive = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed)).astype(float)
    negative = np.zeros((0, 3))
    mask = segment(vc.image, Clicks.from_points(world(positive)), segmenter).mask
    for step in range(1, 4):
        click = corrective_click(mask.astype(bool), vc.mask, vc.spacing)
        if click is not None:
            positive, negative = append_click(positive, negative, click)
        previous = sitk.GetImageFromArray(mask.astype(np.uint8))
        previous.CopyInformation(vc.image)
        clicks = Clicks.from_points(world(positive), world(negative) if len(negative) else None)
        if step in (1, 3):
            yield f"clicks+{step}", clicks, previous
        mask = segment(vc.image, clicks, segmenter, previous_mask=previous).mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", required=True, type=Path)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--budgets", nargs="+", type=float, default=[2.0, 5.0, 10.0, 20.0])
    parser.add_argument("--limit", type=int, default=None,
                        help="score the first N held-out cases (in manifest order) only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not args.manifest.is_file():
        print(f"SKIPPED: no manifest at {args.manifest} (the cohort lives in ../shared)")
        return
    torch.set_num_threads(args.threads)
    cards = [read_card(w) for w in args.weights]
    held = {c for card in cards for c in card.training.get("validation_cases", [])}
    cases = [c for c in read_manifest(args.manifest) if c.case_id in held][:args.limit]
    fold_of = assign_fold_models(cases, cards)
    rows = []
    for k, weights in enumerate(args.weights):
        segmenter = make_segmenter("network", weights, "cpu")
        for vc in load_validation_cases([c for c, f in zip(cases, fold_of) if f == k]):
            for name, prompts, previous in moments(vc, segmenter):
                base = dice(segment(vc.image, prompts, segmenter, previous_mask=previous).mask,
                            vc.mask)
                row = {"case": vc.case.case_id, "modality": vc.case.modality, "moment": name,
                       "dsc": base, "weights": cards[k].version}
                for budget in args.budgets:
                    config = replace(PipelineConfig(), fine_tune_seconds=budget)
                    started = time.perf_counter()
                    result = segment(vc.image, prompts, segmenter, previous_mask=previous,
                                     config=config)
                    row[f"gain_{budget:g}s"] = dice(result.mask, vc.mask) - base
                    row[f"kept_{budget:g}s"] = result.fine_tune.kept
                    row[f"steps_{budget:g}s"] = result.fine_tune.steps
                    row[f"seconds_{budget:g}s"] = time.perf_counter() - started
                rows.append(row)
                gains = " ".join(f"{row[f'gain_{b:g}s']:+.3f}({row[f'kept_{b:g}s'][0]})"
                                 for b in args.budgets)
                print(f"{vc.case.case_id:24s} {name:10s} DSC {base:.3f} gain {gains}",
                      flush=True)
    print("\nDSC gain of fine-tuning (tuned minus untuned, same prompts), mean over cases; "
          "worse: cases losing more than 0.02, and the largest loss")
    print("| moment | untuned DSC | " + " | ".join(f"{b:g} s" for b in args.budgets) + " |")
    print("|---|---|" + "---|" * len(args.budgets))
    for name in MOMENTS:
        mine = [r for r in rows if r["moment"] == name]
        if not mine:
            continue
        cells = []
        for b in args.budgets:
            gains = np.array([r[f"gain_{b:g}s"] for r in mine])
            kept = sum(r[f"kept_{b:g}s"] == "tuned" for r in mine)
            steps = np.median([r[f"steps_{b:g}s"] for r in mine])
            cells.append(f"{gains.mean():+.3f} ({(gains < -0.02).sum()} worse, min "
                         f"{gains.min():+.3f}; tuned kept {kept}/{len(mine)}; {steps:.0f} steps)")
        print(f"| {name} (n={len(mine)}) | {np.mean([r['dsc'] for r in mine]):.3f} | "
              + " | ".join(cells) + " |")
    print(f"\n{len(cases)} cases, models {', '.join(c.version for c in cards)}; "
          f"{torch.get_num_threads()} threads; command: python {' '.join(sys.argv)}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
