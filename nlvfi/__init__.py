"""nlvfi: non-local video frame interpolation, a course-style reproducible study.

Public API:
    build_generator(size) / build_discriminator(size)
    save_generator(G, path) / load_generator(path)
    losses.charbonnier / losses.ragan_generator_loss / losses.ragan_discriminator_loss
See README.md and METHOD.md (the method, paragraph by paragraph).
"""

from . import losses
from .checkpoint import CheckpointError, load_generator, save_generator
from .config import PRESETS, ModelConfig
from .discriminator import RelativisticDiscriminator, build_discriminator
from .generator import Generator, GeneratorOutput, build_generator
from .summary import format_parameter_table, parameter_counts

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "CheckpointError",
    "Generator",
    "GeneratorOutput",
    "ModelConfig",
    "RelativisticDiscriminator",
    "build_discriminator",
    "build_generator",
    "format_parameter_table",
    "load_generator",
    "losses",
    "parameter_counts",
    "save_generator",
]
