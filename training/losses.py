"""Dice + cross-entropy with deep supervision, as in nnU-Net."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5) -> torch.Tensor:
    """Batch soft Dice of the lesion class plus cross-entropy; ``target`` is (B, D, H, W) long."""
    ce = F.cross_entropy(logits, target)
    prob = torch.softmax(logits, dim=1)[:, 1]
    t = (target == 1).float()
    intersection = (prob * t).sum()
    dice = (2 * intersection + smooth) / (prob.sum() + t.sum() + smooth)
    return ce + (1 - dice)


def deep_supervision_weights(n: int) -> list[float]:
    """Halving weights from fine to coarse, the coarsest dropped, normalised to 1."""
    w = [0.5**i for i in range(n)]
    if n > 1:
        w[-1] = 0.0
    total = sum(w)
    return [v / total for v in w]


def deep_supervision_loss(outputs: list[torch.Tensor] | torch.Tensor,
                          target: torch.Tensor) -> torch.Tensor:
    if isinstance(outputs, torch.Tensor):
        return dice_ce_loss(outputs, target)
    loss = outputs[0].new_zeros(())
    for weight, out in zip(deep_supervision_weights(len(outputs)), outputs):
        if weight == 0:  # keep the head in the graph: DDP wants a gradient for every parameter
            loss = loss + 0.0 * out.sum()
            continue
        t = target
        if out.shape[2:] != target.shape[1:]:
            t = F.interpolate(target[:, None].float(), size=out.shape[2:], mode="nearest")[:, 0]
        loss = loss + weight * dice_ce_loss(out, t.long())
    return loss
