"""Ship a trained model: ``python -m training.export runs/NAME/best [algorithm/weights]``.

Copies ``model.safetensors`` and ``model_card.json`` into the package (the weights the algorithm
and the container load by default), after checking that the algorithm loads them and that the
card names its training and validation data and the licence that follows for the weights, that
the model beats the six-click ellipsoid on its own validation, and, for a model fine-tuned from
another (``--init-weights``), that it scores no worse than that model on the run's held-out
patients, both scored afresh through the pipeline as they would ship (``--force`` ships it
anyway).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from algorithm.errors import InputError
from algorithm.methods.select import make_segmenter
from algorithm.network.model_card import ModelCard
from algorithm.network.weights import CARD_NAME, PACKAGE_WEIGHTS_DIR, load_model, read_card
from training.config import TrainConfig
from training.datasets import patient_split, read_manifest, read_nnunet_folder
from training.validation import load_validation_cases, validate
from training.warm_start import weights_sha256


#: the subfolders of the exported weights holding ensemble members (``ModelCard.ensemble_members``)
ENSEMBLE_MEMBER_PREFIX = "member"
#: the subfolder of the exported weights holding the prompt model (``ModelCard.prompt_model``)
PROMPT_MODEL_DIR = "prompts"


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


def selection_score(summary: dict) -> float:
    """The figure training chooses its best epoch by: the first answer's DSC, averaged with
    the DSC after corrective clicks when validation simulated them."""
    return (summary["dsc"] + summary.get("dsc_corrected", summary["dsc"])) / 2


def check_beats_initial_model(card: dict, source: Path, baseline: Path | None = None,
                              device: str | None = None) -> dict | None:
    """Refuse a fine-tuned model that scores worse on the run's held-out patients than the
    model it started from; the comparison, for the card (None: trained from scratch, or no
    held-out patients to compare on).

    Both are scored afresh on the same held-out cases, with the run's validation protocol
    (click seeds, corrections, first prompt), through the pipeline as each would ship:
    ``source`` holds this model's weights and the card it is exported with; the starting model
    is the folder the run started from (``baseline`` if given), which must still hold it."""
    origin = card["training"].get("initialised_from")
    if not origin:
        return None
    try:
        config = TrainConfig(**card["training"]["config"])
    except (KeyError, ValidationError) as error:
        raise SystemExit(f"error: the card's training config cannot be read to compare this "
                         f"model with the one it started from ({str(error).splitlines()[0]}); "
                         "pass --force to export it anyway") from None
    held = set(card["training"].get("validation_cases", []))
    if not held:
        print("note: this run held no patients out, so it is not compared with the model it "
              "started from", file=sys.stderr)
        return None
    start = Path(baseline or origin.get("path") or config.init_weights)
    refusal = "; pass --force to export it anyway"
    if not (start / CARD_NAME).is_file():
        raise SystemExit(f"error: the model this run started from ({origin.get('version')}) is "
                         f"not at {start}: pass --baseline FOLDER with it{refusal}")
    try:  # the weights themselves, or for a run from before their hash was recorded, the version
        changed = (weights_sha256(start) != origin["sha256"] if origin.get("sha256")
                   else read_card(start).version != origin.get("version"))
    except (OSError, InputError) as error:
        raise SystemExit(f"error: the model this run started from cannot be read at {start} "
                         f"({error}): pass --baseline FOLDER with it{refusal}") from None
    if changed:
        raise SystemExit(f"error: {start} no longer holds the model this run started from "
                         f"({origin.get('version')}; its weights have changed since): pass "
                         f"--baseline FOLDER with it{refusal}")
    from training.train import read_cases  # the run's own reading of its sources

    try:
        cases = [c for c in read_cases(config) if c.case_id in held
                 and (not config.val_groups or c.group in config.val_groups)]
        validation = load_validation_cases(cases)
    except (OSError, ValueError, InputError) as error:
        raise SystemExit(f"error: the held-out cases cannot be read to compare this model "
                         f"with the one it started from ({error}){refusal}") from None
    if not cases:
        raise SystemExit(f"error: none of the run's held-out cases is in its sources any "
                         f"more, so it cannot be compared with the model it started "
                         f"from{refusal}")
    protocol = dict(seeds=config.val_seeds, corrections=config.val_corrections,
                    prompt=config.val_prompt)
    print(f"comparing with {origin.get('version')} on {len(cases)} held-out cases of "
          f"{len({c.patient_id for c in cases})} patients", file=sys.stderr)
    try:
        new = validate(make_segmenter("network", source, device), validation, **protocol)
        old = validate(make_segmenter("network", start, device), validation, **protocol)
    except InputError as error:  # e.g. a starting model this code can no longer load
        raise SystemExit(f"error: cannot compare this model with the one it started from "
                         f"({error}){refusal}") from None
    record = {"initial_version": origin.get("version"), "cases": [c.case_id for c in cases],
              "patients": len({c.patient_id for c in cases}), **protocol,
              "score": round(selection_score(new), 4),
              "initial_score": round(selection_score(old), 4), "dsc": new["dsc"],
              "initial_dsc": old["dsc"]}
    if "dsc_corrected" in new:
        record.update(dsc_corrected=new["dsc_corrected"],
                      initial_dsc_corrected=old["dsc_corrected"])
    if selection_score(new) < selection_score(old):
        what = (f"DSC {new['dsc']:.3f}" + (f", {new['dsc_corrected']:.3f} after "
                f"{config.val_corrections} corrections" if "dsc_corrected" in new else ""))
        was = (f"{old['dsc']:.3f}" + (f", {old['dsc_corrected']:.3f}"
               if "dsc_corrected" in old else ""))
        raise SystemExit(f"error: on {len(cases)} held-out cases of {record['patients']} "
                         f"patients this model scores {what} against {was} for "
                         f"{origin.get('version')}, the model it started from: it is worse; "
                         f"keep that model, or pass --force to export this one anyway")
    return record


def export(source: Path, target: Path = PACKAGE_WEIGHTS_DIR, combine_with_classical: bool = False,
           benchmark: Path | None = None, graph_cut_smoothness: float | None = None,
           force: bool = False, threshold: float = 0.5, baseline: Path | None = None,
           device: str | None = None, prompt_model: Path | None = None,
           classical_kinds: tuple[str, ...] = (),
           kind_thresholds: dict[str, float] | None = None,
           ensemble_members: tuple[Path, ...] = ()) -> Path:
    load_model(source)  # refuses anything the algorithm could not load
    if (classical_kinds or kind_thresholds) and prompt_model is None:
        raise SystemExit("error: --classical-kinds and --kind-thresholds set the prompt model's "
                         "card: give --prompt-model too")
    prompt_card = (_prompt_model_card(source, prompt_model, classical_kinds,
                                      kind_thresholds or {}) if prompt_model else None)
    card = complete_card(json.loads((source / CARD_NAME).read_text(encoding="utf-8")))
    if not force:
        check_beats_ellipsoid(card.get("validation") or {})
    card["combine_with_classical"] = combine_with_classical
    card["graph_cut_smoothness"] = graph_cut_smoothness
    card["threshold"] = threshold
    card["prompt_model"] = PROMPT_MODEL_DIR if prompt_card is not None else None
    members = _ensemble_member_cards(card, ensemble_members)
    card["ensemble_members"] = list(members)
    if benchmark is not None:
        card["validation"]["benchmark"] = _benchmark_record(card, benchmark)
    if not card["training"].get("cases"):
        raise SystemExit("error: the model card lists no training cases")
    ModelCard.model_validate(card)  # the card's own rules, before anything is written
    weights_file = card.get("weights_file", "model.safetensors")
    if not force:
        with tempfile.TemporaryDirectory(prefix="lesionseg-export-") as staged:
            shutil.copyfile(source / weights_file, Path(staged) / weights_file)
            (Path(staged) / CARD_NAME).write_text(json.dumps(card), encoding="utf-8")
            _write_members(Path(staged), members)  # scored as it ships: the ensemble
            compared = check_beats_initial_model(card, Path(staged), baseline, device)
        if compared is not None:
            card.setdefault("validation", {})["against_initial_model"] = compared
    target.mkdir(parents=True, exist_ok=True)
    inner = target / PROMPT_MODEL_DIR
    if inner.is_dir():  # a stale one would ship beside weights that do not name it
        shutil.rmtree(inner)
    for stale in target.glob(f"{ENSEMBLE_MEMBER_PREFIX}*"):
        if stale.is_dir():
            shutil.rmtree(stale)
    _write_members(target, members)
    if prompt_card is not None:
        inner.mkdir()
        shutil.copyfile(prompt_model / prompt_card["weights_file"],
                        inner / prompt_card["weights_file"])
        (inner / CARD_NAME).write_text(json.dumps(prompt_card, indent=2) + "\n",
                                       encoding="utf-8")
        load_model(inner)
    shutil.copyfile(source / weights_file, target / weights_file)
    (target / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    load_model(target)
    return target


def _ensemble_member_cards(card: dict, folders: tuple[Path, ...]) -> dict[str, tuple[Path, dict]]:
    """{subfolder name: (source folder, card)} of the networks averaged with the exported one:
    the same grid and training cases (the same recipe, another sample seed, say), each cut
    and wrapped by the main card alone."""
    members = {}
    cases = sorted(c["case"] for c in card["training"].get("cases", []))
    for i, folder in enumerate(folders, start=1):
        load_model(folder)
        member = complete_card(json.loads((folder / CARD_NAME).read_text(encoding="utf-8")))
        if member.get("grid_size", 64) != card.get("grid_size", 64):
            raise SystemExit(f"error: ensemble member {folder} has another grid size than "
                             "the exported model")
        if sorted(c["case"] for c in member["training"].get("cases", [])) != cases:
            raise SystemExit(f"error: ensemble member {folder} was trained on other cases than "
                             "the exported model: its card could not say what trained the "
                             "ensemble")
        member.update(combine_with_classical=False, graph_cut_smoothness=None, prompt_model=None,
                      ensemble_members=[])
        ModelCard.model_validate(member)
        members[f"{ENSEMBLE_MEMBER_PREFIX}{i}"] = (folder, member)
    return members


def _write_members(target: Path, members: dict[str, tuple[Path, dict]]) -> None:
    for name, (folder, member) in members.items():
        (target / name).mkdir()
        shutil.copyfile(folder / member["weights_file"], target / name / member["weights_file"])
        (target / name / CARD_NAME).write_text(json.dumps(member, indent=2) + "\n",
                                               encoding="utf-8")


def _prompt_model_card(source: Path, prompt_model: Path, classical_kinds: tuple[str, ...] = (),
                       kind_thresholds: dict[str, float] | None = None) -> dict:
    """The card of the network that answers prompts other than clicks: trained for some, on
    the clicks network's grid; it is cut at 0.5, or per kind at ``kind_thresholds``, and adds
    nothing (no classical average)."""
    load_model(prompt_model)
    card = complete_card(json.loads((prompt_model / CARD_NAME).read_text(encoding="utf-8")))
    kinds = [k for k in card.get("prompt_kinds", ["clicks"]) if k != "clicks"]
    if not kinds:
        raise SystemExit(f"error: {prompt_model} was trained on clicks only: a prompt model "
                         "must be trained for the other kinds (--prompt-kinds)")
    main_card = json.loads((source / CARD_NAME).read_text(encoding="utf-8"))
    if card.get("grid_size", 64) != main_card.get("grid_size", 64):
        raise SystemExit("error: the prompt model's grid size differs from the clicks model's")
    if not card["training"].get("cases"):
        raise SystemExit("error: the prompt model's card lists no training cases")
    kind_thresholds = kind_thresholds or {}
    foreign = sorted(k for k in kind_thresholds if k not in kinds or k in classical_kinds)
    if foreign:
        raise SystemExit(f"error: --kind-thresholds names {', '.join(foreign)}, which the prompt "
                         "model does not answer (untrained, or given to the classical method)")
    card.update(combine_with_classical=False, graph_cut_smoothness=None, threshold=0.5,
                prompt_model=None, classical_kinds=list(classical_kinds),
                kind_thresholds=dict(kind_thresholds))
    ModelCard.model_validate(card)
    return card


def _kind_threshold(text: str) -> tuple[str, float]:
    kind, _, cut = text.partition("=")
    try:
        value = float(cut)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not KIND=CUT (e.g. box=0.3)") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"the cut in {text!r} must lie strictly between 0 and 1")
    return kind, value


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
    parser.add_argument("--baseline", type=Path, default=None, metavar="FOLDER",
                        help="the model a fine-tuned run started from, when it is no longer "
                             "where the run found it (default: the card's init weights)")
    parser.add_argument("--device", default=None,
                        help="where the comparison with the starting model runs (default: "
                             "cuda when available, else cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch's CPU threads for that comparison")
    parser.add_argument("--prompt-model", type=Path, default=None, metavar="FOLDER",
                        help="a run's final/ folder trained for the other prompt kinds "
                             "(--prompt-kinds): it answers cases with scribbles, outlines, "
                             "boxes or RECIST lines, the exported model cases of clicks alone "
                             "(copied into TARGET/prompts; the card's prompt_model)")
    parser.add_argument("--classical-kinds", nargs="+", default=[], metavar="KIND",
                        help="with --prompt-model: prompt kinds the classical method answers "
                             "instead of it (those it measured better on, on cases other "
                             "than those you report)")
    parser.add_argument("--kind-thresholds", nargs="+", default=[], metavar="KIND=CUT",
                        type=_kind_threshold,
                        help="with --prompt-model: a first answer's cut for cases holding this "
                             "prompt kind (e.g. box=0.3), chosen on cases other than those you "
                             "report (benchmarks/screens/kind_threshold.py)")
    parser.add_argument("--ensemble-member", dest="ensemble_members", type=Path,
                        action="append", default=[], metavar="FOLDER",
                        help="another run's final/ folder trained on the same cases (the same "
                             "recipe with another --sample-seed, say), averaged with SOURCE "
                             "before the cut (copied into TARGET/member1, ...; repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="export even a model that its validation scores below the "
                             "six-click ellipsoid baseline, or that scores worse than the "
                             "model it started from on the run's held-out patients")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.graph_cut is not None and not args.graph_cut > 0:
        parser.error("--graph-cut needs a positive smoothness")
    if not 0.0 < args.threshold < 1.0:
        parser.error("--threshold must lie strictly between 0 and 1")
    target = export(args.source, args.target, args.combine_with_classical, args.benchmark,
                    args.graph_cut, force=args.force, threshold=args.threshold,
                    baseline=args.baseline, device=args.device, prompt_model=args.prompt_model,
                    classical_kinds=tuple(args.classical_kinds),
                    kind_thresholds=dict(args.kind_thresholds),
                    ensemble_members=tuple(args.ensemble_members))
    print(f"exported to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
