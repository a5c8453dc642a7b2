"""Choosing the segmenter: the trained network when weights are installed (averaged with the
classical method and regularised by a graph cut when its model card says so), else the classical
method. Asking for the network explicitly with no weights is an error, never a silent swap.

Each part runs alone too (``network-only``: the raw network, ``classical``), so a user can see
what each contributes; the returned segmenter's ``name`` says what ran."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from algorithm.errors import WeightsError
from algorithm.methods.base import Segmenter
from algorithm.methods.classical import GeodesicSegmenter
from algorithm.network.weights import find_weights_dir, read_card

Method = Literal["auto", "network", "network-only", "classical"]
METHODS: tuple[str, ...] = ("auto", "network", "network-only", "classical")
#: For ``--help``: what each method runs.
METHOD_HELP = (
    "auto: the network when weights are installed, else classical; network: the network with "
    "what its model card adds (the classical average, the graph cut); network-only: the raw "
    "network alone (its card's ensemble, if it names one); classical: the geodesic method "
    "alone, no weights. The output names what ran"
)


def make_segmenter(method: Method = "auto", weights: Path | None = None,
                   device: str | None = None) -> Segmenter:
    torch_device = _torch_device(device)
    if method == "classical":
        return GeodesicSegmenter(device=torch_device.type)
    folder = find_weights_dir(weights)
    if folder is None:
        if method in ("network", "network-only"):
            raise WeightsError(
                "no model weights found (looked in $LESIONSEG_WEIGHTS, /opt/ml/model and the "
                "package); install weights or use --method classical"
            )
        return GeodesicSegmenter(device=torch_device.type)
    segmenter = _network_segmenter(folder, method, torch_device)
    card = read_card(folder)
    if card.prompt_model is not None:  # another network answers the prompts other than clicks
        from algorithm.methods.prompt_router import PromptRoutedSegmenter

        inner = folder / card.prompt_model
        if not inner.is_dir():
            raise WeightsError(f"model card in {folder} names prompt_model {card.prompt_model!r}, "
                               f"but {inner} is not there")
        classical_kinds = read_card(inner).classical_kinds
        classical = (GeodesicSegmenter(grid_size=segmenter.grid_size, device=torch_device.type)
                     if classical_kinds else None)
        segmenter = PromptRoutedSegmenter(segmenter, _network_segmenter(inner, method,
                                                                        torch_device),
                                          classical, classical_kinds)
    return segmenter


def _network_segmenter(folder: Path, method: Method, torch_device) -> Segmenter:
    """The network of ``folder`` (the average of its card's ensemble members, if it names
    any) with what its card adds (unless ``network-only``)."""
    from algorithm.methods.ensemble import AverageSegmenter
    from algorithm.methods.network import NetworkSegmenter

    network = NetworkSegmenter.from_folder(folder, torch_device)
    segmenter: Segmenter = network
    if network.card.ensemble_members:
        segmenter = AverageSegmenter(
            [network, *(_ensemble_member(folder, m, network, torch_device)
                        for m in network.card.ensemble_members)], name="network-ensemble")
    if method != "network-only" and network.card.combine_with_classical:
        classical = GeodesicSegmenter(grid_size=network.grid_size, device=torch_device.type)
        segmenter = AverageSegmenter([segmenter, classical],
                                     name=f"{segmenter.name}+classical")
    if method != "network-only" and network.card.graph_cut_smoothness is not None:
        from algorithm.methods.graph_cut import GraphCutSegmenter

        segmenter = GraphCutSegmenter(segmenter, network.card.graph_cut_smoothness,
                                      name=f"{segmenter.name}+graph-cut")
    if segmenter is not network:  # the card's cut, whatever wraps the network
        segmenter.threshold = network.card.threshold
        segmenter.kind_thresholds = network.card.kind_thresholds
    return segmenter


def _ensemble_member(folder: Path, name: str, first, torch_device):
    from algorithm.methods.network import NetworkSegmenter

    inner = folder / name
    if not inner.is_dir():
        raise WeightsError(f"model card in {folder} names ensemble member {name!r}, but {inner} "
                           "is not there")
    member = NetworkSegmenter.from_folder(inner, torch_device)
    if member.grid_size != first.grid_size:
        raise WeightsError(f"ensemble member {inner} has grid size {member.grid_size}, the "
                           f"network in {folder} {first.grid_size}")
    return member


def network_card(segmenter: Segmenter):
    """The model card of the (first) network inside ``segmenter``, through averages, graph cuts
    and prompt routers (the clicks network's, behind a router); None when no network takes
    part."""
    card = getattr(segmenter, "card", None)
    if card is not None:
        return card
    parts = list(getattr(segmenter, "members", [])) + [getattr(segmenter, "inner", None)]
    return next((c for c in (network_card(p) for p in parts if p is not None) if c is not None),
                None)


def model_version(segmenter: Segmenter) -> str:
    """The model card's version of the network inside ``segmenter`` (through averages and graph
    cuts), or ``"classical"`` when no network takes part."""
    card = network_card(segmenter)
    return card.version if card is not None else "classical"


def _torch_device(device: str | None):
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise WeightsError(f"device {device!r} requested but no CUDA GPU is available")
    return torch.device(device)
