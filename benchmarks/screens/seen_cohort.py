"""Screening: does a fold model fit the cohort's patients it trained on? (The training issue asks
at least 0.90 DSC on seen sarcomas before generalisation means anything.) Scores the network as
its card ships it on the cohort's cases that the card lists among its training cases, six
protocol clicks, seed 0, per modality, beside the ellipsoid.

    python benchmarks/screens/seen_cohort.py WEIGHTS [MANIFEST]
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from dev_lesions import dice  # noqa: E402

from algorithm.geometry import index_to_world  # noqa: E402
from algorithm.methods.select import make_segmenter  # noqa: E402
from algorithm.network.weights import read_card  # noqa: E402
from algorithm.pipeline import segment  # noqa: E402
from algorithm.prompts import Clicks  # noqa: E402
from training.datasets import read_manifest  # noqa: E402
from training.interaction import ellipsoid_from_clicks, six_point_clicks  # noqa: E402
from training.validation import load_validation_cases  # noqa: E402

torch.set_num_threads(2)
weights = Path(sys.argv[1])
manifest = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared/data/sts-train/manifest.json"
seen = {c["case"] for c in read_card(weights).training["cases"]}
cases = [c for c in read_manifest(manifest) if c.case_id in seen]
segmenter = make_segmenter("auto", weights, "cpu")
rows = []
for vc in load_validation_cases(cases):
    clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0)).astype(float)
    mask = segment(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)), segmenter).mask
    rows.append((vc.case.modality, dice(mask.astype(bool), vc.mask),
                 dice(ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing), vc.mask)))
    print(vc.case.case_id, f"{rows[-1][1]:.3f} ellipsoid {rows[-1][2]:.3f}", flush=True)
for modality in sorted({r[0] for r in rows}):
    rs = [r for r in rows if r[0] == modality]
    print(f"{weights} seen {modality} ({len(rs)} cases): network {np.mean([r[1] for r in rs]):.3f}"
          f" ellipsoid {np.mean([r[2] for r in rs]):.3f}")
