"""Which encoder re-encodes 10-bit lossy input: x264 (H.264 High 10) against x265 (HEVC Main 10).

    python benchmarks/deep_codec.py                           # 60 frames of vtest, about 1 min
    python benchmarks/deep_codec.py --crf 12,14,16,18 --out results/deep_codec.md

The frames of vtest.avi (OpenCV's, `nlvfi data fetch`) from frame 300 are converted to 10-bit
4:2:0, BT.709, and encoded by each encoder at preset medium; the table gives the PSNR of the
decoded 10-bit samples against the encoded ones (Y, Cb and Cr together, peak 1023), the file size
and the encoding speed on this machine. ``nlvfi.videoio.DEEP_LOSSY_CODEC`` and its crf were chosen
from it: x265 at the crf where it matches x264's crf 16 (the 8-bit default), since H.264 at 10
bits plays almost nowhere.
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
from nlvfi.videoio import VideoReader, frame_to_rgb, to_pixel_format  # noqa: E402

BT709 = ColourTags(1, 1, 1, 1)


def ten_bit_frames(path: Path, start: int, count: int) -> list:
    """``count`` frames of ``path`` from ``start``, as 10-bit 4:2:0 BT.709 av.VideoFrames."""
    import av

    frames = []
    with VideoReader(path) as reader:
        for item in reader:
            if item.index < start:
                continue
            rgb = frame_to_rgb(item.frame, reader.info.traits).astype(np.uint16) * 257  # (H, W, 3) 16-bit
            frames.append(to_pixel_format(av.VideoFrame.from_ndarray(rgb, format="rgb48le"), "yuv420p10le", BT709))
            if len(frames) == count:
                break
    return frames


def encode(frames: list, codec: str, crf: int, folder: Path) -> dict:
    """Encode ``frames`` with ``codec`` at ``crf``; PSNR of the decoded samples, size, speed."""
    import av

    path = folder / f"{codec}-{crf}.mkv"
    started = time.perf_counter()
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, "yuv420p10le"
        stream.options = {"crf": str(crf), "preset": "medium", **({"x265-params": "log-level=error"} if codec == "libx265" else {})}
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
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args(argv)
    frames = ten_bit_frames(args.video, args.start, args.frames)
    runs = [("libx264", 16)] + [("libx265", int(c)) for c in args.crf.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for codec, crf in tqdm(runs, desc="encoding", unit="run"):
            result = encode(frames, codec, crf, Path(tmp))
            rows.append(
                f"| {codec} | {crf} | {result['mean']:.2f} | {result['min']:.2f} | {result['mb']:.2f} | {result['fps']:.1f} |"
            )
    text = "\n".join(
        [
            f"# 10-bit re-encoding: x264 against x265 ({args.video.name}, frames {args.start}-{args.start + len(frames) - 1}, "
            f"{frames[0].width}x{frames[0].height}, 10-bit 4:2:0 BT.709, preset medium; {os.cpu_count()} CPU cores)",
            "",
            "| encoder | crf | PSNR mean (dB) | PSNR min (dB) | size (MB) | frames/s |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Reproduce: `python benchmarks/deep_codec.py --crf {args.crf}`",
        ]
    )
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
