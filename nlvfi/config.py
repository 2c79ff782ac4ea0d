"""Model configuration: every width and size of the generator, with named presets.

Method: METHOD.md §2 (the generator) and its appendix (the public designs it builds on).
Numbers the method fixes are the defaults here: 4x4 kernels (¶0166), 4 down / 3 up groups in
the non-local branch (¶0130, ¶0135), 3 residual blocks in frame synthesis (¶0186).

Presets:
    ``tiny``  -- CI and CPU teaching: a 640x480 pair in well under a second on 2 cores.
    ``small`` -- the model the tools ship and benchmark.
    ``full``  -- close to the public design's widths (PWC-Net pyramid 16..196, max
                 displacement 4, 6 levels; a wide kernel U-Net; 64-channel synthesis).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

PRESETS = ("tiny", "small", "full")


@dataclass(frozen=True)
class ModelConfig:
    """All hyper-parameters of the generator.

    Attributes:
        name: preset name this config came from (``"custom"`` otherwise).
        flow_pyramid_channels: channels of each PWC-Net feature pyramid level, finest first;
            level ``i`` (1-based) is at 1/2**i of the input size.
        flow_convs_per_level: convolutions per pyramid level (PWC-Net uses 3).
        flow_decoder_channels: widths of the conv stack of every flow decoder.
        flow_max_displacement: search radius d of the cost volume ((2d+1)**2 channels).
        flow_output_level: finest level the decoders run at (PWC-Net: 2, i.e. 1/4 size);
            the flow is then bilinearly upsampled to full size.
        depth_channels: width of the hourglass's outer level.
        depth_levels: nesting depth of the hourglass (number of 2x poolings inside it).
        depth_input_scale: the hourglass runs at 1/depth_input_scale of the input size.
        kernel_size: side of the per-pixel adaptive kernel (4 -> 16 weights per pixel).
        kernel_unet_channels: U-Net widths, full resolution first.
        nonlocal_channels: width of the non-local branch.
        nonlocal_down_groups: number of (avg-pool /2 + residual block) groups.
        nonlocal_up_groups: number of (bilinear x2 + conv + residual block) groups, followed
            by one more upsampling layer (so down_groups == up_groups + 1).
        attention_key_channels: query/key channels of the self-attention (SAGAN: C/8).
        attention_value_channels: value channels of the self-attention (BigGAN: C/2).
        synthesis_channels: width of the frame-synthesis network.
        synthesis_blocks: residual blocks in frame synthesis (¶0186 suggests 3).
        use_nonlocal: False removes the non-local branch (the study's "local only" ablation):
            frame synthesis then sees only the local features.
    """

    name: str = "custom"
    flow_pyramid_channels: tuple[int, ...] = (8, 16, 24, 32)
    flow_convs_per_level: int = 2
    flow_decoder_channels: tuple[int, ...] = (32, 24, 16)
    flow_max_displacement: int = 3
    flow_output_level: int = 2
    depth_channels: int = 8
    depth_levels: int = 3
    depth_input_scale: int = 2
    kernel_size: int = 4
    kernel_unet_channels: tuple[int, ...] = (8, 16, 24)
    nonlocal_channels: int = 16
    nonlocal_down_groups: int = 4
    nonlocal_up_groups: int = 3
    attention_key_channels: int = 4
    attention_value_channels: int = 8
    synthesis_channels: int = 16
    synthesis_blocks: int = 3
    use_nonlocal: bool = True

    def __post_init__(self) -> None:
        if self.kernel_size != 4:
            raise ValueError(
                f"kernel_size must be 4 (the adaptive warping layer's 4x4 window), got {self.kernel_size}"
            )
        if not 1 <= self.flow_output_level <= len(self.flow_pyramid_channels):
            raise ValueError("flow_output_level must name one of the pyramid levels")
        if self.nonlocal_down_groups != self.nonlocal_up_groups + 1:
            raise ValueError(
                "the non-local branch needs down_groups == up_groups + 1 "
                "(the last upsampling layer restores full size, METHOD.md §2.2 step 4)"
            )
        if self.attention_key_channels > self.attention_value_channels:
            raise ValueError("attention_key_channels must not exceed attention_value_channels")
        if self.depth_input_scale not in (1, 2, 4):
            raise ValueError("depth_input_scale must be 1, 2 or 4")

    @property
    def stride(self) -> int:
        """Input sides are padded to a multiple of this (every sub-network divides evenly)."""
        return max(
            2 ** len(self.flow_pyramid_channels),
            2 ** self.nonlocal_down_groups,
            2 ** (len(self.kernel_unet_channels) - 1),
            self.depth_input_scale * 2**self.depth_levels,
        )

    def to_dict(self) -> dict:
        """Plain types only (stored as JSON in checkpoints)."""
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @classmethod
    def tiny(cls) -> "ModelConfig":
        return cls(name="tiny")

    @classmethod
    def small(cls) -> "ModelConfig":
        return cls(
            name="small",
            flow_pyramid_channels=(16, 32, 48, 64, 96),
            flow_convs_per_level=2,
            flow_decoder_channels=(64, 48, 32),
            flow_max_displacement=4,
            depth_channels=16,
            depth_levels=4,
            kernel_unet_channels=(16, 32, 48, 64),
            nonlocal_channels=32,
            attention_key_channels=8,
            attention_value_channels=16,
            synthesis_channels=32,
        )

    @classmethod
    def full(cls) -> "ModelConfig":
        return cls(
            name="full",
            flow_pyramid_channels=(16, 32, 64, 96, 128, 196),
            flow_convs_per_level=3,
            flow_decoder_channels=(128, 128, 96, 64, 32),
            flow_max_displacement=4,
            depth_channels=64,
            depth_levels=4,
            kernel_unet_channels=(32, 64, 128, 256, 512),
            nonlocal_channels=64,
            attention_key_channels=8,
            attention_value_channels=32,
            synthesis_channels=64,
        )

    @classmethod
    def preset(cls, name: str) -> "ModelConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown model size {name!r}; choose one of {', '.join(PRESETS)}")
        return getattr(cls, name)()
