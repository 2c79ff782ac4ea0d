"""Duplicate detection on screen recordings: a cursor, typing and a dragged window on a still desktop.

    python benchmarks/detection_screen.py                                      # seeds 0-3, FFV1 and x264 crf 18 / 23
    python benchmarks/detection_screen.py --seeds 0-7 --crfs 18,23,28 --out results/detection_screen.md

A screen recorder (OBS, a game capture) that cannot keep up repeats the frame before: the
stutter ``nlvfi repair`` is for. Between the repeats, most of the screen stays still and what
changes is small: a cursor moving, a character typed. Such a real frame differs from the one
before by a MAD far under the detection's floor (0.02 grey levels), and in under 1% of its 16x16
blocks, so that the floor and the peak took it for a copy (nlvfi/duplicates.py, "Spots").

Each file is made here, nothing is downloaded: :func:`screen_recording` draws a 1280x720
desktop (panels, lines of "text" as small blocks), a black-outlined white arrow cursor that
moves, stops and moves again at 2-8 px a frame, a line typed one dark character every 2-4
frames on a white editor line,
and a window dragged at 6-12 px a frame; ``seed`` chooses the paths, speeds and times. Copies
are injected as in the other benchmarks (``repair_quality.inject``: runs of 1-3, about one per 7
frames). The truth is every frame equal to the one before in what was drawn: the injected
copies, and the frames of a still screen (between keystrokes, a cursor at rest), which the
method counts as duplicates too (it sees frames only; METHOD.md §4.1).

Per encoding (FFV1, and x264 at each ``--crfs`` on one thread, ``--preset``: medium), the table
gives the files meeting the issue's bar (precision and recall >= 0.95; 1.0 for FFV1), the worst
precision and recall, and the real frames taken and copies missed over all files, for the
tool's detection and for the same detection without the spots (``detect_duplicates`` on the
same measurements with ``spots=None``). In FFV1 the copies are bit-identical, and there the
detection's floor is 0 (nlvfi/duplicates.py): the rule before both, the floor at 0.02 and no
spots, took 108 real frames of the 8 FFV1 files of seeds 0-7 (run on the code before them), which
this table cannot show. Nothing is timed.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.duplicates import detect_duplicates  # noqa: E402
from nlvfi.repair import analyze_video  # noqa: E402
from nlvfi.videoio import VideoReader, is_intra, write_video  # noqa: E402

_spec = importlib.util.spec_from_file_location("detection_robustness", Path(__file__).resolve().parent / "detection_robustness.py")
detection_robustness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(detection_robustness)
repair_quality = detection_robustness.repair_quality

BAR = 0.95
HEIGHT, WIDTH = 720, 1280
RATE = 30


def cursor_masks() -> tuple[np.ndarray, np.ndarray]:
    """(18, 12) bool masks of an arrow cursor: its white fill and its black outline."""
    shape = np.zeros((18, 12), dtype=bool)
    for row in range(18):
        shape[row, : max(1, min(12, 2 * row // 3))] = True
    grown = shape.copy()  # the outline: the shape grown by one pixel, less the shape
    grown[1:] |= shape[:-1]
    grown[:-1] |= shape[1:]
    grown[:, 1:] |= shape[:, :-1]
    grown[:, :-1] |= shape[:, 1:]
    outline = grown & ~shape
    outline[:, -1] |= shape[:, -1]  # the shape's own last column is its edge
    return shape & ~outline, outline


def screen_recording(seed: int, frames: int = 90) -> list[np.ndarray]:
    """(HEIGHT, WIDTH, 3) uint8 frames of a synthetic screen recording (module doc)."""
    rng = np.random.default_rng(seed)
    desktop = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    desktop[:] = rng.integers(20, 90, 3)
    type_at = (int(rng.integers(40, HEIGHT - 100)), int(rng.integers(40, WIDTH - 500)))
    desktop[type_at[0] - 8 : type_at[0] + 28, type_at[1] - 8 : type_at[1] + 420] = 250  # an editor's empty line
    for _ in range(6):  # panels, each with lines of "text"
        top, left = int(rng.integers(0, HEIGHT - 200)), int(rng.integers(0, WIDTH - 300))
        height, width = int(rng.integers(120, 200)), int(rng.integers(200, 300))
        desktop[top : top + height, left : left + width] = rng.integers(200, 250, 3)
        for line in range(top + 10, top + height - 12, 14):
            for x in range(left + 8, left + width - 8, 8):
                if rng.random() < 0.7:
                    desktop[line : line + 9, x : x + 6] = rng.integers(0, 80, 3)
    fill, outline = cursor_masks()
    glyphs = [rng.random((12, 8)) < 0.45 for _ in range(40)]
    typing_start, typing_every = int(rng.integers(25, 40)), int(rng.integers(2, 5))
    drag_start, drag_speed = int(rng.integers(65, 75)), int(rng.integers(6, 13))
    # the cursor: moves, rests, moves again (rest frames are a still screen where nothing else changes)
    speeds = np.where((np.arange(frames) // 10) % 3 == 2, 0, rng.integers(2, 9, frames))  # (frames,) px a frame
    angle = rng.uniform(0, 2 * np.pi)
    y, x = float(rng.integers(100, HEIGHT - 100)), float(rng.integers(100, WIDTH - 100))
    out = []
    for index in range(frames):
        image = desktop.copy()
        typed = 0 if index < typing_start else min(len(glyphs), (index - typing_start) // typing_every + 1)
        for number in range(typed):
            top, left = type_at[0], type_at[1] + 10 * number
            image[top : top + 12, left : left + 8][glyphs[number]] = 15
        if index >= drag_start:
            left = 100 + drag_speed * (index - drag_start)
            image[300:520, left : left + 360] = (215, 215, 225)
            image[300:322, left : left + 360] = (40, 90, 170)
        y = float(np.clip(y + speeds[index] * np.sin(angle), 0, HEIGHT - 18))
        x = float(np.clip(x + speeds[index] * np.cos(angle), 0, WIDTH - 12))
        if speeds[index] and (y in (0, HEIGHT - 18) or x in (0, WIDTH - 12)):
            angle += np.pi / 2
        top, left = int(y), int(x)
        image[top : top + 18, left : left + 12][outline] = 0
        image[top : top + 18, left : left + 12][fill] = 255
        out.append(image)
    return out


def stuttered(seed: int) -> tuple[list[np.ndarray], list[int]]:
    """One file's frames and its truth: the frames equal to the one before (module doc)."""
    frames, _ = repair_quality.inject(screen_recording(seed), seed)
    return frames, [i for i in range(1, len(frames)) if np.array_equal(frames[i], frames[i - 1])]


