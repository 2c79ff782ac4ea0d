"""Image quality metrics: PSNR and SSIM, with the settings stated.

PSNR: 10 log10(1 / MSE) on RGB in [0, 1] (all channels and pixels averaged).
SSIM: scikit-image ``structural_similarity`` with the settings of Wang et al. (2004):
Gaussian weights sigma = 1.5, no sample covariance, data range 1, computed per channel on
RGB and averaged.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 1.0}


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR in dB of one image or a batch averaged as one, inputs in [0, 1]."""
    mse = torch.mean((pred.detach().float().clamp(0, 1) - target.detach().float()) ** 2).item()
    return float("inf") if mse == 0 else 10.0 * float(np.log10(1.0 / mse))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean SSIM of (3, H, W) or (B, 3, H, W) images in [0, 1] (batch: mean of per-image SSIM)."""
    if pred.dim() == 3:
        pred, target = pred.unsqueeze(0), target.unsqueeze(0)
    values = []
    for p, t in zip(pred.detach().float().clamp(0, 1).cpu().numpy(), target.detach().float().cpu().numpy()):
        values.append(structural_similarity(p, t, channel_axis=0, **SSIM_SETTINGS))
    return float(np.mean(values))


def per_image_psnr(pred: torch.Tensor, target: torch.Tensor) -> list[float]:
    """PSNR of each image of a (B, 3, H, W) batch."""
    return [psnr(p, t) for p, t in zip(pred, target)]
