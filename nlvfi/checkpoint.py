"""Saving and loading generator weights: safetensors plus the config, never a pickle.

A released generator is one ``.safetensors`` file: the tensors, and in its metadata the
format tag ``nlvfi-generator``, the format version, the ModelConfig as JSON and a SHA-256
digest of the weights. Loading reads only that format, so a checkpoint cannot run code; a
pickle (``torch.save``) or anything else is refused with a clear error. Files are written
atomically: temp file, fsync, rename.

A file whose header is intact can still carry damaged weights (a bad disk, a botched copy):
safetensors checks only that the byte ranges fit. Loading therefore recomputes the digest,
and refuses any non-finite weight, so such a file fails with one clear error instead of
NaN frames or a crash deep inside the model. Checkpoints saved before the digest existed
load when their weights are finite and of a trained network's size; :func:`add_weights_digest`
gives them one.

"Of a trained network's size": every weight within ±``MAX_WEIGHT`` (10⁴). The shipped
generators' largest weight is 1.03 in magnitude (all three stages). Flipping a float32's top
exponent bit leaves it finite and multiplies a weight under 2 in magnitude by 2¹²⁸ (0.05
becomes 1.7·10³⁷); without a digest nothing else catches it, and the generator then writes
garbage frames with exit 0.
"""

from __future__ import annotations

import hashlib
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
DIGEST_KEY = "weights_sha256"
MAX_WEIGHT = 1e4  # no trained generator weight comes near this (shipped: at most 1.03); module doc


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, unsafe or not an nlvfi generator."""


def settle(path: str | os.PathLike) -> None:
    """Flush a temporary file written in full to disk and give it the permissions a new file
    gets (mkstemp makes 0600), before it is renamed into place."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def staged_write(path: str | os.PathLike, suffix: str, write):
    """``(staging, write(staging))``: a new hidden file beside ``path`` (``.NAME.<random><suffix>``)
    filled by ``write``, then :func:`settle`-d, for the caller to rename onto ``path``. On an error
    or an interrupt the file is deleted and the error goes on."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    staging = Path(name)
    try:
        result = write(staging)
        settle(staging)
        return staging, result
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def staged_from(intermediate: Path, path: str | os.PathLike, suffix: str, write):
    """:func:`staged_write` of a file made from ``intermediate`` (a run's lossless video before
    its GIF, WebP or APNG); on an error or an interrupt ``intermediate`` is deleted too: the run
    goes on from its resume folder, which keeps the generated frames."""
    try:
        return staged_write(path, suffix, write)
    except BaseException:
        intermediate.unlink(missing_ok=True)
        raise


def sha256_of(path: str | os.PathLike, copy_to=None) -> str:
    """The SHA-256 (hex) of the file ``path``, read in 1 MiB pieces (each also written to
    ``copy_to``, a binary file, where given)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while piece := file.read(1 << 20):
            digest.update(piece)
            if copy_to is not None:
                copy_to.write(piece)
    return digest.hexdigest()


def copy_checked(original: str | os.PathLike, destination: str | os.PathLike) -> str:
    """Copy ``original`` to ``destination`` byte for byte, reading it once, then read the copy
    back: its SHA-256 (hex); OSError where it differs from what was read (a disk error)."""
    with open(destination, "wb") as file:
        read = sha256_of(original, copy_to=file)
    if sha256_of(destination) != read:
        raise OSError(f"the copy of {original} differs from what was read of it (a disk error?)")
    return read


