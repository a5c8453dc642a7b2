"""Command line for hospital IT and researchers: lesionseg segment, batch, rank and serve.

Images may be MHA, NIfTI, NRRD or a DICOM series folder (read with GDCM); masks are written as
an image on the scan's grid or, for a DICOM series, as a DICOM SEG that references it
(``--format dicom-seg``). The batch form keeps going past a bad case and reports every failure
at the end. ``serve`` is a local HTTP server for viewers (``algorithm.server``, docs/serve.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from algorithm.cli_support import EXIT_INPUT_ERROR, fine_tune_seconds, run_guarded
from algorithm.errors import InputError
from algorithm.inference import OUTPUT_FORMATS, require_dicom_folder, segment_file
from algorithm.io.case_folders import find_case_inputs
from algorithm.io.grand_challenge import PROMPT_FILES
from algorithm.io.images import image_suffix
from algorithm.methods.base import Segmenter
from algorithm.methods.select import METHOD_HELP, METHODS, make_segmenter
from algorithm.pipeline import PipelineConfig
from algorithm.prompts.prompt_set import PromptFiles, require_a_prompt
from algorithm.review import (
    CaseScore, RankOptions, ranked, require_confidence, score_case, write_ranking,
)

DICOM_SUFFIX = ".dcm"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lesionseg", description=__doc__.splitlines()[0])
    model = argparse.ArgumentParser(add_help=False)  # every command that segments
    model.add_argument("--method", choices=METHODS, default="auto", help=METHOD_HELP)
    model.add_argument("--weights", type=Path, default=None)
    model.add_argument("--modality", choices=("CT", "MR"), default=None)
    model.add_argument("--device", default=None)
    model.add_argument("--clicks-on-boundary", action="store_true",
                       help="the six extreme clicks lie on the tumour's boundary rather than "
                       "just inside it (the reference protocol); they are moved inward first")
    model.add_argument("--fine-tune", type=float, default=0.0, metavar="SECONDS",
                       help="tune a copy of the network on each image from its prompts and "
                       "its own confident voxels for this long (BIFSeg; algorithm/fine_tune.py); "
                       "the tuned answer is kept only when it agrees better with the prompts; "
                       "the weights themselves never change (default 0: off)")
    common = argparse.ArgumentParser(add_help=False, parents=[model])
    common.add_argument("--format", choices=OUTPUT_FORMATS, default="image", dest="output_format",
                        help="image: the mask as an image file on the scan's grid (default); "
                        "dicom-seg: a DICOM SEG (.dcm) referencing the source series, for a "
                        "DICOM series input only")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("segment", parents=[common],
                         help="one image and its clicks (or other prompts)")
    one.add_argument("image", type=Path, help="image file or DICOM series folder")
    one.add_argument("clicks", type=Path, nargs="?", default=None,
                     help="grand-challenge 'Multiple points' JSON in world mm, LPS (as DICOM, "
                     "ITK, SimpleITK and grand-challenge; 3D Slicer shows RAS: x and y negated), "
                     "or a 3D Slicer markups file (.mrk.json, either coordinate system); "
                     "optional when another prompt is given (then they may all be background "
                     "clicks, as corrections)")
    add_prompt_arguments(one)
    one.add_argument("-o", "--output", type=Path, required=True,
                     help="mask file (.mha, .nii.gz; .dcm with --format dicom-seg)")
    one.add_argument("--previous-mask", type=Path, default=None,
                     help="mask to refine (with added clicks)")
    one.add_argument("--suggest", type=Path, metavar="JSON", default=None,
                     help="also write the suggested next click: grand-challenge 'Multiple "
                     "points' with one point named 'suggestion' (world mm, LPS), the most "
                     "uncertain place near the mask's boundary; no point when none is uncertain")
    one.add_argument("--series", metavar="UID", default=None,
                     help="the DICOM series to read (its SeriesInstanceUID) when the folder, "
                     "subfolders included, holds several; the error lists them")
    many = sub.add_parser("batch", parents=[common], help="every case folder in a folder")
    many.add_argument("cases", type=Path,
                      help="folder of case folders, each with one image (file or DICOM folder) "
                      f"and its prompts: {', '.join(PROMPT_FILES.values())} (any of them; with "
                      f"none of those, one .json / .mrk.json of clicks)")
    many.add_argument("output", type=Path, help="folder for <case>.mha masks (<case>.dcm with "
                      "--format dicom-seg) and the report")
    add_case_folder_arguments(many)
    rank = sub.add_parser("rank", parents=[model],
                          help="score every case folder by the confidence, least sure first")
    rank.add_argument("cases", type=Path, help="folder of case folders, as for batch")
    rank.add_argument("-o", "--output", type=Path, required=True,
                      help="the ranking CSV: case, confidence, volume_ml, long_axis_mm, "
                      "warnings, thumbnail, mask, error; least sure first, failed cases last")
    rank.add_argument("--thumbnails", type=Path, default=None, metavar="FOLDER",
                      help="folder for <case>.png (axial, coronal and sagittal slices through "
                      "the lesion with the mask's outline); default: <output>_thumbnails/ "
                      "beside the CSV")
    rank.add_argument("--masks", type=Path, default=None, metavar="FOLDER",
                      help="also write each case's mask there, as <case>.mha")
    add_case_folder_arguments(rank)
    server = sub.add_parser("serve", parents=[model],
                            help="a local HTTP server for viewers: sessions, clicks, masks")
    from algorithm.server.options import add_serve_arguments

    add_serve_arguments(server)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "segment":
        return run_guarded(lambda: _segment_one(args))
    if args.command == "serve":
        from algorithm.server.run import serve  # FastAPI and uvicorn load only for the server

        return run_guarded(lambda: serve(args))
    if args.command == "rank":
        return run_guarded(lambda: _rank(args))
    return run_guarded(lambda: _segment_batch(args))


def add_case_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """How a command that reads a folder of case folders finds each case's image."""
    parser.add_argument("--image-pattern", metavar="GLOB", default=None,
                        help="in each case folder, the image (file or DICOM folder name) to use "
                        "when there are several, e.g. '*_ct.nii.gz'; without it, of several the "
                        "nnU-Net channel-0 file (<case>_0000.<ext>) is used")
    parser.add_argument("--series", metavar="UID", action="append", default=[],
                        help="may repeat: a case whose DICOM folder holds several series reads "
                        "the one of these SeriesInstanceUIDs it holds")


