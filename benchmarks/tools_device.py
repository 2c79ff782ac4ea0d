"""The video tools on an accelerator: agreement with the CPU, memory against the planner's
estimate, the memory budget kept, and speed.

    python benchmarks/tools_device.py --device cuda --out results/tools_cuda.md   # a CUDA machine
    python benchmarks/tools_device.py --device cpu --resolutions 640x480 --big 768x576   # a dry run here

Why: ``nlvfi repair`` and ``nlvfi interpolate`` take ``--device cuda``, and the planner
(:func:`nlvfi.interpolate.plan_inference`) decides whole frames or tiles, and frames per call,
from bytes-per-pixel estimates measured on the CPU (``BYTES_PER_PIXEL``, results/bench_cpu.md).
On a GPU a call that needs more than the estimate runs out of memory instead of tiling. Four
tables, each measured in this one process:

1. **The main job on both devices.** The README's command (the bundled stuttering clip, the
   shipped checkpoint, every default) through :func:`nlvfi.repair.repair_video` on the CPU
   and on ``--device``, twice there: seconds, PSNR of the replaced frames against the
   recorded originals (``data/stutter/vtest_stutter_truth.mkv``), PSNR of the device's
   frames against the CPU's, whether two device runs wrote the same frames, and whether
   every kept frame is bit-identical to the input (the input is FFV1: lossless).
2. **One forward pass against the estimate.** The shipped generator on a random pair at each
   ``--resolutions`` (whole frames, 1 and 4 frames per call, flow at 1x) and in tiles (3840x2160
   and 7680x4320): peak memory over what was allocated before the call
   (``torch.cuda.max_memory_allocated``), the planner's estimate (:func:`memory_needed` /
   :func:`memory_needed_tiled`), their ratio (under 1: the estimate covers it), and frames/s
   (median of ``--repeats`` calls after one warm-up).
3. **The tools held to a budget.** The bundled clip enlarged to ``--big`` (bicubic, FFV1)
   through ``nlvfi repair`` (one duplicate run) and ``nlvfi interpolate --factor 2``, each CLI
   in this process, at each ``--budgets`` / ``--video-budgets`` value of ``--max-memory-gb``
   (the defaults sit at the planner's boundaries at 3840x2160: the least budget of each plan)
   and at the default budget: the plan the tool chose (or its refusal, which must leave no
   file), its peak allocated and reserved memory against the budget, seconds.
4. The machine: torch, device name, CPU threads.

On the CPU tables 2 and 3 have no peak column (the process's resident set is not a per-call
peak); the dry run checks the script. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone without installing
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.interpolate import (  # noqa: E402
    Plan,
    format_bytes,
    forward_frames,
    load_model,
    memory_needed,
    memory_needed_tiled,
)
from nlvfi.repair import repair_video  # noqa: E402
from nlvfi.tiling import default_overlap  # noqa: E402
from nlvfi.videoio import read_video_rgb, write_video  # noqa: E402

STUTTER = ROOT / "data" / "stutter" / "vtest_stutter.mkv"
TRUTH = ROOT / "data" / "stutter" / "vtest_stutter_truth.mkv"
GROUND = ROOT / "data" / "stutter" / "vtest_stutter.json"
RESOLUTIONS = ("640x480", "1280x720", "1920x1080", "3840x2160")
TILED = (("3840x2160", 512), ("3840x2160", 1024), ("7680x4320", 1024))
GiB = 1024**3


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def fmt_db(value: float) -> str:
    return "identical" if math.isinf(value) else f"{value:.2f}"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> int:
    """Start a peak measurement; the bytes allocated now (0 on the CPU). The allocator's cache
    is emptied first, so that the peak reserved is this measurement's own, not blocks an
    earlier one left reserved."""
    if device.type != "cuda":
        return 0
    synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device)


def peak(device: torch.device) -> tuple[int, int] | None:
    """(max allocated, max reserved) bytes since :func:`reset_peak`; None on the CPU."""
    if device.type != "cuda":
        return None
    synchronize(device)
    return torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device)


# --------------------------------------------------------------------------------------------
# 1. The main job on both devices


def timed_repair(source: Path, output: Path, device: str, **options) -> tuple[dict, float, tuple[int, int] | None]:
    """repair_video on ``device``: its report, wall seconds and peak memory."""
    dev = torch.device(device)
    reset_peak(dev)
    start = time.perf_counter()
    report = repair_video(source, output, device=device, progress=False, resume=False, **options)
    return report, time.perf_counter() - start, peak(dev)


def main_job_rows(device: str, work: Path) -> tuple[list[dict], dict]:
    """Table 1: the bundled clip repaired on the CPU and twice on ``device``."""
    truth_frames, _ = read_video_rgb(TRUTH)  # frame j: the original of duplicates[j]
    duplicates = json.loads(GROUND.read_text())["duplicates"]
    originals = dict(zip(duplicates, truth_frames))
    source_frames, _ = read_video_rgb(STUTTER)
    outputs, rows = {}, []
    for name, dev in (("cpu", "cpu"), (f"{device} (1)", device), (f"{device} (2)", device)):
        out = work / f"main_{name.replace(' ', '').replace('(', '_').replace(')', '')}.mkv"
        report, seconds, memory = timed_repair(STUTTER, out, dev)
        frames, _ = read_video_rgb(out)
        replaced = sorted(item["frame"] for item in report["replaced"])
        kept = [i for i in range(len(frames)) if i not in set(replaced)]
        outputs[name] = frames
        rows.append({
            "run": name,
            "seconds": seconds,
            "generator_s": report["timings"]["generator_s"],
            "replaced": len(replaced),
            "replaced_frames": replaced,
            "found_all": report["detection"]["duplicates"] == sorted(duplicates),
            "psnr_truth": statistics.fmean(psnr_uint8(frames[i], originals[i]) for i in replaced if i in originals),
            "kept_identical": all(np.array_equal(frames[i], source_frames[i]) for i in kept),
            "plan": report["model"]["plan"],
            "peak": memory,
        })
        print(f"  {name}: {rows[-1]}", flush=True)
    cpu = outputs["cpu"]
    replaced_by_cpu = rows[0]["replaced_frames"]
    for row in rows:
        frames = outputs[row["run"]]
        replaced = [i for i in duplicates if i in set(replaced_by_cpu)]
        row["psnr_vs_cpu"] = min(psnr_uint8(frames[i], cpu[i]) for i in replaced)
        row["max_diff_vs_cpu"] = max(int(np.abs(frames[i].astype(int) - cpu[i].astype(int)).max()) for i in replaced)
    again = all(np.array_equal(a, b) for a, b in zip(outputs[f"{device} (1)"], outputs[f"{device} (2)"]))
    return rows, {"repeatable": again}


# --------------------------------------------------------------------------------------------
# 2. One forward pass against the estimate


def size_of(resolution: str) -> tuple[int, int]:
    width, height = map(int, resolution.lower().split("x"))
    return width, height


def forward_row(generator, device: torch.device, resolution: str, batch: int, tile: int | None, repeats: int) -> dict:
    """Peak memory and frames/s of ``forward_frames`` on ``batch`` random pairs."""
    width, height = size_of(resolution)
    stride = generator.config.stride
    plan = Plan(per_call=batch, tile=tile, overlap=default_overlap(tile, stride) if tile else 0)
    estimate = memory_needed_tiled(generator, height, width, tile, batch) if tile else memory_needed(generator, height, width, batch)
    generator_rng = torch.Generator().manual_seed(0)
    prev = torch.rand(batch, 3, height, width, generator=generator_rng).to(device)
    next = torch.rand(batch, 3, height, width, generator=generator_rng).to(device)
    t = torch.full((batch,), 0.5, device=device)
    row = {"resolution": resolution, "batch": batch, "tile": tile, "estimate": estimate}
    try:
        forward_frames(generator, prev, next, t, plan)  # warm-up (cuDNN picks its kernels)
        times = []
        for _ in range(repeats):
            before = reset_peak(device)
            start = time.perf_counter()
            forward_frames(generator, prev, next, t, plan)
            synchronize(device)
            times.append(time.perf_counter() - start)
            measured = peak(device)
        row["seconds"] = statistics.median(times)
        row["fps"] = batch / row["seconds"]
        row["peak"] = None if measured is None else measured[0] - before
    except torch.OutOfMemoryError as error:
        row["error"] = f"out of memory: {str(error).splitlines()[0][:120]}"
    finally:
        del prev, next
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return row


def forward_rows(device: str, resolutions, tiled, repeats: int) -> list[dict]:
    generator, _ = load_model(None, device)
    dev = torch.device(device)
    rows = []
    for resolution in resolutions:
        for batch in (1, 4):
            rows.append(forward_row(generator, dev, resolution, batch, None, repeats))
            print(f"  forward {resolution} x{batch}: {rows[-1]}", flush=True)
    for resolution, tile in tiled:
        rows.append(forward_row(generator, dev, resolution, 1, tile, repeats))
        print(f"  forward {resolution} tiles {tile}: {rows[-1]}", flush=True)
    return rows


# --------------------------------------------------------------------------------------------
# 3. A repair held to a budget


def enlarged_clip(path: Path, resolution: str, frames: int = 12, copies: tuple[int, ...] = (5, 6)) -> list[int]:
    """The bundled clip's first ``frames`` true frames enlarged to ``resolution`` (bicubic),
    each of ``copies`` replaced by the frame before the first of them: FFV1 at ``path``."""
    width, height = size_of(resolution)
    source, _ = read_video_rgb(STUTTER)
    duplicates = set(json.loads(GROUND.read_text())["duplicates"])
    real = [frame for i, frame in enumerate(source) if i not in duplicates][:frames]
    big = []
    for frame in real:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()  # (1, 3, h, w)
        x = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False)
        big.append(x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
    for index in copies:
        big[index] = big[min(copies) - 1].copy()
    write_video(path, big, rate=10, codec="ffv1", pix_fmt="yuv420p")
    return list(copies)


def cli_in_process(tool: str, arguments: list[str], device: torch.device) -> tuple[int, str, float, tuple[int, int] | None]:
    """``nlvfi TOOL ARGUMENTS`` in this process (so its GPU peak can be read): exit status,
    the last line it printed (its summary or its error), seconds, peak memory."""
    import contextlib
    import io

    from nlvfi import interpolate, repair

    main = {"repair": repair.main, "interpolate": interpolate.main}[tool]
    printed = io.StringIO()
    reset_peak(device)
    start = time.perf_counter()
    with contextlib.redirect_stderr(printed), contextlib.redirect_stdout(printed):
        status = main(arguments)
    seconds = time.perf_counter() - start
    last = [line for line in printed.getvalue().splitlines() if line.strip()]
    return status, last[-1] if last else "", seconds, peak(device)


def budget_rows(device: str, resolution: str, work: Path, repair_budgets, video_budgets) -> list[dict]:
    """Table 3: each tool's CLI on the enlarged clip at each budget (None: the default)."""
    dev = torch.device(device)
    clips = {
        "repair": (work / f"big_{resolution}.mkv", enlarged_clip(work / f"big_{resolution}.mkv", resolution)),
        "interpolate --factor 2": (work / f"short_{resolution}.mkv", enlarged_clip(work / f"short_{resolution}.mkv", resolution, 4, ())),
    }
    rows = []
    for tool, budgets in (("repair", repair_budgets), ("interpolate --factor 2", video_budgets)):
        source, duplicates = clips[tool]
        for budget in budgets:
            output = work / f"out_{tool.split()[0]}_{budget}.mkv"
            report = work / f"report_{budget}.json"
            arguments = [str(source), "-o", str(output), "--device", device, "--quiet"]
            arguments += [] if budget is None else ["--max-memory-gb", str(budget)]
            if tool == "repair":
                arguments += ["--report", str(report), "--no-resume"]
            else:
                arguments += ["--factor", "2", "--no-resume"]
            status, message, seconds, memory = cli_in_process(tool.split()[0], arguments, dev)
            row = {"tool": tool, "resolution": resolution, "budget": budget, "status": status, "seconds": seconds,
                   "peak": memory, "written": output.exists()}
            if status != 0:
                row["refused"] = message
            elif tool == "repair":
                answer = json.loads(report.read_text())
                row["plan"] = answer["model"]["plan"]
                row["replaced"] = sorted(item["frame"] for item in answer["replaced"]) == duplicates
            else:
                named = re.search(r"\(((?:whole frames|tiles of).*?per call)\)", message)  # "... with CKPT (PLAN); ..."
                row["plan"] = named.group(1) if named else message
                row["replaced"] = len(read_video_rgb(output)[0]) == 7
            rows.append(row)
            print(f"  {tool} budget {budget}: {rows[-1]}", flush=True)
    return rows


