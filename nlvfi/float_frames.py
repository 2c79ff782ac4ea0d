"""Floating-point frames (OpenEXR's half and float): kept to the bit, shown to the model and to
duplicate detection through a tone curve.

Method: none; METHOD.md §4, last paragraph (what a real tool must add), and its step 6 as the
repair issue states it: frames that are not replaced keep their content, and a losslessly coded
input gives a lossless output whose untouched frames are bit-identical.

An OpenEXR sequence (film scans, renders, VFX plates) holds *scene-linear* light in 16-bit half
or 32-bit float samples: 0.18 is a mid grey, 1.0 is no limit, a highlight may be 40. FFmpeg
decodes it as ``gbrpf16le`` / ``gbrpf32le`` (``gbrap*`` with alpha, ``grayf*`` grey), with the
transfer tag "linear". Before this module, the tools read such frames through swscale: its
float paths clip to [0, 1] and (for half) drop to 16-bit integers, so every value above 1 was
lost, mid greys came out nearly black to the model, the file counted as lossy, and the output
was 10-bit 4:2:0 x264 whose untouched frames were 25.4 dB from the input.

Here:

* the samples are read from the frame's planes as they are (:func:`float_samples`), exactly;
  an EXR whose compression is lossless (none, RLE, ZIP, PIZ; PXR24 without 32-bit float
  channels: :func:`exr_is_lossless`) is a lossless input. Floating-point input of any
  compression is written to FFV1, the one encoder here that holds floats (``gbrpf16le``,
  ``gbrpf32le``, from its version 4, which FFmpeg 8 writes only as experimental: the summary
  says so), or as numbered EXR images (``-o out/%04d.exr``, ZIPS: :func:`exr_file_bytes`, each
  read back); the untouched frames come back bit-identical (:func:`same_samples`);
* the model (trained on display images, values in [0, 1]) sees each frame through the
  invertible curve ``y = (v / (1 + v)) ** (1 / 2.2)`` (:func:`to_display`): v >= 0 maps onto
  [0, 1) without clipping, 0.18 to 0.43 and 1.0 to 0.73, as a display would show an exposed
  picture; its output goes back through the inverse (:func:`from_display`) into the input's
  own float format (:func:`float_frame`), and from there to the output format as the untouched
  frames do. Negative samples (a colour transform's small undershoot) and NaN are shown as 0,
  +inf as the top of the curve; the untouched frames keep them;
* duplicate detection measures the same curve at 8 bits (its constants are on a display
  scale, 0-255), so a change in a highlight counts as it looks, not as clipped white.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import numpy as np

_FLOAT_FORMAT = re.compile(r"f(16|32)(le|be)$")
GAMMA = 2.2  # the curve's display gamma (module doc)
HALF_MAX = 65504.0  # the largest finite half: the curve's top code maps here, not to +inf
_TOP = HALF_MAX / (1.0 + HALF_MAX)  # t of HALF_MAX


def is_float_format(pix_fmt: str) -> bool:
    """Whether FFmpeg's pixel format ``pix_fmt`` holds floating-point samples (gbrpf32le, grayf16le, rgbaf16le, ...)."""
    return _FLOAT_FORMAT.search(pix_fmt) is not None


def _layout(pix_fmt: str) -> tuple[np.dtype, list[int], bool]:
    """(sample dtype, the plane of each component in RGB(A) / Y(A) order, whether packed in one plane)."""
    import av

    match = _FLOAT_FORMAT.search(pix_fmt)
    if match is None:
        raise ValueError(f"{pix_fmt} is not a floating-point pixel format")
    dtype = np.dtype(f"{'<' if match.group(2) == 'le' else '>'}f{int(match.group(1)) // 8}")
    planes = [c.plane for c in av.VideoFormat(pix_fmt).components]  # in R, G, B(, A) or Y(, A) order
    return dtype, planes, len(set(planes)) == 1 and len(planes) > 1


def float_samples(frame, raw: bool = False) -> np.ndarray:
    """(H, W, C) samples of a floating-point frame in RGB(A) or Y(A) order, read from its planes
    as stored (no conversion): float32 (half widened exactly), or with ``raw`` the samples' own
    bits as unsigned integers, for exact comparisons (NaN included)."""
    dtype, planes, packed = _layout(frame.format.name)
    height, width = frame.height, frame.width
    channels = len(planes)

    def plane_array(index: int, per_pixel: int) -> np.ndarray:  # (H, W * per_pixel) without the row padding
        plane = frame.planes[index]
        rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
        return rows[:height, : width * per_pixel]

    if packed:
        samples = plane_array(0, channels).reshape(height, width, channels)
    else:
        samples = np.stack([plane_array(index, 1) for index in planes], axis=2)  # (H, W, C)
    if raw:
        return np.ascontiguousarray(samples).view(f"{dtype.byteorder}u{dtype.itemsize}")
    return samples.astype(np.float32)


