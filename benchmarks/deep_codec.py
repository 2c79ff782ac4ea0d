"""Which encoder re-encodes 10-bit lossy input: x264 (H.264 High 10) against x265 (HEVC Main 10).

    python benchmarks/deep_codec.py                           # 60 frames of vtest, about 1 min
    python benchmarks/deep_codec.py --crf 12,14,16,18 --out results/deep_codec.md
    python benchmarks/deep_codec.py --crf 16 --presets medium,fast,veryfast --size 1920x1080 --frames 30 \\
        --out results/deep_codec_presets_1080p.md         # what --preset trades, at 1080p

The frames of vtest.avi (OpenCV's, `nlvfi data fetch`) from frame 300 are converted to 10-bit
4:2:0, BT.709 (``--size``: resized first), and encoded by each encoder at each of ``--presets``
(default medium, the tools' default; ``nlvfi repair --preset`` chooses another); the table gives the PSNR of the
decoded 10-bit samples against the encoded ones (Y, Cb and Cr together, peak 1023), the file size
and the encoding speed on this machine. ``nlvfi.videoio.DEEP_LOSSY_CODEC`` and its crf were chosen
from it: x265 at the crf where it matches x264's crf 16 (the 8-bit default), since H.264 at 10
bits plays almost nowhere.
x264 runs on its own choice of threads, and its output varies a little from run to run with them
(mean PSNR 47.24-47.33 dB over three runs of the default table here); x265's did not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.colour import ColourTags  # noqa: E402
from nlvfi.videoio import SVT_AV1_QUALITY, X264_PRESETS, VideoReader, frame_to_rgb, to_pixel_format  # noqa: E402

BT709 = ColourTags(1, 1, 1, 1)


def ten_bit_frames(path: Path, start: int, count: int, size: tuple[int, int] | None = None) -> list:
    """``count`` frames of ``path`` from ``start``, as 10-bit 4:2:0 BT.709 av.VideoFrames, resized
    to ``size`` (width, height; bicubic) when given."""
    import av

    frames = []
    with VideoReader(path) as reader:
        for item in reader:
            if item.index < start:
                continue
            rgb = frame_to_rgb(item.frame, reader.info.traits).astype(np.uint16) * 257  # (H, W, 3) 16-bit
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le")
            if size:
                frame = frame.reformat(width=size[0], height=size[1], interpolation="BICUBIC")
            frames.append(to_pixel_format(frame, "yuv420p10le", BT709))
            if len(frames) == count:
                break
    return frames


def encode(frames: list, codec: str, crf: int, folder: Path, preset: str = "medium") -> dict:
    """Encode ``frames`` with ``codec`` at ``crf`` and ``preset``; PSNR of the decoded samples, size, speed."""
    import av

    path = folder / f"{codec}-{crf}-{preset.split()[0]}.mkv"
    started = time.perf_counter()
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, "yuv420p10le"
        if codec == "libsvtav1":  # as the tools set it (.webm's 10-bit default): SVT's own preset number
            os.environ.setdefault("SVT_LOG", "1")
            stream.options = {"crf": str(crf), **SVT_AV1_QUALITY}
        else:
            stream.options = {"crf": str(crf), "preset": preset, **({"x265-params": "log-level=error"} if codec == "libx265" else {})}
        for index, frame in enumerate(frames):
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    seconds = time.perf_counter() - started
    with av.open(str(path)) as written:
        decoded = [f.to_ndarray().astype(np.float64) for f in written.decode(video=0)]  # (H * 3/2, W) samples
    psnr = [10 * np.log10(1023**2 / np.mean((a.to_ndarray().astype(np.float64) - b) ** 2)) for a, b in zip(frames, decoded)]
    return {"mean": float(np.mean(psnr)), "min": float(np.min(psnr)), "mb": path.stat().st_size / 1e6, "fps": len(frames) / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=ROOT / "data" / "opencv" / "vtest.avi")
    parser.add_argument("--start", type=int, default=300)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--crf", default="12,14,16,18", help="x265 crf values to try (x264 runs at 16)")
    parser.add_argument("--av1-crf", default="", help="SVT-AV1 crf values to try too (.webm's 10-bit default, at SVT's preset 6), e.g. 12,16,20")
    parser.add_argument("--presets", default="medium", help=f"comma list of presets, each run for every encoder ({', '.join(X264_PRESETS)})")
    parser.add_argument("--size", default=None, help="resize the frames to WIDTHxHEIGHT first (even sizes), e.g. 1920x1080")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args(argv)
    presets = args.presets.split(",")
    if unknown := [p for p in presets if p not in X264_PRESETS]:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(X264_PRESETS)}")
    size = None
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
        except ValueError:
            size = ()
        if len(size) != 2 or min(size) < 2 or size[0] % 2 or size[1] % 2:
            parser.error(f"--size takes WIDTHxHEIGHT, both even, e.g. 1920x1080; got {args.size!r}")
    frames = ten_bit_frames(args.video, args.start, args.frames, size)
    runs = [(codec, crf, preset) for preset in presets for codec, crf in [("libx264", 16)] + [("libx265", int(c)) for c in args.crf.split(",")]]
    runs += [("libsvtav1", int(c), "6 (SVT)") for c in args.av1_crf.split(",") if c]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for codec, crf, preset in tqdm(runs, desc="encoding", unit="run"):
            result = encode(frames, codec, crf, Path(tmp), preset)
            rows.append(
                f"| {codec} | {crf} | {preset} | {result['mean']:.2f} | {result['min']:.2f} | {result['mb']:.2f} | {result['fps']:.1f} |"
            )
    text = "\n".join(
        [
            f"# 10-bit re-encoding: x264 against x265{' and SVT-AV1' if args.av1_crf else ''} ({args.video.name}, frames {args.start}-{args.start + len(frames) - 1}, "
            f"{frames[0].width}x{frames[0].height}{' (resized, bicubic)' if size else ''}, 10-bit 4:2:0 BT.709; "
            f"{os.cpu_count()} CPU cores)",
            "",
            "| encoder | crf | preset | PSNR mean (dB) | PSNR min (dB) | size (MB) | frames/s |",
            "|---|---:|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Reproduce: `" + " ".join(["python benchmarks/deep_codec.py", *(sys.argv[1:] if argv is None else argv)]) + "`",
        ]
    )
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