def encode(frames: list[np.ndarray], path: Path, crf: int | None, preset: str) -> Path:
    """FFV1 (``crf`` None) or x264 at ``crf`` on one thread, ``preset``."""
    if crf is None:
        return write_video(path.with_suffix(".mkv"), frames, RATE, codec="ffv1", pix_fmt="yuv420p")
    options = {"crf": str(crf), "preset": preset, "threads": "1"}
    return write_video(path.with_suffix(".mp4"), frames, RATE, codec="libx264", pix_fmt="yuv420p", options=options)


def measure(seed: int, crf: int | None, preset: str, workdir: Path) -> dict:
    """Scores of the tool's detection, and of the same without spots, on one file."""
    frames, truth = stuttered(seed)
    path = encode(frames, workdir / f"screen-{seed}-{crf}", crf, preset)
    analysis = analyze_video(path)
    with VideoReader(path) as reader:
        intra = [is_intra(item.frame) for item in reader]
    path.unlink()
    detection = analysis.detection
    without = detect_duplicates(
        detection.diffs, peaks=detection.peaks, shares=detection.shares, lossless=analysis.info.lossless, intra=intra
    )  # fmt: skip
    row = {"seed": seed, "crf": crf, "copies": len(truth), "frames": len(frames)}
    for name, found in (("tool", detection.duplicates), ("without_spots", without.duplicates)):
        precision, recall = repair_quality.scores(set(found), set(truth))
        row[name] = {
            "precision": precision, "recall": recall, "false": sorted(set(found) - set(truth)), "missed": sorted(set(truth) - set(found)),
        }  # fmt: skip
    return row


def format_table(rows: list[dict], seeds: list[int], preset: str, seconds: float, command: str) -> str:
    """The Markdown table of ``rows`` (:func:`measure`'s); ``command``: the command line that made them."""
    lines = [
        "# Duplicate detection on screen recordings",
        "",
        f"`{command}`: {len(seeds)} synthetic 1280x720 screen "
        f"recordings ({rows[0]['frames'] if rows else 0} frames at {RATE} frames/s: a moving and resting cursor, typing, a "
        f"dragged window), copies injected as in the other benchmarks; the truth is every frame equal to the one before "
        f"(injected copies and still-screen frames). x264 on one thread, preset {preset}. {platform.platform()}, "
        f"{seconds:.0f} s.",
        "",
        "| encoding | rule | files at the bar | worst precision | worst recall | real frames taken | copies missed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for crf in dict.fromkeys(row["crf"] for row in rows):
        group = [row for row in rows if row["crf"] == crf]
        bar = 1.0 if crf is None else BAR
        for name, label in (("tool", "the tool (spots)"), ("without_spots", "without spots")):
            scores = [row[name] for row in group]
            meeting = sum(min(s["precision"], s["recall"]) >= bar for s in scores)
            lines.append(
                f"| {'FFV1' if crf is None else f'crf {crf}'} | {label} | {meeting} / {len(group)} | "
                f"{min(s['precision'] for s in scores):.2f} | {min(s['recall'] for s in scores):.2f} | "
                f"{sum(len(s['false']) for s in scores)} | {sum(len(s['missed']) for s in scores)} |"
            )
    copies = sum(row["copies"] for row in rows if row["crf"] == rows[0]["crf"]) if rows else 0
    lines += ["", f"Copies per encoding: {copies} (injected copies and still-screen frames)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=detection_robustness.parse_seeds, default=detection_robustness.parse_seeds("0-3"),
                        help="screen recordings, e.g. 0-3 or 0,5 (default 0-3)")  # fmt: skip
    parser.add_argument("--crfs", default="18,23", help="x264 crf values besides FFV1 (default 18,23)")
    parser.add_argument("--preset", default="medium", help="x264 preset (default medium)")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here (atomically)")
    args = parser.parse_args(argv)
    seeds = args.seeds
    try:
        crfs = [None] + [int(value) for value in args.crfs.split(",") if value]
    except ValueError:
        parser.error(f"--crfs takes a comma list of integers, got {args.crfs!r}")
    if any(crf is not None and not 0 <= crf <= 51 for crf in crfs):
        parser.error("--crfs: x264 takes crf 0-51")
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="nlvfi-screen-") as tmp:
        for crf in crfs:
            for seed in tqdm(seeds, desc="FFV1" if crf is None else f"crf {crf}", unit="file"):
                rows.append(measure(seed, crf, args.preset, Path(tmp)))
    command = " ".join(["python benchmarks/detection_screen.py", *(argv if argv is not None else sys.argv[1:])])
    table = format_table(rows, seeds, args.preset, time.perf_counter() - started, command)
    print(table)
    if args.out is not None:
        atomic_write(args.out, lambda path: Path(path).write_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
