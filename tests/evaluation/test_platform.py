"""The grand-challenge entry point end to end: matching, mapping, groups, steps, errors."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluation import __main__ as platform_main
from evaluation import case_metrics
from evaluation.cli import guarded
from tests.evaluation.helpers import PlatformDirs, job_json, sphere_pair, strict_load, write_mask

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "evaluation" / "test"


def _load_fixture_comparer():
    """evaluation/test/compare_metrics.py is a stand-alone script (it runs in the container too)."""
    spec = importlib.util.spec_from_file_location("compare_metrics", FIXTURE / "compare_metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.differences


differences = _load_fixture_comparer()


def run(platform: PlatformDirs, *extra: str) -> int:
    return guarded(platform_main.main, [*platform.argv, *extra])


def test_socket_and_legacy_interface_keys_end_to_end(platform: PlatformDirs) -> None:
    ref_a, pred_a = sphere_pair(shift=1)
    ref_b, pred_b = sphere_pair(shift=0)
    platform.add("case_a", ref_a, pred_a, key="socket", ref_suffix=".nii.gz")
    platform.add("case_b", ref_b, pred_b, key="interface", ref_suffix=".nrrd")
    platform.write_predictions()
    assert run(platform) == 0
    metrics = platform.metrics()
    results = {r["case"]: r for r in metrics["results"]}
    assert set(results) == {"case_a", "case_b"}
    assert results["case_b"]["dsc"] == 1.0 and results["case_a"]["dsc"] < 1.0
    assert results["case_a"]["hd95_mm"] == pytest.approx(1.0)  # shifted one 1 mm voxel
    assert results["case_a"]["reference"] == "case_a.nii.gz" and results["case_a"][
        "job_pk"
    ].startswith("job-")
    aggregates = metrics["aggregates"]
    for key in ("dsc", "iou", "sensitivity", "precision", "hd95_mm", "assd_mm", "nsd_2mm"):
        assert {"mean", "std", "median", "q1", "q3"} <= aggregates[key].keys()
    assert aggregates["dsc"]["mean"] == pytest.approx((results["case_a"]["dsc"] + 1.0) / 2)
    assert set(aggregates["agreement"]) == {"volume_ml", "max_axial_diameter_mm", "short_axis_mm"}


def test_bundled_fixture_matches_its_expected_metrics(tmp_path: Path) -> None:
    """The same check as evaluation/test.sh, without Docker."""
    out = tmp_path / "out"
    code = guarded(
        platform_main.main,
        [
            "--input",
            str(FIXTURE / "input"),
            "--output",
            str(out),
            "--ground-truth",
            str(FIXTURE / "ground_truth"),
        ],
    )
    assert code == 0
    expected = json.loads((FIXTURE / "expected_metrics.json").read_text(encoding="utf-8"))
    assert differences(expected, strict_load(out / "metrics.json"), "$", 1e-6, 1e-6) == []


def test_default_match_ignores_extensions_and_mapping_file_overrides(
    platform: PlatformDirs,
) -> None:
    ref, pred = sphere_pair(shift=1)
    platform.add("plain", ref, pred, image_name="plain.tif")
    write_mask(platform.ground_truth / "lesion_007.nrrd", ref)
    platform.add("unused", None, pred, image_name="scan-XYZ.mha")
    (platform.ground_truth / "mapping.json").write_text(
        json.dumps({"scan-XYZ.mha": "lesion_007.nrrd"})
    )
    platform.write_predictions()
    assert run(platform) == 0
    assert sorted(r["case"] for r in platform.metrics()["results"]) == ["lesion_007", "plain"]


def test_mapping_flag_points_to_a_file_elsewhere(platform: PlatformDirs, tmp_path: Path) -> None:
    ref, pred = sphere_pair()
    write_mask(platform.ground_truth / "ref_1.mha", ref)
    platform.add("x", None, pred, image_name="input_1.mha")
    platform.write_predictions()
    mapping = tmp_path / "elsewhere.json"
    mapping.write_text(json.dumps({"input_1.mha": "ref_1.mha"}))
    assert run(platform, "--mapping", str(mapping)) == 0
    assert platform.metrics()["results"][0]["case"] == "ref_1"


def test_groups_csv_in_ground_truth_gives_per_group_aggregates(platform: PlatformDirs) -> None:
    for i, shift in enumerate((0, 1, 2)):
        ref, pred = sphere_pair(shift=shift)
        platform.add(f"c{i}", ref, pred)
    (platform.ground_truth / "groups.csv").write_text(
        "case,modality,phenotype\nc0,CT,solid\nc1,CT,\nc2,MR,solid\nzz,MR,x\n"
    )
    platform.write_predictions()
    assert run(platform) == 0
    by_group = platform.metrics()["aggregates"]["by_group"]
    assert (
        by_group["modality"]["CT"]["dsc"]["n"] == 2 and by_group["modality"]["MR"]["dsc"]["n"] == 1
    )
    assert by_group["phenotype"]["unspecified"]["dsc"]["n"] == 1
    assert by_group["modality"]["CT"]["dsc"]["mean"] > by_group["modality"]["MR"]["dsc"]["mean"]


def test_jobs_on_the_same_image_are_steps_ordered_by_clicks(platform: PlatformDirs) -> None:
    for name, shifts in (("a", (3, 1, 0)), ("b", (2, 2, 1))):
        ref, _ = sphere_pair()
        write_mask(platform.ground_truth / f"{name}.mha", ref)
        for clicks, shift in zip(
            (8, 6, 7), (shifts[2], shifts[0], shifts[1])
        ):  # listed out of order
            platform.add(
                name, None, np.roll(ref, shift, axis=2), n_clicks=clicks, pk=f"{name}-{clicks}"
            )
    platform.write_predictions()
    assert run(platform) == 0
    metrics = platform.metrics()
    steps = {(r["case"], r["step"]): r for r in metrics["results"]}
    assert steps[("a", 2)]["dsc"] == 1.0 and steps[("a", 0)]["job_pk"] == "a-6"
    agg = metrics["aggregates"]
    assert agg["steps"]["steps"] == [0, 1, 2]
    assert agg["steps"]["dsc"]["2"]["mean"] == pytest.approx(agg["dsc"]["mean"])
    assert agg["steps"]["dsc"]["0"]["mean"] < agg["steps"]["dsc"]["2"]["mean"]
    assert 0 < agg["steps"]["dsc_auc"]["mean"] < 1


def test_no_nan_is_ever_written(platform: PlatformDirs, monkeypatch) -> None:
    """A metric bug producing NaN fails the run (exit 1) instead of a null on the leaderboard."""
    ref, pred = sphere_pair()
    platform.add("a", ref, pred)
    platform.write_predictions()
    real = case_metrics.surface_scores

    def nan_scores(*args, **kwargs):
        return type(real(*args, **kwargs))(hd95_mm=float("nan"), assd_mm=0.0, nsd=1.0)

    monkeypatch.setattr(case_metrics, "surface_scores", nan_scores)
    assert run(platform) == 1
    assert not (platform.output / "metrics.json").exists()
    assert os.listdir(platform.output) == []


def build_valid(platform: PlatformDirs) -> tuple[np.ndarray, np.ndarray]:
    ref, pred = sphere_pair(shift=1)
    platform.add("a", ref, pred)
    platform.add("b", ref, pred)
    return ref, pred


def _missing_case(p: PlatformDirs) -> None:
    build_valid(p)
    write_mask(p.ground_truth / "c.mha", sphere_pair()[0])
    p.write_predictions()


def _extra_case(p: PlatformDirs) -> None:
    build_valid(p)
    p.add("d", None, sphere_pair()[1])
    p.write_predictions()


def _geometry(p: PlatformDirs) -> None:
    ref, pred = sphere_pair()
    p.add("a", ref, pred, spacing_xyz=(1.0, 1.0, 1.0), pred_spacing_xyz=(1.0, 1.0, 2.0))
    p.write_predictions()


def _size(p: PlatformDirs) -> None:
    ref, pred = sphere_pair()
    p.add("a", ref, pred[:, :, :-1])
    p.write_predictions()


def _non_binary_prediction(p: PlatformDirs) -> None:
    ref, pred = sphere_pair()
    p.add("a", ref, pred.astype(np.uint8) * 255)
    p.write_predictions()


def _non_binary_reference(p: PlatformDirs) -> None:
    ref, pred = sphere_pair()
    p.add("a", ref.astype(np.uint8) * 2, pred)
    p.write_predictions()


def _edit_job(edit):
    def scenario(p: PlatformDirs) -> None:
        build_valid(p)
        edit(p.jobs[0])
        p.write_predictions()

    return scenario


def _raw_predictions(text: str):
    def scenario(p: PlatformDirs) -> None:
        build_valid(p)
        (p.input / "predictions.json").write_text(text)

    return scenario


def _two_outputs(p: PlatformDirs) -> None:
    build_valid(p)
    folder = p.input / p.jobs[0]["pk"] / "output" / "images" / "lesion-segmentation"
    write_mask(folder / "second.mha", sphere_pair()[0])
    p.write_predictions()


def _duplicate_reference_names(p: PlatformDirs) -> None:
    build_valid(p)
    write_mask(p.ground_truth / "a.nii.gz", sphere_pair()[0])
    p.write_predictions()


def _ambiguous_steps(p: PlatformDirs) -> None:
    ref, pred = sphere_pair()
    p.add("a", ref, pred, n_clicks=6, pk="first")
    p.add("a", None, pred, n_clicks=6, pk="second")
    p.write_predictions()


def _mapping(content: str):
    def scenario(p: PlatformDirs) -> None:
        build_valid(p)
        (p.ground_truth / "mapping.json").write_text(content)
        p.write_predictions()

    return scenario


def _groups_missing_row(p: PlatformDirs) -> None:
    build_valid(p)
    (p.ground_truth / "groups.csv").write_text("case,modality\na,CT\n")
    p.write_predictions()


def _no_predictions_file(p: PlatformDirs) -> None:
    build_valid(p)


def _empty_ground_truth(p: PlatformDirs) -> None:
    p.jobs.append(job_json("j1", "a.mha"))
    write_mask(
        p.input / "j1" / "output" / "images" / "lesion-segmentation" / "x.mha", sphere_pair()[1]
    )
    p.write_predictions()


ERRORS = {
    "missing case": (_missing_case, r"1 reference case\(s\) in .* have no prediction: 'c'"),
    "extra case": (_extra_case, r"1 prediction\(s\) have no reference in .*: 'd.mha'"),
    "spacing mismatch": (_geometry, "is not on the grid of reference a.mha: spacing"),
    "size mismatch": (_size, "is not on the grid of reference a.mha: size"),
    "non-binary prediction": (_non_binary_prediction, "prediction of job .* is not binary: .* 255"),
    "non-binary reference": (
        _non_binary_reference,
        "reference of job .* is not binary: .* 2 besides",
    ),
    "no predictions.json": (
        _no_predictions_file,
        "predictions file .*predictions.json does not exist",
    ),
    "invalid JSON": (_raw_predictions("[{"), "predictions file .* is not valid JSON"),
    "not a list": (
        _raw_predictions('{"pk": "x"}'),
        "predictions file .* is malformed at top level",
    ),
    "empty list": (_raw_predictions("[]"), "lists no jobs"),
    "job without outputs key": (
        _raw_predictions('[{"pk": "x", "inputs": []}]'),
        r"malformed at 0.outputs: Field required",
    ),
    "neither socket nor interface": (
        _edit_job(lambda job: job["inputs"][0].pop("socket")),
        "malformed at 0.inputs.0: Value error, has neither",
    ),
    "failed job": (_edit_job(lambda job: job.update(status="Failed")), "has status 'Failed'"),
    "unsafe pk": (_edit_job(lambda job: job.update(pk="../../etc")), "is not a plain identifier"),
    "no image input": (
        _edit_job(lambda job: job["inputs"].pop(0)),
        "has no 'medical-image' input image",
    ),
    "no segmentation output": (
        _edit_job(lambda job: job.update(outputs=[])),
        "has no 'lesion-segmentation' output",
    ),
    "escaping relative path": (
        _edit_job(lambda job: job["outputs"][0]["socket"].update(relative_path="../../x")),
        "must stay inside",
    ),
    "missing output folder": (
        _edit_job(lambda job: job["outputs"][0]["socket"].update(relative_path="images/other")),
        "does not exist",
    ),
    "two output files": (_two_outputs, "expected exactly one .mha/.tif/.tiff file .* found 2"),
    "duplicate reference names": (_duplicate_reference_names, "have the same case name 'a'"),
    "ambiguous steps": (_ambiguous_steps, "distinct number of points"),
    "mapping to absent file": (
        _mapping('{"a.mha": "nope.mha"}'),
        "maps 'a.mha' to 'nope.mha', which is not a mask",
    ),
    "malformed mapping": (_mapping('["a.mha"]'), "must be a JSON object"),
    "groups without a row": (_groups_missing_row, r"has no row for 1 case\(s\): 'b'"),
    "no reference masks": (_empty_ground_truth, "contains no mask files"),
}


@pytest.mark.parametrize("scenario", list(ERRORS))
def test_bad_input_ends_with_one_clear_line_and_no_metrics(
    platform: PlatformDirs, capsys, scenario: str
) -> None:
    build, pattern = ERRORS[scenario]
    build(platform)
    assert run(platform) == 2
    last_line = capsys.readouterr().err.rstrip("\n").splitlines()[-1]
    assert last_line.startswith("error: ")
    assert re.search(pattern, last_line), last_line
    assert not (platform.output / "metrics.json").exists()


def test_module_entry_point_exit_code_and_stderr(platform: PlatformDirs) -> None:
    _missing_case(platform)
    completed = subprocess.run(
        [sys.executable, "-m", "evaluation", *platform.argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1].startswith("error: 1 reference case(s) in ")
    assert not (platform.output / "metrics.json").exists()
