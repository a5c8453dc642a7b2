"""The dock widget: server connection, lesions, prompt tools, answers, saving.

Every server call runs in a worker thread (the viewer stays responsive while the network
runs) and its answer is shown on the main thread. A failure, a server down or an error answer,
becomes one line in the widget's status and a napari notification, never a traceback, and
leaves every drawn point and shape where it is, so nothing the user annotated is lost.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import SimpleITK as sitk
from superqt.utils import create_worker
from napari.utils.notifications import show_error
from qtpy.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFormLayout,
                            QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                            QRadioButton, QVBoxLayout, QWidget)

from algorithm.errors import InputError
from napari_lesionseg import saving
from napari_lesionseg.client import ServerClient, ServerError
from napari_lesionseg.lesion_layers import LesionLayers
from napari_lesionseg.local_server import LocalServer
from napari_lesionseg.prompt_values import (BACKGROUND, TUMOUR, PromptError, drawings_prompt,
                                            points_value)
from napari_lesionseg.volume import CT_WINDOWS, METADATA_KEY, Volume, window_limits

#: prompt tool -> (layer of the lesion, napari mode)
TOOLS = {"Click": ("clicks", "add"), "Scribble": ("drawings", "add_path"),
         "Outline": ("drawings", "add_polygon"), "Box": ("drawings", "add_rectangle"),
         "RECIST": ("drawings", "add_line")}


class LesionSegWidget(QWidget):
    def __init__(self, napari_viewer, server_options: tuple[str, ...] | None = None):
        super().__init__()
        self.viewer = napari_viewer
        self.server_options = server_options
        self.client: ServerClient | None = None
        self.local_server: LocalServer | None = None
        self.session_id: str | None = None
        self.session_layer = None  #: the image layer the session holds
        self.method = "lesionseg"
        self.lesions: list[LesionLayers] = []
        self.busy = False
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_images)
        self.viewer.layers.events.removed.connect(self._refresh_images)
        self._refresh_images()

    # ----- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.url = QLineEdit()
        self.url.setPlaceholderText("empty: start a local server")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.Password)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_server)
        self.image_choice = QComboBox()
        self.window_choice = QComboBox()
        self.window_choice.addItems(list(CT_WINDOWS))
        self.window_choice.currentTextChanged.connect(self.apply_window)
        form.addRow("server URL", self.url)
        form.addRow("token", self.token)
        form.addRow("", self.connect_button)
        form.addRow("image", self.image_choice)
        form.addRow("CT window", self.window_choice)
        layout.addLayout(form)

        lesion_row = QHBoxLayout()
        self.lesion_choice = QComboBox()
        self.lesion_choice.currentIndexChanged.connect(self._activate_lesion)
        self.new_lesion_button = QPushButton("New lesion")
        self.new_lesion_button.clicked.connect(lambda: self.new_lesion())
        lesion_row.addWidget(self.lesion_choice)
        lesion_row.addWidget(self.new_lesion_button)
        layout.addLayout(lesion_row)

        label_row = QHBoxLayout()
        self.tumour_radio = QRadioButton("tumour")
        self.background_radio = QRadioButton("background")
        self.tumour_radio.setChecked(True)
        self.label_group = QButtonGroup(self)
        for radio in (self.tumour_radio, self.background_radio):
            self.label_group.addButton(radio)
            label_row.addWidget(radio)
            radio.toggled.connect(self._label_changed)
        layout.addLayout(label_row)

        tools = QGridLayout()
        self.tool_buttons = {}
        for i, name in enumerate(TOOLS):
            button = QPushButton(name)
            button.clicked.connect(lambda _=False, n=name: self.use_tool(n))
            tools.addWidget(button, i // 3, i % 3)
            self.tool_buttons[name] = button
        layout.addLayout(tools)

        actions = QHBoxLayout()
        self.segment_button = QPushButton("Segment")
        self.segment_button.clicked.connect(self.segment)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.undo)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        for button in (self.segment_button, self.undo_button, self.reset_button):
            actions.addWidget(button)
        layout.addLayout(actions)
        self.auto_refine = QCheckBox("send each new click at once (after the first mask)")
        self.auto_refine.setChecked(True)
        layout.addWidget(self.auto_refine)

        saves = QHBoxLayout()
        self.save_mask_button = QPushButton("Save mask...")
        self.save_mask_button.clicked.connect(self._ask_save_mask)
        self.save_case_button = QPushButton("Save case for retraining...")
        self.save_case_button.clicked.connect(self._ask_save_case)
        saves.addWidget(self.save_mask_button)
        saves.addWidget(self.save_case_button)
        layout.addLayout(saves)

        self.measurements = QLabel("")
        self.measurements.setWordWrap(True)
        self.status = QLabel("open a CT or MRI (File > Open), then connect")
        self.status.setWordWrap(True)
        layout.addWidget(self.measurements)
        layout.addWidget(self.status)
        layout.addStretch()

    # ----- images ---------------------------------------------------------------------------
    def image_layers(self) -> list:
        return [layer for layer in self.viewer.layers
                if layer.__class__.__name__ == "Image" and METADATA_KEY in layer.metadata]

    def _refresh_images(self, *_) -> None:
        names = [layer.name for layer in self.image_layers()]
        current = self.image_choice.currentText()
        self.image_choice.blockSignals(True)
        self.image_choice.clear()
        self.image_choice.addItems(names)
        if current in names:
            self.image_choice.setCurrentText(current)
        self.image_choice.blockSignals(False)

    def image_layer(self):
        chosen = self.image_choice.currentText()
        for layer in self.image_layers():
            if layer.name == chosen:
                return layer
        raise PromptError("open an image with the lesionseg reader first (File > Open): its "
                          "world geometry is needed")

    @property
    def volume(self) -> Volume:
        return self.image_layer().metadata[METADATA_KEY]

    def apply_window(self, preset: str) -> None:
        try:
            layer = self.image_layer()
        except PromptError:
            return
        volume = layer.metadata[METADATA_KEY]
        if volume.modality == "CT":
            layer.contrast_limits = window_limits(layer.data, "CT", preset)

    # ----- server ---------------------------------------------------------------------------
    def connect_server(self) -> None:
        url, token = self.url.text().strip(), self.token.text().strip() or None
        self._run(lambda: self._connect(url, token), self._connected, "connecting...")

    def _connect(self, url: str, token: str | None) -> ServerClient:
        """The named server, or a local one of our own (started once); worker thread."""
        if url:
            client = ServerClient(url, token)
            client.health(timeout_s=10.0)
            return client
        if self.local_server is None or self.local_server.client is None:
            options = self.server_options
            self.local_server = LocalServer() if options is None else LocalServer(options)
            return self.local_server.start()
        return self.local_server.client

    def _connected(self, client: ServerClient) -> None:
        self.client = client
        self.session_id = None
        self.lesions_reset()
        self._say(f"connected to {client.url}")

    def _session_job(self) -> Callable[[], None]:
        """What a worker must do before a prompt: connect (to a server of our own if none is
        named) and upload the image once. Reads the widgets here, on the main thread."""
        layer = self.image_layer()
        url, token = self.url.text().strip(), self.token.text().strip() or None

        def ensure() -> None:
            if self.client is None:
                self.client = self._connect(url, token)
            if self.session_id is not None and self.session_layer is layer:
                return
            volume = layer.metadata[METADATA_KEY]
            image = volume.grid.place(sitk.GetImageFromArray(np.asarray(layer.data)))
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "image.mha"
                sitk.WriteImage(image, str(path), useCompression=False)
                info = self.client.create_session(path.read_bytes(), f"{layer.name}.mha",
                                                  volume.modality)
            saving.check_same_grid(info["image"], volume)
            self.session_id, self.session_layer, self.method = info["id"], layer, info["method"]

        return ensure

    def lesions_reset(self) -> None:
        """A new session: the server knows none of the lesions shown; new prompts need new
        lesions (the old layers stay as the user's annotation)."""
        for lesion in self.lesions:
            lesion.lesion_id = -1

    # ----- lesions --------------------------------------------------------------------------
    @property
    def lesion(self) -> LesionLayers | None:
        i = self.lesion_choice.currentIndex()
        return self.lesions[i] if 0 <= i < len(self.lesions) else None

    def new_lesion(self, then: Callable[[], None] | None = None) -> None:
        try:
            ensure = self._session_job()
        except PromptError as exc:
            self._say(str(exc), error=True)
            return
        name = f"lesion {len(self.lesions) + 1}"

        def work():
            ensure()
            return self.client.new_lesion(self.session_id, name)

        def done(info):
            lesion = LesionLayers.add_to(self.viewer, self.volume, len(self.lesions) + 1,
                                         info["id"])
            lesion.clicks.events.data.connect(lambda event, l=lesion: self._clicked(l, event))
            self.lesions.append(lesion)
            self.lesion_choice.addItem(lesion.mask.name.replace(" mask", ""))
            self.lesion_choice.setCurrentIndex(len(self.lesions) - 1)
            self._label_changed()
            self.use_tool("Click")
            self._say(f"{lesion.mask.name.replace(' mask', '')}: place clicks or draw, then "
                      "Segment")
            if then is not None:
                then()

        self._run(work, done, "preparing the image...")

    def _activate_lesion(self, *_) -> None:
        lesion = self.lesion
        if lesion is not None:
            self.viewer.layers.selection.active = lesion.clicks
            self._show_measurements(lesion.last_result)

    def _label_changed(self, *_) -> None:
        if self.lesion is not None:
            self.lesion.set_label(TUMOUR if self.tumour_radio.isChecked() else BACKGROUND)

    def use_tool(self, name: str) -> None:
        lesion = self.lesion
        if lesion is None:
            self._say("make a lesion first (New lesion)")
            return
        layer_name, mode = TOOLS[name]
        layer = getattr(lesion, layer_name)
        self.viewer.layers.selection.active = layer
        layer.mode = mode

    # ----- prompts --------------------------------------------------------------------------
    def segment(self) -> None:
        """The lesion's first answer from what is drawn (one kind) and its clicks: the drawings'
        prompt, then the clicks as a refinement; clicks alone are a clicks prompt."""
        lesion = self.lesion
        if lesion is None:
            self.new_lesion(then=self.segment)
            return
        if lesion.lesion_id < 0:
            self._say("this lesion belongs to an earlier server session: make a new lesion")
            return
        try:
            volume = self.volume
            drawings = lesion.drawn(volume)
            data, labels = np.asarray(lesion.clicks.data), lesion.click_labels()
            bodies = [drawings_prompt(drawings)] if drawings else []
            if len(data):
                value = points_value(volume.to_world(data), labels)
                bodies.append({"type": "refine" if bodies else "clicks", "points": value})
            if not bodies:
                raise PromptError("place clicks or draw a prompt first")
            if bodies[0]["type"] == "clicks" and TUMOUR not in labels:
                raise PromptError("a first answer needs at least one tumour click")
        except PromptError as exc:
            self._say(str(exc), error=True)
            return
        self._send(lesion, bodies)

    def _clicked(self, lesion: LesionLayers, event) -> None:
        """A click added after the first mask corrects it at once (when the box is ticked)."""
        action = getattr(event, "action", None)
        if action is not None and str(getattr(action, "value", action)) != "added":
            return
        if (not self.auto_refine.isChecked() or not lesion.last_result.get("voxels")
                or self.busy or len(lesion.clicks.data) <= lesion.sent_clicks):
            return
        data, labels = lesion.new_clicks()
        body = {"type": "refine", "points": points_value(self.volume.to_world(data), labels)}
        self._send(lesion, [body])

    def _send(self, lesion: LesionLayers, bodies: list[dict]) -> None:
        ensure = self._session_job()

        def work():
            ensure()
            result = None
            for body in bodies:
                result = self.client.prompt(self.session_id, lesion.lesion_id, body)
            return result

        def done(result):
            if bodies[0]["type"] != "refine":  # a fresh start: clicks or drawings
                lesion.first_prompt = bodies[0] if bodies[0]["type"] != "clicks" else None
            self._show(lesion, result)

        self._run(work, done, "segmenting...")

    def undo(self) -> None:
        self._step(lambda lesion: self.client.undo(self.session_id, lesion.lesion_id))

    def reset(self) -> None:
        self._step(lambda lesion: self.client.reset(self.session_id, lesion.lesion_id))

    def _step(self, call: Callable[[LesionLayers], dict]) -> None:
        lesion = self.lesion
        if lesion is None or self.client is None or lesion.lesion_id < 0:
            self._say("no lesion on the server yet", error=True)
            return
        self._run(lambda: call(lesion), lambda result: self._show(lesion, result), "...")

    def _show(self, lesion: LesionLayers, result: dict) -> None:
        lesion.show(result, self.volume)
        self._label_changed()  # replacing the layer's features reset its defaults
        self._show_measurements(result)
        warnings = "; ".join(result.get("warnings") or [])
        seconds = result.get("seconds")
        self._say((f"mask in {seconds:.2f} s" if seconds is not None else "done")
                  + (f"; warning: {warnings}" if warnings else ""))

    def _show_measurements(self, result: dict) -> None:
        m = result.get("measurements") if result else None
        if not m or not result.get("voxels"):
            self.measurements.setText("")
            return
        parts = [f"volume {m['volume_ml']:.2f} ml"]
        for key, name in (("long_axis", "long axis"), ("short_axis", "short axis")):
            if m.get(key):
                parts.append(f"{name} {m[key]['length_mm']:.1f} mm")
        parts.append(f"max 3D diameter {m['max_3d_diameter_mm']:.1f} mm")
        parts.append(f"{m['n_components']} component(s)")
        if result.get("confidence") is not None:
            parts.append(f"confidence {result['confidence']:.2f}")
        if result.get("suggestion"):
            parts.append("suggested next click: the yellow star")
        self.measurements.setText(" · ".join(parts))

    # ----- saving ---------------------------------------------------------------------------
    def _ask_save_mask(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save mask", "",
                                              "NIfTI (*.nii.gz);;MetaImage (*.mha);;DICOM SEG (*.dcm)")
        if path:
            self.save_mask(Path(path))

    def save_mask(self, path: Path) -> Path | None:
        """Write the current lesion's mask; None (and the reason in the status) if refused."""
        lesion = self.lesion
        if lesion is None or not lesion.last_result.get("voxels"):
            self._say("no mask to save", error=True)
            return None
        try:
            written = saving.save_mask(path, np.asarray(lesion.mask.data) > 0, self.volume,
                                       self.method)
        except (InputError, PromptError, OSError, ValueError) as exc:
            self._say(f"cannot save {path.name}: {exc}", error=True)
            return None
        self._say(f"saved {written}")
        return written

    def _ask_save_case(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Retraining folder (nnU-Net layout)")
        if folder:
            self.save_case(Path(folder))

    def save_case(self, root: Path, case_id: str | None = None,
                  patient_id: str | None = None) -> str | None:
        lesion = self.lesion
        if lesion is None or not lesion.last_result.get("voxels"):
            self._say("no mask to save", error=True)
            return None
        layer = self.image_layer()
        prompts = saving.case_prompts(lesion.last_result, lesion.first_prompt)
        try:
            saved = saving.save_case(root, np.asarray(layer.data), self.volume,
                                     np.asarray(lesion.mask.data) > 0, prompts,
                                     case_id=case_id, patient_id=patient_id)
        except (InputError, PromptError, OSError, ValueError) as exc:
            self._say(f"cannot save the case: {exc}", error=True)
            return None
        self._say(f"saved case {saved} in {root}")
        return saved

    # ----- plumbing -------------------------------------------------------------------------
    def _run(self, work: Callable[[], object], done: Callable[[object], None],
             doing: str) -> None:
        if self.busy:
            self._say("busy: wait for the answer", error=True)
            return
        self.busy = True
        self._say(doing)

        def guarded():  # errors come back as values: no exception reaches Qt's event loop
            try:
                return True, work()
            except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
                return False, exc

        def finish(outcome) -> None:
            self.busy = False
            ok, value = outcome
            if not ok:
                self._failed(value)
                return
            try:
                done(value)
            except Exception as exc:  # noqa: BLE001
                self._failed(exc)

        worker = create_worker(guarded, _start_thread=False)
        worker.returned.connect(finish)
        worker.start()

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, (ServerError, PromptError)):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if isinstance(exc, ServerError) and exc.status == 404:
            self.session_id = None  # expired: the next prompt uploads the image again
            self.lesions_reset()
        self._say(message, error=True)

    def _say(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #e55;" if error else "")
        if error:
            show_error(message)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.local_server is not None:
            self.local_server.stop()
        super().closeEvent(event)
