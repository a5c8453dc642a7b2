"""grand-challenge entry point: ``python -m algorithm --input /input --output /output``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from algorithm.cli_support import run_guarded
from algorithm.inference import segment_file
from algorithm.io.grand_challenge import locate_inputs, output_mask_path
from algorithm.methods.select import METHOD_HELP, METHODS, make_segmenter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m algorithm",
        description="Segment the lesion marked by clicks in one case laid out as grand-challenge "
        "lays it out (images/medical-image/*.mha and lesion-clicks.json, whose points are world "
        "mm in LPS, as DICOM, ITK and grand-challenge use).",
    )
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--method", choices=METHODS, default="auto", help=METHOD_HELP)
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder with model.safetensors and model_card.json")
    parser.add_argument("--modality", choices=("CT", "MR"), default=None,
                        help="override modality detection")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        start = time.perf_counter()
        inputs = locate_inputs(args.input)
        segmenter = make_segmenter(args.method, args.weights, args.device)
        out = output_mask_path(args.output, inputs.image)
        result = segment_file(inputs.image, inputs.clicks, out, segmenter, modality=args.modality)
        print(f"wrote {out} ({segmenter.name}, {result.modality}, "
              f"{int(result.mask.sum())} voxels, {time.perf_counter() - start:.1f} s)",
              file=sys.stderr)
        return 0

    return run_guarded(run)
