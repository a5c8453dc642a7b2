"""Screening: does averaging the network over mirrored inputs (nnU-Net's test-time mirroring,
the model card's ``test_time_flips``) pay on the sarcoma model? (Issue 17; on v2 it did not:
docs/model_report.md.)

Each held-out case (six clicks, seed 0, the fold model that never saw its patient) is segmented
twice, without and with the flips (the input flipped along each axis in turn, four forward
passes, probabilities averaged); each probability is cut at 0.5 and at the shipped first-answer
cut 0.8 and cleaned up as the pipeline cleans it. The rule, fixed before any figure was seen:
among the four (flips, cut) pairs, the one with the highest mean over the dev lesions and
held-out nodules is chosen; flips are adopted only if that pair uses them and beats the best
pair without them by at least 0.003 (the 8-epoch screen's margin of 0.001 was noise). The
sarcomas are reported, never chosen on. Seconds per ``segment`` call are printed beside.

    python benchmarks/screens/test_time_flips.py --weights RUN/fold0/final ... RUN/fold4/final
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from threshold import (  # noqa: E402
    dsc_per_threshold, held_out_cases, print_table, report_groups, screen_arguments,
)

from algorithm.methods.network import NetworkSegmenter  # noqa: E402
from training.validation import load_validation_cases  # noqa: E402

CUTS = (0.5, 0.8)
MARGIN = 0.003


def with_flips(segmenter: NetworkSegmenter) -> NetworkSegmenter:
    """The same network and weights, its card asking for the flips."""
    return dataclasses.replace(
        segmenter, card=segmenter.card.model_copy(update={"test_time_flips": True}))


def main() -> None:
    args, cards = screen_arguments(__doc__)
    plain = [NetworkSegmenter.from_folder(w, torch.device("cpu")) for w in args.weights]
    variants = {"no flips": plain, "flips": [with_flips(s) for s in plain]}
    rows = []
    for cohort, case, k in held_out_cases(cards, args.nodules):
        vc = load_validation_cases([case])[0]
        row = {"cohort": cohort, "modality": case.modality}
        for name, segmenters in variants.items():
            dsc, seconds = dsc_per_threshold(vc, segmenters[k], CUTS)
            row.update({(name, cut): d for cut, d in dsc.items()})
            row[(name, "s")] = seconds
        rows.append(row)
        print(cohort, case.case_id, " ".join(
            f"{n}@{c}: {row[(n, c)]:.3f}" for n in variants for c in CUTS),
            " ".join(f"{n} {row[(n, 's')]:.2f} s" for n in variants), flush=True)
    groups = report_groups(rows)
    selection = groups[0][1]
    pairs = [(n, c) for n in variants for c in CUTS]
    mean = {p: float(np.mean([r[p] for r in selection])) for p in pairs}
    best = max(pairs, key=mean.get)
    best_plain = max((p for p in pairs if p[0] == "no flips"), key=mean.get)
    adopted = best[0] == "flips" and mean[best] >= mean[best_plain] + MARGIN
    print("\nDSC mean (six clicks, seed 0, held-out patients)")
    print_table("variant, cut", [(f"{p[0]}, {p[1]}" + (" (best)" if p == best else ""), p)
                                 for p in pairs], groups)
    for name in variants:
        print(f"median seconds per segment call, {name}: "
              f"{np.median([r[(name, 's')] for r in rows]):.2f}")
    print(f"flips adopted: {adopted} (best {best}, {mean[best]:.4f}; best without flips "
          f"{best_plain}, {mean[best_plain]:.4f}; margin needed {MARGIN})")


if __name__ == "__main__":
    main()
