"""The non-local feature extractor: a receptive field up to the whole image.

Method: METHOD.md §2.2 (¶0126–0153, Figs. 2 and 4):
  1. concatenate the two frames along channels: 6 channels (¶0129);
  2. 4 down groups, each 2x2 average pooling + residual block (¶0130);
  3. self-attention on the 1/16 map (¶0141–0152), see ``attention.py``;
  4. 3 up groups, each bilinear x2 + conv + residual block, then one more upsampling
     layer (bilinear x2 + conv) back to the input size (¶0135–0138).
Notebook: notebooks/04_nonlocal_attention.ipynb
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import SelfAttention
from .config import ModelConfig
from .layers import ResidualBlock, UpsampleConv


class NonLocalBranch(nn.Module):
    """Pair (B, 6, H, W) -> non-local features (B, C, H, W) (+ attention weights on request).

    H and W must be divisible by 2**down_groups (the generator pads for this).
    The attention runs on N = (H / 16) * (W / 16) positions with the default 4 groups.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        width = config.nonlocal_channels
        self.down_groups = nn.ModuleList(
            ResidualBlock(6 if i == 0 else width, width) for i in range(config.nonlocal_down_groups)
        )
        self.attention = SelfAttention(width, config.attention_key_channels, config.attention_value_channels)
        self.up_groups = nn.ModuleList(
            nn.ModuleList((UpsampleConv(width, width), ResidualBlock(width))) for _ in range(config.nonlocal_up_groups)
        )
        self.last_upsample = UpsampleConv(width, width)

    def forward(self, pair: torch.Tensor, return_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = pair - 0.5  # (B, 6, H, W)
        sizes = []
        for block in self.down_groups:
            sizes.append(x.shape[-2:])
            x = block(nn.functional.avg_pool2d(x, 2))  # (B, C, H/2^i, W/2^i)
        x, weights = self.attention(x, return_weights=return_attention)  # (B, C, H/16, W/16)
        for upsample, block in self.up_groups:
            x = block(upsample(x, size=sizes.pop()))  # (B, C, 2h, 2w)
        x = self.last_upsample(x, size=sizes.pop())  # (B, C, H, W)
        return x, weights
