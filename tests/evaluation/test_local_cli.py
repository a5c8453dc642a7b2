"""The local CLI: scoring, comparing two methods (Wilcoxon, plots, report), steps, errors."""

from __future__ import annotations

import csv
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluation import local
from evaluation.cli import guarded
from evaluation.masks import read_mask
from tests.evaluation.helpers import sphere_pair, strict_load, write_mask

CASES = {"c1": "CT", "c2": "CT", "c3": "MR", "c4": "MR", "c5": "CT", "c6": "MR"}


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """References (mixed formats), a perfect method and a shifted one, and a group table."""
    suffixes = [".mha", ".nii.gz", ".nrrd"]
    for i, case in enumerate(CASES):
        ref, _ = sphere_pair(radius=3.0 + 0.5 * i)
        write_mask(tmp_path / "refs" / f"{case}{suffixes[i % 3]}", ref)
        write_mask(tmp_path / "good" / f"{case}.mha", ref)
        write_mask(tmp_path / "shifted" / f"{case}.nii.gz", np.roll(ref, 1 + i % 2, axis=2))
    (tmp_path / "groups.csv").write_text(
        "case,modality,site\n" + "".join(f"{c},{m},s1\n" for c, m in CASES.items())
    )
    return tmp_path


def run(*argv: str) -> int:
    return guarded(local.main, list(argv))


def write_steps(study: Path, folder: Path, shifts: tuple[int, ...]) -> None:
    """Step k of each case is its reference shifted shifts[k] voxels along x."""
    for step, shift in enumerate(shifts):
        for case in CASES:
            reference = read_mask(next((study / "refs").glob(f"{case}.*"))).array
            write_mask(folder / f"step{step}" / f"{case}.mha", np.roll(reference, shift, axis=2))


def test_single_method_with_steps_writes_metrics_csv_plots_and_report(study: Path) -> None:
    write_steps(study, study / "interactive", (2, 1, 0))
    out = study / "out"
    code = run(
        "--references",
        str(study / "refs"),
        "--predictions",
        f"mine={study / 'interactive'}",
        "--groups",
        str(study / "groups.csv"),
        "--group-column",
        "modality",
        "--output",
        str(out),
    )
    assert code == 0
    metrics = strict_load(out / "mine" / "metrics.json")
    assert len(metrics["results"]) == 18 and set(metrics["aggregates"]["by_group"]) == {"modality"}
    steps = metrics["aggregates"]["steps"]
    assert steps["steps"] == [0, 1, 2] and steps["dsc"]["2"]["mean"] == 1.0
    assert steps["dsc"]["0"]["mean"] < steps["dsc"]["1"]["mean"] < 1.0
    assert metrics["aggregates"]["dsc"]["mean"] == 1.0  # headline: final step
    rows = list(csv.DictReader((out / "mine" / "results.csv").open(encoding="utf-8")))
    assert [(r["case"], r["step"]) for r in rows[:2]] == [("c1", "0"), ("c1", "1")] and rows[0][
        "modality"
    ] == "CT"
    assert float(rows[0]["dsc"]) == pytest.approx(metrics["results"][0]["dsc"])
    report = (out / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((plots/[^)]+\.png)\)", report)
    assert {Path(link).name for link in links} == {
        "dsc_by_modality.png",
        "bland_altman_volume_ml.png",
        "bland_altman_max_axial_diameter_mm.png",
        "bland_altman_short_axis_mm.png",
        "dsc_per_step.png",
    }
    for link in links:
        assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Interactive steps" in report and "Paired comparison" not in report


