"""Soft-tissue lesions in unseen anatomy: network vs classical vs six-click ellipsoid.

The dev lesions hold no soft-tissue tumour in Hounsfield units (their CT is lung, or
pre-windowed slabs), yet soft-tissue tumours are what the product is for. This benchmark places
synthetic lesions (``training.synthesis``: lobulated, heterogeneous, contrast from strong to
faint, partial-volume edges; CT in HU, MR relative to the local tissue) into the anatomy of the
patients the weights held out, so neither the anatomy nor the lesion was seen in training. It is
a proxy: the lesions come from the same generator as part of the training data, so it measures
how the methods handle soft-tissue lesions in unseen bodies, not realism. Fixed seeds: the same
lesions for every model.

    python benchmarks/bench_synthetic_lesions.py [--lesions 20] [--weights algorithm/weights]
        [--classical-weight 1] [--cut 0.5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

# benchmarks/ is on sys.path
from dev_lesions import dice, graph_cut_option, held_out_cases, segmenters  # noqa: I001

from algorithm.geometry import index_to_world
from algorithm.network.weights import PACKAGE_WEIGHTS_DIR
from algorithm.pipeline import segment
from algorithm.prompts import Clicks
from training.interaction import ellipsoid_from_clicks, six_point_clicks
from training.samples import as_image
from training.synthesis import LesionSynthesisConfig
from training.sources import SyntheticLesions, backgrounds_from, load_cases

METHODS = ("network", "classical", "net+classical", "ellipsoid")


def score(example, segmenters: dict, seed: int) -> dict[str, float]:
    image = as_image(example)
    # the header names the modality, as a whole DICOM-derived scan's would (a crop alone can
    # lack the air that intensity-based detection looks for)
    image.SetMetaData("0008|0060", example.modality)
    clicks = six_point_clicks(example.mask, example.spacing,
                              np.random.default_rng(seed)).astype(float)
    prompt = Clicks.from_points(index_to_world(image, clicks))
    out = {name: dice(segment(image, prompt, seg).mask, example.mask)
           for name, seg in segmenters.items()}
    out["volume_mm3"] = float(example.mask.sum() * np.prod(example.spacing))
    out["ellipsoid"] = dice(ellipsoid_from_clicks(example.mask.shape, clicks, example.spacing),
                            example.mask)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesions", type=int, default=20, help="per modality")
    parser.add_argument("--weights", default=str(PACKAGE_WEIGHTS_DIR))
    parser.add_argument("--diameter", type=float, nargs=2, default=(6.0, 45.0),
                        metavar=("MIN", "MAX"),
                        help="main lobe diameter range in mm (log-uniform; the generator's "
                             "training default is 6 45)")
    parser.add_argument("--classical-weight", type=float, default=1.0,
                        help="weight of the classical method in net+classical (shipped: 1)")
    parser.add_argument("--cut", type=float, default=0.5,
                        help="net+classical probability cut (shipped: 0.5)")
    parser.add_argument("--graph-cut", type=float, default=None, metavar="SMOOTHNESS",
                        help="regularise the network and net+classical with a graph cut "
                             "(default: as the model card says; 0: off)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    card, cases = held_out_cases(Path(args.weights))
    graph_cut = graph_cut_option(args.graph_cut, card)
    methods = segmenters(Path(args.weights), args.classical_weight, args.cut, graph_cut)
    backgrounds = backgrounds_from(load_cases(cases))
    print(f"weights: {args.weights} ({card.version}); net+classical: classical weight "
          f"{args.classical_weight:g}, cut {args.cut:g}; graph cut {graph_cut or 'off'}; "
          "held-out anatomy: "
          + ", ".join(sorted({b.name for b in backgrounds})))
    print("| anatomy | lesions, median diameter | " + " | ".join(METHODS) + " |")
    print("|---" * (len(METHODS) + 2) + "|")
    for modality in ("CT", "MR"):
        pool = [b for b in backgrounds if b.modality == modality]
        if not pool:
            continue
        source = SyntheticLesions(pool, donors=[], p_transplant=0.0,
                                  crop_mm=max(160.0, 3 * args.diameter[1]),
                                  synthesis=LesionSynthesisConfig(diameter_mm=tuple(args.diameter)))
        rows, started = [], time.perf_counter()
        for i in range(args.lesions):
            example = source.draw(np.random.default_rng([17, i]))
            rows.append(score(example, methods, seed=i))
        sizes = [float(np.cbrt(6 * r["volume_mm3"] / np.pi)) for r in rows]
        print(f"| {modality} ({len(pool)} scans) | {len(rows)}, {np.median(sizes):.0f} mm | "
              + " | ".join(f"{np.mean([r[m] for r in rows]):.3f} ± "
                           f"{np.std([r[m] for r in rows]):.3f}" for m in METHODS)
              + f" |  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