def staged_copy(original: str | os.PathLike, path: str | os.PathLike, suffix: str) -> tuple[Path, int]:
    """``(staging, bytes)``: ``original`` copied byte for byte (:func:`copy_checked`) into a new
    hidden file beside ``path`` (:func:`staged_write`), for an output that is its input unchanged
    (a GIF or WebP repair that replaces no frame: coding it again would only change its bytes or
    lose quality)."""

    def copy(staging: Path) -> int:
        copy_checked(original, staging)
        return staging.stat().st_size

    return staged_write(path, suffix, copy)


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` (a str), fsync the file, then rename it onto ``path``.

    An interrupted run leaves ``path`` as it was (or absent), never half-written.
    """
    staging, _ = staged_write(path, ".tmp", lambda tmp: write(str(tmp)))
    try:
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) over every tensor's name, dtype, shape and raw bytes, in name order.

    It is computed from the tensors, not the file, so it does not depend on how safetensors
    lays them out; the per-tensor JSON line (with the byte count) keeps the boundaries between
    tensors unambiguous. Tensors must be on the CPU.
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy()  # (nbytes,), no copy
        digest.update(json.dumps([name, str(tensor.dtype), list(tensor.shape), raw.size]).encode() + b"\n")
        digest.update(raw.data)
    return digest.hexdigest()


def check_weights(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict) -> None:
    """Refuse weights that were damaged after saving, the header left intact.

    The stored digest (when the file has one) catches any changed byte; the finite and size
    checks are for files saved before digests existed, and a second line of defence: one NaN
    weight turns every output pixel NaN, which images then write as black; one weight of 10³⁰
    makes every frame garbage. (A digest-checked file with such a weight was saved so: a run
    that diverged. It is refused too.)

    Raises CheckpointError naming the file (and the tensor, for a non-finite or huge weight).
    """
    stored = metadata.get(DIGEST_KEY)
    if stored is not None and weights_digest(tensors) != stored:
        raise CheckpointError(f"{path} is corrupt: its weights do not match the digest stored when it was saved")
    for name, tensor in tensors.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path} is corrupt: tensor {name!r} holds NaN or infinite values")
        largest = float(tensor.abs().max())
        if largest > MAX_WEIGHT:
            raise CheckpointError(
                f"{path} is corrupt or from a diverged run: tensor {name!r} holds a weight of {largest:.3g} "
                f"(a trained generator's stay within ±{MAX_WEIGHT:g})"
            )


def save_generator(generator: Generator, path: str | os.PathLike, extra_metadata: dict | None = None) -> None:
    """Write the generator's weights, config and weights digest to ``path`` (safetensors), atomically.

    The digest is written last, so ``extra_metadata`` cannot replace it with a wrong one.
    """
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()}
    metadata = {
        "format": FORMAT_TAG,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(generator.config.to_dict()),
    }
    for key, value in (extra_metadata or {}).items():
        metadata[str(key)] = value if isinstance(value, str) else json.dumps(value)
    metadata[DIGEST_KEY] = weights_digest(tensors)
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def add_weights_digest(path: str | os.PathLike, out: str | os.PathLike | None = None) -> str:
    """Rewrite a checkpoint saved before digests existed with one, tensors and metadata kept as is.

    Writes to ``out`` (default: ``path`` itself, atomically) and returns the digest. The
    weights are checked first (a stored digest must match, every weight must be finite), so a
    damaged file is refused rather than given a digest that would vouch for it.
    """
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path} is a safetensors file but not an nlvfi generator checkpoint")
    tensors = _load_tensors(path)
    check_weights(path, tensors, metadata)
    metadata = {**metadata, DIGEST_KEY: weights_digest(tensors)}
    atomic_write(out if out is not None else path, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return metadata[DIGEST_KEY]


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


def _load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, on the CPU; CheckpointError if the data does not fit the header."""
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{path} is corrupt: {error}") from None


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> Generator:
    """Build the generator a checkpoint describes and load its weights (no pickle involved).

    Raises CheckpointError for a file that is missing, not ours, or corrupt: a header that does
    not parse, data that does not fit it, weights that fail their digest or are not finite
    (:func:`check_weights`), or weights that do not fit the config.
    """
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT_TAG:
        raise CheckpointError(f"{path} is a safetensors file but not an nlvfi generator checkpoint")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {metadata.get('format_version')!r}; expected {FORMAT_VERSION}")
    try:
        config = ModelConfig.from_dict(json.loads(metadata["config"]))
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path} carries an unreadable model config: {error}") from None
    state = _load_tensors(path)  # on the CPU, where the digest is computed; copied to device below
    check_weights(path, state, metadata)
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
