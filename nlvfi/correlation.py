"""The local cost volume (correlation) of PWC-Net, in plain PyTorch.

Method: METHOD.md §2.1 (¶0158), public design PWC-Net. For every displacement (dy, dx) with
|dy|, |dx| <= d, the cost at x is the channel mean of f1(x) * f2(x + (dx, dy)); positions
outside f2 count as zero.
Notebook: notebooks/02_optical_flow.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cost_volume(features1: torch.Tensor, features2: torch.Tensor, max_displacement: int) -> torch.Tensor:
    """Correlate ``features1`` with shifted copies of ``features2``.

    Args:
        features1, features2: (B, C, H, W)
        max_displacement: search radius d.
    Returns:
        (B, (2d+1)**2, H, W); channel k = (dy + d) * (2d+1) + (dx + d).
    """
    if features1.shape != features2.shape:
        raise ValueError(f"feature maps differ: {tuple(features1.shape)} vs {tuple(features2.shape)}")
    d = max_displacement
    _, _, height, width = features1.shape
    padded = F.pad(features2, (d, d, d, d))  # (B, C, H+2d, W+2d)
    costs = []
    for dy in range(2 * d + 1):
        for dx in range(2 * d + 1):
            shifted = padded[:, :, dy : dy + height, dx : dx + width]  # (B, C, H, W)
            costs.append((features1 * shifted).mean(dim=1))  # (B, H, W)
    return torch.stack(costs, dim=1)  # (B, (2d+1)^2, H, W)
