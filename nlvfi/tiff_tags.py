"""An ICC profile put into a TIFF written by another library, and read back: the numbered TIFF
images a repair writes (:mod:`nlvfi.image_sequence`).

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). From the
TIFF 6.0 specification: a header (byte order ``II`` or ``MM``, 42, the offset of the first image
file directory), then directories of 12-byte entries sorted by tag (tag, type, count, and the
value itself where it fits in 4 bytes, else its offset). The ICC profile is tag 34675
(``InterColorProfile``, type UNDEFINED). Neither FFmpeg's TIFF encoder nor the float writer take
one, so the profile is appended to the finished file with a copy of its first directory that
holds the tag too, and the header is pointed at that copy: every other byte stays where the
writer put it (the old directory is left unreferenced, a few hundred bytes).
"""

from __future__ import annotations

import struct

#: the TIFF tag of an ICC profile (InterColorProfile) and the type it is stored as (UNDEFINED)
ICC_TAG, UNDEFINED = 34675, 7


def _layout(data: bytes) -> tuple[str, int]:
    """The struct byte order of a classic TIFF and the offset of its first directory; ValueError otherwise."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:
        raise ValueError("not a classic TIFF (BigTIFF and other files are not handled)")
    return order, struct.unpack(order + "I", data[4:8])[0]


def _entries(data: bytes, order: str, offset: int) -> tuple[list[bytes], int]:
    """The 12-byte entries of the directory at ``offset`` and the offset of the next one."""
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    entries = [data[offset + 2 + 12 * i : offset + 14 + 12 * i] for i in range(count)]
    (following,) = struct.unpack(order + "I", data[offset + 2 + 12 * count : offset + 6 + 12 * count])
    return entries, following


def with_tiff_icc(data: bytes, profile: bytes) -> bytes:
    """The TIFF ``data`` with ``profile`` as its first image's ICC profile (module doc)."""
    order, first = _layout(data)
    entries, following = _entries(data, order, first)
    out = bytearray(data)
    out += b"\0" * (len(out) & 1)  # values start on a word boundary
    profile_at = len(out)
    out += profile + b"\0" * (len(profile) & 1)
    kept = [entry for entry in entries if struct.unpack(order + "H", entry[:2])[0] != ICC_TAG]
    entry = struct.pack(order + "HHII", ICC_TAG, UNDEFINED, len(profile), profile_at)
    entries = sorted(kept + [entry], key=lambda item: struct.unpack(order + "H", item[:2])[0])
    directory_at = len(out)
    out += struct.pack(order + "H", len(entries)) + b"".join(entries) + struct.pack(order + "I", following)
    out[4:8] = struct.pack(order + "I", directory_at)
    return bytes(out)


def tiff_icc(data: bytes) -> bytes | None:
    """The ICC profile of the first image of the TIFF ``data``, or None."""
    order, first = _layout(data)
    entries, _ = _entries(data, order, first)
    for entry in entries:
        tag, kind, count, value = struct.unpack(order + "HHII", entry)
        if tag == ICC_TAG:
            return data[value : value + count] if count > 4 else entry[8 : 8 + count]
    return None
