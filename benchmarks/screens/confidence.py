"""Screening: which confidence score predicts the DSC a user will get? (Issue 19, point 5.)

Every case of each cohort is segmented from six protocol clicks (seed 0) by the fold model that
never saw its patient, as the product ships it; each score of ``algorithm.confidence`` is
computed beside the real DSC, and its Spearman correlation with the DSC is reported per cohort.
The rule, fixed before any figure was seen: the score is CHOSEN on the selection cohorts (dev
lesions and held-out lung nodules) and REPORTED on the sarcomas, so the sarcoma figure is not
the winner of a contest on the same cases. The chosen one (classical agreement) is what the
pipeline reports (``SegmentationResult.confidence``); its own row is the shipped score.

    python benchmarks/screens/confidence.py --weights RUN/fold0/final ... RUN/fold4/final \
        [--nodules 40] [--json rows.json] [--plot docs/confidence.png]
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
from scipy.stats import spearmanr  # noqa: E402

from algorithm.confidence import agreement, expected_dice, margin  # noqa: E402
from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.base import GridCase  # noqa: E402
from algorithm.methods.classical import GeodesicSegmenter  # noqa: E402
from algorithm.methods.select import make_segmenter  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.cross_validation import assign_fold_models  # noqa: E402
from training.datasets import read_manifest  # noqa: E402
from training.interaction import ellipsoid_from_clicks, six_point_clicks  # noqa: E402
from training.validation import dice, load_validation_cases  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SCORES = ("expected_dice", "margin", "flip_agreement", "classical_agreement",
          "ellipsoid_agreement", "classical_flip_mean", "agreement_mean")
#: candidates added in a second round (2026-12-04), before they were computed on any case: the
#: mean of the two agreements that ranked best on either side (the classical method's, chosen on
#: the selection cohorts, and the flipped input's), and the mean of all three agreements
SELECTION = ("dev", "nodules")
REPORTED = "sarcomas"


class Flipped:
    """A segmenter's answer to the left-right mirror image of the case, mirrored back."""

    def __init__(self, inner):
        self.inner, self.name, self.grid_size = inner, f"{inner.name}+flip", inner.grid_size

    def predict(self, case: GridCase) -> np.ndarray:
        n = case.image.shape[2] - 1.0
        mirror = lambda pts: np.asarray(pts, float).reshape(-1, 3) * [1, 1, -1] + [0, 0, n]
        lo, hi = mirror(case.voi_lo)[0], mirror(case.voi_hi)[0]
        flipped = GridCase(
            image=np.ascontiguousarray(case.image[:, :, ::-1]),
            positive=mirror(case.positive), negative=mirror(case.negative),
            voi_lo=np.minimum(lo, hi), voi_hi=np.maximum(lo, hi), spacing=case.spacing,
            previous_mask=None if case.previous_mask is None
            else np.ascontiguousarray(case.previous_mask[:, :, ::-1]))
        return np.ascontiguousarray(self.inner.predict(flipped)[:, :, ::-1])


def scores_for_case(vc, segmenter, classical, seed: int = 0) -> dict:
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed)).astype(float)
    prompt = Clicks.from_points(index_to_world(vc.image, clicks))
    result = segment(vc.image, prompt, segmenter, config=PipelineConfig(confidence=True))
    mask = result.mask.astype(bool)
    local = mask[result.region]
    flip = agreement(mask, segment(vc.image, prompt, Flipped(segmenter)).mask)
    other = agreement(mask, segment(vc.image, prompt, classical).mask)
    ellipsoid = agreement(mask, ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing))
    return {
        "dsc": dice(mask, vc.mask),
        "shipped": result.confidence,
        "expected_dice": expected_dice(result.probability, local),
        "margin": margin(result.probability, local),
        "flip_agreement": flip,
        "classical_agreement": other,
        "ellipsoid_agreement": ellipsoid,
        "classical_flip_mean": (other + flip) / 2.0,
        "agreement_mean": (other + flip + ellipsoid) / 3.0,
    }


