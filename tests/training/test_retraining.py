"""Retraining from a folder of saved cases: ``python -m training.train`` continues a model on it
in one command with the saved patients driving the split, and the export refuses a result that
scores worse than its starting model on the held-out patients (unless --force)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from algorithm.io.retraining_folder import read_case_records, save_case
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import CARD_NAME, load_model, save_model
from algorithm.phantom import make_phantom
from training.datasets import patient_split, read_nnunet_folder
from training.export import export, main as export_main
from training.train import main as train_main

ROOT = Path(__file__).resolve().parents[2]
FEATURES = [4, 8, 16]
#: patient -> the seeds of their scans: two patients with two scans each
PATIENTS = {"P1": (0, 1), "P2": (2, 3), "P3": (4,), "P4": (5,)}


def _constant_model(lesion: bool) -> UNet3D:
    """A tiny network whose answer is the same everywhere: all lesion, or none."""
    torch.manual_seed(0)
    model = UNet3D(**Architecture(features=FEATURES).model_dump())
    head = model.heads[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([-10.0, 10.0] if lesion else [10.0, -10.0]))
    return model


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory) -> Path:
    """Cases saved as the server or a viewer saves them."""
    root = tmp_path_factory.mktemp("saved") / "site"
    for patient, seeds in PATIENTS.items():
        for seed in seeds:
            phantom = make_phantom("CT", shape=(24, 64, 64), seed=seed)
            save_case(root, phantom.image, phantom.mask, case_id=f"{patient}_scan{seed}",
                      patient_id=patient, licence="CC BY 4.0", source=f"scan{seed}.nii.gz")
    return root


@pytest.fixture(scope="module")
def starting_model(tmp_path_factory) -> Path:
    """The model retraining continues ("the shipped model" here): it answers with the whole
    volume of interest, which overlaps every lesion."""
    card = ModelCard(name="lesionseg-unet", version="2026.01.01-shipped-e9",
                     architecture=Architecture(features=FEATURES), grid_size=32,
                     training={"cases": [{"case": "elsewhere"}]})
    return save_model(_constant_model(lesion=True), card,
                      tmp_path_factory.mktemp("start") / "weights")


@pytest.fixture(scope="module")
def run(saved_folder, starting_model, tmp_path_factory) -> Path:
    """The README's one command, at a size CI affords."""
    out = tmp_path_factory.mktemp("runs") / "site"
    assert train_main(["--nnunet", str(saved_folder), "--init-weights", str(starting_model),
                       "--lr", "0.0002", "--n-folds", "2", "--fold", "0", "--out", str(out),
                       "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "1",
                       "--grid-size", "32", "--features", *map(str, FEATURES),
                       "--threads", "1", "--synthetic-fraction", "0.0"]) == 0
    return out


def _candidate(run: Path, folder: Path, weights: UNet3D | Path) -> Path:
    """The run's exported model with other weights: a stand-in for a retraining that went
    worse (or not). Its card's own validation figures are left out, so that the ellipsoid
    check (tests/training/test_export.py) does not answer before the comparison."""
    shutil.copytree(run / "final", folder)
    card = json.loads((folder / CARD_NAME).read_text(encoding="utf-8"))
    card["validation"] = {}
    (folder / CARD_NAME).write_text(json.dumps(card), encoding="utf-8")
    if isinstance(weights, Path):
        shutil.copyfile(weights / "model.safetensors", folder / "model.safetensors")
    else:
        save_model(weights, ModelCard.model_validate(card), folder)
    return folder


def test_saved_records_give_the_patients_and_the_split_keeps_them_whole(saved_folder):
    cases = read_nnunet_folder(saved_folder)
    assert {c.case_id: c.patient_id for c in cases} == {
        f"{p}_scan{s}": p for p, seeds in PATIENTS.items() for s in seeds}
    assert {c.licence for c in cases} == {"CC BY 4.0"}
    for fold in (0, 1):
        train, val = patient_split(cases, 2, fold)
        assert {c.patient_id for c in train}.isdisjoint(c.patient_id for c in val)
        assert len(train) + len(val) == 6
    # without the records (any other nnU-Net folder) each case would be its own patient
    assert read_nnunet_folder(saved_folder, patient_of=lambda c: c)[0].patient_id.endswith(
        "_scan0")


def test_one_command_continues_the_model_holding_out_whole_patients(run, saved_folder,
                                                                    starting_model):
    patients = {c: r["patient_id"] for c, r in read_case_records(saved_folder).items()}
    split = json.loads((run / "split.json").read_text(encoding="utf-8"))
    held = {patients[c] for c in split["held_out"]}
    trained = {patients[c] for c in split["train"]}
    assert held and trained and held.isdisjoint(trained)
    assert sorted(split["held_out"] + split["train"]) == sorted(patients)
    model, card = load_model(run / "final")
    origin = card.training["initialised_from"]
    assert origin["version"] == "2026.01.01-shipped-e9"
    assert origin["path"] == str(starting_model) and len(origin["sha256"]) == 64
    assert {c["patient"] for c in card.training["cases"]} == trained
    assert sorted(card.training["validation_cases"]) == sorted(split["held_out"])
    assert 0.0 <= card.validation["dsc"] <= 1.0
    assert card.licence == "Training data licences: CC BY 4.0"
    start = load_model(starting_model)[0].state_dict()  # it really started there, and moved
    assert any(not torch.equal(v, start[k]) for k, v in model.state_dict().items())


def test_the_export_refuses_a_model_worse_than_the_one_it_started_from(run, tmp_path):
    worse = _candidate(run, tmp_path / "worse", _constant_model(lesion=False))
    target = tmp_path / "ship"
    command = [sys.executable, "-m", "training.export", str(worse), str(target),
               "--threads", "1", "--device", "cpu"]
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode != 0 and not target.exists()
    assert last.startswith("error: on ") and "held-out cases of " in last
    assert "against" in last and "2026.01.01-shipped-e9, the model it started from" in last
    scored = re.search(r"scores DSC ([0-9.]+) against ([0-9.]+) for", last)
    assert float(scored.group(1)) < float(scored.group(2)) and "--force" in last
    assert export_main([str(worse), str(target), "--force", "--threads", "1"]) == 0
    assert load_model(target)[1].version == load_model(worse)[1].version


def test_a_model_no_worse_is_exported_with_the_comparison_in_its_card(run, starting_model,
                                                                      tmp_path):
    same = _candidate(run, tmp_path / "same", starting_model)  # the start's own weights
    shipped = export(same, tmp_path / "ship", device="cpu")
    record = load_model(shipped)[1].validation["against_initial_model"]
    split = json.loads((run / "split.json").read_text(encoding="utf-8"))
    assert record["initial_version"] == "2026.01.01-shipped-e9"
    assert sorted(record["cases"]) == sorted(split["held_out"]) and record["patients"] == 2
    assert record["score"] == record["initial_score"] > 0.0


def test_a_starting_model_that_has_changed_since_is_not_compared_with(run, starting_model,
                                                                      tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(starting_model, moved)
    worse = _candidate(run, tmp_path / "worse", _constant_model(lesion=False))
    changed = tmp_path / "changed"
    save_model(_constant_model(lesion=False), load_model(starting_model)[1], changed)
    with pytest.raises(SystemExit, match="no longer holds the model this run started from"):
        export(worse, tmp_path / "ship", baseline=changed, device="cpu")
    with pytest.raises(SystemExit, match="it is worse"):  # the right one, found elsewhere
        export(worse, tmp_path / "ship", baseline=moved, device="cpu")
    assert not (tmp_path / "ship").exists()
