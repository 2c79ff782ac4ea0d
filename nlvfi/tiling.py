"""Tiled inference: a frame too large for one forward pass, run as overlapping tiles blended seamlessly.

The method does not need this (METHOD.md §4's last paragraph leaves frame sizes to the
implementation); it is how a 3840x2160 frame fits in a few GB of CPU memory.

Layout. The frame is padded to the network stride exactly as the generator pads it. Tiles of
``tile`` x ``tile`` pixels start at multiples of the stride, so every tile sees the same
pooling and stride-2 grid as the whole frame; neighbours overlap by at least ``overlap``
pixels, the first tile starts at 0 and the last one ends flush with the padded frame.

Blending. Along each axis, over the L pixels a tile shares with the neighbour before it, its
weight is 0 for the first L/4 (next to its own edge, where it lacks context), rises as a
raised cosine over the middle L/2 and is 1 after; it falls the same way towards the neighbour
after it, and is 1 elsewhere and at the frame's own edges. The weights are normalised so that
at every pixel they sum to 1; they are separable (row weight times column weight) and the
tiles form a grid, so the normalisation is done per axis. Discarding the outer quarter
matters: on tests/test_tiling.py's 256x320 pair (untrained tiny model) it cut the mean
difference from the untiled pass 12x for 256-px tiles with 128 px overlap, and 2.4x for
192/96, against a ramp over the whole strip (128-px tiles are too small for either to help).

Exactness. The non-local branch is exact: its attention spans the whole frame, which a tile
would cut, so its features are computed once on the whole padded frame
(``Generator.nonlocal_features``) and each tile receives its slice. The local branches (flow,
depth, kernels, synthesis) see only their tile; near a tile's edge they lack the context
beyond it (zero padding instead), and the overlap with its low blending weights hides that.
tests/test_tiling.py measures the difference from the untiled pass.

Flow guesses. A repair starts each run's flow from the motion of the frames just outside it
(``nlvfi.flow_prior``); :func:`tiled_prior` measures that motion tile by tile as well (the
estimator sees what the tiled generator sees, and nothing needs the whole frame in one pass),
blends the tiles' guesses with the same weights, and :func:`tiled_forward` hands each tile its
slice. Measured (shipped weights, static blending, exact duplicates of
``benchmarks/repair_quality.py`` seed 0, without guesses -> with them, dB): vtest's held-out
part at 768x576 (41 repaired frames, 4 views) in tiles of 256 px, 28.94 -> 29.58 (whole frames,
as ``results/repair_quality.md``: 29.54); its first 40 frames, one view, 30.09 -> 30.89 (whole
frames with the prior at 1x: 30.87); tree (320x240, first 60, one view) in tiles of 128 px,
19.84 -> 20.57 (whole frames 20.27). The bundled clip through ``nlvfi repair --tile 128`` (4
views, as written): 31.01 -> 31.31 with the flow at 1x.

Flow scale. Each tile's flow is estimated on that tile enlarged ``flow_scale`` times, as a whole
frame's would be (``--flow-scale``; ``auto`` decides by the whole frame's size, tiled or not).
The bundled clip (384x288, ``nlvfi repair --tile 128``, 4 views, as written): 31.31 dB at 1x,
31.75 at 2x, against 31.80 for whole frames; in tiles of 256 px, 31.81. (Before 2026-11-29 a
tiled plan kept the flow at 1x whatever was asked, so ``--tile`` silently cost small frames
0.5 dB.) These were read back through swscale's default YUV -> RGB conversion; read as the
model now reads yuv420p (``nlvfi.videoio.yuv_to_rgb``, 2026-11-29), 128-px tiles give 31.46 dB
at 1x and 31.91 at 2x, whole frames 31.95.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .flow_prior import constant_velocity_prior
from .generator import Generator
from .inputs import check_frame_pair

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 128  # for tiles of 256 px and more; see default_overlap


def default_overlap(tile: int, stride: int) -> int:
    """The overlap used when none is given: 128 px, at most half the tile, and leaving the tiles
    at least one stride to advance (so any tile that is a multiple of the stride works)."""
    return max(0, min(DEFAULT_OVERLAP, tile // 2, tile - stride))


def check_tile(tile: int, overlap: int, stride: int) -> None:
    """ValueError unless ``tile`` is a positive multiple of ``stride`` and 0 <= overlap <= tile - stride."""
    for name, value in (("tile", tile), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer number of pixels, got {value!r}")
    if tile < stride or tile % stride:
        raise ValueError(f"tile must be a positive multiple of the network stride {stride}, got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    if overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile})")
    if tile - overlap < stride:
        raise ValueError(
            f"tile - overlap must be at least the network stride {stride} (tiles advance in whole strides); "
            f"got tile {tile}, overlap {overlap}"
        )


def tile_starts(length: int, tile: int, overlap: int, stride: int) -> list[int]:
    """Start offsets of the tiles along one axis of ``length`` (a multiple of ``stride``) pixels.

    Every start is a multiple of ``stride``; consecutive tiles overlap by >= ``overlap``; the
    last tile ends at ``length``. The gaps are spread as evenly as whole strides allow.
    """
    if length % stride:
        raise ValueError(f"the padded length {length} is not a multiple of the stride {stride}")
    if length <= tile:
        return [0]
    max_step = (tile - overlap) // stride  # in strides
    span = (length - tile) // stride  # total advance, in strides
    gaps = math.ceil(span / max_step)
    base, extra = divmod(span, gaps)
    starts = [0]
    for i in range(gaps):
        starts.append(starts[-1] + (base + (1 if i < extra else 0)) * stride)
    return starts


def ramp(shared: int) -> torch.Tensor:
    """Rising weight over a strip of ``shared`` pixels that two tiles both cover: (shared,).

    0 over the strip's first quarter (next to the tile's own edge, where it lacks context),
    a raised cosine over the middle half, 1 over the last quarter; reversed, it falls.
    """
    margin = shared // 4
    i = torch.arange(shared, dtype=torch.float64)
    r = ((i + 0.5 - margin) / (shared - 2 * margin)).clamp(0.0, 1.0)  # (shared,) in [0, 1]
    return 0.5 - 0.5 * torch.cos(math.pi * r)


def axis_weights(starts: list[int], size: int, length: int) -> list[torch.Tensor]:
    """Normalised blending weights of each tile along one axis: (size,) each, summing to 1.

    Args:
        starts: tile starts from :func:`tile_starts`; ``size`` is the tile's side on this axis.
        length: the padded length they cover.
    """
    raw = []
    for n, start in enumerate(starts):
        w = torch.ones(size, dtype=torch.float64)  # (size,)
        if n > 0:  # rise over the pixels shared with the tile before
            shared = starts[n - 1] + size - start
            w[:shared] *= ramp(shared)
        if n + 1 < len(starts):  # fall over the pixels shared with the tile after
            shared = start + size - starts[n + 1]
            w[size - shared :] *= ramp(shared).flip(0)
        raw.append(w)
    total = torch.zeros(length, dtype=torch.float64)  # (length,)
    for start, w in zip(starts, raw):
        total[start : start + size] += w
    if not (total > 0).all():  # cannot happen for layouts from tile_starts; fail loudly if it does
        raise ValueError(f"tiles starting at {starts} (size {size}) leave pixels of {length} without weight")
    return [(w / total[start : start + size]).float() for start, w in zip(starts, raw)]


@dataclass(frozen=True)
class TileLayout:
    """Where the tiles of one padded frame lie, and their blending weights.

    Attributes:
        height, width: the padded frame (multiples of the stride).
        tile_height, tile_width: every tile's size (the tile, or the frame's side if smaller).
        ys, xs: tile starts along each axis; tile (i, j) covers
            [ys[i], ys[i] + tile_height) x [xs[j], xs[j] + tile_width).
    """

    height: int
    width: int
    tile_height: int
    tile_width: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ys) * len(self.xs)

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """(y0, y1, x0, x1) of every tile, row by row."""
        return [(y, y + self.tile_height, x, x + self.tile_width) for y in self.ys for x in self.xs]

    def weights(self) -> list[torch.Tensor]:
        """Blending weight of every tile, (tile_height, tile_width) each, in :meth:`boxes` order."""
        wy = axis_weights(list(self.ys), self.tile_height, self.height)
        wx = axis_weights(list(self.xs), self.tile_width, self.width)
        return [a[:, None] * b[None, :] for a in wy for b in wx]


def plan_tiles(height: int, width: int, stride: int, tile: int = DEFAULT_TILE, overlap: int | None = None) -> TileLayout:
    """The tiles of a height x width frame (padded to ``stride`` first), checked (:func:`check_tile`).

    ``overlap`` None: :func:`default_overlap`.
    """
    if overlap is None and isinstance(tile, int):
        overlap = default_overlap(tile, stride)
    check_tile(tile, overlap, stride)
    if height < 1 or width < 1:
        raise ValueError(f"the frame must be at least 1x1, got {width}x{height}")
    padded_h, padded_w = math.ceil(height / stride) * stride, math.ceil(width / stride) * stride
    tile_h, tile_w = min(tile, padded_h), min(tile, padded_w)
    return TileLayout(
        padded_h,
        padded_w,
        tile_h,
        tile_w,
        tuple(tile_starts(padded_h, tile_h, overlap, stride)),
        tuple(tile_starts(padded_w, tile_w, overlap, stride)),
    )


def tiled_forward(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    t: float | torch.Tensor = 0.5,
    tile: int = DEFAULT_TILE,
    overlap: int | None = None,
    static_motion: float = 0.0,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    flow_scale: int = 1,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The generator's frame, computed tile by tile (module doc); call it in inference mode.

    Args:
        generator: in eval mode.
        prev, next: (B, 3, H, W) float in [0, 1]; B = 1 with a (T,) ``t`` gives T frames of
            the one pair (its non-local features are computed once).
        t: a float or a (B,) / (T,) tensor in [0, 1].
        tile, overlap: tile side and least overlap in pixels (:func:`check_tile`); overlap
            None: :func:`default_overlap`.
        static_motion: static blending in each tile (:mod:`nlvfi.static_blend`; 0: off), from
            that tile's own flow.
        initial_flow: optional (forward, backward) flow guesses of the whole pair, (B, 2, H, W)
            each (:mod:`nlvfi.flow_prior`, e.g. from :func:`tiled_prior`); each tile starts
            its flow from its slice.
        flow_scale: each tile's flow is estimated on that tile enlarged this many times
            (``Generator.forward``; 1: as trained).
        still_pair: optional frames of the whole pair for the static blend, (B, 3, H, W) each
            (:func:`nlvfi.static_blend.average_outside_frame`, computed on whole frames); each
            tile blends its slice.
    Returns:
        (B or T, 3, H, W) float32 in [0, 1] (in eval mode).
    """
    check_frame_pair(prev, next)
    layout = plan_tiles(prev.shape[-2], prev.shape[-1], generator.config.stride, tile, overlap)
    height, width = prev.shape[-2:]
    if initial_flow is not None:
        expected = (prev.shape[0], 2, height, width)
        if len(initial_flow) != 2 or any(tuple(flow.shape) != expected for flow in initial_flow):
            raise ValueError(f"initial_flow must be two flows of shape {expected} (forward, backward)")
        initial_flow = tuple(generator.pad(flow) for flow in initial_flow)  # (B, 2, H', W') each
    if still_pair is not None:
        if len(still_pair) != 2 or any(tuple(frame.shape) != tuple(prev.shape) for frame in still_pair):
            raise ValueError(f"still_pair must be two frames of shape {tuple(prev.shape)}")
        still_pair = tuple(generator.pad(frame) for frame in still_pair)  # (B, 3, H', W') each
    features = None  # a generator without the non-local branch (the study's "local only") has none
    if getattr(generator.config, "use_nonlocal", True):
        features = generator.nonlocal_features(prev, next)  # (B, C_nl, H', W')
    prev, next = generator.pad(prev), generator.pad(next)  # (B, 3, H', W') each
    batch = prev.shape[0]
    if isinstance(t, torch.Tensor) and t.dim() == 1 and batch == 1 and t.numel() > 1:
        batch = t.numel()  # one pair at several times: broadcast views, no copies
        prev, next = prev.expand(batch, -1, -1, -1), next.expand(batch, -1, -1, -1)
        features = None if features is None else features.expand(batch, -1, -1, -1)
        if initial_flow is not None:
            initial_flow = tuple(flow.expand(batch, -1, -1, -1) for flow in initial_flow)
        if still_pair is not None:
            still_pair = tuple(frame.expand(batch, -1, -1, -1) for frame in still_pair)
    out = torch.zeros(batch, 3, layout.height, layout.width, device=prev.device)  # (B, 3, H', W'), float32
    options = {"static_motion": static_motion} if static_motion else {}  # stand-in models need not take these
    if flow_scale != 1:
        options["flow_scale"] = flow_scale
    for (y0, y1, x0, x1), weight in zip(layout.boxes(), layout.weights()):
        tile_features = None if features is None else features[..., y0:y1, x0:x1]  # (B, C_nl, th, tw)
        if initial_flow is not None:
            options["initial_flow"] = tuple(flow[..., y0:y1, x0:x1] for flow in initial_flow)  # (B, 2, th, tw) each
        if still_pair is not None and static_motion:
            options["still_pair"] = tuple(frame[..., y0:y1, x0:x1] for frame in still_pair)  # (B, 3, th, tw) each
        frame = generator(
            prev[..., y0:y1, x0:x1], next[..., y0:y1, x0:x1], t=t, nonlocal_features=tile_features, **options
        ).frame  # (B, 3, th, tw)
        out[..., y0:y1, x0:x1] += weight.to(out.device) * frame
    return out[..., :height, :width]  # (B, 3, H, W)


