"""The README's screenshot: the synthetic oblique CT phantom opened with the plug-in, the six
protocol clicks placed through the lesion's clicks layer, Segment pressed, the answer shown.

    xvfb-run -a -s "-screen 0 1600x1000x24" python napari-lesionseg/scripts/make_screenshot.py \
        docs/napari_lesionseg.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import napari
import numpy as np
import SimpleITK as sitk
from qtpy.QtWidgets import QApplication

from algorithm.phantom import make_phantom
from napari_lesionseg.volume import METADATA_KEY
from napari_lesionseg.widget import LesionSegWidget


def wait(widget: LesionSegWidget, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while widget.busy and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    if widget.busy:
        raise SystemExit("error: no answer from the server in time")


def main(out: Path) -> None:
    phantom = make_phantom("CT", shape=(48, 128, 128), spacing_zyx=(2.5, 0.8, 0.8), seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ct_phantom.mha"
        sitk.WriteImage(phantom.image, str(path))
        viewer = napari.Viewer(show=False)
        viewer.window._qt_window.resize(1500, 900)
        [layer] = viewer.open(str(path), plugin="napari-lesionseg")
        volume = layer.metadata[METADATA_KEY]
        widget = LesionSegWidget(viewer)
        viewer.window.add_dock_widget(widget, name="Lesion segmentation")
        widget.new_lesion()
        wait(widget)
        lesion = widget.lesion
        clicks = volume.to_data(phantom.clicks_xyz)
        lesion.clicks.add(clicks)
        widget.segment()
        wait(widget)
        mask = np.asarray(lesion.mask.data) > 0
        # the slice holding most clicks (the in-plane four of the protocol's six)
        slices, counts = np.unique(np.rint(clicks[:, 0]).astype(int), return_counts=True)
        z = int(slices[np.argmax(counts)])
        viewer.dims.set_point(0, z * volume.layer_scale()[0])
        viewer.reset_view()
        viewer.camera.zoom *= 1.6
        viewer.screenshot(str(out), canvas_only=False)
        print(f"{out}: slice {z}, {int(mask.sum())} voxels, status: {widget.status.text()}")
        widget.close()
        viewer.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/napari_lesionseg.png"))