def cohort_cases(name: str, cards, n_nodules: int):
    manifest = {"sarcomas": DATA / "sts-train/manifest.json",
                "dev": DATA / "dev-lesions/manifest.json",
                "nodules": DATA / "lidc-nodules/manifest.json"}[name]
    cases = read_manifest(manifest)
    held = {c for card in cards for c in card.training.get("validation_cases", [])}
    cases = [c for c in cases if c.case_id in held]
    if name == "nodules":  # the first held-out nodules of every fold, in manifest order
        fold_of = assign_fold_models(cases, cards)
        per_fold = max(1, n_nodules // len(cards))
        cases = [c for k in range(len(cards))
                 for c in [c for c, f in zip(cases, fold_of) if f == k][:per_fold]]
    return cases


def spearman(rows, score: str) -> tuple[float, int]:
    rho = spearmanr([r[score] for r in rows], [r["dsc"] for r in rows]).statistic
    return float(rho), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", type=Path, help="one model per fold")
    parser.add_argument("--nodules", type=int, default=40, help="held-out nodules to score")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--from-json", type=Path, default=None,
                        help="only redraw the plot from rows an earlier run wrote (--json)")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--plot-score", default=None,
                        help="the score to plot (default: the one chosen)")
    args = parser.parse_args()
    if args.from_json:
        rows = json.loads(args.from_json.read_text(encoding="utf-8"))
        plot(rows, args.plot_score or "shipped", args.plot or Path("confidence.png"))
        return
    if not args.weights:
        parser.error("--weights is required (unless --from-json)")
    torch.set_num_threads(args.threads)
    cards = [read_card(w) for w in args.weights]
    segmenters = [make_segmenter("auto", w, "cpu") for w in args.weights]
    classical = GeodesicSegmenter()
    rows = []
    for cohort in (*SELECTION, REPORTED):
        cases = cohort_cases(cohort, cards, args.nodules)
        for case, k in zip(cases, assign_fold_models(cases, cards)):
            vc = load_validation_cases([case])[0]
            row = {"cohort": cohort, "case": case.case_id, "modality": case.modality,
                   "fold_model": cards[k].version,
                   **scores_for_case(vc, segmenters[k], classical)}
            rows.append(row)
            print(f"{cohort:9s} {case.case_id:28s} dsc {row['dsc']:.3f} "
                  + " ".join(f"{s} {row[s]:.3f}" for s in SCORES), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    selection = [r for r in rows if r["cohort"] in SELECTION]
    chosen = max(SCORES, key=lambda s: spearman(selection, s)[0])
    print("\nSpearman correlation of each score with the real DSC (six clicks, seed 0, "
          "held-out patients)")
    groups = [("selection (dev + nodules)", selection)] + [
        (f"{c}", [r for r in rows if r["cohort"] == c]) for c in (*SELECTION, REPORTED)] + [
        (f"{REPORTED} {m}", [r for r in rows if r["cohort"] == REPORTED and r["modality"] == m])
        for m in ("CT", "MR")]
    print("| score | " + " | ".join(f"{g} (n={len(rs)})" for g, rs in groups) + " |")
    print("|---" * (len(groups) + 1) + "|")
    for s in SCORES:
        mark = " (chosen)" if s == chosen else ""
        print(f"| {s}{mark} | " + " | ".join(f"{spearman(rs, s)[0]:.2f}" for _, rs in groups)
              + " |")
    if all(r["shipped"] is not None for r in rows):  # the pipeline's own score, as it ships
        print("| confidence as the pipeline reports it (classical agreement on the network's "
              "final grid) | " + " | ".join(f"{spearman(rs, 'shipped')[0]:.2f}"
                                            for _, rs in groups) + " |")
    print(f"\nchosen on the selection cohorts: {chosen}; models: "
          + ", ".join(c.version for c in cards))
    if args.plot:
        plot(rows, args.plot_score or chosen, args.plot)


def plot(rows, score: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.4), dpi=120)
    styles = {"sarcomas": ("o", "tab:red"), "dev": ("s", "tab:blue"), "nodules": ("^", "tab:green")}
    for cohort, (marker, colour) in styles.items():
        rs = [r for r in rows if r["cohort"] == cohort]
        if rs:
            rho = spearman(rs, score)[0]
            ax.scatter([r[score] for r in rs], [r["dsc"] for r in rs], marker=marker, s=18,
                       color=colour, alpha=0.8, label=f"{cohort} (n={len(rs)}, ρ={rho:.2f})")
    label = ("as the pipeline reports it: DSC with the classical answer" if score == "shipped"
             else score)
    ax.set_xlabel(f"confidence ({label})")
    ax.set_ylabel("real DSC (held-out patients)")
    ax.set_title("Confidence against the DSC the user gets", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
