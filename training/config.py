"""Everything a training run depends on, saved beside its checkpoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from algorithm.click_convention import PROTOCOL_INWARD
from training.synthesis import LesionSynthesisConfig


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifests: list[Path] = Field(default_factory=list)  #: dev-lesions style manifest.json
    nnunet_folders: list[Path] = Field(default_factory=list)  #: imagesTr/labelsTr/dataset.json
    backgrounds: list[Path] = Field(default_factory=list)  #: lesion-free volumes for synthesis
    #: sampling weight of each manifest or folder (keyed by its path as given): each source is
    #: then drawn that often whatever its number of cases (unnamed sources weigh 1); empty: every
    #: case equally often
    source_weights: dict[str, float] = Field(default_factory=dict)
    #: with source weights, the share of the ``backgrounds`` volumes among synthetic-lesion
    #: backgrounds, on the sources' scale (the training cases' own images are the others)
    background_weight: float = Field(default=1.0, ge=0.0)
    out: Path = Path("runs/default")
    n_folds: int = 2
    fold: int = 0  #: held-out fold; -1 trains on everything (no validation)
    seed: int = 0  #: patient split, initial weights, and (unless sample_seed) the samples
    #: seed of the simulated samples alone: a run that continues another (``init_weights``) on
    #: fresh samples, with the same patients held out
    sample_seed: int | None = None
    epochs: int = 40
    steps_per_epoch: int = 50
    batch_size: int = 2
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 3e-5
    features: list[int] = Field(default_factory=lambda: [12, 24, 48, 96, 128])
    grid_size: int = 64
    synthetic_fraction: float = 0.5  #: share of samples with synthetic/transplanted lesions
    #: main-lobe diameter range of synthetic lesions, mm, log-uniform (the generator's default);
    #: widen it for cohorts of large tumours such as soft-tissue sarcomas
    synthetic_diameter_mm: tuple[float, float] = (6.0, 45.0)
    #: channel names whose images do not show what the label marks (e.g. ``t1c`` for BraTS
    #: whole-tumour labels, whose oedema is faint on T1c): the label is never trained on them;
    #: they still serve as anatomy for synthetic lesions
    exclude_channels: list[str] = Field(default_factory=list)
    p_refine: float = 0.3  #: share of samples with a synthetic flawed previous mask
    #: share of samples whose previous mask and corrective clicks come from the model itself
    p_self_refine: float = 0.0
    p_centre: float = 0.05  #: share of samples with a single (jittered) centre click
    #: range of the simulated clicks' inward shift from the lesion's extremes, voxels on fine
    #: axes (the protocol says 5), for cohorts whose annotators click otherwise
    click_inward: tuple[int, int] = (PROTOCOL_INWARD, PROTOCOL_INWARD)
    #: random relative change of the VOI size per sample; the network learns the VOI's scale,
    #: so this sets how far from the protocol's margins the clicks may put it
    voi_scale_jitter: float = Field(default=0.1, ge=0.0, lt=1.0)
    init_weights: Path | None = None  #: exported weights folder to start from (fine-tuning)
    device: str = "cpu"
    #: mixed precision: bfloat16 autocast for the training steps and the self-refinement
    #: predictions (validation stays float32, as inference is). Pays on GPUs and on CPUs with
    #: native bfloat16 (Intel AMX: about 2x faster steps here, see
    #: benchmarks/bench_training_step.py); elsewhere it is slower
    amp: bool = False
    #: exponential moving average of the weights (e.g. 0.99, a horizon of about 100 steps);
    #: validation, ``best`` and ``final`` then use the average, which smooths the swings that
    #: small batches of freshly simulated samples cause from one epoch to the next. 0 = off
    ema_decay: float = Field(default=0.0, ge=0.0, lt=1.0)
    threads: int = 0  #: torch CPU threads, 0 = all cores
    val_seeds: list[int] = Field(default_factory=lambda: [0])
    #: validate each epoch on the held-out cases of these groups only (e.g. ``sts``: the cohort
    #: the model is for); empty: all held-out cases. The card lists every held-out case either way
    val_groups: list[str] = Field(default_factory=list)
    #: validation also simulates this many corrective clicks; the best epoch then maximises the
    #: mean of the first and the corrected DSC
    val_corrections: int = 0

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
