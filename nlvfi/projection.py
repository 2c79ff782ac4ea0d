"""Depth-aware flow projection: the flow at time t, where the nearer object wins.

Method: METHOD.md §2.3 (¶0169–0171), public design DAIN. Given the flow F_{0->1} of frame 0
and its inverse depth w, every source pixel y lands at y + t·F(y) (skipped if outside the
image). The landing point's four integer neighbours (floor/ceil in x and y) each receive
``w(y)·(-t·F(y))`` and ``w(y)``; the projected flow is the ratio of the two sums:

    F_{t->0}(x) = - t · Σ_y w(y) F(y) / Σ_y w(y)      over the y that land next to x

so where several source pixels land on one target, the nearer one (larger w) dominates.
Pixels nobody lands on (holes) take the mean of the first filled pixel found looking left,
right, up and down. ``F_{t->0}`` points from time t back into frame 0: backward-warping frame
0 with it (``warping.backward_warp``) brings frame 0 to time t.

Differentiable with respect to the flow values and the depth (the landing positions are
integer and carry no gradient, as in the public design).
Notebook: notebooks/05_projection_and_warping.ipynb
"""

from __future__ import annotations

import torch

from .warping import pixel_grid


def _as_batch_times(t: float | torch.Tensor, batch: int, like: torch.Tensor) -> torch.Tensor:
    """t as a (B, 1, 1) tensor of ``like``'s dtype and device."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.reshape(-1, 1, 1).expand(batch, 1, 1)


def fill_holes(flow: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
    """Fill pixels where ``filled`` is False from their nearest filled neighbours.

    For each hole, the first filled pixel to the left, right, above and below is found (if
    any) and their flows are averaged (public design: DAIN). A hole with no filled pixel in
    any of the four directions stays zero.

    Args:
        flow: (B, 2, H, W)
        filled: (B, H, W) bool
    Returns:
        (B, 2, H, W)
    """
    batch, _, height, width = flow.shape
    total = torch.zeros_like(flow)
    count = torch.zeros(batch, 1, height, width, dtype=flow.dtype, device=flow.device)
    for dim, size in ((3, width), (2, height)):  # along rows (left/right), along columns (up/down)
        positions = torch.arange(size, device=flow.device).view([1, 1, 1, 1][: dim] + [size] + [1] * (3 - dim))
        mask = filled.unsqueeze(1)  # (B, 1, H, W)
        for reverse in (False, True):
            mark = torch.where(mask, positions, -1)  # index of each filled pixel, -1 elsewhere
            if reverse:  # nearest filled at or after: flip, search forward, flip back
                mark = torch.where(mask, size - 1 - positions, -1).flip(dim)
            nearest = torch.cummax(mark, dim=dim).values  # (B, 1, H, W), -1 where none
            if reverse:
                nearest = torch.where(nearest >= 0, size - 1 - nearest, -1).flip(dim)
            found = nearest >= 0
            index = nearest.clamp(min=0).expand(-1, 2, -1, -1)  # (B, 2, H, W)
            total = total + torch.where(found, torch.gather(flow, dim, index), 0.0)
            count = count + found.to(flow.dtype)
    neighbours = total / count.clamp(min=1.0)
    return torch.where(filled.unsqueeze(1), flow, neighbours)


def project_flow(
    flow: torch.Tensor, inverse_depth: torch.Tensor, t: float | torch.Tensor, fill: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project ``flow`` (frame a -> frame b) to time t between them.

    Args:
        flow: (B, 2, H, W) flow F_{a->b}, (dx, dy) in pixels.
        inverse_depth: (B, 1, H, W) weights w > 0 of frame a's pixels (``depth.inverse_depth``).
        t: fraction of the way from a to b, a float or a (B,) tensor, in [0, 1].
        fill: fill holes from neighbours.
    Returns:
        projected flow F_{t->a} (B, 2, H, W), and the (B, H, W) mask of pixels something landed on.
    """
    batch, _, height, width = flow.shape
    if inverse_depth.shape != (batch, 1, height, width):
        raise ValueError(f"inverse_depth must be {(batch, 1, height, width)}, got {tuple(inverse_depth.shape)}")
    times = _as_batch_times(t, batch, flow)  # (B, 1, 1)
    xs, ys = pixel_grid(flow)
    land_x = xs + times * flow[:, 0]  # (B, H, W) landing column at time t
    land_y = ys + times * flow[:, 1]
    inside = (land_x >= 0) & (land_x <= width - 1) & (land_y >= 0) & (land_y <= height - 1)
    weight = inverse_depth[:, 0] * inside  # (B, H, W); sources landing outside count for nothing
    value = weight.unsqueeze(1) * (-times.unsqueeze(1) * flow)  # (B, 2, H, W)

    with torch.no_grad():
        batch_offset = (torch.arange(batch, device=flow.device) * height * width).view(batch, 1, 1)
        neighbours = []
        for row in (torch.floor(land_y), torch.ceil(land_y)):
            for col in (torch.floor(land_x), torch.ceil(land_x)):
                row_i = row.clamp(0, height - 1).long()
                col_i = col.clamp(0, width - 1).long()
                neighbours.append((batch_offset + row_i * width + col_i).flatten())  # (B*H*W,)
        index = torch.cat(neighbours)  # (4*B*H*W,)

    flat_weight = weight.flatten().repeat(4)  # (4*B*H*W,)
    flat_value = value.permute(0, 2, 3, 1).reshape(-1, 2).repeat(4, 1)  # (4*B*H*W, 2)
    sum_weight = flow.new_zeros(batch * height * width).index_add(0, index, flat_weight)
    sum_value = flow.new_zeros(batch * height * width, 2).index_add(0, index, flat_value)
    filled = sum_weight > 0
    projected = sum_value / torch.where(filled, sum_weight, 1.0).unsqueeze(1)  # (B*H*W, 2)
    projected = projected.view(batch, height, width, 2).permute(0, 3, 1, 2)  # (B, 2, H, W)
    filled = filled.view(batch, height, width)
    if fill:
        projected = fill_holes(projected, filled)
    return projected, filled
