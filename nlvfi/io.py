"""Reading and writing frames as images, keeping what they hold: grey or colour, 8 or 16 bits, alpha.

``nlvfi interpolate PREV NEXT -o MID`` reads two images and writes the one between them. The
generator sees RGB in [0, 1]; around it, an image keeps what it is (:class:`ImageKind`):

* grey stays grey (8-bit ``L``, 16-bit ``I;16``): the model saw the grey in all of R, G, B, and
  its three channels differ only by what it made of them, so the grey written is their mean;
* 16 bits stay 16 bits: 8 would throw away the 256 levels between two 8-bit ones. PIL reads
  16-bit grey (modes ``I;16``, ``I;16B``, ..., and ``I``, its 32-bit integer mode, which TIFF and
  older PILs use for 16-bit grey) but clips it to 255 in ``convert("RGB")`` (a pair came out
  almost white), and it reads a 16-bit colour PNG as 8 bits: those are read by FFmpeg
  (PyAV's PNG decoder) instead, and written by its PNG encoder, as is 16-bit grey with alpha
  (:func:`grey_alpha_png_bytes`; a TIFF of it is written as 16-bit RGBA);
* alpha stays (RGBA, grey + alpha, a palette with transparency): the new frame's alpha is the
  blend of its neighbours', ``(1 - t) a_prev + t a_next`` (an image without alpha counts as
  opaque), as ``nlvfi repair`` and ``interpolate --factor`` make it for video with alpha.

A pair of two kinds gives the richer of what both hold: colour if either is colour, 16 bits only
if both are, alpha if either has it. Where the output format cannot hold it, it is written as
that format can: JPEG and BMP hold 8-bit colour or grey without alpha; 16 bits go to PNG and
TIFF. Float (``F``) images other than TIFF and 32-bit integers beyond 16 bits have no full
scale we can know: refused in one line (ValueError).

OpenEXR images, floating-point TIFFs and Radiance ``.hdr`` images hold scene-linear light, half or float, with no full
scale either, but a known meaning: they are read exactly (TIFF with ``tifffile``: FFmpeg reads no
grey float TIFF and reads a half one as 16-bit integers) and shown to the generator through the
invertible tone curve of :mod:`nlvfi.float_frames`; the frame between two of them goes back
through its inverse into an ``.exr`` (ZIP-compressed, lossless) or a floating-point ``.tif``
(deflate, lossless), half when both inputs are half, else float, grey and alpha kept. Before, a
float colour TIFF went through FFmpeg and came out as a 16-bit TIFF of the tone curve's display
values, not of the input's light. Such a frame has no place in a display format, nor a display
image in an EXR: a pair that mixes them, or a floating-point pair written to ``.png``, is refused
(ValueError).

Portable float maps (``.pfm``, grey or RGB float, :mod:`nlvfi.pfm`) hold floating-point samples
too and are read and written the same way, in numpy (PIL reads a grey one as mode ``F``, of no
known scale; FFmpeg's PFM coder did not give a test image's samples back). The frame between two
of them keeps their unit (the header's scale); a pair in two units is refused. PFM holds no
alpha: the frame is written without it, as to JPEG.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import atomic_write
from .float_frames import (
    EXR_MAGIC, TIFF_FLOAT_SAMPLES, exr_file_bytes, float_samples, frame_from_display, from_display, tiff_file_bytes, to_display,
)  # fmt: skip
from .pfm import is_pfm, pfm_file_bytes, read_pfm
from .videoio import frame_alpha, frame_to_rgb, pixel_traits, rgb_to_frame, rgb_to_tensor, tensor_to_rgb

#: PIL modes of 16-bit grey images (PNG, TIFF, PGM), read by :func:`read_picture` at their scale
GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
#: output formats that hold 16 bits (:func:`write_picture`); JPEG, BMP and WebP hold 8
DEEP_SUFFIXES = (".png", ".tif", ".tiff")
#: output formats that hold alpha; JPEG and BMP (as PIL writes it) do not
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")
#: output formats that hold floating-point samples: the frame between two floating-point images
FLOAT_SUFFIXES = (".exr", ".tif", ".tiff", ".pfm")
#: PNG colour types (IHDR) that PIL reads as 8 bits when they are 16: grey + alpha, RGB, RGBA
_PNG_DEEP_COLOUR_TYPES = (2, 4, 6)


@dataclass(frozen=True)
class ImageKind:
    """What an image holds besides its picture: grey (one channel), 16 bits, alpha."""

    grey: bool = False
    deep: bool = False
    alpha: bool = False
    linear: bool = False  # OpenEXR, float TIFF: scene-linear floating point (module doc)
    half: bool = False  # ... stored as 16-bit half
    pfm_scale: float = 1.0  # the unit of a PFM image's samples (nlvfi.pfm); 1 for every other image

    def with_(self, other: "ImageKind") -> "ImageKind":
        """The kind a frame between an image of this kind and one of ``other`` is written in;
        ValueError for a floating-point image (OpenEXR, float TIFF) paired with a display image (module doc)."""
        if self.linear != other.linear:
            raise ValueError(
                "a floating-point image (OpenEXR, float TIFF: scene-linear light) and a display image (PNG, 8- or 16-bit TIFF, "
                "JPEG, ...) make no pair; convert one first"
            )
        if self.pfm_scale != other.pfm_scale:
            raise ValueError(
                f"the two images' samples are in different units (PFM scale {self.pfm_scale:g} and {other.pfm_scale:g}); "
                "bring them to one first"
            )
        return ImageKind(
            self.grey and other.grey, self.deep and other.deep, self.alpha or other.alpha, self.linear, self.half and other.half,
            self.pfm_scale,
        )

    def check_output(self, path: str | Path) -> None:
        """ValueError when ``path``'s format cannot hold a frame of this kind: a floating-point
        frame outside ``.exr``, ``.tif`` and ``.pfm``, or a display frame in an ``.exr`` or ``.pfm`` (module doc)."""
        suffix = Path(path).suffix.lower()
        if self.linear and suffix not in FLOAT_SUFFIXES:
            raise ValueError(
                f"output {path}: a frame between two floating-point images (OpenEXR, float TIFF, PFM) holds scene-linear light; "
                "write it as .exr, .tif or .pfm"
            )
        if suffix == ".exr" and not self.linear:
            raise ValueError(f"output {path}: an .exr holds scene-linear light, which only a pair of OpenEXR images gives")
        if suffix == ".pfm" and not self.linear:
            raise ValueError(
                f"output {path}: a .pfm holds floating-point samples, which only a pair of floating-point images "
                "(PFM, OpenEXR, float TIFF) gives"
            )


@dataclass
class Picture:
    """An image read by :func:`read_picture`: ``frame`` (1, 3, H, W) float in [0, 1] (what the
    generator sees), its ``kind``, and its ``alpha`` (H, W) float in [0, 1] (None without)."""

    frame: torch.Tensor
    kind: ImageKind
    alpha: np.ndarray | None = None


def _png_deep_colour(path: Path) -> bool:
    """Whether ``path`` is a PNG of 16-bit colour, or grey with alpha (PIL reads those as 8 bits)."""
    with open(path, "rb") as file:
        head = file.read(26)  # signature (8), IHDR length and type (8), width, height (8), depth, colour type
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 26 and head[24] == 16 and head[25] in _PNG_DEEP_COLOUR_TYPES


def _decoded_image(path: Path, quiet: bool = False):
    """The one frame (av.VideoFrame) of an image file, through FFmpeg's decoder; ValueError in one
    line (``quiet``: None instead)."""
    import av

    try:
        with av.open(str(path)) as container:
            return next(container.decode(video=0))
    except (av.FFmpegError, StopIteration) as error:
        if quiet:
            return None
        raise ValueError(f"{path} is not a readable image: {error}") from None


def _read_with_ffmpeg(path: Path, frame=None) -> Picture:
    """An image through FFmpeg's decoder, at its full depth (a 16-bit colour or grey + alpha PNG,
    a 16-bit TIFF, a DPX: PIL reads the first two as 8 bits, the third not at all)."""
    frame = _decoded_image(path) if frame is None else frame
    traits = pixel_traits(frame.format.name)
    rgb = frame_to_rgb(frame, traits)  # (H, W, 3) uint8 or uint16
    alpha = frame_alpha(frame, traits)  # (H, W) or None
    scale = 255.0 if rgb.dtype == np.uint8 else 65535.0
    kind = ImageKind(grey=traits.is_gray, deep=traits.bit_depth > 8, alpha=alpha is not None)
    return Picture(rgb_to_tensor(np.ascontiguousarray(rgb)), kind, None if alpha is None else alpha.astype(np.float64) / scale)


def _is_exr(path: Path) -> bool:
    """Whether ``path`` starts with OpenEXR's magic number."""
    with open(path, "rb") as file:
        return file.read(4) == EXR_MAGIC


