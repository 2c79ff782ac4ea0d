"""Kernels: a U-Net giving a 4x4 interpolation kernel per pixel for each input frame.

Method: METHOD.md §2.1 (¶0165–0166). Public design (DAIN): a U-Net on the 6-channel frame
pair with two 16-channel heads, one 4x4 kernel per pixel per frame. The heads start near the
bilinear kernel (ones on the central 2x2), so an untrained model warps like bilinear sampling.
Notebook: notebooks/03_depth_and_kernels.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .layers import small_init_


def _double_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.1),
    )


class KernelUNet(nn.Module):
    """U-Net: pair (B, 6, H, W) -> kernels for prev and next, each (B, 16, H, W).

    Encoder level i (0-based) is at 1/2**i; H and W divisible by 2**(levels - 1).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        widths = config.kernel_unet_channels
        self.encoders = nn.ModuleList()
        previous = 6
        for i, width in enumerate(widths):
            self.encoders.append(_double_conv(previous, width, stride=1 if i == 0 else 2))
            previous = width
        self.decoders = nn.ModuleList(
            _double_conv(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 1)
        )
        centre = torch.zeros(16)
        centre[[5, 6, 9, 10]] = 1.0  # central 2x2 of the 4x4 window: bilinear sampling
        self.head_prev = small_init_(nn.Conv2d(widths[0], 16, 3, padding=1), bias=centre)
        self.head_next = small_init_(nn.Conv2d(widths[0], 16, 3, padding=1), bias=centre)

    def forward(self, pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pair - 0.5
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
        x = skips.pop()
        for decoder in reversed(self.decoders):
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = decoder(torch.cat((x, skip), dim=1))  # (B, C_i, H/2**i, W/2**i)
        return self.head_prev(x), self.head_next(x)  # (B, 16, H, W) each
