"""DSC after corrective clicks placed at the suggestions against error-driven ones (issue #20).

For each held-out dev case of the given model(s) and each seed: six simulated clicks (reference
protocol), then N corrective clicks two ways, each fed back with the previous mask as the
product does:

- suggested: the click goes where ``algorithm.suggestion`` points (it needs no reference); the
  simulated user labels it from the reference (tumour inside it, background outside);
- error-driven: the deepest voxel of the largest error (``training.validation.correct``), which
  needs the reference, so an upper bound for a user who sees every error.

Also the share of suggestions that fell on a wrong voxel of the mask they were made for (a
suggestion on a right voxel changes little).

    python benchmarks/bench_suggested_clicks.py [--seeds 3] [--steps 3] [--weights W ...]
        [--only PREFIX ...] [--smooth-mm 2] [--band-mm 5] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from dev_lesions import dice, held_out_cases, print_group_table  # noqa: I001  (benchmarks/ is on sys.path)

from algorithm.geometry import index_to_world
from algorithm.methods.select import make_segmenter
from algorithm.network.weights import PACKAGE_WEIGHTS_DIR
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from algorithm.suggestion import SuggestionConfig, suggest_click
from training.interaction import append_click, six_point_clicks
from training.validation import correct, load_validation_cases


def suggested(vc, segmenter, clicks: np.ndarray, steps: int, config: SuggestionConfig
              ) -> tuple[list[float], list[bool]]:
    """DSC after each suggested click, and whether each suggestion lay on a wrong voxel."""
    positive, negative = np.asarray(clicks, float).reshape(-1, 3), np.zeros((0, 3))
    result = segment(vc.image, Clicks.from_points(index_to_world(vc.image, positive)), segmenter)
    scores, on_error = [], []
    for _ in range(steps):
        suggestion = suggest_click(result, vc.image, config)
        if suggestion is not None:
            inside = bool(vc.mask[suggestion.index_zyx])
            on_error.append(inside != bool(result.mask[suggestion.index_zyx]))
            positive, negative = append_click(positive, negative,
                                              (np.asarray(suggestion.index_zyx, float), inside))
            previous = sitk.GetImageFromArray(result.mask)
            previous.CopyInformation(vc.image)
            result = segment(vc.image, Clicks.from_points(
                index_to_world(vc.image, positive),
                index_to_world(vc.image, negative) if len(negative) else None),
                segmenter, previous_mask=previous)
        scores.append(dice(result.mask, vc.mask))
    return scores, on_error


def run_case(vc, segmenter, seed: int, steps: int, config: SuggestionConfig) -> dict:
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed)).astype(float)
    first = segment(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)), segmenter)
    row = {"first": dice(first.mask, vc.mask)}
    by_suggestion, on_error = suggested(vc, segmenter, clicks, steps, config)
    by_error = [dice(m, vc.mask) for m in correct(vc, segmenter, clicks, first.mask, steps)]
    for step in range(1, steps + 1):
        row[f"suggested_{step}"] = by_suggestion[step - 1]
        row[f"error_driven_{step}"] = by_error[step - 1]
    row["suggestions_on_errors"] = int(sum(on_error))
    row["suggestions"] = len(on_error)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--weights", nargs="+", default=[str(PACKAGE_WEIGHTS_DIR)],
                        help="one model, or one per cross-validation fold")
    parser.add_argument("--only", nargs="+", default=None, metavar="PREFIX",
                        help="only the held-out cases whose id starts so")
    parser.add_argument("--smooth-mm", type=float, default=SuggestionConfig.smooth_mm)
    parser.add_argument("--band-mm", type=float, default=SuggestionConfig.band_mm)
    parser.add_argument("--json", default=None, help="also write the per-case rows here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = SuggestionConfig(smooth_mm=args.smooth_mm, band_mm=args.band_mm)
    rows = []
    for weights in args.weights:
        _, fold_cases = held_out_cases(Path(weights))
        if args.only:
            fold_cases = [c for c in fold_cases if c.case_id.startswith(tuple(args.only))]
        segmenter = make_segmenter("network", Path(weights))
        for vc in load_validation_cases(fold_cases):
            for seed in range(args.seeds):
                rows.append({"case": vc.case.case_id, "group": vc.case.group, "seed": seed,
                             **run_case(vc, segmenter, seed, args.steps, config)})
                r = rows[-1]
                print(f"{vc.case.case_id:38s} seed {seed} first {r['first']:.3f} "
                      f"suggested {r[f'suggested_{args.steps}']:.3f} "
                      f"error-driven {r[f'error_driven_{args.steps}']:.3f}", flush=True)
    if not rows:
        raise SystemExit("error: no held-out case to score")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    keys = ["first"] + [f"{kind}_{s}" for kind in ("suggested", "error_driven")
                        for s in range(1, args.steps + 1)]
    print("\nDSC mean ± SD over cases x seeds (six clicks, then N corrective clicks)")
    print_group_table(rows, keys, "clicks")
    last = args.steps
    worse = sum(r[f"suggested_{last}"] < r[f"error_driven_{last}"] for r in rows)
    hits = sum(r["suggestions_on_errors"] for r in rows)
    made = sum(r["suggestions"] for r in rows)
    print(f"\nafter {last}: suggested below error-driven in {worse} of {len(rows)} case-seeds; "
          f"suggestions on a wrong voxel: {hits} of {made}")


if __name__ == "__main__":
    main()
