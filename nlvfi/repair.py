"""Repairing stuttering video: the ``nlvfi repair`` command and its library API.

Method: METHOD.md §4 (¶0214–0239): find duplicated frames (step 1, ``nlvfi.duplicates``), take
the frames around each (step 2), generate the missing frames with the trained model (step 3,
``nlvfi.interpolate.generate``), put them in place and re-encode at the original timing
(step 4, ``nlvfi.videoio``). What the publication leaves open is settled as §4's last paragraph
asks: a run of k duplicates becomes k frames at t = i/(k+1) between the last good frame and the
next distinct one (computed from the timestamps, which gives exactly i/(k+1) at a constant
frame rate and the right times at a variable one), all k in one generator call; runs that touch
the first or last frame, that a scene cut follows, or longer than ``max_run`` are reported and
left; any frame size works (the generator pads); audio and every timestamp are kept. In a fade,
the pair is brought to the brightness of each new frame's time before the generator
(``nlvfi.fade``; ``--no-fade``); a cut is never interpolated across. Each
repaired frame is by default the mean of the generator on 4 mirrored views of its pair
(``--ensemble``, ``nlvfi.self_ensemble``): only the duplicates go through the model, so the
4x model time buys better frames at a small share of the whole run.
Notebook: notebooks/10_video_repair.ipynb

    nlvfi repair IN -o OUT [--threshold T|auto] [--report report.json] [--figure fig.png]
                 [--checkpoint C] [--device D] [--codec C] [--crf N] [--preset P] [--max-run K]
                 [--max-memory-gb G] [--batch-size N] [--tile SIZE] [--overlap PX] [--compile]
                 [--ensemble 1|2|4] [--no-flow-prior] [--flow-scale auto|1|2] [--static-motion PX]
                 [--no-outside-average] [--no-fade] [--no-verify] [--no-resume] [--quiet]
    nlvfi repair IN --detect-only [--report report.json] [--figure fig.png]

Two passes over the input, each streaming (a few frames in memory): the first decodes every
frame to measure the adjacent differences (and finds a truncated or corrupt file before anything
is written); the second decodes again, keeps the frame before a run and the one after it, writes
every frame to a temporary file in the output's folder, and copies the audio packets (and the
subtitle packets the output container holds; the report names what it does not copy); the
frames of several runs go through the generator together (``--batch-size`` frames per call),
the frames and audio (and subtitle) packets between them held back until their turn (at most
``max(8, 2 x batch size)`` video frames), so the output is written in order. Frames too large
for the memory budget run in tiles (``--tile``, see ``nlvfi.interpolate``), the flow prior
measured tile by tile too (``nlvfi.tiling.tiled_prior``). A third
pass (``verify``, on by default; ``nlvfi.verification``) decodes input and output side by side and checks the frame
count, every timestamp, the audio and subtitle packets (their bytes, and their times against
the video's, within half a tick) and — for a lossless output — that every frame not replaced is
bit-identical; only then is the temporary file renamed onto OUT. Where a container cannot store
a time as it is (Matroska given video that starts before 0, NUT given audio that does;
``nlvfi.videoio.VideoWriter``), its muxer moves every stream alike: the report gives the shift
(``timestamp_offset_s``). Any error leaves nothing at OUT (and never touches the input).
A video with no run to replace (none found, or every run left) is not re-encoded: OUT is the
input copied byte for byte, checked by its SHA-256, when it has the input's extension and no
``--codec``, ``--crf`` or ``--preset`` asks for an encoding (:func:`copies_the_input`).
Interrupted (Ctrl-C, SIGTERM), a run keeps what it measured, generated and encoded in
``OUT.nlvfi-resume/``, and the same command run again goes on from there (``nlvfi.resume``,
``nlvfi.kept_encoding``; ``--no-resume``: neither). ``-o frames/%04d.png`` writes numbered PNG
images instead, through a lossless video that is verified as above (``nlvfi.image_sequence``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .acceleration import expandable_cuda_segments, keep_freed_cpu_memory
from .checkpoint import atomic_write, copy_checked
from .animated_webp import staged_icc_profile
from .icc import profile_outcome, profile_place, profile_summary, profile_text
from .colour import colour_outcome
from .deinterlace import add_deinterlace_argument, deinterlaced_text
from .duplicates import DEFAULT_MAX_RUN, Detection, Run, detect_duplicates, pair_differences
from .fade import fit_fade, match_brightness
from .flow_prior import constant_velocity_prior, interval_scales
from .generator import Generator
from .input_rate import add_input_rate_argument, declared_input_rate, given_rate_text, reads_at_input_rate
from .staged_images import reads_staged_images, staged_input, staging_text
from .gif_output import copy_gif, gif_output, gif_text, stage_gif
from .webp_output import copy_webp, stage_webp, webp_output, webp_text
from .apng_output import apng_output, apng_text, copy_apng, stage_apng
from .image_sequence import SequenceTarget, images_text, move_into_place, not_held, sequence_output, stage_images
from .interpolate import (
    DEFAULT_CHECKPOINT,
    REPAIR_HELD_FRAMES,
    add_encoder_arguments,
    add_ensemble_argument,
    add_refinement_arguments,
    add_speed_arguments,
    check_speed_arguments,
    compile_generator,
    flow_scale_for,
    forward_frames,
    generate,
    load_model,
    memory_budget,
    model_device,
    plan_inference,
    resident_bytes,
)
from .kept_encoding import KeptEncodingMismatch, PacketLog, close_log
from .pictures import attached_pictures
from .resume import ResumeStore, folder_for, input_fingerprint, kept_if_interrupted, taken_over_text
from .static_blend import OUTSIDE_AGREEMENT, OUTSIDE_WEIGHT, STATIC_MOTION, average_outside_frame
from .tags import metadata_outcome
from .tiling import tiled_prior
from .verification import verify_output
from .captions import closed_captions
from .videoio import (
    ALPHA_NOT_DECODED_TEXT,
    is_image_pattern,
    CopiedPacket,
    EncoderChoice,
    VideoError,
    VideoInfo,
    VideoReader,
    VideoWriter,
    assumed_rate_text,
    check_audio_fits,
    check_avi_start,
    check_encoder,
    check_progressive,
    check_writable,
    container_for,
    encoder_notes,
    frame_alpha,
    frame_to_rgb,
    frame_to_rgb24,
    interlaced_frame_error,
    is_intra,
    probe,
    rgb_to_tensor,
    same_file,
    tensor_to_rgb,
)
from .visualize import save_figure

DEFAULT_VIEWS = 4  # self-ensemble views per repaired frame (module doc)

# --------------------------------------------------------------------------------------------
# Pass 1: measure


@dataclass
class Analysis:
    """What the first pass learns: header facts, the detection, every frame's timestamp."""

    info: VideoInfo
    detection: Detection
    pts: list[int]
    times: list[float]
    timestamps_fixed: int
    seconds: float
    from_kept: bool = False  # measured by an interrupted run (nlvfi.resume), not decoded again
    frames_measured_before: int = 0  # frames an interrupted first pass had measured: decoded again, not measured

    @property
    def frame_count(self) -> int:
        return len(self.pts)


