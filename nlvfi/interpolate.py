"""Interpolating frames with a trained generator: the ``nlvfi interpolate`` command.

Method: METHOD.md §4 step 3 (¶0218–0220: generate the missing frame from the pair around it)
and §4's last paragraph (arbitrary time t, frame sizes that are not multiples of the stride:
the generator pads and crops itself). Notebook: notebooks/10_video_repair.ipynb

    nlvfi interpolate PREV.png NEXT.png -o MID.png [--t 0.5] [--checkpoint C] [--device D]
    nlvfi interpolate --batch pairs.csv [--checkpoint C] [--device D]
    nlvfi interpolate IN_VIDEO -o OUT_VIDEO [--factor 2|4] [--codec C] [--crf N]

``--batch``: one line per pair, ``prev,next,out`` (optionally a 4th column ``t``); blank lines,
``#`` comments and a ``prev,next,out`` header are skipped; relative paths are relative to the
CSV's folder. Every line is checked before the model runs; the model is loaded once, and pairs
of one size go through it together (``--batch-size``).

``--factor F`` (frame-rate up-conversion): F - 1 frames at t = 1/F, ..., (F-1)/F between every
two input frames (one generator call per gap), timestamps exactly in between on a time base F
times finer, the frame rate multiplied by F, audio copied; N frames give F(N-1)+1. Lossless
input gives lossless output (the original frames stay bit-identical), see ``nlvfi.videoio``.

This module also holds what the repair tool shares: the default checkpoint, loading it with a
clear error, the memory estimate that refuses frames too large for the machine, and batched
generation at several times t (:func:`generate`).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import CheckpointError, atomic_write, load_generator
from .generator import Generator
from .tour import pick_device
from .videoio import (
    AudioPacket,
    VideoError,
    VideoReader,
    VideoWriter,
    container_for,
    frame_alpha,
    frame_to_rgb,
    rgb_to_frame,
    rgb_to_tensor,
    same_file,
    tensor_to_rgb,
)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "nlvfi-cpu.safetensors"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

#: peak working memory per (padded) pixel and frame of a forward pass, bytes: the
#: "RSS over loaded model" column of results/bench_cpu.md at 1920x1080, plus ~15% margin
BYTES_PER_PIXEL = {"tiny": 1600, "small": 2000, "full": 3200}
_UNKNOWN_BYTES_PER_PIXEL = 3200


# --------------------------------------------------------------------------------------------
# Model and memory


def load_model(checkpoint: str | os.PathLike | None, device: str | torch.device = "auto") -> tuple[Generator, str]:
    """The generator of ``checkpoint`` (default: the shipped one) in eval mode, and its path.

    Raises CheckpointError (a ValueError) for a missing, corrupt or foreign file; the message
    says how to get the shipped checkpoint when that is what is missing.
    """
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    dev = pick_device(device) if isinstance(device, str) else device
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is available here; use --device cpu (or auto)")
    if not path.is_file():
        hint = (
            " (the shipped checkpoint is made by `bash scripts/make_checkpoint.sh`; or pass --checkpoint PATH)"
            if checkpoint is None
            else ""
        )
        raise CheckpointError(f"checkpoint not found: {path}{hint}")
    generator = load_generator(path, device=dev)
    generator.eval()
    return generator, str(path)


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


def memory_needed(generator: Generator, height: int, width: int, batch: int = 1) -> int:
    """Estimated peak bytes of a forward pass on ``batch`` frames of height x width."""
    stride = generator.config.stride
    padded = math.ceil(height / stride) * stride * math.ceil(width / stride) * stride
    return batch * (padded * bytes_per_pixel(generator) + 6 * 4 * height * width)  # + inputs/outputs


def available_memory(device: torch.device) -> int:
    """Free memory of ``device`` in bytes (CUDA: free GPU memory; CPU: MemAvailable)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
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


