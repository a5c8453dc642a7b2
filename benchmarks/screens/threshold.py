"""Screening: does the network over-grow, and would another probability threshold mend it?
(Issue 17: the shipped model's volume bias is +106 ml on CT and +159 ml on T1 sarcomas.)

Each held-out case (six clicks, seed 0, the fold model that never saw its patient) is segmented
once; its probability is then cut at each threshold and cleaned up as the pipeline cleans the
0.5 cut (components at the clicks, holes filled, clicked voxels as clicked). The rule, fixed
before any figure was seen: the threshold is CHOSEN on the dev lesions and held-out nodules and
REPORTED on the sarcomas.

    python benchmarks/screens/threshold.py --weights RUN/fold0/final ... RUN/fold4/final
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from confidence import cohort_cases  # noqa: E402  (benchmarks/screens is on sys.path)

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.select import make_segmenter  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.postprocessing import postprocess  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.cross_validation import assign_fold_models  # noqa: E402
from training.interaction import six_point_clicks  # noqa: E402
from training.validation import dice, load_validation_cases  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SELECTION, REPORTED = ("dev", "nodules"), "sarcomas"


def dsc_per_threshold(vc, segmenter, thresholds=THRESHOLDS) -> tuple[dict[float, float], float]:
    """DSC of the case's six-click answer cut at each threshold, and the seconds ``segment``
    took."""
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0)).astype(float)
    started = time.perf_counter()
    result = segment(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)), segmenter,
                     config=PipelineConfig(confidence=False))
    seconds = time.perf_counter() - started
    start = np.asarray([s.start for s in result.region], dtype=float)
    out = {}
    for t in thresholds:
        mask = np.zeros(vc.mask.shape, dtype=bool)
        mask[result.region] = postprocess(result.probability > t, clicks - start,
                                          np.zeros((0, 3)))
        out[t] = dice(mask, vc.mask)
    return out, seconds


def held_out_cases(cards, nodules: int):
    """(cohort, case, index of the fold model that never saw its patient), selection cohorts
    first, then the reported one."""
    for cohort in (*SELECTION, REPORTED):
        cases = cohort_cases(cohort, cards, nodules)
        for case, k in zip(cases, assign_fold_models(cases, cards)):
            yield cohort, case, k


def fold_rows(cards, nodules: int, score, json_path: Path | None = None) -> list[dict]:
    """One row per held-out case: its cohort, id, modality, the fold that held it out and
    ``score(validation case, index of that fold's model)``'s {name: DSC}; printed as they come,
    written to ``json_path`` at the end."""
    folds = [card.training["config"]["fold"] for card in cards]
    rows = []
    for cohort, case, k in held_out_cases(cards, nodules):
        scores = score(load_validation_cases([case])[0], k)
        rows.append({"cohort": cohort, "case": case.case_id, "modality": case.modality,
                     "fold": folds[k], **scores})
        print(cohort, case.case_id, folds[k], " ".join(f"{n}: {d:.3f}" for n, d in scores.items()),
              flush=True)
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return rows


def nested_groups(rows: list[dict], choose_folds) -> list[tuple[str, list[dict]]]:
    """The columns of a screen that chooses on the sarcomas some folds held out (first) and
    reports the other folds' sarcomas per modality, the dev lesions and the nodules."""
    sarcomas = [r for r in rows if r["cohort"] == "sarcomas"]
    choose = [r for r in sarcomas if r["fold"] in choose_folds]
    report = [r for r in sarcomas if r["fold"] not in choose_folds]
    folds = ", ".join(str(f) for f in choose_folds)
    return [(f"sarcomas of folds {folds} (choose)", choose)] + [
        (f"sarcomas, other folds, {m}", [r for r in report if r["modality"] == m])
        for m in ("CT", "MR")] + [
        (c, [r for r in rows if r["cohort"] == c]) for c in ("dev", "nodules")]


def report_groups(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """The table's columns: the selection cohorts together (first: they choose), each cohort,
    and the reported one per modality."""
    selection = [r for r in rows if r["cohort"] in SELECTION]
    return [("dev + nodules (chooses)", selection)] + [
        (c, [r for r in rows if r["cohort"] == c]) for c in (*SELECTION, REPORTED)] + [
        (f"{REPORTED} {m}", [r for r in rows if r["cohort"] == REPORTED and r["modality"] == m])
        for m in ("CT", "MR")]


def print_table(first_column: str, lines: list[tuple[str, object]],
                groups: list[tuple[str, list[dict]]]) -> None:
    """A markdown table: one line per (label, row key), the key's mean DSC per group."""
    print(f"| {first_column} | " + " | ".join(f"{g} (n={len(rs)})" for g, rs in groups) + " |")
    print("|---" * (len(groups) + 1) + "|")
    for label, key in lines:
        print(f"| {label} | " + " | ".join(f"{np.mean([r[key] for r in rs]):.3f}"
                                         for _, rs in groups) + " |")


def screen_arguments(doc: str, json_rows: bool = False):
    """(arguments, the fold models' cards) of a fold-model screen; the thread count is set.
    ``json_rows``: the screen can write its rows (``--json``) and tabulate rows written before
    (``--from-json``, instead of ``--weights``; no cards then)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True) if json_rows else parser
    source.add_argument("--weights", nargs="+", required=not json_rows, type=Path)
    if json_rows:
        source.add_argument("--from-json", nargs="+", type=Path, default=None,
                            help="only tabulate rows that earlier runs wrote (--json)")
    parser.add_argument("--nodules", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    if json_rows:
        parser.add_argument("--json", type=Path, default=None, help="write every case's scores")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args, [read_card(w) for w in args.weights or ()]


def main() -> None:
    args, cards = screen_arguments(__doc__)
    segmenters = [make_segmenter("auto", w, "cpu") for w in args.weights]
    rows = []
    for cohort, case, k in held_out_cases(cards, args.nodules):
        scores, _ = dsc_per_threshold(load_validation_cases([case])[0], segmenters[k])
        rows.append({"cohort": cohort, "modality": case.modality, **scores})
        print(cohort, case.case_id, " ".join(f"{t}: {d:.3f}" for t, d in scores.items()),
              flush=True)
    groups = report_groups(rows)
    selection = groups[0][1]
    chosen = max(THRESHOLDS, key=lambda t: np.mean([r[t] for r in selection]))
    print("\nDSC mean per threshold (six clicks, seed 0, held-out patients)")
    print_table("threshold", [(f"{t}" + (" (chosen)" if t == chosen else ""), t)
                              for t in THRESHOLDS], groups)


if __name__ == "__main__":
    main()
