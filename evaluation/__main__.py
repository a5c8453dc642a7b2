"""grand-challenge.org entry point: ``python -m evaluation [--input --output --ground-truth]``.

Reads ``<input>/predictions.json`` and each job's ``lesion-segmentation`` mask, matches every job
to its reference in the ground-truth folder, and writes ``<output>/metrics.json`` atomically.
Optional files in the ground-truth folder: ``mapping.json`` (name overrides, see
``evaluation.matching``) and ``groups.csv`` (per-group aggregates, see ``evaluation.groups``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from evaluation.cli import guarded
from evaluation.grand_challenge import assign_steps, load_jobs, resolve_job
from evaluation.groups import GROUPS_FILE, load_groups, require_cases
from evaluation.jsonio import write_json_atomic
from evaluation.masks import strip_mask_suffix
from evaluation.matching import MAPPING_FILE, index_references, load_mapping, match_references
from evaluation.models import MetricsFile
from evaluation.scoring import Pair, score_pairs

PREDICTIONS_FILE = "predictions.json"
METRICS_FILE = "metrics.json"


def _optional(explicit: Path | None, default: Path) -> Path | None:
    return explicit if explicit is not None else (default if default.is_file() else None)


def evaluate(
    input_dir: Path,
    output_dir: Path,
    ground_truth_dir: Path,
    mapping_path: Path | None = None,
    groups_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> MetricsFile:
    """Validate everything cheap first (jobs, files, matching), then score, then write."""
    input_dir, ground_truth_dir = Path(input_dir), Path(ground_truth_dir)
    entries = [resolve_job(job, input_dir) for job in load_jobs(input_dir / PREDICTIONS_FILE)]
    steps = assign_steps(entries)
    references = index_references(ground_truth_dir)
    mapping_path = _optional(mapping_path, ground_truth_dir / MAPPING_FILE)
    mapping = load_mapping(mapping_path) if mapping_path else {}
    matched = match_references([e.image_name for e in entries], references, mapping)
    pairs = [
        Pair(
            case=strip_mask_suffix(matched[e.image_name].name),
            prediction=e.mask,
            reference=matched[e.image_name],
            step=steps[e.pk],
            job_pk=e.pk,
            label=f"job {e.pk} (image {e.image_name!r})",
        )
        for e in entries
    ]
    groups_path = _optional(groups_path, ground_truth_dir / GROUPS_FILE)
    groups = None
    if groups_path:
        groups = load_groups(groups_path)
        require_cases(groups, {p.case for p in pairs}, groups_path)
    metrics = score_pairs(pairs, groups, progress)
    write_json_atomic(Path(output_dir) / METRICS_FILE, metrics)
    return metrics


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation",
        description="Score lesion segmentation jobs of a grand-challenge.org submission.",
    )
    parser.add_argument(
        "--input",
        type=Path,
        default=Path("/input"),
        help="folder with predictions.json and <job pk>/output/ (default: /input)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("/output"),
        help="folder for metrics.json (default: /output)",
    )
    parser.add_argument(
        "--ground-truth",
        type=Path,
        default=Path("/opt/ml/input/data/ground_truth"),
        help="folder of reference masks (default: /opt/ml/input/data/ground_truth)",
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        default=None,
        help=f"name -> reference file JSON (default: <ground-truth>/{MAPPING_FILE} if present)",
    )
    parser.add_argument(
        "--groups",
        type=Path,
        default=None,
        help=f"group CSV with a 'case' column (default: <ground-truth>/{GROUPS_FILE} if present)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    metrics = evaluate(
        args.input,
        args.output,
        args.ground_truth,
        args.mapping,
        args.groups,
        progress=lambda line: print(line, flush=True),
    )
    print(
        f"wrote {args.output / METRICS_FILE}: {len(metrics.results)} result(s), "
        f"mean DSC {metrics.aggregates.dsc.mean:.4f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(guarded(main))
