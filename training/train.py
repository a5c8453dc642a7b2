"""Train the interactive 3D U-Net: ``python -m training.train --nnunet DIR --out runs/NAME``.

nnU-Net-style practice scaled to small machines: samples simulated afresh every step (clicks,
refinement, synthetic lesions), intensity augmentation and flips, Dice + CE with deep supervision,
poly learning-rate decay, deterministic per-step seeds, a checkpoint every epoch (``--resume``
continues an interrupted run exactly), validation on held-out patients through the full inference
pipeline, a log with loss and validation DSC per epoch, and a PNG of the curves. Multi-GPU:
``torchrun --nproc_per_node N -m training.train ... --device cuda``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors import SafetensorError
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from algorithm.errors import InputError, WeightsError
from algorithm.methods.network import NetworkSegmenter
from algorithm.network.model_card import Architecture, ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import read_card, save_model
from training.config import TrainConfig
from training.datasets import Case, patient_split, read_manifest, read_nnunet_folder
from training.losses import deep_supervision_loss
from training.interaction import ClickSimulationConfig
from training.prompt_simulation import PromptSimulationConfig
from training.samples import SampleConfig, draw_grid_sample, encode_sample, finish_sample
from training.self_refinement import refine_with_model
from training.synthesis import LesionSynthesisConfig
from training.sources import (
    Mixture, RealLesions, SyntheticLesions, backgrounds_from, load_cases, sampling_weights,
)
from training.validation import load_validation_cases, validate
from training.warm_start import warm_start, weights_sha256

CHECKPOINT = "checkpoint_latest.pt"
UNKNOWN_LICENCE = "unknown: set --licence"


def read_cases(config: TrainConfig) -> list[Case]:
    """Every source's cases, each tagged with its source (the path as given)."""
    try:
        cases = [replace(c, source=str(m)) for m in config.manifests for c in read_manifest(m)]
        cases += [replace(c, source=str(f)) for f in config.nnunet_folders
                  for c in read_nnunet_folder(f)]
    except InputError as error:  # e.g. a saved folder's unreadable case record
        raise SystemExit(f"error: {error}") from None
    if not cases:
        raise SystemExit("error: no training cases (give --manifest or --nnunet)")
    named = {str(m) for m in config.manifests} | {str(f) for f in config.nnunet_folders}
    unknown = sorted(set(config.source_weights) - named)
    if unknown:
        raise SystemExit(f"error: source weights for {', '.join(unknown)}, which is not a "
                         "--manifest or --nnunet of this run")
    return cases


def split_report(train_cases: list[Case], val_cases: list[Case], validated: list[Case],
                 weights) -> dict:
    """Per group: patients and cases on each side, the share of real samples each group gets,
    and how many held-out cases validation scores; printed at start and kept in the run."""
    share = (np.full(len(train_cases), 1.0) if weights is None else np.asarray(weights, float))
    share = share / share.sum()
    report = {}
    for group in sorted({c.group for c in [*train_cases, *val_cases]}):
        tr = [c for c in train_cases if c.group == group]
        va = [c for c in val_cases if c.group == group]
        report[group] = {
            "train_patients": len({c.patient_id for c in tr}), "train_cases": len(tr),
            "held_out_patients": len({c.patient_id for c in va}), "held_out_cases": len(va),
            "validated_cases": sum(c.group == group for c in validated),
            "sample_share": round(float(sum(share[k] for k, c in enumerate(train_cases)
                                            if c.group == group)), 4),
        }
    return report


def print_split(report: dict) -> None:
    print("split (real samples' share by group; validated: scored each epoch):",
          file=sys.stderr)
    for group, r in report.items():
        print(f"  {group:14s} train {r['train_patients']:4d} patients {r['train_cases']:4d} "
              f"cases ({100 * r['sample_share']:5.1f} %)   held out "
              f"{r['held_out_patients']:4d} patients {r['held_out_cases']:4d} cases "
              f"(validated {r['validated_cases']})", file=sys.stderr)


def split(config: TrainConfig, cases: list[Case]) -> tuple[list[Case], list[Case]]:
    if config.fold < 0:
        return cases, []
    return patient_split(cases, config.n_folds, config.fold, config.seed)


def unet(config: TrainConfig, deep_supervision: bool) -> UNet3D:
    return UNet3D(**architecture(config).model_dump(),
                  deep_supervision=deep_supervision)


def architecture(config: TrainConfig) -> Architecture:
    return Architecture(in_channels=len(config.guidance_channels), features=config.features)


