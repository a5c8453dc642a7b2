"""Finding and loading weights: safetensors only (no pickle), checked against the card.

Search order: an explicit folder; ``/opt/ml/model`` (grand-challenge's separate model upload,
extracted there at run time); the copy baked into this package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from algorithm.errors import WeightsError
from algorithm.network.model_card import ModelCard
from algorithm.network.unet import UNet3D

CARD_NAME = "model_card.json"
PLATFORM_MODEL_DIR = Path("/opt/ml/model")
PACKAGE_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def find_weights_dir(explicit: Path | None = None) -> Path | None:
    """The first folder holding a model card, or None when no weights are installed."""
    if explicit is not None:
        explicit = Path(explicit)
        if not (explicit / CARD_NAME).is_file():
            raise WeightsError(f"no {CARD_NAME} in weights folder {explicit}")
        return explicit
    candidates = []
    env = os.environ.get("LESIONSEG_WEIGHTS")
    if env:
        candidates.append(Path(env))
    candidates += [PLATFORM_MODEL_DIR, PACKAGE_WEIGHTS_DIR]
    for root in candidates:
        if (root / CARD_NAME).is_file():
            return root
        if root.is_dir():  # a tarball may wrap the files in one folder
            nested = sorted(root.glob(f"*/{CARD_NAME}"))
            if nested:
                return nested[0].parent
    return None


def read_card(folder: Path) -> ModelCard:
    try:
        return ModelCard.model_validate(json.loads((folder / CARD_NAME).read_text("utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"model card {folder / CARD_NAME} is unreadable: {first}") from None


def load_model(folder: Path, device: torch.device | str = "cpu") -> tuple[UNet3D, ModelCard]:
    card = read_card(folder)
    path = folder / card.weights_file
    if not path.resolve().is_relative_to(folder.resolve()):
        raise WeightsError(f"model card names a weights file outside {folder}")
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing")
    try:
        state = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"weights file {path.name} is corrupt: {exc}") from None
    model = UNet3D(**card.architecture.model_dump(), deep_supervision=False)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise WeightsError(f"weights do not match the model card's architecture: {detail}") from None
    return model.to(device).eval(), card


def save_model(model: UNet3D, card: ModelCard, folder: Path) -> Path:
    """Write ``model.safetensors`` and ``model_card.json`` (the only format inference loads)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / card.weights_file), metadata={"name": card.name,
                                                               "version": card.version})
    (folder / CARD_NAME).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for name in (card.weights_file, CARD_NAME):  # readable by the container's other users
        (folder / name).chmod(0o644)
    return folder
