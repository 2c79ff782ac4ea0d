"""An animated PNG of a palette written back in its palette: a sticker stays sticker-sized.

Method: none; METHOD.md §4 step 4 (¶0214–0239) puts the new frames in place; issue 4 asks that a
lossless input come out lossless, its untouched frames bit-identical. Sticker and emoji APNGs are
mostly palette images (PNG colour type 3: at most 256 RGBA colours, one palette for every frame),
and sticker stores cap their size (LINE: 1 MB a sticker). FFmpeg decodes them to RGB(A), so the
repair wrote them back as RGB(A): 1.5-3 times the bytes.

So where the input is a palette APNG (:func:`input_palette`, from its PLTE and tRNS chunks), every
frame the run takes from the input is written as indices into that palette, exactly
(:func:`exact_indices`: each of its RGBA colours is one of the palette's, or the palette is not
used), and every new frame in the nearest of its colours (:func:`nearest_indices`: squared R, G,
B, A distance, no dithering, which flickers from frame to frame), as a GIF's new frames are drawn
(:mod:`nlvfi.gif_output`); the report gives the new frames' PSNR against the generator's. Where a
frame taken from the input holds a colour the palette does not (FFmpeg composed a partly
transparent frame over another), the APNG is written as RGBA instead, and the report says why.
"""

from __future__ import annotations

import numpy as np

#: new-frame colours matched against the palette at a time (bounds the distance table's memory)
NEAREST_BATCH = 8192


def input_palette(chunks: list[tuple[bytes, bytes]]) -> np.ndarray | None:
    """(N, 4) uint8 RGBA palette of a PNG whose chunks are ``chunks`` (``(name, payload)``, from
    IHDR on) where its colour type is 3 (palette), its PLTE colours with their tRNS alpha (255
    where tRNS says none); None for any other PNG."""
    found = dict(chunks)
    header, colours = found.get(b"IHDR"), found.get(b"PLTE")
    if header is None or len(header) < 13 or header[9] != 3 or not colours:
        return None
    rgb = np.frombuffer(colours[: len(colours) // 3 * 3], np.uint8).reshape(-1, 3)
    alpha = np.full(len(rgb), 255, np.uint8)
    transparency = np.frombuffer(found.get(b"tRNS", b""), np.uint8)[: len(rgb)]
    alpha[: len(transparency)] = transparency
    return np.concatenate([rgb, alpha[:, None]], axis=1)


def _packed(rgba: np.ndarray) -> np.ndarray:
    """(..., 4) uint8 RGBA as (...) uint32, one number a colour."""
    return np.ascontiguousarray(rgba).view(np.uint32)[..., 0]


def exact_indices(rgba: np.ndarray, palette: np.ndarray) -> np.ndarray | None:
    """(H, W) uint8 indices into ``palette`` (N, 4) of the (H, W, 4) ``rgba`` frame, or None where
    one of its colours is not in the palette."""
    colours = _packed(palette)
    order = np.argsort(colours, kind="stable")  # the first of equal entries
    wanted = _packed(rgba)
    at = np.clip(np.searchsorted(colours[order], wanted), 0, len(order) - 1)
    if not np.array_equal(colours[order][at], wanted):
        return None
    return order[at].astype(np.uint8)


def nearest_indices(rgba: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) uint8 indices of the palette colour nearest each pixel of the (H, W, 4) ``rgba``
    frame (squared R, G, B, A distance; the first of equals), its distinct colours matched
    :data:`NEAREST_BATCH` at a time."""
    unique, inverse = np.unique(_packed(rgba).ravel(), return_inverse=True)
    colours = unique.view(np.uint8).reshape(-1, 4).astype(np.int32)  # (U, 4)
    entries = palette.astype(np.int32)  # (N, 4)
    chosen = np.empty(len(unique), np.uint8)
    for start in range(0, len(unique), NEAREST_BATCH):
        part = colours[start : start + NEAREST_BATCH]
        distance = ((part[:, None, :] - entries[None, :, :]) ** 2).sum(axis=2)  # (B, N)
        chosen[start : start + len(part)] = distance.argmin(axis=1)
    return chosen[inverse].reshape(rgba.shape[:2])


def pal8_palette(palette: np.ndarray) -> np.ndarray:
    """(256, 4) rows for PyAV's pal8 frames (A, R, G, B) from an (N, 4) RGBA palette, the rows
    past N repeating its last colour (never referred to)."""
    rows = np.repeat(palette[-1:], 256, axis=0)
    rows[: len(palette)] = palette
    return np.ascontiguousarray(rows[:, [3, 0, 1, 2]])
