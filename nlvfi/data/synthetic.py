"""Flying layers: synthetic (prev, middle, next) triplets with exact flow and depth.

Why: the method's point is large motion. A kernel-based interpolator that only sees a local
window fails when the frames differ a lot, and the non-local branch is there to fix that
(METHOD.md §1, ¶0003–0004, ¶0116, ¶0124); training (METHOD.md §3, ¶0189–0213) needs triplets
whose middle frame is known. This generator is **our addition, not part of the method**: it
gives an unlimited supply of triplets with a chosen amount of motion, and, because every
pixel's motion is known in closed form, exact ground-truth flow and depth that real video
cannot give (for optional supervision of the flow and depth branches, and for tests).

A scene is a stack of layers, far to near (index 0 = the background):

* the background: a texture that fills the frame, with its own gentle affine motion;
* 2..N foreground layers: a texture crop cut out by a mask (ellipse, random star-shaped
  polygon or smooth blob, with a one-pixel anti-aliased edge), each with its own affine motion
  and its own constant depth. Nearer layers cover farther ones.

Textures are cut from the photographs bundled with scikit-image (``skimage/data``; read with
Pillow from that folder, never downloaded), loaded once per process and kept with a small
mip pyramid so that zoomed-out textures do not alias.

Motion model. Canonical coordinates ``u`` of a layer are its image coordinates at s = 0. At
time s in [0, 1] (prev: s = 0, next: s = 1) the layer's pose is

    M_s(u) = c + s·T + exp(s·ℓ) · R(s·θ) · (u - c)

with c the layer's centre, T a translation (px), θ a rotation (rad) and exp(ℓ) a scale; so
translation, angle and log-scale all move linearly in time. A frame at time s is rendered by
inverse mapping each output pixel x to ``u = M_s^{-1}(x)``, sampling the texture (bilinear,
``grid_sample``) and the analytic mask there, and compositing far to near.

Ground truth, exact from the affine maps:
* the visible layer of a pixel is the nearest layer whose mask alpha is >= 0.5 there;
* ``flow(s0, s1)(x) = M_{s1}(M_{s0}^{-1}(x)) - x`` for the layer visible at x at time s0;
  ``flow_forward = flow(0, 1)`` (pixels of prev), ``flow_backward = flow(1, 0)`` (pixels of
  next). Flow convention as everywhere in nlvfi: (2, H, W), channel 0 = dx (right),
  channel 1 = dy (down), px; x + flow_forward(x) is where x of prev lands in next.
* depth: the visible layer's constant depth (> 0; background 80–100, foreground 2–60).

Motion presets. ``MOTION_BUCKETS`` gives, per preset, the range of the **mean forward-flow
magnitude over the whole frame** (every pixel of prev, background included; pixels that move
out of the frame count too), in px at 256x256; for other sizes the range is scaled by
min(H, W) / 256 and ``motion`` is reported in px of the actual size. Each scene draws a target
inside its bucket and scales its motion until the measured value hits it, so every sample's
measured motion lies in its bucket (checked; resampled otherwise).

Speed: a 256x256 sample (three frames, two flows, three depth maps) takes about 20 ms on one
CPU thread. It is hundreds of small tensor ops, so run it in DataLoader workers (one intra-op
thread each); in a process with several torch threads on a busy machine, thread hand-offs can
make it tens of times slower. Results do not depend on the thread count.

Notebook: none yet. Tests: tests/test_data_synthetic.py.
"""

from __future__ import annotations

from contextlib import contextmanager

import importlib.util
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..checkpoint import atomic_write

# Mean forward-flow magnitude over the frame, px at 256x256: [low, high).
MOTION_BUCKETS = {"small": (0.0, 4.0), "medium": (4.0, 16.0), "large": (16.0, 48.0), "extreme": (48.0, 96.0)}
MIXED = ("small", "medium", "large", "extreme")  # motion="mixed": sample i uses MIXED[i % 4]
REFERENCE_SIDE = 256  # the bucket ranges are in px at this frame side
MIN_SIDE = 32

# Photographs shipped inside scikit-image (no download). Order matters: it is part of the data.
TEXTURE_FILES = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "retina.jpg",
    "hubble_deep_field.jpg",
    "color.png",
)
MAX_TEXTURE_SIDE = 1024  # larger photographs are reduced once at load time
SHAPES = ("ellipse", "polygon", "blob")

_TEXTURES: list[list[torch.Tensor]] | None = None  # per texture, its mip levels (1, 3, h, w)


