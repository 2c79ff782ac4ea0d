"""An AVI file's display aspect ratio, written into its header after the muxer has finished: how
an FFV1 .avi keeps the shape of a picture whose pixels are not square.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). As for
Matroska (:mod:`nlvfi.matroska_display`): FFmpeg's AVI muxer writes the OpenDML video properties
chunk (``vprp``), which holds a frame's display aspect ratio, from the stream's sample aspect
ratio, a field PyAV 18 never sets; MPEG-4 Part 2 and Motion JPEG keep it in their own headers,
but FFV1, the lossless codec the tools write into .avi, has no field for it, so a lossless
anamorphic input (PAL 720x576 shown 4:3) came out of .avi square. :func:`write_display_aspect`
adds the chunk as FFmpeg writes it (progressive: one field).

AVI is RIFF: chunks of a four-character code, a 32-bit little-endian size and the data, padded to
an even length; a LIST chunk holds a four-character type and chunks. ``RIFF AVI`` holds ``LIST
hdrl`` (``avih``, then a ``LIST strl`` per stream: ``strh``, ``strf``, reserved room for an OpenDML
index, ...), ``LIST INFO``, a ``JUNK`` chunk FFmpeg leaves as padding, ``LIST movi`` (the frames)
and ``idx1``, whose offsets count from ``movi``. The new chunk goes at the end of the video
stream's ``strl``; the JUNK before ``movi`` gives up its 76 bytes, so ``movi``, ``idx1`` and any
OpenDML index keep their offsets, and only the header between moves. Where there is no such
JUNK, or the header is not laid out so, nothing is changed.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction

#: the OpenDML video properties of one progressive frame: 9 words, then one field's 8
VPRP_FIELDS = 1
VPRP_SIZE = 4 * 9 + 4 * 8 * VPRP_FIELDS
#: the most header bytes read (FFmpeg's header is a few KiB: its OpenDML index room is 4 KiB a stream)
MAX_HEADER = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """One RIFF chunk: its code, where it starts, its data's size, and (a LIST) its type."""

    code: bytes
    start: int
    size: int
    kind: bytes = b""

    @property
    def end(self) -> int:
        """Where the next chunk starts (data padded to an even length)."""
        return self.start + 8 + self.size + (self.size & 1)


def chunks(data: bytes, start: int, end: int) -> list[Chunk]:
    """The chunks in ``data[start:end]``. ValueError where one runs past ``end``."""
    found = []
    while start + 8 <= end:
        code, size = data[start : start + 4], struct.unpack_from("<I", data, start + 4)[0]
        kind = data[start + 8 : start + 12] if code in (b"RIFF", b"LIST") else b""
        chunk = Chunk(code, start, size, kind)
        if start + 8 + size > end:
            raise ValueError(f"the {code!r} chunk at byte {start} runs past its parent")
        found.append(chunk)
        start = chunk.end
    return found


def inside(data: bytes, chunk: Chunk) -> list[Chunk]:
    """The chunks of a LIST (or RIFF) chunk."""
    return chunks(data, chunk.start + 12, chunk.start + 8 + chunk.size)


def vprp_chunk(width: int, height: int, pixel_aspect: Fraction, rate: int) -> bytes:
    """The ``vprp`` chunk FFmpeg's muxer writes for a progressive ``width`` x ``height`` frame of
    ``pixel_aspect`` pixels at ``rate`` frames/s: format and standard unknown, the display aspect
    ratio reduced to 16-bit terms, one field of the whole frame."""
    aspect = (pixel_aspect * Fraction(width, height)).limit_denominator(0xFFFF)
    if aspect.numerator > 0xFFFF:
        raise ValueError(f"a display aspect ratio of {aspect} has no 16-bit terms")
    words = [0, 0, rate, width, height, aspect.denominator | (aspect.numerator << 16), width, height, VPRP_FIELDS]
    words += [height, width, height, width, 0, 0, 0, 0]  # the field: compressed and valid bitmap, offsets
    return b"vprp" + struct.pack("<I", VPRP_SIZE) + struct.pack(f"<{len(words)}I", *words)


