"""Screening: how far do strokes say the lesion reaches? (Issue 18: one tumour and one background
scribble gave sarcomas a DSC of 0.11 with either method.)

Two rules for the extent of scribbles, each scored with the classical method (no weights, so no
fold model is needed) on the issue's protocol: one tumour and one background stroke on the
largest axial slice (``training.prompt_simulation.validation_prompt("scribbles")``, seed 0):

* ``tumour``: the tumour strokes alone (the rule before 2026-12-04);
* ``drawn``: the tumour and the background strokes (``algorithm.prompts.lines.scribble_facts``
  now), the lesion lying between a short stroke inside it and the background drawn around it.

The rule, fixed before any figure was seen: CHOSEN on the dev lesions, REPORTED on the sarcomas.

    python benchmarks/screens/stroke_extent.py [--manifest M ...] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import algorithm.prompts.seeds as seeds_module  # noqa: E402
from algorithm.methods.classical import GeodesicSegmenter  # noqa: E402
from algorithm.pipeline import segment  # noqa: E402
from algorithm.prompts.facts import ExtentPiece, PromptFacts  # noqa: E402
from algorithm.prompts.lines import scribble_facts  # noqa: E402
from training.datasets import read_manifest  # noqa: E402
from training.prompt_simulation import validation_prompt  # noqa: E402
from training.validation import dice, load_validation_cases  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MANIFESTS = (DATA / "dev-lesions/manifest.json", DATA / "sts-train/manifest.json")


def tumour_strokes_only(image, scribbles) -> PromptFacts:
    """The earlier rule: the extent of the tumour strokes alone."""
    facts = scribble_facts(image, scribbles)
    if not len(facts.tumour):
        return facts
    return PromptFacts(tumour=facts.tumour, background=facts.background, extent=(
        ExtentPiece.of(facts.tumour.min(axis=0), facts.tumour.max(axis=0), False),))


RULES = {"tumour": tumour_strokes_only, "drawn": scribble_facts}


def score(manifest: Path, rule: str) -> list[tuple[str, str, float, float]]:
    """(case, modality, DSC, volume ratio) per case."""
    seeds_module.scribble_facts = RULES[rule]
    try:
        rows = []
        for case in read_manifest(manifest):
            vc = load_validation_cases([case])[0]
            prompt = validation_prompt("scribbles", vc.mask, vc.image, np.random.default_rng(0))
            mask = segment(vc.image, prompt, GeodesicSegmenter()).mask.astype(bool)
            rows.append((case.case_id, case.modality, dice(mask, vc.mask),
                         float(mask.sum() / max(vc.mask.sum(), 1))))
        return rows
    finally:
        seeds_module.scribble_facts = scribble_facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, nargs="+", default=list(MANIFESTS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| cohort | rule | n | DSC mean ± SD | CT | MR | median volume / reference |")
    print("|---|---|---|---|---|---|---|")
    for manifest in args.manifest:
        for rule in RULES:
            rows = score(manifest, rule)
            d = np.array([r[2] for r in rows])
            by = {m: np.mean([r[2] for r in rows if r[1] == m] or [np.nan]) for m in ("CT", "MR")}
            print(f"| {manifest.parent.name} | {rule} | {len(rows)} | {d.mean():.3f} ± "
                  f"{d.std(ddof=1):.3f} | {by['CT']:.3f} | {by['MR']:.3f} | "
                  f"{np.median([r[3] for r in rows]):.2f} |", flush=True)


if __name__ == "__main__":
    main()