def analyze_video(
    path: str | Path,
    threshold: float | str = "auto",
    max_run: int = DEFAULT_MAX_RUN,
    progress: bool = False,
    min_frames: int = 2,
    store: ResumeStore | None = None,
) -> Analysis:
    """Decode ``path`` once, frame by frame, and detect its duplicates (no model needed).

    ``store``: measurements kept by an interrupted run are used instead of decoding (its
    ``seconds`` is then the time to read them back), and new ones are kept (``nlvfi.resume``).
    Interrupted while measuring, it keeps what it measured so far; the next run decodes those
    frames again (decoding is the cheap part: at 1080p on 2 cores 7 ms a frame, against 30 ms for
    the RGB conversion and the three differences) but measures only from where it stopped.

    Raises FileNotFoundError; VideoError for not a video, fewer than ``min_frames`` frames, a
    corrupt or truncated file (saying after how many frames), or a frame size that changes.
    """
    started = time.perf_counter()
    path = Path(path)
    kept = store.load_measure() if store is not None else None
    if kept is not None and set(kept) >= {*MEASURES, "pts", "times", "timestamps_fixed"}:
        info = probe(path)
        pts, times = [int(p) for p in kept["pts"]], [float(t) for t in kept["times"]]
        diffs, peaks, shares, spots = (kept[name] for name in MEASURES)
        fixed = int(kept["timestamps_fixed"])
        whole = len(pts) == len(times) and all(len(kept[name]) + 1 == len(pts) for name in MEASURES)
        if whole and "intra" in kept and len(kept["intra"]) == len(pts):
            intra = kept["intra"]
            detection = detect_duplicates(
                diffs, threshold, max_run, peaks=peaks, lossless=info.lossless, shares=shares, intra=intra, spots=spots
            )
            return Analysis(info, detection, pts, times, fixed, time.perf_counter() - started, from_kept=True)
    diffs: list[float] = []
    peaks: list[float] = []  # peak 16x16-block differences (duplicates.peak_difference)
    shares: list[float] = []  # percent of pixels changing by >= 4 grey levels (duplicates.changed_share)
    spots: list[float] = []  # largest 8x8-block differences (duplicates.spot_difference)
    pts: list[int] = []
    times: list[float] = []
    intra: list[bool] = []  # the decoder's picture type of each frame is I (duplicates.detect_duplicates)
    # an interrupted first pass's, or a whole one kept without the picture types (before nlvfi kept them):
    # its pairs are used, and the frames decoded again for their types
    partial = kept if kept is not None and _is_partial(kept) else None
    if partial is not None:
        diffs, peaks, shares, spots = (partial[name].tolist() for name in MEASURES)
    measured_before = len(diffs) + 1 if partial is not None else 0  # frames whose pairs are kept
    with VideoReader(path) as reader:
        info = reader.info
        previous = None  # (H, W, 3) uint8 RGB of the frame before
        skipped = None  # the frame before, not converted (a frame measured before)
        bar = tqdm(total=info.announced_frames or None, desc="measuring", unit="frame", disable=not progress)
        try:
            for item in reader:
                if item.index < measured_before:
                    if item.pts == int(partial["pts"][item.index]) and item.time == float(partial["times"][item.index]):
                        skipped = item
                        pts.append(item.pts)
                        times.append(item.time)
                        intra.append(is_intra(item.frame))
                        bar.update(1)
                        continue
                    measured_before = item.index  # not the frames measured before: measure from here
                    for values in (diffs, peaks, shares, spots):
                        del values[max(0, item.index - 1) :]
                if previous is None and skipped is not None:
                    previous = frame_to_rgb24(skipped.frame)
                    skipped = None
                rgb = frame_to_rgb24(item.frame)  # (H, W, 3) uint8
                if previous is not None:
                    if rgb.shape != previous.shape:
                        raise VideoError(
                            f"{path}: the frame size changes at frame {item.index} "
                            f"({previous.shape[1]}x{previous.shape[0]} -> {rgb.shape[1]}x{rgb.shape[0]}); repair needs one size"
                        )
                    difference, peak, share, spot = pair_differences(previous, rgb)
                    diffs.append(difference)
                    peaks.append(peak)
                    shares.append(share)
                    spots.append(spot)
                previous = rgb
                pts.append(item.pts)
                times.append(item.time)
                intra.append(is_intra(item.frame))
                bar.update(1)
        except KeyboardInterrupt:  # keep the pairs measured so far (nlvfi.resume)
            pairs = len(pts) - 1  # of the frames read whole; a newer pair may be half appended
            if store is not None and pairs >= 1 and measured_before <= len(pts) and min(map(len, (diffs, peaks, shares, spots))) >= pairs:
                store.save_measure(
                    diffs=np.array(diffs[:pairs]), peaks=np.array(peaks[:pairs]), shares=np.array(shares[:pairs]),
                    spots=np.array(spots[:pairs]), pts=np.array(pts, dtype=np.int64), times=np.array(times),
                    intra=np.array(intra), partial=np.array(True),
                )  # fmt: skip
            raise
        bar.close()
        reader.check_complete()
        fixed = reader.timestamps_fixed
    if measured_before > len(pts):  # fewer frames than were measured before (the key should have told)
        measured_before = len(pts)
        for values in (diffs, peaks, shares, spots):
            del values[max(0, len(pts) - 1) :]
    if len(pts) < min_frames:
        raise VideoError(f"{path} has {len(pts)} frame{'s' if len(pts) != 1 else ''}; repair needs at least {min_frames}")
    if store is not None:
        store.save_measure(
            diffs=np.array(diffs), peaks=np.array(peaks), shares=np.array(shares), spots=np.array(spots),
            pts=np.array(pts, dtype=np.int64), times=np.array(times), intra=np.array(intra), timestamps_fixed=np.array(fixed),
        )
    detection = detect_duplicates(
        np.array(diffs), threshold, max_run, peaks=np.array(peaks), lossless=info.lossless, shares=np.array(shares),
        intra=np.array(intra), spots=np.array(spots),
    )  # fmt: skip
    return Analysis(info, detection, pts, times, fixed, time.perf_counter() - started, frames_measured_before=measured_before)


#: what the first pass measures of each pair (nlvfi.duplicates.pair_differences), as a resume store keeps them
MEASURES = ("diffs", "peaks", "shares", "spots")


def _is_partial(kept: dict) -> bool:
    """Whether ``kept`` (ResumeStore.load_measure) is an interrupted first pass's, and whole:
    n frames' pts and times, n - 1 pairs' MEASURES. A whole first pass's kept without the frames'
    picture types (``intra``; stores of earlier versions) counts as one: only the types are
    missing. One kept without the spots (earlier versions) is measured again."""
    if not ("partial" in kept or "intra" not in kept) or not set(kept) >= {*MEASURES, "pts", "times"}:
        return False
    count = len(kept["pts"])
    return count >= 2 and len(kept["times"]) == count and all(len(kept[name]) == count - 1 for name in MEASURES)


def run_times(times: Sequence[float], run: Run, start: float | None = None) -> list[float]:
    """t of each frame of ``run`` between frames ``run.before`` (0) and ``run.after`` (1).

    From the timestamps; i/(k+1) when they do not give k increasing values inside (0, 1).
    ``start``: the time of the picture taken for 0 where it is not frame ``run.before``'s (the
    second field of an interlaced one, half a frame later: :func:`field_time`).
    """
    k = run.length
    uniform = [i / (k + 1) for i in range(1, k + 1)]
    start, end = times[run.before] if start is None else start, times[run.after]
    if not end > start:
        return uniform
    values = [(times[i] - start) / (end - start) for i in range(run.first, run.last + 1)]
    if all(0 < v < 1 for v in values) and all(a < b for a, b in zip(values, values[1:])):
        return values
    return uniform


def field_time(times: Sequence[float], index: int) -> float:
    """When frame ``index``'s second field was taken: half its frame's duration after it (the
    last frame: half the one before's), as bwdif places it (nlvfi.deinterlace)."""
    if index + 1 < len(times):
        return times[index] + (times[index + 1] - times[index]) / 2
    return times[index] + (times[index] - times[index - 1]) / 2 if index > 0 else times[index]


# --------------------------------------------------------------------------------------------
# Pass 2: repair


@dataclass
class _Pending:
    """A run being read: its frames' timestamps, the frame before it, its first frame (example)."""

    run: Run
    pts: list[int] = field(default_factory=list)
    before: object = None  # DecodedFrame
    first_rgb: np.ndarray | None = None
    outside: tuple[int | None, int | None] = (None, None)  # Detection.outside_frames(run) (flow prior, outside average)
    outside_before: np.ndarray | None = None  # (H, W, 3): the real frame before ``before`` (flow prior, outside average)
    outside_before_time: float | None = None  # its time (s): an interlaced ``before``'s first field's, where its second is the pair's
    replaced: list = field(default_factory=list)  # its decoded frames where they carry closed captions (else None)


@dataclass
class _Job:
    """A run read to its end, waiting for the generator: the frames around it and its times."""

    pending: _Pending
    after: object  # DecodedFrame: the next distinct frame
    before_rgb: np.ndarray  # (H, W, 3)
    after_rgb: np.ndarray
    times: list[float]
    frames: torch.Tensor | None = None  # (k, 3, H, W) once generated
    outside_after: np.ndarray | None = None  # (H, W, 3): the real frame after ``after`` (flow prior, outside average)
    outside_after_time: float | None = None  # its time (s): an interlaced ``after``'s second field's, half a frame on
    pair_times: tuple[float, float] = (0.0, 1.0)  # when the pair's pictures were taken (s): the frames', or a second field's
    rgbs: np.ndarray | None = None  # (k, H, W, 3) as written, once generated (or read back, nlvfi.resume)
    meta: dict = field(default_factory=dict)  # what the report counts: flow scale, outside frames used

    def identity(self) -> dict:
        """What a kept run must match to be reused (nlvfi.resume): its frames, times, outside frames."""
        run = self.pending.run
        return {
            "before": run.before, "first": run.first, "last": run.last, "after": run.after,
            "times": [round(t, 9) for t in self.times], "outside": list(self.pending.outside),
            "outside_frames_read": [self.pending.outside_before is not None, self.outside_after is not None],
            "pictures_at": [
                None if t is None else round(t, 9) for t in (self.pending.outside_before_time, *self.pair_times, self.outside_after_time)
            ],
        }


def _example_run(detection: Detection) -> Run | None:
    """The repaired run with the most motion across it (the most visible repair), if any."""
    runs = detection.repairable
    return max(runs, key=lambda run: detection.diffs[run.last]) if runs else None


