"""Fine-tuning from exported weights, including weights trained with fewer input channels."""

import pytest
import torch
from safetensors.torch import load_file

from algorithm.guidance.encoding import CHANNELS, LEGACY_CHANNELS
from algorithm.network.model_card import ModelCard
from algorithm.network.unet import UNet3D
from algorithm.network.weights import save_model
from training.warm_start import warm_start

FEATURES = [4, 8, 16]


def exported(folder, channels):
    torch.manual_seed(1)
    model = UNet3D(in_channels=len(channels), features=FEATURES, deep_supervision=False)
    card = ModelCard(name="src", version="0", grid_size=16,
                     architecture={"in_channels": len(channels), "features": FEATURES},
                     guidance={"channels": channels})
    save_model(model, card, folder)
    return model.eval()


def test_new_channel_starts_at_zero_so_outputs_are_unchanged(tmp_path):
    source = exported(tmp_path / "legacy", LEGACY_CHANNELS)
    model = UNet3D(in_channels=len(CHANNELS), features=FEATURES).eval()
    assert warm_start(model, tmp_path / "legacy", CHANNELS) == ["geodesic_negative"]
    x_old = torch.randn(1, len(LEGACY_CHANNELS), 16, 16, 16)
    x_new = torch.cat([x_old, torch.randn(1, 1, 16, 16, 16)], dim=1)  # new channel: anything
    with torch.no_grad():
        torch.testing.assert_close(model(x_new), source(x_old))


def test_channels_are_matched_by_name_not_position(tmp_path):
    exported(tmp_path / "w", LEGACY_CHANNELS)
    reordered = tuple(reversed(CHANNELS))
    model = UNet3D(in_channels=len(CHANNELS), features=FEATURES)
    warm_start(model, tmp_path / "w", reordered)
    w = model.state_dict()["encoders.0.0.weight"]
    src = load_file(str(tmp_path / "w" / "model.safetensors"))["encoders.0.0.weight"]
    for i, name in enumerate(reordered):
        expected = src[:, LEGACY_CHANNELS.index(name)] if name in LEGACY_CHANNELS else 0 * src[:, 0]
        assert torch.equal(w[:, i], expected), name


def test_a_wider_model_starts_as_the_source_and_its_new_channels_can_learn(tmp_path):
    source = exported(tmp_path / "w", LEGACY_CHANNELS)
    model = UNet3D(in_channels=len(CHANNELS), features=[6, 8, 20])  # one level kept as it was
    warm_start(model, tmp_path / "w", CHANNELS)
    x_old = torch.randn(2, len(LEGACY_CHANNELS), 16, 16, 16)
    x_new = torch.cat([x_old, torch.randn(2, 1, 16, 16, 16)], dim=1)
    source.train()  # deep supervision: every head, and instance norm as in training
    source.deep_supervision = True
    with torch.no_grad():
        for wide, narrow in zip(model(x_new), source(x_old), strict=True):
            torch.testing.assert_close(wide, narrow)
    # the zeros that keep the old output are not stuck: gradients reach them
    sum(o.square().mean() for o in model(x_new)).backward()
    # the finest decoder reads [upsampled 6 | skip 6]; channels 4, 5, 10 and 11 are new
    assert model.decoders[1][0].weight.grad[:4, 10:].abs().sum() > 0
    assert model.upsamplers[0].weight.grad[16:, :].abs().sum() > 0  # (in, out): new in rows
    assert model.encoders[1][0].weight.grad[:, 4:].abs().sum() > 0


def test_other_mismatches_are_refused(tmp_path):
    exported(tmp_path / "w", CHANNELS)
    with pytest.raises(ValueError, match="do not fit|features differ"):
        warm_start(UNet3D(in_channels=len(CHANNELS), features=[4, 8, 8]), tmp_path / "w",
                   CHANNELS)
    with pytest.raises(ValueError, match="do not fit"):
        warm_start(UNet3D(in_channels=len(CHANNELS), features=[4, 8]), tmp_path / "w", CHANNELS)


def test_card_rejects_channel_count_mismatch():
    with pytest.raises(ValueError, match="in_channels"):
        ModelCard(name="x", version="0", architecture={"in_channels": 5})
    with pytest.raises(ValueError, match="channels must be"):
        ModelCard(name="x", version="0", architecture={"in_channels": 1},
                  guidance={"channels": ["nonsense"]})
