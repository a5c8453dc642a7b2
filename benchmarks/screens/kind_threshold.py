"""Screening: would a box's or a RECIST line's first answer be better cut at another probability
than 0.5? (Issue 18: the multi-prompt network under-segments a box in its own plane, the
maximum axial diameter 18-21 mm short on the sarcomas of folds 0 and 1, where the box bounds it;
on those cases the reference's voxels have a median probability of 0.2-0.9 and a lower cut
recovers much of them.)

Each held-out case (the multi-prompt fold model that never saw its patient, seed 0) is given
each variant of a kind (box: one box, two orthogonal boxes; recist: the long axis, long and
short axes) and segmented with the pipeline once per cut, the card's ``kind_thresholds``
naming that cut for the kind: the VOI then grows where that cut's mask reaches a face, as the
product does. The rule, fixed before any figure was seen: for each kind, the cut with the
highest mean DSC over the dev lesions and held-out nodules, both variants pooled, is chosen;
it is adopted only if it beats 0.5 there by at least 0.003 (the margin of the test-time
mirroring screen). The sarcomas are reported, never chosen on.

    python benchmarks/screens/kind_threshold.py --weights RUN/fold0/final ... RUN/fold4/final \\
        [--json rows.json]

Folds can be scored apart (``--weights`` of some folds, ``--nodules`` 8 per fold given, so the
same nodules are drawn as with all five) and their rows tabulated together:
``--from-json rows01.json rows234.json``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from threshold import held_out_cases, print_table, report_groups, screen_arguments  # noqa: E402

from algorithm.methods.base import GridCase  # noqa: E402
from algorithm.methods.network import NetworkSegmenter  # noqa: E402
from algorithm.pipeline import PipelineConfig, segment  # noqa: E402
from training.validation import dice, first_prompt, load_validation_cases  # noqa: E402

CUTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
VARIANTS = {"box": ("box", "box-2"), "recist": ("recist-long", "recist-long-short")}
MARGIN = 0.003


def input_key(case: GridCase) -> str:
    """A digest of everything ``NetworkSegmenter.predict`` reads from a grid case."""
    h = hashlib.sha256()
    seeds = case.seeds
    for a in (case.image, case.positive, case.negative, case.spacing, case.previous_mask,
              *((seeds.tumour, seeds.background, seeds.weak_tumour) if seeds else ())):
        h.update(b"-" if a is None else str((a.shape, a.dtype)).encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@dataclasses.dataclass
class MemoisedNetwork(NetworkSegmenter):
    """The fold network, each distinct input predicted once: a case's cuts share the
    probability until a cut's mask grows the VOI (then the input differs and is predicted)."""

    memo: dict = dataclasses.field(default_factory=dict)

    def predict(self, case: GridCase) -> np.ndarray:
        key = input_key(case)
        if key not in self.memo:
            self.memo[key] = super().predict(case)
        return self.memo[key].copy()


def cut_for(segmenter: NetworkSegmenter, kind: str, cut: float) -> NetworkSegmenter:
    """The same network and weights, its card cutting first answers of ``kind`` at ``cut``."""
    return dataclasses.replace(segmenter, card=segmenter.card.model_copy(
        update={"kind_thresholds": {kind: cut}}))


def case_scores(vc, segmenter: NetworkSegmenter) -> tuple[dict, float]:
    """{(variant, cut): DSC} of one case, and the median seconds of a ``segment`` call (most
    calls reuse a memoised prediction: this is not the product's latency)."""
    scores, seconds = {}, []
    for kind, variants in VARIANTS.items():
        for variant in variants:
            _, prompt = first_prompt(vc, variant, 0)
            for cut in CUTS:
                started = time.perf_counter()
                result = segment(vc.image, prompt, cut_for(segmenter, kind, cut),
                                 config=PipelineConfig(confidence=False))
                seconds.append(time.perf_counter() - started)
                scores[(variant, cut)] = dice(result.mask.astype(bool), vc.mask)
    return scores, float(np.median(seconds))


def choose(selection: list[dict], kind: str) -> tuple[float, dict[float, float], bool]:
    """(the best cut, the pooled mean per cut, adopted) on the selection cohorts."""
    mean = {c: float(np.mean([r[(v, c)] for r in selection for v in VARIANTS[kind]]))
            for c in CUTS}
    best = max(CUTS, key=mean.get)
    return best, mean, best != 0.5 and mean[best] >= mean[0.5] + MARGIN


def score_rows(args, cards) -> list[dict]:
    segmenters = [MemoisedNetwork.from_folder(w, torch.device("cpu")) for w in args.weights]
    rows = []
    for cohort, case, k in held_out_cases(cards, args.nodules):
        segmenters[k].memo.clear()
        scores, seconds = case_scores(load_validation_cases([case])[0], segmenters[k])
        rows.append({"cohort": cohort, "case": case.case_id, "modality": case.modality,
                     "seconds": seconds, **scores})
        print(cohort, case.case_id, " ".join(
            f"{v}@{c}: {d:.3f}" for (v, c), d in scores.items() if c in (0.3, 0.5)),
            f"{seconds:.2f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(
            [{json_key(k): v for k, v in r.items()} for r in rows], indent=1), encoding="utf-8")
    return rows


def json_key(key: str | tuple[str, float]) -> str:
    """A row key as ``--json`` writes it: (variant, cut) becomes ``variant@cut``."""
    return key if isinstance(key, str) else f"{key[0]}@{key[1]}"


def row_key(key: str) -> str | tuple[str, float]:
    """``json_key`` undone."""
    variant, at, cut = key.partition("@")
    return (variant, float(cut)) if at else key


def read_rows(paths: list[Path]) -> list[dict]:
    """Rows that ``--json`` wrote, their (variant, cut) keys restored."""
    return [{row_key(k): v for k, v in row.items()}
            for path in paths for row in json.loads(path.read_text(encoding="utf-8"))]


def main() -> None:
    args, cards = screen_arguments(__doc__, json_rows=True)
    rows = read_rows(args.from_json) if args.from_json else score_rows(args, cards)
    groups = report_groups(rows)
    for kind, variants in VARIANTS.items():
        best, mean, adopted = choose(groups[0][1], kind)
        for variant in variants:
            print(f"\n{variant}: DSC mean per first-answer cut (seed 0, held-out patients)")
            print_table("cut", [(f"{c}" + (" (chosen)" if adopted and c == best else ""),
                                 (variant, c)) for c in CUTS], groups)
        print(f"{kind}: best cut {best} ({mean[best]:.4f} pooled over {', '.join(variants)} "
              f"against {mean[0.5]:.4f} at 0.5); adopted: {adopted} (margin {MARGIN})")
    print(f"median seconds per segment call: {np.median([r['seconds'] for r in rows]):.2f}")


if __name__ == "__main__":
    main()