def build_model(config: TrainConfig) -> UNet3D:
    """A fresh model (seeded), or the ``init_weights`` model to fine-tune."""
    torch.manual_seed(config.seed)
    model = unet(config, deep_supervision=True)
    if config.init_weights is not None:
        fresh = warm_start(model, config.init_weights, config.guidance().channels)
        print(f"started from {config.init_weights}"
              + (f"; new input channels at zero: {fresh}" if fresh else ""), file=sys.stderr)
    return model


def initial_weights_record(config: TrainConfig) -> dict | None:
    """Which exported model a fine-tuning run started from (read once: that folder may later be
    overwritten by this run's own export); its weights' SHA-256 lets the export find out
    whether the folder still holds it (``training.export`` scores the run against it)."""
    if config.init_weights is None:
        return None
    source = read_card(config.init_weights)
    return {"name": source.name, "version": source.version,
            "commit": source.training.get("commit"),
            "epochs_completed": source.training.get("epochs_completed"),
            "channels": list(source.guidance.channels),
            "path": str(config.init_weights),
            "sha256": weights_sha256(config.init_weights)}


def model_card(config: TrainConfig, train: list[Case], val_summary: dict | None,
               epoch: int, val: list[Case] = (), initialised_from: dict | None = None
               ) -> ModelCard:
    licence_of = {c.case_id: c.licence or config.licence or UNKNOWN_LICENCE for c in train}
    licences = sorted(set(licence_of.values()))
    return ModelCard(
        name="lesionseg-unet",
        version=f"{time.strftime('%Y.%m.%d')}-{config.out.name}-e{epoch}",
        architecture=architecture(config),
        grid_size=config.grid_size,
        guidance=config.guidance(),
        prompt_kinds=tuple(config.prompt_kinds),
        training={
            "commit": _git_commit(),
            "epochs_completed": epoch,
            "config": json.loads(config.model_dump_json()),
            "cases": [{"case": c.case_id, "patient": c.patient_id, "group": c.group,
                       "licence": licence_of[c.case_id]} for c in train],
            "validation_cases": [c.case_id for c in val],
            "synthetic_backgrounds": [str(p.name) for p in config.backgrounds],
            **({"initialised_from": initialised_from} if initialised_from else {}),
        },
        validation=val_summary or {},
        licence=_weights_licence(licences),
    )


def _weights_licence(licences: list[str]) -> str:
    restrictive = [lic for lic in licences
                   if "NC" in lic.upper() or "NON-COMMERCIAL" in lic.upper()]
    note = ("Non-commercial use only: trained on data under " + "; ".join(restrictive)
            if restrictive else "Training data licences: " + "; ".join(licences))
    if UNKNOWN_LICENCE in licences:
        note += ("; some training cases state no licence, so the weights' terms are unknown: "
                 "retrain with --licence")
    return note


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def poly_lr(base: float, step: int, total: int, exponent: float = 0.9) -> float:
    return base * (1 - min(step, total - 1) / total) ** exponent


def batch(source, rng: np.random.Generator, config: TrainConfig, sample_config: SampleConfig,
          model: UNet3D | None = None, device: torch.device = torch.device("cpu")):
    """A batch of fresh samples; with ``model``, a share refines on the model's own mistakes."""
    xs, ys = [], []
    for _ in range(config.batch_size):
        sample = draw_grid_sample(source.draw(rng), rng, sample_config)
        if model is not None and sample.previous is None and rng.random() < config.p_self_refine:
            sample = refine_with_model(sample, _predictor(model, device, config.amp),
                                       lambda s: encode_sample(s, sample_config.guidance), rng,
                                       sample_config.max_corrections)
        x, y = finish_sample(sample, rng, sample_config)
        xs.append(x)
        ys.append(y)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)).long()


def mixed_precision(device: torch.device, enabled: bool) -> torch.autocast:
    """bfloat16 autocast: float32's range, so no loss scaling; weights stay float32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def check_mixed_precision(device: torch.device) -> None:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise SystemExit("error: --amp needs a GPU with bfloat16 support (Ampere or newer); "
                         "train without --amp")
    if device.type == "cpu" and cpu_has_native_bfloat16() is False:
        print("warning: this CPU has no native bfloat16 (AMX, AVX512-BF16 or Arm BF16), so --amp "
              "is likely slower than float32; benchmarks/bench_training_step.py measures it",
              file=sys.stderr)


def cpu_has_native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool | None:
    """From the CPU flags Linux reports; None where they cannot be read (then no warning)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = {flag for line in text.splitlines()
             if line.startswith(("flags", "Features")) for flag in line.split(":", 1)[-1].split()}
    return bool(flags & {"amx_bf16", "avx512_bf16", "bf16"})


