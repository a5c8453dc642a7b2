"""The bundled example cases still give their expected output (what test.sh checks in the
container, here without Docker)."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.cli import main
from tests.algorithm.helpers import dice
from tests.conftest import REPO_ROOT

CASES = sorted(p.name for p in (REPO_ROOT / "test" / "input").iterdir() if p.is_dir())


def test_there_are_example_cases():
    assert {"ct_phantom", "mr_phantom"} <= set(CASES)


@pytest.mark.installed_weights
@pytest.mark.parametrize("case", CASES)
def test_example_case_matches_expected_output(case, tmp_path):
    assert main(["--input", str(REPO_ROOT / "test/input" / case), "--output", str(tmp_path)]) == 0
    expected_dir = REPO_ROOT / "test/expected_output" / case / "images/lesion-segmentation"
    (expected,) = expected_dir.glob("*.mha")
    produced = tmp_path / "images/lesion-segmentation" / expected.name
    got, want = sitk.ReadImage(str(produced)), sitk.ReadImage(str(expected))
    assert got.GetSize() == want.GetSize() and got.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_allclose(got.GetSpacing(), want.GetSpacing())
    np.testing.assert_allclose(got.GetOrigin(), want.GetOrigin())
    np.testing.assert_allclose(got.GetDirection(), want.GetDirection())
    assert dice(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(want)) > 0.98
