"""Fades: a global change of brightness between the two frames is taken out before the
generator and put back at the time of the missing frame.

A tool addition (METHOD.md §4, "a real tool must settle ... scene cuts and fades"). In a fade
to or from black or white, or any global change of exposure, every pixel of the pair changes
by a gain and an offset on top of the motion. The generator was trained on pairs without such
changes (Vimeo-90K triplets), and its flow estimator matches features that assume the brightness
stays; across a fade it finds worse motion, and the frame it makes can sit below the plain
average of the pair (measured in ``benchmarks/fades.py``).

So where a pair's change is mostly global, it is modelled per channel c as

    next_c(x) ~= gain_c * prev_c(x) + offset_c        (values in [0, 1])

fitted robustly (:func:`fit_fade`: on the frames shrunk to at most ``FIT_SIDE`` px, iteratively
reweighted least squares with Tukey's biweight, so that moving things and noise do not pull the
fit; pixels clipped at black or white in either frame left out). A linear fade from brightness
transform identity at t = 0 to (gain, offset) at t = 1 passes through

    gain_t = 1 + t * (gain - 1),   offset_t = t * offset

(exact for fades that blend linearly towards a colour: to black, to white, to any constant).
Both frames are brought to the brightness of time t (:meth:`Fade.to_time`),

    prev_t = gain_t * prev + offset_t,   next_t = gain_t * (next - offset) / gain + offset_t,

and the generator interpolates between two frames that agree in brightness; its frame is already
at the brightness of time t. Where nothing moves, the static blend of the two mapped frames is the
fade's own value at t.

The compensation is used only where it is clearly a fade (:func:`fit_fade` returns None otherwise,
and the frames go to the generator unchanged, bit for bit):

* the fitted change moves the first frame by at least ``MIN_CHANGE`` (1) grey level on average,
* and the fit explains the pair: after it, the mean absolute difference of the shrunk frames is
  at most ``MAX_LEFT`` (0.6) of what it was,
* and the fit is well posed: each channel of the first frame has a spread (standard deviation)
  of at least ``MIN_SPREAD`` (2 grey levels; a black or flat frame tells no gain) and the gains
  lie in [``MIN_GAIN``, ``MAX_GAIN``] (1/5 to 5).

The real frames just outside a run (the flow prior's and the static blend's, ``nlvfi.flow_prior``,
``nlvfi.static_blend``) are one more frame into the fade: each is brought to the brightness of its
neighbour in the pair the same way (:func:`match_brightness`) before the flow is measured on it.

Not a fade in this sense: a cross-dissolve between two shots (two pictures superimposed; no
gain and offset maps one frame to the next) and a change of light in part of the picture.

Measured on the held-out parts of vtest and Megamind at 384 px (transitions shaped as
``benchmarks/fades.py``'s: 16-frame ramps, 4 black frames or 1 white one, but 12 frames before and
after; every pair of frames 2 apart that spans a transition frame; ad hoc): fitted in a fade to
black and back 30 of 36 pairs (vtest) and 22 of 36 (Megamind), to white and back 30 of 33 and 29 of
33, in a dissolve 0 of 16. The pairs left: those with a frame all black or all white, or too dark
to spread 2 grey levels (nothing to fit a gain on), one pair as bright on either side of the white
frame (nothing changed), and in Megamind 7 pairs where more than ``MAX_LEFT`` of the difference
was left by the fit (0.60-0.72). No pair 2, 3 or 4 frames apart of the held-out parts of vtest,
Megamind and tree, nor of the two near-still regions, is taken for a fade, nor any run of the repair
benchmark's files (415 runs: five clips, FFV1 and H.264 crf 18 and 23, injection patterns 0-2).
Measuring what is left with the median over pixels instead of the mean fits 27 of Megamind's 36,
but takes a pair of tree (frames 2 and 6, 0.45 s apart and moving 15-35 px: gain 1.03, offset +4.5
grey levels, 0.59 of its median difference left) for a fade; the mean was kept.

Tried and not kept: stretching the contrast of the mapped pair too (its 1st-99th percentiles to
0.1-0.9, undone on the generator's frame), since a fade also flattens the picture. On injection
pattern 0 it gained 0.72 dB on Megamind's FFV1 fade to white and 0.32 at crf 18, but on pattern 1
it lost 3.2 dB there and 1.8 on vtest's (``benchmarks/fades.py``'s files, ad hoc).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: the fit runs on the frames shrunk (area) to at most this many px on the longer side
FIT_SIDE = 96
#: a fade moves the first frame by at least this much on average, grey levels (0-255)
MIN_CHANGE = 1.0
#: after the fit, at most this fraction of the pair's mean absolute difference is left
MAX_LEFT = 0.6
#: each channel of the first frame spreads at least this much (std, grey levels) for a gain to be fitted
MIN_SPREAD = 2.0
#: gains outside [MIN_GAIN, MAX_GAIN] are not taken for a fade
MIN_GAIN, MAX_GAIN = 0.2, 5.0
#: pixels within this many grey levels of 0 or 255 in either frame are left out of the fit (clipped)
CLIP_LEVELS = 2.0
#: Tukey biweight tuning constant, in robust standard deviations of the residuals
TUKEY_C = 4.685
#: reweighting steps of the robust fit
FIT_STEPS = 10


@dataclass(frozen=True)
class Fade:
    """A global per-channel change of brightness from the first frame to the second.

    Attributes:
        gain, offset: (3,) each; second ~= gain * first + offset, values in [0, 1].
        change: mean absolute change the fit makes to the first frame, grey levels.
        left: mean absolute difference left after the fit, as a fraction of the pair's.
    """

    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    change: float
    left: float

    def tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gain, offset), each (1, 3, 1, 1) in ``like``'s dtype and device."""
        gain = torch.tensor(self.gain, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        offset = torch.tensor(self.offset, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)
        return gain, offset

    def to_time(self, prev: torch.Tensor, next: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both frames at the brightness of each time (module doc), clamped to [0, 1].

        prev, next: (1 or T, 3, H, W); t: (T,). Returns (T, 3, H, W) each.
        """
        gain, offset = self.tensors(prev)  # (1, 3, 1, 1) each
        t = t.to(prev.dtype).view(-1, 1, 1, 1)  # (T, 1, 1, 1)
        gain_t, offset_t = 1 + t * (gain - 1), t * offset  # (T, 3, 1, 1): the transform from prev to time t
        prev_t = gain_t * prev + offset_t  # (T, 3, H, W)
        next_t = gain_t * ((next - offset) / gain) + offset_t
        return prev_t.clamp(0, 1), next_t.clamp(0, 1)

    def apply(self, frame: torch.Tensor) -> torch.Tensor:
        """gain * frame + offset, clamped to [0, 1]: (B, 3, H, W) -> (B, 3, H, W)."""
        gain, offset = self.tensors(frame)
        return (gain * frame + offset).clamp(0, 1)

    def to_dict(self) -> dict:
        return {
            "gain": [round(value, 4) for value in self.gain],
            "offset": [round(255 * value, 2) for value in self.offset],  # grey levels
            "change": round(self.change, 3),
            "left": round(self.left, 3),
        }


def shrink(frame: torch.Tensor, side: int = FIT_SIDE) -> np.ndarray:
    """(3, h, w) float64 of a (1, 3, H, W) or (3, H, W) frame, area-shrunk to at most ``side`` px
    on the longer side (not enlarged)."""
    frame = frame.reshape(1, *frame.shape[-3:]).float()
    height, width = frame.shape[-2:]
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if size != (height, width):
        frame = F.interpolate(frame, size=size, mode="area")
    return frame[0].detach().cpu().numpy().astype(np.float64)  # (3, h, w)


def robust_line(x: np.ndarray, y: np.ndarray, steps: int = FIT_STEPS) -> tuple[float, float]:
    """(gain, offset) of y ~= gain * x + offset, by least squares reweighted with Tukey's biweight.

    x, y: (N,) values. Starts from ordinary least squares; each step weights the residuals r by
    (1 - (r / (c s))^2)^2 inside c s, 0 outside, with s = 1.4826 * median |r| (the robust standard
    deviation, at least 1e-4) and c = ``TUKEY_C``.
    """
    weights = np.ones_like(x)
    gain, offset = 1.0, 0.0
    for _ in range(steps + 1):
        total = weights.sum()
        if total <= 0:
            break
        mean_x, mean_y = (weights * x).sum() / total, (weights * y).sum() / total
        spread = (weights * (x - mean_x) ** 2).sum()
        if spread <= 0:
            break
        gain = float((weights * (x - mean_x) * (y - mean_y)).sum() / spread)
        offset = float(mean_y - gain * mean_x)
        residual = y - (gain * x + offset)
        scale = max(1.4826 * float(np.median(np.abs(residual))), 1e-4)
        ratio = residual / (TUKEY_C * scale)
        weights = np.where(np.abs(ratio) < 1, (1 - ratio**2) ** 2, 0.0)
    return gain, offset


def fit_fade(prev: torch.Tensor, next: torch.Tensor) -> Fade | None:
    """The pair's fade (module doc), or None where the change is not clearly a global one.

    prev, next: (1, 3, H, W) or (3, H, W) float in [0, 1].
    """
    first, second = shrink(prev), shrink(next)  # (3, h, w) each
    if first.shape != second.shape:
        raise ValueError(f"frames differ in shape: {tuple(prev.shape)} vs {tuple(next.shape)}")
    low, high = CLIP_LEVELS / 255, 1 - CLIP_LEVELS / 255
    usable = ((first > low) & (first < high) & (second > low) & (second < high)).all(axis=0)  # (h, w)
    if usable.sum() < 64:
        return None
    gains, offsets = [], []
    for channel in range(3):
        x, y = first[channel][usable], second[channel][usable]
        if 255 * x.std() < MIN_SPREAD:
            return None
        gain, offset = robust_line(x, y)
        if not MIN_GAIN <= gain <= MAX_GAIN:
            return None
        gains.append(gain)
        offsets.append(offset)
    gain, offset = np.array(gains).reshape(3, 1, 1), np.array(offsets).reshape(3, 1, 1)
    mapped = np.clip(gain * first + offset, 0, 1)  # (3, h, w)
    change = 255 * float(np.abs(mapped - first).mean())
    before = float(np.abs(second - first).mean())
    left = float(np.abs(second - mapped).mean()) / before if before > 0 else 1.0
    if change < MIN_CHANGE or left > MAX_LEFT:
        return None
    return Fade(tuple(gains), tuple(offsets), change, left)


def match_brightness(frame: torch.Tensor | None, reference: torch.Tensor) -> torch.Tensor | None:
    """``frame`` brought to ``reference``'s brightness where the two differ by a fade
    (:func:`fit_fade` from ``frame`` to ``reference``), else ``frame`` itself (None stays None).

    frame, reference: (1, 3, H, W) float in [0, 1].
    """
    if frame is None:
        return None
    fade = fit_fade(frame, reference)
    return frame if fade is None else fade.apply(frame)