@reads_staged_images
@reads_at_input_rate
def repair_video(
    source: str | Path,
    output: str | Path,
    *,
    threshold: float | str = "auto",
    checkpoint: str | Path | None = None,
    generator: Generator | None = None,
    device: str = "auto",
    codec: str | None = None,
    crf: int | None = None,
    preset: str | None = None,
    max_run: int = DEFAULT_MAX_RUN,
    max_memory_gb: float | None = None,
    report_path: str | Path | None = None,
    figure_path: str | Path | None = None,
    verify: bool = True,
    progress: bool = True,
    batch_size: int = 4,
    tile: int | None = None,
    overlap: int | None = None,
    compile_model: bool = False,
    views: int = DEFAULT_VIEWS,
    flow_prior: bool = True,
    flow_scale: int | str = "auto",
    static_motion: float = STATIC_MOTION,
    outside_average: bool = True,
    resume: bool = True,
    fade: bool = True,
    input_rate: str | Fraction | None = None,
    input_staged: dict | None = None,
    deinterlace: bool = False,
    second_fields: bool = True,
) -> dict:
    """Repair the duplicated frames of ``source`` into ``output``; return the report (a dict).

    Args:
        source, output: input and output videos; the output's container follows its extension.
        threshold: "auto" or a MAD in grey levels (``nlvfi.duplicates``).
        checkpoint / generator: the model (default: the shipped checkpoint); a ``generator``
            given directly (already on its device, in eval mode) wins.
        device: for the checkpoint ("auto": CUDA when present).
        codec, crf, preset: override the output encoder (``nlvfi.videoio.choose_encoder``).
        max_run: longest run repaired.
        max_memory_gb: memory the model may use (default 80% of what is free).
        report_path, figure_path: also write the report (JSON) and the before/after figure.
        verify: decode the result and check it before it replaces ``output``.
        batch_size: most frames per forward pass; runs are batched together (module doc).
        tile, overlap: tiled inference (``nlvfi.interpolate.plan_inference``; None: only when
            whole frames do not fit the budget, 0: never).
        compile_model: ``torch.compile`` the generator (a warning and eager mode if that fails).
        views: each repaired frame is the mean of the generator on this many mirrored views of
            its pair (1, 2 or 4; ``nlvfi.self_ensemble``).
        flow_prior: start the flow of each run's pair from the motion of the real frames just
            outside it (``nlvfi.flow_prior``); in tiles, measured tile by tile
            (``nlvfi.tiling.tiled_prior``).
        flow_scale: estimate the flow on frames enlarged 1 or 2 times, or "auto": 2 up to
            768x576 (``nlvfi.interpolate.flow_scale_for``) for runs whose flow starts from the
            prior, 1 for runs without one (no usable outside frame, ``flow_prior`` off): from
            zero flow the enlarged frames' motion is twice as long, and the coarse search misses
            it (Megamind without the prior: 35.62 dB at 1x, 35.11 at 2x). Tiles too, each tile enlarged.
        static_motion: pixels moving less than this many px take the plain blend of the pair
            (``nlvfi.static_blend``; 0: off); tiles too, each from its own flow.
        outside_average: that blend takes each frame of the pair with the real frame one step
            outside the run averaged in where the two show the same picture
            (:func:`nlvfi.static_blend.average_outside_frame`; it cancels part of the noise).
        resume: keep the measurements and generated frames in ``OUT.nlvfi-resume/`` while the
            run goes, use what an interrupted run with the same input, model and settings kept
            there, and delete the folder at the end (``nlvfi.resume``); False: neither.
        fade: a run whose pair changes by a global fade goes to the generator at the brightness
            of each new frame's time (``nlvfi.fade``); the report lists those runs.
        input_rate: the frame rate of an input without timing of its own (numbered images, a
            raw Motion JPEG stream): every reader reads it at that rate (``nlvfi.input_rate``);
            one that has its own is refused. None: FFmpeg's 25, said in the report.
        input_staged: set by :func:`nlvfi.staged_images.reads_staged_images` where ``source`` is
            the OpenEXR staging of numbered images FFmpeg misreads: the report names the input
            as given (its ``from``) and says what was staged.
        deinterlace: interlaced input is deinterlaced as it is read (nlvfi.deinterlace: bwdif,
            one progressive frame per frame, on its own time) and written progressive; False:
            refused. Duplicates are found on the frames as decoded; progressive input is
            unaffected.
        second_fields: deinterlacing, a run's pair starts at the second field of the frame
            before it, half a frame nearer the run than that frame, with its first field as the
            outside picture before, and the after frame's second field as the one after
            (nlvfi.deinterlace); False: at the frames, as for progressive video (the benchmark's
            comparison, ``benchmarks/interlaced_repair.py``).
    Raises:
        FileNotFoundError, VideoError/ValueError (bad input, -o equal to the input, frames too
        large), CheckpointError (missing, corrupt, not ours). Nothing is written then.
    """
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if not source.exists() and not is_image_pattern(source):
        raise FileNotFoundError(f"no such video: {source}")
    if output.is_dir():
        raise ValueError(f"output {output} is a folder; give a file name such as {output / 'repaired.mkv'}")
    check_output_paths(source, {"output": output, "report": report_path, "figure": figure_path})
    images = output
    sequence, output, codec = sequence_output(output, source, codec, crf, preset)  # numbered PNG images: a lossless video first
    if sequence is not None and input_staged is not None and "pfm_scale" in input_staged:  # PFM in, PFM out: the same unit
        sequence = replace(sequence, pfm_scale=input_staged["pfm_scale"])
    gif, output, codec = gif_output(output, source, codec, crf, preset)  # a GIF: a lossless video first, then the GIF
    webp, output, codec = webp_output(output, source, codec, crf, preset, input_staged=input_staged)  # an animated WebP: the same
    apng, output, codec = apng_output(output, source, codec, crf, preset)  # an animated PNG: the same
    container = container_for(output)
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if generator is None:
        generator, checkpoint_used = load_model(checkpoint, device)
    else:
        generator.eval()
        checkpoint_used = str(checkpoint) if checkpoint else "a generator passed in by the caller"
    where = model_device(generator)

    header = probe(source)  # refuse frames too large for memory before decoding anything
    interlacing = check_progressive(header, deinterlace)  # None: progressive
    # refused now, not after the first pass (the writer checks them again): video AVI cannot start where it does (first: an
    # encoder's trial counted from 0 to there, and MPEG-2 was refused at "30000/7 fps"), a codec it cannot write or that does
    # not open on it, audio it cannot hold
    check_avi_start(container, source)
    check_encoder(header, container, codec, crf, preset)
    if header.audio_codecs:
        check_audio_fits(container, source)
    budget = memory_budget(where, max_memory_gb)
    requested_scale = flow_scale
    if not flow_prior:  # no run starts from a prior (see the docstring)
        flow_scale = flow_scale_for(header.height, header.width, flow_scale, has_prior=False)
    plan = plan_inference(
        generator, header.height, header.width, budget, where, tile, overlap, views, flow_scale, static_motion, fade,
        resident=resident_bytes(header.height, header.width, REPAIR_HELD_FRAMES + max_run),
        run_frames=(max_run, resident_bytes(header.height, header.width, 1)),
    )
    per_call = min(batch_size, plan.per_call)
    settings = {
        **plan.frame_settings(), "flow_prior": flow_prior, "requested_flow_scale": requested_scale, "outside_average": outside_average,
        "deinterlace": {"second_fields": second_fields} if deinterlace else None,  # generated from other pictures
    }  # fmt: skip
    store = ResumeStore.beside(output, source, generator, settings) if resume else None
    compile_generator(generator, compile_model)
    with kept_if_interrupted(store):
        analysis = analyze_video(source, threshold, max_run, progress, store=store)
        detection = analysis.detection

        starts = {run.first: run for run in detection.repairable}
        replaced_frames: list[dict] = []
        example: dict = {}
        example_run = _example_run(detection)
        timings = {"measure_s": round(analysis.seconds, 2)}
        state: dict = {}

        prior_sides = {"both": 0, "one": 0, "none": 0}  # runs by how many outside frames their prior had
        use_outside = outside_average and plan.static_motion > 0
        outside_sides = {"both": 0, "one": 0}  # runs whose static blend took outside frames, by how many
        read_outside = flow_prior or use_outside  # keep the real frame on each side of a run's pair
        runs_by_scale: dict[int, int] = {}  # runs by the flow scale they were repaired at
        faded_runs: list[dict] = []  # runs whose pair holds a fade (nlvfi.fade), each with its fit

        def outside_of(job: _Job) -> list[torch.Tensor | None]:
            """The real frames one step outside the run's pair, (1, 3, H, W) each, None where missing."""
            return [None if rgb is None else rgb_to_tensor(rgb).to(where) for rgb in (job.pending.outside_before, job.outside_after)]

        def still_pair_of(prev: torch.Tensor, next: torch.Tensor, outside: list) -> tuple[torch.Tensor, torch.Tensor] | None:
            """The frames the static blend takes (nlvfi.static_blend.average_outside_frame), or None."""
            if not use_outside or all(frame is None for frame in outside):
                return None
            return average_outside_frame(prev, outside[0]), average_outside_frame(next, outside[1])  # (1, 3, H, W) each

        def prior_of(job: _Job, prev: torch.Tensor, next: torch.Tensor, outside: list) -> tuple[torch.Tensor, torch.Tensor] | None:
            """The run's flow guesses (nlvfi.flow_prior), (1, 2, H, W) each, or None."""
            places = [job.pending.outside_before_time, *job.pair_times, job.outside_after_time]  # seconds, None: no picture
            scales = interval_scales([t or 0.0 for t in places], 0 if places[0] is not None else None, 1, 2, 3 if places[3] is not None else None)
            with torch.inference_mode():
                if plan.tile is not None:  # frames too large for one pass: the outside flows tile by tile too
                    return tiled_prior(
                        generator, prev, next, *outside, *scales, tile=plan.tile, overlap=plan.overlap, flow_scale=plan.flow_scale
                    )
                return constant_velocity_prior(generator, prev, next, *outside, *scales, flow_scale=plan.flow_scale)

        def count(meta: dict) -> None:
            """Add one run's meta (``_Job.meta``) to the report's counts."""
            sides = ("none", "one", "both")
            if meta.get("prior_outside") is not None:
                prior_sides[sides[meta["prior_outside"]]] += 1
            if meta.get("blend_outside") is not None:
                outside_sides[sides[meta["blend_outside"]]] += 1
            runs_by_scale[meta["flow_scale"]] = runs_by_scale.get(meta["flow_scale"], 0) + 1
            if meta.get("fade"):
                faded_runs.append(meta["fade"])

        def run_generator(batch: list[_Job]) -> float:
            """Fill ``job.rgbs`` of every job, from the kept work (nlvfi.resume) or the generator;
            return the seconds the generator took."""
            tick = time.perf_counter()
            todo = []
            for job in batch:
                shape = (len(job.times), *job.before_rgb.shape)  # (k, H, W, 3)
                kept = store.load_run(job.pending.run.first, job.identity(), shape, job.before_rgb.dtype) if store else None
                if kept is None:
                    todo.append(job)
                else:
                    job.rgbs, job.meta = kept
                    count(job.meta)
            if todo:
                generate_frames(todo)
            for job in todo:
                job.rgbs = np.stack([tensor_to_rgb(frame, job.before_rgb.dtype) for frame in job.frames])  # (k, H, W, 3)
                job.frames = None
                count(job.meta)
                if store is not None:  # kept at once: an interrupt from here on loses none of it
                    store.save_run(job.pending.run.first, job.rgbs, job.identity(), job.meta)
            return time.perf_counter() - tick

        def generate_frames(batch: list[_Job]) -> None:
            """Fill ``job.frames`` (k, 3, H, W) and ``job.meta`` of every job with the generator."""
            tensors = [(rgb_to_tensor(job.before_rgb).to(where), rgb_to_tensor(job.after_rgb).to(where)) for job in batch]  # (1, 3, H, W)
            outsides = [outside_of(job) for job in batch]
            if plan.fade:  # an outside frame one more step into a fade: at its neighbour's brightness (nlvfi.fade)
                outsides = [
                    [match_brightness(outside[0], prev), match_brightness(outside[1], next)]
                    for outside, (prev, next) in zip(outsides, tensors)
                ]
            priors = [prior_of(job, *pair, outside) for job, pair, outside in zip(batch, tensors, outsides)] if flow_prior else None
            still_pairs = [still_pair_of(*pair, outside) for pair, outside in zip(tensors, outsides)]
            # auto: a run without a prior goes at 1x (docstring, flow_scale), whole or in tiles
            scales = [
                plan.flow_scale if priors is not None and priors[n] is not None
                else flow_scale_for(header.height, header.width, requested_scale, has_prior=False)
                for n in range(len(batch))
            ]
            fades = [fit_fade(prev, next) if plan.fade else None for prev, next in tensors]  # nlvfi.fade, one fit a run
            for job, fade, outside, still, scale in zip(batch, fades, outsides, still_pairs, scales):
                used = sum(frame is not None for frame in outside)
                job.meta = {
                    "prior_outside": used if flow_prior else None,
                    "blend_outside": used if still is not None else None,
                    "flow_scale": scale,
                    "fade": None if fade is None else {"first": job.pending.run.first, "last": job.pending.run.last, **fade.to_dict()},
                }
            del outsides
            if plan.tile is not None:  # tiles: one pair at a time, its non-local features computed once
                for n, (job, (prev, next)) in enumerate(zip(batch, tensors)):
                    prior = None if priors is None else priors[n]
                    job.frames = generate(
                        generator, prev, next, job.times, per_call, replace(plan, flow_scale=scales[n]), prior, still_pairs[n],
                        [fades[n]],
                    )  # (k, 3, H, W)
                return
            # whole frames: runs of one scale share calls
            made: dict[tuple[int, int], torch.Tensor] = {}  # (run, frame of the run) -> (1, 3, H, W)
            for scale in sorted(set(scales)):
                entries = [(n, i) for n, job in enumerate(batch) if scales[n] == scale for i in range(len(job.times))]
                scale_plan = replace(plan, flow_scale=scale)
                for start in range(0, len(entries), per_call):
                    chunk = entries[start : start + per_call]
                    prev = torch.cat([tensors[n][0] for n, _ in chunk])  # (b, 3, H, W)
                    next = torch.cat([tensors[n][1] for n, _ in chunk])
                    times = torch.tensor([batch[n].times[i] for n, i in chunk], device=where)  # (b,)
                    guesses = None
                    if flow_prior:
                        zero = torch.zeros_like(prev[:1, :2], dtype=torch.float32)  # (1, 2, H, W): a run without a prior
                        guesses = tuple(
                            torch.cat([zero if priors[n] is None else priors[n][side] for n, _ in chunk]) for side in (0, 1)
                        )  # (b, 2, H, W) each
                    still = None
                    if any(still_pairs[n] is not None for n, _ in chunk):  # a run without outside frames blends its own pair
                        still = tuple(
                            torch.cat([tensors[n][side] if still_pairs[n] is None else still_pairs[n][side] for n, _ in chunk])
                            for side in (0, 1)
                        )  # (b, 3, H, W) each
                    chunk_fades = [fades[n] for n, _ in chunk]
                    frames = forward_frames(generator, prev, next, times, scale_plan, guesses, still, chunk_fades)  # (b, 3, H, W)
                    made.update({entry: frames[j : j + 1] for j, entry in enumerate(chunk)})
            for n, job in enumerate(batch):
                job.frames = torch.cat([made[(n, i)] for i in range(len(job.times))])  # (k, 3, H, W)

        def frames_identity(count: int) -> dict:
            """How the first ``count`` frames of the output are made (nlvfi.kept_encoding): the
            repaired runs that start among them, with their times and outside frames."""
            runs = [run for run in detection.repairable if run.first < count]
            return {
                "frames": count,
                "runs": [
                    {"first": run.first, "last": run.last, "times": [round(t, 9) for t in run_times(analysis.times, run)],
                     "outside": list(detection.outside_frames(run))}
                    for run in runs
                ],
            }  # fmt: skip

        def write(tmp: str) -> None:
            resumed_before = store.resumed_runs if store is not None else 0
            try:
                attempt(tmp, reuse=True)
            except KeptEncodingMismatch as mismatch:  # found at the first packets: encode every frame again
                store.encoding_note = f"the kept encoded frames were not used: {mismatch}"
                replaced_frames.clear()
                example.clear()
                for counts in (prior_sides, outside_sides):
                    counts.update(dict.fromkeys(counts, 0))
                runs_by_scale.clear()
                faded_runs.clear()
                store.resumed_runs = resumed_before
                attempt(tmp, reuse=False)

        def attempt(tmp: str, reuse: bool) -> None:
            """Write the repaired video to ``tmp``; ``reuse``: start from the encoded frames an
            interrupted run kept, if they fit (nlvfi.kept_encoding)."""
            repair_started = time.perf_counter()
            model_seconds = 0.0
            log: PacketLog | None = None
            with VideoReader(source, deinterlace=deinterlace, fields=second_fields) as reader:
                traits = reader.info.traits
                writer = VideoWriter(tmp, container, reader.info, codec, crf, audio_from=reader.container, preset=preset)
                state["encoder"] = writer.choice
                state["audio"] = len(writer.audio)
                state["subtitles"] = writer.subtitle_positions
                state["converted_subtitles"] = writer.converted_positions
                state["conversions"] = writer.conversions
                state["streams_left"] = writer.streams_left
                state["attachments"] = writer.attachments
                state["pictures"], state["pictures_copied"] = writer.pictures, writer.pictures_copied
                try:
                    log = store.log_encoding(writer, frames_identity, reuse) if store is not None else None
                    previous = None  # the DecodedFrame before the current one
                    earlier = None  # and the one before that (a run's outside frame, for the flow prior)
                    pending: _Pending | None = None
                    waiting: _Job | None = None  # a job whose outside frame after the run is still to come
                    jobs: list[_Job] = []  # runs read to their end, not generated yet
                    held: list[tuple] = []  # what comes after the first of them, in order
                    held_frames = 0
                    max_held = max(8, 2 * per_call)

                    def emit(entry: tuple) -> None:
                        kind, value = entry[0], entry[1]
                        if kind == "frame":
                            writer.write(value, entry[2])
                        elif kind == "copied":
                            writer.mux_copied(value)
                        else:
                            write_run(value)

                    def hold(entry: tuple) -> None:
                        nonlocal held_frames
                        if not jobs:
                            emit(entry)
                            return
                        held.append(entry)
                        held_frames += entry[0] == "frame"
                        if held_frames >= max_held and waiting is None:
                            flush()

                    def write_run(job: _Job) -> None:
                        run = job.pending.run
                        alphas = (frame_alpha(job.pending.before.frame, traits), frame_alpha(job.after.frame, traits))
                        for offset, (rgb, t, pts) in enumerate(zip(job.rgbs, job.times, job.pending.pts)):  # rgb: (H, W, 3)
                            alpha = None
                            if alphas[0] is not None:
                                alpha = np.round((1 - t) * alphas[0] + t * alphas[1]).astype(alphas[0].dtype)
                            writer.write(writer.frame_from_rgb(rgb, alpha, job.pending.replaced[offset]), pts)
                            index = run.first + offset
                            replaced_frames.append(
                                {"frame": index, "t": round(t, 4), "between": [run.before, run.after], "time_s": round(analysis.times[index], 6)}
                            )
                            if run is example_run and offset == 0:
                                to8 = (lambda a: a if a.dtype == np.uint8 else (a >> 8).astype(np.uint8))
                                example.update(
                                    frame=index, t=t, after_index=run.after, before=to8(job.before_rgb),
                                    after=to8(job.after_rgb), input=to8(job.pending.first_rgb), repaired=to8(rgb),
                                )
                        job.rgbs = None

                    def flush() -> None:
                        nonlocal held_frames, model_seconds
                        model_seconds += run_generator(jobs)
                        jobs.clear()
                        entries = list(held)
                        held.clear()
                        held_frames = 0
                        for entry in entries:
                            emit(entry)

                    bar = tqdm(total=analysis.frame_count, desc="repairing", unit="frame", disable=not progress)
                    state["captioned_frames"] = 0  # input frames carrying closed captions (nlvfi.captions)
                    for item in reader.items(copied=True):
                        if isinstance(item, CopiedPacket):
                            hold(("copied", item))  # an audio or subtitle packet
                            continue
                        if not deinterlace and item.frame.interlaced_frame:  # the header and first frame said progressive
                            raise interlaced_frame_error(source, item.index)
                        captioned = closed_captions(item.frame) is not None
                        state["captioned_frames"] += captioned
                        carrier = item.frame if captioned and writer.carries_captions else None  # for a replaced frame
                        if item.index >= analysis.frame_count:
                            raise VideoError(f"{source} gave more frames on the second reading than on the first")
                        if waiting is not None:  # this is the frame after the last run's next distinct frame
                            waiting.outside_after, waiting.outside_after_time = frame_to_rgb(item.frame, traits), item.time
                            waiting = None
                            if sum(len(j.times) for j in jobs) >= per_call:
                                flush()
                        if pending is not None and item.index <= pending.run.last:
                            pending.pts.append(item.pts)  # a copy: its content is not needed, only its time (and captions)
                            pending.replaced.append(carrier)
                            bar.update(1)
                            continue
                        if pending is not None:  # item is the next distinct frame: the run can be filled
                            # an interlaced frame before the run: the pair starts at its second field, the
                            # picture nearest the run (nlvfi.deinterlace), half a frame nearer than the frame
                            before, second = pending.before, pending.before.second_field
                            start = None if second is None else field_time(analysis.times, before.index)
                            state["runs_from_second_field"] = state.get("runs_from_second_field", 0) + (second is not None)
                            job = _Job(
                                pending, item, frame_to_rgb(before.frame if second is None else second, traits),
                                frame_to_rgb(item.frame, traits), run_times(analysis.times, pending.run, start),
                                pair_times=(before.time if start is None else start, item.time),
                            )
                            jobs.append(job)
                            held.append(("run", job))  # its frames go out first, then what is held after it
                            if read_outside and item.second_field is not None:  # the picture half a frame after the pair
                                job.outside_after = frame_to_rgb(item.second_field, traits)
                                job.outside_after_time = field_time(analysis.times, item.index)
                            elif read_outside and pending.outside[1] is not None:
                                waiting = job  # the next frame is its outside frame: generate after it
                            pending = None
                            if waiting is None and sum(len(j.times) for j in jobs) >= per_call:
                                flush()
                        if item.index in starts:
                            run = starts[item.index]
                            first = frame_to_rgb(item.frame, traits) if run is example_run else None
                            pending = _Pending(run, [item.pts], previous, first, detection.outside_frames(run), replaced=[carrier])
                            if read_outside and previous is not None and previous.second_field is not None:
                                # the pair starts at its second field: the picture half a frame before is its first
                                pending.outside_before, pending.outside_before_time = frame_to_rgb(previous.frame, traits), previous.time
                            elif read_outside and earlier is not None and earlier.index == pending.outside[0]:
                                pending.outside_before, pending.outside_before_time = frame_to_rgb(earlier.frame, traits), earlier.time
                            bar.update(1)
                            continue
                        hold(("frame", item.frame, item.pts))
                        earlier, previous = previous, item
                        bar.update(1)
                    if jobs:
                        flush()
                    bar.close()
                    state["closed_captions"] = writer.captions_outcome(state["captioned_frames"])
                    state["deinterlaced"] = reader.deinterlaced  # (how, frames)
                    if pending is not None or reader.count != analysis.frame_count:
                        raise VideoError(
                            f"{source} gave {reader.count} frames on the second reading, {analysis.frame_count} on the first"
                        )
                    writer.close()
                except BaseException as error:
                    try:
                        close_log(log, writer, error, frames_identity)
                    finally:  # a second Ctrl-C while the log is sealed
                        writer.abort()
                    raise
            state["frames_reused"] = writer.frames_reused
            try:
                verify_written(tmp, writer, repair_started, model_seconds)
            except BaseException as error:  # an interrupt while checking keeps every frame encoded
                close_log(log, writer, error, frames_identity)
                raise
            close_log(log, writer, None, frames_identity)

        def verify_written(tmp: str, writer: VideoWriter, repair_started: float, model_seconds: float) -> None:
            state.update(writer.read_back())  # colour, metadata, display, pixel_aspect
            timings["repair_s"] = round(time.perf_counter() - repair_started, 2)
            timings["generator_s"] = round(model_seconds, 2)
            if verify:
                result = verify_output(
                    source, Path(tmp), analysis.info.traits, state["encoder"].lossless, analysis.frame_count,
                    {f["frame"] for f in replaced_frames}, progress=progress, muxer=container, subtitles=state["subtitles"],
                    attachments=bool(state["attachments"]), converted_subtitles=state["converted_subtitles"],
                    pictures=[picture.sha1 for picture in state["pictures"]], captions=writer.carries_captions,
                    deinterlace=deinterlace,
                )
                timings["verify_s"] = result.pop("seconds")
                state["verification"] = result

        # a GIF, WebP or APNG with nothing to replace is copied itself at the end (copy_gif, ...): its
        # intermediate is then the input's bytes too, not a lossless coding of every frame, verified
        # (a 200-frame 320x240 GIF: 0.45 s for the whole repair, against 2.2 s)
        copied_target = (gif or webp or apng) is not None and not detection.repairable
        if copied_target or (interlacing is None and copies_the_input(source, output, detection, codec, crf, preset)):
            copy_started = time.perf_counter()
            atomic_write(output, lambda tmp: state.update(copy_unchanged(source, tmp, analysis.info, container)))
            timings.update(repair_s=round(time.perf_counter() - copy_started, 2), generator_s=0.0)
        else:
            atomic_write(output, write)
        staging = None
        if state.get("icc_profile") is None and (profile := staged_icc_profile(input_staged)) is not None:  # a WebP's, not in its staging
            state.update(icc_profile=profile_summary(profile), icc_profile_bytes=profile)
        if sequence is not None:
            images_started = time.perf_counter()
            sequence = replace(sequence, icc_profile=state.get("icc_profile_bytes"))  # the input's colours, in every PNG
            staging, exported = stage_images(output, sequence, progress)
            timings["images_s"] = round(time.perf_counter() - images_started, 2)
        generated = {frame["frame"] for frame in replaced_frames}
        animations = (  # (its report key, its target, the input copied, the intermediate written): nothing to replace: the input
            ("gif", gif, lambda: copy_gif(source, gif), lambda: stage_gif(output, gif, generated, progress)),
            ("webp", webp, lambda: copy_webp(Path(input_staged["from"]), webp), lambda: stage_webp(output, webp, progress)),
            ("apng", apng, lambda: copy_apng(source, apng), lambda: stage_apng(output, apng, source, progress, frozenset(generated))),
        )
        for key, target, copy, stage in animations:
            if target is not None:
                animation_started = time.perf_counter()
                staging, exported = stage() if detection.repairable else copy()
                timings[f"{key}_s"] = round(time.perf_counter() - animation_started, 2)
        timings["total_s"] = round(time.perf_counter() - started, 2)
        report = build_report(source, output, analysis, replaced_frames, state, generator, checkpoint_used, where, timings)
        if input_staged is not None:  # the run read the EXR staging of the input's images (nlvfi.staged_images)
            report["input"], report["input_staged"] = input_staged["from"], input_staged
            report["video"]["description"] = analysis.info.describe(staged_from=input_staged["described"])
        if sequence is not None:
            report["output"] = str(images)
            report["image_sequence"] = sequence_report(sequence, exported, report, analysis.times)
        if gif is not None:
            report["output"], report["gif"] = str(gif.path), exported
        if webp is not None:
            report["output"], report["webp"] = str(webp.path), exported
        if apng is not None:
            report["output"], report["apng"] = str(apng.path), exported
        report["icc_profile"] = profile_outcome(state.get("icc_profile"), *profile_place(report, report["output"], state.get("icc_profile_written")))
        how, frames = state.get("deinterlaced", (None, 0))
        report["deinterlaced"] = None if how is None else {
            **how.to_dict(fields=second_fields), "frames_deinterlaced": frames, "runs_from_second_field": state.get("runs_from_second_field", 0),
        }  # fmt: skip
        report["model"]["plan"] = f"{plan.describe()}, batch size {batch_size}"
        report["model"]["ensemble_views"] = plan.views
        report["model"]["flow_prior"] = (
            {"used": True, "runs_by_outside_frames": prior_sides}
            if flow_prior
            else {"used": False, "why": "turned off (--no-flow-prior)"}
        )
        report["model"]["outside_average"] = (
            {"used": True, "weight": OUTSIDE_WEIGHT, "agreement_levels": OUTSIDE_AGREEMENT, "runs_by_outside_frames": outside_sides}
            if use_outside
            else {"used": False, "why": "turned off (--no-outside-average)" if not outside_average else "no static blending (--static-motion 0)"}
        )
        report["model"]["flow_scale"] = plan.flow_scale
        report["model"]["runs_by_flow_scale"] = {str(scale): count for scale, count in sorted(runs_by_scale.items())}
        report["model"]["static_motion_px"] = plan.static_motion
        report["model"]["fades"] = (
            {"used": True, "runs": sorted(faded_runs, key=lambda fade: fade["first"])}
            if plan.fade
            else {"used": False, "why": "turned off (--no-fade)"}
        )
        report["resume"] = (
            {
                **store.outcome(), "measurements_reused": analysis.from_kept, "frames_measured_before": analysis.frames_measured_before,
                "runs_reused": store.resumed_runs,
                "encoded_frames_reused": state.get("frames_reused", 0), "encoded_frames_note": store.encoding_note,
            }  # fmt: skip
            if store is not None
            else "off (--no-resume)"
        )
        try:
            if report_path is not None:
                text = json.dumps(report, indent=2) + "\n"
                atomic_write(report_path, lambda tmp: Path(tmp).write_text(text))
            if figure_path is not None:
                figure = draw_repair_figure(detection, example or None, figure_title(report))
                save_figure(figure, figure_path)
            if sequence is not None:
                move_into_place(staging, sequence, exported["files"])
                output.unlink()  # the intermediate video
            if gif is not None or webp is not None or apng is not None:
                os.replace(staging, (gif or webp or apng).path)
                output.unlink()  # the intermediate video
        except BaseException:  # a run that fails or is interrupted leaves nothing at OUT, even this late
            output.unlink(missing_ok=True)
            if staging is not None and staging.is_dir():
                shutil.rmtree(staging, ignore_errors=True)
            elif staging is not None:
                staging.unlink(missing_ok=True)
            raise
        report["_example"] = example  # for callers (notebook); not in the JSON
    return report


