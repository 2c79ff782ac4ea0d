"""Reading and writing frames as images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import atomic_write


def read_frame(path: str | Path) -> torch.Tensor:
    """An image file -> (1, 3, H, W) float in [0, 1]. Grayscale and alpha are converted to RGB."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image: {path}")
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except OSError as error:
        raise ValueError(f"{path} is not a readable image: {error}") from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def write_frame(frame: torch.Tensor, path: str | Path) -> None:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> 8-bit image file, written atomically."""
    if frame.dim() == 4:
        frame = frame[0]
    array = (frame.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    suffix = Path(path).suffix.lstrip(".") or "png"
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="JPEG" if suffix.lower() in ("jpg", "jpeg") else suffix.upper()))
