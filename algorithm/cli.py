"""grand-challenge entry point (exec mode): ``python -m algorithm --input /input --output /output``.

One process per case. Invoke mode (``algorithm.platform_server``) does the same work for many
cases with the model loaded once; both go through ``algorithm.platform_case.process_case``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from algorithm.cli_support import run_guarded
from algorithm.io.case_outputs import probability_requested
from algorithm.io.grand_challenge import locate_inputs
from algorithm.methods.select import METHOD_HELP, METHODS, make_segmenter
from algorithm.platform_case import process_case


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m algorithm",
        description="Segment the lesion marked by clicks in one case laid out as grand-challenge "
        "lays it out (images/medical-image/*.mha and lesion-clicks.json, whose points are world "
        "mm in LPS, as DICOM, ITK and grand-challenge use).",
    )
    add_case_options(parser)
    return parser


def add_case_options(parser: argparse.ArgumentParser) -> None:
    """The options every platform entry point takes (exec mode and the invoke server)."""
    parser.add_argument("--input", type=Path, default=Path("/input"))
    parser.add_argument("--output", type=Path, default=Path("/output"))
    parser.add_argument("--method", choices=METHODS, default="auto", help=METHOD_HELP)
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder with model.safetensors and model_card.json")
    parser.add_argument("--modality", choices=("CT", "MR"), default=None,
                        help="override modality detection")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        write_probability = probability_requested()
        inputs = locate_inputs(args.input)  # bad input fails before the model loads
        segmenter = make_segmenter(args.method, args.weights, args.device)
        report = process_case(inputs, args.output, segmenter, modality=args.modality,
                              write_probability=write_probability)
        print(report.summary(), file=sys.stderr)
        return 0

    return run_guarded(run)
