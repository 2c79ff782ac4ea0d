"""Whole frames or tiles for large frames on the CPU: speed and quality of the tools' generator call.

    python benchmarks/cpu_tiles.py                                   # the table in results/cpu_tiles.md (about 12 min on 2 cores)
    python benchmarks/cpu_tiles.py --resolutions 1920x1080 --tiles 0 512 --triplets 2
    python benchmarks/cpu_tiles.py --repair --resolutions 1920x1080 --tiles 512 --out results/cpu_tiles_repair.md   # the whole tool (about 15 min)

Why: a repair at 3840x2160 on 2 CPU cores took 56 s for one frame's generator call in whole
frames and 35 s in 512-px tiles (``nlvfi repair --ensemble 1``, 1 view); the tools plan whole
frames whenever they fit the memory budget (``nlvfi.interpolate.plan_inference``). This script
measures the call (``nlvfi.interpolate.generate`` with the repair's settings: flow at 1x, as
``--flow-scale auto`` gives above 768x576, static blending below 0.5 px, fades taken out) for
whole frames and for tiles of each ``--tiles`` size, on triplets of the held-out parts of vtest
and Megamind (``benchmarks/repair_quality.py``; run ``nlvfi data fetch`` first) enlarged to each
resolution (bicubic, rounded to 8 bits; the project has no real footage this large), the middle
frame the truth. It prints, per resolution and tiling, the median seconds per frame and the mean
PSNR (dB) against the truth and against the whole-frame result, every frame rounded to 8 bits.
Each call runs after one warm-up call of the same shape. The process keeps the memory each call
frees, as the tools do (``nlvfi.acceleration.keep_freed_cpu_memory``); with it whole frames are
the faster, without it (``--system-allocator``, glibc's malloc as it comes) the tiny model's
512-px tiles were at 3840x2160 (at 1920x1080 on one older machine; results/cpu_memory_given_back.md
for the call alone), which is why the tools tile there only when the memory is not kept
(``nlvfi.interpolate.CPU_TILE_FROM_PIXELS``).

``--repair``: the whole tool instead (``nlvfi.repair.repair_video``, its defaults: 4 views, flow
prior, static blending, fades) on 40 held-out frames of each clip enlarged to each resolution,
with benchmarks/repair_quality.py's injection pattern ``--seed`` (0: 10 copies) stored in FFV1;
once planned automatically (on the CPU: whole frames where they fit, with the memory kept;
the tiny model's 512-px tiles from 2560x1440 up without it) and once with each of
``--tiles`` (default 0: whole frames); it prints the plan, the seconds and the mean PSNR of the
repaired frames against the originals, as written.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.acceleration import keep_freed_cpu_memory  # noqa: E402
from nlvfi.interpolate import DEFAULT_CHECKPOINT, generate, load_model, plan_inference  # noqa: E402
from nlvfi.metrics import psnr  # noqa: E402
from nlvfi.static_blend import STATIC_MOTION  # noqa: E402
from nlvfi.videoio import rgb_to_tensor  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
import repair_quality  # noqa: E402  (its clips and loading)


def triplets(clips: list[str], count: int, data: Path) -> list[tuple[str, int, list[np.ndarray]]]:
    """``count`` evenly spaced (prev, truth, next) triplets of each clip's held-out part."""
    out = []
    for name in clips:
        frames, _ = repair_quality.load_frames(name, data, None, None)
        for centre in np.linspace(1, len(frames) - 2, count).round().astype(int):
            out.append((name, int(centre), frames[centre - 1 : centre + 2]))
    return out


