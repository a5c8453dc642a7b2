"""Start training from exported weights (the shipped model, or a colleague's), not from scratch.

A hospital fine-tuning on its own cohort should begin from what already works. The source may
have been trained with fewer guidance channels than the new run uses: the input convolution's
kernels are then matched channel by channel by name, and a new channel starts with zero weights,
so at step 0 the network computes exactly what the source computed.

The new model may also be wider (more features per level, as many levels): each source tensor
then fills the first channels of its target, and the weights from a new channel into an old one
are zero, so the old channels, and with them the output, are again exactly the source's, while
the new channels start from their random initialisation and learn from there (Net2Net's idea
with zeros instead of copies). A way to test whether capacity limits a model without repeating
its whole training.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file

from algorithm.network.unet import UNet3D
from algorithm.network.weights import read_card

INPUT_CONV = "encoders.0.0.weight"
#: decoder input convolutions read [upsampled, skip]: two halves, each widened on its own
_CONCAT_INPUT = re.compile(r"decoders\.\d+\.0\.weight")
#: transposed convolutions store (in, out, ...) where convolutions store (out, in, ...)
_TRANSPOSED = re.compile(r"upsamplers\.\d+\.weight")


def warm_start(model: UNet3D, folder: Path, channels: Sequence[str]) -> list[str]:
    """Load ``folder``'s weights into ``model`` (whose input has ``channels``, and whose levels
    may be wider); return the input channels that start from zero. Any other mismatch of names
    or shapes is an error."""
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
            if tensor.dim() != target[name].dim() or any(
                    a > b for a, b in zip(tensor.shape, target[name].shape)):
                raise ValueError(f"{name}: {tuple(tensor.shape)} in {folder}, "
                                 f"{tuple(target[name].shape)} in this model (features differ; a "
                                 "model can be widened, never narrowed)")
            tensor = _widen(name, tensor, target[name])
        state[name] = tensor
    model.load_state_dict(state, strict=True)
    return new_channels


def weights_sha256(folder: Path) -> str:
    """The SHA-256 of the weights file an exported folder's card names: which model it holds,
    whatever its card says (a later export may overwrite the folder)."""
    digest = hashlib.sha256()
    with open(Path(folder) / read_card(Path(folder)).weights_file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _map_input_channels(weight: torch.Tensor, old: Sequence[str],
                        new: Sequence[str]) -> torch.Tensor:
    out = torch.zeros((weight.shape[0], len(new), *weight.shape[2:]), dtype=weight.dtype)
    for i, name in enumerate(new):
        if name in old:
            out[:, i] = weight[:, list(old).index(name)]
    return out


def _widen(name: str, source: torch.Tensor, initial: torch.Tensor) -> torch.Tensor:
    """``initial`` (the wider model's own initialisation) with ``source`` in its old channels and
    zeros from every new input channel into every old output channel."""
    out = initial.detach().clone()
    old = [_old_indices(name, dim, source.shape[dim], initial.shape[dim])
           for dim in range(source.dim())]
    out[torch.meshgrid(*old, indexing="ij")] = source.to(out.dtype)
    if source.dim() > 1:  # a weight: (out, in, ...), or (in, out, ...) when transposed
        o, i = (1, 0) if _TRANSPOSED.fullmatch(name) else (0, 1)
        new_in = torch.ones(initial.shape[i], dtype=torch.bool)
        new_in[old[i]] = False
        index: list = [slice(None)] * out.dim()
        index[o], index[i] = old[o][:, None], torch.nonzero(new_in)[:, 0][None, :]
        out[tuple(index)] = 0.0
    return out


def _old_indices(name: str, dim: int, old: int, new: int) -> torch.Tensor:
    if dim == 1 and _CONCAT_INPUT.fullmatch(name) and old != new:
        half_old, half_new = old // 2, new // 2
        return torch.cat([torch.arange(half_old), half_new + torch.arange(half_old)])
    return torch.arange(old)
