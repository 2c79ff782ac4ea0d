"""Saving and loading generator weights: safetensors plus the config, never a pickle.

A released generator is one ``.safetensors`` file: the tensors, and in its metadata the
format tag ``nlvfi-generator``, the format version and the ModelConfig as JSON. Loading reads
only that format, so a checkpoint cannot run code; a pickle (``torch.save``) or anything else
is refused with a clear error. Files are written atomically: temp file, fsync, rename.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ModelConfig
from .generator import Generator

FORMAT_TAG = "nlvfi-generator"
FORMAT_VERSION = "1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, unsafe or not an nlvfi generator."""


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)``, fsync the file, then rename it onto ``path``.

    An interrupted run leaves ``path`` as it was (or absent), never half-written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_generator(generator: Generator, path: str | os.PathLike, extra_metadata: dict | None = None) -> None:
    """Write the generator's weights and config to ``path`` (safetensors), atomically."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()}
    metadata = {
        "format": FORMAT_TAG,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(generator.config.to_dict()),
    }
    for key, value in (extra_metadata or {}).items():
        metadata[str(key)] = value if isinstance(value, str) else json.dumps(value)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_metadata(path: str | os.PathLike) -> dict:
    """The safetensors header metadata of ``path``, checking the file is safetensors at all.

    Raises CheckpointError for a missing file, a pickle/zip (``torch.save``) file, or a
    header that does not parse.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        head = f.read(9)
        # a safetensors file is an 8-byte little-endian header length, then the JSON header
        # ("{"); the length's low byte may be anything, 0x80 (a pickle's first byte) included
        plausible = len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] < 100_000_000
        if not plausible and (head[:2] == b"PK" or head[:1] == b"\x80"):
            raise CheckpointError(
                f"{path} is a pickle/torch.save file; nlvfi loads only safetensors checkpoints "
                "(pickles can execute code)"
            )
        if len(head) < 9:
            raise CheckpointError(f"{path} is too short to be a safetensors checkpoint")
        (header_size,) = struct.unpack("<Q", head[:8])
        f.seek(8)
        if header_size > min(path.stat().st_size - 8, 100_000_000):
            raise CheckpointError(f"{path} is not a safetensors file (corrupt header)")
        try:
            header = json.loads(f.read(header_size))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path} is not a safetensors file (corrupt header: {error})") from None
    return header.get("__metadata__", {}) or {}


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> Generator:
    """Build the generator a checkpoint describes and load its weights (no pickle involved)."""
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path} is a safetensors file but not an nlvfi generator checkpoint")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {metadata.get('format_version')!r}; expected {FORMAT_VERSION}")
    try:
        config = ModelConfig.from_dict(json.loads(metadata["config"]))
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path} carries an unreadable model config: {error}") from None
    try:
        state = load_file(str(path), device=str(device))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is corrupt: {error}") from None
    generator = Generator(config).to(device)
    try:
        missing, unexpected = generator.load_state_dict(state, strict=False)
    except RuntimeError as error:  # a tensor of the wrong shape
        first = str(error).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{path} does not match the {config.name} generator: {first}") from None
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match the {config.name} generator: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    return generator
