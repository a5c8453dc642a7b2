"""Screening: majority vote over three VOI sizes (six clicks only)."""
import sys, json
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
(ROOT / "runs" / "exp").mkdir(parents=True, exist_ok=True)  # where the rows go
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, torch
from dev_lesions import held_out_cases, segmenters, dice
from algorithm.geometry import index_to_world, VoiConfig
from algorithm.pipeline import segment, PipelineConfig
from algorithm.prompts import Clicks
from training.interaction import six_point_clicks
from training.validation import load_validation_cases
torch.set_num_threads(2)
CFGS = [PipelineConfig(voi=VoiConfig(relative_margin=r, absolute_margin_mm=a))
        for r, a in ((0.15, 5.0), (0.08, 3.0), (0.25, 8.0))]
rows = []
for w in ("runs/v3fold0/final", "runs/v3fold1/final"):
    _, cases = held_out_cases(ROOT / w)
    seg = segmenters(ROOT / w, graph_cut=2.0)["net+classical"]
    for vc in load_validation_cases(cases):
        for s in range(2):
            clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(s)).astype(float)
            pts = Clicks.from_points(index_to_world(vc.image, clicks))
            masks = [segment(vc.image, pts, seg, config=c).mask.astype(bool) for c in CFGS]
            vote = np.sum(masks, axis=0) >= 2
            r = {"case": vc.case.case_id, "group": vc.case.group, "seed": s,
                 "base": dice(masks[0], vc.mask), "small": dice(masks[1], vc.mask),
                 "large": dice(masks[2], vc.mask), "vote": dice(vote, vc.mask)}
            rows.append(r); print(r, flush=True)
json.dump(rows, open(str(ROOT / "runs" / "exp") + "/scale_tta.json", "w"), indent=1)
for k in ("base", "small", "large", "vote"):
    print(k, round(float(np.mean([r[k] for r in rows])), 4))