# --------------------------------------------------------------------------------------------
# The report


def mb(value: int | None) -> str:
    return "—" if value is None else format_bytes(value)


def format_report(device: str, main_rows, main_extra, forward, budget, machine: dict, command: str) -> str:
    allocator = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    lines = [
        f"# The video tools on {machine['device_name']}",
        "",
        f"`{command}`",
        "",
        f"torch {machine['torch']}, Python {machine['python']}, {machine['threads']} CPU threads, "
        f"{machine['seconds']:.0f} s in all." + (f" PYTORCH_CUDA_ALLOC_CONF={allocator}." if allocator else ""),
        "",
    ]
    if main_rows:
        lines += table_main(device, main_rows, main_extra)
    if forward:
        lines += table_forward(forward)
    if budget:
        lines += table_budget(budget)
    return "\n".join(lines) + "\n"


def table_main(device: str, main_rows, main_extra) -> list[str]:
    lines = [
        "## 1. The main job (bundled clip, 40 frames of 384x288, 11 copies: 10 repaired, 1 at the end left), every default",
        "",
        "| run | seconds | generator s | replaced | all 11 found | PSNR vs truth | worst PSNR vs CPU | max diff vs CPU (levels) | kept frames bit-identical | peak allocated |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    for row in main_rows:
        memory = row["peak"][0] if row["peak"] else None
        lines.append(
            f"| {row['run']} | {row['seconds']:.2f} | {row['generator_s']:.2f} | {row['replaced']} | "
            f"{'yes' if row['found_all'] else 'no'} | {row['psnr_truth']:.2f} | {fmt_db(row['psnr_vs_cpu'])} | "
            f"{row['max_diff_vs_cpu']} | {'yes' if row['kept_identical'] else 'no'} | {mb(memory)} |"
        )
    lines += [
        "",
        f"Plan on {device}: {main_rows[-1]['plan']}. Two runs on {device} wrote "
        f"{'the same frames' if main_extra['repeatable'] else 'different frames'}.",
        "",
    ]
    return lines


def table_forward(forward) -> list[str]:
    lines = [
        "## 2. One forward pass of the shipped generator against the planner's estimate",
        "",
        "Random pair, flow at 1x, one view. Peak: over what was allocated before the call.",
        "",
        "| resolution | frames per call | tiles | estimate | peak allocated | peak / estimate | frames/s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in forward:
        tiles = f"{row['tile']} px" if row["tile"] else "whole"
        if "error" in row:
            lines.append(f"| {row['resolution']} | {row['batch']} | {tiles} | {mb(row['estimate'])} | {row['error']} | | |")
            continue
        ratio = "—" if row["peak"] is None else f"{row['peak'] / row['estimate']:.2f}"
        lines.append(
            f"| {row['resolution']} | {row['batch']} | {tiles} | {mb(row['estimate'])} | {mb(row['peak'])} | {ratio} | {row['fps']:.1f} |"
        )
    return lines + [""]


def table_budget(budget) -> list[str]:
    lines = [
        "## 3. The tools held to a memory budget",
        "",
        f"The bundled clip's first real frames enlarged to {budget[0]['resolution'] if budget else '?'} (bicubic), FFV1: "
        "12 frames with frames 5-6 copies of 4 for `nlvfi repair`, 4 frames for `nlvfi interpolate --factor 2` "
        "(7 out). Each tool's CLI in this process, every default but `--max-memory-gb`. Within budget: the peak "
        "reserved (what the process took from the GPU) at most the budget.",
        "",
        "| tool | --max-memory-gb | plan the tool chose | done right | seconds | peak allocated | peak reserved | within budget |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in budget:
        if "refused" in row:
            lines.append(
                f"| {row['tool']} | {row['budget']} | refused (exit {row['status']}): {row['refused']} | "
                f"{'**a file was written**' if row['written'] else 'nothing written'} | | | | |"
            )
            continue
        allocated, reserved = row["peak"] if row["peak"] else (None, None)
        within = "—" if row["budget"] is None or reserved is None else ("yes" if reserved <= row["budget"] * GiB else "**no**")
        plan = row["plan"]
        lines.append(
            f"| {row['tool']} | {row['budget'] or 'default (80% of free)'} | {plan} | "
            f"{'yes' if row['replaced'] else 'no'} | {row['seconds']:.1f} | {mb(allocated)} | {mb(reserved)} | {within} |"
        )
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="the device to compare with the CPU (cuda, cuda:1, cpu)")
    parser.add_argument("--resolutions", nargs="+", default=list(RESOLUTIONS), help="whole-frame sizes of table 2")
    parser.add_argument("--tiled", nargs="*", default=[f"{r}:{t}" for r, t in TILED], help="SIZE:TILE rows of table 2")
    parser.add_argument("--big", default="3840x2160", help="the enlarged clip of table 3")
    parser.add_argument("--budgets", nargs="+", default=["3", "6", "7", "15", "16", "29", "default"],
                        help="nlvfi repair's --max-memory-gb values in table 3 (default: the tool's own, 80%% of free)")
    parser.add_argument("--video-budgets", nargs="+", default=["3", "4", "5.2", "13.6", "default"],
                        help="nlvfi interpolate --factor 2's --max-memory-gb values in table 3")
    parser.add_argument("--tables", nargs="+", type=int, choices=(1, 2, 3), default=[1, 2, 3], help="which tables to measure")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    parser.add_argument("--json", type=Path, help="also write every measurement (JSON) here")
    args = parser.parse_args(argv)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA GPU here")
    budgets = [None if item == "default" else float(item) for item in args.budgets]
    video_budgets = [None if item == "default" else float(item) for item in args.video_budgets]
    tiled = [(item.split(":")[0], int(item.split(":")[1])) for item in args.tiled]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlvfi-tools-device-") as folder:
        work = Path(folder)
        main_rows, main_extra, forward, budget = [], {}, [], []
        if 1 in args.tables:
            print("1. main job", flush=True)
            main_rows, main_extra = main_job_rows(args.device, work)
        if 2 in args.tables:
            print("2. forward passes", flush=True)
            forward = forward_rows(args.device, args.resolutions, tiled, args.repeats)
        if 3 in args.tables:
            print("3. budgets", flush=True)
            budget = budget_rows(args.device, args.big, work, budgets, video_budgets)
    machine = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"the CPU ({platform.processor() or platform.machine()})",
        "seconds": time.perf_counter() - start,
    }
    command = "python benchmarks/tools_device.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = format_report(args.device, main_rows, main_extra, forward, budget, machine, command.strip())
    print(report)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(report))
    if args.json:
        everything = {"machine": machine, "main_job": main_rows, "main_extra": main_extra, "forward": forward, "budget": budget}
        atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(everything, indent=1, default=str)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
