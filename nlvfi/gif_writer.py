"""GIF89a files, block by block: what ``nlvfi repair in.gif -o out.gif`` writes (nlvfi.gif_output).

Why not FFmpeg's GIF encoder: fed palette frames through PyAV, it took any unused palette entry of
alpha 0 for the transparent one, marked frames transparent that had no transparent pixel, and
left each frame in place, so a pixel turning transparent after an opaque frame showed that frame
(all found by reading its files back). Here every block is written as the GIF89a specification
lays it out, and only the LZW coding of each image's indices is Pillow's (:func:`lzw_image_data`).

Colours are packed one to a ``uint32`` (B, G, R, A bytes, as FFmpeg's ``bgra`` frames hold them,
:func:`packed_colours`), so a frame is an (H, W) array and a palette a sorted 1-D one.

How a file is laid out (:class:`GifEncoder`):

- one colour table for all frames (the global table) where they hold 256 colours together, else
  one per frame (local tables);
- without transparency, each frame is left in place (disposal 1) and only the box of pixels that
  changed is written (:func:`changed_box`); inside the box the pixels that did not change take a
  spare entry marked transparent, so they show the frame before and code as long runs;
- with a transparent colour, each frame is written whole, transparent where it is, and cleared
  after it is shown (disposal 2, "restore to background", which browsers and FFmpeg both read as
  transparent when the frame declares a transparent entry);
- the NETSCAPE2.0 extension holds the loop count (:func:`gif_loop_count` reads it back).
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import numpy as np

#: the GIF89a Graphic Control Extension's introducer, label and size; its packed byte follows
GRAPHIC_CONTROL = b"\x21\xf9\x04"
#: its disposal methods (bits 2-4 of the packed byte): what becomes of a frame once shown
DISPOSAL_SHIFT, LEAVE_IN_PLACE, RESTORE_TO_BACKGROUND = 2, 1, 2
#: application extensions that hold a loop count (Netscape's, and the one some old tools wrote)
LOOP_EXTENSIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
#: how much of a file's head :func:`gif_loop_count` reads: the extension comes before the first image
HEAD_BYTES = 1 << 20


def packed_colours(bgra: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 B, G, R, A -> (H, W) uint32, one number per colour."""
    return np.ascontiguousarray(bgra).view(np.uint32)[..., 0]


def unpacked(packed: np.ndarray) -> np.ndarray:
    """The inverse of :func:`packed_colours`: (...) uint32 -> (..., 4) uint8 B, G, R, A."""
    packed = np.ascontiguousarray(packed, dtype=np.uint32)
    return packed.view(np.uint8).reshape(*packed.shape, 4)


def shared_palette(frames, transparent: int | None = None) -> np.ndarray | None:
    """The colours of all ``frames`` (packed; and ``transparent``, if given), sorted, if they
    are 256 at most, else None."""
    colours = np.asarray([] if transparent is None else [transparent], np.uint32)
    for frame in frames:
        colours = np.union1d(colours, frame.ravel()).astype(np.uint32)
        if len(colours) > 256:
            return None
    return colours


def colour_table(colours: np.ndarray, entries: int | None = None) -> tuple[bytes, int]:
    """A GIF colour table of ``colours`` (packed, sorted; <= 256) with room for ``entries`` in all
    (the colours and a spare one, say): R, G, B bytes padded to a power of two entries (at least
    2), and its size field (entries = 2 ** (field + 1))."""
    field = max(int(np.ceil(np.log2(max(min(entries or len(colours), 256), 2)))) - 1, 0)
    table = np.zeros((2 ** (field + 1), 3), np.uint8)
    table[: len(colours)] = unpacked(colours)[:, 2::-1]  # B, G, R, A -> R, G, B
    return table.tobytes(), field


def _after_header(data: bytes) -> int:
    """The position of a GIF's first block: after the 13-byte header and the global colour table."""
    return 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    """The position after the sub-blocks starting at ``position`` and their terminator."""
    while data[position]:
        position += data[position] + 1
    return position + 1


def lzw_image_data(indices: np.ndarray) -> bytes:
    """A GIF image's data (LZW minimum code size, then sub-blocks, then the terminator) for
    (H, W) uint8 ``indices``, coded by Pillow's LZW encoder: a one-frame GIF of them is made with
    a palette of 256 distinct entries (so Pillow keeps every index as it is), not interlaced,
    and its image data taken out."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8), "P")
    image.putpalette(np.repeat(np.arange(256, dtype=np.uint8), 3).tobytes())
    buffer = io.BytesIO()
    image.save(buffer, "GIF", optimize=False, interlace=False)  # rows in order, as the descriptor written says
    data = buffer.getvalue()
    position = _after_header(data)
    while data[position] == 0x21:  # extensions Pillow may write before the image
        position = _skip_sub_blocks(data, position + 2)
    if data[position] != 0x2C or data[position + 9] & 0x40:
        raise ValueError("Pillow's GIF encoder wrote no plain image")
    flags = data[position + 9]
    position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return data[position : _skip_sub_blocks(data, position + 1)]


def changed_box(frame: np.ndarray, before: np.ndarray | None) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels of ``frame`` that differ from ``before`` (the
    whole frame without one; one pixel where none differ: a GIF image is at least 1 x 1)."""
    height, width = frame.shape
    if before is None:
        return 0, 0, height, width
    differs = frame != before  # (H, W)
    rows, columns = np.nonzero(differs.any(1))[0], np.nonzero(differs.any(0))[0]
    if not len(rows):
        return 0, 0, 1, 1
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


