"""APNG frames that FFmpeg's encoder composes over the frame before, in the 16-bit formats with
alpha that FFmpeg's own decoder does not compose: coded again to replace their rectangle.

Method: none; METHOD.md §4, last paragraph (the output must read back; :mod:`nlvfi.apng_output`
checks every frame). FFmpeg's APNG encoder codes each frame as the rectangle that changed and
tries both blend operations of the APNG specification: 0, *source* (the rectangle replaces what
was there), and 1, *over* (it is composed over it, so every unchanged pixel inside the rectangle
can be written as transparent zeros, which deflate better). It keeps the smaller, for 16-bit RGBA
(``rgba64be``) and 16-bit grey with alpha (``ya16be``) too, where FFmpeg's decoder composes only
8-bit formats and refuses the frame ("not yet implemented"). So a repaired 16-bit sticker whose
frames change in two places at once, or that holds two identical frames in a row (a 1x1
blend-over frame), failed its read-back after the whole run.

Here such a frame's rectangle is coded again with blend *source* from the frame's own pixels:
each row filtered as FFmpeg's ``mixed`` prediction does (the PNG filter, of none, sub, up,
average and Paeth, whose bytes have the smallest sum of absolute values read as signed) and
deflated at level 9, in one ``fdAT`` chunk. The chunk count can change, so :func:`renumbered`
numbers every ``fcTL`` and ``fdAT`` again, as the specification requires (from 0, no gaps).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from .png_chunks import chunk

#: the formats whose blend-over frames FFmpeg's decoder refuses, and their bytes per pixel
BLEND_REFUSED = {"rgba64be": 8, "ya16be": 4}
#: an fcTL chunk's payload: sequence number, width, height, x, y, delay (num, den), dispose, blend
FCTL = struct.Struct(">IIIIIHHBB")
BLEND_SOURCE, BLEND_OVER = 0, 1


def plane_rows(frame, bytes_per_pixel: int) -> np.ndarray:
    """A packed frame's pixels as they are coded: (H, W * bytes_per_pixel) uint8, the line padding cut."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width * bytes_per_pixel].copy()


def paeth(left: np.ndarray, up: np.ndarray, up_left: np.ndarray) -> np.ndarray:
    """The PNG Paeth predictor, element by element (int16 in, int16 out)."""
    estimate = left + up - up_left
    to_left, to_up, to_up_left = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - up_left)
    return np.where((to_left <= to_up) & (to_left <= to_up_left), left, np.where(to_up <= to_up_left, up, up_left))


#: rows filtered at once (a 1080p 16-bit RGBA rectangle at once took some 400 MB of arrays)
FILTER_ROWS = 64


def filtered(rows: np.ndarray, bytes_per_pixel: int) -> bytes:
    """The PNG image data of ``rows`` (H, N) uint8 before deflate: each row its filter type byte and
    its bytes filtered by the type whose sum of absolute values, as signed bytes, is least."""
    out = []
    for first in range(0, rows.shape[0], FILTER_ROWS):
        above = rows[first - 1] if first else np.zeros(rows.shape[1], np.uint8)  # the row before: "up" of the first
        out.append(_filtered_block(rows[first : first + FILTER_ROWS], above, bytes_per_pixel))
    return b"".join(out)


def _filtered_block(rows: np.ndarray, above: np.ndarray, bytes_per_pixel: int) -> bytes:
    """:func:`filtered` of ``rows`` (h, N), the row before them being ``above`` (N,)."""
    raw = rows.astype(np.int16)  # (h, N)
    left = np.zeros_like(raw)
    left[:, bytes_per_pixel:] = raw[:, :-bytes_per_pixel]
    up = np.concatenate([above.astype(np.int16)[None], raw[:-1]])  # (h, N)
    up_left = np.zeros_like(raw)
    up_left[:, bytes_per_pixel:] = up[:, :-bytes_per_pixel]
    predictions = np.stack([np.zeros_like(raw), left, up, (left + up) // 2, paeth(left, up, up_left)])  # (5, h, N)
    candidates = ((raw[None] - predictions) % 256).astype(np.uint8)  # (5, h, N)
    cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)  # (5, h)
    best = cost.argmin(axis=0)  # (h,): the first of equal costs, as FFmpeg keeps it
    chosen = candidates[best, np.arange(rows.shape[0])]  # (h, N)
    return np.concatenate([best.astype(np.uint8)[:, None], chosen], axis=1).tobytes()


def source_blended(packet: bytes, rows: np.ndarray, bytes_per_pixel: int) -> bytes | None:
    """An encoder packet (an ``fcTL`` then its ``fdAT`` chunks) whose frame blends *over*, coded
    again with blend *source* from ``rows`` (the whole frame, :func:`plane_rows`); None where it
    blends *source* already. The new ``fdAT`` takes the sequence number after the ``fcTL``'s
    (:func:`renumbered` puts every later one right)."""
    if packet[4:8] != b"fcTL" or int.from_bytes(packet[0:4], "big") != FCTL.size:
        raise ValueError("an APNG encoder packet that does not start with an fcTL chunk")
    sequence, width, height, x, y, delay_num, delay_den, dispose, blend = FCTL.unpack(packet[8 : 8 + FCTL.size])
    if blend != BLEND_OVER:
        return None
    rectangle = rows[y : y + height, x * bytes_per_pixel : (x + width) * bytes_per_pixel]  # (h, w * bpp)
    data = zlib.compress(filtered(rectangle, bytes_per_pixel), 9)
    control = FCTL.pack(sequence, width, height, x, y, delay_num, delay_den, dispose, BLEND_SOURCE)
    return chunk(b"fcTL", control) + chunk(b"fdAT", struct.pack(">I", sequence + 1) + data)


def renumbered(chunks: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``(name, payload)`` chunks with every ``fcTL`` and ``fdAT`` numbered from 0 in order (the
    first four bytes of their payload); other chunks as they are."""
    out, number = [], 0
    for name, payload in chunks:
        if name in (b"fcTL", b"fdAT"):
            payload = struct.pack(">I", number) + payload[4:]
            number += 1
        out.append((name, payload))
    return out
