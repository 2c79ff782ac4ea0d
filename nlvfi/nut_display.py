"""A NUT file's sample aspect ratio, written into its stream header after the muxer has finished:
how FFV1 in .nut keeps the shape of a picture whose pixels are not square.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). As for
Matroska and AVI (:mod:`nlvfi.matroska_display`, :mod:`nlvfi.avi_display`): FFmpeg's NUT muxer
writes each video stream's ``sample_width`` and ``sample_height`` from the stream's sample aspect
ratio, a field PyAV 18 never sets, so they said 0, 0 ("unknown") and FFV1 in .nut came out square.

NUT (the format's specification, as FFmpeg's nutenc writes it): the file starts with the string
"nut/multimedia container" and a zero byte; then packets, each an 8-byte start code, a
``forward_ptr`` (a variable-length number: 7 bits a byte, big-endian, the top bit set on all but the
last byte; from the end of the packet header to the next packet), a 32-bit header checksum where
``forward_ptr`` is over 4096, the packet's data, and a 32-bit checksum of that data (CRC-32 of the
polynomial 0x04C11DB7, MSB first, from 0, not inverted). A stream header's data: stream id, class
(0: video), the codec's four-character code (length, bytes), time base index, msb_pts_shift,
max_pts_distance, decode_delay, flags, codec data (length, bytes), then for video width, height,
sample_width, sample_height, colour space. The two numbers are rewritten in place where they take
as many bytes as the zeros did (one each: both terms under 128, as 16:15, 8:9, 32:27, 64:45,
40:33 are), with the packet's checksum; nothing else in the file moves. Otherwise nothing is
changed.
"""

from __future__ import annotations

import os
from fractions import Fraction

NUT_ID = b"nut/multimedia container\0"
#: the stream header's start code ('N', 'S' and the specification's 48 bits)
STREAM_STARTCODE = (0x11405BF2F9DB + ((ord("N") << 8 | ord("S")) << 48)).to_bytes(8, "big")
VIDEO_CLASS = 0
#: the most bytes read: the headers come first, before any frame (a few hundred bytes)
MAX_HEADER = 1 << 20


class NotAHeader(ValueError):
    """Eight bytes of a frame that look like a stream header's start code."""


def read_v(data: bytes, at: int) -> tuple[int, int]:
    """A NUT variable-length number at ``data[at]``: ``(value, where the next field starts)``."""
    value = 0
    while True:
        if at >= len(data):
            raise ValueError("a number runs past the data")
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at


def v_bytes(value: int) -> bytes:
    """``value`` as a NUT variable-length number."""
    groups = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        groups.append(0x80 | (value & 0x7F))
    return bytes(reversed(groups))


def nut_checksum(data: bytes) -> int:
    """NUT's CRC-32: polynomial 0x04C11DB7, MSB first, from 0, not inverted."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def header_edit(packet: bytes, width: int, height: int, pixel_aspect: Fraction) -> tuple[int, bytes] | None:
    """For a stream header packet (``packet`` starts at its start code and holds it whole):
    ``(offset in the packet, bytes)`` that put ``pixel_aspect`` into it where it is the video
    stream of ``width`` x ``height``; None where it is another stream's. ValueError where its
    numbers would take more bytes than the old ones; :class:`NotAHeader` where its checksum does
    not hold."""
    try:
        forward, start = read_v(packet, 8)
    except ValueError:
        raise NotAHeader("no packet size") from None
    if forward > 4096:
        start += 4  # the header checksum
    body, stored = packet[start : start + forward - 4], packet[start + forward - 4 : start + forward]
    if forward < 4 or len(stored) != 4 or nut_checksum(body) != int.from_bytes(stored, "big"):
        raise NotAHeader("its checksum does not hold")
    _, field = read_v(body, 0)  # stream id
    kind, field = read_v(body, field)  # class
    fourcc_length, field = read_v(body, field)
    field += fourcc_length
    for _ in range(5):  # time base index, msb_pts_shift, max_pts_distance, decode_delay, flags
        _, field = read_v(body, field)
    extra, field = read_v(body, field)
    field += extra
    if kind != VIDEO_CLASS:
        return None
    frame_width, field = read_v(body, field)
    frame_height, field = read_v(body, field)
    if (frame_width, frame_height) != (width, height):
        return None
    aspect_at = field
    for _ in range(2):  # sample_width, sample_height
        _, field = read_v(body, field)
    numbers = v_bytes(pixel_aspect.numerator) + v_bytes(pixel_aspect.denominator)
    if len(numbers) != field - aspect_at:
        raise ValueError(f"{pixel_aspect} takes {len(numbers)} bytes where the header has {field - aspect_at}")
    new_body = body[:aspect_at] + numbers + body[field:]
    return start, new_body + nut_checksum(new_body).to_bytes(4, "big")


def stream_header_starts(handle, block: int = 16 << 20):
    """The offsets of every stream header start code in the file open in ``handle``: FFmpeg's
    muxer writes the headers again as the file passes 1 MiB, 8 MiB, 64 MiB, ... (a whole read,
    as long as the verification's)."""
    handle.seek(0)
    offset, tail = 0, b""
    while True:
        chunk = handle.read(block)
        if not chunk:
            return
        data = tail + chunk
        at = data.find(STREAM_STARTCODE)
        while at >= 0:
            yield offset - len(tail) + at
            at = data.find(STREAM_STARTCODE, at + 1)
        tail = data[-(len(STREAM_STARTCODE) - 1) :]
        offset += len(chunk)


def write_sample_aspect(path: str | os.PathLike, width: int, height: int, pixel_aspect: Fraction) -> bool:
    """Write ``pixel_aspect`` into every copy of the video stream header of ``width`` x ``height``
    of the finished NUT at ``path``, in place (module docstring). True where written; False, with
    the file unchanged, where it cannot be. Only for a file this project is writing: the
    caller's temporary output, never a user's."""
    try:
        with open(path, "r+b") as handle:
            if handle.read(len(NUT_ID)) != NUT_ID:
                return False
            edits = []
            for at in list(stream_header_starts(handle)):
                handle.seek(at)
                packet = handle.read(MAX_HEADER)
                try:
                    edit = header_edit(packet, width, height, pixel_aspect)
                except NotAHeader:
                    continue
                if edit is not None:
                    edits.append((at + edit[0], edit[1]))
            if not edits:
                return False
            for at, new in edits:
                handle.seek(at)
                handle.write(new)
    except (OSError, ValueError):
        return False
    return True
