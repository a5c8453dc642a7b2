"""Screening: can the network tell clicks on the tumour's boundary from clicks at the protocol's
depth (5 voxels inside, 1 on thick-slice axes), so that a user who clicked on the boundary is told
to say so (``--clicks-on-boundary``)? (Issue 22, point 1.)

For each held-out case (six clicks, seed 0), both click depths are simulated, and each click set
is segmented under both readings: as given (protocol) and moved inward (``clicks_on_boundary``).
The rule, fixed before any figure was seen: the reading whose probability map has the higher
expected DSC (``algorithm.confidence.expected_dice``) is taken to be the user's. Reported: how
often that guess is right for each kind of click, and the DSC of acting on it against always
assuming the protocol.

    python benchmarks/screens/click_depth.py --weights RUN/fold0/final ... RUN/fold4/final \
        [--cohort sarcomas|dev] [--json rows.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from confidence import cohort_cases  # noqa: E402  (benchmarks/screens is on sys.path)

from algorithm.confidence import expected_dice  # noqa: E402
from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.select import make_segmenter  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.cross_validation import assign_fold_models  # noqa: E402
from training.interaction import six_point_clicks  # noqa: E402
from training.validation import dice, load_validation_cases  # noqa: E402

DEPTHS = {"protocol": (5, 1), "boundary": (0, 0)}  #: inward voxels (fine, thick-slice axes)


def readings(vc, segmenter, depth: str) -> dict:
    inward, thick = DEPTHS[depth]
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0), inward=inward,
                              inward_thick=thick).astype(float)
    prompt = Clicks.from_points(index_to_world(vc.image, clicks))
    out = {}
    for reading, on_boundary in (("protocol", False), ("boundary", True)):
        r = segment(vc.image, prompt, segmenter,
                    config=PipelineConfig(clicks_on_boundary=on_boundary))
        out[f"{depth}_as_{reading}_dsc"] = dice(r.mask.astype(bool), vc.mask)
        out[f"{depth}_as_{reading}_ed"] = expected_dice(r.probability, r.mask[r.region])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", required=True, type=Path)
    parser.add_argument("--cohort", choices=("sarcomas", "dev"), default="sarcomas")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cards = [read_card(w) for w in args.weights]
    segmenters = [make_segmenter("auto", w, "cpu") for w in args.weights]
    cases = cohort_cases(args.cohort, cards, 0)
    rows = []
    for case, k in zip(cases, assign_fold_models(cases, cards)):
        vc = load_validation_cases([case])[0]
        row = {"case": case.case_id, "modality": case.modality}
        for depth in DEPTHS:
            row.update(readings(vc, segmenters[k], depth))
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in row.items()}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"\n{args.cohort}: {len(rows)} held-out cases, six clicks, seed 0")
    print("| clicks placed | guessed right | DSC, read as protocol | DSC, read as boundary "
          "| DSC, reading guessed |")
    print("|---|---|---|---|---|")
    for depth in DEPTHS:
        guess = [("boundary" if r[f"{depth}_as_boundary_ed"] > r[f"{depth}_as_protocol_ed"]
                  else "protocol") for r in rows]
        right = sum(g == depth for g in guess)
        acted = [r[f"{depth}_as_{g}_dsc"] for r, g in zip(rows, guess)]
        print(f"| {depth} | {right}/{len(rows)} | "
              f"{np.mean([r[f'{depth}_as_protocol_dsc'] for r in rows]):.3f} | "
              f"{np.mean([r[f'{depth}_as_boundary_dsc'] for r in rows]):.3f} | "
              f"{np.mean(acted):.3f} |")


if __name__ == "__main__":
    main()
