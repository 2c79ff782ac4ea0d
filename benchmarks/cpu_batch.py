"""Frames per forward pass and the C allocator on the CPU: how fast the tools' generator call is.

    python benchmarks/cpu_batch.py --repeats 2 --out results/cpu_batch.md   # about 15 min on 2 cores
    python benchmarks/cpu_batch.py --resolutions 1280x720 --batches 1 4 --repeats 2

Why: ``nlvfi repair`` puts up to 4 frames (of one run or of several) through the generator in one
call, on every device. On 2 CPU cores a 1280x720 screen recording's 25 repaired frames took 78 s
of generator time one frame per call and 109 s four per call (``--ensemble 1``, ad hoc), and the
process spent a fifth of its CPU time in the kernel: glibc's malloc hands every freed block of
32 MiB or more back to the kernel, and the next call's feature maps come back as fresh pages
(``nlvfi.acceleration.keep_freed_cpu_memory``, which the tools now call on the CPU). This
script measures the call (``nlvfi.interpolate.forward_frames`` with the repair's automatic plan
on the CPU: flow scale ``auto``, static blending below 0.5 px, fades taken out, tiles where
that plan takes them; one view, as each of the ensemble's views runs on its own) at each ``--batches``
size, on ``--frames`` different pairs of the held-out parts of vtest and Megamind
(``benchmarks/repair_quality.py``; run ``nlvfi data fetch`` first), enlarged bicubic to each
resolution as in ``benchmarks/cpu_tiles.py``. Per resolution and batch size it prints the median
over ``--repeats`` of the seconds per frame (the ``--frames`` pairs in calls of that size, after
one warm-up call of that size; the batch sizes take turns within each repeat), the ratio to one
frame per call, the share of the process's CPU time spent in the kernel (page faults of fresh
allocations show there), and the largest difference of the frames, rounded to 8 bits, from
those made one per call (a batch should not change a frame). It measures twice, each time in a
fresh process (``--allocator``): with glibc's defaults ("system") and with the freed memory kept
("kept"); the ratio column compares every row with one frame per call under the system's
allocator at the same resolution.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.acceleration import keep_freed_cpu_memory  # noqa: E402
from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.interpolate import DEFAULT_CHECKPOINT, forward_frames, load_model, plan_inference  # noqa: E402
from nlvfi.static_blend import STATIC_MOTION  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
import cpu_tiles  # noqa: E402  (triplets, enlarge, as_written, parse_resolution)


def pairs_at(samples, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (prev, next) frames of each triplet enlarged to width x height: (F, 3, H, W) each."""
    prev = torch.cat([cpu_tiles.enlarge(frames[0], width, height) for _, _, frames in samples])
    next = torch.cat([cpu_tiles.enlarge(frames[2], width, height) for _, _, frames in samples])
    return prev, next


def run_in_calls(generator, plan, prev: torch.Tensor, next: torch.Tensor, batch: int) -> torch.Tensor:
    """Every pair's middle frame, ``batch`` pairs per call: (F, 3, H, W)."""
    made = []
    for start in range(0, len(prev), batch):
        chunk = slice(start, start + batch)
        t = torch.full((len(prev[chunk]),), 0.5)  # (b,)
        made.append(forward_frames(generator, prev[chunk], next[chunk], t, plan))  # (b, 3, H, W)
    return torch.cat(made)


def measure(generator, resolution: tuple[int, int], batches: list[int], repeats: int, samples) -> list[dict]:
    width, height = resolution
    plan = plan_inference(
        generator, height, width, 1 << 50, torch.device("cpu"), views=1, flow_scale="auto", static_motion=STATIC_MOTION, fade=True
    )
    prev, next = pairs_at(samples, width, height)  # (F, 3, H, W) each
    for batch in batches:  # one warm-up call of each size
        forward_frames(generator, prev[:batch], next[:batch], torch.full((batch,), 0.5), plan)
    seconds: dict[int, list[float]] = {batch: [] for batch in batches}
    kernel: dict[int, list[float]] = {batch: [] for batch in batches}
    made: dict[int, torch.Tensor] = {}
    for _ in range(repeats):
        for batch in batches:
            cpu_before, started = os.times(), time.perf_counter()
            frames = run_in_calls(generator, plan, prev, next, batch)
            seconds[batch].append((time.perf_counter() - started) / len(prev))
            cpu_after = os.times()
            user, system = cpu_after.user - cpu_before.user, cpu_after.system - cpu_before.system
            kernel[batch].append(system / max(user + system, 1e-9))
            made.setdefault(batch, cpu_tiles.as_written(frames))
    one = min(batches)
    rows = []
    for batch in batches:
        rows.append({
            "resolution": f"{width}x{height}", "plan": plan.describe().split(", up to")[0] + ("" if plan.flow_scale == 1 else ", flow at 2x"),
            "batch": batch, "seconds": statistics.median(seconds[batch]), "kernel": statistics.median(kernel[batch]),
            "levels": float((made[batch] - made[one]).abs().max()) * 255,
            "digest": hashlib.sha256((made[batch] * 255).round().to(torch.uint8).numpy().tobytes()).hexdigest(),
        })  # fmt: skip
    return rows


