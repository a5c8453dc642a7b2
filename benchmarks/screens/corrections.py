"""Screening of inference-time rules for corrections (rough by design; rows to runs/exp/):
(a) clip the six-click mask to the clicks' grown box; (b) corrections that only accept changes
connected to the corrective click; (c) graph-cut hard seeds as balls of R grid voxels.

    python benchmarks/screens/corrections.py SEEDS [R] [global|all]

R = 0 (default) is the shipped one-voxel seed; ``global`` skips (a) and (b)."""
import sys, json, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
(ROOT / "runs" / "exp").mkdir(parents=True, exist_ok=True)  # where the rows go
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, SimpleITK as sitk, torch
from scipy import ndimage
from dev_lesions import held_out_cases, segmenters, dice
from algorithm.geometry import index_to_world
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import six_point_clicks, corrective_click, append_click, inward_shifts
from training.validation import correct, load_validation_cases

torch.set_num_threads(2)
S26 = np.ones((3, 3, 3), bool)

def box_clip(mask, clicks, spacing, factor):
    sh = inward_shifts(spacing) * factor
    lo = np.floor(clicks.min(0) - sh).astype(int); hi = np.ceil(clicks.max(0) + sh).astype(int)
    out = np.zeros_like(mask)
    sl = tuple(slice(max(l, 0), h + 1) for l, h in zip(lo, hi))
    out[sl] = mask[sl]
    return out

def local_update(prev, new, click, radius_vox=1):
    diff = prev ^ new
    if not diff.any():
        return new
    lab, _ = ndimage.label(diff, structure=S26)
    p = np.rint(click).astype(int)
    lo = np.clip(p - radius_vox, 0, None); hi = p + radius_vox + 1
    ids = np.unique(lab[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]); ids = ids[ids > 0]
    if len(ids) == 0:
        return new  # nothing connected: fall back to the new prediction
    keep = np.isin(lab, ids)
    return prev ^ (diff & keep)

def run(vc, seg, seed, steps=5):
    rng = np.random.default_rng(seed)
    clicks = six_point_clicks(vc.mask, vc.spacing, rng).astype(float)
    world = lambda pts: index_to_world(vc.image, np.asarray(pts, float).reshape(-1, 3))
    m0 = segment(vc.image, Clicks.from_points(world(clicks)), seg).mask.astype(bool)
    out = {"six": dice(m0, vc.mask)}
    for f in (1.0, 1.5, 2.0, 3.0) if MODES == "all" else ():
        out[f"clip{f:g}"] = dice(box_clip(m0, clicks, vc.spacing, f), vc.mask)
    for k, mask in enumerate(correct(vc, seg, clicks, m0, steps), start=1):
        out[f"global{k}"] = dice(mask.astype(bool), vc.mask)
    if MODES != "all":
        return out
    # the local update keeps the previous mask away from each click: the shared loop, plus that
    pos, neg, mask = clicks.copy(), np.zeros((0, 3)), m0.copy()
    for k in range(1, steps + 1):
        c = corrective_click(mask, vc.mask, vc.spacing)
        if c is not None:
            pos, neg = append_click(pos, neg, c)
            prev = sitk.GetImageFromArray(mask.astype(np.uint8)); prev.CopyInformation(vc.image)
            new = segment(vc.image, Clicks.from_points(world(pos), world(neg) if len(neg) else None),
                          seg, previous_mask=prev).mask.astype(bool)
            mask = local_update(mask, new, c[0])
        out[f"local{k}"] = dice(mask, vc.mask)
    return out

seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
R = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
MODES = sys.argv[3] if len(sys.argv) > 3 else "all"
if R > 0:  # every click a ball of hard seeds in the graph cut
    import algorithm.methods.graph_cut as gcm
    from algorithm.guidance.encoding import seed_mask as one_voxel_seeds

    def ball_seeds(points, shape):
        seeds = one_voxel_seeds(points, shape)
        r = int(np.ceil(R))
        offsets = np.indices((2 * r + 1,) * 3) - r
        return ndimage.binary_dilation(seeds, structure=(offsets**2).sum(0) <= R * R)

    gcm.seed_mask = ball_seeds
rows = []
for w in ("runs/v3fold0/final", "runs/v3fold1/final"):
    card, cases = held_out_cases(ROOT / w)
    seg = segmenters(ROOT / w, graph_cut=2.0)["net+classical"]
    for vc in load_validation_cases(cases):
        for s in range(seeds):
            t = time.time(); r = run(vc, seg, s)
            r.update(case=vc.case.case_id, group=vc.case.group, seed=s)
            rows.append(r)
            print(vc.case.case_id, s, " ".join(f"{k}={v:.3f}" for k, v in r.items()
                  if isinstance(v, float)), f"{time.time()-t:.0f}s", flush=True)
json.dump(rows, open(str(ROOT / "runs" / "exp") + f"/corrections_r{R:g}_{MODES}.json", "w"), indent=1)
keys = [k for k in rows[0] if k not in ("case", "group", "seed")]
for k in keys:
    print(f"{k:10s} {np.mean([r[k] for r in rows]):.4f}")