def check_output_paths(source: Path, paths: dict) -> None:
    """Refuse, before any work, what would otherwise fail or clobber a file at the end: a path
    (``paths``: name -> path or None) that is the input, two that are the same file, a report or
    figure that is a folder, a folder no file can be written in (``videoio.check_writable``), or
    a figure format matplotlib cannot write. ValueError, one line."""
    named = [(name, Path(path)) for name, path in paths.items() if path is not None]
    for index, (name, path) in enumerate(named):
        if same_file(source, path):
            raise ValueError(f"the {name} {path} is the input; choose another file (the input is never overwritten)")
        for other, other_path in named[:index]:
            if same_file(other_path, path):
                raise ValueError(f"the {name} and the {other} are the same file ({path}); give each its own")
        if name != "output" and path.is_dir():
            raise ValueError(f"the {name} {path} is a folder; give a file name")
        check_writable(path, name)
    figure = paths.get("figure")
    if figure is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        suffix = Path(figure).suffix.lower().lstrip(".") or "png"  # as visualize.save_figure takes it
        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix not in formats:
            raise ValueError(f"cannot write a figure as .{suffix}; use one of {', '.join('.' + f for f in sorted(formats))}")


def copies_the_input(source: Path, output: Path, detection: Detection, codec, crf, preset) -> bool:
    """Whether the output is the input copied byte for byte: no run to replace (none found, or
    all left: at the start, the end, before a cut, too long), an output of the input's own
    container (the same extension) and no encoder asked for (``--codec``, ``--crf``, ``--preset``
    re-encode as asked). Re-encoding every frame of a video that needs no repair would only lose
    quality: x264 at crf 16 leaves the untouched frames of the bundled clip at 44-45 dB. (Input whose
    header or first frame says interlaced is not copied with ``--deinterlace``: it was asked for
    deinterlaced; frames flagged interlaced only further on stay as they are, flagged so.)"""
    return (
        not detection.repairable
        and codec is None and crf is None and preset is None
        and not is_image_pattern(source)  # an image sequence is written as a video
        and output.suffix.lower() == source.suffix.lower()
    )  # fmt: skip


