"""The model card: what the shipped weights need at inference, and where they came from.

Inference reads the architecture, grid size and guidance settings from here, so weights and the
preprocessing they were trained with can never drift apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Architecture(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_channels: int = 5
    out_channels: int = 2
    features: list[int] = Field(default_factory=lambda: [16, 32, 64, 128, 160])


class GuidanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geodesic_intensity_weight: float = 10.0
    geodesic_scale: float = 0.25  #: exp(-d / (scale * grid size))
    click_sigma: float = 2.0  #: grid voxels


class ModelCard(BaseModel):
    """Stored as ``model_card.json`` beside ``model.safetensors``."""

    model_config = ConfigDict(extra="allow")
    name: str
    version: str
    architecture: Architecture = Field(default_factory=Architecture)
    grid_size: int = 64
    guidance: GuidanceSettings = Field(default_factory=GuidanceSettings)
    test_time_flips: bool = False
    #: average with the classical method's probability (chosen when the benchmark shows it pays)
    combine_with_classical: bool = False
    weights_file: str = "model.safetensors"
    training: dict = Field(default_factory=dict)
    validation: dict = Field(default_factory=dict)
    licence: str = "unspecified"