def format_table(rows: list[dict], frames: int, repeats: int, threads: int, seconds: float, command: str) -> str:
    """The Markdown table of ``rows`` (:func:`measure`'s, each with its ``allocator``)."""
    resolutions = list(dict.fromkeys(row["resolution"] for row in rows))
    for row in rows:
        same = [r for r in rows if r["resolution"] == row["resolution"]]
        base = min((r for r in same if r["allocator"] == "system"), key=lambda r: r["batch"], default=same[0])
        row["ratio"] = row["seconds"] / base["seconds"]
        twin = next((r for r in same if r["allocator"] == "system" and r["batch"] == row["batch"]), None)
        row["as_system"] = "-" if twin is None or twin is row else "identical" if twin["digest"] == row["digest"] else "differ"
    lines = [
        "# Frames per forward pass on the CPU: the tools' generator call",
        "",
        f"`{command}`: x86_64, {threads} torch threads, torch {torch.__version__}, shipped `tiny` checkpoint, 1 view, the "
        f"repair's automatic CPU plan (flow scale auto, static blending below {STATIC_MOTION} px, fades out); {frames} pairs of "
        f"held-out vtest and Megamind enlarged bicubic; median of {repeats} repeats after a warm-up call; {seconds:.0f} s in all.",
        "",
        "| resolution | plan | allocator | frames per call | median s / frame | time vs system, fewest per call | "
        "kernel share of CPU time | largest difference from fewest per call (8-bit levels) | frames vs system's |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in sorted(rows, key=lambda r: (resolutions.index(r["resolution"]), r["allocator"] != "system", r["batch"])):
        lines.append(
            f"| {row['resolution']} | {row['plan']} | {row['allocator']} | {row['batch']} | {row['seconds']:.2f} | {row['ratio']:.2f} | "
            f"{100 * row['kernel']:.0f}% | {row['levels']:.0f} | {row['as_system']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cpu_batch.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--resolutions", nargs="+", type=cpu_tiles.parse_resolution, default=[(384, 288), (640, 480), (1280, 720), (1920, 1080)]
    )
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 2, 4], help="frames per call (default 1 2 4)")
    parser.add_argument("--frames", type=int, default=4, help="pairs per measurement, split among the clips (default 4)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", default="vtest,megamind")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--data", default=str(ROOT / "data" / "opencv"))
    parser.add_argument("--allocator", choices=("both", "system", "kept"), default="both",
                        help="both (default): one fresh process each; system: glibc's defaults; kept: freed memory kept")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the rows as JSON only (how --allocator both calls itself)")
    parser.add_argument("--out", help="also write the table here (.md, atomically)")
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(arguments)
    if any(batch < 1 for batch in args.batches) or args.frames < 1 or args.repeats < 1:
        parser.error("--batches, --frames and --repeats take positive numbers")
    if args.threads:
        torch.set_num_threads(args.threads)
    clips = args.clips.split(",")
    if args.frames % len(clips):
        parser.error(f"--frames must split evenly among the {len(clips)} clips")
    started = time.perf_counter()
    if args.allocator == "both":
        rows = []
        passed = [a for i, a in enumerate(arguments) if not (a.startswith("--out") or (i and arguments[i - 1] == "--out"))]
        for allocator in ("system", "kept"):
            child = [sys.executable, __file__, *passed, "--allocator", allocator, "--json"]
            done = subprocess.run(child, check=True, stdout=subprocess.PIPE, text=True)
            rows += json.loads(done.stdout.strip().splitlines()[-1])
    else:
        if args.allocator == "kept" and not keep_freed_cpu_memory("cpu"):
            raise SystemExit("the freed memory cannot be kept here (glibc on Linux only, no LD_PRELOAD or MALLOC_*_ variables)")
        generator, _ = load_model(args.checkpoint, "cpu")
        samples = cpu_tiles.triplets(clips, args.frames // len(clips), Path(args.data))
        batches = sorted(set(args.batches))
        rows = [
            {**row, "allocator": args.allocator}
            for resolution in args.resolutions for row in measure(generator, resolution, batches, args.repeats, samples)
        ]  # fmt: skip
        if args.json:
            print(json.dumps(rows))
            return 0
    command = " ".join(["python benchmarks/cpu_batch.py", *arguments])
    table = format_table(rows, args.frames, args.repeats, torch.get_num_threads(), time.perf_counter() - started, command)
    print(table)
    if args.out:
        atomic_write(args.out, lambda path: Path(path).write_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
