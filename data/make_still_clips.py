"""Make the bundled near-still clips (data/still/) from OpenCV's vtest.avi, sample for sample.

    python data/make_still_clips.py [--source data/opencv/vtest.avi] [--out data/still]

The issue's hardest detection case is "a clip with very little natural motion (real adjacent
differences under 0.5 grey levels, where a fixed threshold replaces real frames)". The tests of
that case (tests/test_repair.py, "Quality on real footage") read two 256x256 regions of vtest
where nobody walks; without these files they needed ``nlvfi data fetch`` and were skipped in CI.
Each region is cut from the source's own decoded yuv420p planes at even offsets and stored
losslessly (FFV1, yuv420p), so a frame read from it is the source's frame: converted to RGB it is
bit for bit the same crop of the whole frame converted (``tests/test_repair.py`` checks this
when vtest.avi is fetched). The frames are the real ones, no copy injected: the tests inject
their own.

Writes, FFV1 (lossless) in Matroska at vtest's 10 frames/s (about 1.9 MB each):
  vtest_still_100-159.mkv        frames 100-159, rows 128-383, columns 0-255 (training part;
                                 real MAD 0.25-0.5)
  vtest_lawn_686-745_x192.mkv    frames 686-745, rows 320-575, columns 192-447 (held-out part;
                                 real MAD 0.04-0.64: the source's coder refreshed only part of
                                 the lawn every other frame)
  still.json                     where each comes from
(run `nlvfi data fetch` first if data/opencv/ is empty).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "data"))  # make_stutter_clip, beside this script

from make_stutter_clip import write_ffv1  # noqa: E402
from nlvfi.checkpoint import atomic_write  # noqa: E402

RATE = 10  # vtest.avi's frame rate
FFV1_OPTIONS = {"level": "3", "slicecrc": "1", "coder": "range_def", "context": "1"}  # range coder: 1.9 MB, not 2.x
SIZE = 256
#: file name -> (first frame, last frame + 1, first row, first column) of the region in vtest.avi
REGIONS = {
    "vtest_still_100-159.mkv": (100, 160, 128, 0),
    "vtest_lawn_686-745_x192.mkv": (686, 746, 320, 192),
}


def crop_yuv420p(frame, row: int, column: int, size: int = SIZE):
    """A ``size`` x ``size`` region of a yuv420p frame at even (row, column), its samples copied
    as they are (luma, and the chroma samples that cover it)."""
    import av

    if frame.format.name != "yuv420p" or row % 2 or column % 2:
        raise ValueError(f"need yuv420p and even offsets, got {frame.format.name} at ({row}, {column})")
    height, width = frame.height, frame.width
    planes = frame.to_ndarray()  # (H * 3 / 2, W): Y, then U and V each (H/2, W/2) laid out row by row
    luma = planes[:height]
    chroma = planes[height:].reshape(2, height // 2, width // 2)  # (2, H/2, W/2)
    half = size // 2
    cut = [luma[row : row + size, column : column + size]]
    cut += [plane[row // 2 : row // 2 + half, column // 2 : column // 2 + half].reshape(half // 2, size) for plane in chroma]
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(np.concatenate(cut)), format="yuv420p")  # (size * 3 / 2, size)


def make(source: Path, out: Path) -> dict:
    import av

    if not source.is_file():
        raise SystemExit(f"{source} not found: run `nlvfi data fetch` first")
    last = max(stop for _, stop, _, _ in REGIONS.values())
    cuts: dict[str, list] = {name: [] for name in REGIONS}
    with av.open(str(source)) as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            if index >= last:
                break
            for name, (first, stop, row, column) in REGIONS.items():
                if first <= index < stop:
                    cuts[name].append(crop_yuv420p(frame, row, column))
    record = {"source": f"OpenCV {source.name} (Debian opencv-doc)", "rate": RATE, "codec": "ffv1 (lossless), yuv420p", "clips": {}}
    for name, (first, stop, row, column) in REGIONS.items():
        if len(cuts[name]) != stop - first:
            raise SystemExit(f"{source} ends before frame {stop - 1}")
        write_ffv1(out / name, cuts[name], RATE, FFV1_OPTIONS)
        record["clips"][name] = {"frames": [first, stop - 1], "rows": [row, row + SIZE - 1], "columns": [column, column + SIZE - 1]}
    atomic_write(out / "still.json", lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2) + "\n"))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / "data" / "opencv" / "vtest.avi")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "still")
    args = parser.parse_args(argv)
    record = make(args.source, args.out)
    for name in record["clips"]:
        print(f"wrote {args.out / name} ({(args.out / name).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
