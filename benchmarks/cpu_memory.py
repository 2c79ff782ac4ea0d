"""Peak memory of the tools' generator call on the CPU against the planner's estimate, with the
freed memory kept (as the tools run) and with glibc's allocator as it comes; with
``--allocator all`` also with the kept memory given back, and the seconds a call of each.

    python benchmarks/cpu_memory.py --out results/cpu_memory.md        # about 25 min on 2 cores
    python benchmarks/cpu_memory.py --sizes tiny --resolutions 640x480 --repeats 2
    python benchmarks/cpu_memory.py --allocator all --sizes small full --resolutions 1920x1080 --repeats 2

Why: the tools plan their calls within ``--max-memory-gb`` from bytes-per-pixel figures measured
with glibc's malloc as it comes (``nlvfi.interpolate.BYTES_PER_PIXEL``). On the CPU they keep
the memory each call frees (``nlvfi.acceleration.keep_freed_cpu_memory``), and a heap that hands
nothing back grows past the live memory where a freed block is too small for the next request:
one forward pass of a fresh ``full`` generator at 1920x1080 peaked at 12.8 GB kept against 6.0 GB
(results/bench_cpu.md). This script measures what the planner must cover: the tools' call
(``nlvfi.interpolate.forward_frames`` with the repair's settings: flow scale auto, static
blending below 0.5 px, fades out; one view) of a generator of each ``--sizes`` (random weights,
seed 0, laid out as ``load_model`` lays them out) on each ``--resolutions`` in whole frames and
in each of ``--tiles``, ``--batch`` frames per call, ``--calls`` calls in a row, each
measurement in a fresh process (``--repeats`` of them per allocator, taking turns). The frames
are smooth random textures moved by a few pixels (the memory does not depend on what they show).
Per row it prints the planner's estimate for each allocator (with its allowances for the flow
at 2x and for the kept heap: ``nlvfi.interpolate.estimate_factor``), the peak resident memory
over the loaded model of every process (kernel ``VmHWM`` less the resident size before the first
call), and the largest peak over the estimate: at most 1.00 means the plan held.

"given back" is what the planner does where a call fits the budget as glibc comes but not with the
kept heap's growth (``nlvfi.interpolate.plan_inference``): the process keeps the freed memory
while it loads the model, as the tools do, then gives it back
(``nlvfi.acceleration.give_back_freed_cpu_memory``) before the calls; it is planned with the
estimate as glibc comes. With those runs a second table gives each allocator's seconds a call
(the mean of the calls of each process, one number per process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.acceleration import channels_last_for_inference, give_back_freed_cpu_memory, keep_freed_cpu_memory  # noqa: E402
from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.generator import build_generator  # noqa: E402
from nlvfi.interpolate import (  # noqa: E402
    estimate_factor, flow_scale_for, forward_frames, memory_needed, memory_needed_tiled, plan_inference,
)
from nlvfi.static_blend import STATIC_MOTION  # noqa: E402

CPU = torch.device("cpu")
ALLOCATORS = ("system", "kept", "given back")


def parse_resolution(text: str) -> tuple[int, int]:
    width, height = (int(side) for side in text.lower().split("x"))
    return width, height


def moving_pair(width: int, height: int, batch: int, shift: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` pairs of a smooth random texture and the same texture ``shift`` px to the right
    and down: (B, 3, H, W) each, values in [0, 1]."""
    generator = torch.Generator().manual_seed(1)
    coarse = torch.rand(batch, 3, max(2, (height + 2 * shift) // 16), max(2, (width + 2 * shift) // 16), generator=generator)
    texture = F.interpolate(coarse, size=(height + 2 * shift, width + 2 * shift), mode="bicubic", align_corners=False).clamp(0, 1)
    prev = texture[:, :, shift : shift + height, shift : shift + width]  # (B, 3, H, W)
    next = texture[:, :, 2 * shift :, 2 * shift :][:, :, :height, :width]  # (B, 3, H, W)
    return prev.contiguous(), next.contiguous()


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def estimates(size: str, width: int, height: int, tile: int, batch: int) -> tuple[float, float]:
    """The planner's MB for one call (flow scale auto) with glibc's allocator as it comes, and
    with the freed memory kept (``nlvfi.interpolate.estimate_factor``)."""
    generator = build_generator(size)  # only its configuration is read
    live = memory_needed_tiled(generator, height, width, tile, batch) if tile else memory_needed(generator, height, width, batch)
    scale = flow_scale_for(height, width, "auto")
    system, kept = (estimate_factor(generator, CPU, scale, kept=kept) for kept in (False, True))
    return live * system / 2**20, live * kept / 2**20


def measure_call(size: str, width: int, height: int, tile: int, batch: int, calls: int, allocator: str) -> dict:
    """One process's measurement (run it in a fresh one): the peak over the loaded model."""
    if allocator in ("kept", "given back") and not keep_freed_cpu_memory("cpu"):
        raise SystemExit("the freed memory cannot be kept here (glibc on Linux only, no LD_PRELOAD or MALLOC_*_ variables)")
    torch.manual_seed(0)
    generator = channels_last_for_inference(build_generator(size).eval())
    if allocator == "given back" and not give_back_freed_cpu_memory():
        raise SystemExit("the kept memory could not be given back")
    prev, next = moving_pair(width, height, batch)  # (B, 3, H, W) each
    t = torch.full((batch,), 0.5)  # (B,)
    plan = plan_inference(
        generator, height, width, 1 << 50, CPU, tile=tile, views=1, flow_scale="auto", static_motion=STATIC_MOTION, fade=True
    )
    loaded = _status_mb("VmRSS:")
    started = time.perf_counter()
    for _ in range(calls):
        forward_frames(generator, prev, next, t, plan)  # (B, 3, H, W), dropped
    seconds = (time.perf_counter() - started) / calls
    return {
        "size": size, "resolution": f"{width}x{height}", "tile": tile, "batch": batch, "allocator": allocator,
        "peak_mb": _status_mb("VmHWM:") - loaded, "seconds": seconds,
    }  # fmt: skip


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (size, resolution, tile, batch): every process's peak and seconds a call, per allocator."""
    rows: dict[tuple, dict] = {}
    for run in runs:
        key = (run["size"], run["resolution"], run["tile"], run["batch"])
        empty = {allocator: [] for allocator in ALLOCATORS} | {f"{allocator} s": [] for allocator in ALLOCATORS}
        row = rows.setdefault(key, {**{k: run[k] for k in ("size", "resolution", "tile", "batch")}, **empty})
        row[run["allocator"]].append(run["peak_mb"])
        row[f"{run['allocator']} s"].append(run["seconds"])
    return list(rows.values())


def _peaks(values: list[float]) -> str:
    return " / ".join(f"{value:,.0f}" for value in values) if values else "-"


def format_table(rows: list[dict], calls: int, seconds: float, command: str) -> str:
    lines = [
        "# Peak memory of the tools' generator call on the CPU, against the plan",
        "",
        f"`{command}`: x86_64, {torch.get_num_threads()} torch threads, torch {torch.__version__}; random weights laid out as the "
        f"tools load them; the repair's call (flow scale auto, static blending below {STATIC_MOTION} px, fades out, 1 view), "
        f"{calls} calls in a row in each fresh process; peak resident memory over the loaded model, MB, one number per process; "
        f"{seconds:.0f} s in all.",
        "",
        "| model | resolution | plan | frames per call | estimate, system (MB) | peak, system (MB) | worst / estimate | "
        "estimate, kept (MB) | peak, kept (MB) | worst / estimate | kept / system, worst |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    planned = {id(row): _planned(row) for row in rows}  # each row's plan and estimates, worked out once
    for row in rows:
        plan, system_estimate, kept_estimate = planned[id(row)]
        system_worst = max(row["system"], default=None)
        kept_worst = max(row["kept"], default=None)
        ratio = lambda worst, estimate: "-" if worst is None else f"{worst / estimate:.2f}"  # noqa: E731
        growth = "-" if system_worst is None or kept_worst is None else f"{kept_worst / system_worst:.2f}"
        lines.append(
            f"| {row['size']} | {row['resolution']} | {plan} | {row['batch']} | {system_estimate:,.0f} | {_peaks(row['system'])} | "
            f"{ratio(system_worst, system_estimate)} | {kept_estimate:,.0f} | {_peaks(row['kept'])} | "
            f"{ratio(kept_worst, kept_estimate)} | {growth} |"
        )
    given_back = [row for row in rows if row["given back"]]
    if given_back:
        lines += [
            "",
            "The kept memory given back after loading the model (planned as glibc comes), and the seconds a call with each "
            "allocator, one number per process:",
            "",
            "| model | resolution | plan | frames per call | estimate, given back (MB) | peak, given back (MB) | worst / estimate | "
            "s a call, system | s a call, kept | s a call, given back |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in given_back:
            plan, estimate, _ = planned[id(row)]  # given back: planned as glibc comes
            seconds = " | ".join(_seconds(row[f"{allocator} s"]) for allocator in ALLOCATORS)
            lines.append(
                f"| {row['size']} | {row['resolution']} | {plan} | {row['batch']} | {estimate:,.0f} | {_peaks(row['given back'])} | "
                f"{max(row['given back']) / estimate:.2f} | {seconds} |"
            )
    return "\n".join(lines) + "\n"


def _planned(row: dict) -> tuple[str, float, float]:
    """A row's plan in words and the planner's estimates for it (MB): as glibc comes, kept."""
    width, height = parse_resolution(row["resolution"])
    plan = f"tiles of {row['tile']} px" if row["tile"] else "whole frames"
    return (plan, *estimates(row["size"], width, height, row["tile"], row["batch"]))


def _seconds(values: list[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in values) if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cpu_memory.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "full"])
    parser.add_argument("--resolutions", nargs="+", type=parse_resolution, default=[(640, 480), (1280, 720), (1920, 1080)])
    parser.add_argument("--tiles", nargs="+", type=int, default=[0], help="0: whole frames; N: tiles of N px (default 0)")
    parser.add_argument("--batch", type=int, default=1, help="frames per call (default 1)")
    parser.add_argument("--calls", type=int, default=2, help="calls in a row in each process (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per allocator and row (default 3)")
    parser.add_argument("--allocator", choices=("both", "all", *ALLOCATORS), default="both",
                        help="both: system and kept; all: those and given back (module doc)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="measure one row in this process and print it as JSON")
    parser.add_argument("--runs", help="also write every process's measurement here (JSON), for --from-runs")
    parser.add_argument("--from-runs", nargs="+", metavar="JSON", help="print the table of earlier --runs files; measure nothing")
    parser.add_argument("--out", help="also write the table here (.md, atomically)")
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(arguments)
    if args.batch < 1 or args.calls < 1 or args.repeats < 1 or any(tile < 0 for tile in args.tiles):
        parser.error("--batch, --calls and --repeats take positive numbers, --tiles 0 or more")
    if args.json:
        (width, height), = args.resolutions
        size, = args.sizes
        tile, = args.tiles
        allocator = "kept" if args.allocator in ("both", "all") else args.allocator
        print(json.dumps(measure_call(size, width, height, tile, args.batch, args.calls, allocator)))
        return 0
    allocators = {"both": ALLOCATORS[:2], "all": ALLOCATORS}.get(args.allocator, (args.allocator,))
    started = time.perf_counter()
    runs = [run for path in args.from_runs or [] for run in json.loads(Path(path).read_text())]
    jobs = [] if args.from_runs else [(size, resolution, tile) for size in args.sizes for resolution in args.resolutions for tile in args.tiles]
    for size, (width, height), tile in jobs:
        for repeat in range(args.repeats):
            for allocator in allocators:  # taking turns
                child = [
                    sys.executable, __file__, "--json", "--sizes", size, "--resolutions", f"{width}x{height}", "--tiles", str(tile),
                    "--batch", str(args.batch), "--calls", str(args.calls), "--allocator", allocator,
                ]  # fmt: skip
                began = time.perf_counter()
                done = subprocess.run(child, check=True, stdout=subprocess.PIPE, text=True)
                run = {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": time.perf_counter() - began}
                runs.append(run)
                if args.runs:
                    atomic_write(args.runs, lambda path: Path(path).write_text(json.dumps(runs)))
                print(f"{size} {width}x{height} tile {tile} {allocator} #{repeat + 1}: peak {run['peak_mb']:,.0f} MB over the model, "
                      f"{run['seconds']:.1f} s a call", file=sys.stderr, flush=True)  # fmt: skip
    command = " ".join(["python benchmarks/cpu_memory.py", *arguments])
    seconds = sum(run.get("wall", 0.0) for run in runs) if args.from_runs else time.perf_counter() - started
    table = format_table(summarise(runs), args.calls, seconds, command)
    print(table)
    if args.out:
        atomic_write(args.out, lambda path: Path(path).write_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