def test_two_methods_get_wilcoxon_p_values_and_side_by_side_plots(study: Path) -> None:
    out = study / "out"
    code = run(
        "--references",
        str(study / "refs"),
        "--predictions",
        f"good={study / 'good'}",
        "--predictions",
        f"shifted={study / 'shifted'}",
        "--groups",
        str(study / "groups.csv"),
        "--output",
        str(out),
    )
    assert code == 0
    comparison = strict_load(out / "comparison.json")
    assert (comparison["method_a"], comparison["method_b"], comparison["n_cases"]) == (
        "good",
        "shifted",
        6,
    )
    dsc = comparison["tests"]["dsc"]
    assert dsc["p_value"] == pytest.approx(
        2 / 64
    )  # perfect beats shifted on all 6: exact p = 2 / 2^6
    assert dsc["median_a"] == 1.0 and dsc["median_difference"] > 0
    for name, test in comparison["tests"].items():
        assert 0.0 <= test["p_value"] <= 1.0, name
    assert set(comparison["tests"]) >= {"hd95_mm", "assd_mm", "nsd_2mm", "volume_abs_error_ml"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Paired comparison: good vs shifted" in report and "| dsc |" in report
    for png in ("dsc_by_modality.png", "dsc_by_site.png", "bland_altman_volume_ml.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    assert strict_load(out / "good" / "metrics.json")["aggregates"]["dsc"]["mean"] == 1.0


@pytest.mark.parametrize(
    "make_args, pattern",
    [
        (
            lambda s: [
                "--predictions",
                str(s / "good"),
                "--predictions",
                str(s / "shifted"),
                "--predictions",
                str(s / "good"),
            ],
            "once .* or twice",
        ),
        (
            lambda s: ["--predictions", f"x={s / 'good'}", "--predictions", f"x={s / 'shifted'}"],
            "different names",
        ),
        (
            lambda s: ["--predictions", str(s / "good"), "--group-column", "modality"],
            "needs --groups",
        ),
        (lambda s: ["--predictions", f"bad name={s / 'good'}"], "method name"),
        (lambda s: ["--predictions", str(s / "absent")], "does not exist"),
        (
            lambda s: [
                "--predictions",
                str(s / "good"),
                "--groups",
                str(s / "groups.csv"),
                "--group-column",
                "stage",
            ],
            r"no column\(s\) \['stage'\]",
        ),
    ],
)
def test_usage_errors(study: Path, capsys, make_args, pattern: str) -> None:
    out = study / "out"
    assert run("--references", str(study / "refs"), "--output", str(out), *make_args(study)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and re.search(pattern, last), last
    assert not out.exists()


def test_missing_prediction_and_mixed_step_folder_are_errors(study: Path, capsys) -> None:
    (study / "good" / "c3.mha").unlink()
    assert (
        run(
            "--references",
            str(study / "refs"),
            "--predictions",
            str(study / "good"),
            "--output",
            str(study / "out"),
        )
        == 2
    )
    assert "have no prediction: 'c3'" in capsys.readouterr().err.strip().splitlines()[-1]
    (study / "shifted" / "step0").mkdir()
    assert (
        run(
            "--references",
            str(study / "refs"),
            "--predictions",
            str(study / "shifted"),
            "--output",
            str(study / "out"),
        )
        == 2
    )
    assert "mixes mask files with step<k>/" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (study / "out").exists()


def test_module_runs_as_a_command(study: Path, monkeypatch, capsys) -> None:
    argv = [
        "python -m evaluation.local",
        "--references",
        str(study / "refs"),
        "--predictions",
        str(study / "good"),
        "--output",
        str(study / "out"),
        "--no-plots",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delitem(sys.modules, "evaluation.local")  # run it fresh, as ``python -m`` would
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("evaluation.local", run_name="__main__")
    assert exited.value.code == 0
    assert "good: DSC 1.0000" in capsys.readouterr().out
    assert (study / "out" / "report.md").exists() and not (study / "out" / "plots").exists()


def test_allow_missing_scores_only_the_predicted_cases_and_says_what_it_skipped(
    study: Path, capsys
) -> None:
    (study / "good" / "c3.mha").unlink()
    (study / "good" / "c5.mha").unlink()
    out = study / "out"
    argv = ["--references", str(study / "refs"), "--predictions", str(study / "good")]
    assert run(*argv, "--output", str(out)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "2 reference case(s) have no prediction: 'c3', 'c5'" in last
    assert last.endswith("add --allow-missing") and not out.exists()
    assert run(*argv, "--allow-missing", "--output", str(out)) == 0
    printed = capsys.readouterr().out
    assert "skipped 2 of 6 reference case(s) without a prediction" in printed
    metrics = strict_load(out / "good" / "metrics.json")
    assert sorted(r["case"] for r in metrics["results"]) == ["c1", "c2", "c4", "c6"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "2 reference case(s) without a prediction from **good** were skipped" in report


def test_a_one_case_group_has_no_sd_and_last_step_tables_say_so(study: Path, capsys) -> None:
    (study / "groups.csv").write_text(
        "case,site\n" + "".join(f"{c},{'solo' if c == 'c1' else 'many'}\n" for c in CASES)
    )
    write_steps(study, study / "interactive", (1, 0))
    out = study / "out"
    argv = ["--references", str(study / "refs"), "--groups", str(study / "groups.csv")]
    assert run(*argv, "--predictions", str(study / "interactive"), "--output", str(out)) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    solo = next(line for line in report.splitlines() if line.startswith("| solo |"))
    assert solo == "| solo | 1 | 1.000 ± n/a |"
    for heading in ("## Metrics", "## Agreement with the reference", "## DSC by site"):
        assert f"{heading} (each case's last step)" in report
    assert run(*argv, "--predictions", str(study / "good"), "--output", str(study / "o2")) == 0
    assert "last step" not in (study / "o2" / "report.md").read_text(encoding="utf-8")


def test_plots_label_last_steps_share_the_bland_altman_axis_and_step_whole_numbers(
    study: Path, monkeypatch
) -> None:
    from evaluation import plots

    figures = {}

    def keep(fig, path):
        figures[path.name] = fig
        return path

    monkeypatch.setattr(plots, "_save", keep)
    write_steps(study, study / "interactive", (2, 1, 0))
    argv = ["--references", str(study / "refs"), "--output", str(study / "out")]
    assert run(*argv, "--predictions", f"a={study / 'interactive'}",
               "--predictions", f"b={study / 'interactive'}") == 0
    assert figures["dsc_by_all.png"].axes[0].get_title() == "DSC (each case's last step)"
    bland = figures["bland_altman_volume_ml.png"]
    left, right = bland.axes
    assert left.get_shared_y_axes().joined(left, right)
    assert bland.texts[0].get_text().startswith("Bland-Altman: volume (each case's last step)\n")
    assert left.get_ylabel() == "prediction - reference (ml)" and right.get_title() == "b (n=6)"
    bland.canvas.draw()
    ticks = figures["dsc_per_step.png"].axes[0].get_xticks()
    visible = [t for t in ticks if 0 <= t <= 2]
    assert visible and all(float(t).is_integer() for t in visible)
