"""A compact nnU-Net-style 3D U-Net: conv-norm-LeakyReLU blocks, strided-conv downsampling,
transposed-conv upsampling and deep-supervision heads. Small enough to train and run on CPU."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ConvBlock(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.InstanceNorm3d(out_channels, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.InstanceNorm3d(out_channels, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class UNet3D(nn.Module):
    """Returns logits at full resolution, or, in training with deep supervision, a list of logits
    from the finest to the coarsest decoder level. ``in_channels`` has no default: the model card
    (``Architecture``, checked against its guidance channels) is the one place that decides it."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 2,
        features: Sequence[int] = (16, 32, 64, 128, 160),
        deep_supervision: bool = True,
    ) -> None:
        super().__init__()
        features = list(features)
        self.deep_supervision = deep_supervision
        self.encoders = nn.ModuleList(
            [ConvBlock(in_channels, features[0])]
            + [ConvBlock(features[i - 1], features[i], stride=2) for i in range(1, len(features))]
        )
        self.upsamplers = nn.ModuleList(
            nn.ConvTranspose3d(features[i], features[i - 1], 2, stride=2, bias=False)
            for i in range(len(features) - 1, 0, -1)
        )
        self.decoders = nn.ModuleList(
            ConvBlock(2 * features[i - 1], features[i - 1]) for i in range(len(features) - 1, 0, -1)
        )
        self.heads = nn.ModuleList(
            nn.Conv3d(features[i - 1], out_channels, 1) for i in range(len(features) - 1, 0, -1)
        )

    @property
    def divisor(self) -> int:
        """Input edge lengths must be multiples of this."""
        return 2 ** (len(self.encoders) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
        x = skips.pop()
        outputs = []
        for up, decoder, head in zip(self.upsamplers, self.decoders, self.heads):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
            outputs.append(head(x))
        if self.training and self.deep_supervision:
            return outputs[::-1]
        return outputs[-1]
