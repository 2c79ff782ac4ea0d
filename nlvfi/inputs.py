"""Checks on what users feed the generator, with errors that say what to do."""

from __future__ import annotations

import math

import torch


def check_frame_pair(prev: torch.Tensor, next: torch.Tensor) -> None:
    """Raise a clear error unless prev and next are matching float RGB batches (B, 3, H, W).

    Values are expected in [0, 1]; NaN or infinite values are refused.
    """
    for name, frame in (("prev", prev), ("next", next)):
        if not isinstance(frame, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (B, 3, H, W), got {type(frame).__name__}")
        if not frame.is_floating_point():
            raise TypeError(
                f"{name} has dtype {frame.dtype}; frames must be float RGB in [0, 1] "
                "(for uint8 images use frame.float() / 255)"
            )
        if frame.dim() != 4:
            raise ValueError(f"{name} must have shape (B, 3, H, W), got {tuple(frame.shape)}")
        if frame.shape[1] != 3:
            raise ValueError(
                f"{name} has {frame.shape[1]} channels; frames must be RGB with 3 channels, shape (B, 3, H, W)"
            )
        if not torch.isfinite(frame).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    if prev.shape != next.shape:
        raise ValueError(f"prev and next differ in shape: {tuple(prev.shape)} vs {tuple(next.shape)}")
    if prev.device != next.device or prev.dtype != next.dtype:
        raise ValueError(f"prev and next must share device and dtype ({prev.device}/{prev.dtype} vs {next.device}/{next.dtype})")


def check_time(t: float | torch.Tensor, batch: int) -> None:
    """t must be a number or a (B,) tensor with every value in [0, 1]."""
    if isinstance(t, torch.Tensor):
        if t.dim() > 1 or (t.dim() == 1 and t.numel() not in (1, batch)):
            raise ValueError(f"t must be a number or a tensor of shape ({batch},), got shape {tuple(t.shape)}")
        bad = ~torch.isfinite(t) | (t < 0) | (t > 1)
        if bad.any():
            raise ValueError(f"t must lie in [0, 1], got {t.tolist()}")
        return
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError(f"t must be a number in [0, 1] or a tensor, got {type(t).__name__}")
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise ValueError(f"t must lie in [0, 1], got {t}")
