"""Screening: image-specific fine-tuning (BIFSeg-like) on each refinement request."""
import sys, json, time, copy
from dataclasses import dataclass
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
(ROOT / "runs" / "exp").mkdir(parents=True, exist_ok=True)  # where the rows go
sys.path.insert(0, str(ROOT / "benchmarks")); sys.path.insert(0, str(ROOT))
import numpy as np, torch
from scipy import ndimage
from dev_lesions import held_out_cases, dice
from algorithm.geometry import index_to_world
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from algorithm.guidance.encoding import encode
from algorithm.methods.network import NetworkSegmenter
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.methods.ensemble import AverageSegmenter
from algorithm.methods.graph_cut import GraphCutSegmenter
from training.interaction import six_point_clicks
from training.validation import correct, load_validation_cases

torch.set_num_threads(2)

def balls(points, shape, radius):
    out = np.zeros(shape, bool)
    pts = np.asarray(points, float).reshape(-1, 3)
    if len(pts) == 0:
        return out
    grid = np.indices(shape, dtype=np.float32)
    for p in pts:
        out |= ((grid - p.reshape(3, 1, 1, 1)) ** 2).sum(0) <= radius ** 2
    return out

@dataclass
class FineTuned:
    net: NetworkSegmenter
    steps: int = 10
    lr: float = 3e-4
    click_radius: float = 2.0
    exclude_radius: float = 8.0
    margin: float = 2.0
    click_weight: float = 0.5  # share of the loss given to click voxels
    scope: str = "all"
    name: str = "ft"
    @property
    def grid_size(self): return self.net.grid_size
    def predict(self, case):
        if case.previous_mask is None or self.steps == 0:
            return self.net.predict(case)
        g = self.net.card.guidance
        ch = encode(case.image, case.positive, case.negative, case.previous_mask, spacing=case.spacing,
                    intensity_weight=g.geodesic_intensity_weight, geodesic_scale=g.geodesic_scale,
                    click_sigma=g.click_sigma, channels=g.channels)
        shape = case.image.shape
        prev = case.previous_mask > 0.5
        pos_pts = np.asarray(case.positive).reshape(-1, 3); neg_pts = np.asarray(case.negative).reshape(-1, 3)
        pr = lambda p: prev[tuple(np.clip(np.rint(p).astype(int), 0, np.array(shape) - 1))]
        corrective = [p for p in pos_pts if not pr(p)] + [p for p in neg_pts if pr(p)]
        dist_in = ndimage.distance_transform_edt(prev); dist_out = ndimage.distance_transform_edt(~prev)
        confident = np.maximum(dist_in, dist_out) > self.margin
        if corrective:
            confident &= ~balls(np.array(corrective), shape, self.exclude_radius)
        pos_b = balls(pos_pts, shape, self.click_radius); neg_b = balls(neg_pts, shape, self.click_radius)
        pos_b &= ~neg_b
        label = np.where(pos_b, 1, np.where(neg_b, 0, prev.astype(int)))
        clicks = pos_b | neg_b
        w = np.zeros(shape, np.float32)
        pseudo = confident & ~clicks
        if pseudo.any(): w[pseudo] = (1 - self.click_weight) / pseudo.sum()
        if clicks.any(): w[clicks] = self.click_weight / clicks.sum()
        model = copy.deepcopy(self.net.model); model.eval()
        x = torch.from_numpy(ch[None]); y = torch.from_numpy(label[None]).long(); wt = torch.from_numpy(w[None])
        if self.scope in ("head", "last"):  # tune only the tail, on features computed once
            with torch.inference_mode():
                skips, h = [], x
                for enc in model.encoders:
                    h = enc(h); skips.append(h)
                h = skips.pop()
                stages = list(zip(model.upsamplers, model.decoders))
                for up, dec in stages[:-1]:
                    h = dec(torch.cat([up(h), skips.pop()], dim=1))
                feats = torch.cat([stages[-1][0](h), skips.pop()], dim=1)
                if self.scope == "head":
                    feats = model.decoders[-1](feats)
            feats = feats.clone()
            tail = (model.heads[-1] if self.scope == "head"
                    else torch.nn.Sequential(model.decoders[-1], model.heads[-1]))
            opt = torch.optim.Adam(tail.parameters(), lr=self.lr)
            with torch.enable_grad():
                for _ in range(self.steps):
                    loss = (torch.nn.functional.cross_entropy(tail(feats), y, reduction="none") * wt).sum()
                    opt.zero_grad(); loss.backward(); opt.step()
            with torch.inference_mode():
                return torch.softmax(tail(feats).float(), 1)[0, 1].numpy().astype(np.float32)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.steps):
                logits = model(x)
                loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * wt).sum()
                opt.zero_grad(); loss.backward(); opt.step()
        with torch.inference_mode():
            return torch.softmax(model(x).float(), 1)[0, 1].numpy().astype(np.float32)

def run(vc, seg, seed, steps=3):
    rng = np.random.default_rng(seed)
    clicks = six_point_clicks(vc.mask, vc.spacing, rng).astype(float)
    world = lambda pts: index_to_world(vc.image, np.asarray(pts, float).reshape(-1, 3))
    m0 = segment(vc.image, Clicks.from_points(world(clicks)), seg).mask.astype(bool)
    out = {"six": dice(m0, vc.mask)}
    t = time.time()
    for k, mask in enumerate(correct(vc, seg, clicks, m0, steps), start=1):
        out[f"c{k}"] = dice(mask.astype(bool), vc.mask)
    out["sec_per_corr"] = (time.time() - t) / steps
    return out

if __name__ == "__main__":
    tag = sys.argv[1]; seeds = int(sys.argv[2]); kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
    rows = []
    for w in ("runs/v3fold0/final", "runs/v3fold1/final"):
        card, cases = held_out_cases(ROOT / w)
        if only: cases = [c for c in cases if c.case_id.startswith(tuple(only))]
        net = NetworkSegmenter.from_folder(ROOT / w, torch.device("cpu"))
        seg = GraphCutSegmenter(AverageSegmenter([FineTuned(net, **kw), GeodesicSegmenter()]), 2.0)
        for vc in load_validation_cases(cases):
            for s in range(seeds):
                r = run(vc, seg, s); r.update(case=vc.case.case_id, group=vc.case.group, seed=s)
                rows.append(r)
                print(vc.case.case_id, s, " ".join(f"{k}={v:.3f}" for k, v in r.items() if isinstance(v, float)), flush=True)
    json.dump(rows, open(str(ROOT / "runs" / "exp") + f"/ft_{tag}.json", "w"), indent=1)
    for k in [k for k in rows[0] if k not in ("case", "group", "seed")]:
        print(f"{k:12s} {np.mean([r[k] for r in rows]):.4f}")