def enlarge(rgb: np.ndarray, width: int, height: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, height, width) float32, bicubic, rounded to 8 bits."""
    big = F.interpolate(rgb_to_tensor(rgb), size=(height, width), mode="bicubic", align_corners=False)  # (1, 3, h, w)
    return (big.clamp(0, 1) * 255).round() / 255


def as_written(frame: torch.Tensor) -> torch.Tensor:
    return (frame.clamp(0, 1) * 255).round() / 255


def measure(generator, resolution: tuple[int, int], tiles: list[int], samples) -> list[dict]:
    width, height = resolution
    cpu = torch.device("cpu")
    plans = {
        tile: plan_inference(generator, height, width, 1 << 50, cpu, tile=tile, views=1, flow_scale=1, static_motion=STATIC_MOTION, fade=True)
        for tile in tiles
    }
    seconds: dict[int, list[float]] = {tile: [] for tile in tiles}
    truth_db: dict[int, list[float]] = {tile: [] for tile in tiles}
    whole_db: dict[int, list[float]] = {tile: [] for tile in tiles}
    warmed: set[int] = set()
    for name, centre, frames in tqdm(samples, desc=f"{width}x{height}", unit="triplet"):
        before, truth, after = (enlarge(frame, width, height) for frame in frames)  # (1, 3, H, W) each
        made = {}
        for tile in tiles:
            with torch.inference_mode():
                if tile not in warmed:
                    generate(generator, before, after, [0.5], 1, plans[tile])
                    warmed.add(tile)
                started = time.perf_counter()
                frame = generate(generator, before, after, [0.5], 1, plans[tile])  # (1, 3, H, W)
                seconds[tile].append(time.perf_counter() - started)
            made[tile] = as_written(frame)
            truth_db[tile].append(float(psnr(made[tile], truth)))
            if 0 in made:
                whole_db[tile].append(float(psnr(made[tile], made[0])) if tile else float("inf"))
    rows = []
    for tile in tiles:
        finite = [v for v in whole_db[tile] if np.isfinite(v)] or ([float("inf")] if tile and whole_db[tile] else [])  # inf: identical
        rows.append({
            "resolution": f"{width}x{height}", "tile": tile,
            "tiles": f"tiles of {tile} px ({plans[tile].overlap} px overlap)" if tile else "whole frames",
            "seconds": statistics.median(seconds[tile]), "psnr": float(np.mean(truth_db[tile])),
            "worst_gain": None, "vs_whole": float(np.mean(finite)) if finite else None,
            "per_triplet": truth_db[tile],
        })  # fmt: skip
    whole = next((row for row in rows if row["tile"] == 0), None)
    for row in rows:
        if whole is not None and row is not whole:
            gains = np.array(row["per_triplet"]) - np.array(whole["per_triplet"])
            row["worst_gain"], row["best_gain"] = float(gains.min()), float(gains.max())
            row["speedup"] = whole["seconds"] / row["seconds"]
    return rows


def measure_repair(
    clip: str, resolution: tuple[int, int], seed: int, data: Path, workdir: Path, tiles: list[int] | tuple[int, ...] = (0,)
) -> list[dict]:
    """The whole repair of ``clip`` at ``resolution``, planned automatically and with each ``--tile``
    of ``tiles`` (0: whole frames)."""
    from nlvfi.repair import repair_video
    from nlvfi.videoio import VideoReader, frame_to_rgb

    width, height = resolution
    frames, rate = repair_quality.load_frames(clip, data, 40, None)
    originals = [(enlarge(frame, width, height)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for frame in frames]  # (H, W, 3)
    stuttered, _ = repair_quality.inject(originals, seed)
    source = workdir / f"{clip}-{width}x{height}.mkv"
    repair_quality.encode(stuttered, source, rate, None)
    rows = []
    for tile, label in ((None, "automatic"), *((tile, f"--tile {tile}") for tile in tiles)):
        output = workdir / f"out-{label.replace(' ', '')}.mkv"
        started = time.perf_counter()
        report = repair_video(source, output, tile=tile, progress=False, resume=False)
        seconds = time.perf_counter() - started
        with VideoReader(output) as reader:
            written = [frame_to_rgb(item.frame, reader.info.traits) for item in reader]
        replaced = [entry["frame"] for entry in report["replaced"]]
        scores = [float(psnr(rgb_to_tensor(written[i]), rgb_to_tensor(originals[i]))) for i in replaced]
        rows.append({"clip": clip, "resolution": f"{width}x{height}", "asked": label, "plan": report["model"]["plan"],
                     "seconds": seconds, "frames": len(replaced), "psnr": float(np.mean(scores))})  # fmt: skip
        output.unlink()
    return rows


ALLOCATORS = {
    True: "freed memory kept for the next call, as the tools do (`nlvfi.acceleration.keep_freed_cpu_memory`)",
    False: "glibc's malloc as it comes (`--system-allocator`)",
}


def format_repair_table(rows: list[dict], threads: int, seconds: float, arguments: list[str], kept: bool = True) -> str:
    lines = [
        "# Whole frames or tiles on the CPU: the whole repair",
        "",
        f"x86_64, {threads} threads, torch {torch.__version__}, shipped `tiny` checkpoint, `nlvfi repair`'s defaults (4 views, flow prior, "
        f"static blending, fades); 40 held-out frames of each clip enlarged bicubic, copies injected, FFV1; {ALLOCATORS[kept]}; "
        f"{seconds:.0f} s in all.",
        "",
        "| clip | resolution | asked | plan | seconds | frames replaced | PSNR of the repaired frames (dB) |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['clip']} | {r['resolution']} | {r['asked']} | {r['plan']} | {r['seconds']:.0f} | {r['frames']} | {r['psnr']:.2f} |" for r in rows
    ]
    lines += ["", f"Reproduce: `{' '.join(['python benchmarks/cpu_tiles.py', *arguments])}`"]
    return "\n".join(lines) + "\n"


def format_table(rows: list[dict], samples, threads: int, seconds: float, arguments: list[str], kept: bool = True) -> str:
    clips = sorted({name for name, _, _ in samples})
    lines = [
        "# Whole frames or tiles on the CPU: the tools' generator call",
        "",
        f"x86_64, {threads} threads, torch {torch.__version__}, shipped `tiny` checkpoint, 1 view; {len(samples)} triplets "
        f"({', '.join(clips)}: held-out parts, evenly spaced) enlarged bicubic to each resolution and rounded to 8 bits; "
        f"the repair's settings (flow at 1x, static blending below {STATIC_MOTION} px, fades out); {ALLOCATORS[kept]}; {seconds:.0f} s in all.",
        "",
        "| resolution | plan | median s / frame | x faster than whole | PSNR vs truth (dB) | gain over whole, worst / best triplet (dB) | PSNR vs whole (dB) |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        gain = f"{row['worst_gain']:+.2f} / {row['best_gain']:+.2f}" if row["worst_gain"] is not None else "-"
        lines.append(
            f"| {row['resolution']} | {row['tiles']} | {row['seconds']:.1f} | {row.get('speedup', 1.0):.2f} | {row['psnr']:.2f} | {gain} | "
            + ("- |" if row["vs_whole"] is None else "identical |" if np.isinf(row["vs_whole"]) else f"{row['vs_whole']:.1f} |")
        )
    lines += ["", f"Reproduce: `{' '.join(['python benchmarks/cpu_tiles.py', *arguments])}`"]
    return "\n".join(lines) + "\n"


def parse_resolution(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cpu_tiles.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolutions", nargs="+", type=parse_resolution, default=[(1920, 1080), (3840, 2160)])
    parser.add_argument("--tiles", nargs="+", type=int, default=None,
                        help="0: whole frames (default 0 1024 512; with --repair, 0: beside the automatic plan)")  # fmt: skip
    parser.add_argument("--clips", default="vtest,megamind")
    parser.add_argument("--triplets", type=int, default=3, help="per clip")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--data", default=str(ROOT / "data" / "opencv"))
    parser.add_argument("--repair", action="store_true", help="time the whole repair instead (module doc)")
    parser.add_argument("--seed", type=int, default=0, help="--repair: the injection pattern")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's malloc as it comes (default: freed memory kept, as the tools do; nlvfi.acceleration)")  # fmt: skip
    parser.add_argument("--out", help="also write the table here (.md)")
    args = parser.parse_args(argv)
    kept = not args.system_allocator and keep_freed_cpu_memory("cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    arguments = sys.argv[1:] if argv is None else argv
    if args.repair:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [
                row for clip in args.clips.split(",") for resolution in args.resolutions
                for row in measure_repair(clip, resolution, args.seed, Path(args.data), Path(tmp), args.tiles or [0])
            ]  # fmt: skip
        table = format_repair_table(rows, torch.get_num_threads(), time.perf_counter() - started, arguments, kept)
        print(table)
        if args.out:
            Path(args.out).write_text(table)
        return 0
    generator, _ = load_model(args.checkpoint, "cpu")
    samples = triplets(args.clips.split(","), args.triplets, Path(args.data))
    rows = [row for resolution in args.resolutions for row in measure(generator, resolution, args.tiles or [0, 1024, 512], samples)]
    table = format_table(rows, samples, torch.get_num_threads(), time.perf_counter() - started, arguments, kept)
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