def training_step(net: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                  y: torch.Tensor, amp: bool) -> float:
    """One optimisation step (Dice + CE with deep supervision, clipped gradients); the loss."""
    with mixed_precision(x.device, amp):
        outputs = net(x)
    loss = deep_supervision_loss([o.float() for o in outputs], y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 12.0)
    optimizer.step()
    return loss.item()


def _predictor(model: UNet3D, device: torch.device, amp: bool = False):
    def predict(x: np.ndarray) -> np.ndarray:
        was_training = model.training
        model.eval()  # full-resolution output only; instance norm behaves the same
        with torch.no_grad(), mixed_precision(device, amp):
            logits = model(torch.from_numpy(x[None]).to(device))
        model.train(was_training)
        return torch.softmax(logits.float(), dim=1)[0, 1].cpu().numpy()
    return predict


def _inference_copy(model: UNet3D, config: TrainConfig) -> UNet3D:
    copy = unet(config, deep_supervision=False)
    copy.load_state_dict(model.state_dict())
    return copy


def weight_average(model: UNet3D, decay: float) -> AveragedModel | None:
    """The exponential moving average of ``model``'s weights (None when ``decay`` is 0)."""
    if decay <= 0:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def save_checkpoint(path: Path, model, optimizer, epoch: int, best: float, history: list,
                    origin: dict | None = None, ema: AveragedModel | None = None) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "epoch": epoch, "best": best, "history": json.dumps(history),
                "origin": json.dumps(origin),
                **({"ema": ema.state_dict()} if ema is not None else {})}, tmp)
    os.replace(tmp, path)


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(epochs, [h["train_loss"] for h in history], label="train loss")
    ax[0].set_xlabel("epoch")
    ax[0].legend()
    val = [h for h in history if "val_dsc" in h]
    if val:
        ax[1].plot([h["epoch"] for h in val], [h["val_dsc"] for h in val], label="network")
        corrected = [h for h in val if "val_dsc_corrected" in h]
        if corrected:
            ax[1].plot([h["epoch"] for h in corrected], [h["val_dsc_corrected"] for h in corrected],
                       label="network after corrections")
        ax[1].plot([h["epoch"] for h in val], [h["val_ellipsoid_dsc"] for h in val], "--",
                   label="six-click ellipsoid")
        ax[1].set_ylabel("validation DSC (full pipeline)")
        ax[1].set_xlabel("epoch")
        ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def synthetic_source(config: TrainConfig, loaded: list, weights=None) -> SyntheticLesions:
    """Synthetic and transplanted lesions in the training cases' anatomy and the backgrounds,
    drawn with the sources' weights; crops leave room around the largest lesion the size range
    allows."""
    diameters = config.synthetic_diameter_mm
    return SyntheticLesions(backgrounds_from(loaded, config.backgrounds, weights,
                                             config.background_weight), loaded,
                            crop_mm=max(160.0, 2.0 * diameters[1]),
                            synthesis=LesionSynthesisConfig(diameter_mm=diameters),
                            donor_weights=weights)


