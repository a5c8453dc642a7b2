"""Screening: does a twin segment the patients it trained on better than those it held out?
Each twin scores all dev cases (shipped combination, six clicks, seeds 0-1); a model that fits
its training cases no better than unseen ones is limited by bias (labels, capacity), not data."""
import sys, json
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
(ROOT / "runs" / "exp").mkdir(parents=True, exist_ok=True)  # where the rows go
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, torch
from dev_lesions import dev_cases, segmenters, dice
from algorithm.geometry import index_to_world
from algorithm.network.weights import read_card
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import six_point_clicks
torch.set_num_threads(2)
WEIGHTS = sys.argv[1].split(",") if len(sys.argv) > 1 else ["runs/v3fold0/final", "runs/v3fold1/final"]
OUT = sys.argv[2] if len(sys.argv) > 2 else "seen_unseen"
cases = list(dev_cases())
rows = []
for w in WEIGHTS:
    held_out = set(read_card(ROOT / w).training["validation_cases"])
    seg = segmenters(ROOT / w, graph_cut=2.0)
    for vc in cases:
        for seed in (0, 1):
            clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(seed)).astype(float)
            prompt = Clicks.from_points(index_to_world(vc.image, clicks))
            r = {"weights": w, "case": vc.case.case_id, "group": vc.case.group, "seed": seed,
                 "seen": vc.case.case_id not in held_out}
            for name in ("network", "net+classical"):
                r[name] = dice(segment(vc.image, prompt, seg[name]).mask, vc.mask)
            rows.append(r); print(r, flush=True)
json.dump(rows, open(ROOT / "runs" / "exp" / f"{OUT}.json", "w"), indent=1)
for w in WEIGHTS:
    for seen in (True, False):
        rs = [r for r in rows if r["weights"] == w and r["seen"] == seen]
        print(w, "seen" if seen else "held out", len(rs) // 2, "cases:",
              *(f"{k} {np.mean([r[k] for r in rs]):.3f}" for k in ("network", "net+classical")))