def copy_unchanged(source: Path, tmp: str, info, container: str) -> dict:
    """Copy ``source`` to ``tmp`` byte for byte (:func:`copies_the_input`) and describe it with
    the fields a written video gives the report (``state`` of :func:`repair_video`): every
    stream, tag, attachment and time is the input's. The copy is checked by its SHA-256, and
    its colour tags and tags are read back as for a written video."""
    import av

    digest = copy_checked(source, tmp)  # the input read once, the copy read back
    with av.open(str(source)) as original:  # what is read of a stream is read while the file is open
        subtitles = [stream.index for stream in original.streams if stream.type == "subtitle"]
        attachments = [stream.name for stream in original.streams if stream.type == "attachment"]
        paired = [(stream.index, stream.index) for stream in original.streams if stream.type != "attachment"]
        pictures = attached_pictures(original)
    choice = EncoderChoice(
        "copy", info.pix_fmt, {}, True, "no frame to replace: the input copied byte for byte, nothing re-encoded (--codec, --crf or --preset re-encode it)"
    )  # fmt: skip
    return {
        "encoder": choice,
        "audio": len(info.audio_codecs),
        "subtitles": subtitles,
        "converted_subtitles": [],
        "conversions": [],
        "streams_left": [],
        "attachments": attachments,
        "pictures_copied": [picture.label for picture in pictures],
        "colour": colour_outcome(info.colour, info.colour, tmp, container, "copy"),
        "metadata": metadata_outcome(source, tmp, paired),
        "verification": {"byte_for_byte_copy": True, "sha256": digest},
    }


