"""Active learning, simulated (issue 20): do the cases the model is least sure of teach it more
than cases picked at random?

A site starts from a model that never saw its tumour type (``--start``: v3 never saw a sarcoma)
and has a pool of unannotated cases. The sarcoma patients are split by patient as training
splits them (``training.datasets.patient_split``, 5 folds): fold ``--test-fold``'s patients
are the test set, the others' cases the pool.

1. Every pool case is segmented by the start model from six protocol clicks (seed 0) and scored
   by the confidence the product reports (``SegmentationResult.confidence``).
2. For each K: the K least-confident pool cases (what ``lesionseg rank`` would put first), and K
   cases drawn at random (``--draws`` draws), each set continuing the start model briefly with
   ``python -m training.train`` (the same one command a site runs on its saved folder), and the
   test patients are scored with six clicks (``--seeds``) by the result.

Same steps and samples for every set (one ``--seed``), so the sets differ only in which cases
they hold. Prints a Markdown table; ``--json`` keeps every row.

    python benchmarks/active_learning.py --start ../v3 --work ../runs/active_learning
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.select import make_segmenter  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.datasets import Case, patient_split, read_manifest  # noqa: E402
from training.interaction import six_point_clicks  # noqa: E402
from training.validation import dice, load_validation_cases, validate  # noqa: E402

SARCOMAS = ROOT.parent / "shared" / "data" / "sts-train" / "manifest.json"


def confidence_of(segmenter, vc) -> tuple[float, float]:
    """(confidence, real DSC) of the start model's answer to six protocol clicks, seed 0."""
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0)).astype(float)
    result = segment(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)), segmenter,
                     config=PipelineConfig(confidence=True))
    return float(result.confidence), dice(result.mask.astype(bool), vc.mask)


def subset_manifest(cases: list[Case], records: dict[str, dict], path: Path) -> Path:
    """A manifest of ``cases`` with absolute file paths (read_manifest keeps those)."""
    entries = []
    for case in cases:
        entry = dict(records[case.case_id])
        entry["images"] = {name: str(p.resolve()) for name, p in
                           zip(case.channel_names, case.image_paths)}
        entry["label"] = str(case.label_path.resolve())
        entries.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=1) + "\n")
    return path


def retrain(start: Path, manifest: Path, out: Path, args) -> Path:
    """The start model continued on ``manifest`` alone; returns its final weights."""
    if not (out / "final" / "model_card.json").exists():
        command = [sys.executable, "-m", "training.train", "--manifest", str(manifest),
                   "--fold", "-1", "--init-weights", str(start.resolve()),
                   "--epochs", str(args.epochs), "--steps-per-epoch", str(args.steps_per_epoch),
                   "--lr", str(args.lr), "--synthetic-fraction", "0", "--p-refine", "0.15",
                   "--p-self-refine", "0.2", "--p-centre", "0.1", "--seed", str(args.seed),
                   "--threads", str(args.threads), "--out", str(out.resolve())]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"training on {manifest} failed: "
                             f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return out / "final"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=Path, required=True,
                        help="weights that never saw the pool's or the test set's patients")
    parser.add_argument("--work", type=Path, required=True,
                        help="folder for the subset manifests and runs (reused when rerun)")
    parser.add_argument("--manifest", type=Path, default=SARCOMAS)
    parser.add_argument("--test-fold", type=int, default=0)
    parser.add_argument("--ks", type=int, nargs="+", default=[3, 6, 9])
    parser.add_argument("--draws", type=int, default=3, help="random sets per K")
    parser.add_argument("--seeds", type=int, default=2, help="click seeds on the test patients")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps-per-epoch", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    cases = read_manifest(args.manifest)
    records = {r["case"]: r for r in json.loads(args.manifest.read_text())}
    pool, test = patient_split(cases, 5, args.test_fold)
    if set(c.patient_id for c in pool) & set(c.patient_id for c in test):
        raise SystemExit("pool and test share a patient")
    start = make_segmenter("auto", args.start)
    test_vcs = load_validation_cases(test)
    seeds = tuple(range(args.seeds))
    rows = [{"set": "start", "k": 0, "draw": None,
             "test_dsc": validate(start, test_vcs, seeds=seeds)["dsc"], "cases": []}]
    print(f"pool {len(pool)} cases, test {len(test)} cases of {len({c.patient_id for c in test})} "
          f"patients; start model on the test set: {rows[0]['test_dsc']:.3f}", flush=True)

    scored = []
    for vc in load_validation_cases(pool):
        confidence, real = confidence_of(start, vc)
        scored.append((confidence, real, vc.case))
        print(f"  pool {vc.case.case_id}: confidence {confidence:.3f}, DSC {real:.3f}", flush=True)
    ranked = [case for _, _, case in sorted(scored, key=lambda s: (s[0], s[2].case_id))]

    rng = np.random.default_rng(args.seed)
    for k in args.ks:
        sets = [("ranked", None, ranked[:k])] + [
            ("random", d, [pool[i] for i in sorted(rng.choice(len(pool), k, replace=False))])
            for d in range(args.draws)]
        for name, draw, chosen in sets:
            tag = f"k{k}_{name}" + ("" if draw is None else f"{draw}")
            manifest = subset_manifest(chosen, records, args.work / tag / "manifest.json")
            weights = retrain(args.start, manifest, args.work / tag / "run", args)
            dsc = validate(make_segmenter("auto", weights), test_vcs, seeds=seeds)["dsc"]
            rows.append({"set": name, "k": k, "draw": draw, "test_dsc": dsc,
                         "cases": [c.case_id for c in chosen]})
            print(f"K={k} {name}{'' if draw is None else ' ' + str(draw)}: test DSC {dsc:.3f} "
                  f"({', '.join(c.case_id for c in chosen)})", flush=True)

    print(f"\n| K | least confident first | random (mean of {args.draws}) | random draws |")
    print("|---|---|---|---|")
    for k in args.ks:
        ranked_dsc = next(r["test_dsc"] for r in rows if r["k"] == k and r["set"] == "ranked")
        randoms = [r["test_dsc"] for r in rows if r["k"] == k and r["set"] == "random"]
        print(f"| {k} | {ranked_dsc:.3f} | {np.mean(randoms):.3f} | "
              f"{', '.join(f'{d:.3f}' for d in randoms)} |")
    print(f"start model (K = 0): {rows[0]['test_dsc']:.3f}; Spearman of the pool's confidence "
          f"with its DSC: {_spearman([s[0] for s in scored], [s[1] for s in scored]):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "pool": [
            {"case": c.case_id, "confidence": conf, "dsc": real} for conf, real, c in scored]},
            indent=1) + "\n")
    return 0


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


if __name__ == "__main__":
    raise SystemExit(main())
