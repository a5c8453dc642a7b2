"""Ship a trained model: ``python -m training.export runs/NAME/best [algorithm/weights]``.

Copies ``model.safetensors`` and ``model_card.json`` into the package (the weights the algorithm
and the container load by default), after checking that the algorithm loads them and that the
card names its training and validation data and the licence that follows for the weights, and
that the model beats the six-click ellipsoid on its own validation (``--force`` ships it anyway).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from algorithm.network.model_card import ModelCard
from algorithm.network.weights import CARD_NAME, PACKAGE_WEIGHTS_DIR, load_model
from training.config import TrainConfig
from training.datasets import patient_split, read_manifest, read_nnunet_folder


def complete_card(card: dict) -> dict:
    """Fill in the validation case list for runs whose card predates that field."""
    training = card.setdefault("training", {})
    if "validation_cases" not in training and "config" in training:
        config = TrainConfig(**training["config"])
        cases = [c for m in config.manifests if m.is_file() for c in read_manifest(m)]
        cases += [c for f in config.nnunet_folders if f.is_dir() for c in read_nnunet_folder(f)]
        if cases and config.fold >= 0:
            _, val = patient_split(cases, config.n_folds, config.fold, config.seed)
            training["validation_cases"] = [c.case_id for c in val]
    return card


def _benchmark_record(card: dict, benchmark: Path) -> dict:
    """The held-out benchmark as measured; when this model trained on those cases (a final model
    on all data), the record says that the figures belong to a twin that held them out."""
    record = json.loads(benchmark.read_text(encoding="utf-8"))
    trained_on = {c["case"] for c in card["training"].get("cases", [])}
    overlap = sorted(trained_on & set(record.get("held_out_cases", [])))
    if overlap:
        measured = record.get("weights_version", "another model")
        # bench_interactive_dev.py joins the versions of a cross-validation's models with " + "
        shares = " (a cross-validation: each model its own share)" if " + " in measured else ""
        if record.get("command"):
            measured += f" (`{record['command']}`)"
        record["note"] = (f"measured on {measured}, which held these cases out{shares}; this "
                          f"model ({card.get('version')}) trained on {len(overlap)} of them, "
                          "so the figures estimate its recipe, not it")
    return record


def check_beats_ellipsoid(validation: dict) -> None:
    """Refuse a model that its own validation scores below the ellipsoid inscribed in the clicks'
    box: it is worse than no model at all (an undertrained run once shipped at DSC 0.066)."""
    dsc, baseline = validation.get("dsc"), validation.get("ellipsoid_dsc")
    if dsc is not None and baseline is not None and dsc < baseline:
        raise SystemExit(f"error: validation DSC {dsc:.3f} is below the six-click ellipsoid "
                         f"baseline's {baseline:.3f} on the same cases: this model is worse than "
                         "no model; train it further, or pass --force to export it anyway")


def export(source: Path, target: Path = PACKAGE_WEIGHTS_DIR, combine_with_classical: bool = False,
           benchmark: Path | None = None, graph_cut_smoothness: float | None = None,
           force: bool = False, threshold: float = 0.5) -> Path:
    load_model(source)  # refuses anything the algorithm could not load
    card = complete_card(json.loads((source / CARD_NAME).read_text(encoding="utf-8")))
    if not force:
        check_beats_ellipsoid(card.get("validation") or {})
    card["combine_with_classical"] = combine_with_classical
    card["graph_cut_smoothness"] = graph_cut_smoothness
    card["threshold"] = threshold
    if benchmark is not None:
        card["validation"]["benchmark"] = _benchmark_record(card, benchmark)
    if not card["training"].get("cases"):
        raise SystemExit("error: the model card lists no training cases")
    ModelCard.model_validate(card)  # the card's own rules, before anything is written
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / card.get("weights_file", "model.safetensors"),
                    target / card.get("weights_file", "model.safetensors"))
    (target / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    load_model(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__)
    parser.add_argument("source", type=Path, help="a run's best/ folder")
    parser.add_argument("target", type=Path, nargs="?", default=PACKAGE_WEIGHTS_DIR)
    parser.add_argument("--combine-with-classical", action="store_true",
                        help="inference averages the network with the classical method")
    parser.add_argument("--graph-cut", type=float, default=None, metavar="SMOOTHNESS",
                        help="inference regularises the probability with a contrast-sensitive "
                             "graph cut of this smoothness (e.g. 2)")
    parser.add_argument("--benchmark", type=Path, default=None,
                        help="JSON summary of the held-out benchmark to record in the card")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="where inference cuts the network's probability into the mask "
                             "(choose it on cases other than those you report: "
                             "benchmarks/screens/threshold.py)")
    parser.add_argument("--force", action="store_true",
                        help="export even a model that its validation scores below the "
                             "six-click ellipsoid baseline")
    args = parser.parse_args(argv)
    if args.graph_cut is not None and not args.graph_cut > 0:
        parser.error("--graph-cut needs a positive smoothness")
    if not 0.0 < args.threshold < 1.0:
        parser.error("--threshold must lie strictly between 0 and 1")
    target = export(args.source, args.target, args.combine_with_classical, args.benchmark,
                    args.graph_cut, force=args.force, threshold=args.threshold)
    print(f"exported to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
