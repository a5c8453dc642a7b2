"""The plug-in driven as a user drives it, headless (Xvfb, pytest-xvfb): open the oblique,
anisotropic phantom with the plug-in's reader, place the six protocol clicks through the
lesion's clicks layer, press Segment, and get the mask ``lesionseg segment`` writes for the
same clicks, from a server the plug-in started itself; then correct, undo, a second lesion,
errors that leave every annotation in place, saving, and a screenshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

pytest.importorskip("napari")
if not os.environ.get("DISPLAY"):  # pytest-xvfb sets it when it started Xvfb
    pytest.skip("the viewer tests need a screen: install Xvfb and Qt's libraries "
                "(scripts/install_viewer_system_packages.sh)", allow_module_level=True)
from qtpy.QtCore import Qt  # noqa: E402

from napari_lesionseg.prompt_values import points_value  # noqa: E402
from napari_lesionseg.volume import METADATA_KEY  # noqa: E402
from napari_lesionseg.widget import LesionSegWidget  # noqa: E402

#: a first answer on a loaded CI machine, the server's start (PyTorch, weights) included
WAIT_MS = 240_000


def _wait(qtbot, widget):
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)


def _cli_mask(image_path, tmp_path, clicks_xyz=None, box=None) -> np.ndarray:
    """``lesionseg segment``'s mask for the same clicks (or box value)."""
    args = []
    if clicks_xyz is not None:
        clicks = tmp_path / "clicks.json"
        clicks.write_text(json.dumps(points_value(clicks_xyz, ["tumor"] * len(clicks_xyz))))
        args.append(str(clicks))
    if box is not None:
        (tmp_path / "box.json").write_text(json.dumps(box))
        args += ["--box", str(tmp_path / "box.json")]
    out = tmp_path / "cli_mask.mha"
    subprocess.run([sys.executable, "-m", "algorithm.local_cli", "segment", str(image_path),
                    *args, "-o", str(out)], check=True, capture_output=True)
    return sitk.GetArrayFromImage(sitk.ReadImage(str(out)))


