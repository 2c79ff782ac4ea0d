"""Frame synthesis: residual blocks turning the synthesis features into the middle frame.

Method: METHOD.md §2.5 (¶0183–0187): several residual blocks in sequence (suggested 3). The
warped candidates are already aligned, so the network predicts a *residual* on top of the
linear blend (1 - t)·W0 + t·W1 of the adaptively warped frames (public design: DAIN's
conv -> 3 residual blocks -> conv -> 3 channels, added to the blend).
Notebook: notebooks/06_synthesis_and_generator.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ResidualBlock, small_init_


class FrameSynthesis(nn.Module):
    """Synthesis features (B, C_in, H, W) -> residual (B, 3, H, W) over the blend.

    Args:
        in_channels: channels of the concatenated synthesis features.
        channels: width of the residual blocks.
        blocks: number of residual blocks (3 by default, ¶0186).
    """

    def __init__(self, in_channels: int, channels: int, blocks: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.head = small_init_(nn.Conv2d(channels, 3, 3, padding=1), std=1e-3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.stem(features), 0.1)  # (B, C, H, W)
        return self.head(self.blocks(x))  # (B, 3, H, W)
