"""Make the bundled stuttering clip (data/stutter/) from OpenCV's vtest.avi, with its ground truth.

    python data/make_stutter_clip.py [--source data/opencv/vtest.avi] [--out data/stutter]

Source: the first ``--frames`` (40) frames of the held-out part of vtest.avi (its last 20%,
frames 636-794; never seen in training, see nlvfi.data.video.split_boundary), pedestrians
filmed by a static camera at 10 frames/s, shrunk 2x (768x576 -> 384x288, area averaging, in
the source's own yuv420p) to keep the files small. Duplicates are injected by replacing frame
m with a copy of frame m-1 (a dropped frame shown twice, METHOD.md §4 ¶0237), in runs of 1, 2
and 3 plus one at the very end (which the repair must report and leave).

Writes, all FFV1 (lossless) in Matroska, 10 frames/s:
  vtest_stutter.mkv        the clip with the duplicates (what `nlvfi repair` gets)
  vtest_stutter_truth.mkv  the original content of each duplicated frame, in the order of
                           ``duplicates`` in the JSON (the ground truth for PSNR)
  vtest_stutter.json       which frames are copies of which, and where they come from
(run `nlvfi data fetch` first if data/opencv/ is empty).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.data.video import split_boundary  # noqa: E402

#: (first, length) of each injected run of copies, in clip frame indices
RUNS = ((5, 1), (11, 2), (17, 1), (23, 3), (30, 1), (34, 2), (39, 1))
SCALE = 2


def write_ffv1(path: Path, frames: list, rate: int = 10, options: dict | None = None) -> None:
    """Write decoded ``frames`` (av.VideoFrame, one format and size) to ``path`` in FFV1 at
    ``rate`` frames/s, frame i at time i / rate, atomically; ``options``: the encoder's (default
    level 3 with slice CRCs)."""
    import av

    def write(tmp: str) -> None:
        with av.open(tmp, "w", format="matroska") as container:
            stream = container.add_stream("ffv1", rate=rate)
            stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, frames[0].format.name
            stream.options = options or {"level": "3", "slicecrc": "1"}
            stream.codec_context.time_base = Fraction(1, rate)
            for index, source in enumerate(frames):
                # a fresh frame each time: the same decoded frame may appear twice (a copy)
                frame = av.VideoFrame.from_ndarray(source.to_ndarray(), format=source.format.name)
                frame.pts, frame.time_base = index, Fraction(1, rate)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    atomic_write(path, write)


def make(source: Path, out: Path, count: int = 40) -> dict:
    import av

    if not source.is_file():
        raise SystemExit(f"{source} not found: run `nlvfi data fetch` first")
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        total = stream.frames
        boundary = split_boundary(total, 0.2)
        originals = []
        for index, frame in enumerate(container.decode(stream)):
            if index >= boundary + count:
                break
            if index >= boundary:
                originals.append(frame.reformat(width=frame.width // SCALE, height=frame.height // SCALE, interpolation="AREA"))
    if len(originals) < count:
        raise SystemExit(f"{source} has only {len(originals)} held-out frames from {boundary}")
    stuttered = list(originals)
    duplicates, runs = [], []
    for first, length in RUNS:
        if first + length > count:
            raise SystemExit(f"run {first}+{length} does not fit in {count} frames")
        for index in range(first, first + length):
            stuttered[index] = originals[first - 1]  # a copy of the last good frame
            duplicates.append(index)
        runs.append({"first": first, "last": first + length - 1, "copy_of": first - 1})
    write_ffv1(out / "vtest_stutter.mkv", stuttered)
    write_ffv1(out / "vtest_stutter_truth.mkv", [originals[i] for i in duplicates])
    truth = {
        "clip": "vtest_stutter.mkv",
        "source": f"OpenCV vtest.avi (Debian opencv-doc), frames {boundary}-{boundary + count - 1} "
        f"(held-out: the last 20% starts at {boundary} of {total}), shrunk {SCALE}x with area averaging",
        "source_first_frame": boundary,
        "frames": count,
        "size": [originals[0].width, originals[0].height],
        "frame_rate": 10,
        "codec": "ffv1 (lossless), yuv420p",
        "duplicates": duplicates,
        "runs": runs,
        "truth_clip": "vtest_stutter_truth.mkv: frame j is the original of duplicates[j]",
        "made_by": "python data/make_stutter_clip.py",
    }
    text = json.dumps(truth, indent=2) + "\n"
    atomic_write(out / "vtest_stutter.json", lambda tmp: Path(tmp).write_text(text))
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / "data" / "opencv" / "vtest.avi")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "stutter")
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args(argv)
    truth = make(args.source, args.out, args.frames)
    for name in ("vtest_stutter.mkv", "vtest_stutter_truth.mkv", "vtest_stutter.json"):
        path = args.out / name
        print(f"{path}  ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"{truth['frames']} frames, duplicates at {truth['duplicates']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
