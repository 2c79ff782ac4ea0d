"""An MP4 / MOV file's colour boxes, written into its movie header after the muxer has finished:
how a Display P3 screenshot sequence or an Adobe RGB time-lapse keeps its colours in .mp4 / .mov,
and an HDR10 master in ProRes or FFV1 its mastering display.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). An ICC
profile says which colours a picture's numbers are (:mod:`nlvfi.icc`); shown as sRGB, a P3 or
Adobe RGB picture's colours come out duller. ISO/IEC 14496-12 lets a video track's sample entry
hold one colour box ('colr') of each kind: 'nclx', the matrix, primaries, transfer and range,
which FFmpeg writes from the colour tags, and 'prof', a whole ICC profile. HDR10's mastering
display (SMPTE ST 2086) and content light levels (CTA-861.3) have boxes of their own, 'mdcv' and
'clli' (ISO/IEC 23001-8 units: chromaticities in 0.00002, luminance in 0.0001 cd/m²); x265 and
SVT-AV1 put them in their bitstream instead, ProRes, FFV1 and H.264 here do not. FFmpeg's mov
muxer writes all three from the stream's side data, which PyAV 18 cannot attach; its demuxer
reads them back onto every decoded frame (as ``ICC_PROFILE``, ``MASTERING_DISPLAY_METADATA`` and
``CONTENT_LIGHT_LEVEL`` side data), as QuickTime reads them. :func:`write_icc_profile` and
:func:`write_hdr_boxes` add them to the finished file.

An MP4 is boxes: a 32-bit size (1: a 64-bit size follows the type; 0: to the end of the file), a
four-character type, the data. The movie header ('moov') holds a track ('trak') per stream:
'mdia' > 'minf' > 'stbl' > 'stsd', whose first sample entry (for video: 78 bytes of fields after
its header, then boxes: the codec's configuration, 'colr', 'mdcv', 'clli', 'pasp', 'btrt', ...)
describes the frames. New boxes go into the video track's sample entry after its colour boxes
(else before 'pasp' / 'btrt', else last), and every box around them grows by their size. PyAV's
muxer writes 'moov' after the media data ('mdat'), so no chunk offset moves: the file grows by
the boxes, at its end. Where 'moov' comes before an 'mdat', or the header is not laid out so,
nothing is changed.
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


def icc_box(profile: bytes) -> bytes:
    """A 'colr' box of type 'prof' holding ``profile``."""
    return struct.pack(">I4s4s", 12 + len(profile), b"colr", b"prof") + profile


def hdr_boxes(hdr) -> bytes:
    """The 'mdcv' and 'clli' boxes of HDR10 metadata ``hdr`` (nlvfi.colour.HdrMetadata, whose
    units they share), as FFmpeg's mov muxer writes them: the primaries G, B, R, then the white
    point, 16-bit; the greatest and least luminance, 32-bit; MaxCLL and MaxFALL, 16-bit."""
    boxes_out = b""
    if hdr.primaries is not None and hdr.luminance is not None:
        rx, ry, gx, gy, bx, by = hdr.primaries
        fields = struct.pack(">8H2I", gx, gy, bx, by, rx, ry, *hdr.white_point, hdr.luminance[1], hdr.luminance[0])
        boxes_out += struct.pack(">I4s", 8 + len(fields), b"mdcv") + fields
    if hdr.light_level is not None:
        boxes_out += struct.pack(">I4s2H", 12, b"clli", *hdr.light_level)
    return boxes_out


def _colour_kind(movie: bytes, box: Box, offset: int) -> bytes:
    return movie[box.start - offset + box.header : box.start - offset + box.header + 4] if box.type == b"colr" else b""


def sample_entry_edit(movie: bytes, moov: Box, new: bytes, width: int, height: int, held: set[bytes]) -> bytes:
    """The movie header ``movie`` (starting at 'moov') with the boxes ``new`` in its video track's
    sample entry, every box around them grown by their size. ValueError where the entry holds
    one of ``held`` already (box types; 'prof' for a colour box holding an ICC profile)."""
    offset = moov.start
    path = video_entry_path(movie, moov, width, height)
    entry = path[-1]
    inner = boxes(movie, entry.start - offset + entry.header + VISUAL_FIELDS, entry.end - offset, offset)
    if any(b.type in held or _colour_kind(movie, b, offset) in held for b in inner):
        raise ValueError(f"the sample entry holds {sorted(held)} already")
    colours = [b for b in inner if b.type == b"colr"]
    later = [b for b in inner if b.type in (b"pasp", b"btrt", b"clap", b"clli", b"mdcv")]
    at = colours[-1].end if colours else later[0].start if later else entry.end
    pieces, cursor = [], 0
    for box in path:  # each box's header, grown, in place
        pieces += [movie[cursor : box.start - offset], grown(movie, box, len(new), offset)]
        cursor = box.start - offset + box.header
    pieces += [movie[cursor : at - offset], new, movie[at - offset :]]
    return b"".join(pieces)


def write_sample_entry_boxes(path: str | os.PathLike, new: bytes, width: int, height: int, held: set[bytes]) -> bool:
    """Add the boxes ``new`` to the video track of ``width`` x ``height`` of the finished MP4 / MOV
    at ``path``, in place (module docstring). True where written; False, with the file unchanged,
    where its 'moov' does not come after every 'mdat', is not laid out for it, or holds one of
    ``held`` already. Only for a file this project is writing: the caller's temporary output,
    never a user's."""
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
            edited = sample_entry_edit(rest, moov[0], new, width, height, held)
            handle.seek(moov[0].start)
            handle.write(edited + rest[moov[0].size :])
    except (OSError, ValueError, struct.error):
        return False
    return True


def write_icc_profile(path: str | os.PathLike, profile: bytes, width: int, height: int) -> bool:
    """Add ``profile`` as a 'colr' box of type 'prof' (:func:`write_sample_entry_boxes`)."""
    return write_sample_entry_boxes(path, icc_box(profile), width, height, {b"prof", b"rICC"})


def write_hdr_boxes(path: str | os.PathLike, hdr, width: int, height: int) -> bool:
    """Add HDR10 metadata (nlvfi.colour.HdrMetadata) as 'mdcv' and 'clli' boxes (:func:`write_sample_entry_boxes`)."""
    new = hdr_boxes(hdr)
    return bool(new) and write_sample_entry_boxes(path, new, width, height, {b"mdcv", b"clli"})