class GifEncoder:
    """Writes a GIF89a to ``file`` frame by frame (the module docstring says how).

    Args:
        file: a binary file open for writing.
        width, height: the canvas.
        shared: the sorted colours of every frame (with ``transparent``, if given), <= 256, for
            one global table; None for a table per frame.
        transparent: the packed colour (alpha 0) of transparent pixels, or None for none.
        loop: the loop count (0: for ever; -1: no NETSCAPE2.0 extension, play once).
    Frames: (H, W) uint32 packed colours, alpha 255, or alpha 0 where ``transparent``.
    """

    def __init__(self, file: BinaryIO, width: int, height: int, shared: np.ndarray | None, transparent: int | None, loop: int):
        self.file, self.width, self.height = file, width, height
        self.shared, self.transparent = shared, transparent
        self.previous: np.ndarray | None = None
        header = b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little")
        if shared is not None:
            table, field = colour_table(shared, len(shared) + 1)  # and the spare entry, where there is room
            background = int(np.searchsorted(shared, transparent)) if transparent is not None else 0
            file.write(header + bytes([0x80 | (7 << 4) | field, background, 0]) + table)
        else:
            file.write(header + bytes([0, 0, 0]))
        if loop >= 0:
            file.write(b"\x21\xff\x0b" + LOOP_EXTENSIONS[0] + b"\x03\x01" + loop.to_bytes(2, "little") + b"\x00")

    def add(self, frame: np.ndarray, delay: int) -> None:
        """Write one frame, shown for ``delay`` hundredths of a second."""
        colours = self.shared if self.shared is not None else np.unique(frame)
        if self.transparent is not None:
            top, left, bottom, right = 0, 0, self.height, self.width
            if self.shared is None and self.transparent not in colours and len(colours) < 256:
                colours = np.union1d(colours, [self.transparent]).astype(np.uint32)
            # a frame of 256 opaque colours has no room for the transparent entry and needs none:
            # cleared, it leaves the canvas transparent (there is no global table in that case)
            marks = self.transparent in colours
            disposal, index = RESTORE_TO_BACKGROUND, int(np.searchsorted(colours, self.transparent)) if marks else 0
        else:
            top, left, bottom, right = changed_box(frame, self.previous)
            marks = self.previous is not None and len(colours) < 256  # the spare entry after the colours
            disposal, index = LEAVE_IN_PLACE, len(colours) if marks else 0
        control = (disposal << DISPOSAL_SHIFT) | int(marks)
        self.file.write(GRAPHIC_CONTROL + bytes([control]) + int(delay).to_bytes(2, "little") + bytes([index, 0]))
        descriptor = b"\x2c" + b"".join(int(v).to_bytes(2, "little") for v in (left, top, right - left, bottom - top))
        if self.shared is not None:
            self.file.write(descriptor + b"\x00")
        else:
            table, field = colour_table(colours, len(colours) + 1)
            self.file.write(descriptor + bytes([0x80 | field]) + table)
        box = frame[top:bottom, left:right]  # (h, w)
        indices = np.minimum(np.searchsorted(colours, box), len(colours) - 1)  # (h, w)
        if not np.array_equal(colours[indices], box):
            raise ValueError("a frame holds colours that are not in its palette")
        indices = indices.astype(np.uint8)
        if self.transparent is None and marks:
            indices[box == self.previous[top:bottom, left:right]] = index  # unchanged: the frame before shows
        self.file.write(lzw_image_data(indices))
        self.previous = frame

    def close(self) -> None:
        self.file.write(b"\x3b")  # the trailer


def gif_loop_count(path: str | os.PathLike) -> int:
    """The loop count of a GIF's NETSCAPE2.0 (or ANIMEXTS1.0) application extension: 0 plays for
    ever, n plays n + 1 times; -1 where there is none (the GIF plays once). The extension comes
    before the first image, so the blocks are walked from the header to it."""
    with open(path, "rb") as file:
        data = file.read(HEAD_BYTES)
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return -1
    position = _after_header(data)
    while position + 1 < len(data) and data[position] == 0x21:  # extensions until the first image
        label, position = data[position + 1], position + 2
        blocks = []
        while position < len(data) and data[position]:
            blocks.append(data[position + 1 : position + 1 + data[position]])
            position += data[position] + 1
        position += 1
        if label == 0xFF and len(blocks) >= 2 and blocks[0] in LOOP_EXTENSIONS and blocks[1][:1] == b"\x01":
            return int.from_bytes(blocks[1][1:3], "little")
    return -1


def gif_bytes(frames: list[np.ndarray], delays: list[int], loop: int = 0, transparent: int | None = None) -> bytes:
    """A whole GIF of ``frames`` in memory (:class:`GifEncoder`, one table where they fit one)."""
    buffer = io.BytesIO()
    height, width = frames[0].shape
    encoder = GifEncoder(buffer, width, height, shared_palette(frames, transparent), transparent, loop)
    for frame, delay in zip(frames, delays):
        encoder.add(frame, delay)
    encoder.close()
    return buffer.getvalue()

