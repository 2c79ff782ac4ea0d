"""What an interrupted repair saves by keeping its encoded frames (``nlvfi.kept_encoding``).

    python benchmarks/resume_encoding.py                       # 1080p, 300 frames, stopped at frame 200
    python benchmarks/resume_encoding.py --size 1280x720 --frames 150 --stop-at 100 --out results/resume_encoding.md

The first ``--frames`` frames of vtest.avi (OpenCV's, ``nlvfi data fetch``), enlarged to
``--size`` (bicubic), with two of them made copies of the frame before (2/5 and 2/3 of the way in),
are encoded as H.264 crf 18 in an .mp4: a long video with few copies, where the encoder is the
slow part of a repair. ``nlvfi repair`` (the shipped checkpoint unless ``--checkpoint``, one view)
then writes it to .mp4 (x264 crf 16, preset medium) four ways:

1. uninterrupted;
2. stopped as frame ``--stop-at`` goes to the writer (a KeyboardInterrupt, as Ctrl-C raises);
3. the same command run again: it reads the kept work back, encoded frames included;
4. the state left by 2 run again with the kept encoded frames removed (``encoded.*``): what a
   resumed run did before ``nlvfi.kept_encoding``, encoding every frame.

The table gives each run's time (the tool's own ``total_s``; run 2 to the interrupt), the frames
whose packets were reused, the untouched frames' PSNR against the input (min / mean, the tool's
own verification) and the output's size. Nothing is asserted here: tests/test_kept_encoding.py
checks the behaviour.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.repair import repair_video  # noqa: E402
from nlvfi.resume import folder_for  # noqa: E402
from nlvfi.videoio import VideoReader, VideoWriter  # noqa: E402


def make_input(vtest: Path, path: Path, frames: int, size: tuple[int, int]) -> list[int]:
    """Write the stuttered clip (module doc) to ``path``, frame by frame; return the copies' indices."""
    import av

    copies = [round(frames * 2 / 5), round(frames * 2 / 3)]
    with VideoReader(vtest) as reader, av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        previous = None
        for item in reader:
            if item.index >= frames:
                break
            picture = item.frame.reformat(width=size[0], height=size[1], format="yuv420p", interpolation="BICUBIC")
            picture = previous if item.index in copies else picture
            previous = picture
            frame = av.VideoFrame.from_ndarray(picture.to_ndarray(), format="yuv420p")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return copies


def stopped_at(frame: int):
    """A VideoWriter.write that raises KeyboardInterrupt as frame ``frame`` comes to it."""
    write = VideoWriter.write

    def write_then_stop(self, *args, **kwargs):
        if self.frames_written == frame:
            raise KeyboardInterrupt
        return write(self, *args, **kwargs)

    return write_then_stop


def row(name: str, report: dict | None, seconds: float, output: Path | None) -> str:
    if report is None:
        return f"| {name} | {seconds:.1f} | — | — | — |"
    psnr = report["verification"]["untouched_frames_psnr_db"]
    reused = report["resume"]["encoded_frames_reused"] if isinstance(report["resume"], dict) else 0
    return f"| {name} | {report['timings']['total_s']:.1f} | {reused} | {psnr['min']:.2f} / {psnr['mean']:.2f} | {output.stat().st_size / 1e6:.2f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "opencv"), help="folder holding vtest.avi")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1920x1080", help="WxH")
    parser.add_argument("--stop-at", type=int, default=200, help="the frame at which run 2 is interrupted")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--out", default=None, help="also write the table here (Markdown)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    vtest = Path(args.data) / "vtest.avi"
    if not vtest.is_file():
        raise SystemExit(f"{vtest} not found: run `nlvfi data fetch` first")
    if not 0 < args.stop_at < args.frames:
        raise SystemExit("--stop-at must be inside the clip")
    settings = dict(checkpoint=args.checkpoint, views=1, progress=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "in.mp4"
        copies = make_input(vtest, source, args.frames, (width, height))
        rows = []
        report = repair_video(source, folder / "whole.mp4", **settings)
        rows.append(row("1. uninterrupted", report, 0, folder / "whole.mp4"))
        out = folder / "out.mp4"
        started = time.perf_counter()
        original = VideoWriter.write
        VideoWriter.write = stopped_at(args.stop_at)
        try:
            repair_video(source, out, **settings)
            raise SystemExit("the run was not interrupted")
        except KeyboardInterrupt:
            pass
        finally:
            VideoWriter.write = original
        rows.append(row(f"2. stopped at frame {args.stop_at}", None, time.perf_counter() - started, None))
        kept = folder_for(out)
        backup = folder / "kept-copy"
        shutil.copytree(kept, backup)
        report = repair_video(source, out, **settings)
        rows.append(row("3. run again, encoded frames kept", report, 0, out))
        out.unlink()
        shutil.copytree(backup, kept)
        for path in kept.glob("encoded.*"):
            path.unlink()
        report = repair_video(source, out, **settings)
        rows.append(row("4. run again, encoded frames removed", report, 0, out))
    lines = [
        "# Resuming an interrupted repair, with and without its encoded frames",
        "",
        f"{platform.machine()}, vtest.avi frames 0-{args.frames - 1} at {width}x{height}, H.264 crf 18 .mp4 with copies at "
        f"frames {', '.join(map(str, copies))}; `nlvfi repair` to .mp4 (x264 crf 16, preset medium), one view.",
        "",
        "| run | seconds | encoded frames reused | untouched PSNR min / mean (dB) | MB |",
        "|---|---:|---:|---|---:|",
        *rows,
        "",
        f"Reproduce: `python benchmarks/resume_encoding.py --size {args.size} --frames {args.frames} --stop-at {args.stop_at}`",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
