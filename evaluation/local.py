"""Local CLI: score folders of predictions against references, optionally compare two methods.

    python -m evaluation.local --references REF_DIR --predictions [NAME=]PRED_DIR \\
        [--predictions [NAME=]PRED_DIR_2] [--groups groups.csv [--group-column modality ...]] \\
        [--mapping mapping.json] --output OUT_DIR

Masks (.mha, .nii.gz, .nii, .nrrd, .tif) are matched by file name without extension; a
prediction folder with ``step0/``, ``step1/``... subfolders holds an interactive protocol's
steps. Every reference needs a prediction unless ``--allow-missing`` (then only the predicted
cases are scored, and the skipped ones are named). Writes ``OUT_DIR/<name>/metrics.json`` (the platform's schema) and ``results.csv`` per
method, ``comparison.json`` (Wilcoxon signed-rank per metric) for two methods, PNG plots in
``OUT_DIR/plots/`` and ``OUT_DIR/report.md`` linking them.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from evaluation.aggregate import final_step
from evaluation.case_metrics import AGREEMENT_PAIRS, METRIC_NAMES
from evaluation.cli import guarded
from evaluation.compare import compare_methods
from evaluation.errors import EvaluationError
from evaluation.groups import load_groups, require_cases
from evaluation.jsonio import write_json_atomic, write_text_atomic
from evaluation.masks import list_masks, strip_mask_suffix
from evaluation.matching import (
    index_references,
    listing,
    load_mapping,
    match_references,
    unmatched_references,
)
from evaluation.models import CaseResult, MetricsFile
from evaluation.scoring import Pair, score_pairs

_STEP_DIR = re.compile(r"^step(\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
PLOT_TITLES = {
    "volume_ml": ("volume", "ml"),
    "max_axial_diameter_mm": ("max axial diameter", "mm"),
    "short_axis_mm": ("short axis", "mm"),
}


def parse_method(spec: str) -> tuple[str, Path]:
    """``NAME=DIR`` or ``DIR`` (the name is then the folder's name)."""
    name, sep, folder = spec.partition("=")
    path = Path(folder if sep else spec)
    name = name if sep else path.resolve().name
    if not _NAME.match(name):
        raise EvaluationError(f"method name {name!r} must be letters, digits, '.', '_' or '-'")
    return name, path


def step_folders(folder: Path) -> dict[int, Path]:
    """{step: folder}: the ``step<k>/`` subfolders if any, else the folder itself as step 0."""
    if not folder.is_dir():
        raise EvaluationError(f"prediction folder {folder} does not exist")
    steps = {
        int(m.group(1)): p
        for p in folder.iterdir()
        if p.is_dir() and (m := _STEP_DIR.match(p.name))
    }
    if not steps:
        return {0: folder}
    if list_masks(folder):
        raise EvaluationError(
            f"prediction folder {folder} mixes mask files with step<k>/ subfolders"
        )
    return dict(sorted(steps.items()))


def pairs_for(
    folder: Path, references: dict[str, Path], mapping: dict[str, str], allow_missing: bool = False
) -> list[Pair]:
    pairs = []
    for step, step_dir in step_folders(folder).items():
        files = {p.name: p for p in list_masks(step_dir)}
        if not files:
            raise EvaluationError(f"prediction folder {step_dir} contains no mask files")
        matched = match_references(files, references, mapping, allow_missing=True)
        missing = unmatched_references(references, matched)
        if missing and not allow_missing:
            raise EvaluationError(
                f"{len(missing)} reference case(s) have no prediction: {listing(missing)} "
                f"(in {step_dir}); to score only the predicted cases, add --allow-missing"
            )
        pairs += [
            Pair(
                case=strip_mask_suffix(ref.name),
                prediction=files[name],
                reference=ref,
                step=step,
                label=f"case '{strip_mask_suffix(ref.name)}' step {step}",
            )
            for name, ref in matched.items()
        ]
    return pairs


def results_csv(results: Sequence[CaseResult]) -> str:
    columns = sorted({c for r in results for c in r.groups})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "case",
            "step",
            *columns,
            *METRIC_NAMES,
            "empty_prediction",
            "empty_reference",
            "prediction",
            "reference",
        ]
    )
    for r in results:
        writer.writerow(
            [
                r.case,
                r.step,
                *(r.groups.get(c, "") for c in columns),
                *(repr(getattr(r, m)) for m in METRIC_NAMES),
                r.empty_prediction,
                r.empty_reference,
                r.prediction,
                r.reference,
            ]
        )
    return buffer.getvalue()


