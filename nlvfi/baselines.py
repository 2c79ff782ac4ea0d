"""Baselines every table compares against, measured in the same run as nlvfi.

- repeat the previous frame;
- average the two frames;
- classical optical flow: OpenCV DIS flow both ways, each frame warped to time t, blended
  (optional: needs ``opencv-python-headless``; ``dis_available()`` says whether it is there);
- FFmpeg ``minterpolate`` (mi_mode=mci), run through PyAV's bundled libavfilter, so no
  ffmpeg binary is needed (``minterpolate_available()``).

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


def minterpolate_available() -> bool:
    """Whether FFmpeg's ``minterpolate`` filter can run (through PyAV's bundled libavfilter)."""
    try:
        import av.filter
    except ImportError:
        return False
    return "minterpolate" in av.filter.filters_available


def minterpolate(prev: torch.Tensor, next: torch.Tensor, t: float = 0.5) -> torch.Tensor:
    """FFmpeg ``minterpolate`` (mi_mode=mci: motion-compensated, block matching) at time t.

    Runs the filter of FFmpeg's libavfilter through PyAV, the same code as
    ``ffmpeg -vf minterpolate=fps=N:mi_mode=mci`` on a clip at 1 frame/s, where N is the
    smallest integer (2..16) with t*N whole: the filter makes frames at multiples of 1/N s.
    It only starts writing once it holds a few frames, so the clip is prev, prev, next, next,
    next at 0..4 s, and its frame at 1 + t s (between prev at 1 s and next at 2 s) is the answer.
    Scene-change detection is off (``scd=none``): with it on, the filter copies a frame
    instead of interpolating whenever the two differ much, i.e. on exactly the large motions
    a study asks about; our triplets never span a cut (nlvfi.data.video skips them).
    Frames go through 8-bit RGB (yuv444p inside the filter). A t with no such N raises ValueError.

    Shapes:
        prev, next (B, 3, H, W) in [0, 1] -> (B, 3, H, W)
    """
    import fractions

    import av
    import av.filter

    rate = next_rate = None
    for rate in range(2, 17):
        if abs(t * rate - round(t * rate)) < 1e-6 and 0 < round(t * rate) < rate:
            next_rate = rate
            break
    if next_rate is None:
        raise ValueError(f"minterpolate makes frames at t = i/N (N <= 16) only, got t = {t}")
    rate = next_rate
    step = fractions.Fraction(1, rate)
    wanted = 1 + round(t * rate) / rate  # seconds
    height, width = prev.shape[-2:]
    frames = []
    for a, b in zip(prev, next):
        graph = av.filter.Graph()
        source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=step)
        nodes = [source, graph.add("format", "yuv444p"), graph.add("minterpolate", f"fps={rate}:mi_mode=mci:scd=none"),
                 graph.add("format", "rgb24"), graph.add("buffersink")]  # fmt: skip
        for first, second in zip(nodes, nodes[1:]):
            first.link_to(second)
        graph.configure()
        for index, image in enumerate((a, a, b, b, b)):
            rgb = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()  # (H, W, 3)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = index * rate, step  # at index seconds
            graph.push(frame)
        graph.push(None)
        middle = None
        while True:
            try:
                out = graph.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            if abs(float(out.pts * out.time_base) - wanted) < 1e-6:
                middle = out.to_ndarray(format="rgb24")
        if middle is None:
            raise RuntimeError(f"minterpolate gave no frame at t = {t}")
        frames.append(torch.from_numpy(middle).permute(2, 0, 1).float() / 255)  # (3, H, W)
    return torch.stack(frames).to(prev.device, prev.dtype)
