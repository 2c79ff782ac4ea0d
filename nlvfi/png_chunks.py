"""PNG chunks read and written without decoding: the animated PNG writer's delays and metadata
(:mod:`nlvfi.apng_output`) and the ICC profile a PNG image sequence carries (:mod:`nlvfi.image_sequence`).

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). From the
PNG specification: an 8-byte signature, then chunks of a 4-byte big-endian length, a 4-letter
name, the payload and a CRC-32 of name and payload; IHDR first, IEND last. An ICC profile is an
iCCP chunk before the image data: a profile name (1-79 Latin-1 characters), a zero byte, the
compression method (0: zlib) and the zlib-compressed profile.
"""

from __future__ import annotations

import struct
import zlib

#: the eight bytes every PNG starts with
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes):
    """Yield ``(name, payload, offset)`` of every whole chunk after a PNG signature, in order, up
    to and with IEND."""
    at = len(PNG_SIGNATURE)
    while at + 12 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if at + 12 + size > len(data):
            return
        name = data[at + 4 : at + 8]
        yield name, data[at + 8 : at + 8 + size], at
        if name == b"IEND":
            return
        at += 12 + size


def chunk(name: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, name, payload, CRC-32 of name and payload."""
    return struct.pack(">I", len(payload)) + name + payload + struct.pack(">I", zlib.crc32(name + payload))


def iccp_payload(profile: bytes, name: str = "ICC profile") -> bytes:
    """An iCCP chunk's payload for ``profile`` (the ICC bytes), named ``name`` (cut to a name PNG
    allows: printable Latin-1, no leading or trailing space, 1-79 characters)."""
    kept = "".join(c for c in name if 32 <= ord(c) <= 126).strip()[:79].strip() or "ICC profile"
    return kept.encode("latin-1") + b"\0\0" + zlib.compress(profile, 9)


def iccp_profile(data: bytes) -> bytes | None:
    """The ICC profile the PNG ``data``'s iCCP chunk holds (decompressed), or None."""
    for name, payload, _ in png_chunks(data):
        if name == b"iCCP":
            end = payload.index(b"\0")
            return zlib.decompress(payload[end + 2 :])
        if name == b"IDAT":
            return None
    return None


def with_icc_profile(data: bytes, profile: bytes, name: str = "ICC profile") -> bytes:
    """The PNG ``data`` with an iCCP chunk for ``profile`` right after IHDR, in place of any iCCP
    or sRGB chunk it had (the specification allows one of the two)."""
    out = [data[: len(PNG_SIGNATURE)]]
    for chunk_name, payload, _ in png_chunks(data):
        if chunk_name in (b"iCCP", b"sRGB"):
            continue
        out.append(chunk(chunk_name, payload))
        if chunk_name == b"IHDR":
            out.append(chunk(b"iCCP", iccp_payload(profile, name)))
    return b"".join(out)
