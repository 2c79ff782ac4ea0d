"""Flow prior: a first guess of a pair's motion from the real frames just outside the pair.

A tool addition (METHOD.md §4, "a real tool": several duplicates in a row). When a repair
interpolates across a run of k duplicates, its two frames are k + 1 frame intervals apart, and
small things that move fast (people in vtest, a few pixels wide at 1/16 size) move further than
the coarsest flow decoder searches: it starts from zero flow, misses them, and the frame shows
two half-transparent copies. The frames just outside the pair are real and one interval away
from it, so their motion is small and found; assuming constant velocity, scaled by how many of
those intervals the pair spans, it is a guess the flow estimator starts from
(:meth:`nlvfi.flow.BidirectionalFlow.estimate_from_pyramids`) and corrects:

    forward guess  F(prev -> next) ~= -s_before * F(prev -> before)
    backward guess F(next -> prev) ~= -s_after  * F(next -> after)

with ``s_before = (time(next) - time(prev)) / (time(prev) - time(before))`` and likewise
``s_after``, so variable frame rates are handled. A missing outside frame (the clip's first
frame, another duplicate, a scene cut) leaves that direction at zero, as without a prior.

Small guesses (under ``MIN_MOTION`` = 2 px) are set to zero: they are mostly the noise of
the outside flows scaled up, and the decoders find such motion on their own. Ungated, the
near-still clip of the benchmark lost 0.13 dB (48.15 -> 48.02).

Measured (shipped stage-3 weights, 4 mirrored views, the flow at 1x, exact duplicates of
``benchmarks/repair_quality.py``; without the prior -> with it, dB): vtest 28.81 -> 29.56,
Megamind 35.58 -> 35.79, tree 19.88 -> 20.70, near-still 48.15 -> 48.15, where DIS flow gives
28.82 / 35.60 / 19.18 / 48.13. On the bundled clip (as written) 31.02 -> 31.29, DIS 31.45; its
run of three duplicates went from 26.72 / 27.05 / 28.51 dB to 27.34 / 27.92 / 29.42 (one view,
ungated), and 27.89 / 28.35 / 29.56 with OpenCV DIS flow as the guess, so what is left there is
the guess, not the decoders. Kept per pixel only where it warps better than zero flow's result
(a photometric check), the gain shrank on Megamind (35.54) and tree (20.22): the check was
dropped. Cost: one more flow estimate per run (both outside pairs in one batch). Frames that run in
tiles get their guesses tile by tile (``nlvfi.tiling.tiled_prior``).
"""

from __future__ import annotations

import torch

from .generator import Generator

# Guesses shorter than this many pixels are dropped (module doc, "Small guesses").
MIN_MOTION = 2.0


def mirror_flow(flow: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """A flow field of a mirrored frame: (B, 2, H, W) flipped along ``dims`` (-1: left-right,
    -2: up-down) with the matching component negated (dx for -1, dy for -2)."""
    if not dims:
        return flow
    signs = torch.ones(2, dtype=flow.dtype, device=flow.device)
    for dim in dims:
        signs[0 if dim == -1 else 1] = -1.0
    return flow.flip(dims) * signs.view(1, 2, 1, 1)


def constant_velocity_prior(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    before: torch.Tensor | None = None,
    after: torch.Tensor | None = None,
    scale_before: float = 1.0,
    scale_after: float = 1.0,
    min_motion: float = MIN_MOTION,
    flow_scale: int = 1,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Guesses of the forward and backward flows of (prev, next) from the frames outside (module doc).

    Call it in inference mode.

    Args:
        generator: its flow estimator measures the one-interval motions.
        prev, next: (B, 3, H, W) float in [0, 1].
        before: (B, 3, H, W), the real frame just before ``prev``, or None.
        after: (B, 3, H, W), the real frame just after ``next``, or None.
        scale_before, scale_after: how many (before, prev) and (next, after) intervals the pair spans.
        min_motion: guesses shorter than this (pixels) are set to zero (module doc); 0 keeps all.
        flow_scale: the outside flows are estimated on frames enlarged this many times, as the
            repair's own (:meth:`nlvfi.flow.BidirectionalFlow.forward`).
    Returns:
        (forward, backward) guesses, (B, 2, H, W) each in pixels, zeros on a side without its
        outside frame; None when both are missing.
    """
    if before is None and after is None:
        return None
    batch, _, height, width = prev.shape
    firsts, seconds = [], []
    if before is not None:
        firsts.append(before)
        seconds.append(prev)
    if after is not None:
        firsts.append(next)
        seconds.append(after)
    # (n B, 2, H', W') each: flows first -> second and second -> first, on padded frames
    there, back = generator.flow(generator.pad(torch.cat(firsts)), generator.pad(torch.cat(seconds)), scale=flow_scale)
    there, back = there[..., :height, :width].float(), back[..., :height, :width].float()
    zeros = torch.zeros(batch, 2, height, width, device=prev.device)
    forward = -scale_before * back[:batch] if before is not None else zeros  # -F(prev -> before), scaled
    backward = -scale_after * there[-batch:] if after is not None else zeros  # -F(next -> after), scaled
    if min_motion > 0:  # small guesses are mostly noise, and the decoders find such motion alone
        forward = forward * (forward.norm(dim=1, keepdim=True) >= min_motion)
        backward = backward * (backward.norm(dim=1, keepdim=True) >= min_motion)
    return forward, backward


def interval_scales(times: list[float] | tuple[float, ...], before: int | None, prev: int, next: int, after: int | None) -> tuple[float, float]:
    """``(s_before, s_after)`` of the module doc from frame timestamps (seconds); 1.0 for a missing side."""
    span = times[next] - times[prev]

    def scale(a: int | None, b: int | None) -> float:
        if a is None or b is None or times[b] <= times[a]:
            return 1.0
        return span / (times[b] - times[a])

    return scale(before, prev), scale(next, after)
