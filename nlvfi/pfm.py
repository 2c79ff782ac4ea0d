"""Portable float map (PFM) images: read and written exactly, in numpy alone.

Method: none; METHOD.md §4, last paragraph (what a real tool must add): ``nlvfi interpolate
PREV.pfm NEXT.pfm -o MID.pfm`` for the people who keep renders, HDR captures and scientific
frames in PFM. Before, a grey PFM reached PIL, which reads it as mode ``F`` and the tools
refused it ("unknown full scale"); FFmpeg's PFM decoder and encoder did not give back the
samples of a test image (a maximum difference of 2.95), so neither is used here.

The format, as netpbm's ``pfm(5)`` describes it (the one GIMP writes): three ASCII "lines",
each followed by one whitespace character (a newline in practice), then the raster:

* ``PF`` (colour: R, G, B a pixel) or ``Pf`` (grey: one sample a pixel);
* ``WIDTH HEIGHT``, positive decimal integers;
* a nonzero decimal number: negative means the raster is little-endian, positive big-endian;
  its absolute value is the *scale*, the unit the samples are counted in (they are stored as they
  are, not multiplied by it);
* WIDTH x HEIGHT pixels of 32-bit IEEE floats, rows from the **bottom** of the picture to the top,
  each row left to right. (Adobe Photoshop's PFM orders the rows top to bottom and has no
  marker of it: such a file reads upside down, as it does in netpbm.)

:func:`read_pfm` returns the samples top row first, as every other image here, with the scale;
:func:`pfm_file_bytes` writes them back little-endian with that scale, so a file read and written
again gives back every sample bit for bit.
PFM holds no alpha and no half: a grey + alpha or RGBA frame is written without its alpha (as
JPEG is, nlvfi.io), a half one widened to float exactly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: the identifier lines: colour, grey
PFM_MAGICS = (b"PF", b"Pf")
#: the header: identifier, width, height, scale, each followed by one whitespace character
_HEADER = re.compile(rb"(PF|Pf)\s(\d+)\s+(\d+)\s([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s")


@dataclass(frozen=True)
class PfmImage:
    """A PFM file's content: ``samples`` (H, W, C) float32, C = 3 (``PF``) or 1 (``Pf``), top row
    first; ``scale``, the unit of the samples (the absolute value of the header's number)."""

    samples: np.ndarray
    scale: float = 1.0


def is_pfm(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a PFM file: ``PF`` or ``Pf`` and a whitespace character."""
    with open(path, "rb") as file:
        head = file.read(3)
    return len(head) == 3 and head[:2] in PFM_MAGICS and head[2:].isspace()


def read_pfm(path: str | os.PathLike) -> PfmImage:
    """A PFM file -> :class:`PfmImage` (module doc). ValueError in one line for a header that is
    not PFM's, a zero scale, or a raster shorter or longer than the header says."""
    path = Path(path)
    data = path.read_bytes()
    header = _HEADER.match(data[:256])
    if header is None:
        raise ValueError(f"{path} is not a PFM image: its header is not 'PF' or 'Pf', width height, scale")
    magic, width, height, number = header.group(1), int(header.group(2)), int(header.group(3)), float(header.group(4))
    if width <= 0 or height <= 0:
        raise ValueError(f"{path}: a PFM image of {width}x{height} pixels holds nothing")
    if number == 0 or not np.isfinite(number):
        raise ValueError(f"{path}: the PFM scale is {header.group(4).decode()}; it must be a nonzero number")
    channels = 3 if magic == b"PF" else 1
    dtype = np.dtype("<f4" if number < 0 else ">f4")
    raster = data[header.end():]
    expected = width * height * channels * dtype.itemsize
    if len(raster) != expected:
        raise ValueError(
            f"{path}: a {width}x{height} {'colour' if channels == 3 else 'grey'} PFM holds {expected:,} bytes of samples, "
            f"this one {len(raster):,} ({'truncated' if len(raster) < expected else 'more than its header says'})"
        )
    samples = np.frombuffer(raster, dtype).reshape(height, width, channels)[::-1]  # rows stored bottom first
    return PfmImage(samples.astype(np.float32), abs(number))


def pfm_file_bytes(samples: np.ndarray, scale: float = 1.0) -> bytes:
    """A little-endian PFM file of (H, W, C) samples, top row first: C = 1 (grey) or 3 (colour); a
    second or fourth sample (alpha) is left out, half widened to float (module doc)."""
    if samples.ndim == 2:
        samples = samples[..., None]
    channels = samples.shape[2]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"a PFM image holds grey or RGB samples, not {channels} a pixel")
    if not scale > 0 or not np.isfinite(scale):
        raise ValueError(f"a PFM scale must be a positive number, not {scale}")
    colour = samples[..., :3] if channels >= 3 else samples[..., :1]  # (H, W, 3 or 1): no alpha in PFM
    height, width = colour.shape[:2]
    header = f"{'PF' if colour.shape[2] == 3 else 'Pf'}\n{width} {height}\n{-float(scale)!r}\n".encode()  # -1.0: little-endian, unit 1
    return header + np.ascontiguousarray(colour[::-1], dtype="<f4").tobytes()
