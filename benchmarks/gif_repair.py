"""Stuttering GIFs repaired as GIFs (`nlvfi repair in.gif -o out.gif`): detection, quality, size.

    python benchmarks/gif_repair.py --out results/gif_repair.md       # the table in results/ (about 2 min on 2 cores)
    python benchmarks/gif_repair.py --clips vtest --frames 30 --seeds 0

The GIFs are made as a GIF maker makes them, from the held-out parts of the OpenCV clips
(``benchmarks/repair_quality.py``'s ``vtest``, ``megamind`` and ``tree``; run ``nlvfi data fetch``
first), their first ``--frames`` frames shrunk to at most ``--max-side`` pixels (GIFs are small):

1. one palette of 256 colours for the whole clip, by median cut over every 8th frame (Pillow), and
   every frame drawn in it by nearest colour without dithering: these are the **GIF originals**,
   what the GIF shows where nothing is missing;
2. copies injected as the repair benchmark injects them (``repair_quality.inject``, ``--seeds``):
   frame m replaced by frame m-1, in runs of 1-3;
3. written as a GIF (``nlvfi.gif_writer``), each frame shown for ``round(100 / rate)`` hundredths.

Then the tool itself runs (``nlvfi.repair.repair_video`` with the shipped checkpoint and its
defaults, ``-o out.gif``). Per clip (all seeds together) it prints: detection precision and recall;
the untouched frames identical to the input's (of all untouched frames); and the mean PSNR (dB, 8-bit
R, G, B) against the GIF originals of the repaired copies as: the copy left in, the
time-weighted average of the two frames around the run drawn in the same colours as the tool
draws its new frames (the colours of those two frames, nearest colour: so the two differ only in
what is blended), and the GIF the tool wrote; then the output's size against the input's (whose
copies cost almost nothing: a copy is written as a 1 x 1 image) and against the same writer's GIF
of the originals, and the tool's wall time per GIF (the model loaded in each call; whatever else
the machine ran).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.gif_output import nearest_colours, neighbours_palette  # noqa: E402
from nlvfi.gif_writer import gif_bytes, packed_colours, unpacked  # noqa: E402
from nlvfi.repair import repair_video  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as fades.py imports them
import repair_quality  # noqa: E402


def gif_originals(frames: list[np.ndarray]) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames drawn in one palette of 256 colours made by median cut over every
    8th frame, nearest colour, no dithering (the module docstring's step 1)."""
    mosaic = Image.fromarray(np.concatenate(frames[::8], axis=0))
    palette = mosaic.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return [np.asarray(Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")) for rgb in frames]


def packed(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) R, G, B -> (H, W) packed opaque colours (nlvfi.gif_writer)."""
    bgra = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return packed_colours(bgra).copy()


def rgb_of(frame: np.ndarray) -> np.ndarray:
    """(H, W) packed -> (H, W, 3) R, G, B."""
    return unpacked(frame)[..., 2::-1]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def decoded_rgb(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def blended(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """The time-weighted average of two (H, W, 3) uint8 frames, rounded."""
    return np.rint((1 - t) * before.astype(np.float64) + t * after.astype(np.float64)).astype(np.uint8)


def averaged(before: np.ndarray, after: np.ndarray, t: float) -> np.ndarray:
    """The time-weighted average of two GIF frames, drawn in their colours (nearest colour)."""
    blend = blended(before, after, t)
    palette = neighbours_palette(packed(before), packed(after))
    if palette is None:  # more than 256 together: the blend as it is (the tool would cut a palette of its own)
        return blend
    return rgb_of(nearest_colours(packed(blend), palette))


def repaired_copies(report: dict, truth: set[int]):
    """``(frame, before, after, t)`` for each injected copy the tool repaired: the shown frames
    around its run and its time between them."""
    for run in report["detection"]["runs"]:
        if run["status"] != "repair":
            continue
        before, after = run["first"] - 1, run["last"] + 1
        for frame in range(run["first"], run["last"] + 1):
            if frame in truth:
                yield frame, before, after, (frame - before) / (after - before)


def score_copies(row: dict, report: dict, truth: set[int], shown, written, originals, average=blended) -> None:
    """Add to ``row["psnr"]`` the PSNR against ``originals`` of each repaired copy as the input
    ``shown`` it (the copy left in), as the ``average`` of the shown frames around its run, and as
    the tool ``written`` it."""
    for frame, before, after, t in repaired_copies(report, truth):
        row["psnr"]["copy"].append(psnr(shown[frame], originals[frame]))
        row["psnr"]["average"].append(psnr(average(shown[before], shown[after], t), originals[frame]))
        row["psnr"]["nlvfi"].append(psnr(written[frame], originals[frame]))


def measure(originals: list[np.ndarray], rate: float, seed: int, folder: Path, checkpoint: Path | None) -> dict:
    """One stuttering GIF (the module docstring) repaired by the tool: the row's counts and sums."""
    stuttered, duplicates = repair_quality.inject(originals, seed)
    delay = max(2, round(100 / rate))
    source = folder / f"stutter_{seed}.gif"
    source.write_bytes(gif_bytes([packed(rgb) for rgb in stuttered], [delay] * len(stuttered)))
    output = folder / f"repaired_{seed}.gif"
    started = time.perf_counter()
    report = repair_video(source, output, checkpoint=checkpoint, progress=False)
    seconds = time.perf_counter() - started
    written = decoded_rgb(output)
    flagged, truth = set(report["detection"]["duplicates"]), set(duplicates)
    replaced = {entry["frame"] for entry in report["replaced"]}
    row = {"flagged": len(flagged), "true_flagged": len(flagged & truth), "copies": len(truth), "seconds": seconds,
           "bytes_in": source.stat().st_size, "bytes_out": output.stat().st_size,
           "bytes_originals": len(gif_bytes([packed(rgb) for rgb in originals], [delay] * len(originals))), "psnr": {"copy": [], "average": [], "nlvfi": []},
           "identical": report["gif"]["untouched_frames_identical"], "untouched": len(written) - len(replaced)}  # fmt: skip
    score_copies(row, report, truth, stuttered, written, originals, averaged)  # a GIF shows its frames exactly
    return row


def detection_cells(found: list[dict]) -> str:
    """A row's "copies | precision | recall | untouched identical" cells over the ``found`` runs."""
    flagged, true, copies = (sum(r[k] for r in found) for k in ("flagged", "true_flagged", "copies"))
    identical = f"{sum(r['identical'] for r in found)}/{sum(r['untouched'] for r in found)}"
    return f"{copies} | {true / max(flagged, 1):.3f} | {true / max(copies, 1):.3f} | {identical}"


def psnr_cells(found: list[dict]) -> str:
    """A row's "copy left in | average | nlvfi" mean PSNR cells over the ``found`` runs."""
    return " | ".join(f"{np.mean([v for r in found for v in r['psnr'][k]]):.2f}" for k in ("copy", "average", "nlvfi"))


def size_ratio(found: list[dict], against: str = "bytes_in") -> float:
    """The outputs' size over the inputs' (or ``against`` another size) over the ``found`` runs."""
    return sum(r["bytes_out"] for r in found) / sum(r[against] for r in found)


def format_table(rows: dict[str, list[dict]], frames: int, max_side: int, seeds: list[int]) -> str:
    lines = [
        f"GIFs from the held-out OpenCV clips, first {frames} frames at most {max_side} px, one 256-colour palette each, "
        f"seeds {','.join(map(str, seeds))}; `nlvfi repair in.gif -o out.gif`, shipped checkpoint, defaults. "
        f"PSNR (dB) of the repaired copies against the GIF originals. {platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {time.strftime('%Y-%m-%d')}.",
        "",
        "| clip | copies | precision | recall | untouched identical | copy left in | average (its colours) | nlvfi GIF | size out / in | out / GIF of the originals | seconds per GIF |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clip, found in rows.items():
        lines.append(
            f"| {clip} | {detection_cells(found)} | {psnr_cells(found)} | {size_ratio(found):.2f} "
            f"| {size_ratio(found, 'bytes_originals'):.2f} | {np.mean([r['seconds'] for r in found]):.1f} |"
        )
    return "\n".join(lines) + "\n"


def clip_arguments(parser: argparse.ArgumentParser, made: str) -> argparse.ArgumentParser:
    """The options of a benchmark that repairs ``made`` (GIFs, WebPs) cut from the held-out clips."""
    parser.add_argument("--clips", default="vtest,megamind,tree", help="repair_quality.CLIPS names, comma list")
    parser.add_argument("--frames", type=int, default=60, help="frames of each clip's held-out part (default 60)")
    parser.add_argument("--max-side", type=int, default=320, help=f"longest side of the {made} (default 320)")
    parser.add_argument("--seeds", default="0,1", help="injection seeds, comma list (default 0,1)")
    parser.add_argument("--checkpoint", type=Path, help="generator (default: the shipped one)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv", help="folder of the OpenCV clips")
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    return parser


def measured_codings(args: argparse.Namespace, codings: list[str], made: str, measure) -> dict[tuple[str, str], list[dict]]:
    """``{(clip, coding): rows}``: ``measure(frames, rate, coding, seed, folder)`` for every clip of
    ``args.clips`` (its held-out frames), input coding and seed of ``args.seeds``, in a temporary
    folder, with a progress bar of ``made`` (GIFs, WebPs, APNGs)."""
    seeds = [int(seed) for seed in args.seeds.split(",")]
    clips = args.clips.split(",")
    rows: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder, tqdm(total=len(clips) * len(codings) * len(seeds), desc=made, unit=made[:-1]) as bar:
        for clip in clips:
            frames, rate = repair_quality.load_frames(clip, args.data, args.frames, args.max_side)
            for coding in codings:
                rows[clip, coding] = []
                for seed in seeds:
                    rows[clip, coding].append(measure(frames, rate, coding, seed, Path(folder)))
                    bar.update(1)
    return rows


def show_table(table: str, out: Path | None) -> None:
    """Print the table, and write it to ``out`` (Markdown) where given."""
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)


def main(argv: list[str] | None = None) -> int:
    args = clip_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "GIFs").parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder, tqdm(total=len(args.clips.split(",")) * len(seeds), desc="GIFs", unit="GIF") as bar:
        for clip in args.clips.split(","):
            frames, rate = repair_quality.load_frames(clip, args.data, args.frames, args.max_side)
            originals = gif_originals(frames)
            rows[clip] = []
            for seed in seeds:
                rows[clip].append(measure(originals, rate, seed, Path(folder), args.checkpoint))
                bar.update(1)
    table = format_table(rows, args.frames, args.max_side, seeds)
    show_table(table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
