import json

import pytest

from algorithm.errors import InputError
from algorithm.io.grand_challenge import locate_inputs, output_mask_path


def make_layout(root, image_dir="images/medical-image", clicks="lesion-clicks.json"):
    (root / image_dir).mkdir(parents=True)
    (root / image_dir / "scan.mha").write_bytes(b"")
    (root / clicks).parent.mkdir(parents=True, exist_ok=True)
    (root / clicks).write_text("{}")


def listing(key, image_path, clicks_path):
    return [
        {key: {"slug": "medical-image", "relative_path": image_path}, "image": {"name": "x"}},
        {key: {"slug": "lesion-clicks", "relative_path": clicks_path}, "value": {}},
        {key: {"slug": "something-else", "relative_path": "ignored.json"}, "value": 1},
    ]


def test_default_layout_without_inputs_json(tmp_path):
    make_layout(tmp_path)
    found = locate_inputs(tmp_path)
    assert found.image.name == "scan.mha" and found.clicks.name == "lesion-clicks.json"


@pytest.mark.parametrize("key", ["socket", "interface"])
def test_inputs_json_relative_paths_are_followed(tmp_path, key):
    make_layout(tmp_path, "images/custom-image", "custom/clicks.json")
    (tmp_path / "inputs.json").write_text(
        json.dumps(listing(key, "images/custom-image", "custom/clicks.json")))
    found = locate_inputs(tmp_path)
    assert found.image.parent.name == "custom-image" and found.clicks.name == "clicks.json"


@pytest.mark.parametrize("bad", ["../outside", "/etc", "images/../../x"])
def test_paths_escaping_the_input_folder_are_refused(tmp_path, bad):
    root = tmp_path / "in"
    make_layout(root)
    (root / "inputs.json").write_text(json.dumps(listing("socket", bad, "lesion-clicks.json")))
    with pytest.raises(InputError, match="relative path|escapes"):
        locate_inputs(root)


def test_symlink_escape_is_refused(tmp_path):
    root = tmp_path / "in"
    make_layout(root)
    (tmp_path / "secret").mkdir()
    (root / "link").symlink_to(tmp_path / "secret")
    (root / "inputs.json").write_text(json.dumps(listing("socket", "link", "lesion-clicks.json")))
    with pytest.raises(InputError, match="escapes"):
        locate_inputs(root)


@pytest.mark.parametrize("content, fragment", [
    ("not json", "not valid JSON"),
    ('{"a": 1}', "must be a list"),
    ('[{"value": 1}]', "no 'socket'"),
    ('[{"socket": {"slug": "medical-image", "relative_path": "images/medical-image"}}]',
     "lesion-clicks"),
])
def test_malformed_inputs_json(tmp_path, content, fragment):
    make_layout(tmp_path)
    (tmp_path / "inputs.json").write_text(content)
    with pytest.raises(InputError, match=fragment):
        locate_inputs(tmp_path)


def test_two_images_is_ambiguous(tmp_path):
    make_layout(tmp_path)
    (tmp_path / "images/medical-image/other.tif").write_bytes(b"")
    with pytest.raises(InputError, match="exactly one"):
        locate_inputs(tmp_path)


def test_output_keeps_image_stem(tmp_path):
    out = output_mask_path(tmp_path, tmp_path / "a/scan.nii.gz")
    assert out == tmp_path / "images/lesion-segmentation/scan.mha"
