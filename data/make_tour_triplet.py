"""Rebuild data/tour/ : three real frames (k-2, k, k+2) of OpenCV's vtest.avi.

The clip comes from Debian's ``opencv-doc`` package (examples/data/vtest.avi, 768x576,
10 frames/s, pedestrians). Frames k-2 and k+2 are the input pair of the tour; frame k is the
true middle frame. Run from the repository root:

    python data/make_tour_triplet.py [--video /usr/share/doc/opencv-doc/examples/data/vtest.avi]

Without the package: ``apt-get download opencv-doc && dpkg -x opencv-doc_*.deb /tmp/ocv``
and pass ``--video /tmp/ocv/usr/share/doc/opencv-doc/examples/data/vtest.avi``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
from PIL import Image

DEFAULT_VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MIDDLE_FRAME = 120  # people walk across the square; inside the first 80% (training part) of the clip
GAP = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=DEFAULT_VIDEO)
    parser.add_argument("--out", default=str(Path(__file__).parent / "tour"))
    args = parser.parse_args()
    wanted = {MIDDLE_FRAME - GAP: "prev.png", MIDDLE_FRAME: "middle.png", MIDDLE_FRAME + GAP: "next.png"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with av.open(args.video) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                Image.fromarray(frame.to_ndarray(format="rgb24")).save(out / wanted[index], optimize=True)
            if index > max(wanted):
                break
    print(f"wrote {', '.join(sorted(wanted.values()))} to {out}")


if __name__ == "__main__":
    main()
