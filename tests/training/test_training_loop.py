"""The training package end to end on tiny synthetic data: samples, losses, a short run that
exports loadable weights, and resume that continues exactly where an interruption stopped."""

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from algorithm.guidance.encoding import CHANNELS
from algorithm.methods.network import NetworkSegmenter
from algorithm.network.weights import load_model
from algorithm.phantom import make_phantom
from training.config import TrainConfig
from training.losses import deep_supervision_loss, deep_supervision_weights, dice_ce_loss
from training.samples import SampleConfig, add_corrections, flawed_prediction, make_sample
from training.sources import LesionExample
from training.export import export
from training.interaction import ClickSimulationConfig
from training.train import (
    build_parser, cpu_has_native_bfloat16, main as train_main, mixed_precision, poly_lr,
    synthetic_source, train, unet,
)

TINY = dict(epochs=2, steps_per_epoch=2, batch_size=1, grid_size=32, features=[4, 8, 16],
            threads=1, synthetic_fraction=0.0, n_folds=2, fold=0)


def phantom_example(modality="CT", seed=0) -> tuple[LesionExample, object]:
    phantom = make_phantom(modality, shape=(24, 64, 64), seed=seed)
    image = sitk.GetArrayFromImage(phantom.image).astype(np.float32)
    mask = sitk.GetArrayFromImage(phantom.mask).astype(bool)
    spacing = np.asarray(phantom.image.GetSpacing())[::-1]
    return LesionExample(image, mask, spacing, modality, "phantom"), phantom


@pytest.fixture(scope="module")
def nnunet_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Dataset001_Phantoms")
    (root / "imagesTr").mkdir()
    (root / "labelsTr").mkdir()
    for i, modality in enumerate(["CT", "CT", "CT", "CT"]):
        _, phantom = phantom_example(modality, seed=i)
        sitk.WriteImage(phantom.image, str(root / "imagesTr" / f"case{i:03d}_0000.nii.gz"))
        sitk.WriteImage(phantom.mask, str(root / "labelsTr" / f"case{i:03d}.nii.gz"))
    (root / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "CT"}, "labels": {"background": 0, "tumour": 1},
        "numTraining": 4, "file_ending": ".nii.gz"}), encoding="utf-8")
    return root


def test_sample_matches_the_inference_contract():
    example, _ = phantom_example()
    x, y = make_sample(example, np.random.default_rng(0),
                       SampleConfig(grid_size=32, p_refine=0.0, augment=False))
    assert x.shape == (len(CHANNELS), 32, 32, 32) and x.dtype == np.float32
    assert y.shape == (32, 32, 32)
    c = {name: x[i] for i, name in enumerate(CHANNELS)}
    assert 0.02 < y.mean() < 0.6  # the lesion fills much of the grid: scale normalisation
    peaks = np.argwhere(c["clicks_positive"] == c["clicks_positive"].max())
    assert y[tuple(peaks[0])] == 1  # a positive click lies on the lesion
    # no negative clicks, no previous mask
    assert c["clicks_negative"].max() == 0 and c["geodesic_negative"].max() == 0
    assert c["previous_mask"].max() == 0
    assert c["geodesic_positive"].max() == pytest.approx(1.0)  # 1 at the clicks


def test_refinement_samples_carry_a_previous_mask_and_corrections():
    example, _ = phantom_example()
    x, y = make_sample(example, np.random.default_rng(3),
                       SampleConfig(grid_size=32, p_refine=1.0, augment=False))
    previous = x[CHANNELS.index("previous_mask")]
    assert previous.any() and not np.array_equal(previous > 0.5, y.astype(bool))


def test_corrective_clicks_point_at_the_errors():
    target = np.zeros((20, 20, 20), bool)
    target[5:15, 5:15, 5:15] = True
    previous = target.copy()
    previous[5:15, 5:15, 10:15] = False  # half missed
    pos, neg = add_corrections(previous, target, np.zeros((0, 3)), np.zeros((0, 3)),
                               np.ones(3), np.random.default_rng(0), 1)
    assert len(pos) == 1 and len(neg) == 0
    assert target[tuple(pos[0].astype(int))] and not previous[tuple(pos[0].astype(int))]
    rng = np.random.default_rng(0)
    flawed = [flawed_prediction(target, np.array([[10, 10, 10]]), rng) for _ in range(10)]
    assert all(f.shape == target.shape for f in flawed) and any((f != target).any() for f in flawed)


