"""Deinterlacing interlaced video as it is read, so that it can be repaired (``--deinterlace``).

Method: none; METHOD.md §4, last paragraph: what a real tool must handle around the method.

Each frame of interlaced video (TV broadcasts and their recordings, DV and HDV camcorders, DVDs
of video) holds two fields taken half a frame apart, woven line by line. The generator makes
whole progressive frames, so interlaced input is refused (:func:`nlvfi.videoio.check_progressive`)
unless the user asks for it to be deinterlaced. Then every decoded frame passes through FFmpeg's
bwdif (:class:`Deinterlacer`): one progressive frame per input frame, at the time of its first
field, that field's lines as they are and the other field's made from the lines above and below
and the frames either side. The frames then go on as a progressive video's: the same count and
timestamps, written as progressive, so a player shows them without combing.

The second field is a real picture too, half a frame later, and bwdif makes a frame of it as well
(``send_field``; :attr:`nlvfi.videoio.DecodedFrame.second_field`):

- a repair starts each run's pair from the second field of the frame before the run, half a frame
  nearer the copies than that frame, with its first field as the picture before it (the flow
  prior's, the static blend's), and the second field of the frame after the run as the picture
  after (``nlvfi.repair``);
- an up-conversion writes each frame's second field as the frame half-way (x2: nothing generated),
  and generates the frames at 1/4 and 3/4 between it and the frames on either side (x4;
  ``nlvfi.interpolate.gap_places``).

``results/interlaced_repair.md`` (``benchmarks/interlaced_repair.py``: clips woven from the held-out
OpenCV frames, two progressive frames a frame): the repaired copies at 29.04 / 31.44 dB on vtest /
Megamind (FFV1) from the second field, 27.44 / 28.90 from the frames; the frames half-way of an
x2 up-conversion at 38.37 / 41.38 dB as second fields, 31.21 / 36.09 generated from the frames.

Which frames, and which field is first (:class:`Interlacing`): where the decoder flags each frame
interlaced or not (H.264, MPEG-2), those flags decide, frame by frame (``deint=interlaced``,
``parity=auto``): a stream that switches between progressive and interlaced pictures keeps its
progressive ones untouched. Where only the header says (FFmpeg's field order, as FFV1 and
containers store it), every frame is deinterlaced, first field as the header says. A video whose
header and first frame say progressive is read with the decoder's flags too (:data:`FLAGGED_FRAMES`):
a frame flagged interlaced further on (a recording that switches programmes) is deinterlaced, the
others pass untouched (the frames before the first such frame go round bwdif, whose format
conversions changed a palette PNG's colours); without ``--deinterlace`` such a frame stops the run where it is written,
before anything is at OUT (:func:`nlvfi.videoio.interlaced_frame_error`). Such a video with nothing
to replace is still copied byte for byte, its interlaced frames flagged as they were.

Duplicate detection measures the frames as decoded, woven: a copied frame is copied with both its
fields, so the copy is as exact there as in progressive video, where deinterlaced the copy's
made lines would differ, each made from other neighbours.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .colour import ColourTags

#: FFmpeg's AVFieldOrder values of interlaced video -> which field is shown first (2 TT, 3 BB, 4 TB, 5 BT:
#: coded first, then shown first)
INTERLACED_FIELD_ORDERS = {2: "top field first", 3: "bottom field first", 4: "bottom field first", 5: "top field first"}

#: bwdif's parity for the field shown first
_PARITY = {"top field first": "tff", "bottom field first": "bff"}


@dataclass(frozen=True)
class Interlacing:
    """How a video is interlaced, and so how bwdif deinterlaces it (module doc).

    Args:
        order: "top field first" / "bottom field first" (the header's) or "interlaced frames"
            (only the decoded frames say, each its own).
        flagged: the decoder flags each frame: only frames flagged interlaced are deinterlaced,
            each with its own first field; False: every frame, first field from ``order``.
    """

    order: str
    flagged: bool

    def filter_args(self, fields: bool = False) -> str:
        """bwdif's options: one frame per frame (``fields``: one per field), which field is first, which frames."""
        parity = "auto" if self.flagged else _PARITY.get(self.order, "auto")
        mode = "send_field" if fields else "send_frame"
        return f"mode={mode}:parity={parity}:deint={'interlaced' if self.flagged else 'all'}"

    def to_dict(self, fields: bool = False) -> dict:
        """The report's ``deinterlaced`` entry (``fields``: as :meth:`filter_args`)."""
        return {
            "field_order": self.order,
            "frames": "the frames the decoder flags interlaced, each in the field order it flags" if self.flagged else "every frame",
            "filter": f"bwdif={self.filter_args(fields)}",
        }


#: a video whose header and first frame say progressive, deinterlaced where a later frame is flagged
#: interlaced (a TV recording that switches between progressive and interlaced pictures)
FLAGGED_FRAMES = Interlacing("interlaced frames", flagged=True)


def interlacing_from(field_order: int, first_frame_interlaced: bool) -> Interlacing | None:
    """The :class:`Interlacing` of a video whose header gives ``field_order`` (AVFieldOrder) and
    whose first decoded frame is flagged ``first_frame_interlaced``; None where it is progressive."""
    order = INTERLACED_FIELD_ORDERS.get(field_order)
    if first_frame_interlaced:
        return Interlacing(order or "interlaced frames", flagged=True)
    return None if order is None else Interlacing(order, flagged=False)


class Deinterlacer:
    """Decoded frames in, the same frames deinterlaced out, in order and on their own times.

    bwdif looks one frame ahead, so a frame comes out when the next goes in (or at
    :meth:`flush`). Each keeps the item it came with (its index, pts, time: bwdif counts in
    half-frame ticks of its own) and its side data (captions, HDR metadata: FFmpeg copies them).
    With ``fields``, bwdif makes a frame of each field (``send_field``): the first is the item's
    frame, as without, and the second, the picture half a frame later, is the item's
    ``second_field`` (None for a frame the decoder flags progressive, which has one picture),
    without side data: its closed captions are the first field's, and written on both frames
    they would be shown twice.

    Args:
        interlacing: how the video is interlaced (:func:`interlacing_from`).
        time_base: the stream's, given to each frame that comes out.
        fields: a frame of each field (above).
    """

    def __init__(self, interlacing: Interlacing, time_base: Fraction, fields: bool = False):
        self.interlacing = interlacing
        self.time_base = time_base
        self.fields = fields
        self.frames = 0  # frames handed out
        self.deinterlaced = 0  # of the frames given, those bwdif deinterlaces (flagged: those flagged interlaced)
        self._graph = None
        self._waiting: deque = deque()  # items pushed, not out of bwdif yet
        self._last = None  # the item out last, held until its second field cannot come any more

    def _build(self, frame) -> None:
        import av.filter

        args = self.interlacing.filter_args(self.fields)
        graph = av.filter.Graph()
        source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name, time_base=self.time_base)
        chain = [source, graph.add("bwdif", args), graph.add("format", f"pix_fmts={frame.format.name}")]
        chain.append(graph.add("buffersink"))  # the format filter keeps the decoder's layout (bwdif takes planar only)
        for upstream, downstream in zip(chain, chain[1:]):
            upstream.link_to(downstream)
        graph.configure()
        self._graph = graph

    def push(self, item) -> list:
        """Give one decoded item (``nlvfi.videoio.DecodedFrame``); return those deinterlaced now."""
        if self._graph is None:
            self._build(item.frame)
        self.deinterlaced += not self.interlacing.flagged or bool(item.frame.interlaced_frame)
        item.frame.pts = item.pts  # bwdif needs increasing times: those the reader has put right
        item.frame.time_base = self.time_base
        self._graph.push(item.frame)
        self._waiting.append(item)
        return self._pulled()

    def flush(self) -> list:
        """After the last frame: the frames still inside bwdif."""
        if self._graph is None:
            return []
        self._graph.push(None)
        out = self._pulled()
        if self._waiting:
            raise RuntimeError(f"bwdif gave back {self.frames} frames of {self.frames + len(self._waiting)}")
        if self._last is not None:
            out.append(self._last)
            self._last = None
        return out

    def _pulled(self) -> list:
        import av

        out = []
        while True:
            try:
                frame = self._graph.pull()  # pts in bwdif's half-frame ticks: twice the input's for a first field
            except (av.error.BlockingIOError, av.error.EOFError):
                return out
            if self._waiting and frame.pts == 2 * self._waiting[0].pts:  # the next item's (first field)
                if self._last is not None:
                    out.append(self._last)
                item = self._last = self._waiting.popleft()
                item.frame = frame
                self.frames += 1
            elif self.fields and self._last is not None and self._last.second_field is None:
                item = self._last  # the second field of the item out last, without the side data it was given
                frame = item.second_field = without_side_data(frame)  # (captions: the first field's, once)
            else:
                raise RuntimeError(f"bwdif gave a frame at {frame.pts} (1/{2 / self.time_base}) that no frame went in for")
            frame.pts = item.pts
            frame.time_base = self.time_base


