"""The bundled example cases still give their expected output (what test.sh checks in the
container, here without Docker)."""

import importlib.util

import pytest

from algorithm.cli import main
from tests.conftest import REPO_ROOT

CASES = sorted(p.name for p in (REPO_ROOT / "test" / "input").iterdir() if p.is_dir())


def test_there_are_example_cases():
    assert {"ct_phantom", "mr_phantom"} <= set(CASES)


@pytest.mark.installed_weights
@pytest.mark.parametrize("case", CASES)
def test_example_case_matches_expected_output(case, tmp_path, capsys):
    """The mask (same grid and pixel type, DSC >= 0.98), lesion-measurements and
    lesion-recist-axes, compared as test.sh compares them (scripts/check_container_output.py):
    nothing missing, nothing extra."""
    spec = importlib.util.spec_from_file_location(
        "check_container_output", REPO_ROOT / "scripts/check_container_output.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert main(["--input", str(REPO_ROOT / "test/input" / case), "--output", str(tmp_path)]) == 0
    code = check.main([str(REPO_ROOT / "test/expected_output" / case), str(tmp_path)])
    assert code == 0, capsys.readouterr().out