def make_plots(methods: dict[str, MetricsFile], out_dir: Path) -> dict[str, Path]:
    from evaluation import plots  # matplotlib only when plotting
    from evaluation.report import last_step_note

    final = {name: final_step(m.results) for name, m in methods.items()}
    note = last_step_note(methods)
    made: dict[str, Path] = {}
    columns = sorted({c for rows in final.values() for r in rows for c in r.groups}) or [None]
    for column in columns:
        title = f"DSC by {column}" if column else "DSC"
        made[title] = plots.dsc_box_plot(
            final, column, out_dir / "plots" / f"dsc_by_{column or 'all'}.png", note
        )
    for quantity, (pred_field, ref_field) in AGREEMENT_PAIRS.items():
        label, unit = PLOT_TITLES[quantity]
        made[f"Bland-Altman {label}"] = plots.bland_altman_plot(
            final,
            pred_field,
            ref_field,
            unit,
            label + note,
            out_dir / "plots" / f"bland_altman_{quantity}.png",
        )
    if any(m.aggregates.steps for m in methods.values()):
        made["DSC per step"] = plots.dsc_step_plot(
            {n: m.results for n, m in methods.items()}, out_dir / "plots" / "dsc_per_step.png"
        )
    return made


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.local",
        description="Score (and compare) lesion segmentations locally.",
    )
    parser.add_argument("--references", type=Path, required=True, help="folder of reference masks")
    parser.add_argument(
        "--predictions",
        action="append",
        required=True,
        metavar="[NAME=]DIR",
        help="folder of predicted masks; give twice to compare two methods",
    )
    parser.add_argument("--output", type=Path, required=True, help="folder for results and report")
    parser.add_argument("--groups", type=Path, help="CSV with a 'case' column and group columns")
    parser.add_argument(
        "--group-column",
        action="append",
        default=None,
        help="group column(s) to use (default: all columns of --groups)",
    )
    parser.add_argument(
        "--mapping", type=Path, help="JSON: prediction file name -> reference file name"
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="score only the cases that have a prediction (default: every reference needs one)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if len(args.predictions) > 2:
        raise EvaluationError("give --predictions once (score) or twice (compare two methods)")
    if args.group_column and not args.groups:
        raise EvaluationError("--group-column needs --groups")
    specs = [parse_method(spec) for spec in args.predictions]
    if len({name for name, _ in specs}) != len(specs):
        raise EvaluationError("the two methods need different names: use NAME=DIR")
    references = index_references(args.references)
    mapping = load_mapping(args.mapping) if args.mapping else {}
    groups = load_groups(args.groups, args.group_column) if args.groups else None
    if groups is not None:
        require_cases(groups, references, args.groups)
    all_pairs = {
        name: pairs_for(folder, references, mapping, args.allow_missing) for name, folder in specs
    }
    skipped = {
        name: sorted(set(references) - {p.case for p in pairs}) for name, pairs in all_pairs.items()
    }

    methods: dict[str, MetricsFile] = {}
    for name, pairs in all_pairs.items():
        print(f"scoring {name} ({len(pairs)} prediction(s))", flush=True)
        if skipped[name]:
            print(
                f"  skipped {len(skipped[name])} of {len(references)} reference case(s) without "
                f"a prediction (--allow-missing): {listing(skipped[name])}",
                flush=True,
            )
        methods[name] = score_pairs(
            pairs, groups, progress=lambda line: print("  " + line, flush=True)
        )
    out = args.output
    comparison = None
    if len(methods) == 2:
        (name_a, a), (name_b, b) = methods.items()
        comparison = compare_methods(a, b, name_a, name_b)
    made = {} if args.no_plots else make_plots(methods, out)
    from evaluation.report import markdown_report, sd_text

    for name, metrics in methods.items():
        write_json_atomic(out / name / "metrics.json", metrics)
        write_text_atomic(out / name / "results.csv", results_csv(metrics.results))
    if comparison is not None:
        write_json_atomic(out / "comparison.json", comparison)
    write_text_atomic(
        out / "report.md",
        markdown_report(
            methods,
            {n: str(f) for n, f in specs},
            str(args.references),
            comparison,
            made,
            out,
            skipped,
        ),
    )
    for name, metrics in methods.items():
        agg = metrics.aggregates
        print(
            f"{name}: DSC {agg.dsc.mean:.4f} ± {sd_text(agg.dsc, '.4f')}, "
            f"HD95 {agg.hd95_mm.mean:.2f} mm, "
            f"NSD@2mm {agg.nsd_2mm.mean:.4f} (n={agg.dsc.n})"
        )
    if comparison is not None:
        print(
            f"Wilcoxon {comparison.method_a} vs {comparison.method_b}: DSC p = "
            f"{comparison.tests['dsc'].p_value:.3g}"
        )
    print(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    sys.exit(guarded(main))
