"""Every bad input: one clear last line on stderr, a non-zero exit, and no output file."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from algorithm.cli import main
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import save_model
from algorithm.prompts import Clicks
from tests.algorithm.helpers import box_phantom, extreme_clicks
from tests.conftest import REPO_ROOT


def write_case(root: Path, image: sitk.Image, clicks: object, name="case.mha") -> Path:
    (root / "images/medical-image").mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(root / "images/medical-image" / name))
    text = clicks if isinstance(clicks, str) else json.dumps(clicks)
    (root / "lesion-clicks.json").write_text(text)
    return root


@pytest.fixture
def good_case(tmp_path):
    image, mask = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, mask)).to_multiple_points()
    return write_case(tmp_path / "in", image, clicks), image, clicks


def run(capfd, inputs: Path, output: Path, *extra: str) -> tuple[int, str]:
    code = main(["--input", str(inputs), "--output", str(output), *extra])
    err = capfd.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def assert_failed_cleanly(code, last_line, output: Path, fragment: str):
    assert code != 0
    assert last_line.startswith("error: ") and fragment in last_line, last_line
    assert not output.exists() or not any(p.is_file() for p in output.rglob("*"))


def test_good_case_writes_mask(good_case, tmp_path, capfd):
    inputs, image, _ = good_case
    code, last = run(capfd, inputs, tmp_path / "out")
    assert code == 0, last
    out = sitk.ReadImage(str(tmp_path / "out/images/lesion-segmentation/case.mha"))
    assert out.GetPixelID() == sitk.sitkUInt8 and out.GetSize() == image.GetSize()


@pytest.mark.parametrize("clicks, fragment", [
    ('{"type": "Multiple points", "points": [', "not valid JSON"),
    ({"points": [{"point": [0, 0, 0]}], "version": {"major": 1, "minor": 0}}, "'type'"),
    ({"type": "Multiple points", "points": [{"point": [0, 0, 0]}]}, "'version'"),
    ({"type": "Multiple points", "points": [{"point": [0, 0, 0]}],
      "version": {"major": 1, "minor": 0}, "extra": True}, "'extra'"),
    ({"type": "Multiple points", "points": [{"point": [0, 0, 0], "name": "background"}],
      "version": {"major": 1, "minor": 0}}, "no positive"),
    ('{"type": "Multiple points", "points": [{"point": [NaN, 0, 0]}], '
     '"version": {"major": 1, "minor": 0}}', "not valid JSON"),
    ({"type": "Multiple points", "points": [{"point": [1e9, 0, 0]}],
      "version": {"major": 1, "minor": 0}}, "outside the image"),
])
def test_bad_clicks(tmp_path, capfd, clicks, fragment):
    image, _ = box_phantom()
    inputs = write_case(tmp_path / "in", image, clicks)
    code, last = run(capfd, inputs, tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", fragment)


def test_clicks_from_another_image_do_not_overlap(tmp_path, capfd, good_case):
    _, image, clicks = good_case
    moved = sitk.Image(image)
    moved.SetOrigin([o + 500.0 for o in image.GetOrigin()])
    inputs = write_case(tmp_path / "in2", moved, clicks)
    code, last = run(capfd, inputs, tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", "do not overlap")


@pytest.mark.parametrize("array, fragment", [
    (np.zeros((32, 32), np.int16), "2D"),
    (np.zeros((2, 8, 8, 8), np.int16), "4D"),
])
def test_wrong_dimensionality(tmp_path, capfd, good_case, array, fragment):
    _, _, clicks = good_case
    image = sitk.JoinSeries([sitk.GetImageFromArray(a) for a in array]) if array.ndim == 4 \
        else sitk.GetImageFromArray(array)
    inputs = write_case(tmp_path / "in", image, clicks)
    code, last = run(capfd, inputs, tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", fragment)


def test_unreadable_image(tmp_path, capfd, good_case):
    _, _, clicks = good_case
    inputs = tmp_path / "bad"
    (inputs / "images/medical-image").mkdir(parents=True)
    (inputs / "images/medical-image/case.mha").write_bytes(b"ObjectType = Image\nNDims = 3\n\x00")
    (inputs / "lesion-clicks.json").write_text(json.dumps(clicks))
    code, last = run(capfd, inputs, tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", "cannot read image")


def test_missing_inputs(tmp_path, capfd):
    code, last = run(capfd, tmp_path / "nowhere", tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", "does not exist")
    (tmp_path / "empty/images/medical-image").mkdir(parents=True)
    code, last = run(capfd, tmp_path / "empty", tmp_path / "out")
    assert_failed_cleanly(code, last, tmp_path / "out", "exactly one")


def test_network_requested_without_weights(good_case, tmp_path, capfd):
    inputs, _, _ = good_case
    code, last = run(capfd, inputs, tmp_path / "out", "--method", "network")
    assert_failed_cleanly(code, last, tmp_path / "out", "no model weights found")


def test_corrupt_weights(good_case, tmp_path, capfd):
    inputs, _, _ = good_case
    folder = save_model(UNet3D(**Architecture(features=[4, 8]).model_dump()), ModelCard(
        name="t", version="0", architecture={"features": [4, 8]}, grid_size=16), tmp_path / "w")
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    code, last = run(capfd, inputs, tmp_path / "out", "--weights", str(folder))
    assert_failed_cleanly(code, last, tmp_path / "out", "corrupt")


def test_weights_that_do_not_match_the_card(good_case, tmp_path, capfd):
    inputs, _, _ = good_case
    folder = save_model(UNet3D(**Architecture(features=[4, 8]).model_dump()), ModelCard(
        name="t", version="0", architecture={"features": [4, 8]}, grid_size=16), tmp_path / "w")
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    card["architecture"]["features"] = [8, 16]
    (folder / "model_card.json").write_text(json.dumps(card))
    code, last = run(capfd, inputs, tmp_path / "out", "--weights", str(folder))
    assert_failed_cleanly(code, last, tmp_path / "out", "do not match")


def test_real_process_reports_on_last_stderr_line(tmp_path):
    image, _ = box_phantom()
    inputs = write_case(tmp_path / "in", image, '{"broken": ')
    proc = subprocess.run([sys.executable, "-m", "algorithm", "--input", str(inputs),
                           "--output", str(tmp_path / "out")], cwd=REPO_ROOT,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: clicks file")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_is_a_clear_error(good_case, tmp_path, capfd):
    inputs, _, _ = good_case
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    code, last = run(capfd, inputs, blocker)
    assert code == 2 and last.startswith("error: cannot write the mask"), last


def test_mask_is_readable_by_other_users(good_case, tmp_path, capfd):
    import os
    import stat

    inputs, _, _ = good_case
    old = os.umask(0o022)
    try:
        assert run(capfd, inputs, tmp_path / "out")[0] == 0
    finally:
        os.umask(old)
    mask = tmp_path / "out/images/lesion-segmentation/case.mha"
    assert stat.S_IMODE(mask.stat().st_mode) == 0o644
