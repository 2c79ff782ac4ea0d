"""Interpolating frames with a trained generator: the ``nlvfi interpolate`` command.

Method: METHOD.md §4 step 3 (¶0218–0220: generate the missing frame from the pair around it)
and §4's last paragraph (arbitrary time t, frame sizes that are not multiples of the stride:
the generator pads and crops itself). Notebook: notebooks/10_video_repair.ipynb

    nlvfi interpolate PREV.png NEXT.png -o MID.png [--t 0.5] [--checkpoint C] [--device D]
    nlvfi interpolate --batch pairs.csv [--batch-size N] [--skip-existing] [--checkpoint C] [--device D]
    nlvfi interpolate IN_VIDEO -o OUT_VIDEO [--factor 2|4] [--codec C] [--crf N] [--preset P] [--no-verify] [--no-resume]
    every form: [--tile SIZE] [--overlap PX] [--max-memory-gb G] [--compile] [--ensemble 1|2|4]
                [--flow-scale auto|1|2] [--static-motion PX] [--no-fade]

``--batch``: one line per pair, ``prev,next,out`` (optionally a 4th column ``t``); blank lines,
``#`` comments and a ``prev,next,out`` header are skipped; relative paths are relative to the
CSV's folder, which must be UTF-8. Every line is checked before the model runs (two lines may not
write one file, nor one line another's input); the model is loaded once, and pairs of one size go
through it together (``--batch-size``). A frame keeps what its pair holds where the format holds
it (:mod:`nlvfi.io`): grey, 16 bits (PNG, TIFF), alpha (blended from the pair's at t). Each frame is written atomically as its
batch is done, so an interrupted run leaves only whole files; ``--skip-existing`` goes on from
them (lines whose output exists are skipped; the model is not even loaded when none is left).

``--factor F`` (frame-rate up-conversion): F - 1 frames at t = 1/F, ..., (F-1)/F between every
two input frames (one generator call per gap), timestamps exactly in between on a time base F
times finer, the frame rate multiplied by F, audio copied; N frames give F(N-1)+1. Lossless
input gives lossless output (the original frames stay bit-identical), see ``nlvfi.videoio``.
Before the temporary file is renamed onto OUT, it is decoded beside the input and each of these
promises is checked (``nlvfi.verification``; ``--no-verify`` skips it): any broken one is an
error and leaves nothing at OUT. Interrupted (Ctrl-C, SIGTERM), a run keeps the frames it
generated in ``OUT.nlvfi-resume/`` and the same command run again goes on from there
(``nlvfi.resume``; ``--no-resume``: neither).

``--tile``: frames whose forward pass would not fit the memory budget (``--max-memory-gb``,
default 80% of what is free) run as overlapping tiles blended seamlessly (``nlvfi.tiling``;
the non-local branch stays exact); ``--tile SIZE`` forces tiles of SIZE px, ``--tile 0``
never tiles (and refuses such frames). ``--compile``: ``torch.compile`` the generator; if
compiling fails, a warning says why and the run goes on without it. ``--ensemble N``: each
frame is the mean of the generator on N mirrored views of the pair (``nlvfi.self_ensemble``;
better frames for N times the model time; default 1 here, 4 in ``nlvfi repair``).
``--flow-scale`` (flow estimated on frames enlarged 2x; :func:`flow_scale_for`) and
``--static-motion`` (still pixels take the plain blend; ``nlvfi.static_blend``) are off here by
default (the generator as trained) and on in ``nlvfi repair``, whose benchmark measured them.
Here the flow starts from zero, and the enlarged frames' motion is twice as long: on 10
held-out real triplets per gap (``benchmarks/self_ensemble.py --triplets 10``, 4 views) 2x
with 0.5 px gave 31.41 / 28.27 dB at d = 1 / 2 against 32.04 / 29.43 as trained.
Fades are taken out by default (``--no-fade`` turns it off; ``Plan.fade``, ``nlvfi.fade``): a pair
that differs by a global fade goes to the generator at the brightness of time t. It leaves every
other pair bit for bit as it was, and across a fade it is what the generator was never trained
for (vtest frames 20 and 22, the second 30% of the way to black: 33.74 dB against 24.83 without;
``tests/test_fade.py``; every other frame of the bundled clip fading to black, up-converted with
``--factor 2``: 39.41 dB against 34.36 over the 11 frames made, ad hoc).

This module also holds what the repair tool shares: the default checkpoint, loading it with a
clear error, the memory estimate and the plan it gives (whole frames or tiles, frames per
call; frames too large even in tiles are refused), and batched generation at several times t
(:func:`generate`).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .acceleration import (
    channels_last_for_inference, compile_generator, expandable_cuda_segments, freed_cpu_memory_kept, give_back_freed_cpu_memory,
    keep_freed_cpu_memory, kept_free_cpu_bytes,
)  # fmt: skip
from .checkpoint import CheckpointError, atomic_write, load_generator
from .deinterlace import add_deinterlace_argument, deinterlaced_text
from .input_rate import add_input_rate_argument, declared_input_rate, given_rate_text, reads_at_input_rate
from .staged_images import reads_staged_images, staging_reason, staging_text
from .gif_output import gif_output, gif_text, stage_gif
from .webp_output import stage_webp, webp_output, webp_text
from .apng_output import apng_output, apng_text, is_apng, stage_apng
from .icc import profile_outcome, profile_place, profile_summary, profile_text
from .animated_webp import is_animated_webp, staged_icc_profile
from .image_sequence import images_text, move_into_place, not_held, sequence_output, stage_images
from .fade import Fade, fit_fade
from .generator import Generator
from .io import ImageKind, blend_alpha, read_picture, write_picture
from .kept_encoding import KeptEncodingMismatch, PacketLog, close_log
from .resume import ResumeStore, kept_if_interrupted, taken_over_text
from .self_ensemble import ALLOWED_VIEWS, check_views, self_ensemble
from .static_blend import check_static_motion
from .tiling import DEFAULT_OVERLAP, check_tile, default_overlap, tiled_forward
from .tour import pick_device
from .verification import verify_output
from .captions import closed_captions
from .videoio import (
    ALPHA_NOT_DECODED_TEXT,
    is_image_pattern,
    encoder_notes,
    float_note,
    DEFAULT_CRF,
    DEFAULT_PRESET,
    X264_PRESETS,
    CopiedPacket,
    VideoError,
    VideoReader,
    VideoWriter,
    assumed_rate_text,
    check_avi_start,
    check_encoder,
    check_progressive,
    check_writable,
    container_for,
    frame_alpha,
    frame_to_rgb,
    interlaced_frame_error,
    probe,
    rgb_to_tensor,
    same_file,
    tensor_to_rgb,
)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "nlvfi-cpu.safetensors"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".exr", ".pfm"}

#: peak working memory per (padded) pixel and frame of a forward pass, bytes: the
#: "RSS over loaded model" column of results/bench_cpu.md at 1920x1080 (1920x1088 padded) with
#: glibc's allocator as it comes, plus a margin (2026-12-02, contiguous layout: 1,443 / 1,789 /
#: 2,819 bytes a padded pixel; 2026-12-03, the tools' channels-last layout: 1,376 / 1,804 / 2,903,
#: which the values here exceed 1.10-1.16x; the tools' own call given back to glibc's defaults
#: peaked at 0.65-0.97x the estimate, results/cpu_memory_given_back.md)
BYTES_PER_PIXEL = {"tiny": 1600, "small": 2000, "full": 3200}
_UNKNOWN_BYTES_PER_PIXEL = 3200
#: Allowances on those estimates, from the worst peak of the tools' call over the estimate in 3
#: fresh processes a row, 2 cores (results/cpu_memory.md, ``benchmarks/cpu_memory.py``), plus about
#: a tenth; the planner takes the largest that applies (:func:`estimate_factor`).
#: On the CPU with the freed memory kept (:func:`nlvfi.acceleration.keep_freed_cpu_memory`, as the
#: tools run), the heap grows past the live memory where a freed block is too small for the next
#: request, and by a different amount in each process. Worst at 1280x720 and 1920x1080: tiny 1.07,
#: small 1.14, full 1.63 (at 1920x1080 one call peaked 10.2 GB over the loaded model where 6.3 GB
#: were planned, the other two 7.2 and 7.7). ``small`` went further in 2 of 6 later processes at
#: 1920x1080 (5,273 and 5,320 MB where 4,032 are planned as glibc comes: 1.32; its allowance had been
#: 1.3; results/cpu_memory_given_back.md).
KEPT_HEAP_FACTOR = {"tiny": 1.2, "small": 1.45, "full": 1.8}
#: With the flow estimated at 2x (frames up to :data:`AUTO_FLOW_SCALE_PIXELS`, ``--flow-scale``),
#: on any device: worst at 640x480, either allocator: tiny 1.04, small 1.30, full 2.33 (glibc as it
#: comes reached 2.08 too: ``full`` took about 1.0 GB in most processes and 2.1 GB in some).
FLOW_2X_FACTOR = {"tiny": 1.15, "small": 1.45, "full": 2.6}
#: largest frame (pixels) whose flow ``--flow-scale auto`` estimates at 2x (:func:`flow_scale_for`)
AUTO_FLOW_SCALE_PIXELS = 768 * 576
#: tile sides tried, largest first, when a whole frame does not fit (``--tile`` left automatic)
AUTO_TILES = (1024, 768, 512, 384, 256)
#: On the CPU, frames of at least this many pixels go in tiles of at most :data:`CPU_TILE` px
#: even where whole frames fit (``--tile`` left automatic), for the models named here, unless the
#: process keeps the memory each call frees (:func:`nlvfi.acceleration.keep_freed_cpu_memory`; the
#: command-line tools ask for it, and :func:`plan_inference` gives it back where it does not fit).
#: Without it glibc hands each call's large blocks back to the kernel, and there the tiny model's
#: 512-px tiles ran as fast as whole frames from 2560x1440 and faster from 3840x2160 (the tools'
#: call, random weights, 2 cores, 2 fresh processes each, results/cpu_memory_given_back.md: as glibc
#: comes 1920x1080 whole 5.1-5.6 s a call, tiles 5.9-6.0; 2560x1440 13.2-15.2 against 13.0-14.5;
#: 3840x2160 38.2-38.6 against 25.3-26.2; the kept memory given back 4.6-4.8 / 5.0-5.6,
#: 12.2-15.0 / 11.8-13.9, 33.0-37.3 / 23.9-26.1), at a quarter of the memory or less. (An older
#: machine had tiles 1.20x as fast at 1920x1080 too: ``git show 3a1a899:results/cpu_tiles.md``.)
#: With the memory kept whole frames are the faster: 1920x1080 4.7 s against 8.7 s in tiles,
#: 3840x2160 21.2 s against 35.6, tiles +0.05 / +0.07 dB on average (results/cpu_tiles.md,
#: ``benchmarks/cpu_tiles.py``; ``--system-allocator`` measures without). ``small`` and ``full``
#: are not named: their whole frames were the faster without it too (1920x1080, the kept memory
#: given back: ``small`` 8.9-9.8 s a call whole against 12.7 in 512-px tiles, ``full`` 25.6-26.3
#: against 32.4; larger frames of theirs were not measured).
CPU_TILE_FROM_PIXELS = {"tiny": 2560 * 1440}
CPU_TILE = 512


# --------------------------------------------------------------------------------------------
# Model and memory


def load_model(checkpoint: str | os.PathLike | None, device: str | torch.device = "auto") -> tuple[Generator, str]:
    """The generator of ``checkpoint`` (default: the shipped one) in eval mode, and its path.

    Its weights are laid out for speed (:func:`nlvfi.acceleration.channels_last_for_inference`).

    Raises CheckpointError (a ValueError) for a missing, corrupt or foreign file; the message
    says how to get the shipped checkpoint when that is what is missing.
    """
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    dev = pick_device(device)
    if not path.is_file():
        hint = (
            " (the shipped checkpoint is made by `bash scripts/make_checkpoint.sh`; or pass --checkpoint PATH)"
            if checkpoint is None
            else ""
        )
        raise CheckpointError(f"checkpoint not found: {path}{hint}")
    generator = load_generator(path, device=dev)
    return channels_last_for_inference(generator), str(path)


def model_device(generator: Generator) -> torch.device:
    """The device the generator's weights are on."""
    return next(iter(generator.parameters())).device


