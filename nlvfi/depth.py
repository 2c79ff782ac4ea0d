"""Depth: an hourglass network predicting a strictly positive depth map per frame.

Method: METHOD.md §2.1 (¶0161–0162): a depth map per input frame gives the front/back order
of objects. Public design (DAIN): a MegaDepth-style hourglass predicting log-depth; depth =
exp(log-depth) > 0, and the projection uses inverse depth 1e-6 + 1 / depth.

The hourglass runs at 1/``depth_input_scale`` of the frame size (depth is smooth, and this
keeps 1080p affordable) and its output is upsampled bilinearly.
Notebook: notebooks/03_depth_and_kernels.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .layers import ResidualBlock, small_init_


class Hourglass(nn.Module):
    """Recursive hourglass: out = skip(x) + up(inner(pool(x))), ``levels`` poolings deep.

    Shapes:
        x (B, C, H, W) -> (B, C, H, W), H and W divisible by 2**levels.
    """

    def __init__(self, channels: int, levels: int):
        super().__init__()
        inner = channels + channels // 2
        self.skip = ResidualBlock(channels)
        self.down = ResidualBlock(channels, inner)
        self.inner = Hourglass(inner, levels - 1) if levels > 1 else ResidualBlock(inner)
        self.up = ResidualBlock(inner, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.down(F.avg_pool2d(x, 2))  # (B, C', H/2, W/2)
        low = self.up(self.inner(low))  # (B, C, H/2, W/2)
        return self.skip(x) + F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)


class HourglassDepth(nn.Module):
    """Frame -> depth (B, 1, H, W), strictly positive.

    The log-depth is clamped to [-10, 10] so depth and inverse depth stay finite.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.input_scale = config.depth_input_scale
        width = config.depth_channels
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.hourglass = Hourglass(width, config.depth_levels)
        self.head = small_init_(nn.Conv2d(width, 1, 3, padding=1), std=1e-2)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        x = frame - 0.5
        if self.input_scale > 1:
            x = F.avg_pool2d(x, self.input_scale)  # (B, 3, H/s, W/s)
        x = F.leaky_relu(self.stem(x), 0.1)  # (B, C, H/s, W/s)
        log_depth = self.head(self.hourglass(x))  # (B, 1, H/s, W/s)
        if self.input_scale > 1:
            log_depth = F.interpolate(log_depth, size=frame.shape[-2:], mode="bilinear", align_corners=False)
        return torch.exp(log_depth.clamp(-10.0, 10.0))  # (B, 1, H, W) > 0


def inverse_depth(depth: torch.Tensor) -> torch.Tensor:
    """Public design (DAIN): w = 1e-6 + 1 / depth, the projection's weight."""
    return 1e-6 + 1.0 / depth
