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

**Rounding ties.** Where the two frames are 8-bit, the blend at t = 1/2 lies exactly halfway
between two grey levels in every channel whose two values differ by an odd number: about half of
them. Rounding to 8 bits as the frame is written then errs by half a level there, in a direction
that says nothing about the picture (round half to even). Such a tie is instead sent towards the
local mean, the 3x3 binomial blur of the blend (:func:`break_rounding_ties`): the blend itself
moves by 0.1 / 255, so only the written level changes. Blurring the blend outright is worse: a
twentieth of the way to that blur is 0.25 dB below the tie-broken blend on ``still-heldout`` FFV1.

Ties measured on ``benchmarks/repair_quality.py``'s near-still clips (injection patterns 0-3,
the 48-55 frames each row's detection repairs, 4 views, as written), plain -> tie-broken blend
(DIS flow, same frames), dB:

    clip            FFV1                    H.264 crf 18            H.264 crf 23
    still           48.28 -> 48.30 (48.22)  42.97 -> 43.00 (42.97)  41.01 -> 41.04 (41.02)
    still-heldout   50.92 -> 50.93 (50.92)  44.44 -> 44.47 (44.48)  42.06 -> 42.10 (42.10)

**The real frames just outside the run.** Each real frame holds the picture plus its own noise
(the codec's, the camera's). Where the scene is still, the real frame one step beyond each of the
pair, ``before`` ahead of ``prev`` and ``after`` past ``next``, sees the same picture with other
noise, so the video tools blend from

    prev' = (1 - w)·prev + w·before,   next' = (1 - w)·next + w·after,   w = OUTSIDE_WEIGHT = 0.2

(:func:`average_outside_frame`) instead of ``prev`` and ``next``. Where the outside frame does
not show the same picture, it is left out: a pixel takes it only where the 9 x 9 mean of the
signed difference ``before - prev`` is under ``OUTSIDE_AGREEMENT`` = 1 grey level in every channel
(noise averages out over the window, a change of light or a moving edge does not); a run without
an outside frame on one side blends from the plain frame on that side.

Measured by ``benchmarks/outside_average.py`` (no model: the tie-broken blend of the decoded
frames, as written, at every true duplicate of ``benchmarks/repair_quality.py``'s injection
patterns; dB gained over the pair alone). Chosen on patterns 0-4 of ``still`` and
``still-heldout`` (``--seeds 0-4``), then checked on patterns 5-9 of those and of the two lawn
regions the detection constants were checked on (``lawn-x192``, ``lawn-x0``; the script's
defaults, 71 frames a row, 6 min):

    patterns 5-9     FFV1    crf 18   crf 23
    still            +0.019  +0.021   +0.020
    still-heldout    +0.019  +0.023   +0.013
    lawn-x192        +0.006  +0.011   +0.010
    lawn-x0          +0.008  +0.010   +0.010

A heavier outside weight helps the H.264 files more and the lossless ones less (0.25: +0.012 to
+0.027 on H.264, -0.009 to -0.054 on FFV1; 0.15: +0.006 to +0.019 on H.264, +0.031 to +0.040 on
FFV1); 0.2 gains on every row, and more than 0.15 on the H.264 files, where the pair alone was
below DIS flow. On patterns 0-4 (``--seeds 0-4 --clips still,still-heldout --weights
0.15,0.2,0.25,0.33 --agreements 0.5,1,1.5,inf``, 13 min) 0.2 gains +0.013 to +0.025 dB on all six
rows, 0.33 loses 0.055-0.075 on FFV1. Without the agreement test (inf) 0.2 gains 0.001-0.009 dB
more on five rows and 0.008 less on ``still-heldout`` FFV1: on these clips little moves, and the
test is there for moving footage's still pixels.

