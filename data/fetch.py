"""Fetch OpenCV's example clips (vtest.avi, tree.avi, Megamind.avi) into data/opencv/.

They come from Debian's ``opencv-doc`` package: copied from /usr/share/doc/opencv-doc if it is
installed, else downloaded with ``apt-get download opencv-doc`` and unpacked with ``dpkg -x``.
Already present clips are kept. Run from anywhere:

    python data/fetch.py [--dest data/opencv]

The same as ``nlvfi data fetch``; the work is done by ``nlvfi.data.video.fetch_opencv_clips``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nlvfi.data.video import fetch_main

if __name__ == "__main__":
    sys.exit(fetch_main(sys.argv[1:], default_dest=Path(__file__).resolve().parent / "opencv", prog="data/fetch.py"))