def format_bytes(count: float) -> str:
    """1536 -> '1.5 kB', 3.2e9 -> '3.0 GB' (powers of 1024)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TB"


def bytes_per_pixel(generator: Generator) -> int:
    return BYTES_PER_PIXEL.get(generator.config.name, _UNKNOWN_BYTES_PER_PIXEL)


def estimate_factor(
    generator: Generator, device: torch.device | None = None, flow_scale: int = 1, kept: bool | None = None
) -> float:
    """The largest allowance that applies to the model's estimates (1 for none): :data:`FLOW_2X_FACTOR`
    with ``flow_scale`` 2, :data:`KEPT_HEAP_FACTOR` on the CPU when the memory each call frees is
    kept (``kept`` None: when this process keeps it; ``device`` None: the live memory alone, as the
    estimates were measured)."""
    name = generator.config.name
    factors = [1.0]
    if flow_scale == 2:
        factors.append(FLOW_2X_FACTOR.get(name, max(FLOW_2X_FACTOR.values())))
    if device is not None and device.type == "cpu" and (freed_cpu_memory_kept() if kept is None else kept):
        factors.append(KEPT_HEAP_FACTOR.get(name, max(KEPT_HEAP_FACTOR.values())))
    return max(factors)


def memory_needed(
    generator: Generator,
    height: int,
    width: int,
    batch: int = 1,
    device: torch.device | None = None,
    flow_scale: int = 1,
    kept: bool | None = None,
) -> int:
    """Estimated peak bytes of a forward pass on ``batch`` frames of height x width, with the
    allowances for ``device``, ``flow_scale`` and ``kept`` (:func:`estimate_factor`)."""
    stride = generator.config.stride
    padded = math.ceil(height / stride) * stride * math.ceil(width / stride) * stride
    live = batch * (padded * bytes_per_pixel(generator) + 6 * 4 * height * width)  # + inputs/outputs
    return int(live * estimate_factor(generator, device, flow_scale, kept))


def available_memory(device: torch.device) -> int:
    """Free memory of ``device`` in bytes (CUDA: free GPU memory; CPU: MemAvailable, plus what
    this process's heap keeps free for itself, :func:`nlvfi.acceleration.kept_free_cpu_bytes`)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 + kept_free_cpu_bytes()
    except OSError:
        pass
    return 8 * 1024**3  # unknown platform: assume 8 GB


def memory_budget(device: torch.device, max_memory_gb: float | None = None) -> int:
    """Bytes the generator may use: ``max_memory_gb`` if given, else 80% of what is free."""
    if max_memory_gb is not None:
        if not max_memory_gb > 0:
            raise ValueError(f"--max-memory-gb must be > 0, got {max_memory_gb}")
        return int(max_memory_gb * 1024**3)
    return int(0.8 * available_memory(device))


def memory_needed_tiled(
    generator: Generator,
    height: int,
    width: int,
    tile: int,
    batch: int = 1,
    device: torch.device | None = None,
    flow_scale: int = 1,
    kept: bool | None = None,
) -> int:
    """Estimated peak bytes of a tiled pass (``nlvfi.tiling``) on ``batch`` frames of height x width,
    with the allowances for ``device``, ``flow_scale`` and ``kept`` (:func:`estimate_factor`).

    The whole padded frame holds the inputs, the blended output and the non-local features
    (C_nl channels), and briefly the non-local branch's own working memory, about four float32
    maps of C_nl channels: 16 x C_nl bytes per pixel (measured: 463 B for ``small``, C_nl = 32,
    and 253 B for ``tiny``, C_nl = 16, at 1920x1080); then one tile at a time needs
    :func:`memory_needed` of its size. For ``small`` at 3840x2160 in tiles of 512 px this says
    5.0 GB; measured: 3.5 GB over the loaded model and frames (peak RSS 4.0 GB in all).
    A repair's flow guesses (``nlvfi.tiling.tiled_prior``) fit in it: ``tiny`` at 1920x1080
    in tiles of 512 px, estimate 1044 MB; peak RSS over the loaded model 637 MB for the tiled
    pass, 311 MB for the guesses alone, 809 MB for both in a row.
    """
    stride = generator.config.stride
    padded = math.ceil(height / stride) * stride * math.ceil(width / stride) * stride
    channels = generator.config.nonlocal_channels if getattr(generator.config, "use_nonlocal", True) else 0
    whole = padded * (16 * channels + 64)  # non-local pass + inputs/output
    side_h, side_w = min(tile, math.ceil(height / stride) * stride), min(tile, math.ceil(width / stride) * stride)
    return int(batch * (whole + memory_needed(generator, side_h, side_w, 1)) * estimate_factor(generator, device, flow_scale, kept))


#: Whole float32 RGB frames (12 B a pixel) a tool keeps on the device around the generator's
#: calls, besides what :func:`memory_needed` / :func:`memory_needed_tiled` count (the padded
#: pair, the non-local features, the output), at the fullest moment (a mirrored view of a call):
#:
#: - ``nlvfi interpolate``: the pair (2), its mirrored copy (2), the running sum of the views
#:   and the view itself (2), the pair at the brightness of its time in a fade (2), padding
#:   (2): 10; a video adds the frames of the gap already made (factor - 1).
#: - ``nlvfi repair``: those 10, and the run's blend pair (2) and flow guesses (2 x 2
#:   channels, counted as 2), each also mirrored (4) and padded (4): 22; plus the run's frames
#:   made so far (up to ``--max-run``).
#:
#: Without them a repair at 3840x2160 planned for a 3 GB budget took 3.3 GB allocated and
#: 4.3 GB reserved on an H200 (results/tools_cuda.md, table 3, before this term).
INTERPOLATE_HELD_FRAMES = 10
REPAIR_HELD_FRAMES = 22


def resident_bytes(height: int, width: int, frames: float) -> int:
    """Bytes of ``frames`` whole float32 RGB frames of height x width: a tool's ``resident``
    for :func:`plan_inference` (:data:`INTERPOLATE_HELD_FRAMES`, :data:`REPAIR_HELD_FRAMES`)."""
    return int(math.ceil(12 * height * width * frames))


def shorter_runs_text(need: int, budget: int, run_frames: tuple[int, int] | None) -> str:
    """", lower --max-run to K" for the longest runs whose held frames would bring ``need`` within
    ``budget`` (``run_frames``: the ``--max-run`` asked for and the bytes of one frame); "" when
    none would, or for a tool without runs."""
    if run_frames is None:
        return ""
    max_run, frame_bytes = run_frames
    fits = [k for k in range(1, max_run) if need - (max_run - k) * frame_bytes <= budget]
    return f", lower --max-run to {max(fits)} (runs longer are left as they are)" if fits else ""


def held_text(resident: int) -> str:
    """The part of a refusal that names the ``resident`` bytes in it ("" for none)."""
    return f", {format_bytes(resident)} of it the frames the tool keeps beside the model" if resident else ""


@dataclass(frozen=True)
class Plan:
    """How frames of one size go through the generator.

    Attributes:
        per_call: most frames in one forward pass.
        tile: tile side in px, or None for whole frames.
        overlap: least overlap of the tiles in px.
        views: mirrored views averaged per frame (``nlvfi.self_ensemble``; 1: none).
        flow_scale: the flow is estimated on frames enlarged this many times
            (:meth:`nlvfi.flow.BidirectionalFlow.forward`; 1: as trained). Whole frames and
            tiles (each tile's flow on that tile enlarged).
        static_motion: pixels moving less than this many px take the plain blend of the two
            frames (:mod:`nlvfi.static_blend`; 0: off). Whole frames and tiles (each tile from
            its own flow).
        fade: a pair whose change is a global fade is brought to the brightness of each time
            before the generator (:mod:`nlvfi.fade`; fitted on the whole frames). Off: the
            frames go in as they are.
        gave_back: the CPU's kept memory was given back to fit the budget (:func:`plan_inference`);
            it does not change the frames, only their speed and memory.
    """

    per_call: int
    tile: int | None = None
    overlap: int = 0
    views: int = 1
    flow_scale: int = 1
    static_motion: float = 0.0
    fade: bool = False
    gave_back: bool = False

    def describe(self) -> str:
        where = "whole frames" if self.tile is None else f"tiles of {self.tile} px ({self.overlap} px overlap)"
        ensemble = "" if self.views == 1 else f", each the mean of {self.views} mirrored views"
        flow = "" if self.flow_scale == 1 else f", flow on {self.flow_scale}x enlarged frames"
        memory = "; the memory each call frees goes back to the system (kept, it would not fit the budget)" if self.gave_back else ""
        return f"{where}, up to {self.per_call} per call{ensemble}{flow}{memory}"

    def frame_settings(self) -> dict:
        """What changes a generated frame (not ``per_call``): the key of kept work (``nlvfi.resume``)."""
        return {
            "views": self.views, "flow_scale": self.flow_scale, "static_motion": self.static_motion,
            "tile": self.tile, "overlap": self.overlap, "fade": self.fade,
        }


def flow_scale_for(height: int, width: int, requested: int | str = "auto", has_prior: bool = True) -> int:
    """The flow scale of a repair or interpolation of height x width frames.

    ``requested`` 1 or 2 is used as given; ``"auto"`` is 2 for frames up to
    :data:`AUTO_FLOW_SCALE_PIXELS` (768 x 576) whose flow starts from a prior (``has_prior``),
    else 1. Why (``benchmarks/repair_quality.py``, exact duplicates, shipped weights, 4 views
    and the flow prior; 1x -> 2x, dB): the bundled clip (vtest at 384x288) 31.30 -> 31.80 (31.46
    -> 31.95 read back by ``videoio.yuv_to_rgb``), vtest's held-out part at 384x288 30.08 ->
    30.44, Megamind (720x528) 35.79 -> 36.10, vtest at 768x576 29.56 -> 29.54, tree (320x240,
    motion of 15-35 px) 20.70 -> 20.40, near-still (256x256) 48.15 -> 48.12. Small frames hold
    small things, which the tiny estimator resolves better enlarged; larger frames were not
    measured and would pay 4x the estimator's time for it. Those repairs start each run's flow
    from the prior (``nlvfi.flow_prior``); from zero flow 2x loses (module doc), so ``"auto"``
    without a prior is 1.
    """
    if requested == "auto":
        return 2 if has_prior and height * width <= AUTO_FLOW_SCALE_PIXELS else 1
    if requested not in (1, 2):
        raise ValueError(f"--flow-scale must be auto, 1 or 2, got {requested!r}")
    return int(requested)


def plan_inference(
    generator: Generator,
    height: int,
    width: int,
    budget: int,
    device: torch.device,
    tile: int | None = None,
    overlap: int | None = None,
    views: int = 1,
    flow_scale: int | str = 1,
    static_motion: float = 0.0,
    fade: bool = False,
    resident: int = 0,
    run_frames: tuple[int, int] | None = None,
) -> Plan:
    """Whole frames or tiles, and frames per call, for height x width frames within ``budget``.

    On the CPU of a process that keeps the memory each call frees (the tools:
    :func:`nlvfi.acceleration.keep_freed_cpu_memory`), the estimates take the kept heap's growth
    (:data:`KEPT_HEAP_FACTOR`): whole frames where they fit so, else the largest tiles that do.
    Only where nothing fits with it are the frames planned as for glibc's allocator as it comes,
    and if that fits, the kept memory is given back for the rest of the process
    (:func:`nlvfi.acceleration.give_back_freed_cpu_memory`, called here, so whoever runs the plan
    runs it as planned; ``Plan.gave_back``): slower, but the frames are made instead of refused.
    Kept tiles come first because they were the faster through the whole tool: ``nlvfi repair``
    of a 12-frame 1920x1080 clip with 2 copies (``--ensemble 1``, random weights, 2 cores) took
    61-62 s in kept tiles of 768 px and 87-98 s in whole frames with the memory given back for
    ``full`` (9 GB), 24-26 s against 44-45 s for ``small`` (5 GB; results/cpu_memory_given_back.md).

    Args:
        tile: None (automatic): whole frames when one fits the budget, else the largest of
            :data:`AUTO_TILES` that fits; on the CPU, unless freed memory is kept, frames of
            :data:`CPU_TILE_FROM_PIXELS` or more in tiles of at most :data:`CPU_TILE` px even where
            whole frames fit (faster there, for the models it names); 0: never tile (whole
            frames); N: tiles of N px (a multiple of the network stride).
        overlap: least overlap of the tiles; None: ``nlvfi.tiling.default_overlap`` of the tile.
        views: self-ensemble views (1, 2 or 4); they run one after the other, so they do not
            change the memory a call needs.
        flow_scale: 1, 2 or "auto" (:func:`flow_scale_for`); static_motion: px, 0 for off
            (:mod:`nlvfi.static_blend`). Both apply to whole frames and to tiles.
            At 2x the estimates take :data:`FLOW_2X_FACTOR`: the 1x estimate covered the enlarged
            flow of the tiny model (peak over the loaded model, 1x / 2x (estimate): 768x576 615 /
            600 MB; 1280x720 1106 / 1273 MB (1427); 1920x1080 2528 / 2842 MB (3235); in tiles of
            512 px 670 / 709 MB (1094)), not that of ``small`` and ``full`` (results/cpu_memory.md).
        fade: take fades out before the generator (``Plan.fade``, :mod:`nlvfi.fade`).
        resident: bytes the caller keeps on the device around every call, besides the
            generator's own working memory: whole frames, flow guesses, mirrored copies, the
            frames already made (:func:`resident_bytes`; a tool's own count). They come off the
            budget before the calls are planned, whole or tiled.
        run_frames: (``--max-run``, bytes of one of its frames), the part of ``resident`` that a
            repair's longest run holds: a refusal then says which shorter ``--max-run`` would fit.
    Raises:
        ValueError for a bad tile/overlap; VideoError when the frames fit neither whole nor tiled.
    """
    check_views(views)
    whole_frame_scale = flow_scale_for(height, width, flow_scale)  # a bad value fails here, also for tiles
    static_motion = check_static_motion(static_motion)
    stride = generator.config.stride
    if tile is not None and tile != 0:
        overlap = default_overlap(tile, stride) if overlap is None else overlap
        try:
            check_tile(tile, overlap, stride)
        except ValueError as error:
            raise ValueError(f"{error} (the {generator.config.name} model)") from None
    held = held_text(resident)
    settings = (generator, height, width, budget, device)
    options = (overlap, views, whole_frame_scale, static_motion, fade, resident, run_frames, held)
    if not (device.type == "cpu" and freed_cpu_memory_kept()):
        return _plan_for_allocator(*settings, tile, *options, kept=False)
    try:  # kept: whole frames, else tiles, with the heap's growth ...
        return _plan_for_allocator(*settings, tile, *options, kept=True)
    except VideoError as error:
        refused_kept = error
    plan = _plan_for_allocator(*settings, tile, *options, kept=False)  # ... else as glibc comes; its refusal is the least need
    if not give_back_freed_cpu_memory():  # the C library refused: nothing fits as the heap is
        raise refused_kept
    return dataclasses.replace(plan, gave_back=True)


def _plan_for_allocator(
    generator: Generator,
    height: int,
    width: int,
    budget: int,
    device: torch.device,
    tile: int | None,
    overlap: int | None,
    views: int,
    whole_frame_scale: int,
    static_motion: float,
    fade: bool,
    resident: int,
    run_frames: tuple[int, int] | None,
    held: str,
    *,
    kept: bool,
) -> Plan:
    """:func:`plan_inference` for one allocator: with the kept heap's allowance (``kept``) or
    without it (glibc's as it comes, or another device)."""
    stride = generator.config.stride

    def tiled_need(side: int) -> int:
        return memory_needed_tiled(generator, height, width, side, device=device, flow_scale=whole_frame_scale, kept=kept)

    cpu_tiles = (  # faster there, unless freed memory is kept (CPU_TILE)
        tile is None and device.type == "cpu" and not kept
        and height * width >= CPU_TILE_FROM_PIXELS.get(generator.config.name, math.inf)
    )  # fmt: skip
    if tile is None or tile == 0:
        one = memory_needed(generator, height, width, 1, device, whole_frame_scale, kept)
        if (one + resident <= budget and not cpu_tiles) or tile == 0:
            return Plan(
                frames_per_call(generator, height, width, budget, device, resident, whole_frame_scale, kept),
                views=views,
                flow_scale=whole_frame_scale,
                static_motion=static_motion,
                fade=fade,
            )
        padded_side = max(math.ceil(height / stride), math.ceil(width / stride)) * stride
        candidates = [
            c for c in AUTO_TILES
            if c % stride == 0 and c < padded_side and (overlap is None or stride <= c - overlap) and (c <= CPU_TILE or not cpu_tiles)
        ]
        for candidate in candidates:
            if tiled_need(candidate) + resident <= budget:
                tile = candidate
                overlap = default_overlap(tile, stride) if overlap is None else overlap
                break
        else:
            smallest = min(candidates, default=None)
            least = tiled_need(smallest) if smallest else one
            also = f" (in tiles of {smallest} px about {format_bytes(least + resident)})" if smallest else ""
            raise VideoError(
                f"a {width}x{height} frame needs about {format_bytes(one + resident)} for the {generator.config.name} model "
                f"on {device.type}{also}{held}, more than the {format_bytes(budget)} budget; use a machine with more memory, "
                f"raise --max-memory-gb{shorter_runs_text(least + resident, budget, run_frames)}, or downscale the video"
            )
    one = tiled_need(tile)
    if one + resident > budget:
        raise VideoError(
            f"a {width}x{height} frame in tiles of {tile} px needs about {format_bytes(one + resident)} for the "
            f"{generator.config.name} model on {device.type}{held}, more than the {format_bytes(budget)} budget; "
            f"use smaller tiles, raise --max-memory-gb{shorter_runs_text(one + resident, budget, run_frames)}, or downscale the video"
        )
    return Plan(
        max(1, (budget - resident) // one), tile, overlap, views, flow_scale=whole_frame_scale, static_motion=static_motion, fade=fade
    )


def forward_frames(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    t: torch.Tensor,
    plan: Plan | None = None,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    fades: Sequence[Fade | None] | None = None,
) -> torch.Tensor:
    """The generator's frames for a batch, whole or in tiles, one view or several, as ``plan`` says.

    Runs in inference mode.

    Args:
        prev, next: (B, 3, H, W); B = 1 with a (T,) ``t`` gives T frames of the one pair.
        t: (B,) or (T,) times.
        initial_flow: optional (forward, backward) flow guesses, (B, 2, H, W) each
            (:mod:`nlvfi.flow_prior`; in tiles, each tile starts from its slice, and
            :func:`nlvfi.tiling.tiled_prior` makes them without a whole-frame pass).
        still_pair: optional frames the static blend takes instead of the pair, (B, 3, H, W)
            each (:func:`nlvfi.static_blend.average_outside_frame`; only with
            ``plan.static_motion`` > 0).
    Returns:
        (B or T, 3, H, W) float in [0, 1].

    With ``plan.fade``, a pair that :func:`nlvfi.fade.fit_fade` finds a fade in goes to the
    generator at the brightness of its time (both frames, and the still pair with them); ``fades``:
    the fits of the B pairs when the caller has them already (:func:`through_fades`).
    """
    tiled = plan is not None and plan.tile is not None
    still = 0.0 if plan is None else plan.static_motion
    if not still:
        still_pair = None  # nothing blends
    if plan is not None and plan.fade:
        prev, next, t, initial_flow, still_pair = through_fades(prev, next, t, initial_flow, still_pair, fades)

    def one_view(
        prev: torch.Tensor,
        next: torch.Tensor,
        flows: tuple[torch.Tensor, torch.Tensor] | None = None,
        still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if tiled:
            return tiled_forward(
                generator, prev, next, t, plan.tile, plan.overlap, plan.static_motion, flows, plan.flow_scale, still_pair
            )
        if prev.shape[0] == 1 and t.numel() > 1:
            prev, next = prev.expand(t.numel(), -1, -1, -1), next.expand(t.numel(), -1, -1, -1)
            if flows is not None:
                flows = tuple(flow.expand(t.numel(), -1, -1, -1) for flow in flows)
            if still_pair is not None:
                still_pair = tuple(frame.expand(t.numel(), -1, -1, -1) for frame in still_pair)
        scale = 1 if plan is None else plan.flow_scale
        options = {} if still_pair is None else {"still_pair": still_pair}  # stand-in models need not take it
        return generator(prev, next, t=t, initial_flow=flows, flow_scale=scale, static_motion=still, **options).frame

    with torch.inference_mode():
        return self_ensemble(one_view, prev, next, 1 if plan is None else plan.views, initial_flow, still_pair)


def through_fades(
    prev: torch.Tensor,
    next: torch.Tensor,
    t: torch.Tensor,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    fades: Sequence[Fade | None] | None = None,
) -> tuple:
    """(prev, next, t, initial_flow, still_pair) with every pair that holds a fade brought to the
    brightness of its time (:meth:`nlvfi.fade.Fade.to_time`); unchanged (the same tensors) when
    none does. A (1, ...) pair with a (T,) ``t`` is fitted once and, if it fades, made T pairs.

    Shapes as :func:`forward_frames`: prev, next (B, 3, H, W); t (B,) or (T,) with B = 1.
    ``fades``: the B pairs' :func:`nlvfi.fade.fit_fade`, when known; fitted here otherwise.
    """
    count = prev.shape[0]
    if fades is None:
        fades = [fit_fade(prev[i : i + 1], next[i : i + 1]) for i in range(count)]
    elif len(fades) != count:
        raise ValueError(f"{len(fades)} fades for {count} pairs")
    fades = list(fades)
    if all(fade is None for fade in fades):
        return prev, next, t, initial_flow, still_pair
    if count == 1 and t.numel() > 1:  # one pair, several times: a pair per time
        fades = fades * t.numel()
        prev, next = prev.expand(t.numel(), -1, -1, -1), next.expand(t.numel(), -1, -1, -1)
        if initial_flow is not None:
            initial_flow = tuple(flow.expand(t.numel(), -1, -1, -1) for flow in initial_flow)
        if still_pair is not None:
            still_pair = tuple(frame.expand(t.numel(), -1, -1, -1) for frame in still_pair)
    t = t.reshape(-1)  # (B,)
    mapped = [prev, next, *(still_pair or ())]
    outputs = [list(frames.unbind(0)) for frames in mapped]  # per tensor, B frames (3, H, W)
    for i, fade in enumerate(fades):
        if fade is None:
            continue
        for pair in range(0, len(mapped), 2):  # (prev, next), then the still pair
            first, second = fade.to_time(mapped[pair][i : i + 1], mapped[pair + 1][i : i + 1], t[i : i + 1])  # (1, 3, H, W)
            outputs[pair][i], outputs[pair + 1][i] = first[0], second[0]
    prev, next, *rest = (torch.stack(frames) for frames in outputs)
    return prev, next, t, initial_flow, (tuple(rest) if still_pair is not None else None)


def frames_per_call(
    generator: Generator,
    height: int,
    width: int,
    budget: int,
    device: torch.device,
    resident: int = 0,
    flow_scale: int = 1,
    kept: bool | None = None,
) -> int:
    """How many whole frames of this size one forward pass may take within ``budget`` less the
    ``resident`` bytes the caller keeps (:func:`plan_inference`); VideoError when not even one fits.

    :func:`plan_inference` falls back to tiles instead (``nlvfi.tiling``, where the non-local
    branch stays exact) unless tiling is turned off.
    """
    one = memory_needed(generator, height, width, 1, device, flow_scale, kept)
    if one + resident > budget:
        raise VideoError(
            f"a {width}x{height} frame needs about {format_bytes(one + resident)} for the {generator.config.name} model "
            f"on {device.type}{held_text(resident)}, more than the {format_bytes(budget)} budget; use a machine with more memory, "
            f"raise --max-memory-gb, or downscale the video"
        )
    return max(1, (budget - resident) // one)


@torch.inference_mode()
def generate(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    times: Sequence[float],
    max_batch: int = 8,
    plan: Plan | None = None,
    initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
    still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    fades: Sequence[Fade | None] | None = None,
) -> torch.Tensor:
    """Frames at every t in ``times`` between ``prev`` and ``next``, in as few calls as fit.

    Args:
        prev, next: (1, 3, H, W) float in [0, 1] on the generator's device.
        times: k values in (0, 1).
        max_batch: most frames per forward pass (see :func:`plan_inference`).
        plan: whole frames (None) or tiles; in tiles, the non-local features of the pair are
            computed once per call.
        initial_flow: optional (forward, backward) flow guesses of the pair, (1, 2, H, W)
            each (:func:`nlvfi.flow_prior.constant_velocity_prior`).
        still_pair: optional frames for the static blend, (1, 3, H, W) each (:func:`forward_frames`).
        fades: ``[fit_fade(prev, next)]`` when the caller has it (used with ``plan.fade``; :func:`forward_frames`).
    Returns:
        (k, 3, H, W) float in [0, 1].
    """
    outputs = []
    for start in range(0, len(times), max_batch):
        chunk = torch.tensor(list(times[start : start + max_batch]), dtype=prev.dtype, device=prev.device)  # (b,)
        outputs.append(forward_frames(generator, prev, next, chunk, plan, initial_flow, still_pair, fades))  # (b, 3, H, W)
    return torch.cat(outputs)  # (k, 3, H, W)


# --------------------------------------------------------------------------------------------
# Image pairs


def _check_image_output(path: Path, inputs: Sequence[Path], probed: set[Path] | None = None) -> None:
    """Refuse an output image that is not an image, is an input, is a folder or cannot be written
    (``videoio.check_writable``; ``probed``: folders already found writable, skipped)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"output {path} must be an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    for source in inputs:
        if same_file(source, path):
            raise ValueError(f"output {path} is the input {source}; choose another file")
    if path.is_dir():
        raise ValueError(f"output {path} is a folder")
    folder = path.parent.resolve()
    if probed is None or folder not in probed:
        check_writable(path)
        if probed is not None:
            probed.add(folder)


def _check_time(t: float) -> float:
    t = float(t)
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise ValueError(f"t must lie in [0, 1], got {t}")
    return t


@dataclass
class PairJob:
    prev: Path
    next: Path
    out: Path
    t: float = 0.5
    line: int = 0


def read_batch_csv(path: str | os.PathLike) -> list[PairJob]:
    """The jobs of a ``prev,next,out[,t]`` CSV, every line checked (module doc)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such batch file: {path}")
    base = path.parent
    jobs: list[PairJob] = []
    outputs: dict[Path, int] = {}  # resolved output -> its line: a second line would overwrite it
    probed: set[Path] = set()  # output folders found writable
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # -sig: drop the BOM Excel writes
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save the CSV as UTF-8") from None
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if [c.lower() for c in cells[:3]] == ["prev", "next", "out"]:
            continue
        if len(cells) not in (3, 4):
            raise ValueError(f"{path}:{number}: expected prev,next,out[,t], got {len(cells)} columns")
        prev, next, out = (base / cell for cell in cells[:3])
        try:
            t = _check_time(cells[3]) if len(cells) == 4 else 0.5
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from None
        for image in (prev, next):
            if not image.is_file():
                raise FileNotFoundError(f"{path}:{number}: no such image: {image}")
        try:
            _check_image_output(out, (prev, next), probed)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from None
        first = outputs.setdefault(out.resolve(), number)  # resolved, as same_file compares
        if first != number:
            raise ValueError(
                f"{path}:{number}: output {out} is also the output of line {first}; "
                "give each line its own output file"
            )
        jobs.append(PairJob(prev, next, out, t, number))
    if not jobs:
        raise ValueError(f"{path} lists no pairs (expected lines prev,next,out[,t])")
    readers: dict[Path, int] = {}  # resolved input -> the first line reading it
    for job in jobs:
        for image in (job.prev, job.next):
            readers.setdefault(image.resolve(), job.line)
    for job in jobs:
        reader = readers.get(job.out.resolve())
        if reader is not None:
            raise ValueError(
                f"{path}:{job.line}: output {job.out} is an input of line {reader}; "
                "an input is never overwritten: choose another output file"
            )
    return jobs


def interpolate_images(
    jobs: Sequence[PairJob],
    generator: Generator,
    max_memory_gb: float | None = None,
    batch_size: int = 4,
    progress: bool = False,
    tile: int | None = None,
    overlap: int | None = None,
    views: int = 1,
    flow_scale: int | str = 1,
    static_motion: float = 0.0,
    fade: bool = True,
) -> list[Path]:
    """Run every job (pairs of one size batched together); return the written paths.

    ``tile``/``overlap``/``views``/``flow_scale``/``static_motion``/``fade``: see :func:`plan_inference`
    (tile None: tiles only where whole frames do not fit the budget).
    """
    device = model_device(generator)
    budget = memory_budget(device, max_memory_gb)
    written = []
    pending: list[tuple[PairJob, torch.Tensor, torch.Tensor, ImageKind, np.ndarray | None]] = []  # job, prev, next, kind, alpha
    plans: dict[tuple[int, int], Plan] = {}

    def flush():
        if not pending:
            return
        prev = torch.cat([p for _, p, _, _, _ in pending]).to(device)  # (b, 3, H, W)
        next = torch.cat([n for _, _, n, _, _ in pending]).to(device)
        times = torch.tensor([job.t for job, _, _, _, _ in pending], device=device)  # (b,)
        frames = forward_frames(generator, prev, next, times, plans[tuple(prev.shape[-2:])])  # (b, 3, H, W)
        for (job, _, _, kind, alpha), frame in zip(pending, frames):
            write_picture(frame.cpu(), job.out, kind, alpha)
            written.append(job.out)
        pending.clear()

    for job in tqdm(jobs, desc="interpolating", unit="pair", disable=not progress):
        before, after = read_picture(job.prev), read_picture(job.next)
        prev, next = before.frame, after.frame  # (1, 3, H, W) each
        if prev.shape != next.shape:
            where = f"line {job.line}: " if job.line else ""
            raise ValueError(
                f"{where}{job.prev.name} is {prev.shape[-1]}x{prev.shape[-2]} but {job.next.name} is "
                f"{next.shape[-1]}x{next.shape[-2]}; the two frames must have the same size"
            )
        height, width = prev.shape[-2:]
        if (height, width) not in plans:
            plans[(height, width)] = plan_inference(
                generator, height, width, budget, device, tile, overlap, views, flow_scale, static_motion, fade,
                resident=resident_bytes(height, width, INTERPOLATE_HELD_FRAMES),
            )
        limit = min(batch_size, plans[(height, width)].per_call)
        if pending and (pending[0][1].shape != prev.shape or len(pending) >= limit):
            flush()
        kind = before.kind.with_(after.kind)  # an OpenEXR pair: .exr only (nlvfi.io), refused before the model runs
        kind.check_output(job.out)
        pending.append((job, prev, next, kind, blend_alpha(before, after, job.t)))
    flush()
    return written


# --------------------------------------------------------------------------------------------
# Video frame-rate up-conversion


def deinterlaced_summary(reader: VideoReader, second_fields: bool, fields: int) -> dict | None:
    """The summary's ``deinterlaced``: how and how many of the frames ``reader`` read were
    deinterlaced, and the ``fields`` written as frames of their own; None where none was."""
    how, frames = reader.deinterlaced
    if how is None:
        return None
    return {**how.to_dict(second_fields), "frames_deinterlaced": frames, "second_fields_written": fields}


def gap_places(factor: int, pictures: Sequence[float]) -> list[tuple[int, float] | None]:
    """Where each new frame of a gap comes from: frame j = 1 .. F-1 at j/F of the gap. None where
    a real picture is at that place (an interlaced frame's second field at 1/2, nlvfi.deinterlace),
    else (side, t): made at t between real pictures ``side`` and ``side + 1``. ``pictures``: the
    places of the gap's real pictures in order, 0 and 1 and any between."""
    places: list[tuple[int, float] | None] = []
    for j in range(1, factor):
        place = j / factor
        if place in pictures:
            places.append(None)
            continue
        side = max(n for n, at in enumerate(pictures) if at < place)
        start, end = pictures[side], pictures[side + 1]
        places.append((side, (place - start) / (end - start)))
    return places


@reads_staged_images
@reads_at_input_rate
def interpolate_video(
    source: str | os.PathLike,
    output: str | os.PathLike,
    generator: Generator,
    factor: int = 2,
    codec: str | None = None,
    crf: int | None = None,
    max_memory_gb: float | None = None,
    progress: bool = True,
    tile: int | None = None,
    overlap: int | None = None,
    views: int = 1,
    flow_scale: int | str = 1,
    static_motion: float = 0.0,
    verify: bool = True,
    resume: bool = True,
    preset: str | None = None,
    fade: bool = True,
    *,
    input_rate: str | Fraction | None = None,
    input_staged: dict | None = None,
    deinterlace: bool = False,
    second_fields: bool = True,
) -> dict:
    """Multiply the frame rate of ``source`` by ``factor``; write ``output`` atomically.

    ``codec``/``crf``/``preset``: the output encoder (``nlvfi.videoio.choose_encoder``).
    ``tile``/``overlap``/``views``/``flow_scale``/``static_motion``/``fade``: see :func:`plan_inference`.
    ``verify``: before the file replaces ``output``, decode it beside the input and check the
    frame count, every time (input frames' and generated frames'), the audio, and that the
    input frames came back bit-identical (lossless output) or their PSNR
    (:func:`nlvfi.verification.verify_output`).
    ``resume``: keep each gap's generated frames in ``OUT.nlvfi-resume/`` as they are made, use
    what an interrupted run with the same input, model and settings kept there, and delete the
    folder at the end (``nlvfi.resume``); False: neither.
    ``input_rate``: the frame rate of an input without timing of its own (numbered images, a raw
    Motion JPEG stream), read at that rate (``nlvfi.input_rate``); one that has its own is refused.
    ``input_staged``: set by :func:`nlvfi.staged_images.reads_staged_images` where ``source`` is the
    OpenEXR staging of numbered images FFmpeg misreads; the summary says what was staged.
    ``deinterlace``: interlaced input is deinterlaced as it is read (nlvfi.deinterlace: bwdif,
    one progressive frame per frame) and written progressive; False: refused. ``second_fields``:
    deinterlacing, each frame's second field, taken half a frame later, is the frame half-way
    (x2), and the frames at 1/4 and 3/4 (x4) are made between it and the frames on either side
    (:func:`gap_places`); False: every new frame generated from the frames, as for progressive
    video (the benchmark's comparison, ``benchmarks/interlaced_repair.py``).

    Returns a summary dict (frames in/out, encoder, verification, resume, timings). Raises
    FileNotFoundError, VideoError (not a video, 0/1 frame, corrupt, frame too large, a failed
    verification), ValueError.
    """
    source, output = Path(source), Path(output)
    if factor not in (2, 4):
        raise ValueError(f"--factor must be 2 or 4, got {factor}")
    if not source.exists() and not is_image_pattern(source):
        raise FileNotFoundError(f"no such video: {source}")
    if same_file(source, output):
        raise ValueError(f"output {output} is the input; choose another file (the input is never overwritten)")
    check_writable(output)
    images = output
    sequence, output, codec = sequence_output(output, source, codec, crf, preset)  # numbered PNG images: a lossless video first
    if sequence is not None and input_staged is not None and "pfm_scale" in input_staged:  # PFM in, PFM out: the same unit
        sequence = replace(sequence, pfm_scale=input_staged["pfm_scale"])
    gif, output, codec = gif_output(output, source, codec, crf, preset, factor)  # a GIF: a lossless video first, then the GIF
    webp, output, codec = webp_output(output, source, codec, crf, preset, factor, input_staged)  # an animated WebP: the same
    apng, output, codec = apng_output(output, source, codec, crf, preset, factor)  # an animated PNG: the same
    container = container_for(output)
    device = model_device(generator)
    started = time.perf_counter()
    summary: dict = {}
    header = probe(source)  # frames too large for memory are refused before anything is decoded
    check_progressive(header, deinterlace)  # interlaced input: refused unless deinterlace
    rate = header.rate * factor if header.rate else None
    check_avi_start(container, header.path)  # before the encoder's trial, which counts AVI's slots from 0 (MPEG-2: "30000/7 fps")
    check_encoder(header, container, codec, crf, preset, header.time_base / factor, rate)  # an encoder that does not open: now
    plan = plan_inference(
        generator, header.height, header.width, memory_budget(device, max_memory_gb), device, tile, overlap, views,
        flow_scale, static_motion, fade, resident=resident_bytes(header.height, header.width, INTERPOLATE_HELD_FRAMES + factor - 1),
    )
    settings = {**plan.frame_settings(), "factor": factor, "deinterlace": {"second_fields": second_fields} if deinterlace else None}
    store = ResumeStore.beside(output, source, generator, settings, "gap") if resume else None

    def frames_identity(count: int) -> dict:
        """How the first ``count`` output frames are made (nlvfi.kept_encoding): by the gaps of
        the same input, model and settings (the store's key), nothing else."""
        return {"frames": count}

    def write(tmp: str) -> None:
        resumed_before = store.resumed_runs if store is not None else 0
        try:
            attempt(tmp, reuse=True)
        except KeptEncodingMismatch as mismatch:  # found at the first packets: encode every frame again
            store.encoding_note = f"the kept encoded frames were not used: {mismatch}"
            store.resumed_runs = resumed_before
            attempt(tmp, reuse=False)

    def attempt(tmp: str, reuse: bool) -> None:
        """Write the up-converted video to ``tmp``; ``reuse``: start from the encoded frames an
        interrupted run kept, if they fit (nlvfi.kept_encoding)."""
        log: PacketLog | None = None
        with VideoReader(source, deinterlace=deinterlace, fields=second_fields) as reader:
            info = reader.info
            writer = VideoWriter(
                tmp, container, info, codec, crf, audio_from=reader.container,
                time_base=info.time_base / factor, rate=info.rate * factor if info.rate else None, preset=preset,
            )
            traits = info.traits
            written_pts.clear()
            previous = None  # (DecodedFrame, (1, 3, H, W) tensor, alpha)
            generated = 0
            fields_written = 0  # frames that are an input frame's second field (nlvfi.deinterlace)
            captioned = 0  # input frames carrying closed captions (nlvfi.captions)
            try:
                log = store.log_encoding(writer, frames_identity, reuse) if store is not None else None
                bar = tqdm(total=info.announced_frames or None, desc="up-converting", unit="frame", disable=not progress)
                for item in reader.items(copied=True):
                    if isinstance(item, CopiedPacket):
                        writer.mux_copied(item)
                        continue
                    if not deinterlace and item.frame.interlaced_frame:  # the header and first frame said progressive
                        raise interlaced_frame_error(source, item.index)
                    rgb = frame_to_rgb(item.frame, traits)  # (H, W, 3)
                    current = (item, rgb, frame_alpha(item.frame, traits))
                    if previous is not None:
                        if current[1].shape != previous[1].shape:
                            raise VideoError(f"{source}: the frame size changes at frame {item.index}")
                        second = previous[0].second_field  # the picture half a gap on (nlvfi.deinterlace), or None
                        places = gap_places(factor, [0.0, 1.0] if second is None else [0.0, 0.5, 1.0])
                        count = sum(place is not None for place in places)  # frames to make (x2 with a field: none)
                        pictures = [previous[1:]]  # the real pictures of the gap, in order: ((H, W, 3), alpha)
                        if second is not None:  # in RGB only where frames are made beside it
                            pictures.append((frame_to_rgb(second, traits), frame_alpha(second, traits)) if count else (None, None))
                        pictures.append(current[1:])
                        identity = {"gap": item.index, "pts": [previous[0].pts, item.pts], "fields": second is not None}
                        shape = (count, *rgb.shape)  # (F-1, H, W, 3), less a field's frame
                        kept = store.load_run(item.index, identity, shape, rgb.dtype) if store is not None and count else None
                        if kept is not None:
                            made = list(kept[0])
                        else:
                            made = []
                            for side in range(len(pictures) - 1):  # the frames between two real pictures
                                local = [place[1] for place in places if place is not None and place[0] == side]
                                if local:
                                    pair = [rgb_to_tensor(x[0]).to(device) for x in pictures[side : side + 2]]  # (1, 3, H, W) each
                                    frames = generate(generator, *pair, local, plan.per_call, plan)  # (k, 3, H, W)
                                    made += [tensor_to_rgb(frame, rgb.dtype) for frame in frames]  # (H, W, 3) each
                            if store is not None and made:  # kept at once: an interrupt from here on loses none of it
                                store.save_run(item.index, np.stack(made), identity, {})
                        step = item.pts - previous[0].pts
                        made_in_order = iter(made)  # by side, then time: the order of j
                        for j, place in enumerate(places, start=1):
                            written_pts.append(previous[0].pts * factor + j * step)
                            if place is None:  # the second field's own frame, half a gap on
                                writer.write(second, written_pts[-1])
                                fields_written += 1
                                continue
                            side, t = place
                            alpha = None
                            if previous[2] is not None:
                                (_, left), (_, right) = pictures[side : side + 2]
                                alpha = np.round((1 - t) * left + t * right).astype(previous[2].dtype)
                            writer.write(writer.frame_from_rgb(next(made_in_order), alpha), written_pts[-1])
                            generated += 1
                    written_pts.append(item.pts * factor)
                    captioned += closed_captions(item.frame) is not None
                    writer.write(item.frame, written_pts[-1])
                    previous = current
                    bar.update(1)
                bar.close()
                reader.check_complete()
                if reader.count < 2:
                    raise VideoError(
                        f"{source} has {reader.count} frame{'s' if reader.count != 1 else ''}; "
                        "interpolation needs at least 2"
                    )
                writer.close()
            except BaseException as error:
                try:
                    close_log(log, writer, error, frames_identity)
                finally:  # a second Ctrl-C while the log is sealed
                    writer.abort()
                raise
        try:
            check(tmp, reader, writer, info, generated, captioned, fields_written)
        except BaseException as error:  # an interrupt while checking keeps every frame encoded
            close_log(log, writer, error, frames_identity)
            raise
        close_log(log, writer, None, frames_identity)

    def check(tmp: str, reader: VideoReader, writer: VideoWriter, info, generated: int, captioned: int, fields: int) -> None:
        """The summary of the written file, and its verification (``verify``); ``captioned``:
        input frames carrying closed captions; ``fields``: frames that are an interlaced input
        frame's second field (nlvfi.deinterlace)."""
        summary.update(
            frames_in=reader.count,
            frames_out=writer.frames_written,
            frames_reused=writer.frames_reused,
            generated=generated,
            encoder=writer.choice.describe(),
            encoder_reason=writer.choice.reason,
            encoder_notes=[  # how an image sequence's intermediate video holds floats is no concern of its images
                note for note in encoder_notes(info.pix_fmt, writer.choice.pix_fmt, writer.choice.codec, writer.choice.narrowed)
                if not (sequence and note == float_note(info.pix_fmt, writer.choice.pix_fmt, writer.choice.codec))
            ],
            audio_streams=len(writer.audio),
            subtitle_streams=len(writer.subtitles),
            subtitle_conversions=writer.conversions,
            attachments=writer.attachments,
            pictures_copied=writer.pictures_copied,
            streams_not_copied=writer.streams_left + info.streams_not_copied,
            **writer.read_back(),  # colour, metadata, display, pixel_aspect
            closed_captions=writer.captions_outcome(captioned),
            input=info.describe(input_staged["described"] if input_staged is not None else None),
            frame_rate_assumed=assumed_rate_text(source, info.codec, info.rate) if info.rate_assumed else None,
            frame_rate_given=given_rate_text(info.rate) if info.rate_given else None,
            alpha_not_decoded=ALPHA_NOT_DECODED_TEXT if info.alpha_not_decoded else None,
            plan=plan.describe(),
            deinterlaced=deinterlaced_summary(reader, second_fields, fields),
        )
        if verify:
            result = verify_output(
                source, Path(tmp), info.traits, writer.choice.lossless, reader.count, factor=factor, progress=progress,
                muxer=container, subtitles=writer.subtitle_positions, attachments=bool(writer.attachments),
                converted_subtitles=writer.converted_positions, pictures=[picture.sha1 for picture in writer.pictures],
                captions=writer.carries_captions, deinterlace=deinterlace,
            )
            summary["verify_s"] = result.pop("seconds")
            summary["verification"] = result

    written_pts: list[int] = []  # of every frame written, in the output's time base
    with kept_if_interrupted(store):
        atomic_write(output, write)
        if summary.get("icc_profile") is None and (profile := staged_icc_profile(input_staged)) is not None:  # a WebP's, not in its staging
            summary.update(icc_profile=profile_summary(profile), icc_profile_bytes=profile)
        if sequence is not None:
            sequence = replace(sequence, icc_profile=summary.get("icc_profile_bytes"))  # the input's colours, in every PNG
            staging, exported = stage_images(output, sequence, progress)
            try:
                move_into_place(staging, sequence, exported["files"])
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                output.unlink(missing_ok=True)  # the intermediate video
            tick = float(header.time_base / factor)
            summary["image_sequence"] = {
                "pattern": str(images), "first_file": str(sequence.folder / sequence.name(0)), **exported,
                **not_held(summary["audio_streams"], summary["subtitle_streams"], bool(summary["attachments"] or summary["pictures_copied"]),
                           [(pts - written_pts[0]) * tick for pts in written_pts], tick,
                           (summary.get("closed_captions") or {}).get("input_frames", 0)),
            }  # fmt: skip
        new_frames = {index for index in range(summary.get("frames_out", 0)) if index % factor}  # all but every factor-th (the input's)
        animations = (  # (its summary key, its target, the intermediate written as it)
            ("gif", gif, lambda: stage_gif(output, gif, new_frames, progress)),
            ("webp", webp, lambda: stage_webp(output, webp, progress)),
            ("apng", apng, lambda: stage_apng(output, apng, progress=progress, generated=frozenset(new_frames))),
        )
        for key, target, stage in animations:
            if target is None:
                continue
            staging = None
            try:
                staging, summary[key] = stage()
                os.replace(staging, target.path)
            finally:
                if staging is not None:
                    staging.unlink(missing_ok=True)
                output.unlink(missing_ok=True)  # the intermediate video
    summary.pop("icc_profile_bytes", None)
    summary["icc_profile"] = profile_outcome(summary.get("icc_profile"), *profile_place(summary, str(images), summary.pop("icc_profile_written", None)))
    summary["resume"] = (
        {
            **store.outcome(), "gaps_reused": store.resumed_runs, "gaps_not_kept": store.not_kept,
            "encoded_frames_reused": summary.get("frames_reused", 0), "encoded_frames_note": store.encoding_note,
        }  # fmt: skip
        if store is not None
        else "off (--no-resume)"
    )
    if input_staged is not None:
        summary["input_staged"] = input_staged
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


# --------------------------------------------------------------------------------------------
# The command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlvfi interpolate",
        description="Make in-between frames with the trained generator: an image pair, a CSV of pairs, or a whole video.",
        epilog=(
            "examples:  nlvfi interpolate a.png b.png -o mid.png --t 0.5   |   nlvfi interpolate --batch pairs.csv   |   "
            "nlvfi interpolate clip.mkv -o clip_x2.mkv --factor 2"
        ),
    )
    parser.add_argument("inputs", nargs="*", help="PREV NEXT images, or one video")
    parser.add_argument("-o", "--output", help="output image (pair) or video (--factor; a .gif for GIF input, a .webp for animated WebP input, a .png or .apng for animated PNG input; or numbered PNG images as frames/%%04d.png)")
    parser.add_argument("--t", type=float, default=0.5, help="time of the output between PREV (0) and NEXT (1); default 0.5")
    parser.add_argument("--batch", help="CSV of prev,next,out[,t] lines (paths relative to the CSV)")
    parser.add_argument("--batch-size", type=int, default=4, help="pairs per forward pass in --batch mode (default 4)")
    parser.add_argument(
        "--skip-existing", action="store_true",
        help="--batch: skip lines whose output file exists (each is written atomically, so an interrupted run's are whole)",
    )
    parser.add_argument("--factor", type=int, choices=(2, 4), default=None, help="video: multiply the frame rate by 2 or 4")
    parser.add_argument("--checkpoint", help=f"generator .safetensors (default {DEFAULT_CHECKPOINT.relative_to(DEFAULT_CHECKPOINT.parents[1])})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    add_encoder_arguments(parser, "video: ")
    parser.add_argument("--max-memory-gb", type=float, default=None, help="memory the model may use (default 80%% of free)")
    add_speed_arguments(parser)
    add_ensemble_argument(parser, default=1)
    add_refinement_arguments(parser, flow_scale=1, static_motion=0.0)
    add_input_rate_argument(parser, "video: ")
    add_deinterlace_argument(parser)
    parser.add_argument("--no-verify", action="store_true", help="video: skip decoding the result to check it")
    parser.add_argument(
        "--no-resume", action="store_true",
        help="video: neither use nor keep OUT.nlvfi-resume/ (by default an interrupted run keeps the frames it generated "
        "there, and the same command run again goes on from them)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def verification_text(verification: dict | None) -> str:
    """One clause on what the check of a written video found (:func:`nlvfi.verification.verify_output`)."""
    if verification is None:
        return "not verified (--no-verify)"
    text = (
        f"verified: {verification['frames']} frames at their times (within {verification['max_timestamp_error_s'] * 1000:.3f} ms), "
        f"{verification['audio_streams_identical']} audio stream(s) unchanged"
        + (f", {verification['subtitle_streams_identical']} subtitle stream(s) unchanged" if verification.get("subtitle_streams_identical") else "")
        + (f", {verification['subtitle_streams_converted']} converted line for line" if verification.get("subtitle_streams_converted") else "")
    )
    if verification["timestamp_offset_s"]:
        text += f", every stream moved by {verification['timestamp_offset_s'] * 1000:+.1f} ms by the muxer"
    if "untouched_frames_bit_identical" in verification:
        return text + f", the {verification['untouched_frames_bit_identical']} input frames bit-identical"
    psnr = verification["untouched_frames_psnr_db"]
    return text + f", the input frames at {psnr['min']} dB minimum / {psnr['mean']} dB mean PSNR"


def add_encoder_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """--codec, --crf and --preset (``nlvfi.videoio.choose_encoder``), shared with ``nlvfi repair``;
    ``prefix`` starts each help (``"video: "`` here, where the images take none of them)."""
    parser.add_argument(
        "--codec", help=f"{prefix}output encoder (default: lossless FFV1 for lossless input, else libx264, libx265 for "
        "10-bit input; in .avi mpeg4 or mjpeg, in .webm libvpx-vp9)",
    )
    parser.add_argument(
        "--crf", type=int, default=None,
        help=f"{prefix}quality of crf-based encoders: libx264 / libx265 0-51 (default {DEFAULT_CRF}), libvpx-vp9 0-63 "
        "(default 10); refused where it would not be used",
    )
    parser.add_argument(
        "--preset", default=None, choices=X264_PRESETS, metavar="PRESET",
        help=f"{prefix}x264's / x265's speed, {X264_PRESETS[0]} to {X264_PRESETS[-1]} (default {DEFAULT_PRESET}): "
        "faster encodes bigger files at the same crf; refused for other encoders",
    )


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """--tile, --overlap and --compile, shared with ``nlvfi repair``."""
    parser.add_argument(
        "--tile", type=int, default=None, metavar="SIZE",
        help="run frames as overlapping SIZE x SIZE tiles (a multiple of the model's stride); "
        "default: frames too large for the memory budget (whole frames are the faster where they fit, on the CPU too: "
        "results/cpu_tiles.md); 0: never",
    )
    parser.add_argument(
        "--overlap", type=int, default=None, metavar="PX",
        help=f"least overlap of the tiles (default {DEFAULT_OVERLAP} px, at most half the tile)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator (slow first call; falls back with a warning)")


def add_ensemble_argument(parser: argparse.ArgumentParser, default: int) -> None:
    """--ensemble (self-ensemble views), shared with ``nlvfi repair`` (which defaults to 4)."""
    parser.add_argument(
        "--ensemble", type=int, choices=ALLOWED_VIEWS, default=default, metavar="N",
        help=f"average each frame over N mirrored views, {'/'.join(map(str, ALLOWED_VIEWS))} "
        f"(nlvfi.self_ensemble: better frames, N times the model time); default {default}",
    )


def parse_flow_scale(text: str) -> int | str:
    """--flow-scale as given: 1 or 2 as numbers, anything else as text (``"auto"``; a bad value
    is refused by :func:`flow_scale_for` with a one-line error, before any decoding)."""
    return int(text) if text in ("1", "2") else text


def add_refinement_arguments(parser: argparse.ArgumentParser, flow_scale: int | str, static_motion: float) -> None:
    """--flow-scale and --static-motion, shared with ``nlvfi repair`` (which defaults to auto and
    0.5, the settings its benchmark measured; here the defaults are the generator as trained)."""
    parser.add_argument(
        "--flow-scale", type=parse_flow_scale, default=flow_scale, metavar="auto|1|2",
        help="estimate the flow on frames enlarged this many times; auto: 2 up to 768x576, 1 above "
        f"(nlvfi.interpolate.flow_scale_for); default {flow_scale}",
    )
    parser.add_argument(
        "--static-motion", type=float, default=static_motion, metavar="PX",
        help=f"pixels moving less than PX take the plain blend of the two frames (nlvfi.static_blend; 0: off); default {static_motion:g}",
    )
    parser.add_argument(
        "--no-fade", action="store_true",
        help="do not compensate fades (by default a pair whose change is a global fade is brought to the brightness "
        "of the new frame's time before the model; nlvfi.fade)",
    )


def check_speed_arguments(args: argparse.Namespace) -> None:
    """Clear errors for --tile/--overlap before anything is loaded (the stride check comes with the model)."""
    if args.tile is not None and args.tile < 0:
        raise ValueError(f"--tile must be a size in px, or 0 for no tiles; got {args.tile}")
    if args.overlap is not None and args.overlap < 0:
        raise ValueError(f"--overlap must be >= 0, got {args.overlap}")
    if args.tile and args.overlap is not None and args.overlap >= args.tile:
        raise ValueError(f"--overlap ({args.overlap}) must be smaller than --tile ({args.tile})")


def load_for_run(args: argparse.Namespace) -> tuple[Generator, str]:
    """The model of ``--checkpoint``/``--device``, compiled if ``--compile``; on CUDA the
    allocator's expandable segments first (:func:`nlvfi.acceleration.expandable_cuda_segments`),
    on the CPU freed memory kept for the next call (:func:`nlvfi.acceleration.keep_freed_cpu_memory`)."""
    expandable_cuda_segments(args.device)
    keep_freed_cpu_memory(args.device)
    generator, checkpoint = load_model(args.checkpoint, args.device)
    return compile_generator(generator, args.compile), checkpoint


def run(args: argparse.Namespace) -> int:
    check_speed_arguments(args)
    video_only = {"--no-verify": args.no_verify, "--no-resume": args.no_resume, "--codec": args.codec is not None,
                  "--crf": args.crf is not None, "--preset": args.preset is not None,
                  "--input-rate": args.input_rate is not None}  # fmt: skip
    for flag, given in video_only.items():
        if given and len(args.inputs) != 1:
            raise ValueError(f"{flag} is for a video (VIDEO -o OUT)")
    if args.skip_existing and not args.batch:
        raise ValueError("--skip-existing is for --batch pairs.csv")
    if args.batch:
        if args.inputs or args.output:
            raise ValueError("--batch takes no other inputs and no -o (the CSV names the outputs)")
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
        jobs = read_batch_csv(args.batch)
        todo = [job for job in jobs if not (args.skip_existing and job.out.exists())]
        skipped = f" ({len(jobs) - len(todo)} skipped: their output exists)" if args.skip_existing else ""
        if not todo:
            print(f"wrote 0 frames from {args.batch}{skipped}")
            return 0
        generator, checkpoint = load_for_run(args)
        started = time.perf_counter()
        try:
            written = interpolate_images(
                todo, generator, args.max_memory_gb, args.batch_size, progress=not args.quiet, tile=args.tile,
                overlap=args.overlap, views=args.ensemble, flow_scale=args.flow_scale, static_motion=args.static_motion,
                fade=not args.no_fade,
            )
        except KeyboardInterrupt as interrupt:
            interrupt.resume_note = "the frames written so far are whole; add --skip-existing to go on from them"
            raise
        print(f"wrote {len(written)} frames from {args.batch}{skipped} with {checkpoint} in {time.perf_counter() - started:.1f} s")
        return 0
    if len(args.inputs) == 2:
        if args.factor is not None:
            raise ValueError("--factor is for a video; with two images use --t")
        if not args.output:
            raise ValueError("missing -o OUT.png")
        prev, next, out = Path(args.inputs[0]), Path(args.inputs[1]), Path(args.output)
        for image in (prev, next):
            if not image.is_file():
                raise FileNotFoundError(f"no such image: {image}")
        _check_image_output(out, (prev, next))
        job = PairJob(prev, next, out, _check_time(args.t))
        generator, checkpoint = load_for_run(args)
        interpolate_images(
            [job], generator, args.max_memory_gb, tile=args.tile, overlap=args.overlap, views=args.ensemble,
            flow_scale=args.flow_scale, static_motion=args.static_motion, fade=not args.no_fade,
        )
        print(f"wrote {out} (t = {job.t:g}) with {checkpoint}")
        return 0
    if len(args.inputs) == 1:
        if not args.output:
            raise ValueError("missing -o OUT_VIDEO")
        source = Path(args.inputs[0])
        if source.suffix.lower() in IMAGE_SUFFIXES and not is_image_pattern(source) and not is_animated_webp(source) and not is_apng(source):
            raise ValueError(f"{source} is an image; give two images (PREV NEXT) or one video")
        if not source.exists() and not is_image_pattern(source):
            raise FileNotFoundError(f"no such video: {source}")
        if same_file(source, args.output):
            raise ValueError(f"output {args.output} is the input; choose another file (the input is never overwritten)")
        if staging_reason(source) is None:  # images FFmpeg misreads are checked once staged (nlvfi.staged_images)
            intermediate = sequence_output(Path(args.output), source, args.codec, args.crf, args.preset)[1]
            intermediate = webp_output(intermediate, source, args.codec, args.crf, args.preset, args.factor or 2)[1]
            intermediate = apng_output(intermediate, source, args.codec, args.crf, args.preset, args.factor or 2)[1]
            container_for(gif_output(intermediate, source, args.codec, args.crf, args.preset, args.factor or 2)[1])  # before the model loads
        with declared_input_rate(source, args.input_rate):  # an input with timing of its own is refused before it loads too
            generator, checkpoint = load_for_run(args)
            summary = interpolate_video(
                source, args.output, generator, args.factor or 2, args.codec, args.crf, args.max_memory_gb,
                progress=not args.quiet, tile=args.tile, overlap=args.overlap, views=args.ensemble,
                flow_scale=args.flow_scale, static_motion=args.static_motion, verify=not args.no_verify,
                resume=not args.no_resume, preset=args.preset, fade=not args.no_fade, input_rate=args.input_rate,
                deinterlace=args.deinterlace,
            )
        resume = summary["resume"]
        resumed = ""
        if isinstance(resume, dict) and (resume["gaps_reused"] or resume["encoded_frames_reused"]):
            encoded = resume["encoded_frames_reused"]
            resumed = (
                f"resumed an interrupted run: {resume['gaps_reused']} gap(s) read back from {resume['folder']}{taken_over_text(resume)}"
                + (f", the first {encoded} frames not encoded again" if encoded else "")
                + "; "
            )
        if isinstance(resume, dict) and resume["encoded_frames_note"]:
            resumed += f"{resume['encoded_frames_note']}; "
        if summary.get("input_staged"):
            staged = staging_text(summary["input_staged"])
            resumed += f"{staged[0].lower()}{staged[1:-1]}; "
        print(
            f"wrote {args.output}: {summary['frames_in']} frames -> {summary['frames_out']} "
            f"({summary['generated']} generated, x{args.factor or 2} frame rate) with {checkpoint} ({summary['plan']}); "
            f"{summary['encoder']}; "
            + "".join(f"{note[0].lower()}{note[1:]}; " for note in summary.get("encoder_notes", []))
            + f"{summary['audio_streams']} audio stream(s) copied; "
            + (f"{summary['subtitle_streams']} subtitle stream(s) copied; " if summary["subtitle_streams"] else "")
            + (f"converted {', '.join(summary['subtitle_conversions'])}; " if summary["subtitle_conversions"] else "")
            + (f"cover art copied ({', '.join(summary['pictures_copied'])}); " if summary["pictures_copied"] else "")
            + (f"not copied: {', '.join(summary['streams_not_copied'])}; " if summary["streams_not_copied"] else "")
            + (f"colour tags not kept: {summary['colour']['lost']}; " if summary["colour"].get("lost") and not summary.get("image_sequence") else "")
            + (f"rotation not kept: {summary['display']['lost']}; " if (summary.get("display") or {}).get("lost") else "")
            + (f"f{summary['frame_rate_assumed'][1:]}; " if summary.get("frame_rate_assumed") else "")
            + (f"f{summary['frame_rate_given'][1:]}; " if summary.get("frame_rate_given") else "")
            + (f"t{summary['alpha_not_decoded'][1:]}; " if summary.get("alpha_not_decoded") else "")
            + (f"closed captions not kept: {summary['closed_captions']['lost']}; "
               if (summary.get("closed_captions") or {}).get("lost") and not summary.get("image_sequence") else "")
            + (f"picture shape not kept: {summary['pixel_aspect']['lost']}; " if (summary.get("pixel_aspect") or {}).get("lost") else "")
            + (f"tags not kept: {', '.join(summary['metadata']['not_kept'])}; " if summary["metadata"]["not_kept"] else "")
            + f"{verification_text(summary.get('verification'))}; {resumed}{summary['seconds']} s"
            + sequence_text(summary.get("image_sequence"))
            + (f". {gif_text(summary['gif'], 'input')[:-1]}, through the lossless video above, then deleted" if summary.get("gif") else "")
            + (f". {webp_text(summary['webp'], 'input')[:-1]}; through the lossless video above, then deleted" if summary.get("webp") else "")
            + (f". {apng_text(summary['apng'], 'input')[:-1]}; through the lossless video above, then deleted" if summary.get("apng") else "")
            + (f". {profile_text(summary['icc_profile'])[:-1]}" if summary.get("icc_profile") else "")
            + (f". {deinterlaced_text(summary['deinterlaced'])[:-1]}" if summary.get("deinterlaced") else "")
        )
        return 0
    raise ValueError("give PREV NEXT -o OUT, or --batch pairs.csv, or VIDEO -o OUT --factor 2|4")


def sequence_text(sequence: dict | None) -> str:
    """The sentence on an image-sequence output (``nlvfi.image_sequence``), or ""."""
    if not sequence:
        return ""
    images, fmt = images_text(sequence)
    return (
        f". Written as {sequence['files']} {images} from {sequence['first_file']} ({fmt}), each read back "
        "identical to its frame, through the lossless video above, then deleted"
        + (f"; not in the images (an image sequence holds pictures only): {', '.join(sequence['not_held'])}" if sequence["not_held"] else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``nlvfi interpolate ...``: 0 on success; on bad input a one-line error and 2."""
    from .cli import guarded_main

    return guarded_main("interpolate", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
