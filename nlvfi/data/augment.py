"""Augmenting a frame triplet: random crop, horizontal/vertical flips, temporal reversal.

A sample is a dict. Every *image-like* entry, a tensor or array of shape (C, H, W) (the
frames ``prev``, ``middle``, ``next``, the flows ``flow_forward``/``flow_backward``, the depths
``depth_prev``/``depth_middle``/``depth_next``, any mask), gets the same crop window and the
same flips; everything else (``t``, ``gap``, ``source``, ``motion``, ...) passes through, except
``t``, which temporal reversal turns into ``1 - t``.

Flows follow the nlvfi convention (see ``nlvfi/warping.py``): (2, H, W), channel 0 = dx
(right), channel 1 = dy (down), in pixels. ``flow_forward`` lives on ``prev``'s grid and points
to where each pixel of ``prev`` lands in ``next`` (so ``next(x + flow_forward(x)) = prev(x)``);
``flow_backward`` lives on ``next``'s grid and points back into ``prev``. The operations keep
that true:

* crop: a translation of both grids, flows unchanged;
* horizontal flip: mirror every map left-right and negate dx (channel 0 of every flow);
* vertical flip: mirror every map top-bottom and negate dy (channel 1);
* temporal reversal: swap ``prev``/``next``, every ``*_prev``/``*_next`` pair (depths) and every
  ``*_forward``/``*_backward`` pair (flows); ``t -> 1 - t``. No sign change: the old backward
  flow *is* the new forward flow, already on the new ``prev``'s grid.

A key is a flow when its name starts with ``flow`` (and it has 2 channels).
"""

from __future__ import annotations

import numpy as np
import torch

#: (first, second) key pairs exchanged by temporal reversal, besides ``*_prev``/``*_next`` and
#: ``*_forward``/``*_backward`` suffix pairs found in the sample.
_REVERSAL_PAIRS = (("prev", "next"),)
_REVERSAL_SUFFIXES = (("_prev", "_next"), ("_forward", "_backward"))

Sample = dict


def is_image_like(value) -> bool:
    """A (C, H, W) tensor or array: cropped and flipped with the frames."""
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 3


def is_flow(key: str, value) -> bool:
    """A flow map (2, H, W) whose channels get negated by flips."""
    return key.startswith("flow") and is_image_like(value) and value.shape[0] == 2


def image_size(sample: Sample) -> tuple[int, int]:
    """(H, W) shared by every image-like entry; ValueError if they disagree or there are none."""
    sizes = {key: tuple(value.shape[-2:]) for key, value in sample.items() if is_image_like(value)}
    if not sizes:
        raise ValueError("sample has no image-like (C, H, W) entry")
    if len(set(sizes.values())) > 1:
        raise ValueError(f"image-like entries differ in size: {sizes}")
    return next(iter(sizes.values()))


def crop_shape(crop_size: int | tuple[int, int]) -> tuple[int, int]:
    """``256`` -> (256, 256); ``(h, w)`` -> (h, w); both must be positive."""
    if isinstance(crop_size, (int, np.integer)):
        height = width = int(crop_size)
    else:
        height, width = (int(s) for s in crop_size)
    if height <= 0 or width <= 0:
        raise ValueError(f"crop size must be positive, got {crop_size}")
    return height, width