# --------------------------------------------------------------------------------------------
# Textures
# --------------------------------------------------------------------------------------------


def texture_folder() -> Path:
    """The ``data`` folder of the installed scikit-image (found without importing it)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "flying layers cut their textures from the photographs bundled with scikit-image; "
            "install it with `pip install scikit-image`"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def load_textures() -> list[list[torch.Tensor]]:
    """All textures, loaded once per process: per texture a list of mip levels (1, 3, h, w).

    Grayscale photographs become RGB; values in [0, 1]; level k+1 is level k 2x2-averaged.
    """
    global _TEXTURES
    if _TEXTURES is None:
        folder = texture_folder()
        pyramids = []
        for name in TEXTURE_FILES:
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(f"texture {name} is missing from scikit-image's data folder {folder}")
            with Image.open(path) as image:
                image = image.convert("RGB")
                shrink = MAX_TEXTURE_SIDE / max(image.size)
                if shrink < 1:
                    new_size = (round(image.width * shrink), round(image.height * shrink))
                    image = image.resize(new_size, Image.Resampling.LANCZOS)
                pixels = np.asarray(image, dtype=np.float32) / 255.0  # (h, w, 3)
            level = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, h, w)
            levels = [level]
            while min(level.shape[-2:]) >= 128:
                level = F.avg_pool2d(level, 2)  # (1, 3, h/2, w/2)
                levels.append(level)
            pyramids.append(levels)
        _TEXTURES = pyramids
    return _TEXTURES


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _rotation(angle: float) -> np.ndarray:
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array([[cos, -sin], [sin, cos]])


@dataclass
class Layer:
    """One layer of a scene: texture, mask, depth and affine motion.

    Canonical coordinates u are the layer's image coordinates at s = 0 (px, x right, y down).

    Args:
        depth: constant depth of the layer (> 0; larger is farther).
        centre: c = (cx, cy), the centre of the mask, rotation and scale (px).
        texture: index into TEXTURE_FILES; level: mip level sampled.
        texture_map: (2, 3) affine from (u - c, 1) to pixel coordinates of that mip level.
        shape: "background" (alpha 1 everywhere), "ellipse", "polygon" or "blob".
        shape_params: the mask's parameters (see ``_mask_radius``).
        extent: the mask lies within |u - c| <= extent (px); inf for the background.
        translation, rotation, log_scale: the motion T (px), θ (rad), ℓ from s = 0 to s = 1.
    """

    depth: float
    centre: np.ndarray
    texture: int
    level: int
    texture_map: np.ndarray
    shape: str
    shape_params: dict = field(default_factory=dict)
    extent: float = math.inf
    translation: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rotation: float = 0.0
    log_scale: float = 0.0

    def pose(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        """M_s as (A, b) with M_s(u) = A u + b: A (2, 2), b (2,)."""
        linear = math.exp(s * self.log_scale) * _rotation(s * self.rotation)
        return linear, self.centre + s * self.translation - linear @ self.centre

    def inverse_pose(self, s: float) -> tuple[np.ndarray, np.ndarray]:
        """M_s^{-1} as (A, b) with u = A x + b: A (2, 2), b (2,)."""
        linear = math.exp(-s * self.log_scale) * _rotation(-s * self.rotation)
        return linear, self.centre - linear @ (self.centre + s * self.translation)

    def transfer(self, s0: float, s1: float) -> tuple[np.ndarray, np.ndarray]:
        """M_{s1} ∘ M_{s0}^{-1}: a pixel of this layer at time s0 -> its position at s1."""
        a0, b0 = self.inverse_pose(s0)
        a1, b1 = self.pose(s1)
        return a1 @ a0, a1 @ b0 + b1


def _mask_radius(layer: Layer, cos: torch.Tensor, sin: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Radius r(φ) of the star-shaped mask boundary in direction φ (cos, sin given), (h, w)."""
    p = layer.shape_params
    if layer.shape == "ellipse":  # semi-axes a, b, orientation psi
        c, s = math.cos(p["psi"]), math.sin(p["psi"])
        along = cos * c + sin * s  # cos(φ - ψ)
        across = sin * c - cos * s  # sin(φ - ψ)
        return p["a"] * p["b"] / torch.sqrt((p["b"] * along) ** 2 + (p["a"] * across) ** 2)
    if layer.shape == "blob":  # r = R (1 + Σ_k a_k cos(k φ + p_k))
        radius = torch.ones_like(phi)
        for k, amplitude, phase in zip(p["orders"], p["amplitudes"], p["phases"]):
            radius = radius + amplitude * torch.cos(k * phi + phase)
        return p["radius"] * radius
    if layer.shape == "polygon":  # vertices (n, 2) relative to c, sorted by angle in [0, 2π)
        angles, vx, vy = p["angles"], p["vx"], p["vy"]  # (n,) each, torch
        n = angles.numel()
        index = torch.searchsorted(angles, torch.remainder(phi, 2 * math.pi).contiguous(), right=True) - 1
        index = torch.remainder(index, n)  # (h, w): the edge from vertex index to index + 1
        following = torch.remainder(index + 1, n)
        ax, ay, bx, by = vx[index], vy[index], vx[following], vy[following]
        # ray t·(cos, sin) meets segment a + λ(b - a) at t = cross(a, b) / cross(dir, b - a)
        return (ax * by - ay * bx) / (cos * (by - ay) - sin * (bx - ax))
    raise ValueError(f"unknown mask shape {layer.shape!r}")


