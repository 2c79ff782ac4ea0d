"""Baselines every table compares against, measured in the same run as nlvfi.

- repeat the previous frame;
- average the two frames;
- classical optical flow: OpenCV DIS flow both ways, each frame warped to time t, blended
  (optional: needs ``opencv-python-headless``; ``dis_available()`` says whether it is there).

The DIS baseline approximates the flows from time t with the linear-motion formulas of
Super SloMo (Jiang et al., 2018): F_{t->0} = -(1-t) t F_{0->1} + t^2 F_{1->0} and
F_{t->1} = (1-t)^2 F_{0->1} - t (1-t) F_{1->0}, then blends
(1-t) I_0(x + F_{t->0}) + t I_1(x + F_{t->1}).
"""

from __future__ import annotations

import numpy as np
import torch

from .warping import backward_warp


def repeat_previous(prev: torch.Tensor, next: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    return prev.clone()


def average(prev: torch.Tensor, next: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """(1 - t) prev + t next: at t = 0.5 the plain average."""
    return (1 - t) * prev + t * next


def dis_available() -> bool:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def dis_flow(image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
    """OpenCV DIS flow (preset MEDIUM) image1 -> image2, (B, 2, H, W) in pixels (dx, dy)."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flows = []
    for a, b in zip(image1, image2):
        gray = [cv2.cvtColor((x.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8), cv2.COLOR_RGB2GRAY) for x in (a, b)]
        flows.append(torch.from_numpy(dis.calc(gray[0], gray[1], None)).permute(2, 0, 1))  # (2, H, W)
    return torch.stack(flows).to(image1.device, image1.dtype)


def dis_interpolate(prev: torch.Tensor, next: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """Classical baseline: DIS flow both ways, warp each frame to t, blend (see module doc)."""
    forward = dis_flow(prev, next)  # (B, 2, H, W) F_{0->1}
    backward = dis_flow(next, prev)  # F_{1->0}
    to_prev = -(1 - t) * t * forward + t * t * backward
    to_next = (1 - t) ** 2 * forward - t * (1 - t) * backward
    return (1 - t) * backward_warp(prev, to_prev) + t * backward_warp(next, to_next)