def display_aspect_edit(data: bytes, width: int, height: int, pixel_aspect: Fraction) -> tuple[int, bytes]:
    """``(offset, bytes)``: the write that puts the display aspect into the AVI whose header is
    ``data`` (its start, up to ``movi``). ValueError where it is not laid out for it."""
    if data[0:4] != b"RIFF" or data[8:12] != b"AVI ":
        raise ValueError("not an AVI file")
    top, at = [], 12
    while at + 12 <= len(data):  # level 1, up to movi (the rest of the file is not read)
        code, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        top.append(Chunk(code, at, size, data[at + 8 : at + 12] if code == b"LIST" else b""))
        if code == b"LIST" and data[at + 8 : at + 12] == b"movi":
            break
        at = top[-1].end
    header = next((c for c in top if c.kind == b"hdrl"), None)
    movi = next((c for c in top if c.kind == b"movi"), None)
    if header is None or movi is None or header.end > len(data):
        raise ValueError("no hdrl and movi lists")
    junk = [c for c in top if c.code == b"JUNK" and header.start < c.start < movi.start and c.size >= 8 + VPRP_SIZE]  # the new chunk's bytes
    if not junk:
        raise ValueError("no JUNK before movi to give the bytes")
    streams = [c for c in inside(data, header) if c.kind == b"strl"]
    video = []
    for stream in streams:
        parts = inside(data, stream)
        kinds = {c.code: c for c in parts}
        if b"strh" not in kinds or data[kinds[b"strh"].start + 8 : kinds[b"strh"].start + 12] != b"vids" or b"strf" not in kinds:
            continue
        bitmap_width, bitmap_height = struct.unpack_from("<ii", data, kinds[b"strf"].start + 12)
        if (bitmap_width, abs(bitmap_height)) == (width, height):
            video.append((stream, kinds))
    if len(video) != 1:
        raise ValueError(f"{len(video)} video streams of {width}x{height}")
    stream, kinds = video[0]
    scale, rate = struct.unpack_from("<II", data, kinds[b"strh"].start + 8 + 20)
    new_chunk = vprp_chunk(width, height, pixel_aspect, round(rate / scale) if scale else 0)
    old = kinds.get(b"vprp")
    if old is not None:  # written before: its aspect replaced, in place
        if old.size != VPRP_SIZE:
            raise ValueError("a vprp chunk of another layout")
        return old.start, new_chunk
    grow, space = len(new_chunk), junk[0]
    # the bytes from the end of the video strl to the JUNK move on by ``grow``; the LIST sizes of
    # strl and hdrl grow by it; the JUNK shrinks by it
    moved = data[stream.end : space.start]
    head = bytearray(data[header.start : stream.end])
    struct.pack_into("<I", head, 4, header.size + grow)
    struct.pack_into("<I", head, stream.start - header.start + 4, stream.size + grow)
    new_junk = b"JUNK" + struct.pack("<I", space.size - grow) + bytes(space.size - grow)
    return header.start, bytes(head) + new_chunk + moved + new_junk


def write_display_aspect(path: str | os.PathLike, width: int, height: int, pixel_aspect: Fraction) -> bool:
    """Write the display aspect of ``pixel_aspect`` pixels into the video stream of ``width`` x
    ``height`` of the finished AVI at ``path``, in place (module docstring). True where written;
    False, with the file unchanged, where its header is not laid out for it. Only for a file this
    project is writing: the caller's temporary output, never a user's file."""
    try:
        with open(path, "r+b") as handle:
            data = handle.read(MAX_HEADER)
            at, new = display_aspect_edit(data, width, height, pixel_aspect)
            handle.seek(at)
            handle.write(new)
    except (OSError, ValueError, struct.error):
        return False
    return True