def tiled_prior(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    before: torch.Tensor | None = None,
    after: torch.Tensor | None = None,
    scale_before: float = 1.0,
    scale_after: float = 1.0,
    tile: int = DEFAULT_TILE,
    overlap: int | None = None,
    flow_scale: int = 1,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """:func:`nlvfi.flow_prior.constant_velocity_prior` computed tile by tile, blended like the frames.

    For frames too large for one pass: each tile's outside flows are measured on that tile of
    the four frames (the flow estimator sees no more than the tiled generator does), guesses
    under ``flow_prior.MIN_MOTION`` are dropped per tile, and the tiles' guesses are blended
    with the layout's weights (module doc). Call it in inference mode.

    Args:
        prev, next, before, after: (B, 3, H, W) float in [0, 1]; ``before``/``after`` None
            when that outside frame is missing.
        scale_before, scale_after, flow_scale: as in ``constant_velocity_prior`` (the outside
            flows of each tile on that tile enlarged ``flow_scale`` times); tile, overlap: as in
            :func:`tiled_forward`.
    Returns:
        (forward, backward) guesses, (B, 2, H, W) each in pixels; None when both outside frames are missing.
    """
    if before is None and after is None:
        return None
    check_frame_pair(prev, next)
    layout = plan_tiles(prev.shape[-2], prev.shape[-1], generator.config.stride, tile, overlap)
    height, width = prev.shape[-2:]
    frames = [None if frame is None else generator.pad(frame) for frame in (prev, next, before, after)]  # (B, 3, H', W')
    guesses = torch.zeros(2, prev.shape[0], 2, layout.height, layout.width, device=prev.device)  # forward, backward
    for (y0, y1, x0, x1), weight in zip(layout.boxes(), layout.weights()):
        crops = [None if frame is None else frame[..., y0:y1, x0:x1] for frame in frames]  # (B, 3, th, tw)
        forward, backward = constant_velocity_prior(generator, *crops, scale_before, scale_after, flow_scale=flow_scale)  # (B, 2, th, tw)
        guesses[..., y0:y1, x0:x1] += weight.to(guesses.device) * torch.stack((forward, backward))
    return guesses[0, ..., :height, :width], guesses[1, ..., :height, :width]