def test_a_user_session_from_clicks_to_saved_mask(make_napari_viewer, qtbot, phantom,
                                                  phantom_file, tmp_path):
    viewer = make_napari_viewer()
    [image_layer] = viewer.open(str(phantom_file), plugin="napari-lesionseg")
    volume = image_layer.metadata[METADATA_KEY]
    widget = LesionSegWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert widget.image_choice.currentText() == image_layer.name
    assert tuple(image_layer.contrast_limits) == (-160.0, 240.0)  # CT opens in soft tissue
    widget.window_choice.setCurrentText("lung")
    assert tuple(image_layer.contrast_limits) == (-1350.0, 150.0)

    qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)  # starts the local server
    _wait(qtbot, widget)
    lesion = widget.lesion
    assert lesion is not None, widget.status.text()
    assert widget.local_server is not None and widget.local_server.process is not None
    assert viewer.layers.selection.active is lesion.clicks and lesion.clicks.mode == "add"

    lesion.clicks.add(volume.to_data(phantom.clicks_xyz))  # six clicks, as the mouse adds them
    assert lesion.click_labels() == ["tumor"] * 6
    qtbot.mouseClick(widget.segment_button, Qt.LeftButton)
    _wait(qtbot, widget)
    first = np.asarray(lesion.mask.data).copy()
    assert first.any(), widget.status.text()
    np.testing.assert_array_equal(first > 0,
                                  _cli_mask(phantom_file, tmp_path, phantom.clicks_xyz) > 0)
    reference = sitk.GetArrayFromImage(phantom.mask) > 0
    dsc = 2 * np.sum((first > 0) & reference) / (np.sum(first > 0) + np.sum(reference))
    assert dsc > 0.7
    assert "volume" in widget.measurements.text()
    assert len(lesion.recist.data) >= 1  # the RECIST axes drawn
    assert lesion.last_result["step"] == 1

    # a background click where the mask is: sent at once, and the mask loses that voxel region
    inside = np.argwhere(first > 0)
    widget.background_radio.setChecked(True)
    lesion.clicks.add(inside[len(inside) // 2].astype(float))
    _wait(qtbot, widget)
    assert lesion.last_result["step"] == 2, widget.status.text()
    assert lesion.click_labels()[-1] == "background"
    assert not np.array_equal(np.asarray(lesion.mask.data), first)

    qtbot.mouseClick(widget.undo_button, Qt.LeftButton)
    _wait(qtbot, widget)
    np.testing.assert_array_equal(np.asarray(lesion.mask.data), first)
    assert len(lesion.clicks.data) == 6  # the clicks layer shows the step's clicks

    # a click outside the image: the server's one-line error, the clicks stay
    lesion.clicks.add(np.array([-50.0, 10.0, 10.0]))
    _wait(qtbot, widget)
    assert "outside" in widget.status.text(), widget.status.text()
    assert len(lesion.clicks.data) == 7
    lesion.clicks.data = np.asarray(lesion.clicks.data)[:6]

    # a second lesion: its own layers; the first mask is untouched
    widget.tumour_radio.setChecked(True)
    qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)
    _wait(qtbot, widget)
    second = widget.lesion
    assert second is not lesion and second.number == 2
    second.clicks.add(volume.to_data(phantom.clicks_xyz[:1]))  # one centre-ish click
    qtbot.mouseClick(widget.segment_button, Qt.LeftButton)
    _wait(qtbot, widget)
    assert second.last_result.get("step") == 1, widget.status.text()
    np.testing.assert_array_equal(np.asarray(lesion.mask.data), first)
    assert set(np.unique(second.mask.data)) <= {0, 2}

    # a third lesion from a box drawn on the lesion's largest slice: the CLI's mask for that box
    qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)
    _wait(qtbot, widget)
    third = widget.lesion
    qtbot.mouseClick(widget.tool_buttons["Box"], Qt.LeftButton)
    assert viewer.layers.selection.active is third.drawings
    assert third.drawings.mode == "add_rectangle"
    z = int(np.argmax(reference.sum(axis=(1, 2))))
    _, ys, xs = np.nonzero(reference[z:z + 1])
    corners = np.array([[z, ys.min() - 1, xs.min() - 1], [z, ys.min() - 1, xs.max() + 1],
                        [z, ys.max() + 1, xs.max() + 1], [z, ys.max() + 1, xs.min() - 1]], float)
    third.drawings.add_rectangles(corners)
    qtbot.mouseClick(widget.segment_button, Qt.LeftButton)
    _wait(qtbot, widget)
    assert third.last_result.get("prompt_kinds") == ["box"], widget.status.text()
    box_value = {"type": "2D bounding box", "version": {"major": 1, "minor": 0},
                 "corners": volume.to_world(np.asarray(third.drawings.data[0])).tolist()}
    np.testing.assert_array_equal(np.asarray(third.mask.data) > 0,
                                  _cli_mask(phantom_file, tmp_path, box=box_value) > 0)
    np.testing.assert_array_equal(np.asarray(lesion.mask.data), first)

    # saving the first lesion's mask on the image's grid; a DICOM SEG needs a DICOM source
    widget.lesion_choice.setCurrentIndex(0)
    saved = widget.save_mask(tmp_path / "lesion1.nii.gz")
    back = sitk.ReadImage(str(saved))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), first > 0)
    np.testing.assert_allclose(back.GetDirection(), phantom.image.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(back.GetOrigin(), phantom.image.GetOrigin(), atol=1e-4)
    assert widget.save_mask(tmp_path / "lesion1.dcm") is None
    assert "not read from DICOM" in widget.status.text()

    # finished cases into a retraining folder: a click case and the box case, with their prompts
    from algorithm.io.retraining_folder import read_case_records
    from training.datasets import read_nnunet_folder

    root = tmp_path / "site-cases"
    assert widget.save_case(root, case_id="p1_click", patient_id="p1") == "p1_click"
    widget.lesion_choice.setCurrentIndex(2)
    assert widget.save_case(root, case_id="p1_box", patient_id="p1") == "p1_box"
    assert widget.save_case(root, case_id="p1_box") is None  # never overwritten
    assert "p1_box" in widget.status.text()
    records = read_case_records(root)
    assert set(records["p1_click"]["prompts"]) == {"clicks"}
    assert set(records["p1_box"]["prompts"]) == {"box"}
    cases = read_nnunet_folder(root)
    assert sorted(c.case_id for c in cases) == ["p1_box", "p1_click"]
    assert {c.patient_id for c in cases} == {"p1"}
    label = sitk.ReadImage(str(root / "labelsTr" / "p1_click.nii.gz"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(label), first > 0)
    widget.lesion_choice.setCurrentIndex(0)

    screenshot = viewer.screenshot(str(tmp_path / "viewer.png"), canvas_only=False)
    assert screenshot.shape[0] > 200 and screenshot.std() > 5

    # the server goes away: a click says so in the widget, and stays in its layer
    widget.local_server.stop()
    widget.lesion_choice.setCurrentIndex(0)
    lesion.clicks.add(inside[0].astype(float))
    _wait(qtbot, widget)
    assert "no lesionseg server" in widget.status.text(), widget.status.text()
    assert len(lesion.clicks.data) == 7
    widget.close()


def test_no_server_at_the_url_is_a_message_not_a_traceback(make_napari_viewer, qtbot,
                                                           phantom_file):
    viewer = make_napari_viewer()
    viewer.open(str(phantom_file), plugin="napari-lesionseg")
    widget = LesionSegWidget(viewer)
    qtbot.addWidget(widget)  # closed and deleted at teardown, while Qt still runs
    widget.url.setText("http://127.0.0.1:9")  # discard port: nothing listens
    qtbot.mouseClick(widget.segment_button, Qt.LeftButton)
    _wait(qtbot, widget)
    assert widget.status.text().startswith("no lesionseg server at http://127.0.0.1:9")
    assert widget.lesion is None


def test_without_an_image_opened_by_the_plugin_the_widget_says_so(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((4, 8, 8)))  # no world geometry known
    widget = LesionSegWidget(viewer)
    qtbot.addWidget(widget)
    qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)
    assert "lesionseg reader" in widget.status.text()


def test_a_server_given_by_url_and_token(make_napari_viewer, qtbot, phantom, phantom_file):
    """A server the user names (here one started with a random token): a wrong token is the
    server's one-line refusal; the right one segments."""
    from napari_lesionseg.local_server import LocalServer

    server = LocalServer(options=("--method", "classical"))
    client = server.start()
    try:
        viewer = make_napari_viewer()
        [layer] = viewer.open(str(phantom_file), plugin="napari-lesionseg")
        widget = LesionSegWidget(viewer)
        qtbot.addWidget(widget)
        widget.url.setText(client.url)
        widget.token.setText("wrong")
        qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)
        _wait(qtbot, widget)
        assert widget.status.text().startswith("server: "), widget.status.text()
        assert widget.lesion is None and widget.local_server is None
        widget.token.setText(client.token)  # the user retypes the token and connects
        qtbot.mouseClick(widget.connect_button, Qt.LeftButton)
        _wait(qtbot, widget)
        qtbot.mouseClick(widget.new_lesion_button, Qt.LeftButton)
        _wait(qtbot, widget)
        lesion = widget.lesion
        lesion.clicks.add(layer.metadata[METADATA_KEY].to_data(phantom.clicks_xyz))
        qtbot.mouseClick(widget.segment_button, Qt.LeftButton)
        _wait(qtbot, widget)
        assert lesion.last_result.get("voxels"), widget.status.text()
    finally:
        server.stop()