def crop_window(
    size: tuple[int, int], crop_size: int | tuple[int, int], rng: np.random.Generator | None
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a crop inside an image of ``size`` = (H, W).

    Uniformly random when ``rng`` is given, centred when it is None.
    """
    height, width = crop_shape(crop_size)
    image_height, image_width = size
    if height > image_height or width > image_width:
        raise ValueError(f"crop {height}x{width} (HxW) is larger than the image {image_height}x{image_width}")
    if rng is None:
        return (image_height - height) // 2, (image_width - width) // 2, height, width
    top = int(rng.integers(0, image_height - height + 1))
    left = int(rng.integers(0, image_width - width + 1))
    return top, left, height, width


def _map_images(sample: Sample, fn) -> Sample:
    """Apply ``fn(key, value)`` to every image-like entry, keep the rest."""
    return {key: fn(key, value) if is_image_like(value) else value for key, value in sample.items()}


def apply_crop(sample: Sample, window: tuple[int, int, int, int]) -> Sample:
    """Cut the same (top, left, height, width) window out of every image-like entry."""
    top, left, height, width = window
    return _map_images(sample, lambda key, value: value[:, top : top + height, left : left + width])


def random_crop(sample: Sample, crop_size: int | tuple[int, int], rng: np.random.Generator) -> Sample:
    """Crop every image-like entry with one uniformly random ``crop_size`` window.

    ``crop_size`` larger than the image (either side) -> ValueError.
    """
    return apply_crop(sample, crop_window(image_size(sample), crop_size, rng))


def center_crop(sample: Sample, crop_size: int | tuple[int, int]) -> Sample:
    """Crop every image-like entry with the centred ``crop_size`` window (evaluation)."""
    return apply_crop(sample, crop_window(image_size(sample), crop_size, None))


def _flip(value, axis: int):
    if isinstance(value, torch.Tensor):
        return torch.flip(value, dims=(axis,))
    return np.flip(value, axis=axis).copy()


def _negate_channel(value, channel: int):
    value = value.clone() if isinstance(value, torch.Tensor) else value.copy()
    value[channel] = -value[channel]
    return value


def flip_horizontal(sample: Sample) -> Sample:
    """Mirror left-right; flows mirrored and dx (channel 0) negated."""

    def flip(key, value):
        value = _flip(value, -1)  # (C, H, W) with columns reversed
        return _negate_channel(value, 0) if is_flow(key, value) else value

    return _map_images(sample, flip)


def flip_vertical(sample: Sample) -> Sample:
    """Mirror top-bottom; flows mirrored and dy (channel 1) negated."""

    def flip(key, value):
        value = _flip(value, -2)  # (C, H, W) with rows reversed
        return _negate_channel(value, 1) if is_flow(key, value) else value

    return _map_images(sample, flip)


def reversal_partner(key: str) -> str | None:
    """The key that ``key`` swaps with under temporal reversal (None: it stays)."""
    for first, second in _REVERSAL_PAIRS:
        if key == first:
            return second
        if key == second:
            return first
    for first, second in _REVERSAL_SUFFIXES:
        if key.endswith(first):
            return key[: -len(first)] + second
        if key.endswith(second):
            return key[: -len(second)] + first
    return None


def reverse_time(sample: Sample) -> Sample:
    """Play the triplet backwards: prev <-> next, *_prev <-> *_next, *_forward <-> *_backward, t -> 1 - t.

    A key whose partner is absent (``depth_prev`` without ``depth_next``) -> ValueError, since
    it would end up describing the wrong frame.
    """
    out = {}
    for key, value in sample.items():
        partner = reversal_partner(key)
        if partner is None:
            out[key] = 1 - value if key == "t" else value
        elif partner not in sample:
            raise ValueError(f"temporal reversal needs {partner!r} to go with {key!r}")
        else:
            out[key] = sample[partner]  # key order kept
    return out


def augment_triplet(
    sample: Sample,
    crop_size: int | tuple[int, int] | None,
    rng: np.random.Generator,
    flips: bool = True,
    temporal_reversal: bool = True,
) -> Sample:
    """Random crop, then each of h-flip, v-flip and temporal reversal with probability 1/2.

    Args:
        sample: dict with (C, H, W) image-like entries (frames, flows, depths) and scalars.
        crop_size: int (square), (height, width), or None for no crop.
        rng: the only source of randomness; the same generator state gives the same result.
        flips: allow the two flips.
        temporal_reversal: allow playing the triplet backwards.
    Returns:
        a new dict with the same keys; the input is not modified.

    The three coin flips are always drawn (in the order h-flip, v-flip, reversal), so switching
    an option off does not change the crop or the other choices made from the same ``rng``.
    """
    size = image_size(sample)
    if crop_size is not None:
        sample = apply_crop(sample, crop_window(size, crop_size, rng))
    do_hflip, do_vflip, do_reverse = (bool(coin) for coin in rng.random(3) < 0.5)
    if flips and do_hflip:
        sample = flip_horizontal(sample)
    if flips and do_vflip:
        sample = flip_vertical(sample)
    if temporal_reversal and do_reverse:
        sample = reverse_time(sample)
    return dict(sample)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator a dataset uses for item ``index`` in ``epoch``: reproducible, worker-independent."""
    return np.random.default_rng([int(seed), int(epoch), int(index)])


def prepare_sample(
    sample: Sample,
    crop_size: int | tuple[int, int] | None,
    augment: bool,
    seed: int,
    epoch: int,
    index: int,
) -> Sample:
    """The datasets' last step: crop/augment, then uint8 images -> float32 in [0, 1].

    ``augment=True``: :func:`augment_triplet` with :func:`sample_rng` (seed, epoch, index).
    ``augment=False``: a centred crop when ``crop_size`` is given, nothing else.
    """
    if augment:
        sample = augment_triplet(sample, crop_size, sample_rng(seed, epoch, index))
    elif crop_size is not None:
        sample = center_crop(sample, crop_size)
    out = {}
    for key, value in sample.items():
        if isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.ndim == 3:
            value = value.float().div_(255.0).contiguous()  # (C, H, W) float32 in [0, 1]
        out[key] = value
    return out