def sequence_report(target: SequenceTarget, exported: dict, report: dict, times: Sequence[float]) -> dict:
    """The report's ``image_sequence``: the images written, and what an image sequence cannot
    hold (``nlvfi.image_sequence.not_held``)."""
    return {
        "pattern": report["output"],
        "first_file": str(target.folder / target.name(0)),
        **exported,
        "frame_rate": report["video"]["frame_rate"],
        **not_held(
            report["audio_streams_copied"], report["subtitle_streams_copied"],
            bool(report["attachments_copied"] or report["pictures_copied"]), list(times), float(Fraction(report["video"]["time_base"])),
            (report.get("closed_captions") or {}).get("input_frames", 0),
        ),
        "written_through": f"a lossless {report['encoder']['codec']} video, verified against the input, then deleted",
    }  # fmt: skip


def build_report(source, output, analysis, replaced_frames, state, generator, checkpoint, device, timings) -> dict:
    info, detection = analysis.info, analysis.detection
    choice = state["encoder"]
    weights = str(checkpoint)
    return {
        "input": str(source),
        "output": str(output),
        "video": {
            "description": info.describe(),
            "width": info.width,
            "height": info.height,
            "codec": info.codec,
            "pix_fmt": info.pix_fmt,
            "lossless": info.lossless,
            "frames": analysis.frame_count,
            "time_base": str(info.time_base),
            "frame_rate": str(info.rate) if info.rate else None,
            "frame_rate_assumed": info.rate_assumed,
            "frame_rate_given": info.rate_given,
            "alpha_not_decoded": info.alpha_not_decoded,
            "duration_s": round(analysis.times[-1] - analysis.times[0], 6),
            "audio_streams": info.audio_codecs,
            "timestamps_fixed": analysis.timestamps_fixed,
        },
        "detection": detection.to_dict(),
        "frames_replaced": len(replaced_frames),
        "replaced": replaced_frames,
        "runs_left": [run.to_dict() for run in detection.runs if run.status != "repair"],
        "encoder": {
            "codec": choice.codec,
            "pix_fmt": choice.pix_fmt,
            "options": choice.options,
            "lossless": choice.lossless,
            "why": choice.reason,
            "alpha_dropped": choice.alpha_dropped,
            **({"narrowed": choice.narrowed} if choice.narrowed else {}),
        },
        "audio_streams_copied": state["audio"],
        "subtitle_streams_copied": len(state["subtitles"]),
        "subtitle_streams_converted": state["conversions"],
        "attachments_copied": state["attachments"],
        "pictures_copied": state["pictures_copied"],
        "streams_not_copied": state["streams_left"] + ([] if choice.codec == "copy" else info.streams_not_copied),  # a copy holds them all
        "colour": state["colour"],
        "display": state.get("display"),
        "pixel_aspect": state.get("pixel_aspect"),
        "closed_captions": state.get("closed_captions"),
        "metadata": state["metadata"],
        "verification": state.get("verification", "skipped (--no-verify)"),
        "model": {"size": generator.config.name, "weights": weights, "device": str(device)},
        "timings": timings,
    }


# --------------------------------------------------------------------------------------------
# Words and pictures