def frames_per_call(generator: Generator, height: int, width: int, budget: int, device: torch.device) -> int:
    """How many frames of this size one forward pass may take; VideoError when not even one fits.

    Refusing (rather than tiling) keeps the non-local branch exact: its attention spans the
    whole frame, which tiles would cut.
    """
    one = memory_needed(generator, height, width, 1)
    if one > budget:
        raise VideoError(
            f"a {width}x{height} frame needs about {format_bytes(one)} for the {generator.config.name} model "
            f"on {device.type}, more than the {format_bytes(budget)} budget; use a machine with more memory, "
            f"raise --max-memory-gb, or downscale the video"
        )
    return max(1, budget // one)


@torch.inference_mode()
def generate(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    times: Sequence[float],
    max_batch: int = 8,
) -> torch.Tensor:
    """Frames at every t in ``times`` between ``prev`` and ``next``, in as few calls as fit.

    Args:
        prev, next: (1, 3, H, W) float in [0, 1] on the generator's device.
        times: k values in (0, 1).
        max_batch: most frames per forward pass (see :func:`frames_per_call`).
    Returns:
        (k, 3, H, W) float in [0, 1].
    """
    outputs = []
    for start in range(0, len(times), max_batch):
        chunk = torch.tensor(list(times[start : start + max_batch]), dtype=prev.dtype, device=prev.device)  # (b,)
        b = len(chunk)
        frames = generator(prev.expand(b, -1, -1, -1), next.expand(b, -1, -1, -1), t=chunk).frame  # (b, 3, H, W)
        outputs.append(frames)
    return torch.cat(outputs)  # (k, 3, H, W)


# --------------------------------------------------------------------------------------------
# Image pairs


def _check_image_output(path: Path, inputs: Sequence[Path]) -> None:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"output {path} must be an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    for source in inputs:
        if same_file(source, path):
            raise ValueError(f"output {path} is the input {source}; choose another file")
    if path.is_dir():
        raise ValueError(f"output {path} is a folder")


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
    with open(path, newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
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
                _check_image_output(out, (prev, next))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}") from None
            jobs.append(PairJob(prev, next, out, t, number))
    if not jobs:
        raise ValueError(f"{path} lists no pairs (expected lines prev,next,out[,t])")
    return jobs


def interpolate_images(
    jobs: Sequence[PairJob],
    generator: Generator,
    max_memory_gb: float | None = None,
    batch_size: int = 4,
    progress: bool = False,
) -> list[Path]:
    """Run every job (pairs of one size batched together); return the written paths."""
    from .io import read_frame, write_frame

    device = model_device(generator)
    budget = memory_budget(device, max_memory_gb)
    written = []
    pending: list[tuple[PairJob, torch.Tensor, torch.Tensor]] = []

    def flush():
        if not pending:
            return
        prev = torch.cat([p for _, p, _ in pending]).to(device)  # (b, 3, H, W)
        next = torch.cat([n for _, _, n in pending]).to(device)
        times = torch.tensor([job.t for job, _, _ in pending], device=device)  # (b,)
        with torch.inference_mode():
            frames = generator(prev, next, t=times).frame  # (b, 3, H, W)
        for (job, _, _), frame in zip(pending, frames):
            write_frame(frame.cpu(), job.out)
            written.append(job.out)
        pending.clear()

    for job in tqdm(jobs, desc="interpolating", unit="pair", disable=not progress):
        prev, next = read_frame(job.prev), read_frame(job.next)  # (1, 3, H, W) each
        if prev.shape != next.shape:
            where = f"line {job.line}: " if job.line else ""
            raise ValueError(
                f"{where}{job.prev.name} is {prev.shape[-1]}x{prev.shape[-2]} but {job.next.name} is "
                f"{next.shape[-1]}x{next.shape[-2]}; the two frames must have the same size"
            )
        height, width = prev.shape[-2:]
        limit = min(batch_size, frames_per_call(generator, height, width, budget, device))
        if pending and (pending[0][1].shape != prev.shape or len(pending) >= limit):
            flush()
        pending.append((job, prev, next))
    flush()
    return written


# --------------------------------------------------------------------------------------------
# Video frame-rate up-conversion


def interpolate_video(
    source: str | os.PathLike,
    output: str | os.PathLike,
    generator: Generator,
    factor: int = 2,
    codec: str | None = None,
    crf: int | None = None,
    max_memory_gb: float | None = None,
    progress: bool = True,
) -> dict:
    """Multiply the frame rate of ``source`` by ``factor``; write ``output`` atomically.

    Returns a summary dict (frames in/out, encoder, timings). Raises FileNotFoundError,
    VideoError (not a video, 0/1 frame, corrupt, frame too large), ValueError.
    """
    source, output = Path(source), Path(output)
    if factor not in (2, 4):
        raise ValueError(f"--factor must be 2 or 4, got {factor}")
    if not source.exists() and "%" not in source.name:
        raise FileNotFoundError(f"no such video: {source}")
    if same_file(source, output):
        raise ValueError(f"output {output} is the input; choose another file (the input is never overwritten)")
    container = container_for(output)
    device = model_device(generator)
    started = time.perf_counter()
    summary: dict = {}

    def write(tmp: str) -> None:
        with VideoReader(source) as reader:
            info = reader.info
            budget = memory_budget(device, max_memory_gb)
            per_call = frames_per_call(generator, info.height, info.width, budget, device)
            writer = VideoWriter(
                tmp, container, info, codec, crf, audio_from=reader.container,
                time_base=info.time_base / factor, rate=info.rate * factor if info.rate else None,
            )
            traits = info.traits
            times = [j / factor for j in range(1, factor)]
            previous = None  # (DecodedFrame, (1, 3, H, W) tensor, alpha)
            generated = 0
            try:
                bar = tqdm(total=info.announced_frames or None, desc="up-converting", unit="frame", disable=not progress)
                for item in reader.items(audio=True):
                    if isinstance(item, AudioPacket):
                        writer.mux_audio(item)
                        continue
                    rgb = frame_to_rgb(item.frame, traits)
                    current = (item, rgb_to_tensor(rgb).to(device), frame_alpha(item.frame, traits))
                    if previous is not None:
                        if current[1].shape != previous[1].shape:
                            raise VideoError(f"{source}: the frame size changes at frame {item.index}")
                        frames = generate(generator, previous[1], current[1], times, per_call)  # (F-1, 3, H, W)
                        step = item.pts - previous[0].pts
                        for j, frame in enumerate(frames, start=1):
                            alpha = None
                            if previous[2] is not None:
                                t = j / factor
                                alpha = np.round((1 - t) * previous[2] + t * current[2]).astype(previous[2].dtype)
                            out = rgb_to_frame(tensor_to_rgb(frame, rgb.dtype), writer.choice.pix_fmt, alpha)
                            writer.write(out, previous[0].pts * factor + j * step)
                            generated += 1
                    writer.write(item.frame, item.pts * factor)
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
            except BaseException:
                writer.abort()
                raise
            summary.update(
                frames_in=reader.count,
                frames_out=writer.frames_written,
                generated=generated,
                encoder=writer.choice.describe(),
                encoder_reason=writer.choice.reason,
                audio_streams=len(writer.audio),
                input=info.describe(),
            )

    atomic_write(output, write)
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
    parser.add_argument("-o", "--output", help="output image (pair) or video (--factor)")
    parser.add_argument("--t", type=float, default=0.5, help="time of the output between PREV (0) and NEXT (1); default 0.5")
    parser.add_argument("--batch", help="CSV of prev,next,out[,t] lines (paths relative to the CSV)")
    parser.add_argument("--batch-size", type=int, default=4, help="pairs per forward pass in --batch mode (default 4)")
    parser.add_argument("--factor", type=int, choices=(2, 4), default=None, help="video: multiply the frame rate by 2 or 4")
    parser.add_argument("--checkpoint", help=f"generator .safetensors (default {DEFAULT_CHECKPOINT.relative_to(DEFAULT_CHECKPOINT.parents[1])})")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--codec", help="video: output encoder (default: FFV1 for lossless input, else libx264)")
    parser.add_argument("--crf", type=int, default=None, help="video: quality of crf-based encoders (default 16)")
    parser.add_argument("--max-memory-gb", type=float, default=None, help="memory the model may use (default 80%% of free)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.batch:
        if args.inputs or args.output:
            raise ValueError("--batch takes no other inputs and no -o (the CSV names the outputs)")
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
        jobs = read_batch_csv(args.batch)
        generator, checkpoint = load_model(args.checkpoint, args.device)
        started = time.perf_counter()
        written = interpolate_images(jobs, generator, args.max_memory_gb, args.batch_size, progress=not args.quiet)
        print(f"wrote {len(written)} frames from {args.batch} with {checkpoint} in {time.perf_counter() - started:.1f} s")
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
        generator, checkpoint = load_model(args.checkpoint, args.device)
        interpolate_images([job], generator, args.max_memory_gb)
        print(f"wrote {out} (t = {job.t:g}) with {checkpoint}")
        return 0
    if len(args.inputs) == 1:
        if not args.output:
            raise ValueError("missing -o OUT_VIDEO")
        source = Path(args.inputs[0])
        if source.suffix.lower() in IMAGE_SUFFIXES and "%" not in source.name:
            raise ValueError(f"{source} is an image; give two images (PREV NEXT) or one video")
        if not source.exists() and "%" not in source.name:
            raise FileNotFoundError(f"no such video: {source}")
        if same_file(source, args.output):
            raise ValueError(f"output {args.output} is the input; choose another file (the input is never overwritten)")
        container_for(args.output)
        generator, checkpoint = load_model(args.checkpoint, args.device)
        summary = interpolate_video(
            source, args.output, generator, args.factor or 2, args.codec, args.crf, args.max_memory_gb, progress=not args.quiet
        )
        print(
            f"wrote {args.output}: {summary['frames_in']} frames -> {summary['frames_out']} "
            f"({summary['generated']} generated, x{args.factor or 2} frame rate) with {checkpoint}; "
            f"{summary['encoder']}; {summary['audio_streams']} audio stream(s) copied; {summary['seconds']} s"
        )
        return 0
    raise ValueError("give PREV NEXT -o OUT, or --batch pairs.csv, or VIDEO -o OUT --factor 2|4")


def main(argv: Sequence[str] | None = None) -> int:
    """``nlvfi interpolate ...``: 0 on success; on bad input a one-line error and 2."""
    from .cli import guarded_main

    return guarded_main("interpolate", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
