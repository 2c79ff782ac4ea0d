"""Interlaced video repaired and up-converted with ``--deinterlace``: detection, quality against the real pictures.

    python benchmarks/interlaced_repair.py --out results/interlaced_repair.md     # the tables in results/ (a few minutes on 2 cores)
    python benchmarks/interlaced_repair.py --clips vtest --seeds 0 --codings ffv1

Interlaced clips are made from the held-out parts of the OpenCV clips (``benchmarks/repair_quality.py``'s
``vtest`` and ``megamind``; run ``nlvfi data fetch`` first), shrunk to at most ``--max-side`` pixels:
interlaced frame k weaves the bottom lines of progressive frame 2k with the top lines of frame 2k+1,
so each field is a real picture, the bottom one shown first (as in PAL DV), at half the clip's
frame rate. Bottom first, as FFmpeg's x264 wrapper flags every frame it is given without a
top-field-first flag bottom first (PyAV cannot set it), whatever x264's own ``tff`` says: a
top-first clip coded so is flagged against its fields (bwdif, told so, then gave 31.0 dB on
Megamind's, 38.4 told top first). The
**originals** are the progressive frames: frame 2k is what deinterlaced frame k should show (its
first field's time), frame 2k+1 what its second field shows, half a frame later.

Repair: copies injected into the interlaced frames as the repair benchmark injects them
(``repair_quality.inject``, ``--seeds``: frame m replaced by frame m-1, both fields, in runs of
1-3), coded ``ffv1`` (lossless, the field order in the header only: every frame deinterlaced) or
``h264`` (x264 in its interlaced mode, crf 18, every frame flagged: copies come back noisy). Then
``nlvfi repair --deinterlace`` (``repair_video``, shipped checkpoint, defaults) twice: each run's
pair from the second field of the frame before it (the tool's way), and from the frames, as for
progressive video (``second_fields=False``). Per clip and coding (all seeds together): detection
precision and recall; the mean PSNR (dB, 8-bit RGB) of the untouched frames against the originals
as woven (what a player that does not deinterlace shows: the fields comb) and as the tool
deinterlaced them; and of the repaired copies: the copy left in and the time-weighted average of
the two frames around the run (both deinterlaced), then the two repairs.

Up-conversion: the same clips without copies, coded ``ffv1``, through ``nlvfi interpolate --factor
2 --deinterlace`` (no ensemble, the CLI's defaults): the mean PSNR of the new frames, half-way,
against progressive frames 2k+1, as the average of the two frames around them, generated from
the deinterlaced frames (``second_fields=False``) and as the tool writes them, each frame's second
field.

The clips' fields lie a whole clip frame apart (vtest: 0.1 s), longer than a camera's 1/50 or 1/60 s,
so they move more between fields than interlaced video usually does.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.interpolate import interpolate_video, load_model  # noqa: E402
from nlvfi.repair import repair_video  # noqa: E402
from nlvfi.videoio import VideoReader, write_video  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as fades.py imports them
import gif_repair  # noqa: E402
import repair_quality  # noqa: E402

psnr = gif_repair.psnr  # of two (H, W, 3) uint8 frames

CODINGS = {"ffv1": ("ffv1", "yuv444p", {}), "h264": ("libx264", "yuv420p", {"crf": "18", "x264-params": "interlaced=1:bff=1", "threads": "1"})}
BOTTOM_FIELD_FIRST = 3  # FFmpeg's AVFieldOrder AV_FIELD_BB


def woven(progressive: list[np.ndarray]) -> list[np.ndarray]:
    """Interlaced (H, W, 3) frames: frame k is progressive frame 2k's bottom lines and 2k+1's top lines."""
    frames = []
    for k in range(len(progressive) // 2):
        frame = progressive[2 * k].copy()
        frame[0::2] = progressive[2 * k + 1][0::2]
        frames.append(frame)
    return frames


def write_interlaced(frames: list[np.ndarray], path: Path, rate: float, coding: str) -> Path:
    """``frames`` coded as ``coding`` (module doc), marked bottom field first."""
    codec, pix_fmt, options = CODINGS[coding]
    rational = Fraction(rate).limit_denominator(1001)
    return write_video(path, frames, rational, codec, pix_fmt, options=options, field_order=BOTTOM_FIELD_FIRST)


def decoded(path: Path, deinterlace: bool = False) -> list[np.ndarray]:
    """(H, W, 3) uint8 RGB of every frame, as the tool gives them to the model (deinterlaced where asked)."""
    with VideoReader(path, deinterlace=deinterlace) as reader:
        return [repair_quality.model_rgb(item.frame) for item in reader]


def measure_repair(progressive: list[np.ndarray], rate: float, coding: str, seed: int, folder: Path, checkpoint: Path | None) -> dict:
    """One stuttering interlaced clip (module doc) repaired both ways: the row's counts and PSNRs."""
    interlaced = woven(progressive)
    originals = progressive[::2][: len(interlaced)]  # what each deinterlaced frame should show
    stuttered, duplicates = repair_quality.inject(interlaced, seed)
    source = write_interlaced(stuttered, folder / f"stutter_{coding}_{seed}.mkv", rate / 2, coding)
    reports, written = {}, {}
    for way, second_fields in (("fields", True), ("frames", False)):
        output = folder / f"repaired_{coding}_{seed}_{way}.mkv"
        reports[way] = repair_video(source, output, checkpoint=checkpoint, progress=False, deinterlace=True, second_fields=second_fields)
        written[way] = decoded(output)
    report, truth = reports["fields"], set(duplicates)
    flagged = set(report["detection"]["duplicates"])
    shown, as_woven = decoded(source, deinterlace=True), decoded(source)
    untouched = [k for k in range(len(shown)) if k not in flagged and k not in truth]
    row = {"flagged": len(flagged), "true_flagged": len(flagged & truth), "copies": len(truth),
           "woven": [psnr(as_woven[k], originals[k]) for k in untouched],
           "deinterlaced": [psnr(shown[k], originals[k]) for k in untouched],
           "psnr": {"copy": [], "average": [], "frames": [], "fields": []}}  # fmt: skip
    for frame, before, after, t in gif_repair.repaired_copies(report, truth):
        row["psnr"]["copy"].append(psnr(shown[frame], originals[frame]))
        row["psnr"]["average"].append(psnr(gif_repair.blended(shown[before], shown[after], t), originals[frame]))
        for way in ("frames", "fields"):
            row["psnr"][way].append(psnr(written[way][frame], originals[frame]))
    return row


