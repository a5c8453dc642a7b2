"""The model card: what the shipped weights need at inference, and where they came from.

Inference reads the architecture, grid size and guidance settings from here, so weights and the
preprocessing they were trained with can never drift apart.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator,
)

from algorithm.guidance.encoding import CHANNELS, KNOWN_CHANNELS
from algorithm.prompts.prompt_set import PROMPT_KINDS


class Architecture(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_channels: int = len(CHANNELS)
    out_channels: int = 2
    features: list[int] = Field(default_factory=lambda: [16, 32, 64, 128, 160])


class GuidanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geodesic_intensity_weight: float = 10.0
    geodesic_scale: float = 0.25  #: exp(-d / (scale * grid size))
    click_sigma: float = 2.0  #: grid voxels
    #: input channels in order (``algorithm.guidance.encoding.KNOWN_CHANNELS`` names them)
    channels: tuple[str, ...] = CHANNELS

    @field_validator("channels")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in KNOWN_CHANNELS]
        if unknown or len(set(value)) != len(value) or "image" not in value:
            raise ValueError(f"channels must be distinct names from {KNOWN_CHANNELS} including "
                             f"'image', got {value}")
        return value


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
    #: regularise that probability with a contrast-sensitive graph cut of this smoothness
    #: (``algorithm.methods.graph_cut``); None leaves it as it is
    graph_cut_smoothness: float | None = Field(default=None, gt=0)
    #: the prompt kinds (``algorithm.prompts.prompt_set.PROMPT_KINDS``) the weights were trained
    #: on; others still reach the network through the same guidance, untrained
    prompt_kinds: tuple[str, ...] = ("clicks",)
    #: where the network's probability is cut into a first answer's mask (0.5 unless a screen
    #: chose another on cases other than those reported: ``benchmarks/screens/threshold.py``);
    #: refinements, fed the previous mask, are cut at 0.5 as in training
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    #: a first answer's cut for cases holding these prompt kinds (a box, say), where a screen on
    #: cases other than those reported chose another cut for them than ``threshold``
    #: (``benchmarks/screens/kind_threshold.py``); of several kinds present, the lowest applies
    kind_thresholds: dict[str, float] = Field(default_factory=dict)
    #: a subfolder (beside these weights) holding the network that answers cases whose prompts
    #: are other than clicks (boxes, outlines, scribbles, RECIST lines), trained for those kinds;
    #: None: this network answers every kind (``algorithm.methods.prompt_router``)
    prompt_model: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    #: subfolders (beside these weights) holding more networks trained by the same recipe
    #: (another sample seed, say): their probabilities are averaged with this network's before
    #: the cut, as nnU-Net ensembles its models; each member reads its own card's guidance
    ensemble_members: tuple[Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")], ...] = ()
    #: on a prompt model's card: the kinds the classical method answers instead of this
    #: network, because it measured better on them (chosen on cases other than those reported)
    classical_kinds: tuple[str, ...] = ()
    #: seconds of image-specific fine-tuning per case on the platform (``algorithm.fine_tune``);
    #: 0 keeps it off there (the command line and the server ask for it with --fine-tune)
    fine_tune_seconds: float = Field(default=0.0, ge=0.0)
    weights_file: str = "model.safetensors"
    training: dict = Field(default_factory=dict)
    validation: dict = Field(default_factory=dict)
    licence: str = "unspecified"

    @field_validator("prompt_kinds")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in value if k not in PROMPT_KINDS]
        if unknown or not value:
            raise ValueError(f"prompt_kinds must be names from {PROMPT_KINDS}, got {value}")
        return value

    @field_validator("classical_kinds")
    @classmethod
    def _known_classical_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in value if k not in PROMPT_KINDS or k == "clicks"]
        if unknown:
            raise ValueError(f"classical_kinds must be prompt kinds other than clicks, got "
                             f"{value}")
        return value

    @field_validator("kind_thresholds")
    @classmethod
    def _known_kind_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in value if k not in PROMPT_KINDS or k == "clicks"]
        if unknown:
            raise ValueError(f"kind_thresholds must name prompt kinds other than clicks (their "
                             f"cut is threshold), got {sorted(value)}")
        wrong = {k: v for k, v in value.items() if not 0.0 < v < 1.0}
        if wrong:
            raise ValueError(f"kind_thresholds must lie strictly between 0 and 1, got {wrong}")
        return value

    @model_validator(mode="after")
    def _channels_match(self) -> "ModelCard":
        if self.architecture.in_channels != len(self.guidance.channels):
            raise ValueError(f"architecture.in_channels is {self.architecture.in_channels} but "
                             f"guidance.channels lists {len(self.guidance.channels)}")
        return self
