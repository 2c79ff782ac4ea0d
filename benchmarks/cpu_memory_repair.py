"""The whole repair on the CPU under a memory budget: the plan it takes, its seconds and its peak.

    python benchmarks/cpu_memory_repair.py                                   # full, 1920x1080: 9 and 4 GB, auto and whole (about 8 min on 2 cores)
    python benchmarks/cpu_memory_repair.py --size small --budgets 5 --tiles auto 0 1024
    python benchmarks/cpu_memory_repair.py --size tiny --resolution 640x480 --budgets 2 0.3

Why: ``benchmarks/cpu_memory.py`` measures the generator call alone; which plan a budget should
take (``nlvfi.interpolate.plan_inference``: with the memory each call frees kept, whole frames or
tiles, or the kept memory given back) is decided by the whole tool, which also estimates the
motion of the frames just outside each pair (``nlvfi.flow_prior``). This script writes a clip of
``--frames`` frames at ``--resolution`` (a smooth random texture moving a few pixels a frame;
every 4th frame from the 4th a copy of the one before it, lossless FFV1) and a generator of
``--size`` with random weights (seed 0; the seconds and memory do not depend on the weights),
then runs ``nlvfi repair`` on it (``--ensemble 1``, otherwise its defaults) in a fresh process
for each of ``--budgets`` (``--max-memory-gb``) and ``--tiles`` (``auto``: the plan's own
choice; 0: whole frames, with the kept memory given back where they do not fit kept; N:
``--tile N``), ``--repeats`` times each, the runs taking turns. Per run it prints the plan from
the report (or the refusal), the repair's own seconds (``timings.total_s``) and generator
seconds, and the peak resident memory of the whole process (``ru_maxrss``: Python, torch, the
model, the frames).
Run it on an otherwise idle machine: the seconds are wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.checkpoint import atomic_write, save_generator  # noqa: E402
from nlvfi.generator import build_generator  # noqa: E402

#: pixels the texture moves a frame, right and down
STEP_X, STEP_Y = 6, 4


def parse_resolution(text: str) -> tuple[int, int]:
    width, height = (int(side) for side in text.lower().split("x"))
    return width, height


def copied(index: int) -> bool:
    """Every 4th frame from the 4th repeats the one before it (a stutter to repair)."""
    return index >= 4 and index % 4 == 0


def write_clip(path: Path, width: int, height: int, frames: int, rate: int = 25) -> int:
    """A lossless FFV1 clip of a smooth random texture moving (STEP_X, STEP_Y) px a frame, with the
    copies of :func:`copied`; returns how many frames are copies."""
    generator = torch.Generator().manual_seed(1)
    full_h, full_w = height + STEP_Y * frames, width + STEP_X * frames
    coarse = torch.rand(1, 3, max(2, full_h // 16), max(2, full_w // 16), generator=generator)
    texture = F.interpolate(coarse, size=(full_h, full_w), mode="bicubic", align_corners=False).clamp(0, 1)[0]  # (3, H', W')
    texture = (texture.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (H', W', 3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            shown = index - 1 if copied(index) else index
            picture = np.ascontiguousarray(texture[STEP_Y * shown : STEP_Y * shown + height, STEP_X * shown : STEP_X * shown + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return sum(copied(index) for index in range(frames))


def run_repair(clip: Path, checkpoint: Path, budget: float, tile: str, work: Path) -> dict:
    """One ``nlvfi repair`` in a fresh process: its plan (or refusal), seconds and peak memory."""
    out, report = work / "out.mkv", work / "report.json"
    out.unlink(missing_ok=True)
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "nlvfi.cli", "repair", str(clip), "-o", str(out), "--checkpoint", str(checkpoint),
               "--ensemble", "1", "--max-memory-gb", str(budget), "--report", str(report), "--quiet"]  # fmt: skip
    if tile != "auto":
        command += ["--tile", tile]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    run = {"budget_gb": budget, "tile": tile, "wall": time.perf_counter() - started, "peak_mb": usage.ru_maxrss / 1024}
    if process.returncode != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {process.returncode}"
        return run | {"plan": None, "refused": last.removeprefix("nlvfi repair: error: ")}
    done = json.loads(report.read_text())
    return run | {"plan": done["model"]["plan"], "total_s": done["timings"]["total_s"], "generator_s": done["timings"]["generator_s"],
                  "frames_replaced": done["frames_replaced"]}  # fmt: skip


def format_table(runs: list[dict], size: str, resolution: str, frames: int, copies: int, command: str) -> str:
    lines = [
        "# The whole repair on the CPU under a memory budget",
        "",
        f"`{command}`: x86_64, {torch.get_num_threads()} torch threads, torch {torch.__version__}; `nlvfi repair --ensemble 1` "
        f"on a {frames}-frame {resolution} FFV1 clip with {copies} {'copy' if copies == 1 else 'copies'}, a `{size}` generator of random weights; one fresh "
        "process a run; peak resident memory of the whole process.",
        "",
        "| budget (GB) | `--tile` | plan | s (repair) | s (generator) | peak (MB) |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for run in runs:
        if run["plan"] is None:
            lines.append(f"| {run['budget_gb']:g} | {run['tile']} | refused: {run['refused']} | - | - | {run['peak_mb']:,.0f} |")
        else:
            lines.append(
                f"| {run['budget_gb']:g} | {run['tile']} | {run['plan']} | {run['total_s']:.1f} | {run['generator_s']:.1f} | "
                f"{run['peak_mb']:,.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cpu_memory_repair.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="full", help="generator size (default full)")
    parser.add_argument("--resolution", type=parse_resolution, default=(1920, 1080))
    parser.add_argument("--frames", type=int, default=12, help="frames of the clip (default 12: 2 copies)")
    parser.add_argument("--budgets", nargs="+", type=float, default=[9.0, 4.0], help="--max-memory-gb of each run (default 9 4)")
    parser.add_argument("--tiles", nargs="+", default=["auto", "0"],
                        help="auto (the plan's choice), 0 (whole frames) or a --tile N (default auto 0)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=2, help="runs of each budget and tile (default 2)")
    parser.add_argument("--out", help="also write the table here (.md, atomically)")
    args = parser.parse_args(argv)
    if any(tile != "auto" and not tile.isdigit() for tile in args.tiles):
        parser.error("--tiles takes auto or whole numbers of pixels")
    width, height = args.resolution
    with tempfile.TemporaryDirectory(prefix="nlvfi-memory-repair-") as folder:
        work = Path(folder)
        copies = write_clip(work / "clip.mkv", width, height, args.frames)
        torch.manual_seed(0)
        save_generator(build_generator(args.size).eval(), work / "generator.safetensors")
        jobs = [(budget, tile) for _ in range(args.repeats) for budget in args.budgets for tile in args.tiles]
        runs = []
        for budget, tile in tqdm(jobs, desc="repairs", unit="run"):
            runs.append(run_repair(work / "clip.mkv", work / "generator.safetensors", budget, tile, work))
            tqdm.write(f"{budget:g} GB, --tile {tile}: {runs[-1].get('plan') or runs[-1]['refused']}; "
                       f"{runs[-1].get('total_s', 0):.1f} s, peak {runs[-1]['peak_mb']:,.0f} MB")  # fmt: skip
    runs.sort(key=lambda run: (-run["budget_gb"], args.tiles.index(run["tile"])))
    command = "python benchmarks/cpu_memory_repair.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = format_table(runs, args.size, f"{width}x{height}", args.frames, copies, command.strip())
    print(table)
    if args.out:
        atomic_write(args.out, lambda path: Path(path).write_text(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
