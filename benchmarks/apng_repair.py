"""Stuttering animated PNGs repaired as APNGs (`nlvfi repair in.png -o out.png`): detection, quality, size, times.

    python benchmarks/apng_repair.py --out results/apng_repair.md     # the table in results/ (a few minutes on 2 cores)
    python benchmarks/apng_repair.py --clips vtest --frames 30 --seeds 0 --codings palette

The APNGs are made from the held-out parts of the OpenCV clips (``benchmarks/repair_quality.py``'s
``vtest``, ``megamind`` and ``tree``; run ``nlvfi data fetch`` first), their first ``--frames``
frames shrunk to at most ``--max-side`` pixels:

1. copies injected as the repair benchmark injects them (``repair_quality.inject``, ``--seeds``):
   frame m replaced by frame m-1, in runs of 1-3;
2. written by FFmpeg's APNG encoder (a copy stays a frame, coded as the one changed pixel), every
   frame shown for the clip's frame time as an exact APNG fraction (Megamind's 1001/24000 s,
   which FFmpeg's ticks round, among them), coded ``rgb`` (8-bit RGB) or ``palette`` (PNG colour
   type 3, as stickers are: one palette of 256 colours for the clip, by median cut over every 8th
   frame, every frame in its nearest colours: ``gif_repair.gif_originals``).

APNG is lossless, so the **originals** are the clip's frames as the coding shows them (rgb: the
frames themselves; palette: in the palette's colours). Then the tool runs
(``nlvfi.repair.repair_video``, the shipped checkpoint, its defaults, ``-o out.png``). Per clip (all
seeds together) it prints: detection precision and recall; the untouched frames identical to the
input's as FFmpeg decodes them; whether every delay came back exactly (the fcTL fractions) and
FFmpeg reads the output's frame times as the input's; the mean PSNR (dB, 8-bit R, G, B) against the
originals of the repaired copies as: the copy left in, the time-weighted average of the two frames
around the run, and the APNG the tool wrote; then the output's size against the input's, and
the size of the same output frames coded as RGB against the input's (what the tool wrote of a
palette APNG before it kept the palette), the seconds the APNG step took (coding and reading back) and the tool's wall time per APNG (the model
loaded in each call; whatever else the machine ran).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.apng_output import MAX_DELAY_TERM, apng_info, ffmpeg_times, set_delay  # noqa: E402
from nlvfi.repair import repair_video  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as fades.py imports them
import gif_repair  # noqa: E402
import repair_quality  # noqa: E402


def frame_delay(rate: float) -> tuple[int, int]:
    """The clip's frame time as an APNG delay: the closest fraction with 16-bit terms."""
    delay = Fraction(1 / rate).limit_denominator(MAX_DELAY_TERM)
    return delay.numerator, delay.denominator


def write_apng(path: Path, frames: list[np.ndarray], delay: tuple[int, int], palette: np.ndarray | None = None) -> Path:
    """An APNG of (H, W, 3) uint8 frames by FFmpeg's encoder, each shown ``delay`` (module doc,
    step 2): RGB, or (``palette``: (N, 3) uint8 colours the frames are drawn in) a palette APNG."""
    import av

    rows, lookup = None, None
    if palette is not None:  # PyAV's pal8 rows are A, R, G, B; a frame's colours become indices
        rows = np.zeros((256, 4), np.uint8)
        rows[:, 0], rows[: len(palette), 1:] = 255, palette
        lookup = {tuple(colour): index for index, colour in reversed(list(enumerate(palette.tolist())))}
    with av.open(str(path), "w", format="apng", options={"plays": "0"}) as container:
        stream = container.add_stream("apng", rate=1)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.time_base = "rgb24" if rows is None else "pal8", Fraction(1, 1)
        stream.options = {"pred": "mixed"}  # as the tool codes its APNGs
        for index, picture in enumerate(frames):
            if rows is None:
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            else:
                colours, inverse = np.unique(picture.reshape(-1, 3), axis=0, return_inverse=True)
                indices = np.array([lookup[tuple(colour)] for colour in colours.tolist()], np.uint8)[inverse.ravel()]
                frame = av.VideoFrame.from_ndarray((indices.reshape(picture.shape[:2]), rows), format="pal8")
            frame.pts, frame.time_base = index, Fraction(1, 1)
            packets = list(stream.encode(frame)) + (list(stream.encode()) if index == len(frames) - 1 else [])
            for packet in packets:
                set_delay(packet, delay)
                container.mux(packet)
    return path


