"""Self-ensemble: the generator on mirrored copies of a frame pair, the results un-mirrored and averaged.

A test-time refinement for the video tools (METHOD.md §4, "a real tool"). Interpolation is
equivariant to mirroring: the middle frame of two horizontally flipped frames is the flipped
middle frame. A trained network is only approximately so, and its errors in the mirrored
views are partly independent, so the mean of the views is closer to the truth than any one
(the "x8" self-ensemble of image restoration, here over the flips that keep a frame's shape).

Measured on the held-out real triplets (30 per gap, PSNR dB, d=1 / d=2;
``benchmarks/self_ensemble.py``, ``results/self_ensemble.md``): the shipped checkpoint gives
32.03 / 27.03 with one view, 32.14 / 27.12 with two (+ left-right) and 32.20 / 27.19 with four
(+ up-down, + both); its stage-1 weights gain more, 31.41 / 26.56 -> 31.86 / 26.78. Swapping
the two frames (t -> 1 - t) added at most 0.01 dB on top of the four flips (stage 1 and stage 2,
``--reversal``), so it is not a view.

Costs ``views`` forward passes; memory is that of one pass plus the running sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from .flow_prior import mirror_flow

VIEW_FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))  # identity, left-right, up-down, both
ALLOWED_VIEWS = (1, 2, 4)


def check_views(views: int) -> int:
    """``views`` if it is 1, 2 or 4; else ValueError (one line, for the CLI)."""
    if views not in ALLOWED_VIEWS:
        raise ValueError(f"--ensemble must be one of {', '.join(map(str, ALLOWED_VIEWS))} (mirrored views averaged), got {views}")
    return views


def mirrored_views(
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    prev: torch.Tensor,
    next: torch.Tensor,
    views: int = 4,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Iterator[torch.Tensor]:
    """``forward`` on each of the first ``views`` mirrorings of the pair, each mirrored back.

    Args:
        forward: (prev, next) -> frames, (B, 3, H, W) -> (B', 3, H, W); it carries t itself
            (mirroring does not change time).
        prev, next: (B, 3, H, W).
        views: 1 (just ``forward``), 2 (+ left-right) or 4 (+ up-down, + both).
        initial_flow: optional (forward, backward) flow guesses of the pair, (B, 2, H, W) each
            (:mod:`nlvfi.flow_prior`); when given, ``forward`` is called as
            ``forward(prev, next, initial_flow)`` with the guesses mirrored like the frames.
        still_pair: optional frames for the static blend, (B, 3, H, W) each
            (:func:`nlvfi.static_blend.average_outside_frame`); when given, ``forward`` also
            gets ``still_pair=`` (a keyword), mirrored like the frames.
    Yields:
        (B', 3, H, W) per view, in :data:`VIEW_FLIPS` order.
    """
    check_views(views)
    for flip in VIEW_FLIPS[:views]:
        args = (prev.flip(flip), next.flip(flip)) if flip else (prev, next)
        if initial_flow is not None:
            args += (tuple(mirror_flow(flow, flip) for flow in initial_flow),)
        options = {}
        if still_pair is not None:
            options["still_pair"] = tuple(frame.flip(flip) if flip else frame for frame in still_pair)
        frames = forward(*args, **options)
        yield frames.flip(flip) if flip else frames


def self_ensemble(
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    prev: torch.Tensor,
    next: torch.Tensor,
    views: int = 4,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Mean of :func:`mirrored_views` (a running sum: one extra frame in memory).

    Returns:
        (B', 3, H, W), the dtype of ``forward``'s output; ``views`` = 1 gives ``forward``'s own.
    """
    total = None
    for frame in mirrored_views(forward, prev, next, views, initial_flow, still_pair):
        total = frame if total is None else total + frame
    return total if views == 1 else total / views
