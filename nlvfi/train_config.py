"""Training configuration: a TOML file with four sections, every key documented and checked.

Unknown sections or keys are an error (a typo must not silently train the wrong thing).
Relative paths are resolved against the current working directory.
See ``configs/ci.toml``, ``configs/cpu.toml``, ``configs/cuda.toml``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .config import PRESETS


@dataclass
class ModelSection:
    size: str = "tiny"  # generator preset: tiny | small | full
    discriminator_size: str = "tiny"  # discriminator width: tiny | small | full
    init: str = ""  # optional generator .safetensors to start from (same size)
    use_nonlocal: bool = True  # False: the "local only" ablation (no non-local branch)

    def generator_config(self):
        """The generator's ModelConfig: the preset, with the non-local branch on or off."""
        from .config import ModelConfig

        return dataclasses.replace(ModelConfig.preset(self.size), use_nonlocal=self.use_nonlocal)


@dataclass
class DataSection:
    crop_size: int = 128  # training crops (synthetic scenes are rendered at this size)
    synthetic_samples: int = 4000  # flying-layers scenes per epoch (0: none)
    synthetic_motion: list = field(default_factory=lambda: ["small", "medium", "large", "extreme"])
    videos: list = field(default_factory=list)  # real clips; their first 80% is trained on
    video_gaps: list = field(default_factory=lambda: [1, 2, 4])  # triplets (k-d, k, k+d)
    video_spans: list = field(default_factory=list)  # also (k, k+j, k+s), t = j/s, for each span s
    video_max_side: int = 0  # downscale clips so the longer side is at most this (0: keep)
    video_downscales: list = field(default_factory=lambda: [1])  # train on each clip also shrunk f times
    video_cache: str = ""  # folder for decoded-frame caches ("" : decode each run)
    vimeo_root: str = ""  # a Vimeo-90K triplet folder (sequences/, tri_trainlist.txt)
    flow_teacher: str = ""  # "" | "dis": real triplets get OpenCV DIS flows as flow targets
    video_repeat: int = 1  # how many times the real triplets appear per epoch
    val_synthetic_samples: int = 32  # held-out synthetic scenes (another seed), 0: none
    val_video_triplets: int = 48  # held-out real triplets (last 20% of each clip), 0: none


@dataclass
class OptimSection:
    batch_size: int = 4  # per process
    flow_pretrain_steps: int = 0  # phase 0 (optional): the flow module alone, on flow targets
    pretrain_steps: int = 100  # phase 1: Charbonnier (+ optional supervision)
    gan_steps: int = 50  # phase 2: L_G = L_c + lambda L_a, alternating D updates
    lr_generator: float = 1e-3
    lr_discriminator: float = 1e-4
    lr_final_fraction: float = 0.1  # cosine decay of the generator's lr to this fraction
    adversarial_weight: float = 5e-3  # lambda (ESRGAN's value for this loss form)
    flow_supervision_weight: float = 0.0  # optional: EPE to the true (or teacher) flows
    depth_supervision_weight: float = 0.0  # optional, synthetic only: scale-invariant log depth
    grad_clip: float = 1.0  # max gradient norm (0: off)


@dataclass
class RunSection:
    out_dir: str = "runs/ci"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    validate_every: int = 50
    checkpoint_every: int = 50
    num_workers: int = 0
    tensorboard: bool = False  # also log to TensorBoard when installed


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    run: RunSection = field(default_factory=RunSection)

    @property
    def total_steps(self) -> int:
        return self.optim.flow_pretrain_steps + self.optim.pretrain_steps + self.optim.gan_steps

    def phase(self, step: int) -> str:
        """The phase that step ``step`` (0-based) belongs to: "flow", "pretrain" or "gan"."""
        if step < self.optim.flow_pretrain_steps:
            return "flow"
        if step < self.optim.flow_pretrain_steps + self.optim.pretrain_steps:
            return "pretrain"
        return "gan"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> "TrainConfig":
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(raw) - set(sections)
        if unknown:
            raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(sections)}")
        built = {}
        for name, section_cls in (("model", ModelSection), ("data", DataSection), ("optim", OptimSection), ("run", RunSection)):
            values = raw.get(name, {})
            if not isinstance(values, dict):
                raise ValueError(f"{source}: [{name}] must be a table")
            known = {f.name: f for f in dataclasses.fields(section_cls)}
            bad = set(values) - set(known)
            if bad:
                raise ValueError(f"{source}: unknown key(s) in [{name}]: {sorted(bad)}; known: {sorted(known)}")
            defaults = section_cls()
            for key, value in values.items():
                expected = type(getattr(defaults, key))
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                    raise ValueError(f"{source}: [{name}] {key} must be {expected.__name__}, got {value!r}")
                values = {**values, key: value}
            built[name] = section_cls(**values)
        config = cls(**built)
        config.validate(source)
        return config

    def validate(self, source: str = "config") -> None:
        if self.model.size not in PRESETS:
            raise ValueError(f"{source}: [model] size must be one of {PRESETS}, got {self.model.size!r}")
        if self.model.discriminator_size not in PRESETS:
            raise ValueError(f"{source}: [model] discriminator_size must be one of {PRESETS}")
        if self.optim.batch_size < 1 or self.total_steps < 1:
            raise ValueError(f"{source}: batch_size and pretrain_steps + gan_steps must be positive")
        if self.data.crop_size < 32 or self.data.crop_size % 32:
            raise ValueError(f"{source}: [data] crop_size must be a multiple of 32 (>= 32), got {self.data.crop_size}")
        if self.data.flow_teacher not in ("", "dis"):
            raise ValueError(f"{source}: [data] flow_teacher must be \"\" or \"dis\", got {self.data.flow_teacher!r}")
        if self.optim.flow_pretrain_steps < 0:
            raise ValueError(f"{source}: [optim] flow_pretrain_steps must be >= 0")
        if self.optim.flow_pretrain_steps and not (self.data.synthetic_samples or self.data.flow_teacher):
            raise ValueError(
                f"{source}: [optim] flow_pretrain_steps needs flow targets: synthetic_samples > 0 or flow_teacher = \"dis\""
            )
        from .data.video import check_downscales

        try:
            check_downscales(self.data.video_downscales)
        except ValueError as error:
            raise ValueError(f"{source}: [data] video_{error}") from None
        if not (self.data.synthetic_samples or self.data.videos or self.data.vimeo_root):
            raise ValueError(f"{source}: no training data: set synthetic_samples, videos or vimeo_root")


def load_train_config(path: str | Path) -> TrainConfig:
    """Read and check a TOML training config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    return TrainConfig.from_dict(raw, source=str(path))
