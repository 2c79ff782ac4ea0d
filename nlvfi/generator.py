"""The generator: every sub-network of the method wired together.

Method: METHOD.md §2 (¶0154, Fig. 6):
  local features (flow both ways, depth per frame, 4x4 kernels per frame)  §2.1
  non-local features of the concatenated pair                              §2.2
  depth-aware projection of both flows to time t                           §2.3
  adaptive warping of the frames; backward warping of frames and
  non-local features; concatenation into the synthesis features            §2.4
  frame synthesis: a residual over the blend of the warped frames          §2.5

Inputs of any size are padded (replicate) to the network stride and cropped back (public
design, DAIN). Frames are float RGB in [0, 1].

Tiled inference (``nlvfi.tiling``) computes the non-local features once on the whole padded
frame (:meth:`Generator.nonlocal_features`) and hands each tile its slice through
``forward(..., nonlocal_features=...)``: the attention spans the whole frame, which a tile would cut.
Notebook: notebooks/06_synthesis_and_generator.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .depth import HourglassDepth, inverse_depth
from .flow import BidirectionalFlow
from .inputs import check_frame_pair, check_time
from .kernels import KernelUNet
from .nonlocal_features import NonLocalBranch
from .projection import project_flow
from .static_blend import blend_static
from .synthesis import FrameSynthesis
from .warping import adaptive_warp, backward_warp


@dataclass
class GeneratorOutput:
    """What the generator returns. Pairs are (for prev, for next); all maps are (B, C, H, W).

    Attributes:
        frame: the interpolated frame (B, 3, H, W); clamped to [0, 1] in eval mode.
        flows: (forward F_{prev->next}, backward F_{next->prev}), (B, 2, H, W) each.
        projected_flows: (F_{t->prev}, F_{t->next}) at time t, (B, 2, H, W) each.
        depths: depth of prev and next, (B, 1, H, W) each, > 0.
        kernels: 4x4 kernels of prev and next, (B, 16, H, W) each.
        nonlocal_features: (B, C_nl, H, W).
        attention: (B, N, N) weights of the self-attention, N = (H'/16)*(W'/16) on the padded
            size H' x W'; only when intermediates are requested.
        warped_frames: prev and next adaptively warped to time t, (B, 3, H, W) each.
        blend: (1 - t)·W0 + t·W1, (B, 3, H, W).
        Everything but ``frame`` is None unless ``return_intermediates=True``.
    """

    frame: torch.Tensor
    flows: tuple[torch.Tensor, torch.Tensor] | None = None
    projected_flows: tuple[torch.Tensor, torch.Tensor] | None = None
    depths: tuple[torch.Tensor, torch.Tensor] | None = None
    kernels: tuple[torch.Tensor, torch.Tensor] | None = None
    nonlocal_features: torch.Tensor | None = None
    attention: torch.Tensor | None = None
    warped_frames: tuple[torch.Tensor, torch.Tensor] | None = None
    blend: torch.Tensor | None = None


def synthesis_channels_in(config: ModelConfig) -> int:
    """blend 3 + adaptively warped 2x3 + backward-warped 2x3 + projected flows 2x2
    + kernels 2x16 + warped non-local features 2xC_nl (none without the non-local branch)."""
    return 3 + 6 + 6 + 4 + 32 + (2 * config.nonlocal_channels if config.use_nonlocal else 0)


class Generator(nn.Module):
    """Non-local video frame interpolation generator.

    Call: ``G(prev, next, t=0.5, return_intermediates=False, nonlocal_features=None, initial_flow=None) -> GeneratorOutput``
        prev, next: (B, 3, H, W) float in [0, 1], any H, W >= 1.
        t: time of the output between prev (0) and next (1): a float or a (B,) tensor.
        nonlocal_features: (B, C_nl, H', W') on the padded size H' x W', computed elsewhere
            (a slice of :meth:`nonlocal_features` of a larger frame, for tiled inference);
            None runs the non-local branch here. When given, ``attention`` is not returned.
        initial_flow: optional guesses (forward, backward), (B, 2, H, W) each in pixels, that
            the flow estimator starts from instead of zero (:mod:`nlvfi.flow_prior`).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.flow = BidirectionalFlow(config)
        self.depth = HourglassDepth(config)
        self.kernels = KernelUNet(config)
        self.nonlocal_branch = NonLocalBranch(config) if config.use_nonlocal else None
        self.synthesis = FrameSynthesis(synthesis_channels_in(config), config.synthesis_channels, config.synthesis_blocks)

    def forward(
        self,
        prev: torch.Tensor,
        next: torch.Tensor,
        t: float | torch.Tensor = 0.5,
        return_intermediates: bool = False,
        nonlocal_features: torch.Tensor | None = None,
        initial_flow: tuple[torch.Tensor, torch.Tensor] | None = None,
        flow_scale: int = 1,
        static_motion: float = 0.0,
        still_pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> GeneratorOutput:
        """The middle frame at ``t`` (and, on request, the intermediates) of ``prev`` and ``next``.

        Test-time options of the video tools (all off by default, as in training):
        ``initial_flow``, the pair's flow guesses (:mod:`nlvfi.flow_prior`); ``flow_scale``, the
        flow estimated on frames enlarged this many times (:meth:`nlvfi.flow.BidirectionalFlow.forward`);
        ``static_motion``, pixels moving less than this many px take the plain blend of the
        frames (:mod:`nlvfi.static_blend`); ``still_pair``, the frames that blend takes instead of
        ``prev`` and ``next`` (the pair with the real frames outside it averaged in,
        :func:`nlvfi.static_blend.average_outside_frame`), (B, 3, H, W) each.
        """
        check_frame_pair(prev, next)
        batch, _, height, width = prev.shape
        check_time(t, batch)
        if still_pair is not None:
            if len(still_pair) != 2 or any(tuple(frame.shape) != tuple(prev.shape) for frame in still_pair):
                raise ValueError(f"still_pair must be two frames of shape {tuple(prev.shape)}")
            still_pair = (self.pad(still_pair[0]), self.pad(still_pair[1]))  # (B, 3, H', W') each
        if initial_flow is not None:
            expected = (batch, 2, height, width)
            if len(initial_flow) != 2 or any(tuple(flow.shape) != expected for flow in initial_flow):
                raise ValueError(f"initial_flow must be two flows of shape {expected} (forward, backward)")
            initial_flow = (self.pad(initial_flow[0]), self.pad(initial_flow[1]))  # (B, 2, H', W') each
        prev, next = self.pad(prev), self.pad(next)  # (B, 3, H', W') each
        if nonlocal_features is not None and self.nonlocal_branch is None:
            raise ValueError("this generator has no non-local branch (use_nonlocal=False): pass nonlocal_features=None")
        if nonlocal_features is not None:
            expected = (batch, self.config.nonlocal_channels, *prev.shape[-2:])
            if tuple(nonlocal_features.shape) != expected:
                raise ValueError(
                    f"nonlocal_features must have shape {expected} (the padded frame), got {tuple(nonlocal_features.shape)}"
                )
        times = torch.as_tensor(t, dtype=prev.dtype, device=prev.device).reshape(-1, 1, 1, 1).expand(batch, 1, 1, 1)

        forward_flow, backward_flow = self.flow(prev, next, initial_flow, scale=flow_scale)  # (B, 2, H', W') each
        depth_prev, depth_next = self.depth(torch.cat((prev, next))).chunk(2)  # (B, 1, H', W') each
        pair = torch.cat((prev, next), dim=1)  # (B, 6, H', W')
        kernel_prev, kernel_next = self.kernels(pair)  # (B, 16, H', W') each
        attention = None
        if nonlocal_features is None and self.nonlocal_branch is not None:
            nonlocal_features, attention = self.nonlocal_branch(pair, return_attention=return_intermediates)

        # Geometry stays in float32 even under bf16 autocast: a bf16 pixel coordinate at 1080p
        # is only accurate to ~8 px. Sub-network outputs are cast up before projection/warping.
        with torch.autocast(device_type=prev.device.type, enabled=False):
            forward_flow, backward_flow = forward_flow.float(), backward_flow.float()
            depth_prev, depth_next = depth_prev.float(), depth_next.float()
            kernel_prev, kernel_next = kernel_prev.float(), kernel_next.float()
            prev32, next32, times = prev.float(), next.float(), times.float()
            to_prev, _ = project_flow(forward_flow, inverse_depth(depth_prev), times.view(-1))  # F_{t->prev}
            to_next, _ = project_flow(backward_flow, inverse_depth(depth_next), 1 - times.view(-1))  # F_{t->next}

            warped_prev = adaptive_warp(prev32, to_prev, kernel_prev)  # (B, 3, H', W')
            warped_next = adaptive_warp(next32, to_next, kernel_next)
            blend = (1 - times) * warped_prev + times * warped_next  # (B, 3, H', W')
            features = torch.cat(
                (
                    blend,
                    warped_prev,
                    warped_next,
                    backward_warp(prev32, to_prev),
                    backward_warp(next32, to_next),
                    to_prev,
                    to_next,
                    kernel_prev,
                    kernel_next,
                )
                + (
                    (backward_warp(nonlocal_features.float(), to_prev), backward_warp(nonlocal_features.float(), to_next))
                    if nonlocal_features is not None
                    else ()
                ),
                dim=1,
            )  # (B, synthesis_channels_in, H', W')
        frame = blend + self.synthesis(features).float()  # (B, 3, H', W'), float32
        frame = blend_static(
            frame, prev.float(), next.float(), times.float(), to_prev, to_next, static_motion,
            None if still_pair is None else (still_pair[0].float(), still_pair[1].float()),
        )
        if not self.training:
            frame = frame.clamp(0.0, 1.0)

        def crop(x: torch.Tensor) -> torch.Tensor:
            return x[..., :height, :width]

        if not return_intermediates:
            return GeneratorOutput(frame=crop(frame))
        return GeneratorOutput(
            frame=crop(frame),
            flows=(crop(forward_flow), crop(backward_flow)),
            projected_flows=(crop(to_prev), crop(to_next)),
            depths=(crop(depth_prev), crop(depth_next)),
            kernels=(crop(kernel_prev), crop(kernel_next)),
            nonlocal_features=None if nonlocal_features is None else crop(nonlocal_features),
            attention=attention,
            warped_frames=(crop(warped_prev), crop(warped_next)),
            blend=crop(blend),
        )

    def pad(self, frames: torch.Tensor) -> torch.Tensor:
        """Replicate-pad right and bottom to the network stride: (B, C, H, W) -> (B, C, H', W')."""
        stride = self.config.stride
        pad_h, pad_w = -frames.shape[-2] % stride, -frames.shape[-1] % stride
        if not (pad_h or pad_w):
            return frames
        return F.pad(frames, (0, pad_w, 0, pad_h), mode="replicate")

    def nonlocal_features(self, prev: torch.Tensor, next: torch.Tensor) -> torch.Tensor:
        """The non-local branch alone, on the padded pair: (B, 3, H, W) x 2 -> (B, C_nl, H', W').

        Exactly what :meth:`forward` computes inside; a tile's slice of it (at stride-aligned
        offsets) can be passed back to ``forward(..., nonlocal_features=...)``.
        """
        check_frame_pair(prev, next)
        if self.nonlocal_branch is None:
            raise ValueError("this generator has no non-local branch (use_nonlocal=False)")
        pair = torch.cat((self.pad(prev), self.pad(next)), dim=1)  # (B, 6, H', W')
        features, _ = self.nonlocal_branch(pair)  # (B, C_nl, H', W')
        return features


def build_generator(size: str | ModelConfig = "tiny") -> Generator:
    """A freshly initialised generator of a named size (``tiny``, ``small``, ``full``) or config."""
    config = size if isinstance(size, ModelConfig) else ModelConfig.preset(size)
    return Generator(config)