#: the prompt flags beside the clicks: (flag, metavar, help)
PROMPT_FLAGS = (
    ("--scribbles", "JSON", "'Multiple lines': strokes named tumor (or unnamed) or background"),
    ("--outlines", "JSON", "'Multiple polygons': contours on slices; a tumor polygon makes its "
     "slice fully annotated, a background one cuts a hole"),
    ("--box", "JSON", "'2D bounding box' or 'Multiple 2D bounding boxes' around the tumour on "
     "its slice(s)"),
    ("--recist", "JSON", "'Distance measurement' or 'Multiple distance measurements': the "
     "RECIST long axis, then optionally the short axis"),
    ("--slice-mask", "IMAGE", "a mask on the image's grid that is non-zero on the annotated "
     "slices only (ITK-SNAP, Slicer): those slices are taken as outlined"),
)


def add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    """The prompt files beside the clicks (world mm, LPS; grand-challenge's JSON kinds)."""
    prompts = parser.add_argument_group(
        "other prompts", "any of these, with or without clicks; see the README's Prompts")
    for flag, metavar, text in PROMPT_FLAGS:
        prompts.add_argument(flag, type=Path, metavar=metavar, help=text)


def _prompt_files(args: argparse.Namespace) -> PromptFiles:
    return PromptFiles(clicks=args.clicks, scribbles=args.scribbles, outlines=args.outlines,
                       box=args.box, recist=args.recist)


def _segment_one(args: argparse.Namespace) -> int:
    _check_output_name(args.output, args.output_format)
    if args.output_format == "dicom-seg":
        require_dicom_folder(args.image)  # before the model loads
    if args.series and not args.image.is_dir():
        raise InputError(f"--series chooses among a DICOM folder's series; {args.image.name} is "
                         "not a folder")
    require_a_prompt(_prompt_files(args), slice_mask_given=args.slice_mask is not None)
    segmenter = make_segmenter(args.method, args.weights, args.device)
    start = time.perf_counter()
    result = segment_file(args.image, _prompt_files(args), args.output, segmenter,
                          modality=args.modality, previous_mask_path=args.previous_mask,
                          config=_pipeline_config(args),
                          series=(args.series,) if args.series else (),
                          output_format=args.output_format, slice_mask_path=args.slice_mask,
                          suggestion_path=args.suggest)
    model = "" if result.model_version == "classical" else f", model {result.model_version}"
    print(f"wrote {args.output} ({result.method}, {result.modality}, {int(result.mask.sum())} "
          f"voxels, {time.perf_counter() - start:.1f} s{model})", file=sys.stderr)
    return 0


