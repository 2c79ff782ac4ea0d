"""Stuttering animated WebPs repaired as WebPs (`nlvfi repair in.webp -o out.webp`): detection, quality, size.

    python benchmarks/webp_repair.py --out results/webp_repair.md     # the table in results/ (a few minutes on 2 cores)
    python benchmarks/webp_repair.py --clips vtest --frames 30 --seeds 0 --codings lossless

The WebPs are made from the held-out parts of the OpenCV clips (``benchmarks/repair_quality.py``'s
``vtest``, ``megamind`` and ``tree``; run ``nlvfi data fetch`` first), their first ``--frames``
frames shrunk to at most ``--max-side`` pixels:

1. copies injected as the repair benchmark injects them (``repair_quality.inject``, ``--seeds``):
   frame m replaced by frame m-1, in runs of 1-3;
2. written as an animated WebP, each frame shown for ``round(1000 / rate)`` ms, every frame its own
   (``nlvfi.webp_writer``: libwebp's own animation encoder would merge each copy into the frame
   before as a longer duration, a "hold", which leaves nothing to detect), coded ``lossless``
   (VP8L) or ``lossy`` (VP8 at quality 80, libwebp's usual setting).

The **originals** are the clip's frames as the same coding gives them where nothing is missing
(lossless: the frames themselves; lossy: the WebP of the originals, decoded by libwebp). Then the
tool itself runs (``nlvfi.repair.repair_video``, the shipped checkpoint, its defaults,
``-o out.webp``). Per clip and coding (all seeds together) it prints: detection precision and
recall; the untouched frames identical to the input's as libwebp decodes them (lossless) or their
lowest PSNR against them (lossy: the output is VP8 again, at quality 95); the mean PSNR (dB, 8-bit
R, G, B) against the originals of the repaired copies as: the copy left in, the time-weighted
average of the two input frames around the run, and the WebP the tool wrote; then the output's
size against the input's, and the tool's wall time per WebP (the model loaded in each call;
whatever else the machine ran).
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.animated_webp import webp_frames  # noqa: E402
from nlvfi.repair import repair_video  # noqa: E402
from nlvfi.webp_output import psnr_db  # noqa: E402
from nlvfi.webp_writer import WebpEncoder  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as fades.py imports them
import gif_repair  # noqa: E402
import repair_quality  # noqa: E402

#: the input WebPs' codings: libwebp's quality for lossy (None: lossless)
CODINGS = {"lossless": None, "lossy": 80}


def webp_bytes(frames: list[np.ndarray], duration_ms: int, quality: int | None) -> bytes:
    """An animated WebP of (H, W, 3) uint8 frames, every frame its own (module doc, step 2)."""
    buffer = io.BytesIO()
    encoder = WebpEncoder(buffer, frames[0].shape[1], frames[0].shape[0], alpha=False, loop=0, quality=quality)
    for frame in frames:
        encoder.add(frame, duration_ms)
    encoder.close()
    return buffer.getvalue()


def decoded(path: Path) -> list[np.ndarray]:
    """The frames as libwebp composes them, (H, W, 3) uint8."""
    return [picture.copy() for picture, _, _ in webp_frames(path)]


def measure(frames: list[np.ndarray], rate: float, coding: str, seed: int, folder: Path, checkpoint: Path | None) -> dict:
    """One stuttering WebP (the module docstring) repaired by the tool: the row's counts and sums."""
    stuttered, duplicates = repair_quality.inject(frames, seed)
    duration = max(1, round(1000 / rate))
    source = folder / f"stutter_{coding}_{seed}.webp"
    source.write_bytes(webp_bytes(stuttered, duration, CODINGS[coding]))
    originals = frames
    if CODINGS[coding] is not None:  # what the lossy WebP shows where nothing is missing
        reference = folder / f"originals_{coding}.webp"
        reference.write_bytes(webp_bytes(frames, duration, CODINGS[coding]))
        originals = decoded(reference)
    output = folder / f"repaired_{coding}_{seed}.webp"
    started = time.perf_counter()
    report = repair_video(source, output, checkpoint=checkpoint, progress=False)
    seconds = time.perf_counter() - started
    shown, written = decoded(source), decoded(output)
    flagged, truth = set(report["detection"]["duplicates"]), set(duplicates)
    replaced = {entry["frame"] for entry in report["replaced"]}
    untouched = [psnr_db(written[i], shown[i]) for i in range(len(written)) if i not in replaced]
    row = {"flagged": len(flagged), "true_flagged": len(flagged & truth), "copies": len(truth), "seconds": seconds,
           "bytes_in": source.stat().st_size, "bytes_out": output.stat().st_size, "psnr": {"copy": [], "average": [], "nlvfi": []},
           "identical": sum(np.isinf(value) for value in untouched), "untouched": len(untouched), "untouched_min_db": min(untouched)}  # fmt: skip
    gif_repair.score_copies(row, report, truth, shown, written, originals)
    return row


def format_table(rows: dict[tuple[str, str], list[dict]], frames: int, max_side: int, seeds: list[int]) -> str:
    lines = [
        f"Animated WebPs from the held-out OpenCV clips, first {frames} frames at most {max_side} px, every frame its own, "
        f"seeds {','.join(map(str, seeds))}; `nlvfi repair in.webp -o out.webp`, shipped checkpoint, defaults. "
        f"PSNR (dB) of the repaired copies against the originals as the coding shows them. {platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {time.strftime('%Y-%m-%d')}.",
        "",
        "| clip | input coding | copies | precision | recall | untouched identical | untouched min PSNR | copy left in | average | nlvfi WebP | size out / in | seconds per WebP |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (clip, coding), found in rows.items():
        lowest = min(r["untouched_min_db"] for r in found)
        lines.append(
            f"| {clip} | {coding} | {gif_repair.detection_cells(found)} | {'identical' if np.isinf(lowest) else f'{lowest:.2f}'} "
            f"| {gif_repair.psnr_cells(found)} | {gif_repair.size_ratio(found):.2f} | {np.mean([r['seconds'] for r in found]):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = gif_repair.clip_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "WebPs")
    parser.add_argument("--codings", default="lossless,lossy", help="input codings, comma list (lossless, lossy)")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = gif_repair.measured_codings(
        args, args.codings.split(","), "WebPs", lambda frames, rate, coding, seed, folder: measure(frames, rate, coding, seed, folder, args.checkpoint)
    )
    table = format_table(rows, args.frames, args.max_side, seeds)
    gif_repair.show_table(table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