def test_losses():
    target = torch.zeros(1, 8, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6, 2:6] = 1
    perfect = torch.stack([(target == 0).float(), (target == 1).float()], 1) * 20 - 10
    wrong = -perfect
    assert dice_ce_loss(perfect, target) < 0.01 < 1.0 < dice_ce_loss(wrong, target)
    outputs = [perfect, perfect[:, :, ::2, ::2, ::2]]
    assert deep_supervision_loss(outputs, target) < 0.05
    assert deep_supervision_weights(3) == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert poly_lr(1.0, 0, 10) == 1.0 and poly_lr(1.0, 9, 10) < 0.2


def test_tiny_run_exports_weights_the_algorithm_loads(nnunet_folder, tmp_path):
    out = tmp_path / "run"
    assert train_main(["--nnunet", str(nnunet_folder), "--out", str(out), "--epochs", "2",
                       "--steps-per-epoch", "2", "--batch-size", "1", "--grid-size", "32",
                       "--features", "4", "8", "16", "--threads", "1",
                       "--synthetic-fraction", "0.0"]) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text("utf-8").splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert all(0.0 <= r["val_dsc"] <= 1.0 and np.isfinite(r["train_loss"]) for r in log)
    assert (out / "curves.png").stat().st_size > 1000
    model, card = load_model(out / "best")
    assert card.grid_size == 32 and card.architecture.features == [4, 8, 16]
    validation = set(card.training["validation_cases"])
    assert validation and {c["case"] for c in card.training["cases"]}.isdisjoint(validation)
    assert card.training["commit"]
    NetworkSegmenter(model, card, torch.device("cpu"))
    final, final_card = load_model(out / "final")  # the unselected end of the schedule
    assert final_card.training["epochs_completed"] == 2
    assert final_card.validation["dsc"] == log[-1]["val_dsc"]
    # four steps cannot beat the ellipsoid: export refuses such a model unless forced
    with pytest.raises(SystemExit, match="below the six-click ellipsoid"):
        export(out / "best", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    shipped = export(out / "best", tmp_path / "package-weights", force=True)
    assert load_model(shipped)[1].training["validation_cases"] == sorted(validation) or \
        set(load_model(shipped)[1].training["validation_cases"]) == validation


def test_fine_tuning_run_with_self_refinement_and_corrected_validation(nnunet_folder, tmp_path):
    """Start from exported weights, refine on the model's own mistakes, validate corrections;
    resuming needs neither the source folder again nor forgets where the run started."""
    first = tmp_path / "first"
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=first, **TINY | {"epochs": 1}))
    source_version = load_model(first / "best")[1].version
    tuned = TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "tuned",
                        init_weights=first / "best", p_self_refine=1.0, p_refine=0.0,
                        val_corrections=1, **TINY)
    train(tuned, stop_after=1)
    record = json.loads((tmp_path / "tuned/log.jsonl").read_text("utf-8").splitlines()[0])
    assert 0.0 <= record["val_dsc_corrected"] <= 1.0
    card = load_model(tmp_path / "tuned/best")[1]
    assert card.validation["corrections"] == 1
    assert card.training["initialised_from"]["version"] == source_version
    assert card.version.endswith("-tuned-e1") and source_version.endswith("-first-e1")
    import shutil
    shutil.rmtree(first)  # e.g. overwritten by an export since
    train(tuned, resume=True)
    state = torch.load(tmp_path / "tuned/checkpoint_latest.pt", weights_only=True)
    assert state["epoch"] == 2
    assert json.loads(state["origin"])["version"] == source_version


