"""Export: the card that ships says what its benchmark figures belong to."""

import argparse
import json

import pytest

from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import load_model, save_model
from training.export import export


def _run(folder, cases, validation=None):
    architecture = Architecture(features=[4, 8])
    card = ModelCard(name="t", version="2026.01.01-e3", architecture=architecture, grid_size=16,
                     training={"cases": [{"case": c} for c in cases]},
                     validation=validation or {})
    return save_model(UNet3D(**architecture.model_dump()), card, folder)


def _benchmark(path, held_out, version="twin-e20"):
    path.write_text(json.dumps({"held_out_cases": held_out, "weights_version": version,
                                "command": "bench --weights runs/twin/final",
                                "overall": {"network": {"mean": 0.8, "sd": 0.1}}}))
    return path


def test_a_benchmark_of_held_out_cases_is_recorded_as_it_is(tmp_path):
    run = _run(tmp_path / "run", ["a", "b"])
    shipped = export(run, tmp_path / "ship", benchmark=_benchmark(tmp_path / "b.json", ["c"]))
    record = load_model(shipped)[1].validation["benchmark"]
    assert record["held_out_cases"] == ["c"] and "note" not in record


def test_a_model_trained_on_the_benchmark_cases_says_the_figures_are_its_twins(tmp_path):
    run = _run(tmp_path / "run", ["a", "b", "c"])
    shipped = export(run, tmp_path / "ship",
                     benchmark=_benchmark(tmp_path / "b.json", ["b", "c"]))
    note = load_model(shipped)[1].validation["benchmark"]["note"]
    assert "twin-e20" in note and "trained on 2 of them" in note
    assert "runs/twin/final" in note and "cross-validation" not in note
    folds = export(run, tmp_path / "ship-cv", benchmark=_benchmark(
        tmp_path / "cv.json", ["a", "b", "c"], "twin-fold0-e20 + twin-fold1-e20"))
    note = load_model(folds)[1].validation["benchmark"]["note"]
    assert "a cross-validation: each model its own share" in note and "3 of them" in note


def test_a_card_without_training_cases_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no training cases"):
        export(_run(tmp_path / "run", []), tmp_path / "ship")


def test_the_command_line_records_the_inference_settings_in_the_card(tmp_path, capsys):
    from training.export import main

    run = _run(tmp_path / "run", ["a"])
    assert main([str(run), str(tmp_path / "ship"), "--combine-with-classical",
                 "--graph-cut", "2"]) == 0
    card = load_model(tmp_path / "ship")[1]
    assert card.combine_with_classical and card.graph_cut_smoothness == 2.0
    assert main([str(run), str(tmp_path / "plain")]) == 0
    assert load_model(tmp_path / "plain")[1].graph_cut_smoothness is None
    with pytest.raises(SystemExit):
        main([str(run), str(tmp_path / "bad"), "--graph-cut", "0"])
    assert "positive smoothness" in capsys.readouterr().err


def test_an_invalid_inference_setting_is_refused_before_anything_is_written(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        export(_run(tmp_path / "run", ["a"]), tmp_path / "ship", graph_cut_smoothness=0.0)
    assert not (tmp_path / "ship").exists()


def test_a_model_below_the_ellipsoid_on_its_validation_is_refused_unless_forced(tmp_path):
    import subprocess
    import sys

    run = _run(tmp_path / "run", ["a"], validation={"dsc": 0.066, "ellipsoid_dsc": 0.61})
    command = [sys.executable, "-m", "training.export", str(run), str(tmp_path / "ship")]
    refused = subprocess.run(command, capture_output=True, text=True)
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode != 0 and not (tmp_path / "ship").exists()
    assert last.startswith("error: validation DSC 0.066 is below the six-click ellipsoid")
    assert "--force" in last
    forced = subprocess.run(command + ["--force"], capture_output=True, text=True)
    assert forced.returncode == 0 and load_model(tmp_path / "ship")[1].validation["dsc"] == 0.066


@pytest.mark.parametrize("validation", [{"dsc": 0.8, "ellipsoid_dsc": 0.7}, {},
                                        {"dsc": 0.0, "ellipsoid_dsc": 0.0}])
def test_a_model_at_or_above_the_ellipsoid_or_without_validation_is_exported(tmp_path,
                                                                            validation):
    run = _run(tmp_path / "run", ["a"], validation=validation)
    assert load_model(export(run, tmp_path / "ship"))[1].validation == validation


def test_the_command_line_records_the_threshold_and_refuses_one_outside_0_1(tmp_path, capsys):
    from training.export import main

    run = _run(tmp_path / "run", ["a"])
    assert main([str(run), str(tmp_path / "ship"), "--threshold", "0.8"]) == 0
    assert load_model(tmp_path / "ship")[1].threshold == 0.8
    assert main([str(run), str(tmp_path / "plain")]) == 0
    assert load_model(tmp_path / "plain")[1].threshold == 0.5
    with pytest.raises(SystemExit):
        main([str(run), str(tmp_path / "bad"), "--threshold", "1"])
    assert "strictly between 0 and 1" in capsys.readouterr().err


def test_the_command_line_reads_kind_thresholds_as_kind_equals_cut(capsys):
    from training.export import _kind_threshold

    assert _kind_threshold("box=0.3") == ("box", 0.3)
    for wrong in ("box", "box=high", "box=1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            _kind_threshold(wrong)
