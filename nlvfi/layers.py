"""Small building blocks shared by the sub-networks.

Method: a residual block is "two convolutions in sequence with a skip" (METHOD.md §2.2,
¶0139); an upsampling layer is "bilinear x2 + one convolution to refine" (¶0136, ¶0138).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class ResidualBlock(nn.Module):
    """conv3x3 -> LeakyReLU -> conv3x3, plus a skip (1x1 conv when the width changes).

    Shapes:
        x (B, C_in, H, W) -> (B, C_out, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int | None = None):
        super().__init__()
        out_channels = out_channels or in_channels
        self.conv1 = conv3x3(in_channels, out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.skip = (
            nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.leaky_relu(self.conv1(x), 0.1))  # (B, C_out, H, W)
        return F.leaky_relu(self.skip(x) + y, 0.1)


class UpsampleConv(nn.Module):
    """Bilinear x2 (or to an explicit size) followed by a 3x3 refining convolution (¶0136)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if size is None:
            size = (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)  # (B, C, 2H, 2W)
        return F.leaky_relu(self.conv(x), 0.1)


def small_init_(conv: nn.Conv2d, std: float = 1e-3, bias: torch.Tensor | float = 0.0) -> nn.Conv2d:
    """Start an output head near a known value while keeping every gradient alive.

    A zero weight would cut the gradient to all layers before the head at step one; a small
    random one keeps the start near ``bias`` and lets every parameter learn.
    """
    nn.init.normal_(conv.weight, std=std)
    with torch.no_grad():
        if isinstance(bias, torch.Tensor):
            conv.bias.copy_(bias)
        else:
            conv.bias.fill_(bias)
    return conv
