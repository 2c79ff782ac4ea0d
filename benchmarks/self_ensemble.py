"""What the self-ensemble buys: PSNR of 1, 2 and 4 mirrored views on held-out real triplets.

    python benchmarks/self_ensemble.py                                  # shipped checkpoint, 30 triplets per gap
    python benchmarks/self_ensemble.py --checkpoint runs/finetune/generator_last.safetensors --reversal
    python benchmarks/self_ensemble.py --triplets 10 --gaps 1 --out results/self_ensemble.md

For every held-out real triplet (the last 20% of the opencv-doc clips, ``nlvfi evaluate``'s
sets, evenly spread; run ``nlvfi data fetch`` first) the generator runs once per mirrored view
(``nlvfi.self_ensemble.VIEW_FLIPS``: identity, left-right, up-down, both), each output mirrored
back; the 1-, 2- and 4-view frames are the means of the first 1, 2 and 4 of them, exactly what
``--ensemble N`` computes. ``--reversal`` also runs the four views with the frames swapped
(t -> 1 - t) and reports the mean of all eight: the view the module leaves out, measured.
Frame averaging and OpenCV DIS flow (``nlvfi.baselines``) are the references. One thread by
default; the table also gives the model's seconds per frame for each column.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone without installing
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from nlvfi.baselines import dis_interpolate  # noqa: E402
from nlvfi.checkpoint import atomic_write, load_generator  # noqa: E402
from nlvfi.evaluate import real_sets  # noqa: E402
from nlvfi.interpolate import DEFAULT_CHECKPOINT  # noqa: E402
from nlvfi.metrics import psnr  # noqa: E402
from nlvfi.self_ensemble import VIEW_FLIPS, mirrored_views  # noqa: E402

CLIPS = ("vtest.avi", "tree.avi", "Megamind.avi")


def every_view(generator, prev: torch.Tensor, next: torch.Tensor, t: float, reversed_too: bool) -> tuple[list, float]:
    """The generator's frame for every view, mirrored back, in VIEW_FLIPS order (then the
    swapped-frame views); and the seconds per view."""
    pairs = [(prev, next, t)] + ([(next, prev, 1 - t)] if reversed_too else [])
    frames, start = [], time.perf_counter()
    with torch.inference_mode():
        for a, b, time_ in pairs:
            views = mirrored_views(lambda x, y: generator(x, y, t=time_).frame, a, b, len(VIEW_FLIPS))
            frames.extend(views)  # (1, 3, H, W) each
    return frames, (time.perf_counter() - start) / len(frames)


def measure(generator, sets: dict, reversed_too: bool, progress=print) -> list[dict]:
    """One row per set: mean PSNR of averaging, DIS and each number of views."""
    rows = []
    for name, dataset in sets.items():
        scores: dict[str, list[float]] = {}
        view_seconds = []
        for i in tqdm(range(len(dataset)), desc=name, unit="triplet", leave=False):  # progress on stderr
            item = dataset[i]
            prev, middle, next = (item[k][None] for k in ("prev", "middle", "next"))  # (1, 3, H, W)
            t = float(item.get("t", 0.5))
            frames, seconds = every_view(generator, prev, next, t, reversed_too)
            view_seconds.append(seconds)
            results = {"average": (1 - t) * prev + t * next, "DIS flow": dis_interpolate(prev, next, t)}
            for count in (1, 2, 4):
                results[f"{count} view{'s' if count > 1 else ''}"] = torch.stack(frames[:count]).mean(0)
            if reversed_too:
                results["8 views (+ reversed)"] = torch.stack(frames).mean(0)
            for method, frame in results.items():
                scores.setdefault(method, []).append(psnr(frame.clamp(0, 1), middle))
        row = {"set": name, "n": len(dataset), "s_per_view": float(np.median(view_seconds))}
        row.update({method: float(np.mean(values)) for method, values in scores.items()})
        rows.append(row)
        progress(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)))
    return rows


def markdown(rows: list[dict], checkpoint: str, argv: list[str], seconds: float) -> str:
    methods = [k for k in rows[0] if k not in ("set", "n", "s_per_view")]
    views = [m for m in methods if "view" in m]
    lines = [
        f"# Self-ensemble on held-out real triplets: `{checkpoint}`",
        "",
        f"`python benchmarks/self_ensemble.py {' '.join(argv)}` · {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s), torch {torch.__version__} · {seconds:.0f} s in all",
        "",
        "PSNR (dB), mean over the set; the view columns are the means of the first N mirrored views (`--ensemble N`).",
        "",
        "| set (n) | " + " | ".join(methods) + " |",
        "|---|" + "---:|" * len(methods),
    ]
    for row in rows:
        best = max(row[m] for m in methods)
        cells = [f"**{row[m]:.2f}**" if row[m] == best else f"{row[m]:.2f}" for m in methods]
        lines.append(f"| {row['set']} ({row['n']}) | " + " | ".join(cells) + " |")
    lines += ["", "Model seconds per frame (median view time x views): " + ", ".join(
        f"{m}: {np.mean([r['s_per_view'] for r in rows]) * int(m.split()[0]):.2f} s" for m in views
    )]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="PSNR of 1, 2 and 4 mirrored views on held-out real triplets.")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT), help="generator .safetensors (default: shipped)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv", help="folder of the opencv-doc clips")
    parser.add_argument("--triplets", type=int, default=30, help="held-out triplets per gap (default 30)")
    parser.add_argument("--gaps", default="1,2", help="comma-separated frame gaps d (default 1,2)")
    parser.add_argument("--reversal", action="store_true", help="also the four views with the frames swapped (8 in all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if args.triplets < 1:
        parser.error("--triplets must be at least 1")
    try:
        gaps = tuple(int(g) for g in args.gaps.split(","))
    except ValueError:
        parser.error(f"--gaps must be comma-separated integers, got {args.gaps!r}")
    videos = [args.data / clip for clip in CLIPS]
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        parser.error(f"missing clip(s) {', '.join(missing)}: run `nlvfi data fetch` first")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    generator = load_generator(args.checkpoint).eval()
    rows = measure(generator, real_sets(videos, gaps, args.triplets), args.reversal,
                   progress=lambda line: print(line, file=sys.stderr, flush=True))
    table = markdown(rows, args.checkpoint, argv, time.perf_counter() - started)
    print(table)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(table + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
