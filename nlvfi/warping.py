"""Warping: plain backward warping and the adaptive warping layer.

Method: METHOD.md §2.4 (¶0175–0179). The adaptive warping layer follows the public design
(DAIN): the per-pixel 4x4 kernel weights a 4x4 window of integer positions around the flow
target, split into four 2x2 quadrants combined with the bilinear weights of the target's
fractional part. Kernels are not normalised. Where the target falls outside the image the
input pixel is kept.

Flow convention everywhere in nlvfi: ``flow`` is (B, 2, H, W), channel 0 = dx (to the right),
channel 1 = dy (down), in pixels; warping an image with a flow *samples* it at ``x + flow(x)``.
Notebook: notebooks/05_projection_and_warping.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pixel_grid(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer pixel coordinates matching ``flow``'s grid: xs, ys each (1, H, W)."""
    _, _, height, width = flow.shape
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    return xs.expand(1, height, width), ys.expand(1, height, width)


def backward_warp(image: torch.Tensor, flow: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Bilinearly sample ``image`` at ``x + flow(x)``.

    Args:
        image: (B, C, H, W) frames, features or flows.
        flow: (B, 2, H, W) displacements in pixels, (dx, dy).
        padding: ``"border"`` (repeat edge pixels) or ``"zeros"`` (PWC-Net's feature warping).
    Returns:
        (B, C, H, W)
    """
    if image.shape[-2:] != flow.shape[-2:] or image.shape[0] != flow.shape[0]:
        raise ValueError(f"image {tuple(image.shape)} and flow {tuple(flow.shape)} do not match")
    _, _, height, width = image.shape
    xs, ys = pixel_grid(flow)
    gx = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0  # (B, H, W) in [-1, 1]
    gy = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0  # (B, H, W)
    grid = torch.stack((gx, gy), dim=-1).float()  # (B, H, W, 2)
    # sample in float32: a bf16 grid is only accurate to ~1/256 of the image width
    sampled = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode=padding, align_corners=True)
    return sampled.to(image.dtype)


# Offsets of the 4x4 window relative to floor(target): rows/cols -1, 0, 1, 2 (public design).
_WINDOW_OFFSETS = (-1, 0, 1, 2)


def bilinear_kernel(batch: int, height: int, width: int, **like) -> torch.Tensor:
    """The 4x4 kernel that turns the adaptive warping layer into plain bilinear sampling.

    Ones on the central 2x2 (window rows/cols 1 and 2), zeros elsewhere: (B, 16, H, W).
    """
    kernel = torch.zeros(batch, 16, height, width, **like)
    for row, col in ((1, 1), (1, 2), (2, 1), (2, 2)):
        kernel[:, row * 4 + col] = 1.0
    return kernel


def adaptive_warp(image: torch.Tensor, flow: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Adaptive warping layer (¶0176–0178, public design: DAIN).

    For output pixel x with target p = x + flow(x), window rows floor(p_y)-1 .. floor(p_y)+2 and
    columns floor(p_x)-1 .. floor(p_x)+2 (clamped to the image). With a = frac(p_x),
    b = frac(p_y) and the window split into 2x2 quadrants TL, TR, BL, BR, each the
    kernel-weighted sum of its four pixels:

        out(x) = (1-a)(1-b) TL + a(1-b) TR + (1-a) b BL + a b BR

    Args:
        image: (B, C, H, W)
        flow: (B, 2, H, W), (dx, dy) in pixels.
        kernel: (B, 16, H, W), row-major 4x4 weights per output pixel.
    Returns:
        (B, C, H, W); differentiable w.r.t. image, flow (through a, b) and kernel.
    """
    batch, channels, height, width = image.shape
    if flow.shape != (batch, 2, height, width):
        raise ValueError(f"flow must be (B, 2, H, W) = {(batch, 2, height, width)}, got {tuple(flow.shape)}")
    if kernel.shape != (batch, 16, height, width):
        raise ValueError(f"kernel must be (B, 16, H, W) = {(batch, 16, height, width)}, got {tuple(kernel.shape)}")
    xs, ys = pixel_grid(flow)
    px = xs + flow[:, 0]  # (B, H, W) target column
    py = ys + flow[:, 1]  # (B, H, W) target row
    inside = (px >= 0) & (px <= width - 1) & (py >= 0) & (py <= height - 1)  # (B, H, W)
    x0 = torch.floor(px)
    y0 = torch.floor(py)
    a = (px - x0).unsqueeze(1)  # (B, 1, H, W) fractional parts carry the flow gradient
    b = (py - y0).unsqueeze(1)
    x0 = x0.long()
    y0 = y0.long()
    flat = image.reshape(batch, channels, height * width)  # (B, C, HW)
    weight_rows = (1 - b, 1 - b, b, b)  # top quadrants for window rows 0-1, bottom for 2-3
    weight_cols = (1 - a, 1 - a, a, a)
    out = torch.zeros_like(image)
    for i, dy in enumerate(_WINDOW_OFFSETS):
        rows = (y0 + dy).clamp(0, height - 1)
        for j, dx in enumerate(_WINDOW_OFFSETS):
            cols = (x0 + dx).clamp(0, width - 1)
            index = (rows * width + cols).reshape(batch, 1, height * width).expand(-1, channels, -1)
            sample = torch.gather(flat, 2, index).view(batch, channels, height, width)  # (B, C, H, W)
            weight = kernel[:, i * 4 + j : i * 4 + j + 1] * weight_rows[i] * weight_cols[j]  # (B, 1, H, W)
            out = out + weight * sample
    return torch.where(inside.unsqueeze(1), out, image)