def without_side_data(frame):
    """A copy of ``frame`` (an av.VideoFrame) with its pixels and colour tags only."""
    import av

    out = av.VideoFrame(frame.width, frame.height, frame.format.name)
    for source, target in zip(frame.planes, out.planes):
        width = min(source.line_size, target.line_size)  # the rows may be padded differently
        rows = np.frombuffer(source, dtype=np.uint8).reshape(source.height, source.line_size)  # (rows, line size)
        np.frombuffer(target, dtype=np.uint8).reshape(target.height, target.line_size)[:, :width] = rows[:, :width]
    ColourTags.of(frame).apply(out)
    return out


def add_deinterlace_argument(parser) -> None:
    """``--deinterlace`` (module doc)."""
    parser.add_argument(
        "--deinterlace", action="store_true",
        help="deinterlace interlaced input as it is read (FFmpeg's bwdif, one progressive frame per frame, the same "
        "count and times) and write it progressive; without it interlaced input is refused. Progressive input is unaffected",
    )  # fmt: skip


def deinterlaced_text(deinterlaced: dict) -> str:
    """The summary's sentence on a deinterlaced input: the report's ``deinterlaced``
    (:meth:`Interlacing.to_dict` and ``frames_deinterlaced``), with ``runs_from_second_field`` for
    a repair, ``second_fields_written`` for an up-conversion."""
    said = (
        f"The input is interlaced ({deinterlaced['field_order']}) and was deinterlaced as it was read ({deinterlaced['filter']}: "
        f"{deinterlaced['frames']}, {deinterlaced['frames_deinterlaced']} in all"
    )
    if "runs_from_second_field" in deinterlaced:  # a repair
        runs = deinterlaced["runs_from_second_field"]
        return (
            f"{said}, a progressive frame of each field): the output is progressive, each frame its first field, the untouched "
            "ones as deinterlaced; duplicates were found on the frames as decoded"
            + (f", and {runs} repaired run(s) made from the second field of the frame before them, half a frame nearer than that frame" if runs else "")
            + "."
        )
    return (
        f"{said}, a progressive frame of each field); the output is written progressive: each input frame's first field "
        f"at its time and {deinterlaced['second_fields_written']} second fields, half a frame on, as the frames half-way "
        "(real pictures where the generator would guess them)."
    )
