"""Static blending: where nothing moves, the repaired frame is the plain time-weighted blend.

A tool addition (METHOD.md §4, "a real tool"), applied inside :class:`nlvfi.generator.Generator`
when asked (``static_motion`` > 0; the video tools ask, training does not). Where the motion
at time t is under a pixel, the best estimate of the missing frame is the blend
(1 - t)·prev + t·next of the two real frames: nothing needs aligning. The generator there
still passes each frame through its 4x4 adaptive kernels (METHOD.md §2.4) and its synthesis
residual, which filters the frames a little: with the flow forced to zero, the shipped weights
were 0.10 dB *below* that blend on the benchmark's near-still clip (48.10 vs 48.19 dB).

So pixels whose motion is small in their 9 x 9 neighbourhood take the blend:

    m(x) = mean over the 9x9 window of max(|F_{t->prev}(x)|, |F_{t->next}(x)|)
    frame(x) = (1 - t)·prev(x) + t·next(x)   where m(x) < static_motion,   the generator's elsewhere

(the window keeps a thin moving edge, and the pixels next to it, on the generator's side).

Measured (shipped stage-3 weights, 4 mirrored views, the flow prior, flow at 1x, exact
duplicates of ``benchmarks/repair_quality.py``; without -> with a 0.5 px threshold, dB):
near-still 48.15 -> 48.19 (every pixel static: the blend itself), Megamind 35.79 -> 35.84,
vtest at half size 30.08 -> 30.08, tree 20.70 -> 20.69. At 0.25 px: 48.19 / 35.80 / 30.08 /
20.69; at 1 px: 48.19 / 35.86 / 30.01 / 20.69 (vtest's slow walkers start to blur).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: the tools' default threshold, px of motion at time t (module doc)
STATIC_MOTION = 0.5
#: side of the window the motion is averaged over, px
WINDOW = 9


def static_mask(to_prev: torch.Tensor, to_next: torch.Tensor, threshold: float) -> torch.Tensor:
    """(B, 1, H, W) bool: True where the window-averaged motion at time t is under ``threshold`` px.

    to_prev, to_next: the projected flows F_{t->prev}, F_{t->next}, (B, 2, H, W) in pixels.
    """
    motion = torch.maximum(to_prev.norm(dim=1, keepdim=True), to_next.norm(dim=1, keepdim=True))  # (B, 1, H, W)
    motion = F.avg_pool2d(motion, WINDOW, stride=1, padding=WINDOW // 2, count_include_pad=False)
    return motion < threshold


def blend_static(
    frame: torch.Tensor,
    prev: torch.Tensor,
    next: torch.Tensor,
    times: torch.Tensor,
    to_prev: torch.Tensor,
    to_next: torch.Tensor,
    threshold: float,
) -> torch.Tensor:
    """``frame`` with its static pixels replaced by the time-weighted blend of ``prev`` and ``next``.

    Args:
        frame, prev, next: (B, 3, H, W).
        times: (B, 1, 1, 1) in (0, 1).
        to_prev, to_next: (B, 2, H, W), the projected flows at time t.
        threshold: px; 0 or less returns ``frame`` unchanged.
    Returns:
        (B, 3, H, W).
    """
    if threshold <= 0:
        return frame
    still = static_mask(to_prev, to_next, threshold)  # (B, 1, H, W)
    return torch.where(still, (1 - times) * prev + times * next, frame)


def check_static_motion(threshold: float) -> float:
    """``threshold`` if it is a finite number >= 0 (px; 0 turns blending off); else ValueError (one line, for the CLI)."""
    if not (isinstance(threshold, (int, float)) and threshold >= 0 and threshold < float("inf")):
        raise ValueError(f"--static-motion must be a number of pixels >= 0 (0: off), got {threshold!r}")
    return float(threshold)