def written_text(report: dict) -> list[str]:
    """The summary's sentences on how the output was written and checked (:func:`summary_text`)."""
    video, enc, verification = report["video"], report["encoder"], report["verification"]
    lines: list[str] = []
    if isinstance(verification, dict):
        kept = f"frame count, every timestamp (within {verification['max_timestamp_error_s'] * 1000:.3f} ms) and {verification['audio_streams_identical']} audio stream(s) kept"
        if verification.get("subtitle_streams_identical"):
            kept += f", and {verification['subtitle_streams_identical']} subtitle stream(s)"
        if verification.get("subtitle_streams_converted"):
            kept += (
                f", and {verification['subtitle_streams_converted']} subtitle stream(s) converted "
                f"({', '.join(report['subtitle_streams_converted'])}: the same lines at the same times)"
            )
        if report.get("pictures_copied"):
            kept += f", and the cover art ({len(report['pictures_copied'])} attached picture(s), byte for byte)"
        if verification["timestamp_offset_s"]:
            kept += (
                f" (the {Path(report['output']).suffix} muxer shifted video and audio alike by "
                f"{verification['timestamp_offset_s'] * 1000:+.1f} ms: it cannot store the input's earliest times as they are)"
            )
        if enc["lossless"]:
            kept += f"; the {verification['untouched_frames_bit_identical']} untouched frames are bit-identical (verified)"
        else:
            psnr = verification["untouched_frames_psnr_db"]
            kept += f"; untouched frames re-encoded at PSNR >= {psnr['min']} dB (mean {psnr['mean']})"
    else:
        kept = "output not verified (--no-verify)"
    options = " ".join(f"{k}={v}" for k, v in enc["options"].items())
    if report.get("image_sequence"):  # the video is the lossless step before the images
        return sequence_lines(report, f"a lossless {enc['codec']} {enc['pix_fmt']} video: {kept}")
    if report.get("gif", {}).get("copied"):  # nothing replaced: the input GIF, not the lossless step
        return [gif_text(report["gif"])]
    if report.get("gif"):  # the video is the lossless step before the GIF
        return [f"{gif_text(report['gif'])[:-1]}, through a lossless {enc['codec']} {enc['pix_fmt']} video: {kept}."]
    if report.get("webp", {}).get("copied"):  # nothing replaced: the input WebP, not the lossless step
        return [webp_text(report["webp"])]
    if report.get("webp"):  # the video is the lossless step before the WebP
        return [f"{webp_text(report['webp'])[:-1]}; through a lossless {enc['codec']} {enc['pix_fmt']} video: {kept}."]
    if report.get("apng", {}).get("copied"):  # nothing replaced: the input APNG, not the lossless step
        return [apng_text(report["apng"])]
    if report.get("apng"):  # the video is the lossless step before the APNG
        return [f"{apng_text(report['apng'])[:-1]}; through a lossless {enc['codec']} {enc['pix_fmt']} video: {kept}."]
    lines.append(f"Output {enc['codec']} {enc['pix_fmt']} {options}".rstrip() + f" ({'lossless' if enc['lossless'] else 'lossy'}); {kept}.")
    if enc["alpha_dropped"]:
        lines.append("The alpha channel was dropped (the output codec has none).")
    # fewer bits (10-bit input into VP9, 8-bit only here), less colour (4:2:2 into .webm's AV1, 4:2:0 only)
    lines += [note + "." for note in encoder_notes(video["pix_fmt"], enc["pix_fmt"], enc["codec"], enc.get("narrowed"))]
    return lines


def sequence_lines(report: dict, through: str) -> list[str]:
    """The summary's sentences on an image-sequence output (``nlvfi.image_sequence``), made
    ``through`` a video described so."""
    sequence = report["image_sequence"]
    images, fmt = images_text(sequence)
    lines = [
        f"Written as {sequence['files']} {images} ({sequence['pattern']}, from {sequence['first_file']}; {fmt}), "
        f"each read back identical to its frame, through {through}."
    ]
    if sequence["not_held"]:
        lines.append(f"Not in the images (an image sequence holds pictures only): {', '.join(sequence['not_held'])}.")
    return lines


def summary_text(report: dict) -> str:
    """The one-paragraph summary the CLI prints."""
    video, detection = report["video"], report["detection"]
    threshold = detection["threshold"]
    if threshold["mode"] == "fixed":
        chosen = f"fixed threshold {threshold['value']:g} grey levels"
    elif threshold["value"] is not None:
        chosen = f"auto threshold {threshold['value']:.3f} grey levels (MAD per pixel, 0-255)"
    else:
        low, high = threshold["per_pair_range"]
        chosen = f"auto per-pair thresholds {low:.3f}-{high:.3f} grey levels"
    by = detection["runs_by_status"]
    where = {"start": "at the start", "end": "at the end", "cut": "before a scene cut", "too_long": "longer than max_run"}
    left = [f"{by[s]} run{'s' if by[s] > 1 else ''} {where[s]}" for s in where if by[s]]
    runs_total = sum(by.values())
    parts = [
        f"{'Copied' if report['encoder']['codec'] == 'copy' else 'Repaired'} {report['input']} -> {report['output']}: "
        f"{video['frames']} frames, {video['description']}.",
        f"Found {len(detection['duplicates'])} duplicate frames in {runs_total} runs ({chosen})"
        + (f" and {len(detection['cuts'])} scene cuts" if detection["cuts"] else "")
        + ".",
        f"Replaced {report['frames_replaced']} frames in {by['repair']} runs with the {report['model']['size']} generator "
        f"({report['model']['weights']}, {report['model']['device']})"
        + (f"; left {', '.join(left)}" if left else "")
        + ".",
    ]
    staged = report.get("input_staged")
    if staged:
        parts.insert(1, staging_text(staged))
    faded = len(report["model"].get("fades", {}).get("runs", []))
    if faded:
        parts.append(
            f"{faded} of those runs sit in a fade: both frames of their pair were brought to the brightness of each new "
            "frame's time before the generator (nlvfi.fade; --no-fade turns it off)."
        )
    verification = report["verification"]
    if isinstance(verification, dict) and verification.get("byte_for_byte_copy"):
        copied = "the lossless staging of the input above" if staged else "the input"
        parts.append(
            f"No frame to replace, so the output is {copied} copied byte for byte (SHA-256 checked): every frame, "
            "stream, tag and time as it was, nothing re-encoded (--codec, --crf or --preset re-encode it)."
        )
        if report.get("webp"):
            parts[-1] = webp_text(report["webp"])
        if report.get("apng"):
            parts[-1] = apng_text(report["apng"])
        if report.get("gif"):
            parts[-1] = gif_text(report["gif"])
    else:
        parts += written_text(report)
    if video.get("frame_rate_assumed"):
        parts.append(assumed_rate_text(report["input"], video["codec"], video["frame_rate"]) + ".")
    if video.get("frame_rate_given"):
        parts.append(given_rate_text(video["frame_rate"]) + ".")
    if video.get("alpha_not_decoded"):
        parts.append(ALPHA_NOT_DECODED_TEXT + ".")
    if report.get("streams_not_copied"):
        parts.append(f"Streams not copied: {', '.join(report['streams_not_copied'])}.")
    if report.get("colour", {}).get("lost"):
        parts.append(f"Colour tags not kept: {report['colour']['lost']}.")
    if report.get("deinterlaced"):
        parts.append(deinterlaced_text(report["deinterlaced"]))
    if report.get("icc_profile"):
        parts.append(profile_text(report["icc_profile"]))
    if (report.get("display") or {}).get("lost"):
        parts.append(f"Rotation not kept: {report['display']['lost']}.")
    if (report.get("pixel_aspect") or {}).get("lost"):
        parts.append(f"Picture shape not kept: {report['pixel_aspect']['lost']}.")
    captions = {} if report.get("image_sequence") else report.get("closed_captions") or {}  # images: among what they cannot hold
    if captions.get("lost"):
        parts.append(f"Closed captions not kept: {captions['lost']}.")
    elif captions:
        parts.append(f"Closed captions kept: the input's (in {captions['input_frames']} frames), the replaced frames' included.")
    if report.get("metadata", {}).get("not_kept"):
        parts.append(f"Tags not kept (the {Path(report['output']).suffix} container has no place for them): {', '.join(report['metadata']['not_kept'])}.")
    if detection.get("caution"):
        parts.append(f"Caution: {detection['caution']}.")
    resume = report.get("resume")
    measured_before = resume.get("frames_measured_before") if isinstance(resume, dict) else None
    if isinstance(resume, dict) and (resume["measurements_reused"] or measured_before or resume["runs_reused"] or resume.get("encoded_frames_reused")):
        encoded = resume.get("encoded_frames_reused")
        measured = (
            "its measurements and " if resume["measurements_reused"]
            else f"its measurements of the first {measured_before} frames (the rest measured now) and " if measured_before else ""
        )  # fmt: skip
        parts.append(
            f"Resumed an interrupted run: {measured}"
            f"{resume['runs_reused']} of {by['repair']} repaired runs were read back from {resume['folder']}{taken_over_text(resume)}"
            + (f", and the first {encoded} of {video['frames']} frames were not encoded again (the interrupted run's packets)" if encoded else "")
            + "."
        )
    if isinstance(resume, dict) and resume.get("encoded_frames_note"):
        parts.append(f"Resume: {resume['encoded_frames_note']}.")
    parts.append(f"Took {report['timings']['total_s']:.1f} s.")
    return " ".join(parts)


def figure_title(report: dict) -> str:
    weights = report["model"]["weights"]
    return (
        f"nlvfi repair · {Path(report['input']).name} · {report['frames_replaced']} frames replaced · "
        f"{report['model']['size']} model ({Path(weights).name if weights.endswith('.safetensors') else weights})"
    )


