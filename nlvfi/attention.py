"""Self-attention over the reduced feature map: the heart of the non-local branch.

Method: METHOD.md §2.2 step 3 (¶0141–0152). Three 1x1 convolutions give query, key and
value (the "first, second and third adjusted results", ¶0143–0145); query·key gives a weight
for every pair of positions (¶0146, ¶0148), normalised with a softmax over keys; the value is
weighted by them (¶0147, ¶0149); a fourth 1x1 convolution restores the channel count and the
result is added to the input (¶0150–0152). Public design (SAGAN): no 1/sqrt(d) scaling,
``y = x + gamma * o`` with the learnable scale ``gamma`` initialised at 0.

Two paths give the same numbers: the explicit one builds the (B, N, N) weight matrix (for
visualisation); the default one calls ``scaled_dot_product_attention``, whose fused kernels
never store it. Those kernels need query/key and value of the same width, so query and key
are zero-padded to the value width: zero channels add nothing to a dot product.
Notebook: notebooks/04_nonlocal_attention.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Query/key/value 1x1 convolutions, softmax weights, 4th 1x1 conv, residual add.

    Args:
        channels: C of the input map.
        key_channels: query/key width C_k (SAGAN: C // 8).
        value_channels: value width C_v (>= C_k).
    Shapes:
        x (B, C, H, W) -> y (B, C, H, W); weights (B, N, N), N = H*W, when asked for.
        Row n of the weights is where position n attends; each row sums to 1.
    """

    def __init__(self, channels: int, key_channels: int, value_channels: int):
        super().__init__()
        if key_channels > value_channels:
            raise ValueError("key_channels must not exceed value_channels")
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, value_channels, 1)
        self.out = nn.Conv2d(value_channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, return_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch, channels, height, width = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C_k)
        k = self.key(x).flatten(2).transpose(1, 2)  # (B, N, C_k)
        v = self.value(x).flatten(2).transpose(1, 2)  # (B, N, C_v)
        if return_weights:
            weights = torch.softmax(q @ k.transpose(1, 2), dim=-1)  # (B, N, N)
            attended = weights @ v  # (B, N, C_v)
        else:
            weights = None
            pad = v.shape[-1] - q.shape[-1]
            q = F.pad(q, (0, pad))  # (B, N, C_v): zero channels leave q·k unchanged
            k = F.pad(k, (0, pad))
            # the fused kernels need contiguous (B, heads, N, C) inputs; a transposed view
            # silently falls back to the path that stores the N x N matrix
            q, k, v = (x_.unsqueeze(1).contiguous() for x_ in (q, k, v))  # (B, 1, N, C_v)
            attended = F.scaled_dot_product_attention(q, k, v, scale=1.0).squeeze(1)  # (B, N, C_v)
        attended = attended.transpose(1, 2).reshape(batch, -1, height, width)  # (B, C_v, H, W)
        return x + self.gamma * self.out(attended), weights