**The threshold.** Measured (shipped stage-3 weights, 4 mirrored views, the flow prior, flow at
1x, exact duplicates of ``benchmarks/repair_quality.py``; without -> with a 0.5 px threshold,
dB): near-still 48.15 -> 48.19 (every pixel static: the blend itself), Megamind 35.79 -> 35.84,
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
#: how far (in 8-bit levels) a tied blend is moved: enough to decide its rounding, nothing more
TIE_NUDGE = 0.1
#: weight of the real frame one step outside a run, averaged into its neighbour where both are still (module doc)
OUTSIDE_WEIGHT = 0.2
#: the outside frame is used where the window mean of its signed difference is under this, 8-bit levels
OUTSIDE_AGREEMENT = 1.0
#: tolerance (8-bit levels) for "exactly on a level" / "exactly halfway": float32 rounding of
#: x / 255 and of a blend of two such values stays under 5e-5
_TIE_TOLERANCE = 2e-4


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
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``frame`` with its static pixels replaced by the time-weighted blend of ``prev`` and ``next``.

    Args:
        frame, prev, next: (B, 3, H, W).
        times: (B, 1, 1, 1) in (0, 1).
        to_prev, to_next: (B, 2, H, W), the projected flows at time t.
        threshold: px; 0 or less returns ``frame`` unchanged.
        still_pair: optional frames to blend instead of ``prev`` and ``next``, (B, 3, H, W) each:
            the pair with the real frames outside it averaged in (:func:`average_outside_frame`).
            Rounding ties are still judged by the bit depth of ``prev`` and ``next``.
    Returns:
        (B, 3, H, W).
    """
    if threshold <= 0:
        return frame
    still = static_mask(to_prev, to_next, threshold)  # (B, 1, H, W)
    first, second = (prev, next) if still_pair is None else still_pair
    blend = break_rounding_ties((1 - times) * first + times * second, prev, next)  # (B, 3, H, W)
    return torch.where(still, blend, frame)


def average_outside_frame(
    frame: torch.Tensor,
    outside: torch.Tensor | None,
    weight: float = OUTSIDE_WEIGHT,
    agreement: float = OUTSIDE_AGREEMENT,
) -> torch.Tensor:
    """``(1 - weight)·frame + weight·outside`` where the two show the same picture, ``frame`` elsewhere
    (module doc, "The real frames just outside the run").

    "The same picture": the :data:`WINDOW` x :data:`WINDOW` mean of ``outside - frame`` is under
    ``agreement`` grey levels (of 255) in every channel.

    Shapes: frame, outside (B, 3, H, W) in [0, 1] (``outside`` None: ``frame`` itself) -> (B, 3, H, W)
    """
    if outside is None or weight == 0:
        return frame
    if outside.shape != frame.shape:
        raise ValueError(f"the outside frame has shape {tuple(outside.shape)}, its neighbour {tuple(frame.shape)}")
    difference = outside.float() - frame.float()  # (B, 3, H, W)
    mean = F.avg_pool2d(difference, WINDOW, stride=1, padding=WINDOW // 2, count_include_pad=False)  # (B, 3, H, W)
    agrees = (mean.abs() * 255 < agreement).all(dim=1, keepdim=True)  # (B, 1, H, W)
    return torch.where(agrees, frame.float() + weight * difference, frame.float())


def _binomial_blur(image: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H, W): the 3x3 kernel [1 2 1]^T [1 2 1] / 16, edges replicated."""
    kernel = torch.tensor([1.0, 2.0, 1.0], dtype=image.dtype, device=image.device)
    kernel = (kernel[:, None] * kernel[None, :] / 16).expand(image.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernel, groups=image.shape[1])


def break_rounding_ties(blend: torch.Tensor, prev: torch.Tensor, next: torch.Tensor) -> torch.Tensor:
    """``blend`` with each value that lies halfway between two 8-bit levels moved
    :data:`TIE_NUDGE` / 255 towards its 3x3 neighbourhood's mean, so that it is written as the
    level nearer that mean (module doc). Only where ``prev`` and ``next`` both hold 8-bit levels:
    deeper frames are left exactly as blended.

    Shapes: blend, prev, next (B, 3, H, W) in [0, 1] -> (B, 3, H, W)
    """
    levels = blend * 255
    halfway = (levels - levels.floor() - 0.5).abs() < _TIE_TOLERANCE
    eight_bit = ((prev * 255 - (prev * 255).round()).abs() < _TIE_TOLERANCE) & (
        (next * 255 - (next * 255).round()).abs() < _TIE_TOLERANCE
    )
    direction = torch.sign(_binomial_blur(blend) - blend)  # (B, 3, H, W): -1, 0 or 1
    return torch.where(halfway & eight_bit, blend + direction * (TIE_NUDGE / 255), blend)


def check_static_motion(threshold: float) -> float:
    """``threshold`` if it is a finite number >= 0 (px; 0 turns blending off); else ValueError (one line, for the CLI)."""
    if not (isinstance(threshold, (int, float)) and threshold >= 0 and threshold < float("inf")):
        raise ValueError(f"--static-motion must be a number of pixels >= 0 (0: off), got {threshold!r}")
    return float(threshold)