def _crop_box(before: np.ndarray, after: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a size x size box around where the two frames differ most."""
    from .tour import most_changing_pixel

    prev = torch.from_numpy(before).permute(2, 0, 1).unsqueeze(0).float()  # (1, 3, H, W)
    next = torch.from_numpy(after).permute(2, 0, 1).unsqueeze(0).float()
    y, x = most_changing_pixel(prev, next)
    height, width = before.shape[:2]
    h, w = min(size, height), min(size, width)
    y0 = int(np.clip(y - h // 2, 0, height - h))
    x0 = int(np.clip(x - w // 2, 0, width - w))
    return y0, y0 + h, x0, x0 + w


def draw_repair_figure(detection: Detection, example: dict | None = None, title: str = "nlvfi repair", crop: int = 160, extra: dict | None = None):
    """Before/after figure: the adjacent-difference plot with the duplicates marked, and crops.

    The plot carries the detection's caution (``Detection.caution``) when it has one.

    Args:
        detection: of the clip.
        example: {"frame", "t", "before", "input", "repaired", "after"} (H, W, 3) uint8 frames
            of one repaired frame; None draws the plot alone.
        extra: more crops to show, {"title": (H, W, 3) uint8} (e.g. the true frame).
    """
    import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline

    panels = []
    if example:
        box = _crop_box(example["before"], example["after"], crop)
        frame = example["frame"]
        panels = [
            (f"frame {frame - 1} (before)", example["before"]),
            (f"frame {frame} as input (a copy)", example["input"]),
            (f"frame {frame} repaired (t = {example['t']:.2f})", example["repaired"]),
        ] + list((extra or {}).items()) + [(f"frame {example['after_index']} (next distinct)", example["after"])]
    fig = plt.figure(figsize=(14, 7.5 if panels else 4))
    grid = fig.add_gridspec(2 if panels else 1, max(len(panels), 1), height_ratios=[1, 1.15] if panels else [1])
    ax = fig.add_subplot(grid[0, :])
    diffs = detection.diffs
    x = np.arange(1, len(diffs) + 1)  # pair i is plotted at frame i + 1
    shown = np.maximum(diffs, 1e-3)
    ax.semilogy(x, shown, "-", color="0.4", lw=1, label="MAD(frame k-1, frame k)")
    ax.semilogy(x, np.maximum(detection.thresholds, 1e-3), "--", color="tab:green", lw=1, label="threshold")
    if detection.peaks is not None:  # the peak 16x16-block difference that auto also uses
        ax.semilogy(x, np.maximum(detection.peaks, 1e-3), "-", color="tab:blue", lw=0.8, alpha=0.6, label="peak block difference")
        if detection.peak_thresholds is not None:
            ax.semilogy(x, np.maximum(detection.peak_thresholds, 1e-3), ":", color="tab:blue", lw=1, label="peak threshold")
    colours = {"repair": "tab:red", "start": "tab:orange", "end": "tab:orange", "cut": "tab:purple", "too_long": "tab:brown"}
    for status, colour in colours.items():
        frames = [i for run in detection.runs if run.status == status for i in range(run.first, run.last + 1)]
        if frames:
            label = "duplicate, repaired" if status == "repair" else f"duplicate, left ({status.replace('_', ' ')})"
            ax.semilogy(frames, shown[np.array(frames) - 1], "o", color=colour, ms=6, label=label)
    for i, cut in enumerate(detection.cuts):
        ax.axvline(cut + 1, color="tab:purple", ls=":", lw=1.5, label="scene cut" if i == 0 else None)
    ax.set_xlabel("frame k")
    ax.set_ylabel("difference (grey levels, log)")
    ax.set_xlim(0, len(diffs) + 1)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    ax.set_title("adjacent differences; 0 is drawn at 0.001", fontsize=10)
    caution = detection.caution  # computed from the diffs on every access: once here
    if caution:  # the figure is often all a reader sees: say it where the plot is
        import textwrap

        ax.text(1.01, 0.0, textwrap.fill(f"Caution: {caution}.", 44), transform=ax.transAxes, fontsize=7,
                color="tab:red", va="bottom", ha="left")  # under the legend, clear of the data
    if panels:
        y0, y1, x0, x1 = box
        for column, (name, image) in enumerate(panels):
            panel = fig.add_subplot(grid[1, column])
            panel.imshow(image[y0:y1, x0:x1])
            panel.set_title(name, fontsize=9)
            panel.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# The command


def _threshold(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number of grey levels, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"the threshold must be >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlvfi repair",
        description="Repair a stuttering video: find duplicated frames and replace them with interpolated ones.",
    )
    parser.add_argument("input", help="the stuttering video (any format PyAV reads; an image sequence as frames/%%04d.png)")
    parser.add_argument(
        "-o", "--output",
        help="the repaired video; container from the extension (.mkv .mp4 .mov .avi .webm .nut .ts .m2ts .mts .flv .wmv); a .gif for GIF input, a .webp for animated WebP input, a .png or .apng for animated PNG input; or numbered PNG images as frames/%%04d.png",
    )  # fmt: skip
    parser.add_argument("--threshold", type=_threshold, default="auto", help="'auto' (default) or a MAD per pixel in grey levels (0-255)")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--figure", help="write the before/after figure here (.png)")
    parser.add_argument("--checkpoint", help=f"generator .safetensors (default {DEFAULT_CHECKPOINT.relative_to(DEFAULT_CHECKPOINT.parents[1])})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    add_encoder_arguments(parser)
    parser.add_argument("--max-run", type=int, default=DEFAULT_MAX_RUN, help=f"longest run of duplicates to repair (default {DEFAULT_MAX_RUN})")
    parser.add_argument("--max-memory-gb", type=float, default=None, help="memory the model may use (default 80%% of free)")
    parser.add_argument("--batch-size", type=int, default=4, help="most frames per forward pass; several runs are batched (default 4)")
    add_speed_arguments(parser)
    add_ensemble_argument(parser, default=DEFAULT_VIEWS)
    parser.add_argument(
        "--no-flow-prior", action="store_true",
        help="start each run's flow from zero instead of the motion of the frames just outside it (nlvfi.flow_prior)",
    )
    add_refinement_arguments(parser, flow_scale="auto", static_motion=STATIC_MOTION)
    parser.add_argument(
        "--no-outside-average", action="store_true",
        help="still pixels blend the pair alone, without the real frames just outside it (nlvfi.static_blend)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip decoding the result to check it")
    parser.add_argument(
        "--no-resume", action="store_true",
        help="neither use nor keep OUT.nlvfi-resume/ (by default an interrupted run keeps its measurements, "
        "generated frames and encoded frames there, and the same command run again goes on from them; "
        "--detect-only keeps its measurements in REPORT.nlvfi-resume/ when --report is given)",
    )
    add_deinterlace_argument(parser)
    add_input_rate_argument(parser)
    parser.add_argument("--detect-only", action="store_true", help="only measure and report the duplicates (no model, no output video)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def detect_only(args: argparse.Namespace) -> int:
    """``nlvfi repair IN --detect-only``: measure, report and print the duplicates; no model, no video."""
    source = Path(args.input)
    check_output_paths(source, {"report": args.report, "figure": args.figure})
    # numbered images FFmpeg misreads are read through an EXR staging (nlvfi.staged_images), beside the report if any
    beside = args.report or Path(tempfile.gettempdir()) / f"detect-{hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]}"
    with staged_input(source, beside, progress=not args.quiet) as (readable, staged), declared_input_rate(readable, args.input_rate):
        store = None  # with a report, an interrupted pass keeps what it measured beside it (nlvfi.resume)
        if args.report and not args.no_resume:
            store = ResumeStore(folder_for(args.report), {"input": input_fingerprint(readable), "pass": "detect-only"})
        with kept_if_interrupted(store):
            analysis = analyze_video(readable, args.threshold, args.max_run, progress=not args.quiet, store=store)
    detection = analysis.detection
    staged_from = staged["described"] if staged is not None else None
    report = {"input": str(source), "video": {"description": analysis.info.describe(staged_from), "frames": analysis.frame_count},
              "detection": detection.to_dict(), "timings": {"measure_s": round(analysis.seconds, 2)}}
    if staged is not None:
        report["input_staged"] = staged
    if store is not None:
        report["resume"] = {**store.outcome(), "frames_measured_before": analysis.frames_measured_before}
    if args.report:
        atomic_write(args.report, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2) + "\n"))
    if args.figure:
        save_figure(draw_repair_figure(detection, None, f"nlvfi repair --detect-only · {source.name}"), args.figure)
    value, caution = detection.threshold, detection.caution
    print(
        f"{source}: {analysis.frame_count} frames; {len(detection.duplicates)} duplicate frames in {len(detection.runs)} runs "
        f"({len(detection.repairable)} repairable), {len(detection.cuts)} scene cuts; threshold "
        f"{'per pair' if value is None else f'{value:.4f}'} ({detection.mode})"
        + (f"; frames 0-{analysis.frames_measured_before - 1} measured by an interrupted run" if analysis.frames_measured_before else "")
        + (f". Caution: {caution}." if caution else "")
    )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.max_run < 1:
        raise ValueError(f"--max-run must be >= 1, got {args.max_run}")
    if args.detect_only:
        with declared_input_rate(args.input, args.input_rate):
            return detect_only(args)
    if not args.output:
        raise ValueError("missing -o OUT (or use --detect-only)")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    check_speed_arguments(args)
    expandable_cuda_segments(args.device)  # the budget holds in what is reserved, not only allocated (nlvfi.acceleration)
    keep_freed_cpu_memory(args.device)  # on the CPU, each call's memory is not handed back and faulted in again
    report = repair_video(
        args.input,
        args.output,
        threshold=args.threshold,
        checkpoint=args.checkpoint,
        device=args.device,
        codec=args.codec,
        crf=args.crf,
        preset=args.preset,
        max_run=args.max_run,
        max_memory_gb=args.max_memory_gb,
        report_path=args.report,
        figure_path=args.figure,
        verify=not args.no_verify,
        resume=not args.no_resume,
        progress=not args.quiet,
        batch_size=args.batch_size,
        tile=args.tile,
        overlap=args.overlap,
        compile_model=args.compile,
        views=args.ensemble,
        flow_prior=not args.no_flow_prior,
        outside_average=not args.no_outside_average,
        flow_scale=args.flow_scale,
        static_motion=args.static_motion,
        fade=not args.no_fade,
        input_rate=args.input_rate,
        deinterlace=args.deinterlace,
    )
    text = summary_text(report)
    written = [p for p in (args.report, args.figure) if p]
    print(text + (f" Wrote {', '.join(written)}." if written else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``nlvfi repair ...``: 0 on success; on bad input a one-line error, exit 2, nothing at OUT."""
    from .cli import guarded_main

    return guarded_main("repair", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