def train(config: TrainConfig, resume: bool = False, stop_after: int = 0) -> Path:
    """Run (or, with ``resume``, continue) training; ``stop_after`` > 0 ends this invocation
    after that many epochs, leaving a checkpoint to resume from (training in chunks)."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        dist.init_process_group("nccl" if config.device.startswith("cuda") else "gloo")
        rank = dist.get_rank()
        if config.device.startswith("cuda"):
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    device = torch.device(f"cuda:{torch.cuda.current_device()}" if config.device.startswith("cuda")
                          else "cpu")
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.amp:
        check_mixed_precision(device)  # before the data loads: a refusal should come at once
    resuming = resume and (config.out / CHECKPOINT).is_file()
    # on resume the checkpoint has the weights and remembers the origin: init_weights may
    # since have been overwritten (e.g. by exporting this very run)
    try:  # before the data loads: a wrong --init-weights should fail at once
        origin = None if resuming else initial_weights_record(config)
        model = (unet(config, deep_supervision=True) if resuming
                 else build_model(config)).to(device)
    except (WeightsError, SafetensorError, OSError, ValueError) as error:
        raise SystemExit(f"error: --init-weights {config.init_weights}: {error}") from None
    cases = read_cases(config)
    train_cases, val_cases = split(config, cases)
    validated = [c for c in val_cases if not config.val_groups or c.group in config.val_groups]
    if val_cases and config.val_groups and not validated:  # before the data loads: at once
        raise SystemExit(f"error: no held-out case is in --val-groups "
                         f"{' '.join(config.val_groups)} (held-out groups: "
                         f"{', '.join(sorted({c.group for c in val_cases}))})")
    try:
        loaded = load_cases(train_cases, tuple(config.exclude_channels))
    except ValueError as error:  # a bad --exclude-channels, or a case whose files disagree
        raise SystemExit(f"error: {error}") from None
    case_weights = sampling_weights(train_cases, config.source_weights)
    report = split_report(train_cases, val_cases, validated, case_weights)
    if rank == 0:
        print_split(report)
    out = config.out  # written only once the data has loaded: a bad start leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (out / "split.json").write_text(json.dumps(
        {"groups": report, "train": [c.case_id for c in train_cases],
         "held_out": [c.case_id for c in val_cases]}, indent=1) + "\n", encoding="utf-8")
    sources, weights = [RealLesions(loaded, case_weights)], [1.0 - config.synthetic_fraction]
    if config.synthetic_fraction > 0:
        sources.append(synthetic_source(config, loaded, case_weights))
        weights.append(config.synthetic_fraction)
    source = Mixture(sources, weights)
    validation = load_validation_cases(validated) if rank == 0 else []
    low, high = config.click_inward
    clicks = ClickSimulationConfig(p_centre=config.p_centre,
                                   p_protocol=min(0.5, 1.0 - config.p_centre),
                                   inward=low, inward_max=high)
    sample_config = SampleConfig(grid_size=config.grid_size, p_refine=config.p_refine,
                                 voi_scale_jitter=config.voi_scale_jitter, clicks=clicks,
                                 prompt_kinds=tuple(config.prompt_kinds),
                                 prompt_kind_weights=tuple(config.prompt_kind_weights) or None,
                                 prompts=PromptSimulationConfig(clicks=clicks),
                                 guidance=config.guidance())

    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=0.99, nesterov=True,
                                    weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr,
                                      weight_decay=config.weight_decay)
    ema = weight_average(model, config.ema_decay)
    start_epoch, best, history = 0, -1.0, []
    if resuming:
        state = torch.load(out / CHECKPOINT, map_location=device, weights_only=True)
        if (ema is None) != ("ema" not in state):
            made = "with" if "ema" in state else "without"
            raise SystemExit(f"error: {out / CHECKPOINT} was made {made} --ema-decay; "
                             "resume with the run's own options")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        start_epoch, best, history = state["epoch"], state["best"], json.loads(state["history"])
        origin = json.loads(state.get("origin", "null"))
        if rank == 0:
            kept = f"best validation score {best:.3f}" if val_cases else "the last one is kept"
            print(f"resumed from epoch {start_epoch} ({kept})", file=sys.stderr)
    total = config.epochs * config.steps_per_epoch
    sample_seed = config.seed if config.sample_seed is None else config.sample_seed
    evaluated = ema.module if ema is not None else model  # what validation scores and exports

    last_epoch = config.epochs if stop_after <= 0 else min(config.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, last_epoch):
        net.train()
        losses = []
        started = time.perf_counter()
        bar = tqdm(range(config.steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=rank != 0, file=sys.stderr, dynamic_ncols=True)
        for step in bar:
            it = epoch * config.steps_per_epoch + step
            for group in optimizer.param_groups:
                group["lr"] = poly_lr(config.lr, it, total)
            rng = np.random.default_rng([sample_seed, epoch, step, rank])
            x, y = batch(source, rng, config, sample_config,
                         model if config.p_self_refine > 0 else None, device)
            losses.append(training_step(net, optimizer, x.to(device), y.to(device), config.amp))
            if ema is not None:
                ema.update_parameters(model)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if rank != 0:
            continue
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                  "lr": optimizer.param_groups[0]["lr"],
                  "seconds": round(time.perf_counter() - started, 1)}
        summary = None
        if validation:
            evaluated.eval()
            card = model_card(config, train_cases, None, epoch + 1, val_cases, origin)
            summary = validate(NetworkSegmenter(evaluated, card, device), validation,
                               seeds=config.val_seeds, corrections=config.val_corrections,
                               prompt=config.val_prompt)
            record.update(val_dsc=summary["dsc"], val_ellipsoid_dsc=summary["ellipsoid_dsc"])
            if "dsc_corrected" in summary:
                record["val_dsc_corrected"] = summary["dsc_corrected"]
        history.append(record)
        with open(out / "log.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        print(json.dumps(record), file=sys.stderr)
        # without validation the last epoch is kept: the training loss on freshly simulated
        # samples is too noisy to choose by, and the poly schedule ends at a learning rate of 0
        score = float(epoch + 1)
        if summary:
            score = (summary["dsc"] + summary.get("dsc_corrected", summary["dsc"])) / 2
        card = model_card(config, train_cases, summary, epoch + 1, val_cases, origin)
        if score > best:
            best = score
            save_model(_inference_copy(evaluated, config), card, out / "best")
        if epoch + 1 == config.epochs:
            # the end of the schedule, whatever validation chose: an unselected model whose
            # held-out figures are not biased by the choice of epoch
            save_model(_inference_copy(evaluated, config), card, out / "final")
        save_checkpoint(out / CHECKPOINT, model, optimizer, epoch + 1, best, history, origin,
                        ema)
        plot_curves(history, out / "curves.png")
    if distributed:
        dist.destroy_process_group()
    return out / "best"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__)
    p.add_argument("--manifest", dest="manifests", type=weighted_source, action="append",
                   default=[], metavar="PATH[:WEIGHT]",
                   help="a dev-lesions style manifest.json; repeat for several sources. WEIGHT: "
                        "how often its cases are drawn relative to the other sources (default: "
                        "every case equally often, or 1 once any source has a weight)")
    p.add_argument("--nnunet", dest="nnunet_folders", type=weighted_source, action="append",
                   default=[], metavar="PATH[:WEIGHT]",
                   help="an nnU-Net v2 raw dataset folder (imagesTr, labelsTr, dataset.json); "
                        "WEIGHT as for --manifest")
    p.add_argument("--background", dest="backgrounds", type=Path, action="append", default=[])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true", help="continue from out/checkpoint_latest.pt")
    p.add_argument("--stop-after", type=int, default=0,
                   help="end after this many epochs in this invocation (resume later)")
    for name, field in TrainConfig.model_fields.items():
        if name in ("manifests", "nnunet_folders", "backgrounds", "out", "source_weights"):
            continue
        flag = "--" + name.replace("_", "-")
        default = field.get_default(call_default_factory=True)
        shown = "" if default in (None, "", []) else f" (default: {_shown(default)})"
        kwargs = {"default": None, "help": (field.description or "") + shown}
        if field.annotation is bool:
            p.add_argument(flag, action="store_true", **kwargs)
        elif name in ("features", "val_seeds"):
            p.add_argument(flag, type=int, nargs="+", **kwargs)
        elif name in ("exclude_channels", "val_groups", "prompt_kinds", "guidance_channels"):
            p.add_argument(flag, nargs="+", metavar=name.split("_")[-1][:-1].upper(), **kwargs)
        elif name in ("sample_seed", "init_weights"):
            p.add_argument(flag, type=int if name == "sample_seed" else Path, **kwargs)
        elif name == "synthetic_diameter_mm":
            p.add_argument(flag, type=float, nargs=2, metavar=("MIN", "MAX"), **kwargs)
        elif name == "prompt_kind_weights":
            p.add_argument(flag, type=float, nargs="+", metavar="WEIGHT", **kwargs)
        elif name == "click_inward":
            p.add_argument(flag, type=int, nargs=2, metavar=("MIN", "MAX"), **kwargs)
        else:
            p.add_argument(flag, type=type(default), **kwargs)
    return p


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return "off" if value is False else str(value)


def weighted_source(text: str) -> tuple[Path, float | None]:
    """``PATH`` or ``PATH:WEIGHT`` (the last colon, when what follows is a number)."""
    path, sep, weight = text.rpartition(":")
    if sep and path:
        try:
            value = float(weight)
        except ValueError:
            return Path(text), None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text}: the weight must be > 0")
        return Path(path), value
    return Path(text), None


def main(argv: list[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    resume, stop_after = args.pop("resume"), args.pop("stop_after")
    weighted = args["manifests"] + args["nnunet_folders"]
    args["source_weights"] = {str(path): w for path, w in weighted if w is not None} or None
    args["manifests"] = [path for path, _ in args["manifests"]]
    args["nnunet_folders"] = [path for path, _ in args["nnunet_folders"]]
    config = TrainConfig(**{k: v for k, v in args.items() if v is not None})
    best = train(config, resume=resume, stop_after=stop_after)
    print(f"best weights: {best}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
