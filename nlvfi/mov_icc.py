"""An MP4 / MOV file's ICC profile, written into its movie header after the muxer has finished:
how a Display P3 screenshot sequence or an Adobe RGB time-lapse keeps its colours in .mp4 / .mov.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). An ICC
profile says which colours a picture's numbers are (:mod:`nlvfi.icc`); shown as sRGB, a P3 or
Adobe RGB picture's colours come out duller. ISO/IEC 14496-12 lets a video track's sample entry
hold one colour box ('colr') of each kind: 'nclx', the matrix, primaries, transfer and range,
which FFmpeg writes from the colour tags, and 'prof', a whole ICC profile. FFmpeg's mov muxer
writes 'prof' from the stream's ICC side data, which PyAV 18 cannot attach; its demuxer reads the
box back onto every decoded frame (as ``ICC_PROFILE`` side data), as QuickTime and Safari read it.
:func:`write_icc_profile` adds the box to the finished file.

An MP4 is boxes: a 32-bit size (1: a 64-bit size follows the type; 0: to the end of the file), a
four-character type, the data. The movie header ('moov') holds a track ('trak') per stream:
'mdia' > 'minf' > 'stbl' > 'stsd', whose first sample entry (for video: 78 bytes of fields after
its header, then boxes: the codec's configuration, 'colr', 'pasp', 'btrt', ...) describes the
frames. The new box goes into the video track's sample entry after its other colour box (else
before 'pasp' / 'btrt', else last), and every box around it grows by its size. PyAV's muxer writes
'moov' after the media data ('mdat'), so no chunk offset moves: the file grows by the box, at its
end. Where 'moov' comes before an 'mdat', or the header is not laid out so, nothing is changed.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

#: boxes whose data is boxes, on the way to a video sample entry
CONTAINERS = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
#: a visual sample entry's fields before its boxes (reserved, data reference, sizes, ...)
VISUAL_FIELDS = 78
#: the largest movie header read (a long video's sample tables: a few MB)
MAX_MOVIE = 256 << 20


@dataclass(frozen=True)
class Box:
    """One box: its type, where it starts, the bytes of its header, and its whole size."""

    type: bytes
    start: int
    header: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


def boxes(data: bytes, start: int, end: int, offset: int = 0) -> list[Box]:
    """The boxes in ``data[start:end]`` (``data`` starts at file offset ``offset``; the boxes'
    ``start`` are file offsets). ValueError where one runs past ``end``."""
    found = []
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            raise ValueError(f"the {kind!r} box at byte {offset + start} runs past its parent")
        found.append(Box(kind, offset + start, header, size))
        start += size
    return found


def colour_box(profile: bytes) -> bytes:
    """A 'colr' box of type 'prof' holding ``profile``."""
    return struct.pack(">I4s4s", 12 + len(profile), b"colr", b"prof") + profile


def grown(data: bytes, box: Box, by: int, offset: int) -> bytes:
    """``box``'s header with its size ``by`` bytes larger (in its 32- or 64-bit field)."""
    head = bytearray(data[box.start - offset : box.start - offset + box.header])
    if box.header == 16:
        struct.pack_into(">Q", head, 8, box.size + by)
    elif box.size + by >= 1 << 32:
        raise ValueError("the box would outgrow its 32-bit size")
    else:
        struct.pack_into(">I", head, 0, box.size + by)
    return bytes(head)


def video_entry_path(movie: bytes, moov: Box, width: int, height: int) -> list[Box]:
    """The boxes from 'moov' down to the sample entry of the one video track of ``width`` x
    ``height`` (``movie`` holds 'moov', which starts at its file offset). ValueError where there is
    not exactly one."""
    offset = moov.start
    found = []
    for trak in (b for b in boxes(movie, moov.header, moov.size, offset) if b.type == b"trak"):
        path = [moov, trak]
        try:
            for kind in (b"mdia", b"minf", b"stbl", b"stsd"):
                parent = path[-1]
                path.append(next(b for b in boxes(movie, parent.start - offset + parent.header, parent.end - offset, offset) if b.type == kind))
        except StopIteration:
            continue
        mdia = path[2]
        handler = next((b for b in boxes(movie, mdia.start - offset + mdia.header, mdia.end - offset, offset) if b.type == b"hdlr"), None)
        if handler is None or movie[handler.start - offset + handler.header + 8 : handler.start - offset + handler.header + 12] != b"vide":
            continue
        stsd = path[-1]
        entries = boxes(movie, stsd.start - offset + stsd.header + 8, stsd.end - offset, offset)  # after version, flags and count
        if not entries:
            continue
        entry = entries[0]
        fields = entry.start - offset + entry.header
        if struct.unpack_from(">HH", movie, fields + 24) == (width, height):
            found.append([*path, entry])
    if len(found) != 1:
        raise ValueError(f"{len(found)} video tracks of {width}x{height}")
    return found[0]


def icc_profile_edit(movie: bytes, moov: Box, profile: bytes, width: int, height: int) -> bytes:
    """The movie header ``movie`` (starting at 'moov') with the profile's colour box in its video
    track's sample entry, every box around it grown by its size."""
    offset = moov.start
    path = video_entry_path(movie, moov, width, height)
    entry = path[-1]
    inner = boxes(movie, entry.start - offset + entry.header + VISUAL_FIELDS, entry.end - offset, offset)
    if any(b.type == b"colr" and movie[b.start - offset + b.header : b.start - offset + b.header + 4] in (b"prof", b"rICC") for b in inner):
        raise ValueError("the sample entry holds an ICC profile already")
    colours = [b for b in inner if b.type == b"colr"]
    later = [b for b in inner if b.type in (b"pasp", b"btrt", b"clap", b"clli", b"mdcv")]
    at = colours[-1].end if colours else later[0].start if later else entry.end
    new = colour_box(profile)
    pieces, cursor = [], 0
    for box in path:  # each box's header, grown, in place
        pieces += [movie[cursor : box.start - offset], grown(movie, box, len(new), offset)]
        cursor = box.start - offset + box.header
    pieces += [movie[cursor : at - offset], new, movie[at - offset :]]
    return b"".join(pieces)


def write_icc_profile(path: str | os.PathLike, profile: bytes, width: int, height: int) -> bool:
    """Add ``profile`` as a 'colr' box to the video track of ``width`` x ``height`` of the
    finished MP4 / MOV at ``path``, in place (module docstring). True where written; False, with
    the file unchanged, where its 'moov' does not come after every 'mdat' or is not laid out for
    it. Only for a file this project is writing: the caller's temporary output, never a user's."""
    try:
        with open(path, "r+b") as handle:
            size = os.fstat(handle.fileno()).st_size
            top, at = [], 0
            while at + 8 <= size:  # the top-level boxes, by their headers alone
                handle.seek(at)
                head = handle.read(16)
                length, kind = struct.unpack_from(">I4s", head, 0)
                header = 16 if length == 1 else 8
                length = struct.unpack_from(">Q", head, 8)[0] if length == 1 else size - at if length == 0 else length
                if length < header:
                    return False
                top.append(Box(kind, at, header, length))
                at += length
            moov = [b for b in top if b.type == b"moov"]
            if len(moov) != 1 or any(b.type == b"mdat" and b.start > moov[0].start for b in top) or moov[0].size > MAX_MOVIE:
                return False
            handle.seek(moov[0].start)
            rest = handle.read()  # 'moov' and anything after it (no media data)
            new = icc_profile_edit(rest, moov[0], profile, width, height)
            handle.seek(moov[0].start)
            handle.write(new + rest[moov[0].size :])
    except (OSError, ValueError, struct.error):
        return False
    return True