def measure_upconversion(progressive: list[np.ndarray], rate: float, folder: Path, generator) -> dict:
    """The clip without copies up-converted x2 both ways (module doc): PSNRs of the half-way frames."""
    interlaced = woven(progressive)
    source = write_interlaced(interlaced, folder / "clean.mkv", rate / 2, "ffv1")
    shown = decoded(source, deinterlace=True)
    gaps = range(len(interlaced) - 1)
    row = {"average": [psnr(gif_repair.blended(shown[k], shown[k + 1], 0.5), progressive[2 * k + 1]) for k in gaps]}
    for way, second_fields in (("frames", False), ("fields", True)):
        output = folder / f"x2_{way}.mkv"
        interpolate_video(source, output, generator, 2, progress=False, resume=False, deinterlace=True, second_fields=second_fields)
        made = decoded(output)
        row[way] = [psnr(made[2 * k + 1], progressive[2 * k + 1]) for k in gaps]
    return row


def mean(values: list[float]) -> str:
    return f"{np.mean(values):.2f}"


def format_tables(repairs: dict[tuple[str, str], list[dict]], upconversions: dict[str, dict], max_side: int, seeds: list[int]) -> str:
    lines = [
        f"Interlaced clips woven from the held-out OpenCV clips (frame k: progressive frame 2k's bottom lines, 2k+1's top lines), "
        f"at most {max_side} px, seeds {','.join(map(str, seeds))}; shipped checkpoint. PSNR (dB) against the progressive frames. "
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, {time.strftime('%Y-%m-%d')}.",
        "",
        "`nlvfi repair --deinterlace`, defaults: the pair from the frames (as for progressive video) or from the second field "
        "of the frame before the run (the tool's way).",
        "",
        "| clip | coding | frames | copies | precision | recall | untouched: woven | untouched: deinterlaced | copy left in | average "
        "| nlvfi, frame pair | nlvfi, second field pair |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (clip, coding), found in repairs.items():
        flagged, true, copies = (sum(r[k] for r in found) for k in ("flagged", "true_flagged", "copies"))
        lines.append(
            f"| {clip} | {coding} | {found[0]['frames']} | {copies} | {true / max(flagged, 1):.3f} | {true / max(copies, 1):.3f} "
            f"| {mean([v for r in found for v in r['woven']])} | {mean([v for r in found for v in r['deinterlaced']])} | "
            + " | ".join(mean([v for r in found for v in r["psnr"][k]]) for k in ("copy", "average", "frames", "fields"))
            + " |"
        )
    lines += [
        "",
        "`nlvfi interpolate --factor 2 --deinterlace` (FFV1, no copies): the new frames, half-way, against progressive frames 2k+1.",
        "",
        "| clip | new frames | average | generated from the frames | second fields (the tool) |",
        "|---|---:|---:|---:|---:|",
    ]
    for clip, row in upconversions.items():
        lines.append(f"| {clip} | {len(row['average'])} | {mean(row['average'])} | {mean(row['frames'])} | {mean(row['fields'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="vtest,megamind", help="repair_quality.CLIPS names, comma list")
    parser.add_argument("--max-side", type=int, default=320, help="longest side of the clips (default 320)")
    parser.add_argument("--seeds", default="0,1,2", help="injection seeds, comma list (default 0,1,2)")
    parser.add_argument("--codings", default="ffv1,h264", help="codings of the stuttering clips, comma list (ffv1, h264)")
    parser.add_argument("--checkpoint", type=Path, help="generator (default: the shipped one)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv", help="folder of the OpenCV clips")
    parser.add_argument("--out", type=Path, help="also write the tables here (Markdown)")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    clips, codings = args.clips.split(","), args.codings.split(",")
    generator, _ = load_model(args.checkpoint, "cpu")
    repairs: dict[tuple[str, str], list[dict]] = {}
    upconversions: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder, tqdm(total=len(clips) * (len(codings) * len(seeds) + 1), desc="clips", unit="run") as bar:
        for clip in clips:
            progressive, rate = repair_quality.load_frames(clip, args.data, None, args.max_side)
            progressive = [frame[: frame.shape[0] // 4 * 4] for frame in progressive]  # each field's height even, for 4:2:0
            for coding in codings:
                repairs[clip, coding] = []
                for seed in seeds:
                    row = measure_repair(progressive, rate, coding, seed, Path(folder), args.checkpoint)
                    repairs[clip, coding].append({**row, "frames": len(progressive) // 2})
                    bar.update(1)
            upconversions[clip] = measure_upconversion(progressive, rate, Path(folder), generator)
            bar.update(1)
    gif_repair.show_table(format_tables(repairs, upconversions, args.max_side, seeds), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
