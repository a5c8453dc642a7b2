"""Start training from exported weights (the shipped model, or a colleague's), not from scratch.

A hospital fine-tuning on its own cohort should begin from what already works. The source may
have been trained with fewer guidance channels than the new run uses: the input convolution's
kernels are then matched channel by channel by name, and a new channel starts with zero weights,
so at step 0 the network computes exactly what the source computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file

from algorithm.network.unet import UNet3D
from algorithm.network.weights import read_card

INPUT_CONV = "encoders.0.0.weight"


def warm_start(model: UNet3D, folder: Path, channels: Sequence[str]) -> list[str]:
    """Load ``folder``'s weights into ``model`` (whose input has ``channels``); return the channels
    that start from zero. Any other mismatch of names or shapes is an error."""
    card = read_card(Path(folder))
    source = load_file(str(Path(folder) / card.weights_file))
    target = model.state_dict()
    if set(source) != set(target):
        missing, extra = sorted(set(target) - set(source)), sorted(set(source) - set(target))
        raise ValueError(f"weights in {folder} do not fit this architecture "
                         f"(missing {missing[:3]}, unexpected {extra[:3]})")
    new_channels = [c for c in channels if c not in card.guidance.channels]
    state = {}
    for name, tensor in source.items():
        if name == INPUT_CONV:
            tensor = _map_input_channels(tensor, card.guidance.channels, channels)
        if tensor.shape != target[name].shape:
            raise ValueError(f"{name}: {tuple(tensor.shape)} in {folder}, "
                             f"{tuple(target[name].shape)} in this model (features differ?)")
        state[name] = tensor
    model.load_state_dict(state, strict=True)
    return new_channels


def _map_input_channels(weight: torch.Tensor, old: Sequence[str],
                        new: Sequence[str]) -> torch.Tensor:
    out = torch.zeros((weight.shape[0], len(new), *weight.shape[2:]), dtype=weight.dtype)
    for i, name in enumerate(new):
        if name in old:
            out[:, i] = weight[:, list(old).index(name)]
    return out
