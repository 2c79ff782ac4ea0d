"""Reading and writing frames as images: 8-bit of any PIL mode, and 16-bit grey at its own scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import atomic_write
from .videoio import rgb_to_tensor, tensor_to_rgb

#: PIL modes of 16-bit grey images (PNG, TIFF, PGM), read by :func:`read_image` at their scale
GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
#: output formats PIL writes 16-bit grey to (:func:`write_frame`); JPEG, BMP and WebP hold 8 bits
GREY16_SUFFIXES = (".png", ".tif", ".tiff")


def read_image(path: str | Path) -> tuple[torch.Tensor, bool]:
    """An image file -> (1, 3, H, W) float in [0, 1], and whether it is 16-bit grey.

    Why not PIL's ``convert("RGB")`` for everything: it converts 16-bit grey (modes ``I;16``,
    ``I;16B``, ..., and ``I``, its 32-bit integer mode, which TIFF and older PILs use for 16-bit
    grey) by clipping every value to 255, not by scaling, so such a pair came out almost white.
    Here those values are divided by 65535, as :func:`nlvfi.videoio.rgb_to_tensor` does for
    16-bit video. ``I`` beyond 0-65535 and float (``F``) images have no full scale we can know:
    refused in one line (ValueError). Every other mode (8-bit grey, palette, alpha, CMYK, ...)
    becomes 8-bit RGB, alpha dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image: {path}")
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode == "F":
                raise ValueError(f"{path} is a 32-bit float image (PIL mode F) of unknown full scale; save it as 8- or 16-bit")
            if mode not in GREY16_MODES and mode != "I":
                return rgb_to_tensor(np.asarray(image.convert("RGB"))), False  # (1, 3, H, W)
            grey = np.asarray(image).astype(np.int64)  # (H, W)
    except OSError as error:
        raise ValueError(f"{path} is not a readable image: {error}") from None
    low, high = int(grey.min()), int(grey.max())
    if low < 0 or high > 65535:
        raise ValueError(f"{path} holds 32-bit integers ({low} to {high}), beyond 16 bits; save it as an 8- or 16-bit image")
    return rgb_to_tensor(np.repeat(grey.astype(np.uint16)[..., None], 3, axis=2)), True  # (1, 3, H, W)


def read_frame(path: str | Path) -> torch.Tensor:
    """An image file -> (1, 3, H, W) float in [0, 1] (:func:`read_image` without the depth)."""
    return read_image(path)[0]


def write_frame(frame: torch.Tensor, path: str | Path, grey16: bool = False) -> None:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> image file, written atomically: 8-bit RGB, or 16-bit
    grey (PIL mode ``I;16``) when ``grey16`` (the inputs were 16-bit grey) and the format holds
    it (PNG, TIFF).

    Why: a 16-bit grey pair should give a frame as deep and as grey as its inputs; 8 bits would
    throw away the 256 levels between two 8-bit ones. The model saw the grey in all of R, G, B;
    its three channels differ only by what it made of them, so the grey written is their mean.
    """
    if frame.dim() == 4:
        frame = frame[0]
    suffix = Path(path).suffix.lower()
    if grey16 and suffix in GREY16_SUFFIXES:
        grey = tensor_to_rgb(frame.mean(0, keepdim=True), np.uint16)[..., 0]  # (H, W)
        atomic_write(path, lambda tmp: Image.fromarray(grey).save(tmp, format="PNG" if suffix == ".png" else "TIFF"))
        return
    array = tensor_to_rgb(frame)  # (H, W, 3) uint8
    name = suffix.lstrip(".") or "png"
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="JPEG" if name in ("jpg", "jpeg") else name.upper()))
