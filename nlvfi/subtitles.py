"""Text subtitles an output container cannot hold as they are, converted to the one it can.

Method: METHOD.md §4, last paragraph (what a real tool keeps besides the frames). The repair keeps
every frame's time, so a subtitle line keeps its time too; where the container takes the input's
subtitle codec the packets are copied byte for byte (:func:`nlvfi.videoio.subtitles_that_fit`).
Where it does not, a text subtitle stream is converted, as ``ffmpeg -c:s mov_text`` (or ``ass``,
``webvtt``) would do it: each packet is decoded to its ASS event by FFmpeg's decoder for that
codec, and that event is encoded by FFmpeg's encoder for the container's own text codec
(``TARGET_CODECS``), at the packet's time and for its duration:

* MP4 and MOV hold timed text (``mov_text``, 3GPP TS 26.245) only: SubRip from an .mkv, ASS,
  WebVTT go there; bold, italic, underline and colour become its style records. Timed text
  shows one sample at a time, so lines that overlap are shown together (:class:`SubtitleConverter`).
* Matroska holds SubRip, ASS, WebVTT as they are, but not MP4's timed text: that goes to ASS,
  which keeps its styles.
* WebM holds WebVTT only.

Picture subtitles (DVD, PGS) are not converted (they are named in the report, as before).
A packet FFmpeg's decoder cannot read is left out. :func:`subtitle_events` reads a stream back as
(start, duration, text) lines, and :func:`on_screen` makes of them what is on screen when: what
the verification compares for a converted stream (``nlvfi.verification``).
Notebook: notebooks/10_video_repair.ipynb
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

#: output muxer -> the text subtitle codec it holds, which the others are converted to
TARGET_CODECS = {"mp4": "mov_text", "mov": "mov_text", "matroska": "ass", "webm": "webvtt"}

#: text subtitle decoders whose events FFmpeg's text encoders take (its TEXT_SUB codecs)
TEXT_SUBTITLE_CODECS = frozenset({
    "subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd", "subviewer", "subviewer1", "jacosub",
    "realtext", "sami", "stl", "pjs", "mpl2", "vplayer",
})

_OVERRIDE = re.compile(r"\{[^}]*\}")  # ASS override blocks: {\i1}, {\c&H00FF00&} ...


def conversion_target(muxer: str, stream) -> str | None:
    """The codec a subtitle ``stream`` of the input is converted to for ``muxer``, or None when it
    is not a text subtitle or the muxer holds no text subtitles (AVI, NUT)."""
    context = stream.codec_context
    name = context.codec.name if context is not None else None
    target = TARGET_CODECS.get(muxer)
    return target if name in TEXT_SUBTITLE_CODECS and target is not None and name != target else None


def plain_text(ass_event: bytes | str) -> str:
    """The words of an ASS event as FFmpeg's decoders give it ("ReadOrder,Layer,Style,Name,MarginL,
    MarginR,MarginV,Effect,Text"): its Text field, override blocks removed, ``\\N`` / ``\\n`` as line
    breaks."""
    text = ass_event.decode("utf-8", "replace") if isinstance(ass_event, bytes) else ass_event
    text = _OVERRIDE.sub("", text.split(",", 8)[-1])
    return text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ").strip()


class SubtitleConverter:
    """Converts one input text subtitle stream into ``target`` in ``output`` (module doc).

    MP4's timed text shows one sample at a time, so lines that overlap in time (a second speaker
    before the first line ends) cannot go in as they are: the MP4 muxer moved the later one
    after the earlier one's end (0.5 s to 0.9 s). For ``mov_text`` the lines are cut where any of
    them starts or ends, and each piece shows every line on screen then, one under the other,
    in the order they started (:meth:`flush` writes the last pieces). ASS and WebVTT hold
    overlapping lines; each goes as it is.

    Args:
        source: the input's subtitle stream (an open container's; its decoder is opened here).
        output: the output container, before anything is muxed (the new stream must be added first).
        target: the codec to write (``TARGET_CODECS``).
    Raises av.FFmpegError or ValueError when the decoder or the encoder does not open (the caller
    then names the stream as not copied).
    """

    def __init__(self, source, output, target: str):
        self.decoder = source.codec_context
        if not self.decoder.is_open:
            self.decoder.open()  # the decoder's ASS header (styles) exists once it is open
        self.time_base = source.time_base or Fraction(1, 1000)
        self.stream = output.add_stream(target)
        self.stream.codec_context.subtitle_header = self.decoder.subtitle_header
        self.stream.time_base = self.time_base
        self.stream.codec_context.time_base = self.time_base
        self.merge = target == "mov_text"
        self.pending: list[tuple[int, int, bytes]] = []  # (start, end, ASS event) not written yet (merge)
        self.cursor: int | None = None  # everything before this tick is written (merge)

    def convert(self, packet) -> list:
        """The output packets an input packet completes: its line at once (ASS, WebVTT), or the
        pieces of the timeline before it starts (timed text); empty packets (MP4's gaps between
        lines) give none."""
        if packet.size == 0 or packet.pts is None:
            return []
        events = _events(self.decoder, packet)
        if not events:
            return []
        start, end = int(packet.pts), int(packet.pts) + int(packet.duration or 0)
        if not self.merge:
            return [self._packet(_joined(events), start, end)]
        made = self._pieces_until(start)  # no later line starts before this one: what lies before it is final
        self.pending.append((start, end, _joined(events)))
        return made

    def flush(self) -> list:
        """The pieces still held (timed text), at the end of the stream."""
        return self._pieces_until(None)

    def _pieces_until(self, limit: int | None) -> list:
        """Timed text: one packet per stretch before ``limit`` (None: all) during which the same
        lines are on screen, those lines one under the other; then forget the lines that ended."""
        cuts = sorted({t for start, end, _ in self.pending for t in (start, end)} | ({limit} if limit is not None else set()))
        made = []
        for a, b in zip(cuts, cuts[1:]):
            if (self.cursor is not None and a < self.cursor) or (limit is not None and a >= limit):
                continue
            shown = [event for start, end, event in self.pending if start <= a < end]
            if shown and b > a:
                made.append(self._packet(_joined(shown), a, b))
        if limit is None:
            self.pending = []
        else:
            self.cursor = limit
            self.pending = [(start, end, event) for start, end, event in self.pending if end > limit]
        return made

    def _packet(self, event: bytes, start: int, end: int):
        import av

        made = self.stream.codec_context.encode_subtitle(av.subtitles.subtitle.SubtitleSet.create(event, 0, end - start, start))
        made.pts = made.dts = start
        made.duration = end - start
        made.time_base = self.time_base
        made.stream = self.stream
        return made


def _events(decoder, packet) -> list[bytes]:
    """The ASS events of a subtitle packet; none for a packet the decoder cannot read (a damaged
    line is left out of the conversion and of its check alike, rather than stopping a repair)."""
    import av

    try:
        return [rect.ass for rect in decoder.decode(packet) if getattr(rect, "ass", None)]
    except (av.FFmpegError, ValueError, UnicodeDecodeError):
        return []


def _joined(events: list[bytes]) -> bytes:
    """One ASS event showing the text of ``events`` one under the other (the first one's style)."""
    if len(events) == 1:
        return events[0]
    head = events[0].split(b",", 8)[:8]
    return b",".join(head + [b"\\N".join(e.split(b",", 8)[-1] for e in events)])


def subtitle_events(path: str | Path, position: int) -> list[tuple[float, float, str]]:
    """(start s, duration s, words) of each line of the ``position``-th subtitle stream of ``path``,
    in order, lines without words left out (:func:`plain_text`)."""
    from .videoio import open_input  # here: videoio imports this module

    events = []
    with open_input(path) as container:  # also numbered images, from their first number
        stream = container.streams.subtitles[position]
        decoder = stream.codec_context
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            words = "\n".join(plain_text(event) for event in _events(decoder, packet))
            if words:
                tick = float(packet.time_base)
                events.append((packet.pts * tick, (packet.duration or 0) * tick, words))
    return events


def on_screen(events: list[tuple[float, float, str]], offset: float = 0.0) -> list[tuple[float, float, tuple[str, ...]]]:
    """The timeline of ``events`` (from :func:`subtitle_events`): (from s, to s, the lines on
    screen then, sorted) for each stretch during which they do not change, ``offset`` taken
    from every time, times to the millisecond (both files count in them). Two streams show the
    same words at the same times when these are equal: how a converted stream is checked
    (timed text cuts overlapping lines into pieces, so its lines are not the input's)."""
    spans = [(round((start - offset) * 1000), round((start + duration - offset) * 1000), words) for start, duration, words in events]
    cuts = sorted({t for a, b, _ in spans for t in (a, b)})
    timeline = []
    for a, b in zip(cuts, cuts[1:]):
        lines = tuple(sorted(line for start, end, words in spans if start <= a < end for line in words.split("\n")))
        if timeline and timeline[-1][2] == lines and timeline[-1][1] == a / 1000:
            timeline[-1] = (timeline[-1][0], b / 1000, lines)  # the same lines go on: one stretch
        elif lines:
            timeline.append((a / 1000, b / 1000, lines))
    return timeline
