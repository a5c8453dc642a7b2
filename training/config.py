"""Everything a training run depends on, saved beside its checkpoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from algorithm.click_convention import PROTOCOL_INWARD
from algorithm.guidance.encoding import CHANNELS
from algorithm.network.model_card import GuidanceSettings
from algorithm.prompts.prompt_set import PROMPT_KINDS
from training.prompt_simulation import VALIDATION_PROMPTS
from training.synthesis import LesionSynthesisConfig


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifests: list[Path] = Field(default_factory=list,
                                  description="dev-lesions style manifest.json files")
    nnunet_folders: list[Path] = Field(default_factory=list,
                                       description="nnU-Net v2 raw folders (imagesTr, labelsTr)")
    backgrounds: list[Path] = Field(default_factory=list,
                                    description="lesion-free volumes for synthetic lesions")
    source_weights: dict[str, float] = Field(default_factory=dict, description=(
        "sampling weight of each manifest or folder (keyed by its path as given): each source "
        "is then drawn that often whatever its number of cases (unnamed sources weigh 1); "
        "empty: every case equally often"))
    background_weight: float = Field(default=1.0, ge=0.0, description=(
        "with source weights: the --background volumes' share among synthetic-lesion "
        "backgrounds, on the sources' scale (the training cases' own images are the others)"))
    licence: str = Field(default="", description=(
        "licence of training cases whose manifest or dataset.json states none (the model card "
        "says 'unknown' for them otherwise)"))
    out: Path = Field(default=Path("runs/default"), description="run folder")
    n_folds: int = Field(default=2, description="cross-validation folds, split by patient")
    fold: int = Field(default=0, description=(
        "held-out fold; -1 trains on every case (no validation, the last epoch is kept)"))
    seed: int = Field(default=0, description=(
        "seed of the patient split, the initial weights and (unless --sample-seed) the samples"))
    sample_seed: int | None = Field(default=None, description=(
        "seed of the simulated samples alone: continue a run on fresh samples with the same "
        "patients held out"))
    epochs: int = Field(default=40, description="epochs (validation and a checkpoint each)")
    steps_per_epoch: int = Field(default=50, description="optimiser steps per epoch")
    batch_size: int = Field(default=2, description="samples per step")
    optimizer: str = Field(default="adamw", description="adamw, or sgd (Nesterov, momentum 0.99)")
    lr: float = Field(default=1e-3, description="initial learning rate (poly decay to 0)")
    weight_decay: float = Field(default=3e-5, description="weight decay")
    features: list[int] = Field(default_factory=lambda: [12, 24, 48, 96, 128],
                                description="U-Net channels per level (its width and depth)")
    grid_size: int = Field(default=64, description="model grid edge, voxels (the VOI spans it)")
    guidance_channels: list[str] = Field(default_factory=lambda: list(CHANNELS), description=(
        "the network's input channels in order (algorithm.guidance.encoding.KNOWN_CHANNELS); "
        "add clicks_ellipsoid for the six clicks' inscribed ellipsoid as a prior channel. A "
        "channel that --init-weights lacks starts with zero weights"))
    synthetic_fraction: float = Field(default=0.5, description=(
        "share of samples with synthetic or transplanted lesions"))
    synthetic_diameter_mm: tuple[float, float] = Field(default=(6.0, 45.0), description=(
        "diameter range of synthetic lesions' main lobe, mm, log-uniform; widen it for large "
        "tumours such as soft-tissue sarcomas"))
    exclude_channels: list[str] = Field(default_factory=list, description=(
        "channel names whose images do not show what the label marks (e.g. t1c for BraTS "
        "whole-tumour labels): never trained with the label, still anatomy for synthesis"))
    p_refine: float = Field(default=0.3, description=(
        "share of samples with a synthetic flawed previous mask and corrective clicks"))
    p_self_refine: float = Field(default=0.0, description=(
        "share of samples whose previous mask and corrections come from the model itself"))
    p_centre: float = Field(default=0.05, description=(
        "share of samples with a single (jittered) centre click"))
    click_inward: tuple[int, int] = Field(default=(PROTOCOL_INWARD, PROTOCOL_INWARD), description=(
        "range of the simulated clicks' inward shift from the lesion's extremes, voxels on fine "
        "axes (the protocol says 5)"))
    voi_scale_jitter: float = Field(default=0.1, ge=0.0, lt=1.0, description=(
        "random relative change of the VOI size per sample: how far from the protocol's "
        "margins the clicks may put it"))
    init_weights: Path | None = Field(default=None, description=(
        "exported weights folder to fine-tune from (e.g. algorithm/weights)"))
    device: str = Field(default="cpu", description="cpu or cuda")
    amp: bool = Field(default=False, description=(
        "bfloat16 mixed precision for the steps (validation stays float32); pays on GPUs and "
        "CPUs with native bfloat16, elsewhere it is slower (benchmarks/bench_training_step.py)"))
    ema_decay: float = Field(default=0.0, ge=0.0, lt=1.0, description=(
        "exponential moving average of the weights, validated and exported (e.g. 0.99); 0: off"))
    threads: int = Field(default=0, description="torch CPU threads; 0: all cores")
    val_seeds: list[int] = Field(default_factory=lambda: [0],
                                 description="click seeds of each epoch's validation")
    val_groups: list[str] = Field(default_factory=list, description=(
        "validate each epoch on the held-out cases of these groups only (e.g. sts); the card "
        "lists every held-out case either way; empty: all"))
    val_corrections: int = Field(default=0, description=(
        "validation also simulates this many corrective clicks; the best epoch then maximises "
        "the mean of the first and the corrected DSC"))

    prompt_kinds: list[str] = Field(default_factory=lambda: ["clicks"], description=(
        "prompt kinds the samples draw from (clicks scribbles outlines box recist); the model "
        "card lists them"))
    prompt_kind_weights: list[float] = Field(default_factory=list, description=(
        "how often each of --prompt-kinds is drawn, one weight > 0 per kind; empty: equally"))
    val_prompt: str = Field(default="clicks", description=(
        "the prompt each epoch's validation gives (clicks outlines-1 outlines-3 scribbles box "
        "box-2 recist-long recist-long-short)"))

    @field_validator("prompt_kinds")
    @classmethod
    def _known_prompt_kinds(cls, value: list[str]) -> list[str]:
        unknown = [k for k in value if k not in PROMPT_KINDS]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(f"prompt_kinds must be distinct names from {PROMPT_KINDS}, "
                             f"got {value}")
        return value

    @field_validator("guidance_channels")
    @classmethod
    def _channels_a_card_takes(cls, value: list[str]) -> list[str]:
        """Refused at start-up by the card's own check, not when the run exports."""
        GuidanceSettings(channels=tuple(value))
        return value

    def guidance(self) -> GuidanceSettings:
        """The guidance the run's samples are encoded with and its card records."""
        return GuidanceSettings(channels=tuple(self.guidance_channels))

    @field_validator("val_prompt")
    @classmethod
    def _known_val_prompt(cls, value: str) -> str:
        if value not in VALIDATION_PROMPTS:
            raise ValueError(f"val_prompt must be one of {VALIDATION_PROMPTS}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _a_weight_per_kind(self) -> "TrainConfig":
        weights = self.prompt_kind_weights
        if weights and (len(weights) != len(self.prompt_kinds) or not all(w > 0 for w in weights)):
            raise ValueError(f"prompt_kind_weights must be one weight > 0 per prompt kind "
                             f"{self.prompt_kinds}, got {weights}")
        return self

    @field_validator("source_weights")
    @classmethod
    def _positive_weights(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in value.items() if not w > 0}
        if bad:
            raise ValueError(f"source weights must be > 0, got {bad}")
        return value

    @field_validator("click_inward")
    @classmethod
    def _an_inward_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError(f"click_inward must be MIN MAX with 0 <= MIN <= MAX, got {value}")
        return value

    @field_validator("synthetic_diameter_mm")
    @classmethod
    def _a_range_the_generator_takes(cls, value: tuple[float, float]) -> tuple[float, float]:
        """Refused at start-up, by the generator's own check, not at the first synthetic draw."""
        LesionSynthesisConfig(diameter_mm=value)
        return value