def mask_alpha(layer: Layer, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Anti-aliased mask alpha at canonical offsets (dx, dy) = u - c, each (h, w) -> (h, w).

    alpha = clamp(r(φ) - ρ + 0.5, 0, 1): a one-pixel ramp across the boundary, 0.5 on it.
    """
    rho = torch.sqrt(dx * dx + dy * dy)  # (h, w)
    phi = torch.atan2(dy, dx)  # (h, w)
    radius = _mask_radius(layer, torch.cos(phi), torch.sin(phi), phi)  # (h, w)
    return (radius - rho + 0.5).clamp_(0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _check_size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if height < MIN_SIDE or width < MIN_SIDE:
        raise ValueError(f"size {(height, width)} is too small: height and width must be >= {MIN_SIDE}")
    return height, width


def _check_bucket(motion) -> str:
    if not isinstance(motion, str) or motion not in MOTION_BUCKETS:
        raise ValueError(f"unknown motion preset {motion!r}: choose one of {', '.join(MOTION_BUCKETS)}")
    return motion


def _check_num_layers(num_layers) -> tuple[int, int]:
    if isinstance(num_layers, (int, np.integer)):
        num_layers = (int(num_layers), int(num_layers))
    try:
        low, high = (int(v) for v in num_layers)
    except (TypeError, ValueError):
        raise ValueError(f"num_layers must be an int or (min, max), got {num_layers!r}") from None
    if not 0 <= low <= high:
        raise ValueError(f"num_layers (min, max) = {(low, high)} must satisfy 0 <= min <= max")
    return low, high


def bucket_range(motion: str, size: tuple[int, int]) -> tuple[float, float]:
    """The bucket's [low, high) mean flow magnitude in px at ``size`` (scaled from 256x256)."""
    low, high = MOTION_BUCKETS[_check_bucket(motion)]
    scale = min(size) / REFERENCE_SIDE
    return low * scale, high * scale


def _mean_magnitude(flow: torch.Tensor) -> float:
    """Mean |flow| of a (2, H, W) flow, in float64 with numpy: the same on any thread count."""
    flow = flow.numpy()
    return float(np.hypot(flow[0], flow[1], dtype=np.float64).mean())


# --------------------------------------------------------------------------------------------
# Scene
# --------------------------------------------------------------------------------------------


class FlyingLayersScene:
    """One random flying-layers scene, deterministic in ``seed``.

    Args:
        seed: an int >= 0 or a tuple of them (``numpy.random.default_rng(seed)``).
        motion: a key of MOTION_BUCKETS.
        size: (H, W) of the rendered frames (or one int), each >= 32.
        num_layers: number of foreground layers, an int or an inclusive range (min, max).
    Attributes:
        layers: list of Layer, far to near; layers[0] is the background.
        motion: measured mean |flow_forward| over the frame (px at ``size``), inside the
            bucket range ``bucket_range(motion, size)``.
    Shapes:
        render(s) -> frame (3, H, W) float32 in [0, 1], depth (1, H, W) float32 > 0,
                     labels (H, W) int64 (index of the visible layer)
        flow(s0, s1), flow_forward, flow_backward -> (2, H, W) float32, (dx, dy) px
    """

    def __init__(self, seed=0, motion: str = "large", size=(256, 256), num_layers=(2, 5)):
        self.bucket = _check_bucket(motion)
        self.size = _check_size(size)
        self.num_layers_range = _check_num_layers(num_layers)
        self.seed = seed
        rng = np.random.default_rng(seed)
        textures = load_textures()
        self.layers = self._sample_layers(rng, textures)
        self._textures = [textures[layer.texture][layer.level] for layer in self.layers]
        height, width = self.size
        self._xs = torch.arange(width, dtype=torch.float32).view(1, width)  # (1, W)
        self._ys = torch.arange(height, dtype=torch.float32).view(height, 1)  # (H, 1)
        self._cache: dict[float, dict[str, torch.Tensor]] = {}
        self._flows: dict[tuple[float, float], torch.Tensor] = {}
        # At s = 0 every pose is the identity, so prev (and its visible layers) does not depend
        # on the motion: render it first, then choose the motion that hits the bucket on it.
        self._render(0.0)
        self.motion = self._sample_motion(rng)

    # ---- sampling ---------------------------------------------------------------------------

    def _texture_map(self, rng, levels, zoom_range, centre_offset) -> tuple[int, np.ndarray]:
        """A random texture placement: mip level and the (2, 3) map (u - c, 1) -> texel."""
        zoom = rng.uniform(*zoom_range) * REFERENCE_SIDE / min(self.size)  # level-0 texels per px
        level = min(len(levels) - 1, max(0, math.ceil(math.log2(zoom / 1.25))))
        zoom = zoom / 2**level
        linear = zoom * _rotation(rng.uniform(-math.pi, math.pi))  # (2, 2)
        if rng.random() < 0.5:
            linear = linear @ np.diag([-1.0, 1.0])  # mirrored
        _, _, tex_h, tex_w = levels[level].shape
        if centre_offset is None:  # anywhere in the texture
            offset = np.array([rng.uniform(0, tex_w - 1), rng.uniform(0, tex_h - 1)])
        else:  # near the middle, jittered by at most the slack around the frame's footprint
            slack = np.maximum(0.0, (np.array([tex_w, tex_h]) - 1 - centre_offset * zoom) / 2)
            offset = (np.array([tex_w, tex_h]) - 1) / 2 + rng.uniform(-1, 1, size=2) * slack
        return level, np.concatenate([linear, offset[:, None]], axis=1)

    def _sample_shape(self, rng, radius: float) -> tuple[str, dict, float]:
        shape = SHAPES[rng.integers(len(SHAPES))]
        if shape == "ellipse":
            a = radius
            b = radius * rng.uniform(0.35, 1.0)
            return shape, {"a": a, "b": b, "psi": rng.uniform(0, math.pi)}, a
        if shape == "polygon":
            n = int(rng.integers(3, 9))
            angles = (rng.uniform(0, 2 * math.pi) + (np.arange(n) + rng.uniform(-0.2, 0.2, n)) * 2 * math.pi / n) % (
                2 * math.pi
            )
            angles = np.sort(angles)
            radii = radius * rng.uniform(0.55, 1.0, n)
            params = {
                "angles": torch.tensor(angles, dtype=torch.float32),
                "vx": torch.tensor(radii * np.cos(angles), dtype=torch.float32),
                "vy": torch.tensor(radii * np.sin(angles), dtype=torch.float32),
            }
            return shape, params, float(radii.max())
        orders = np.arange(2, 6)
        amplitudes = rng.uniform(0, 0.35, orders.size) / orders
        params = {
            "radius": radius * 0.8,
            "orders": orders.tolist(),
            "amplitudes": amplitudes.tolist(),
            "phases": rng.uniform(0, 2 * math.pi, orders.size).tolist(),
        }
        return "blob", params, radius * 0.8 * (1 + amplitudes.sum())

    def _sample_layers(self, rng, textures) -> list[Layer]:
        height, width = self.size
        low, high = self.num_layers_range
        count = int(rng.integers(low, high + 1))
        chosen = rng.choice(len(textures), size=count + 1, replace=count + 1 > len(textures))
        frame_centre = np.array([(width - 1) / 2, (height - 1) / 2])
        footprint = math.hypot(width, height)  # the frame's diagonal, in px
        level, texture_map = self._texture_map(rng, textures[chosen[0]], (0.6, 1.6), footprint)
        background = Layer(
            depth=rng.uniform(80.0, 100.0),
            centre=frame_centre,
            texture=int(chosen[0]),
            level=level,
            texture_map=texture_map,
            shape="background",
        )
        foreground = []
        side = min(height, width)
        for index in chosen[1:]:
            centre = np.array([rng.uniform(0.1, 0.9) * (width - 1), rng.uniform(0.1, 0.9) * (height - 1)])
            shape, params, extent = self._sample_shape(rng, rng.uniform(0.12, 0.35) * side)
            level, texture_map = self._texture_map(rng, textures[index], (0.5, 1.5), None)
            foreground.append(
                Layer(
                    depth=rng.uniform(2.0, 60.0),
                    centre=centre,
                    texture=int(index),
                    level=level,
                    texture_map=texture_map,
                    shape=shape,
                    shape_params=params,
                    extent=extent,
                )
            )
        foreground.sort(key=lambda layer: -layer.depth)  # far to near
        return [background] + foreground

    def _sample_motion(self, rng) -> float:
        """Draw motion shapes, scale them to a target inside the bucket; return the measured motion."""
        low, high = bucket_range(self.bucket, self.size)
        margin = 0.05 * (high - low)
        half_diagonal = 0.5 * math.hypot(*self.size)
        labels = self._cache[0.0]["labels"]  # (H, W)
        coarse = labels[::2, ::2]  # (H/2, W/2): enough to steer the scale, checked at full size
        for _ in range(20):
            target = rng.uniform(low + margin, high - margin)
            units = []  # per layer: T for one unit (px), θ and ℓ per unit, and their limits
            for index, layer in enumerate(self.layers):
                angle = rng.uniform(-math.pi, math.pi)
                if index == 0:
                    speed, reach, limits = rng.uniform(0.3, 1.0), half_diagonal, (0.08, 0.1)
                    spin, zoom = 0.1, 0.1
                else:
                    speed, reach, limits = rng.uniform(0.3, 1.5), layer.extent, (0.5, 0.3)
                    spin, zoom = 0.3, 0.2
                units.append(
                    (
                        speed * np.array([math.cos(angle), math.sin(angle)]),
                        rng.uniform(-1, 1) * spin / reach,
                        rng.uniform(-1, 1) * zoom / reach,
                        limits,
                    )
                )
            scale = target
            for _ in range(12):  # scale ← scale · target / measured (nearly linear in the scale)
                self._apply_motion(units, scale)
                measured = self._mean_flow(coarse, stride=2)
                if measured <= 0 or abs(measured - target) <= 0.002 * target:
                    break
                scale = scale * target / measured
            for _ in range(4):  # confirm at full resolution; correct if the coarse grid was off
                self._flows.clear()
                measured = _mean_magnitude(self.flow(0.0, 1.0))
                if low <= measured < high:
                    return measured
                if measured <= 0:
                    break
                scale = scale * target / measured
                self._apply_motion(units, scale)
        raise RuntimeError(f"could not place the motion of scene {self.seed!r} in bucket {self.bucket!r}")

    def _apply_motion(self, units, scale: float) -> None:
        self._flows.clear()
        for layer, (translation, rotation, log_scale, (max_rotation, max_log_scale)) in zip(self.layers, units):
            layer.translation = scale * translation
            layer.rotation = float(np.clip(scale * rotation, -max_rotation, max_rotation))
            layer.log_scale = float(np.clip(scale * log_scale, -max_log_scale, max_log_scale))

    def _mean_flow(self, labels: torch.Tensor, stride: int) -> float:
        """Mean |flow(0, 1)| over the pixels of ``labels``, taken every ``stride`` pixels."""
        flow = self._flow_field(labels, 0.0, 1.0, self._xs[:, ::stride], self._ys[::stride])  # (2, h, w)
        return _mean_magnitude(flow)

    # ---- rendering --------------------------------------------------------------------------

    def _box(self, layer: Layer, s: float) -> tuple[int, int, int, int] | None:
        """Pixel rows y0:y1, columns x0:x1 that can see ``layer`` at time s (None: none)."""
        height, width = self.size
        if layer.shape == "background":
            return 0, height, 0, width
        reach = layer.extent + 1.0
        corners = layer.centre + reach * np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]])  # (4, 2)
        linear, offset = layer.pose(s)
        placed = corners @ linear.T + offset  # (4, 2)
        x0 = max(0, math.floor(placed[:, 0].min()))
        x1 = min(width, math.ceil(placed[:, 0].max()) + 1)
        y0 = max(0, math.floor(placed[:, 1].min()))
        y1 = min(height, math.ceil(placed[:, 1].max()) + 1)
        if x0 >= x1 or y0 >= y1:
            return None
        return y0, y1, x0, x1

    def _render(self, s: float) -> dict[str, torch.Tensor]:
        s = float(s)
        if s in self._cache:
            return self._cache[s]
        height, width = self.size
        frame = torch.empty(3, height, width)  # (3, H, W)
        labels = torch.zeros(height, width, dtype=torch.long)  # (H, W)
        for index, layer in enumerate(self.layers):
            box = self._box(layer, s)
            if box is None:
                continue
            y0, y1, x0, x1 = box
            rgb, alpha = self._sample_layer(index, s, box)  # (3, h, w), (h, w) or None
            if alpha is None:
                frame[:, y0:y1, x0:x1] = rgb
                continue
            frame[:, y0:y1, x0:x1].lerp_(rgb, alpha)  # composite over what is behind
            labels[y0:y1, x0:x1][alpha >= 0.5] = index
        depths = torch.tensor([layer.depth for layer in self.layers], dtype=torch.float32)  # (L,)
        result = {"frame": frame.clamp_(0.0, 1.0), "depth": depths[labels].unsqueeze(0), "labels": labels}
        if s in (0.0, 1.0):  # prev and next feed the flows; other times are not kept
            self._cache[s] = result
        return result

    def _sample_layer(self, index: int, s: float, box) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The layer's colour (3, h, w) and alpha (h, w) (None for the background) over ``box``."""
        layer = self.layers[index]
        y0, y1, x0, x1 = box
        xs, ys = self._xs[:, x0:x1], self._ys[y0:y1]  # (1, w), (h, 1)
        inverse, inverse_offset = layer.inverse_pose(s)
        to_local = np.concatenate([inverse, (inverse_offset - layer.centre)[:, None]], axis=1)  # (2, 3): x -> u - c
        texture = self._textures[index]  # (1, 3, th, tw)
        _, _, tex_h, tex_w = texture.shape
        to_texel = layer.texture_map[:, :2] @ to_local
        to_texel[:, 2] += layer.texture_map[:, 2]  # (2, 3): x -> texel
        to_grid = to_texel * np.array([[2.0 / max(tex_w - 1, 1)], [2.0 / max(tex_h - 1, 1)]])
        to_grid[:, 2] -= 1.0  # (2, 3): x -> grid_sample's [-1, 1]
        (a, b, c), (d, e, f) = to_grid.tolist()
        grid = torch.stack(torch.broadcast_tensors(a * xs + b * ys + c, d * xs + e * ys + f), dim=-1)  # (h, w, 2)
        rgb = F.grid_sample(texture, grid.unsqueeze(0), mode="bilinear", padding_mode="reflection", align_corners=True)
        if layer.shape == "background":
            return rgb[0], None  # (3, h, w)
        (a, b, c), (d, e, f) = to_local.tolist()
        alpha = mask_alpha(layer, a * xs + b * ys + c, d * xs + e * ys + f)  # (h, w)
        return rgb[0], alpha

    def render(self, s: float) -> dict[str, torch.Tensor]:
        """The scene at time s in [0, 1] (0: prev, 1: next).

        Returns a dict of new tensors: "frame" (3, H, W) float32 in [0, 1], "depth" (1, H, W)
        float32 > 0 (depth of the visible layer), "labels" (H, W) int64 (its index).
        """
        if not 0.0 <= float(s) <= 1.0:
            raise ValueError(f"time s must be in [0, 1], got {s}")
        return {key: value.clone() for key, value in self._render(float(s)).items()}

    def layer_rgba(self, index: int, s: float) -> tuple[torch.Tensor, torch.Tensor]:
        """One layer alone at time s, over the whole frame: rgb (3, H, W), alpha (1, H, W)."""
        height, width = self.size
        rgb, alpha = self._sample_layer(index, float(s), (0, height, 0, width))
        if alpha is None:
            alpha = torch.ones(height, width)
        return rgb, alpha.unsqueeze(0)

    # ---- ground truth -----------------------------------------------------------------------

    def _flow_field(self, labels, s0: float, s1: float, xs, ys) -> torch.Tensor:
        """flow(s0, s1) at pixel coordinates xs (1, w), ys (h, 1) whose visible layers are labels (h, w)."""
        table = []
        for layer in self.layers:  # per layer, M_{s1} M_{s0}^{-1} - identity as (2, 3)
            linear, offset = layer.transfer(s0, s1)
            table.append([linear[0, 0] - 1, linear[0, 1], offset[0], linear[1, 0], linear[1, 1] - 1, offset[1]])
        coef = torch.tensor(table, dtype=torch.float32).T[:, labels]  # (6, h, w)
        dx = coef[0] * xs + coef[1] * ys + coef[2]  # (h, w)
        dy = coef[3] * xs + coef[4] * ys + coef[5]  # (h, w)
        return torch.stack((dx, dy))  # (2, h, w)

    def flow(self, s0: float, s1: float) -> torch.Tensor:
        """Flow from time s0 to s1 for the pixels of the frame at s0: (2, H, W) float32, (dx, dy) px.

        x + flow(s0, s1)(x) is where the surface visible at x at time s0 is at time s1 (exact:
        M_{s1}(M_{s0}^{-1}(x)) for that surface's layer; it may lie outside the frame, or be
        hidden at s1).
        """
        key = (float(s0), float(s1))
        if key not in self._flows:
            labels = self._render(key[0])["labels"]  # (H, W)
            self._flows[key] = self._flow_field(labels, key[0], key[1], self._xs, self._ys)
        return self._flows[key].clone()

    @property
    def flow_forward(self) -> torch.Tensor:
        """prev -> next: (2, H, W) float32, for the pixels of prev."""
        return self.flow(0.0, 1.0)

    @property
    def flow_backward(self) -> torch.Tensor:
        """next -> prev: (2, H, W) float32, for the pixels of next."""
        return self.flow(1.0, 0.0)

    def __repr__(self) -> str:
        shapes = ", ".join(layer.shape for layer in self.layers[1:])
        return (
            f"FlyingLayersScene(seed={self.seed!r}, motion={self.bucket!r}, size={self.size}, "
            f"layers=[background, {shapes}], measured motion={self.motion:.2f} px)"
        )


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------


