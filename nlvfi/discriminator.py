"""The relativistic discriminator, VGG-13 layout.

Method: METHOD.md §3 (¶0208–0209). It outputs a raw score C(x); the relativistic average
losses (``losses.py``) compare the score of a real frame with the batch mean of the fakes'.
Public design (ESRGAN): VGG-13's ten 3x3 convolutions in five stages of two, 64 -> 128 -> 256
-> 512 -> 512 channels, the pooling replaced by a stride-2 4x4 second conv of each stage,
BatchNorm, LeakyReLU 0.2, then two linear layers to one score. An adaptive average pool to
4x4 before the linear layers lets any input size through.
Notebook: notebooks/07_losses_and_ragan.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

DISCRIMINATOR_WIDTHS = {"tiny": 16, "small": 32, "full": 64}


def _stage(in_channels: int, out_channels: int, first: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=first)]
    if not first:
        layers.append(nn.BatchNorm2d(out_channels))
    layers += [
        nn.LeakyReLU(0.2),
        nn.Conv2d(out_channels, out_channels, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2),
    ]
    return layers


class RelativisticDiscriminator(nn.Module):
    """Image (B, 3, H, W) in [0, 1] -> raw score (B,).

    Args:
        base_channels: width of the first stage (64 in VGG-13); stages use 1, 2, 4, 8, 8 times it.
    """

    def __init__(self, base_channels: int = 64):
        super().__init__()
        widths = [base_channels * m for m in (1, 2, 4, 8, 8)]
        layers: list[nn.Module] = []
        previous = 3
        for i, width in enumerate(widths):
            layers += _stage(previous, width, first=i == 0)
            previous = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.classifier = nn.Sequential(
            nn.Linear(previous * 16, 100),
            nn.LeakyReLU(0.2),
            nn.Linear(100, 1, bias=False),  # the relativistic losses see only score differences:
        )  # a constant bias cancels out and would never receive a gradient

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.features(image * 2 - 1)  # (B, 8C, H/32, W/32)
        x = self.pool(x).flatten(1)  # (B, 8C * 16)
        return self.classifier(x).squeeze(1)  # (B,)


def build_discriminator(size: str = "full") -> RelativisticDiscriminator:
    """A VGG-13 style relativistic discriminator; ``size`` sets the width (tiny 16, small 32, full 64)."""
    if size not in DISCRIMINATOR_WIDTHS:
        raise ValueError(f"unknown discriminator size {size!r}; choose one of {', '.join(DISCRIMINATOR_WIDTHS)}")
    return RelativisticDiscriminator(DISCRIMINATOR_WIDTHS[size])
