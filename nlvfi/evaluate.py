"""Evaluation: PSNR and SSIM of every method on held-out real and synthetic triplets, one run.

    nlvfi evaluate --checkpoint checkpoints/nlvfi-cpu.safetensors [--videos data/opencv/*.avi]
                   [--synthetic-samples 200] [--max-triplets 100] [--out results/eval] [--no-resume]

Sets: the held-out last 20% of each real clip, one set per gap d in {1, 2, 4} (full frames,
never trained on), and synthetic flying-layers scenes per motion bucket (256x256, a seed no
training run uses). Methods: repeat the previous frame, average the two frames, OpenCV DIS
flow (when cv2 is installed) and each nlvfi checkpoint given. PSNR/SSIM settings:
``nlvfi.metrics``. Writes a Markdown table, a CSV of per-set means and a JSON.

Each set's rows are kept in ``OUT/partial.json`` as soon as the set is done; an interrupted run
(Ctrl-C, SIGTERM) run again with the same command skips the sets kept there (their seconds per
frame are the ones measured then). They are used only when the checkpoints' bytes, the videos
(:func:`nlvfi.resume.input_fingerprint`), the sets' settings and the methods are the same; the
file is removed when the tables are written. ``--no-resume`` neither reads nor keeps it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset
from tqdm import tqdm

from . import __version__, baselines
from .acceleration import keep_freed_cpu_memory
from .checkpoint import atomic_write, load_generator
from .metrics import SSIM_SETTINGS, psnr, ssim
from .resume import input_fingerprint
from .self_ensemble import ALLOWED_VIEWS, self_ensemble

EVAL_SEED = 424242  # synthetic evaluation scenes: no training config uses this seed
Method = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


def evenly_spaced(dataset: Dataset, count: int | None) -> Dataset:
    """At most ``count`` items, evenly spread over the dataset (all if count is None)."""
    if count is None or len(dataset) <= count:
        return dataset
    return Subset(dataset, np.linspace(0, len(dataset) - 1, count).round().astype(int).tolist())


def real_sets(videos: list[Path], gaps=(1, 2, 4), max_triplets: int | None = 100) -> dict[str, Dataset]:
    """Held-out real triplets, one set per gap (``real d=1`` ...)."""
    from .data.video import VideoTriplets

    sets = {}
    for gap in gaps:
        dataset = VideoTriplets(videos, split="eval", gaps=(gap,), crop_size=None, augment=False)
        sets[f"real d={gap}"] = evenly_spaced(dataset, max_triplets)
    return sets


def synthetic_sets(samples: int, size: int = 256, buckets=("small", "medium", "large", "extreme")) -> dict[str, Dataset]:
    from .data.synthetic import FlyingLayers

    return {f"synthetic {b}": FlyingLayers(samples, motion=b, size=(size, size), seed=EVAL_SEED) for b in buckets}


def nlvfi_method(checkpoint: str | Path, device: torch.device, views: int = 1) -> Method:
    """The generator of ``checkpoint`` as a method; ``views`` > 1: the mean of that many mirrored
    views (``nlvfi.self_ensemble``, what ``--ensemble`` does in the tools)."""
    generator = load_generator(checkpoint, device=device).eval()

    @torch.inference_mode()
    def interpolate(prev: torch.Tensor, next: torch.Tensor, t: float = 0.5) -> torch.Tensor:
        def one_view(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return generator(a, b, t=t).frame

        return self_ensemble(one_view, prev.to(device), next.to(device), views).cpu()

    return interpolate


def evaluate(
    methods: dict[str, Method],
    sets: dict[str, Dataset],
    progress: bool = True,
    kept: dict[str, list[dict]] | None = None,
    keep: Callable[[str, list[dict]], None] | None = None,
) -> list[dict]:
    """Mean PSNR/SSIM (and seconds per frame) of every method on every set.

    ``kept``: rows of sets already measured (an interrupted run's), used as they are;
    ``keep(set_name, rows)`` is called as each other set is done (module doc).
    """
    rows = []
    for set_name, dataset in sets.items():
        if kept and set_name in kept:
            rows.extend(kept[set_name])
            continue
        set_rows = []
        scores = {name: {"psnr": [], "ssim": [], "seconds": 0.0} for name in methods}
        for i in tqdm(range(len(dataset)), desc=set_name, disable=not progress, leave=False):
            item = dataset[i]
            prev, middle, next = (item[k].unsqueeze(0) for k in ("prev", "middle", "next"))
            t = float(item.get("t", 0.5))
            for name, method in methods.items():
                start = time.perf_counter()
                frame = method(prev, next, t)
                scores[name]["seconds"] += time.perf_counter() - start
                scores[name]["psnr"].append(psnr(frame, middle))
                scores[name]["ssim"].append(ssim(frame, middle))
        for name, s in scores.items():
            set_rows.append(
                {
                    "set": set_name,
                    "method": name,
                    "n": len(dataset),
                    "psnr": float(np.mean(s["psnr"])),
                    "psnr_std": float(np.std(s["psnr"])),
                    "ssim": float(np.mean(s["ssim"])),
                    "seconds_per_frame": s["seconds"] / max(len(dataset), 1),
                }
            )
        rows.extend(set_rows)
        if keep is not None:
            keep(set_name, set_rows)
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Sets as rows, methods as columns, 'PSNR / SSIM' per cell; the best PSNR in bold."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lookup = {(r["set"], r["method"]): r for r in rows}
    lines = ["| set (n) | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for s in sets:
        best = max(lookup[(s, m)]["psnr"] for m in methods)
        cells = []
        for m in methods:
            r = lookup[(s, m)]
            cell = f"{r['psnr']:.2f} / {r['ssim']:.4f}"
            cells.append(f"**{cell}**" if r["psnr"] == best else cell)
        lines.append(f"| {s} ({lookup[(s, methods[0])]['n']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(rows: list[dict], out_dir: Path, header: str = "") -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(rows)
    settings = ", ".join(f"{k}={v}" for k, v in SSIM_SETTINGS.items())
    text = f"{header}\n\nPSNR (dB) / SSIM; SSIM: scikit-image structural_similarity({settings}).\n\n{table}\n"
    atomic_write(out_dir / "table.md", lambda tmp: Path(tmp).write_text(text))
    atomic_write(out_dir / "results.json", lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=2)))

    def write_csv(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(out_dir / "results.csv", write_csv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlvfi evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", default=[], help="nlvfi generator(s); NAME=PATH to label one")
    parser.add_argument("--videos", nargs="*", default=[], help="real clips (held-out last 20%% is used)")
    parser.add_argument("--gaps", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--max-triplets", type=int, default=100, help="per real set, evenly spaced")
    parser.add_argument("--synthetic-samples", type=int, default=200, help="per motion bucket (0: none)")
    parser.add_argument("--synthetic-size", type=int, default=256)
    parser.add_argument("--no-dis", action="store_true", help="skip the OpenCV DIS baseline")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--ensemble", nargs="+", type=int, choices=ALLOWED_VIEWS, default=[1], metavar="N",
        help="evaluate every checkpoint with each of these numbers of mirrored views (default 1; e.g. 1 4)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/eval"))
    parser.add_argument("--no-resume", action="store_true", help="neither use nor keep OUT/partial.json (module doc)")
    return parser


def resume_key(args: argparse.Namespace, methods: dict[str, Method]) -> dict:
    """What the kept rows of an interrupted run depend on (module doc)."""
    checkpoints = {}
    for spec in args.checkpoint:
        path = Path(spec.rpartition("=")[2])
        checkpoints[spec] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {
        "checkpoints": checkpoints,
        "videos": [input_fingerprint(v) for v in args.videos],
        "sets": {
            "gaps": args.gaps, "max_triplets": args.max_triplets, "synthetic_samples": args.synthetic_samples,
            "synthetic_size": args.synthetic_size,
        },
        "methods": list(methods),
        "nlvfi": __version__,
    }


def run(args: argparse.Namespace, shown: list[str]) -> int:
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    keep_freed_cpu_memory(device)  # on the CPU each call reuses the memory the last one freed (nlvfi.acceleration)
    methods: dict[str, Method] = {"repeat previous": baselines.repeat_previous, "average": baselines.average}
    if not args.no_dis:
        if baselines.dis_available():
            methods["DIS flow (OpenCV)"] = baselines.dis_interpolate
        else:
            print("OpenCV is not installed: skipping the DIS baseline (pip install opencv-python-headless)")
    for spec in args.checkpoint:
        name, _, path = spec.rpartition("=")
        for views in args.ensemble:
            label = name or f"nlvfi ({Path(path).stem})"
            methods[label if views == 1 else f"{label}, {views} views"] = nlvfi_method(path, device, views)
    sets: dict[str, Dataset] = {}
    if args.videos:
        sets.update(real_sets([Path(v) for v in args.videos], tuple(args.gaps), args.max_triplets))
    if args.synthetic_samples:
        sets.update(synthetic_sets(args.synthetic_samples, args.synthetic_size))
    if not sets:
        raise ValueError("nothing to evaluate: give --videos and/or --synthetic-samples > 0")
    partial = args.out / "partial.json"
    kept: dict[str, list[dict]] = {}
    keep = None
    if not args.no_resume:
        key = resume_key(args, methods)
        if partial.is_file():
            try:
                earlier = json.loads(partial.read_text())
            except ValueError:
                earlier = {}
            earlier = earlier if isinstance(earlier, dict) else {}
            if earlier.get("key") == key:
                kept = {name: rows for name, rows in earlier.get("sets", {}).items() if name in sets}
                print(f"resuming: {len(kept)} of {len(sets)} sets kept in {partial} by an interrupted run")
            else:
                print(f"{partial} was kept for other checkpoints, videos or settings: measuring every set")

        def keep(set_name: str, rows: list[dict]) -> None:
            kept[set_name] = rows
            text = json.dumps({"key": key, "sets": kept}, indent=1)
            args.out.mkdir(parents=True, exist_ok=True)
            atomic_write(partial, lambda tmp: Path(tmp).write_text(text))

    try:
        rows = evaluate(methods, sets, kept=dict(kept), keep=keep)
    except KeyboardInterrupt as interrupt:
        if keep is not None and kept:
            interrupt.resume_note = (
                f"{len(kept)} of {len(sets)} sets are kept in {partial}; run the same command again to go on from there"
            )
        raise
    header = f"# Evaluation\n\nCommand: `nlvfi evaluate {' '.join(shown)}`"
    write_results(rows, args.out, header)
    if keep is not None:
        partial.unlink(missing_ok=True)
    print(markdown_table(rows))
    print(f"wrote {args.out}/table.md, results.csv, results.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``nlvfi evaluate ...``: 0 on success; on bad input a one-line error and 2; interrupted, 130."""
    from .cli import guarded_main

    shown = list(argv) if argv is not None else sys.argv[1:]
    return guarded_main("evaluate", build_parser, lambda args: run(args, shown), argv)


if __name__ == "__main__":
    sys.exit(main())
