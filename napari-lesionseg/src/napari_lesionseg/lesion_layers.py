"""One lesion in the viewer: its layers (mask, clicks, drawings, RECIST axes, suggested click)
and how a server answer updates them. A lesion's layers are its own, so lesions never overwrite
each other; its mask's label value is its number, so each shows in its own colour."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from algorithm.server.mask_codec import decode_mask
from napari_lesionseg.prompt_values import BACKGROUND, TUMOUR, Drawing
from napari_lesionseg.volume import METADATA_KEY, Volume

LABEL_COLOURS = {TUMOUR: "lime", BACKGROUND: "magenta"}


@dataclass
class LesionLayers:
    number: int  #: 1, 2, ...: the mask's label value and the layers' names
    lesion_id: int  #: the server's id in its session
    mask: object  #: napari Labels
    clicks: object  #: napari Points (feature ``label``)
    drawings: object  #: napari Shapes (feature ``label``)
    recist: object  #: napari Shapes, the answer's RECIST axes (lines)
    suggestion: object  #: napari Points, the answer's suggested next click
    sent_clicks: int = 0  #: clicks the server has; the clicks layer's later points are new
    last_result: dict = field(default_factory=dict)
    first_prompt: dict | None = None  #: the drawings' prompt the current mask started from

    @classmethod
    def add_to(cls, viewer, volume: Volume, number: int, lesion_id: int) -> "LesionLayers":
        meta = {METADATA_KEY: volume}
        scale, name = volume.layer_scale(), f"lesion {number}"
        mask = viewer.add_labels(np.zeros(volume.shape_zyx, np.uint8), name=f"{name} mask",
                                 scale=scale, opacity=0.45, metadata=dict(meta))
        recist = viewer.add_shapes(ndim=3, name=f"{name} RECIST", scale=scale, edge_width=0.6,
                                   edge_color="yellow", face_color="transparent",
                                   metadata=dict(meta))
        suggestion = viewer.add_points(ndim=3, name=f"{name} suggested click", scale=scale,
                                       symbol="star", size=6, face_color="yellow",
                                       metadata=dict(meta))
        drawings = viewer.add_shapes(ndim=3, name=f"{name} drawings", scale=scale,
                                     edge_width=0.8, edge_color=LABEL_COLOURS[TUMOUR],
                                     face_color="transparent", features={"label": []},
                                     metadata=dict(meta))
        clicks = viewer.add_points(ndim=3, name=f"{name} clicks", scale=scale, size=4,
                                   face_color=LABEL_COLOURS[TUMOUR], features={"label": []},
                                   metadata=dict(meta))
        for layer in (recist, suggestion):
            layer.editable = False
        lesion = cls(number, lesion_id, mask, clicks, drawings, recist, suggestion)
        lesion.set_label(TUMOUR)
        return lesion

    @property
    def layers(self) -> tuple:
        return (self.mask, self.recist, self.suggestion, self.drawings, self.clicks)

    def set_label(self, label: str) -> None:
        """What the next point or shape the user adds is: tumour or background. The selection
        is cleared first: napari would recolour selected points, not relabel them."""
        for layer in (self.clicks, self.drawings):
            layer.selected_data = set()
            layer.feature_defaults["label"] = label
        self.clicks.current_face_color = LABEL_COLOURS[label]
        self.drawings.current_edge_color = LABEL_COLOURS[label]

    def click_labels(self) -> list[str]:
        return [str(v) for v in self.clicks.features["label"]] if len(self.clicks.data) else []

    def new_clicks(self) -> tuple[np.ndarray, list[str]]:
        """The clicks added since the server last answered (data coordinates and labels)."""
        return (np.asarray(self.clicks.data)[self.sent_clicks:],
                self.click_labels()[self.sent_clicks:])

    def drawn(self, volume: Volume) -> list[Drawing]:
        labels = (list(self.drawings.features["label"]) if len(self.drawings.data)
                  else [])
        return [Drawing(kind, volume.to_world(np.asarray(points)), str(label))
                for kind, points, label in zip(self.drawings.shape_type, self.drawings.data,
                                               labels)]

    def show(self, result: dict, volume: Volume) -> None:
        """The server's answer: mask, the clicks it was made from, axes, suggestion."""
        self.last_result = result
        mask = decode_mask(result["mask"]) if "mask" in result else None
        if mask is not None:
            self.mask.data = mask * np.uint8(self.number)
        clicks = result.get("clicks", {}).get("points", [])
        points = np.asarray([c["point"] for c in clicks], float).reshape(-1, 3)
        labels = [c.get("name") or TUMOUR for c in clicks]
        self._set_points(self.clicks, volume.to_data(points) if len(points) else points, labels)
        self.sent_clicks = len(points)
        self._show_axes(result.get("recist_axes") or {}, volume)
        suggestion = result.get("suggestion")
        self.suggestion.data = (volume.to_data(np.asarray([suggestion], float))
                                if suggestion else np.zeros((0, 3)))

    def _set_points(self, layer, data: np.ndarray, labels: list[str]) -> None:
        with layer.events.data.blocker():
            layer.selected_data = set()
            layer.data = np.asarray(data, float).reshape(-1, 3)
            layer.features = {"label": labels}
            layer.face_color = [LABEL_COLOURS[label] for label in labels] or "transparent"
        layer.refresh()

    def _show_axes(self, axes: dict, volume: Volume) -> None:
        lines = axes.get("lines", []) if isinstance(axes, dict) else []
        shapes = [volume.to_data(np.asarray([line["start"], line["end"]], float))
                  for line in lines if line.get("start") is not None]
        self.recist.data = []
        if shapes:
            self.recist.add_lines(shapes, edge_color="yellow", edge_width=0.6)
