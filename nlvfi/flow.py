"""Bidirectional optical flow, PWC-Net style.

Method: METHOD.md §2.1 (¶0156–0158): forward flow F_{t-1->t+1} and backward flow
F_{t+1->t-1}. Public design PWC-Net: a feature pyramid per frame; from the coarsest level
down, the second frame's features are backward-warped by the upsampled flow, a local cost
volume is built, and a decoder refines the flow. The decoders stop at 1/4 size
(``flow_output_level``) and the flow is bilinearly upsampled to full size.

Here the decoders predict a *residual* on top of the upsampled flow, in pixels of their own
level, so no magic x20 scale is needed; both directions run as one batch, from one feature
pyramid of the two frames (the backward direction reads it with the halves swapped; at 1280x720
in bf16 the pyramid was 0.28 s of the estimator's 0.96 s when it ran twice). The cost volume
correlates contrast-normalised features (:func:`contrast_normalize`), not raw ones.
Notebook: notebooks/02_optical_flow.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .correlation import cost_volume
from .layers import small_init_
from .warping import backward_warp


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.1)


class FeaturePyramid(nn.Module):
    """Per level: a stride-2 conv then (convs_per_level - 1) convs. Level i is at 1/2**i.

    Shapes:
        image (B, 3, H, W) -> list of (B, C_i, H/2**i, W/2**i), finest (i = 1) first.
    """

    def __init__(self, channels: tuple[int, ...], convs_per_level: int):
        super().__init__()
        self.levels = nn.ModuleList()
        previous = 3
        for width in channels:
            layers = [nn.Conv2d(previous, width, 3, stride=2, padding=1)]
            layers += [nn.Conv2d(width, width, 3, padding=1) for _ in range(convs_per_level - 1)]
            self.levels.append(nn.ModuleList(layers))
            previous = width

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        features = []
        x = image - 0.5  # centre the [0, 1] input
        for level in self.levels:
            for conv in level:
                x = _leaky(conv(x))
            features.append(x)
        return features


class FlowDecoder(nn.Module):
    """Conv stack on [cost volume, features of frame 1, upsampled flow] -> flow residual.

    Shapes:
        x (B, (2d+1)^2 + C + 2, h, w) -> (B, 2, h, w)
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...]):
        super().__init__()
        convs = []
        for width in widths:
            convs.append(nn.Conv2d(in_channels, width, 3, padding=1))
            in_channels = width
        self.convs = nn.ModuleList(convs)
        self.head = small_init_(nn.Conv2d(in_channels, 2, 3, padding=1), std=1e-2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = _leaky(conv(x))
        return self.head(x)


def contrast_normalize(features: torch.Tensor) -> torch.Tensor:
    """Centre each channel over the image, then divide each feature vector by
    sqrt(its energy + the image's mean energy).

    Why: the raw correlation of a freshly initialised pyramid is tiny (its coarse features are
    ~1% of the input's scale) and nearly the same for every displacement (leaky-ReLU features
    are mostly positive); trained from there, the flow stayed at zero for whole runs
    (checkpoints/analysis.md). After centring and normalising, a matching displacement scores
    near 1 and an unrelated one near 0 from the first step. Adding the mean energy keeps flat,
    low-contrast regions near 0 instead of blowing their noise up to unit length.

    Shapes:
        features (B, C, h, w) -> (B, C, h, w)
    """
    features = features - features.mean(dim=(2, 3), keepdim=True)  # (B, C, h, w)
    energy = features.float().pow(2).mean(dim=1, keepdim=True)  # (B, 1, h, w)
    mean_energy = energy.mean(dim=(2, 3), keepdim=True)  # (B, 1, 1, 1)
    return features * (energy + mean_energy + 1e-6).rsqrt().to(features.dtype)


class BidirectionalFlow(nn.Module):
    """PWC-Net style flow estimator run in both directions.

    Args:
        config: the model config (``flow_*`` fields).
    Shapes:
        prev, next (B, 3, H, W), H and W divisible by 2**levels ->
        forward flow (B, 2, H, W) (prev -> next) and backward flow (B, 2, H, W) (next -> prev).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.max_displacement = config.flow_max_displacement
        self.output_level = config.flow_output_level
        self.pyramid = FeaturePyramid(config.flow_pyramid_channels, config.flow_convs_per_level)
        cost_channels = (2 * config.flow_max_displacement + 1) ** 2
        # one decoder per level from the coarsest down to the output level
        self.decoders = nn.ModuleDict(
            {
                str(level): FlowDecoder(cost_channels + width + 2, config.flow_decoder_channels)
                for level, width in enumerate(config.flow_pyramid_channels, start=1)
                if level >= config.flow_output_level
            }
        )

    def estimate(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        """One-directional flow image1 -> image2, (B, 2, H, W) in full-resolution pixels."""
        return self.estimate_from_pyramids(self.pyramid(image1), self.pyramid(image2))

    def estimate_from_pyramids(
        self, pyramid1: list[torch.Tensor], pyramid2: list[torch.Tensor], initial: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Flow from the first pyramid's image to the second's, (B, 2, H, W), full-resolution pixels.

        ``initial`` (B, 2, H, W), full-resolution pixels, optional: a guess the coarsest decoder
        starts from instead of zero flow (area-averaged to its level), so a motion larger than
        the coarse search reaches is a residual the decoders can correct
        (:mod:`nlvfi.flow_prior`).
        """
        flow = None
        for level in range(len(pyramid1), self.output_level - 1, -1):
            f1, f2 = pyramid1[level - 1], pyramid2[level - 1]  # (B, C_l, h, w)
            if flow is None and initial is None:  # the flow accumulates in float32, also under bf16 autocast
                flow = torch.zeros(f1.shape[0], 2, *f1.shape[-2:], device=f1.device)  # (B, 2, h, w)
                warped = f2
            elif flow is None:
                flow = F.interpolate(initial.float(), size=f1.shape[-2:], mode="area") / 2**level  # (B, 2, h, w)
                warped = backward_warp(f2, flow, padding="zeros")  # (B, C_l, h, w)
            else:
                flow = 2.0 * F.interpolate(flow, size=f1.shape[-2:], mode="bilinear", align_corners=False)
                warped = backward_warp(f2, flow, padding="zeros")  # (B, C_l, h, w)
            # correlate contrast-normalised features (see contrast_normalize)
            cost = cost_volume(contrast_normalize(f1), contrast_normalize(warped), self.max_displacement)  # (B, (2d+1)^2, h, w)
            decoder_input = torch.cat((cost, f1, flow.to(f1.dtype)), dim=1)
            flow = flow + self.decoders[str(level)](decoder_input).float()  # (B, 2, h, w)
        scale = 2**self.output_level
        full_size = (flow.shape[-2] * scale, flow.shape[-1] * scale)
        return scale * F.interpolate(flow, size=full_size, mode="bilinear", align_corners=False)

    def forward(
        self,
        prev: torch.Tensor,
        next: torch.Tensor,
        initial: tuple[torch.Tensor, torch.Tensor] | None = None,
        scale: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``initial``: optional guesses of the forward and backward flows, (B, 2, H, W) each
        (see :meth:`estimate_from_pyramids`); None starts both from zero flow.

        ``scale``: estimate on the frames enlarged this many times (bicubic), then bring the flows
        back to (B, 2, H, W) (area-averaged, divided by ``scale``). A test-time option of the
        video tools (:func:`nlvfi.interpolate.flow_scale_for`): the pyramid's features then see
        small things at a size its filters resolve, and the decoders' 1/4-size output is 1/8 of
        the frame. Costs about ``scale``² the estimator's time and memory.
        """
        if scale != 1:
            return self._forward_enlarged(prev, next, initial, scale)
        # One pyramid for both frames: the backward direction's pyramids are the forward
        # direction's with the halves swapped (the same numbers; the convs ran once, not twice).
        batch = prev.shape[0]
        pyramid = self.pyramid(torch.cat((prev, next)))  # per level (2B, C_l, h, w): prev then next
        swapped = [torch.cat((level[batch:], level[:batch])) for level in pyramid]  # next then prev
        start = None if initial is None else torch.cat(initial)  # (2B, 2, H, W): forward then backward
        both = self.estimate_from_pyramids(pyramid, swapped, start)  # (2B, 2, H, W)
        forward_flow, backward_flow = both.chunk(2)
        return forward_flow, backward_flow

    def _forward_enlarged(
        self, prev: torch.Tensor, next: torch.Tensor, initial: tuple[torch.Tensor, torch.Tensor] | None, scale: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` with ``scale`` > 1: the flows of the enlarged frames, brought back."""
        if not (isinstance(scale, int) and scale >= 1):
            raise ValueError(f"flow scale must be a whole number >= 1, got {scale!r}")
        size = prev.shape[-2:]

        def enlarge(image: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 3, sH, sW)
            return F.interpolate(image, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0.0, 1.0)

        if initial is not None:  # guesses in pixels of the enlarged frames
            initial = tuple(scale * F.interpolate(flow, scale_factor=scale, mode="bilinear", align_corners=False) for flow in initial)
        flows = self.forward(enlarge(prev), enlarge(next), initial)  # (B, 2, sH, sW) each
        forward_flow, backward_flow = (F.interpolate(flow, size=size, mode="area") / scale for flow in flows)
        return forward_flow, backward_flow  # (B, 2, H, W) each