def _check_output_name(output: Path, output_format: str) -> None:
    if output_format == "dicom-seg":
        if output.suffix.lower() != DICOM_SUFFIX:
            raise InputError(f"output {output} of --format dicom-seg must end in {DICOM_SUFFIX}")
    elif output.suffix.lower() == DICOM_SUFFIX:
        raise InputError(f"output {output} is a DICOM file name: add --format dicom-seg for a "
                         "DICOM SEG, or name an image (.mha, .nii.gz, .nii, .nrrd)")
    elif image_suffix(output) is None:
        raise InputError(f"output {output} must end in .mha, .nii.gz, .nii or .nrrd")


def _pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    return PipelineConfig(clicks_on_boundary=args.clicks_on_boundary,
                          fine_tune_seconds=fine_tune_seconds(args.fine_tune))


def _case_folders(cases: Path) -> list[Path]:
    if not cases.is_dir():
        raise InputError(f"cases folder {cases} does not exist")
    folders = sorted(p for p in cases.iterdir() if p.is_dir())
    if not folders:
        raise InputError(f"no case folders in {cases}")
    return folders


def _segment_batch(args: argparse.Namespace) -> int:
    cases = _case_folders(args.cases)
    segmenter = make_segmenter(args.method, args.weights, args.device)
    report = {"method": segmenter.name, "succeeded": [], "failed": []}
    print(f"segmenting {len(cases)} case(s) with {segmenter.name}", file=sys.stderr)
    for i, case in enumerate(cases, 1):
        start = time.perf_counter()
        try:
            image, prompts = find_case_inputs(case, args.image_pattern)
            suffix = DICOM_SUFFIX if args.output_format == "dicom-seg" else ".mha"
            out = args.output / f"{case.name}{suffix}"
            result = segment_file(image, prompts, out, segmenter, modality=args.modality,
                                  config=_pipeline_config(args), series=args.series,
                                  series_required=False, output_format=args.output_format)
        except InputError as exc:
            report["failed"].append({"case": case.name, "error": str(exc)})
            print(f"[{i}/{len(cases)}] {case.name}: FAILED: {exc}", file=sys.stderr)
            continue
        seconds = time.perf_counter() - start
        report["succeeded"].append({"case": case.name, "mask": out.name, "seconds": round(seconds, 2),
                                    "voxels": int(result.mask.sum()), "modality": result.modality,
                                    "method": result.method, "model_version": result.model_version,
                                    "warnings": list(result.warnings)})
        implausible = any(w.startswith("implausible") for w in result.warnings)
        flag = (", implausible mask: see the warning" if implausible
                else ", see the warning" if result.warnings else "")
        print(f"[{i}/{len(cases)}] {case.name}: ok ({seconds:.1f} s{flag})", file=sys.stderr)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "batch_report.json").write_text(json.dumps(report, indent=2) + "\n")
    n_ok, n_bad = len(report["succeeded"]), len(report["failed"])
    if n_bad:
        names = ", ".join(f["case"] for f in report["failed"])
        print(f"error: {n_bad} of {len(cases)} cases failed ({names}); "
              f"see {args.output / 'batch_report.json'}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(f"all {n_ok} cases segmented; report in {args.output / 'batch_report.json'}",
          file=sys.stderr)
    return 0


def _rank(args: argparse.Namespace) -> int:
    if args.output.suffix.lower() != ".csv":
        raise InputError(f"output {args.output} must end in .csv")
    cases = _case_folders(args.cases)
    config = replace(_pipeline_config(args), confidence=True)  # the ranking's score
    segmenter = make_segmenter(args.method, args.weights, args.device)
    require_confidence(segmenter, config)
    thumbnails = args.thumbnails or args.output.with_name(f"{args.output.stem}_thumbnails")
    options = RankOptions(thumbnails=thumbnails, masks=args.masks,
                          image_pattern=args.image_pattern, series=args.series,
                          modality=args.modality, config=config)
    print(f"ranking {len(cases)} case(s) with {segmenter.name}", file=sys.stderr)
    scores = []
    for i, case in enumerate(cases, 1):
        try:
            scores.append(score_case(case, segmenter, options))
        except InputError as exc:
            scores.append(CaseScore(case=case.name, error=str(exc)))
            print(f"[{i}/{len(cases)}] {case.name}: FAILED: {exc}", file=sys.stderr)
            continue
        print(f"[{i}/{len(cases)}] {case.name}: confidence {scores[-1].confidence:.3f}",
              file=sys.stderr)  # never None: require_confidence
    write_ranking(ranked(scores), args.output)
    failed = [s.case for s in scores if s.error is not None]
    if failed:
        print(f"error: {len(failed)} of {len(cases)} cases failed ({', '.join(failed)}); "
              f"they are listed last in {args.output}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(f"all {len(cases)} cases ranked, least sure first, in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
