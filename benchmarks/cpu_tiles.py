"""Whole frames or tiles for large frames on the CPU: speed and quality of the tools' generator call.

    python benchmarks/cpu_tiles.py                                   # the table in results/cpu_tiles.md (about 12 min on 2 cores)
    python benchmarks/cpu_tiles.py --resolutions 1920x1080 --tiles 0 512 --triplets 2

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
Each call runs after one warm-up call of the same shape.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def format_table(rows: list[dict], samples, threads: int, seconds: float, arguments: list[str]) -> str:
    clips = sorted({name for name, _, _ in samples})
    lines = [
        "# Whole frames or tiles on the CPU: the tools' generator call",
        "",
        f"x86_64, {threads} threads, torch {torch.__version__}, shipped `tiny` checkpoint, 1 view; {len(samples)} triplets "
        f"({', '.join(clips)}: held-out parts, evenly spaced) enlarged bicubic to each resolution and rounded to 8 bits; "
        f"the repair's settings (flow at 1x, static blending below {STATIC_MOTION} px, fades out); {seconds:.0f} s in all.",
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
    parser.add_argument("--tiles", nargs="+", type=int, default=[0, 1024, 512], help="0: whole frames")
    parser.add_argument("--clips", default="vtest,megamind")
    parser.add_argument("--triplets", type=int, default=3, help="per clip")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--data", default=str(ROOT / "data" / "opencv"))
    parser.add_argument("--out", help="also write the table here (.md)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    generator, _ = load_model(args.checkpoint, "cpu")
    samples = triplets(args.clips.split(","), args.triplets, Path(args.data))
    rows = [row for resolution in args.resolutions for row in measure(generator, resolution, args.tiles, samples)]
    table = format_table(rows, samples, torch.get_num_threads(), time.perf_counter() - started, sys.argv[1:] if argv is None else argv)
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
