"""Screening: can clicks placed at another depth than the protocol's be moved, before inference,
to where the protocol would have put them? Each axis's outermost pair of clicks moves K voxels
(K_thick on thick-slice axes) towards (K > 0) or away from (K < 0) the pair's midpoint, never
past it (``move_extreme_pairs``). Only the clicks are used, as at inference. Seed 0, both twins'
held-out cases."""
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
from algorithm.click_convention import move_extreme_pairs
from training.interaction import six_point_clicks
from training.validation import load_validation_cases
torch.set_num_threads(2)


# (inward, inward on thick axes, move, move on thick axes); argv[1] = "boundary" for clicks on
# the extreme voxels themselves, else clicks 1, 5 and 9 voxels inward (1 on thick axes)
VARIANTS = (((0, 0, 0, 0), (0, 0, 4, 0), (0, 0, 5, 1)) if sys.argv[1:] == ["boundary"] else
            ((1, 1, 0, 0), (1, 1, 4, 0), (5, 1, 0, 0), (5, 1, 4, 0), (9, 1, 0, 0), (9, 1, -4, 0)))
OUT = "border_shift_boundary" if sys.argv[1:] == ["boundary"] else "border_shift"
rows = []
for w in ("runs/v3fold0/final", "runs/v3fold1/final"):
    _, cases = held_out_cases(ROOT / w)
    seg = segmenters(ROOT / w, graph_cut=2.0)["net+classical"]
    for vc in load_validation_cases(cases):
        r = {"case": vc.case.case_id, "group": vc.case.group}
        for inward, thick, k, k_thick in VARIANTS:
            clicks = six_point_clicks(vc.mask, vc.spacing, np.random.default_rng(0),
                                      inward=inward, inward_thick=thick).astype(float)
            moved = move_extreme_pairs(clicks, vc.spacing, k, k_thick)
            m = segment(vc.image, Clicks.from_points(index_to_world(vc.image, moved)), seg).mask
            r[f"in{inward},{thick}_move{k},{k_thick}"] = dice(m, vc.mask)
        rows.append(r); print(r, flush=True)
json.dump(rows, open(ROOT / "runs" / "exp" / f"{OUT}.json", "w"), indent=1)
for key in rows[0]:
    if key not in ("case", "group"):
        print(key, round(float(np.mean([r[key] for r in rows])), 4))