def measure(frames: list[np.ndarray], rate: float, seed: int, folder: Path, checkpoint: Path | None, coding: str = "rgb") -> dict:
    """One stuttering APNG (the module docstring) repaired by the tool: the row's counts and sums."""
    palette = None
    if coding == "palette":
        frames = gif_repair.gif_originals(frames)  # the frames as the palette shows them: the originals
        palette = np.unique(np.concatenate([frame.reshape(-1, 3) for frame in frames]), axis=0)
    stuttered, duplicates = repair_quality.inject(frames, seed)
    source = write_apng(folder / f"stutter_{coding}_{seed}.png", stuttered, frame_delay(rate), palette)
    output = folder / f"repaired_{coding}_{seed}.png"
    started = time.perf_counter()
    report = repair_video(source, output, checkpoint=checkpoint, progress=False)
    seconds = time.perf_counter() - started
    shown, written = gif_repair.decoded_rgb(source), gif_repair.decoded_rgb(output)
    flagged, truth = set(report["detection"]["duplicates"]), set(duplicates)
    replaced = {entry["frame"] for entry in report["replaced"]}
    untouched = [i for i in range(len(written)) if i not in replaced]
    row = {"flagged": len(flagged), "true_flagged": len(flagged & truth), "copies": len(truth), "seconds": seconds,
           "apng_seconds": report["timings"].get("apng_s", 0.0), "bytes_in": source.stat().st_size, "bytes_out": output.stat().st_size,
           "identical": sum(np.array_equal(written[i], shown[i]) for i in untouched), "untouched": len(untouched),
           "delays_exact": apng_info(output).delays == apng_info(source).delays, "times_as_input": ffmpeg_times(output) == ffmpeg_times(source),
           "psnr": {"copy": [], "average": [], "nlvfi": []}}  # fmt: skip
    gif_repair.score_copies(row, report, truth, shown, written, frames)
    row["coded_as"] = report["apng"]["pix_fmt"]
    row["bytes_as_rgb"] = write_apng(folder / f"as_rgb_{coding}_{seed}.png", written, frame_delay(rate)).stat().st_size
    return row


def format_table(rows: dict[tuple[str, str], list[dict]], frames: int, max_side: int, seeds: list[int]) -> str:
    lines = [
        f"Animated PNGs from the held-out OpenCV clips, first {frames} frames at most {max_side} px, written by FFmpeg's APNG encoder, "
        f"seeds {','.join(map(str, seeds))}; `nlvfi repair in.png -o out.png`, shipped checkpoint, defaults. PSNR (dB) of the repaired "
        f"copies against the original frames. {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| clip | input | copies | precision | recall | untouched identical | delays exact | FFmpeg times as input | copy left in | average "
        "| nlvfi APNG | written as | size out / in | same frames as RGB / in | APNG step s | seconds per APNG |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for (clip, coding), found in rows.items():
        lines.append(
            f"| {clip} | {coding} | {gif_repair.detection_cells(found)} "
            f"| {sum(r['delays_exact'] for r in found)}/{len(found)} | {sum(r['times_as_input'] for r in found)}/{len(found)} "
            f"| {gif_repair.psnr_cells(found)} | {', '.join(sorted({r['coded_as'] for r in found}))} | {gif_repair.size_ratio(found):.2f} "
            f"| {sum(r['bytes_as_rgb'] for r in found) / sum(r['bytes_in'] for r in found):.2f} "
            f"| {np.mean([r['apng_seconds'] for r in found]):.2f} | {np.mean([r['seconds'] for r in found]):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = gif_repair.clip_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "APNGs")
    parser.add_argument("--codings", default="rgb,palette", help="input codings, comma list (rgb, palette)")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = gif_repair.measured_codings(
        args, args.codings.split(","), "APNGs", lambda frames, rate, coding, seed, folder: measure(frames, rate, seed, folder, args.checkpoint, coding)
    )
    gif_repair.show_table(format_table(rows, args.frames, args.max_side, seeds), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
