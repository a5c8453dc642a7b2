"""Screening: how the shipped combination copes with clicks nearer or deeper than the protocol."""
import sys, json
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
(ROOT / "runs" / "exp").mkdir(parents=True, exist_ok=True)  # where the rows go
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, torch
from dev_lesions import held_out_cases, segmenters, dice
from algorithm.geometry import index_to_world
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import six_point_clicks, ellipsoid_from_clicks
from training.validation import load_validation_cases
torch.set_num_threads(2)
rows = []
WEIGHTS = sys.argv[1].split(",") if len(sys.argv) > 1 else ["runs/v3fold0/final", "runs/v3fold1/final"]
OUT = sys.argv[2] if len(sys.argv) > 2 else "inward"
for w in WEIGHTS:
    _, cases = held_out_cases(ROOT / w)
    seg = segmenters(ROOT / w, graph_cut=2.0)["net+classical"]
    for vc in load_validation_cases(cases):
        r = {"case": vc.case.case_id, "group": vc.case.group}
        for inward in (1, 5, 9):
            clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0), inward=inward).astype(float)
            m = segment(vc.image, Clicks.from_points(index_to_world(vc.image, clicks)), seg).mask
            r[f"in{inward}"] = dice(m, vc.mask)
            r[f"ell{inward}"] = dice(ellipsoid_from_clicks(vc.mask.shape, clicks, vc.spacing), vc.mask)
        rows.append(r); print(r, flush=True)
json.dump(rows, open(str(ROOT / "runs" / "exp") + f"/{OUT}.json", "w"), indent=1)
for k in rows[0]:
    if k not in ("case", "group"):
        print(k, round(float(np.mean([r[k] for r in rows])), 4))
