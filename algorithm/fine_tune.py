"""Image-specific fine-tuning (BIFSeg's idea): a copy of the network is tuned on the one image in
front of it, from the user's prompts and its own confident voxels, within a time budget.

What supervises the copy, on the model grid of the final volume of interest:

* the user's voxels (tumour and background clicks, each a ball of ``CLICK_RADIUS`` grid voxels;
  scribbles, outlines, a box's outside, RECIST axes: the prompts' known seeds) at weight 1;
* the network's own answer where it is sure, weighted by how sure: ``w = (|2p - 1| - m) /
  (1 - m)`` above the margin ``m`` (``CERTAIN``), 0 below it, so that the uncertain band along
  the boundary, where the user's prompts matter, is left to them (BIFSeg's uncertainty-weighted
  loss: the network's and the user's certainty decide each voxel's weight).

The copy's answer is kept only when it agrees better with the user's own voxels than the
original answer does (the fraction of those voxels each gets right, at 0.5): a copy that
changed nothing the user said is no evidence of a better mask. The original weights are never
touched: the copy is a deep copy, and its optimiser sees only the copy's parameters.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from algorithm.guidance.network_input import network_input
from algorithm.methods.base import GridCase

CLICK_RADIUS = 1.5  #: grid voxels around a click that take its label
CERTAIN = 0.8  #: the network's voxels supervise above this margin |2p - 1|
LEARNING_RATE = 1e-4
USER_WEIGHT = 1.0  #: the user's voxels' share of the loss, against the network's own


@dataclass(frozen=True)
class FineTuneReport:
    """What the fine-tuning did, for the outputs (``lesion-measurements``, the server)."""

    kept: str  #: "tuned" or "original"
    steps: int
    seconds: float
    agreement_original: float  #: share of the user's voxels the original answer gets right
    agreement_tuned: float
    user_voxels: int

    def as_dict(self) -> dict:
        return {"kept": self.kept, "steps": self.steps, "seconds": round(self.seconds, 3),
                "agreement_original": round(self.agreement_original, 4),
                "agreement_tuned": round(self.agreement_tuned, 4),
                "user_voxels": self.user_voxels}


def user_labels(case: GridCase) -> tuple[np.ndarray, np.ndarray]:
    """(tumour, background) bool grids of what the user said: click balls and known seeds.
    Background wins where both meet, as everywhere in the pipeline."""
    shape = case.image.shape
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1).T
    tumour = np.zeros(shape, dtype=bool)
    background = np.zeros(shape, dtype=bool)
    for points, target in ((case.positive, tumour), (case.negative, background)):
        for point in np.asarray(points, dtype=float).reshape(-1, 3):
            near = ((grid - point) ** 2).sum(axis=1) <= CLICK_RADIUS ** 2
            target |= near.reshape(shape)
    if case.seeds is not None:
        tumour |= case.seeds.tumour
        background |= case.seeds.background
    tumour &= ~background
    return tumour, background


def network_weights(prob: np.ndarray) -> np.ndarray:
    """Per voxel, how much the network's own answer supervises the copy."""
    margin = np.abs(2.0 * prob - 1.0)
    return np.clip((margin - CERTAIN) / (1.0 - CERTAIN), 0.0, 1.0).astype(np.float32)


def agreement_with_user(prob: np.ndarray, tumour: np.ndarray, background: np.ndarray) -> float:
    n = int(tumour.sum() + background.sum())
    if n == 0:
        return 1.0
    right = int((prob[tumour] > 0.5).sum() + (prob[background] <= 0.5).sum())
    return right / n


def fine_tune(network, case: GridCase, prob: np.ndarray, budget_s: float,
              clock=time.perf_counter) -> tuple[np.ndarray, FineTuneReport]:
    """Tune a copy of ``network`` (a ``NetworkSegmenter``) on ``case`` for up to ``budget_s``
    seconds (at least one step) and return the probability to use, and what happened.
    ``prob`` is the original network's answer on this case."""
    started = clock()
    tumour, background = user_labels(case)
    original = agreement_with_user(prob, tumour, background)
    if not (tumour.any() or background.any()):
        return prob, FineTuneReport("original", 0, clock() - started, original, original, 0)
    device = network.device
    model = copy.deepcopy(network.model).to(device)
    model.eval()  # instance norm: eval and train differ only in the deep-supervision heads
    for p in model.parameters():
        p.requires_grad_(True)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    channels = network_input(case.image, case.positive, case.negative, case.previous_mask,
                             case.spacing, case.seeds, network.card.guidance)
    x = torch.from_numpy(channels[None]).to(device)
    target = torch.from_numpy(np.where(tumour, 1.0, np.where(background, 0.0, prob > 0.5))
                              .astype(np.float32)).to(device)
    user = torch.from_numpy(tumour | background).to(device)
    weight_net = torch.from_numpy(network_weights(prob)).to(device) * (~user)
    steps = 0
    while steps == 0 or clock() - started < budget_s:
        optimiser.zero_grad(set_to_none=True)
        logits = model(x)
        p = torch.softmax(logits.float(), dim=1)[0, 1].clamp(1e-6, 1 - 1e-6)
        bce = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))
        loss_user = bce[user].mean()
        loss_net = (bce * weight_net).sum() / weight_net.sum().clamp(min=1.0)
        (USER_WEIGHT * loss_user + loss_net).backward()
        optimiser.step()
        steps += 1
    with torch.inference_mode():
        tuned = torch.softmax(model(x).float(), dim=1)[0, 1].cpu().numpy().astype(np.float32)
    after = agreement_with_user(tuned, tumour, background)
    kept = "tuned" if after > original else "original"
    report = FineTuneReport(kept, steps, clock() - started, original, after,
                            int(tumour.sum() + background.sum()))
    return (tuned if kept == "tuned" else prob), report


def find_network(segmenter, case: GridCase):
    """The ``NetworkSegmenter`` that answers ``case`` inside ``segmenter`` (itself, behind a
    prompt router), or None when the answer is not one network's alone (an average with the
    classical method, a graph cut: tuning one member would not be what the user sees)."""
    from algorithm.methods.network import NetworkSegmenter

    if isinstance(segmenter, NetworkSegmenter):
        return segmenter
    route = getattr(segmenter, "route", None)
    return find_network(route(case), case) if route is not None else None