def _read_exr(path: Path) -> Picture:
    """An OpenEXR (or Radiance RGBE ``.hdr``) image through FFmpeg's decoder, its samples exact,
    shown through the tone curve."""
    frame = _decoded_image(path)
    return _linear_picture(float_samples(frame), half="f16" in frame.format.name)  # FFmpeg decodes half channels as half


def _linear_picture(samples: np.ndarray, half: bool) -> Picture:
    """A :class:`Picture` of (H, W, C) scene-linear samples (Y, YA, RGB or RGBA), shown to the
    generator through the tone curve (module doc)."""
    channels = samples.shape[2]
    colour = samples[..., :1].repeat(3, axis=2) if channels <= 2 else samples[..., :3]  # (H, W, 3)
    picture = rgb_to_tensor(np.round(to_display(colour) * 65535.0).astype(np.uint16))  # (1, 3, H, W)
    alpha = np.clip(np.nan_to_num(samples[..., -1]), 0, 1).astype(np.float64) if channels in (2, 4) else None
    kind = ImageKind(grey=channels in (1, 2), deep=True, alpha=alpha is not None, linear=True, half=half)
    return Picture(picture, kind, alpha)


def float_tiff_samples(path: Path) -> tuple[np.ndarray, bool] | None:
    """((H, W, C) float32 samples, whether stored as half) of a floating-point TIFF's first
    image, read exactly with ``tifffile``; None for a TIFF of integers, or one ``tifffile`` cannot
    read (FFmpeg and PIL try it then, as before). ValueError in one line for a floating-point
    layout it cannot take (more than 4 samples a pixel)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            if page.sampleformat != TIFF_FLOAT_SAMPLES:
                return None
            samples = page.asarray()
            axes = page.axes
    except (tifffile.TiffFileError, ValueError, OSError, IndexError):
        return None
    if "S" in axes:  # samples of a pixel: last, whatever the planar configuration
        samples = np.moveaxis(samples, axes.index("S"), -1)
    if samples.ndim == 2:
        samples = samples[..., None]  # (H, W, 1)
    if samples.ndim != 3 or samples.shape[2] > 4:
        raise ValueError(f"{path} is a floating-point TIFF of shape {samples.shape} ({axes}); nlvfi reads 1 to 4 samples a pixel")
    return samples.astype(np.float32), samples.dtype == np.float16


def float_tiff_bytes(frame: torch.Tensor, kind: ImageKind, alpha: np.ndarray | None) -> bytes:
    """A floating-point TIFF (deflate, lossless) of a (3, H, W) display frame in [0, 1] taken back
    to scene-linear light (:func:`nlvfi.float_frames.from_display`), grey and alpha as ``kind``
    says; half when ``kind.half``."""
    display = frame.mean(0, keepdim=True) if kind.grey else frame  # the model's three channels differ by noise: their mean
    linear = from_display(tensor_to_rgb(display, np.uint16).astype(np.float32) / 65535.0)  # (H, W, 1 or 3)
    if kind.alpha and alpha is not None:
        linear = np.concatenate([linear, np.clip(alpha, 0, 1).astype(np.float32)[..., None]], axis=2)
    return tiff_file_bytes(linear.astype(np.float16 if kind.half else np.float32))


def pfm_bytes(frame: torch.Tensor, kind: ImageKind, alpha: np.ndarray | None = None) -> bytes:
    """A PFM file (:mod:`nlvfi.pfm`) of a (3, H, W) display frame in [0, 1] taken back to
    scene-linear light, grey as ``kind`` says, in its unit (``kind.pfm_scale``); PFM holds no alpha."""
    display = frame.mean(0, keepdim=True) if kind.grey else frame  # the model's three channels differ by noise: their mean
    linear = from_display(tensor_to_rgb(display, np.uint16).astype(np.float32) / 65535.0)  # (H, W, 1 or 3)
    return pfm_file_bytes(linear.astype(np.float32), kind.pfm_scale)


def read_picture(path: str | Path) -> Picture:
    """An image file -> :class:`Picture`: its RGB for the generator, its kind, its alpha
    (module doc). FileNotFoundError, or ValueError in one line for what cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image: {path}")
    if is_pfm(path):  # portable float map: read in numpy (module doc)
        image = read_pfm(path)
        picture = _linear_picture(image.samples, half=False)
        return replace(picture, kind=replace(picture.kind, pfm_scale=image.scale))
    if _is_exr(path) or path.suffix.lower() == ".hdr":  # OpenEXR, Radiance RGBE: floating point through FFmpeg
        return _read_exr(path)
    if _png_deep_colour(path) or path.suffix.lower() == ".dpx":
        return _read_with_ffmpeg(path)
    if path.suffix.lower() in (".tif", ".tiff"):  # PIL reads 16-bit colour TIFF as 8 bits
        floating = float_tiff_samples(path)
        if floating is not None:
            return _linear_picture(*floating)
        frame = _decoded_image(path, quiet=True)
        if frame is not None and pixel_traits(frame.format.name).bit_depth > 8:
            return _read_with_ffmpeg(path, frame)
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode == "F":
                raise ValueError(f"{path} is a 32-bit float image (PIL mode F) of unknown full scale; save it as 8- or 16-bit")
            if mode in GREY16_MODES or mode == "I":
                grey = np.asarray(image).astype(np.int64)  # (H, W)
            else:
                transparent = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
                is_grey = mode in ("1", "L", "LA", "La") or (mode == "P" and _palette_is_grey(image))
                rgba = np.asarray(image.convert("RGBA"))  # (H, W, 4) uint8
                alpha = rgba[..., 3].astype(np.float64) / 255 if transparent else None
                kind = ImageKind(grey=is_grey, deep=False, alpha=transparent)
                return Picture(rgb_to_tensor(np.ascontiguousarray(rgba[..., :3])), kind, alpha)  # (1, 3, H, W)
    except OSError as error:
        raise ValueError(f"{path} is not a readable image: {error}") from None
    low, high = int(grey.min()), int(grey.max())
    if low < 0 or high > 65535:
        raise ValueError(f"{path} holds 32-bit integers ({low} to {high}), beyond 16 bits; save it as an 8- or 16-bit image")
    frame = rgb_to_tensor(np.repeat(grey.astype(np.uint16)[..., None], 3, axis=2))  # (1, 3, H, W)
    return Picture(frame, ImageKind(grey=True, deep=True))