def float_frame(samples: np.ndarray, pix_fmt: str):
    """An av.VideoFrame in the floating-point format ``pix_fmt`` from (H, W, C) float samples
    in RGB(A) / Y(A) order (the inverse of :func:`float_samples`; half rounds to nearest)."""
    import av

    dtype, planes, packed = _layout(pix_fmt)
    height, width, channels = samples.shape
    if channels != len(planes):
        raise ValueError(f"{pix_fmt} has {len(planes)} components, the samples {channels}")
    frame = av.VideoFrame(width, height, pix_fmt)
    if frame.format.name != pix_fmt:  # PyAV 18 makes no grayf16le / yaf16le frame (it gives rgb555le)
        raise ValueError(f"PyAV cannot make a {pix_fmt} frame")
    with np.errstate(over="ignore"):  # beyond half's range: inf, as the format holds it
        values = samples.astype(dtype)

    def fill(index: int, array: np.ndarray) -> None:  # (H, W * k) into a plane, padded to its line size
        plane = frame.planes[index]
        padded = np.zeros((plane.height, plane.line_size // dtype.itemsize), dtype=dtype)
        padded[:height, : array.shape[1]] = array
        plane.update(padded.tobytes())

    if packed:
        fill(0, values.reshape(height, width * channels))
    else:
        for channel, index in enumerate(planes):
            fill(index, values[..., channel])
    return frame


def float_to_float(frame, pix_fmt: str):
    """A floating-point frame in another floating-point format, its samples kept where the
    target holds them: grey repeated over R, G, B (exact), colour to grey as the mean (three equal
    planes exactly as their grey), an alpha
    the target lacks dropped, one it has and the frame lacks opaque; half rounds to nearest."""
    samples = float_samples(frame)  # (H, W, C)
    colour, alpha = (samples[..., :-1], samples[..., -1:]) if samples.shape[2] in (2, 4) else (samples, None)
    wanted = len(_layout(pix_fmt)[1])
    if wanted in (1, 2) and colour.shape[2] == 3:
        bits = colour.view(np.uint32)
        equal = np.array_equal(bits[..., 0], bits[..., 1]) and np.array_equal(bits[..., 0], bits[..., 2])
        colour = colour[..., :1] if equal else colour.mean(axis=2, keepdims=True)  # a grey kept as three planes: exact
    else:
        colour = colour if colour.shape[2] == 3 else colour.repeat(3, axis=2)
    parts = [colour]
    if wanted in (2, 4):
        parts.append(alpha if alpha is not None else np.ones_like(colour[..., :1]))
    return float_frame(np.concatenate(parts, axis=2), pix_fmt)


def same_samples(a, b) -> bool:
    """Whether two floating-point frames hold the same samples bit for bit, half compared as its
    exact widening to float, grey against three equal planes (and an opaque alpha against none)."""
    x, y = float_samples(a), float_samples(b)
    x, y = _comparable(x, y.shape[2]), _comparable(y, x.shape[2])
    return x.shape == y.shape and np.array_equal(x.view(np.uint32), y.view(np.uint32))


def _comparable(samples: np.ndarray, other_channels: int) -> np.ndarray:
    """``samples`` laid out as the other frame's (grey repeated; an alpha the other lacks dropped
    only where it is 1 everywhere)."""
    channels = samples.shape[2]
    if channels == other_channels:
        return samples
    colour, alpha = (samples[..., :-1], samples[..., -1:]) if channels in (2, 4) else (samples, None)
    if alpha is not None and other_channels in (1, 3) and not np.all(alpha == 1):
        return samples  # a real alpha: no match
    if colour.shape[2] == 1 and other_channels in (3, 4):
        colour = colour.repeat(3, axis=2)
    if other_channels in (2, 4):
        return np.concatenate([colour, alpha if alpha is not None else np.ones_like(colour[..., :1])], axis=2)
    return colour


EXR_ENCODER_FORMATS = ("grayf32le", "gbrpf32le", "gbrapf32le")  # what FFmpeg's EXR encoder takes


def exr_image(frame, grey: bool = False):
    """(an av.VideoFrame FFmpeg's EXR encoder takes, whether to store it as half) for a
    floating-point ``frame``: its samples widened to float exactly (half goes back to half as it
    is stored), grey + alpha as RGBA with the grey in R, G and B; ``grey``: three equal planes
    written as one (exactly, :func:`float_to_float`)."""
    channels = 1 if grey else len(_layout(frame.format.name)[1])
    pix_fmt = {1: "grayf32le", 2: "gbrapf32le", 3: "gbrpf32le", 4: "gbrapf32le"}[channels]
    half = "f16" in frame.format.name
    return (frame if frame.format.name == pix_fmt else float_to_float(frame, pix_fmt)), half


def exr_file_bytes(frame, compression: str = "zip1", grey: bool = False, half: bool | None = None) -> bytes:
    """One OpenEXR file (ZIPS: lossless, one scan line per block) of a floating-point ``frame``
    (:func:`exr_image`); ``half``: store half samples (default: where ``frame`` holds half)."""
    import av

    image, stored_half = exr_image(frame, grey)
    half = stored_half if half is None else half
    context = av.CodecContext.create("exr", "w")
    context.width, context.height, context.pix_fmt = image.width, image.height, image.format.name
    context.options = {"compression": compression, "format": "half" if half else "float"}
    return b"".join(bytes(packet) for packet in [*context.encode(image), *context.encode(None)])


def to_display(linear: np.ndarray) -> np.ndarray:
    """Scene-linear samples -> display values in [0, 1] (module doc), float32, same shape."""
    v = np.nan_to_num(np.asarray(linear, dtype=np.float32), nan=0.0, posinf=HALF_MAX, neginf=0.0)
    v = np.clip(v, 0.0, HALF_MAX)
    return (v / (1.0 + v)) ** np.float32(1.0 / GAMMA)


def from_display(display: np.ndarray) -> np.ndarray:
    """Display values in [0, 1] -> scene-linear samples (the inverse of :func:`to_display`), float32,
    at most ``HALF_MAX``."""
    t = np.clip(np.asarray(display, dtype=np.float64), 0.0, 1.0) ** GAMMA
    t = np.minimum(t, _TOP)
    return (t / (1.0 - t)).astype(np.float32)


def display_rgb(frame, dtype=np.uint16) -> np.ndarray:
    """(H, W, 3) RGB of a floating-point frame through :func:`to_display`, as uint16 (what the
    model sees) or uint8 (what duplicate detection measures); grey repeated over R, G, B."""
    samples = float_samples(frame)
    colour = samples[..., :1].repeat(3, axis=2) if samples.shape[2] <= 2 else samples[..., :3]  # Y(A) or RGB(A)
    scale = 255.0 if dtype == np.uint8 else 65535.0
    return np.round(to_display(colour) * scale).astype(dtype)


def alpha_of(frame) -> np.ndarray | None:
    """(H, W) uint16 alpha of a floating-point frame (clipped to [0, 1]), or None without one."""
    samples = float_samples(frame)
    if samples.shape[2] not in (2, 4):
        return None
    return np.round(np.clip(np.nan_to_num(samples[..., -1]), 0.0, 1.0) * 65535.0).astype(np.uint16)


def frame_from_display(rgb: np.ndarray, pix_fmt: str, alpha: np.ndarray | None = None):
    """A frame in the floating-point format ``pix_fmt`` from (H, W, 3) display RGB (uint16 or
    uint8, the model's) and its (H, W) alpha: :func:`from_display`, grey as the mean of R, G, B."""
    scale = 255.0 if rgb.dtype == np.uint8 else 65535.0
    linear = from_display(rgb.astype(np.float32) / scale)  # (H, W, 3)
    channels = len(_layout(pix_fmt)[1])
    grey = channels in (1, 2)
    parts = [linear.mean(axis=2, keepdims=True)] if grey else [linear]
    if channels in (2, 4):
        a = np.full(rgb.shape[:2], 65535, np.uint16) if alpha is None else alpha
        parts.append((a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 65535.0))[..., None])
    return float_frame(np.concatenate(parts, axis=2), pix_fmt)


# --------------------------------------------------------------------------------------------
# OpenEXR headers: is the compression lossless?

#: OpenEXR compression codes (OpenEXR file layout, "compression" attribute)
EXR_COMPRESSION = {0: "none", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44", 7: "B44A", 8: "DWAA", 9: "DWAB"}
_EXR_LOSSLESS = {0, 1, 2, 3, 4}
_EXR_FLOAT_CHANNEL = 2  # pixel type of a channel: 0 UINT, 1 HALF, 2 FLOAT
EXR_MAGIC = b"\x76\x2f\x31\x01"
#: TIFF's SampleFormat tag value of IEEE floating-point samples
TIFF_FLOAT_SAMPLES = 3


def exr_header(path: str | os.PathLike) -> dict:
    """The attributes of an OpenEXR file's (first part's) header that say how it is compressed:
    ``compression`` (a code of EXR_COMPRESSION) and ``channel_types`` (name -> 0 UINT, 1 HALF,
    2 FLOAT). ValueError if it is not an OpenEXR file or its header is cut short."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    if data[:4] != EXR_MAGIC:
        raise ValueError(f"{path} is not an OpenEXR file")
    long_names = bool(struct.unpack_from("<I", data, 4)[0] & 0x400)
    position, found = 8, {}
    limit = 255 if long_names else 31

    def text(at: int) -> tuple[str, int]:
        end = data.index(b"\x00", at)
        if end - at > limit:
            raise ValueError(f"{path}: an OpenEXR attribute name is too long")
        return data[at:end].decode("latin-1"), end + 1

    try:
        while True:
            name, position = text(position)
            if not name:  # the header's end
                break
            kind, position = text(position)
            (size,) = struct.unpack_from("<i", data, position)
            position += 4
            value = data[position : position + size]
            if size < 0 or len(value) != size:
                raise ValueError(f"{path}: an OpenEXR header attribute runs past what was read")
            position += size
            if name == "compression" and kind == "compression":
                found["compression"] = value[0]
            elif name == "channels" and kind == "chlist":
                channels, at = {}, 0
                while at < len(value) and value[at] != 0:
                    end = value.index(b"\x00", at)
                    (pixel_type,) = struct.unpack_from("<i", value, end + 1)
                    channels[value[at:end].decode("latin-1")] = pixel_type
                    at = end + 1 + 16  # pixel type, pLinear + 3 reserved, x and y sampling
                found["channel_types"] = channels
    except (ValueError, struct.error, IndexError) as error:
        raise ValueError(f"{path}: unreadable OpenEXR header ({error})") from None
    if "compression" not in found:
        raise ValueError(f"{path}: its OpenEXR header names no compression")
    return found


def exr_is_lossless(path: str | os.PathLike) -> bool:
    """Whether an OpenEXR file stores its samples exactly: no compression, RLE, ZIP(S) or PIZ;
    PXR24 only where no channel is 32-bit float (it rounds those to 24 bits); B44(A) and DWA(A/B)
    are lossy. An unreadable header counts as lossy (the output is then re-encoded, not promised
    bit-identical)."""
    try:
        header = exr_header(path)
    except (OSError, ValueError):
        return False
    code = header["compression"]
    if code == 5:
        return _EXR_FLOAT_CHANNEL not in header.get("channel_types", {}).values()
    return code in _EXR_LOSSLESS


def tiff_float_layout(path: str | os.PathLike) -> tuple[int, int] | None:
    """(bits per sample, samples per pixel) of a TIFF's first image when its samples are
    floating-point (SampleFormat 3); None for integers, or for a file ``tifffile`` cannot read.
    FFmpeg's TIFF decoder reads 32-bit float RGB(A), reads half as 16-bit integers and reads no
    floating-point grey: FFmpeg's reader refuses the latter two (:func:`nlvfi.videoio.probe`), and
    the tools read them with ``tifffile`` (a pair: nlvfi.io; numbered images: nlvfi.staged_images)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            if page.sampleformat != TIFF_FLOAT_SAMPLES:
                return None
            return int(page.bitspersample), int(page.samplesperpixel)
    except (tifffile.TiffFileError, ValueError, OSError, IndexError):
        return None


def tiff_file_bytes(samples: np.ndarray) -> bytes:
    """One floating-point TIFF (deflate, lossless) of (H, W, C) float16 or float32 ``samples``:
    grey, grey + alpha, RGB or RGBA (C = 1 to 4; alpha unassociated), as ``tifffile`` writes it."""
    import io

    import tifffile

    channels = samples.shape[2]
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, samples[..., 0] if channels == 1 else samples, photometric="minisblack" if channels <= 2 else "rgb",
        compression="zlib", extrasamples=["unassalpha"] if channels in (2, 4) else None,
    )  # fmt: skip
    return buffer.getvalue()


def first_file(path: str | os.PathLike) -> Path:
    """The file a (possibly numbered-image) input ``path`` starts with."""
    from .videoio import is_image_pattern, sequence_first_number

    path = Path(path)
    if is_image_pattern(path):
        return path.parent / (path.name % (sequence_first_number(path) or 0))
    return path