@contextmanager
def single_threaded():
    """Run a block with one intra-op thread, then restore the previous count.

    A scene is hundreds of small tensor ops; with a second thread busy elsewhere (training in
    the same process) OpenMP hand-offs made one 256x256 sample ~50x slower in our measurements.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class FlyingLayers(Dataset):
    """Flying-layers triplets generated on the fly, deterministic in (seed, index).

    Args:
        num_samples: the dataset's length (>= 1).
        motion: a preset of MOTION_BUCKETS, a list of them (sample i uses motion[i % len]) or
            "mixed" (= all four in turn).
        size: (H, W) of the frames (or one int), each >= 32.
        seed: int >= 0; sample i is the scene of ``numpy.random.default_rng((seed, i))``.
        t: time of the middle frame, in (0, 1).
        num_layers: number of foreground layers, an int or an inclusive range (min, max).
    Items (dict):
        prev, middle, next (3, H, W) float32 in [0, 1]; t () float32;
        flow_forward, flow_backward (2, H, W) float32 (px, (dx, dy));
        depth_prev, depth_middle, depth_next (1, H, W) float32 > 0;
        motion () float32 (mean |flow_forward|, px at this size); bucket str.
    """

    def __init__(
        self, num_samples: int, motion="large", size=(256, 256), seed: int = 0, t: float = 0.5, num_layers=(2, 5)
    ):
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
        if motion == "mixed":
            buckets = MIXED
        elif isinstance(motion, str):
            buckets = (_check_bucket(motion),)
        else:
            buckets = tuple(_check_bucket(m) for m in motion)
            if not buckets:
                raise ValueError("motion list is empty: give at least one preset")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"t must be a number in (0, 1), got {t!r}") from None
        if not 0.0 < t < 1.0:
            raise ValueError(f"t must be in (0, 1) (exclusive), got {t}")
        self.num_samples = int(num_samples)
        self.buckets = buckets
        self.motion = motion
        self.size = _check_size(size)
        self.seed = int(seed)
        self.t = t
        self.num_layers = _check_num_layers(num_layers)

    def __len__(self) -> int:
        return self.num_samples

    def _index(self, index: int) -> int:
        index = int(index)
        if index < 0:
            index += self.num_samples
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} samples")
        return index

    def bucket(self, index: int) -> str:
        return self.buckets[self._index(index) % len(self.buckets)]

    def scene(self, index: int) -> FlyingLayersScene:
        """The scene behind sample ``index``."""
        index = self._index(index)
        return FlyingLayersScene(
            seed=(self.seed, index), motion=self.bucket(index), size=self.size, num_layers=self.num_layers
        )

    def __getitem__(self, index: int) -> dict:
        with single_threaded():  # hundreds of tiny ops: extra threads only add contention
            return self._sample(index)

    def _sample(self, index: int) -> dict:
        scene = self.scene(index)
        prev, nxt, middle = scene.render(0.0), scene.render(1.0), scene.render(self.t)
        return {
            "prev": prev["frame"],  # (3, H, W)
            "middle": middle["frame"],  # (3, H, W)
            "next": nxt["frame"],  # (3, H, W)
            "t": torch.tensor(self.t, dtype=torch.float32),  # ()
            "flow_forward": scene.flow_forward,  # (2, H, W)
            "flow_backward": scene.flow_backward,  # (2, H, W)
            "depth_prev": prev["depth"],  # (1, H, W)
            "depth_middle": middle["depth"],  # (1, H, W)
            "depth_next": nxt["depth"],  # (1, H, W)
            "motion": torch.tensor(scene.motion, dtype=torch.float32),  # ()
            "bucket": scene.bucket,
        }

    def __repr__(self) -> str:
        return (
            f"FlyingLayers({self.num_samples}, motion={self.motion!r}, size={self.size}, seed={self.seed}, "
            f"t={self.t}, num_layers={self.num_layers})"
        )


# --------------------------------------------------------------------------------------------
# Writing to disk
# --------------------------------------------------------------------------------------------


def _to_png(frame: torch.Tensor, path) -> None:
    pixels = (frame.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (H, W, 3)
    Image.fromarray(pixels).save(path, format="PNG")


def _save_npy(array: np.ndarray, path) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append ".npy" to the temp name
        np.save(f, array)


def _save_npz(arrays: dict, path) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def dump_triplets(
    dataset, out_dir, start: int = 0, count: int | None = None, progress: bool = True, overwrite: bool = False
) -> list[Path]:
    """Write samples start .. start+count-1 of ``dataset`` to ``out_dir``, one folder each.

    ``out_dir/00000/``: im1.png, im2.png, im3.png (prev, middle, next, 8-bit RGB),
    flow_forward.npy and flow_backward.npy ((2, H, W) float32), depth.npz (prev, middle,
    next: (1, H, W) float32) and meta.json (seed, index, motion, bucket, t, size). Folder
    names are the sample index, 5 digits. Every file is written atomically. An existing
    non-empty sample folder is refused (FileExistsError, nothing written) unless
    ``overwrite=True``. Returns the folders written.
    """
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < len(dataset):
        raise ValueError(f"start must be an index of the dataset (0 .. {len(dataset) - 1}), got {start!r}")
    if count is None:
        count = len(dataset) - start
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0 or start + count > len(dataset):
        raise ValueError(f"count must be in 0 .. {len(dataset) - start} for start={start}, got {count!r}")
    out_dir = Path(out_dir)
    folders = [out_dir / f"{index:05d}" for index in range(start, start + count)]
    if not overwrite:
        taken = [str(folder) for folder in folders if folder.is_dir() and any(folder.iterdir())]
        taken += [str(folder) for folder in folders if folder.exists() and not folder.is_dir()]
        if taken:
            raise FileExistsError(
                f"{len(taken)} sample folder(s) already exist and are not empty (first: {taken[0]}); "
                "pass overwrite=True to replace them"
            )
    for index, folder in zip(tqdm(range(start, start + count), desc="flying layers", disable=not progress), folders):
        item = dataset[index]
        folder.mkdir(parents=True, exist_ok=True)
        for name, key in (("im1.png", "prev"), ("im2.png", "middle"), ("im3.png", "next")):
            atomic_write(folder / name, lambda tmp, frame=item[key]: _to_png(frame, tmp))
        for key in ("flow_forward", "flow_backward"):
            atomic_write(folder / f"{key}.npy", lambda tmp, flow=item[key]: _save_npy(flow.numpy(), tmp))
        depths = {name: item[f"depth_{name}"].numpy() for name in ("prev", "middle", "next")}
        atomic_write(folder / "depth.npz", lambda tmp: _save_npz(depths, tmp))
        meta = {
            "seed": getattr(dataset, "seed", None),
            "index": index,
            "motion": float(item["motion"]) if "motion" in item else None,
            "bucket": item.get("bucket"),
            "t": float(item["t"]),
            "size": list(item["prev"].shape[-2:]),
        }
        text = json.dumps(meta, indent=2) + os.linesep
        atomic_write(folder / "meta.json", lambda tmp: Path(tmp).write_text(text))
    return folders