def _palette_is_grey(image: Image.Image) -> bool:
    """Whether every colour of a palette image's palette is a grey (R = G = B)."""
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)
    return len(palette) > 0 and bool((palette == palette[:, :1]).all())


def read_frame(path: str | Path) -> torch.Tensor:
    """An image file -> (1, 3, H, W) float in [0, 1] (:func:`read_picture`'s RGB alone)."""
    return read_picture(path).frame


def blend_alpha(before: Picture, after: Picture, t: float) -> np.ndarray | None:
    """(H, W) alpha of the frame at time ``t`` between two pictures: ``(1 - t) a + t b``, an
    image without alpha counting as opaque; None when neither has alpha."""
    if before.alpha is None and after.alpha is None:
        return None
    shape = before.frame.shape[-2:]
    a = before.alpha if before.alpha is not None else np.ones(shape)
    b = after.alpha if after.alpha is not None else np.ones(shape)
    return (1 - t) * a + t * b


def write_picture(frame: torch.Tensor, path: str | Path, kind: ImageKind = ImageKind(), alpha: np.ndarray | None = None) -> None:
    """(1, 3, H, W) or (3, H, W) in [0, 1] (and its (H, W) alpha in [0, 1]) -> image file, written
    atomically, as ``kind`` says where the format holds it (module doc)."""
    if frame.dim() == 4:
        frame = frame[0]
    path = Path(path)
    kind.check_output(path)
    if kind.linear:
        encode = {".exr": exr_bytes, ".pfm": pfm_bytes}.get(path.suffix.lower(), float_tiff_bytes)
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(encode(frame, kind, alpha)))
        return
    suffix = path.suffix.lower()
    deep = kind.deep and suffix in DEEP_SUFFIXES
    keep_alpha = kind.alpha and alpha is not None and suffix in ALPHA_SUFFIXES
    name = suffix.lstrip(".") or "png"
    pil_format = {"jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF"}.get(name, name.upper())
    dtype, scale = (np.uint16, 65535) if deep else (np.uint8, 255)
    alpha_samples = np.round(np.clip(alpha, 0, 1) * scale).astype(dtype) if keep_alpha else None  # (H, W)
    if kind.grey and deep and keep_alpha and suffix == ".png":  # 16-bit grey + alpha: FFmpeg's PNG encoder
        grey = tensor_to_rgb(frame.mean(0, keepdim=True), dtype)[..., 0]  # (H, W) uint16
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(grey_alpha_png_bytes(grey, alpha_samples)))
        return
    if kind.grey and not (deep and keep_alpha):  # grey (8 or 16 bits), grey + alpha (8 bits)
        grey = tensor_to_rgb(frame.mean(0, keepdim=True), dtype)[..., 0]  # (H, W)
        if alpha_samples is not None:
            image = Image.fromarray(np.stack([grey, alpha_samples], axis=2), "LA")
        else:
            image = Image.fromarray(grey)  # L, or I;16
        atomic_write(path, lambda tmp: image.save(tmp, format=pil_format))
        return
    rgb = tensor_to_rgb(frame, dtype)  # (H, W, 3)
    if deep:  # PIL writes no 16-bit colour PNG or TIFF: FFmpeg's encoders do
        codec, order = ("png", "be") if suffix == ".png" else ("tiff", "le")
        pix_fmt = f"{'rgba64' if alpha_samples is not None else 'rgb48'}{order}"
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(_encoded(rgb, alpha_samples, codec, pix_fmt)))
        return
    image = Image.fromarray(np.concatenate([rgb, alpha_samples[..., None]], axis=2) if alpha_samples is not None else rgb)
    atomic_write(path, lambda tmp: image.save(tmp, format=pil_format))


