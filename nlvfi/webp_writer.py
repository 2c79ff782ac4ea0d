"""An animated WebP writer that keeps every frame: each one its own ANMF chunk, coded losslessly.

Method: none; METHOD.md §4 step 4 keeps the frame rate, issue 4 the frame count and every
frame's time. Used by :mod:`nlvfi.webp_output`.

libwebp's animation encoder (WebPAnimEncoder, which Pillow and FFmpeg call) merges a frame that
is the same as the one before into that one's duration: four frames of which two are the same
come back as three. A repair keeps the frame count, and may keep copies it was told to leave
(at the start, the end, beside a cut), so the animation is laid out here instead, from the
WebP container specification (RIFF, VP8X, ANIM, ANMF chunks); libwebp (through Pillow) codes
each frame's picture as a still: lossless (VP8L, ``exact``: the colour of a fully transparent
pixel is kept too), or lossy (VP8, its alpha lossless) where asked.

A frame is written as the box of pixels that changed since the frame before (the canvas as it
stands), with "do not blend" and "do not dispose": the box replaces those canvas pixels, alpha
included, so every composed frame is exactly the picture given (lossless), or each pixel as
coded in the last frame that changed it (lossy: the error does not pile up from frame to frame). A WebP frame's offset is
stored halved, so a box starts on even coordinates. A frame the same as the one before is a
2x2 box (or less, on a canvas that small) of the pixels already there: it changes nothing and
keeps its own place and time.

Metadata chunks given (an input's ICC profile, EXIF, XMP) are written where the specification
puts them, ICCP before ANIM, EXIF and XMP after the last frame, each flagged in VP8X.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

import numpy as np

#: VP8X flags (WebP container specification): alpha in some frame, and an animation
ALPHA_FLAG, ANIMATION_FLAG = 0x10, 0x02
#: VP8X flags for the metadata chunks a file holds, by the chunk's four letters
METADATA_FLAGS = {b"ICCP": 0x20, b"EXIF": 0x08, b"XMP ": 0x04}
#: ANMF flags: bit 1 "do not blend" (the frame's pixels replace the canvas's), bit 0 clear: "do not dispose"
NO_BLEND = 0x02
#: the largest duration an ANMF chunk holds (24 bits, in milliseconds)
MAX_DURATION_MS = (1 << 24) - 1
#: libwebp's lossless effort (Pillow's defaults): on a 384x288 vtest frame, 0.13 s and 108.9 kB;
#: quality 100 took 0.63 s for 108.6 kB, method 6 5.1 s for 107.8 kB (2 cores)
LOSSLESS_EFFORT = {"quality": 80, "method": 4}


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    """One RIFF chunk: its four letters, its size, its payload, padded to an even length."""
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _u24(value: int) -> bytes:
    return int(value).to_bytes(3, "little")


def still_frame_chunks(picture: np.ndarray, quality: int | None = None) -> bytes:
    """The image chunks of ``picture`` (H, W, 3 or 4) uint8 coded by libwebp as a still, without
    the still file's RIFF header: lossless (VP8L) where ``quality`` is None, else lossy VP8 at
    that quality (0-100), its alpha (ALPH) lossless."""
    from PIL import Image

    buffer = io.BytesIO()
    options = dict(lossless=True, exact=True, **LOSSLESS_EFFORT) if quality is None else dict(quality=quality, alpha_quality=100, method=4)
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, "WEBP", **options)
    data = buffer.getvalue()
    chunks, at = b"", 12
    while at + 8 <= len(data):
        fourcc, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if fourcc in (b"VP8L", b"VP8 ", b"ALPH"):
            chunks += data[at : at + 8 + size + (size & 1)]
        at += 8 + size + (size & 1)
    return chunks


def changed_box(before: np.ndarray | None, picture: np.ndarray) -> tuple[int, int, int, int]:
    """``(x, y, width, height)`` of the pixels of ``picture`` (H, W, C) that differ from ``before``
    (the whole frame where there is none), ``x`` and ``y`` even; 2x2 (or the canvas, if smaller)
    at the origin where none differ."""
    height, width = picture.shape[:2]
    if before is None:
        return 0, 0, width, height
    differ = (before != picture).any(axis=2)  # (H, W)
    rows, columns = np.flatnonzero(differ.any(axis=1)), np.flatnonzero(differ.any(axis=0))
    if not len(rows):
        return 0, 0, min(2, width), min(2, height)
    x, y = int(columns[0]) & ~1, int(rows[0]) & ~1
    return x, y, int(columns[-1]) + 1 - x, int(rows[-1]) + 1 - y


class WebpEncoder:
    """Write an animated WebP frame by frame to a seekable binary ``file``.

    Args:
        file: opened for writing, at its start; the RIFF size is written in :meth:`close`.
        width, height: the canvas.
        alpha: whether the frames carry alpha (RGBA); else RGB.
        loop: the loop count (0: for ever).
        quality: None to code every frame losslessly (VP8L), else lossy VP8 at this quality.
        metadata: payloads of ICCP, EXIF and XMP chunks to write, by four letters (an input's,
            :func:`nlvfi.animated_webp.metadata_chunks`): the ICC profile before the frames, EXIF
            and XMP after them, in the order the container specification gives, each flagged in VP8X.
    Shapes:
        :meth:`add` takes (H, W, 4) RGBA or (H, W, 3) RGB uint8 and a duration in milliseconds.
    """

    def __init__(
        self, file: BinaryIO, width: int, height: int, alpha: bool, loop: int = 0, quality: int | None = None,
        metadata: dict[bytes, bytes] | None = None,
    ):  # fmt: skip
        self.file, self.width, self.height, self.alpha, self.quality = file, width, height, alpha, quality
        self.metadata = dict(metadata or {})
        unknown = set(self.metadata) - set(METADATA_FLAGS)
        if unknown:
            raise ValueError(f"metadata chunks are ICCP, EXIF and XMP, not {sorted(unknown)}")
        self.canvas: np.ndarray | None = None
        self.frames = 0
        flags = ANIMATION_FLAG | (ALPHA_FLAG if alpha else 0)
        for fourcc in self.metadata:
            flags |= METADATA_FLAGS[fourcc]
        file.write(b"RIFF\0\0\0\0WEBP")
        file.write(_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + _u24(width - 1) + _u24(height - 1)))
        if b"ICCP" in self.metadata:  # the colour profile comes before the animation's chunks
            file.write(_chunk(b"ICCP", self.metadata[b"ICCP"]))
        background = 0x00000000 if alpha else 0xFF000000  # transparent black / opaque black (B, G, R, A bytes)
        file.write(_chunk(b"ANIM", struct.pack("<IH", background, loop)))

    def add(self, picture: np.ndarray, duration_ms: int) -> tuple[int, int, int, int]:
        """Append one frame shown for ``duration_ms``; return the box written (:func:`changed_box`)."""
        if picture.shape != (self.height, self.width, 4 if self.alpha else 3) or picture.dtype != np.uint8:
            raise ValueError(f"a frame of {picture.shape} {picture.dtype} on a {self.width}x{self.height} {'RGBA' if self.alpha else 'RGB'} canvas")
        if not 0 < duration_ms <= MAX_DURATION_MS:
            raise ValueError(f"a WebP frame lasts 1 to {MAX_DURATION_MS} ms, not {duration_ms}")
        x, y, width, height = changed_box(self.canvas, picture)
        header = _u24(x // 2) + _u24(y // 2) + _u24(width - 1) + _u24(height - 1) + _u24(duration_ms) + bytes([NO_BLEND])
        self.file.write(_chunk(b"ANMF", header + still_frame_chunks(picture[y : y + height, x : x + width], self.quality)))
        self.canvas = picture.copy()
        self.frames += 1
        return x, y, width, height

    def close(self) -> None:
        """Write the EXIF and XMP chunks (after the frames), then the RIFF size: the file's length
        after its first eight bytes."""
        for fourcc in (b"EXIF", b"XMP "):
            if fourcc in self.metadata:
                self.file.write(_chunk(fourcc, self.metadata[fourcc]))
        end = self.file.tell()
        self.file.seek(4)
        self.file.write(struct.pack("<I", end - 8))
        self.file.seek(end)