def test_a_run_adds_the_ellipsoid_channel_to_the_model_it_starts_from(nnunet_folder, tmp_path):
    """--guidance-channels ... clicks_ellipsoid: the new channel starts at zero in the input
    convolution, the samples and the card carry it, and the exported model answers through the
    pipeline's own encoding."""
    first = tmp_path / "first"
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=first, **TINY | {"epochs": 1}))
    out = tmp_path / "prior"
    channels = [*CHANNELS, "clicks_ellipsoid"]
    assert train_main(["--nnunet", str(nnunet_folder), "--out", str(out), "--epochs", "1",
                       "--steps-per-epoch", "1", "--batch-size", "1", "--grid-size", "32",
                       "--features", "4", "8", "16", "--threads", "1", "--n-folds", "2",
                       "--synthetic-fraction", "0.0", "--init-weights", str(first / "best"),
                       "--guidance-channels", *channels]) == 0
    model, card = load_model(out / "final")
    assert card.guidance.channels == tuple(channels) and card.architecture.in_channels == 7
    assert card.training["initialised_from"]["channels"] == list(CHANNELS)
    example, _ = phantom_example()
    x, y = make_sample(example, np.random.default_rng(0),
                       SampleConfig(grid_size=32, p_refine=0.0, augment=False,
                                    guidance=card.guidance,
                                    clicks=ClickSimulationConfig(p_protocol=1.0, p_centre=0.0)))
    inside = x[-1] >= 0  # the six protocol clicks' ellipsoid: mostly lesion, and much of it
    assert x.shape == (7, 32, 32, 32) and y[inside].mean() > 0.8 and inside.sum() > 0.3 * y.sum()
    segmenter = NetworkSegmenter(model, card, torch.device("cpu"))
    assert segmenter is not None
    with pytest.raises(ValueError, match="clicks_ellipse"):
        TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "typo",
                    guidance_channels=["image", "clicks_ellipse"])


def test_a_run_on_all_cases_keeps_its_last_epoch(nnunet_folder, tmp_path):
    """Without held-out patients there is nothing to choose by (the training loss on fresh
    random samples is noise): the exported model is the final one."""
    best = train(TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "all",
                             **TINY | {"fold": -1, "epochs": 3}))
    model, card = load_model(best)
    assert card.training["epochs_completed"] == 3
    final = load_model(tmp_path / "all" / "final")[0].state_dict()
    assert all(torch.equal(v, final[k]) for k, v in model.state_dict().items())
    assert card.training["validation_cases"] == [] and card.validation == {}
    assert len(card.training["cases"]) == 4


def test_resume_continues_exactly(nnunet_folder, tmp_path):
    straight = TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "straight", **TINY)
    train(straight)
    interrupted = TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "resumed", **TINY)
    train(interrupted, stop_after=1)  # as if the machine went away after epoch 1
    state = torch.load(tmp_path / "resumed/checkpoint_latest.pt", weights_only=True)
    assert state["epoch"] == 1
    train(interrupted, resume=True)
    a = torch.load(tmp_path / "straight/checkpoint_latest.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "resumed/checkpoint_latest.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_weight_average_is_validated_exported_and_resumed_exactly(nnunet_folder, tmp_path):
    """``--ema-decay``: the exported model is the moving average, not the last step's weights,
    and an interrupted run resumes the average exactly."""
    averaged = TINY | {"ema_decay": 0.5}
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "straight", **averaged))
    interrupted = TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "resumed",
                              **averaged)
    train(interrupted, stop_after=1)
    train(interrupted, resume=True)
    a = torch.load(tmp_path / "straight/checkpoint_latest.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed/checkpoint_latest.pt", weights_only=True)
    for part in ("model", "ema"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part])
    assert int(a["ema"]["n_averaged"]) == TINY["epochs"] * TINY["steps_per_epoch"]
    final = load_model(tmp_path / "straight/final")[0].state_dict()
    assert all(torch.equal(v, a["ema"]["module." + k]) for k, v in final.items())
    assert any(not torch.equal(v, a["model"][k]) for k, v in final.items())
    with pytest.raises(SystemExit, match="made with --ema-decay"):
        train(TrainConfig(nnunet_folders=[nnunet_folder], out=tmp_path / "straight", **TINY),
              resume=True)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)