def exr_bytes(frame: torch.Tensor, kind: ImageKind, alpha: np.ndarray | None) -> bytes:
    """An OpenEXR file (ZIPS, lossless) of a (3, H, W) display frame in [0, 1] taken back to
    scene-linear light (:func:`nlvfi.float_frames.from_display`), grey and alpha as ``kind`` says;
    half when ``kind.half``."""
    keep_alpha = kind.alpha and alpha is not None
    if kind.grey:
        frame = frame.mean(0, keepdim=True).expand(3, -1, -1)  # the model's three channels differ by noise: their mean
    rgb = tensor_to_rgb(frame, np.uint16)  # (H, W, 3)
    if keep_alpha:
        pix_fmt = "gbrapf32le"  # the encoder takes no grey + alpha: the grey goes in R, G and B
    else:
        pix_fmt = "grayf32le" if kind.grey else "gbrpf32le"
    alpha16 = np.round(np.clip(alpha, 0, 1) * 65535).astype(np.uint16) if keep_alpha else None
    return exr_file_bytes(frame_from_display(rgb, pix_fmt, alpha16), half=kind.half)  # half: the encoder rounds


def png_bytes(rgb: np.ndarray, alpha: np.ndarray | None) -> bytes:
    """A 16-bit PNG file of (H, W, 3) uint16 ``rgb`` (and (H, W) ``alpha``)."""
    return _encoded(rgb, alpha, "png", "rgba64be" if alpha is not None else "rgb48be")


