"""The trained 3D U-Net as a segmenter: guidance encoding, inference, optional flip averaging."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from algorithm.guidance.network_input import network_input
from algorithm.methods.base import GridCase
from algorithm.network.model_card import ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import load_model


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class NetworkSegmenter:
    model: UNet3D
    card: ModelCard
    device: torch.device = field(default_factory=default_device)
    name: str = "network"

    @classmethod
    def from_folder(cls, folder: Path, device: torch.device | None = None) -> "NetworkSegmenter":
        device = device or default_device()
        model, card = load_model(folder, device)
        return cls(model=model, card=card, device=device)

    @property
    def grid_size(self) -> int:
        return self.card.grid_size

    @property
    def threshold(self) -> float:
        """Where the pipeline cuts this network's probability into the final mask."""
        return self.card.threshold

    @property
    def kind_thresholds(self) -> dict[str, float]:
        """First answers' cuts for cases holding these prompt kinds (the model card's)."""
        return self.card.kind_thresholds

    @property
    def prompt_kinds(self) -> tuple[str, ...]:
        """The prompt kinds the weights were trained on (the model card's)."""
        return self.card.prompt_kinds

    def predict(self, case: GridCase) -> np.ndarray:
        # seeds are given whatever kinds the card lists: untrained kinds still inform
        channels = network_input(case.image, case.positive, case.negative, case.previous_mask,
                                 case.spacing, case.seeds, self.card.guidance)
        x = torch.from_numpy(channels[None]).to(self.device)
        flips = [()] + ([(2,), (3,), (4,)] if self.card.test_time_flips else [])
        with torch.inference_mode():
            prob = torch.zeros(x.shape[2:], device=self.device)
            for dims in flips:
                xi = torch.flip(x, dims) if dims else x
                logits = self.model(xi)
                p = torch.softmax(logits.float(), dim=1)[0, 1]
                prob += torch.flip(p, [d - 2 for d in dims]) if dims else p
            prob /= len(flips)
        return prob.cpu().numpy().astype(np.float32)