def test_a_sample_seed_draws_fresh_samples_for_the_same_patients(nnunet_folder, tmp_path):
    """``--sample-seed`` continues a recipe on new samples without moving the patient split."""
    runs = {}
    for sample_seed in (None, 7):
        out = tmp_path / f"samples{sample_seed}"
        train(TrainConfig(nnunet_folders=[nnunet_folder], out=out, sample_seed=sample_seed,
                          **TINY | {"epochs": 1}))
        runs[sample_seed] = load_model(out / "best")
    (a, card_a), (b, card_b) = runs[None], runs[7]
    assert card_a.training["validation_cases"] == card_b.training["validation_cases"]
    assert any(not torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert build_parser().parse_args(["--out", "x", "--sample-seed", "3"]).sample_seed == 3


def test_mixed_precision_runs_in_bfloat16_and_still_learns_in_float32(nnunet_folder, tmp_path):
    """``--amp`` on CPU: the convolutions compute in bfloat16, the weights and the loss stay
    float32, and the run differs from a float32 run (the autocast really took effect)."""
    config = TrainConfig(**TINY)
    model = unet(config, deep_supervision=False)
    x = torch.randn(1, len(CHANNELS), 32, 32, 32)
    with mixed_precision(torch.device("cpu"), True):
        assert model(x).dtype == torch.bfloat16
    assert model(x).dtype == torch.float32
    runs = {}
    for amp in (False, True):
        out = tmp_path / f"amp{amp}"
        train(TrainConfig(nnunet_folders=[nnunet_folder], out=out, amp=amp, **TINY))
        state = torch.load(out / "checkpoint_latest.pt", weights_only=True)
        assert all(v.dtype == torch.float32 for v in state["model"].values())
        assert all(np.isfinite(h["train_loss"]) for h in json.loads(state["history"]))
        runs[amp] = state["model"]
    assert any(not torch.equal(runs[False][k], runs[True][k]) for k in runs[False])


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n", encoding="utf-8")
    assert cpu_has_native_bfloat16(info) is False
    info.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n", encoding="utf-8")
    assert cpu_has_native_bfloat16(info) is True
    info.write_text("Features\t: fp asimd sve bf16 i8mm\n", encoding="utf-8")  # Arm
    assert cpu_has_native_bfloat16(info) is True
    assert cpu_has_native_bfloat16(tmp_path / "missing") is None


def test_a_misspelt_excluded_channel_stops_the_run_before_it_writes_anything(nnunet_folder,
                                                                            tmp_path):
    out = tmp_path / "typo"
    with pytest.raises(SystemExit, match="no case has a channel named ct .*channels: CT"):
        train(TrainConfig(nnunet_folders=[nnunet_folder], out=out, exclude_channels=["ct"],
                          **TINY))
    assert not out.exists()


def test_missing_initial_weights_stop_the_run_before_it_writes_anything(nnunet_folder,
                                                                         tmp_path):
    out = tmp_path / "tuned"
    with pytest.raises(SystemExit, match=r"^error: --init-weights .*model_card.json"):
        train(TrainConfig(nnunet_folders=[nnunet_folder], out=out,
                          init_weights=tmp_path / "no-such-run", **TINY))
    assert not out.exists()


def test_multi_process_training_with_torchrun(nnunet_folder, tmp_path):
    """DDP as multi-GPU users run it, here on CPU with the gloo backend and two processes."""
    import shutil
    import subprocess
    import sys

    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    out = tmp_path / "ddp"
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "training.train",
         "--nnunet", str(nnunet_folder), "--out", str(out), "--epochs", "1",
         "--steps-per-epoch", "2", "--batch-size", "1", "--grid-size", "32",
         "--features", "4", "8", "16", "--threads", "1", "--synthetic-fraction", "0.0"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
        encoding="utf-8", errors="replace", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len((out / "log.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    load_model(out / "best")


def test_synthetic_lesion_size_range_reaches_the_generator(tmp_path):
    """``--synthetic-diameter-mm`` sets the size of the lesions training inserts."""
    phantom = make_phantom("CT", shape=(40, 80, 80), spacing_zyx=(1.5, 1.5, 1.5),
                           radii_mm=(4.0, 4.0, 4.0))
    background = tmp_path / "ct.nii.gz"
    sitk.WriteImage(phantom.image, str(background))

    def diameters(lo: float, hi: float) -> list[float]:
        config = TrainConfig(backgrounds=[background], synthetic_diameter_mm=(lo, hi))
        source = synthetic_source(config, loaded=[])
        masks = [source.draw(np.random.default_rng(i)).mask for i in range(3)]
        return [float(np.cbrt(6 * m.sum() * 1.5**3 / np.pi)) for m in masks]

    assert max(diameters(6.0, 6.0)) < min(diameters(24.0, 24.0))
    args = build_parser().parse_args(["--out", "x", "--synthetic-diameter-mm", "10", "100"])
    assert args.synthetic_diameter_mm == [10.0, 100.0]
    with pytest.raises(ValueError, match="synthetic_diameter_mm"):
        TrainConfig(synthetic_diameter_mm=(50.0, 10.0))


def test_click_inward_and_voi_jitter_options_reach_the_config_and_are_checked():
    args = build_parser().parse_args(["--out", "x", "--click-inward", "1", "9",
                                      "--voi-scale-jitter", "0.25"])
    assert args.click_inward == [1, 9] and args.voi_scale_jitter == 0.25
    assert TrainConfig(click_inward=(1, 9)).click_inward == (1, 9)
    with pytest.raises(ValueError, match="click_inward"):
        TrainConfig(click_inward=(6, 2))
    with pytest.raises(ValueError, match="voi_scale_jitter"):
        TrainConfig(voi_scale_jitter=1.5)


def test_weighted_sources_split_by_patient_and_validate_only_the_named_groups(nnunet_folder,
                                                                              tmp_path):
    other = tmp_path / "Dataset002_Others"
    (other / "imagesTr").mkdir(parents=True)
    (other / "labelsTr").mkdir()
    for i in range(4):
        _, phantom = phantom_example("CT", seed=20 + i)
        sitk.WriteImage(phantom.image, str(other / "imagesTr" / f"other{i}_0000.nii.gz"))
        sitk.WriteImage(phantom.mask, str(other / "labelsTr" / f"other{i}.nii.gz"))
    (other / "dataset.json").write_text((nnunet_folder / "dataset.json").read_text("utf-8"),
                                        encoding="utf-8")
    out = tmp_path / "run"
    assert train_main(["--nnunet", f"{nnunet_folder}:3", "--nnunet", str(other),
                       "--val-groups", nnunet_folder.name, "--out", str(out), "--epochs", "1",
                       "--steps-per-epoch", "1", "--batch-size", "1", "--grid-size", "32",
                       "--features", "4", "8", "16", "--threads", "1",
                       "--synthetic-fraction", "0.0"]) == 0
    config = json.loads((out / "config.json").read_text("utf-8"))
    assert config["source_weights"] == {str(nnunet_folder): 3.0}
    split = json.loads((out / "split.json").read_text("utf-8"))
    groups = split["groups"]
    assert groups[nnunet_folder.name]["sample_share"] == pytest.approx(0.75)
    assert groups["Dataset002_Others"]["held_out_cases"] == 2
    assert groups["Dataset002_Others"]["validated_cases"] == 0
    assert groups[nnunet_folder.name]["validated_cases"] == 2
    card = load_model(out / "final")[1]
    assert sorted(card.training["validation_cases"]) == sorted(split["held_out"])
    assert len(split["held_out"]) == 4  # every held-out case is listed, validated or not
    assert list(card.validation["groups"]) == [nnunet_folder.name]


def test_source_weights_are_parsed_and_checked(nnunet_folder, tmp_path):
    from training.train import weighted_source

    assert weighted_source("a/manifest.json:2.5") == (Path("a/manifest.json"), 2.5)
    assert weighted_source("a/manifest.json") == (Path("a/manifest.json"), None)
    assert weighted_source("C:/data") == (Path("C:/data"), None)  # not a number: part of the path
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--out", "x", "--manifest", "m.json:0"])
    with pytest.raises(SystemExit, match="no held-out case is in --val-groups"):
        train_main(["--nnunet", str(nnunet_folder), "--val-groups", "sts",
                    "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_the_card_says_when_the_training_data_states_no_licence(nnunet_folder):
    from training.datasets import read_nnunet_folder
    from training.train import model_card

    cases = read_nnunet_folder(nnunet_folder)  # its dataset.json names no licence
    unknown = model_card(TrainConfig(**TINY), cases, None, 1)
    assert "unknown" in unknown.licence and "--licence" in unknown.licence
    assert {c["licence"] for c in unknown.training["cases"]} == {"unknown: set --licence"}
    stated = model_card(TrainConfig(**TINY, licence="CC BY 4.0"), cases, None, 1)
    assert stated.licence == "Training data licences: CC BY 4.0"


def test_training_help_shows_each_options_default_and_meaning():
    text = build_parser().format_help()
    assert "(default: 12 24 48 96 128)" in text and "U-Net channels per level" in text
    assert "--licence" in text and "PATH[:WEIGHT]" in text


def test_export_with_a_prompt_model_ships_both_networks_and_routes_by_prompt(nnunet_folder,
                                                                            tmp_path):
    """The clicks model and a model trained for the other kinds, exported as one package: the
    card names its prompt model, the algorithm loads a router, and a clicks-only prompt model
    is refused; exporting without one removes a stale copy."""
    from algorithm.methods.prompt_router import PromptRoutedSegmenter
    from algorithm.methods.select import make_segmenter

    clicks, kinds = tmp_path / "clicks", tmp_path / "kinds"
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=clicks, **TINY | {"fold": -1}))
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=kinds, prompt_kinds=["clicks", "box",
                      "outlines"], **TINY | {"fold": -1}))
    with pytest.raises(SystemExit, match="clicks only"):
        export(clicks / "final", tmp_path / "refused", force=True, prompt_model=clicks / "final")
    assert not (tmp_path / "refused").exists()
    for wrong in ("outlines", "recist"):  # given to the classical method; never trained
        with pytest.raises(SystemExit, match=f"names {wrong}"):
            export(clicks / "final", tmp_path / "refused", force=True,
                   prompt_model=kinds / "final", classical_kinds=("outlines",),
                   kind_thresholds={wrong: 0.3})
    with pytest.raises(SystemExit, match="--prompt-model"):
        export(clicks / "final", tmp_path / "refused", force=True, kind_thresholds={"box": 0.3})
    assert not (tmp_path / "refused").exists()
    target = export(clicks / "final", tmp_path / "w", force=True, threshold=0.8,
                    prompt_model=kinds / "final", classical_kinds=("outlines",),
                    kind_thresholds={"box": 0.3})
    card = json.loads((target / "model_card.json").read_text("utf-8"))
    inner = json.loads((target / "prompts" / "model_card.json").read_text("utf-8"))
    assert card["prompt_model"] == "prompts" and card["threshold"] == 0.8
    assert inner["threshold"] == 0.5 and set(inner["prompt_kinds"]) == {"clicks", "box",
                                                                         "outlines"}
    router = make_segmenter("network", target)
    assert isinstance(router, PromptRoutedSegmenter)
    assert router.prompts.card.version == inner["version"]
    assert inner["classical_kinds"] == ["outlines"] and router.classical is not None
    assert inner["kind_thresholds"] == {"box": 0.3} and router.prompts.kind_thresholds == {
        "box": 0.3}
    export(clicks / "final", target, force=True)
    assert not (target / "prompts").exists()
    assert not isinstance(make_segmenter("network", target), PromptRoutedSegmenter)


def test_export_with_ensemble_members_averages_their_probabilities(nnunet_folder, tmp_path):
    """Two runs of one recipe (another sample seed) exported as one model: the package loads
    the average of their probabilities, cut at the main card's threshold with or without the
    card's additions; a member trained on other cases is refused; re-exporting without members
    removes the stale copies."""
    from algorithm.methods.ensemble import AverageSegmenter
    from algorithm.methods.select import make_segmenter
    from algorithm.pipeline import segment
    from algorithm.prompts import Clicks
    from tests.algorithm.helpers import box_phantom, extreme_clicks

    first, second, other = tmp_path / "s0", tmp_path / "s1", tmp_path / "fold0"
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=first, **TINY | {"fold": -1}))
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=second, sample_seed=1,
                      **TINY | {"fold": -1}))
    train(TrainConfig(nnunet_folders=[nnunet_folder], out=other, **TINY))
    with pytest.raises(SystemExit, match="trained on other cases"):
        export(first / "final", tmp_path / "refused", force=True,
               ensemble_members=(other / "final",))
    assert not (tmp_path / "refused").exists()
    target = export(first / "final", tmp_path / "w", force=True, threshold=0.7,
                    ensemble_members=(second / "final",))
    card = json.loads((target / "model_card.json").read_text("utf-8"))
    assert card["ensemble_members"] == ["member1"] and (target / "member1/model.safetensors").is_file()
    for method in ("network", "network-only"):
        ensemble = make_segmenter(method, target, "cpu")
        assert isinstance(ensemble, AverageSegmenter) and ensemble.name == "network-ensemble"
        assert ensemble.threshold == 0.7 and len(ensemble.members) == 2
    image, truth = box_phantom()
    clicks = Clicks.from_points(extreme_clicks(image, truth))
    seen = []
    for member in ensemble.members:
        predict = member.predict
        member.predict = lambda case, predict=predict: seen.append(predict(case)) or seen[-1]
    result = segment(image, clicks, ensemble)
    # every grid (the VOI may grow) asks both networks, which differ
    assert len(seen) % 2 == 0 and not np.array_equal(seen[0], seen[1])
    assert result.method == "network-ensemble"
    import shutil
    from algorithm.errors import WeightsError
    shutil.move(target / "member1", tmp_path / "moved")
    with pytest.raises(WeightsError, match="ensemble member 'member1'"):
        make_segmenter("network", target, "cpu")
    shutil.move(tmp_path / "moved", target / "member1")
    export(first / "final", target, force=True)
    assert not (target / "member1").exists()
    assert not isinstance(make_segmenter("network", target, "cpu"), AverageSegmenter)