def grey_alpha_png_bytes(grey: np.ndarray, alpha: np.ndarray) -> bytes:
    """A PNG file of 16-bit grey + alpha (colour type 4): (H, W) uint16 ``grey`` and ``alpha``.
    PIL writes no such PNG, and PyAV builds no ``ya16be`` frame from an array, so the packed
    samples go into the frame's plane row by row (its rows may be padded). Before, such a pair's
    frame was written as 16-bit RGBA: the same samples, three times the grey."""
    import av

    height, width = grey.shape
    frame = av.VideoFrame(width, height, "ya16be")
    plane = frame.planes[0]
    rows = np.zeros((height, plane.line_size), np.uint8)  # (H, line size)
    rows[:, : width * 4] = np.stack([grey, alpha], axis=2).astype(">u2").view(np.uint8).reshape(height, width * 4)
    plane.update(rows.tobytes())
    return _encoded_frame(frame, "png")


def _encoded(rgb: np.ndarray, alpha: np.ndarray | None, codec: str, pix_fmt: str) -> bytes:
    """One image file's bytes from FFmpeg's ``codec`` encoder (png, tiff) in ``pix_fmt``."""
    return _encoded_frame(rgb_to_frame(rgb, pix_fmt, alpha), codec)


def _encoded_frame(frame, codec: str) -> bytes:
    """One image file's bytes: the av.VideoFrame ``frame`` through FFmpeg's ``codec`` encoder, in its own format."""
    import av

    context = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = frame.width, frame.height, frame.format.name
    return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)])


def write_frame(frame: torch.Tensor, path: str | Path, grey16: bool = False) -> None:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> image file, written atomically: 8-bit RGB, or 16-bit
    grey when ``grey16`` and the format holds it (:func:`write_picture`)."""
    write_picture(frame, path, ImageKind(grey=True, deep=True) if grey16 else ImageKind())
