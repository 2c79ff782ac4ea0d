"""Pictures of the intermediates: flows as colours, depth, kernels, attention rows.

Plain functions returning numpy arrays or drawing on a given matplotlib axis, so notebooks,
the tour and the widgets all share one implementation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def to_image(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, 3, H, W) float in [0, 1] -> (H, W, 3) float numpy for imshow."""
    if frame.dim() == 4:
        frame = frame[0]
    return frame.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def flow_to_rgb(flow: torch.Tensor, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a flow (2, H, W) or (1, 2, H, W): hue = direction, saturation = speed.

    White is still; a full colour moves ``max_magnitude`` pixels (default: the 99th
    percentile of the speeds, so one outlier does not wash the picture out).
    Returns (H, W, 3) in [0, 1].
    """
    from matplotlib.colors import hsv_to_rgb

    if flow.dim() == 4:
        flow = flow[0]
    dx, dy = flow.detach().float().cpu().numpy()
    magnitude = np.hypot(dx, dy)
    if max_magnitude is None:
        max_magnitude = float(np.percentile(magnitude, 99)) or 1.0
    hue = (np.arctan2(-dy, -dx) / (2 * np.pi) + 0.5) % 1.0
    saturation = np.clip(magnitude / max_magnitude, 0, 1)
    return hsv_to_rgb(np.stack((hue, saturation, np.ones_like(hue)), axis=-1))


def flow_colour_wheel(size: int = 65) -> np.ndarray:
    """The legend of ``flow_to_rgb``: each pixel coloured by its offset from the centre."""
    radius = size // 2
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32)
    flow = torch.from_numpy(np.stack((xs, ys)))
    wheel = flow_to_rgb(flow, max_magnitude=float(radius))
    wheel[np.hypot(xs, ys) > radius] = 1.0
    return wheel


def kernel_summary(kernel: torch.Tensor) -> np.ndarray:
    """How far each pixel's 4x4 kernel is from plain bilinear sampling, (H, W).

    ``kernel`` is (16, H, W) or (1, 16, H, W). The bilinear kernel has ones on the central
    2x2; the map shows the L1 distance to it, large where the network reshapes sampling.
    """
    if kernel.dim() == 4:
        kernel = kernel[0]
    bilinear = torch.zeros(16, 1, 1, dtype=kernel.dtype, device=kernel.device)
    bilinear[[5, 6, 9, 10]] = 1.0
    return (kernel.detach() - bilinear).abs().sum(0).float().cpu().numpy()


def attention_row(
    weights: torch.Tensor, query_yx: tuple[int, int], image_size: tuple[int, int], stride: int = 16
) -> np.ndarray:
    """Where one image position attends, as a (h, w) map on the reduced grid.

    Args:
        weights: (N, N) or (1, N, N) attention weights from ``GeneratorOutput.attention``.
        query_yx: the query pixel in full-resolution (unpadded) image coordinates.
        image_size: (H, W) of the padded input the weights were computed on, i.e. the input
            size rounded up to the model stride.
        stride: downsampling of the attention map (2 ** nonlocal_down_groups).
    """
    if weights.dim() == 3:
        weights = weights[0]
    height, width = image_size[0] // stride, image_size[1] // stride
    if weights.shape != (height * width, height * width):
        raise ValueError(f"weights {tuple(weights.shape)} do not match a {height}x{width} attention grid")
    row = min(query_yx[0] // stride, height - 1) * width + min(query_yx[1] // stride, width - 1)
    return weights[row].detach().float().view(height, width).cpu().numpy()


def padded_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """(H, W) rounded up to a multiple of ``stride``: the size the generator works at."""
    return height + (-height % stride), width + (-width % stride)


def save_figure(figure, path) -> None:
    """Write a matplotlib figure atomically (format from the suffix, 90 dpi), then close it."""
    import matplotlib.pyplot as plt

    from .checkpoint import atomic_write

    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    atomic_write(path, lambda tmp: figure.savefig(tmp, format=suffix, dpi=90))
    plt.close(figure)
