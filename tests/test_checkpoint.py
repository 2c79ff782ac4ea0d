"""Saving and loading generators: exact round trip, no pickle ever executed."""

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

import nlvfi
from nlvfi.checkpoint import CheckpointError


def test_save_load_round_trips_exactly(tmp_path):
    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny")
    path = tmp_path / "g.safetensors"
    nlvfi.save_generator(generator, path)
    loaded = nlvfi.load_generator(path)
    assert loaded.config == generator.config
    original, restored = generator.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    prev, next = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert torch.equal(generator.eval()(prev, next).frame, loaded.eval()(prev, next).frame)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write cleaned up after itself


class _Boom:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pickle payload executed')",))


def test_a_pickle_payload_is_refused_without_running_it(tmp_path):
    zipped = tmp_path / "torch.pt"
    torch.save({"weights": torch.zeros(1), "boom": _Boom()}, zipped)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Boom()))
    for path in (zipped, raw):
        with pytest.raises(CheckpointError, match="pickle"):
            nlvfi.load_generator(path)


def test_missing_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        nlvfi.load_generator(tmp_path / "nope.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        nlvfi.load_generator(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not an nlvfi generator"):
        nlvfi.load_generator(foreign)


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "g.safetensors"
    nlvfi.save_generator(nlvfi.build_generator("tiny"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        nlvfi.load_generator(path)


def test_weights_that_do_not_fit_their_config_are_refused(tmp_path):
    path = tmp_path / "g.safetensors"
    small_weights = {k: v.contiguous() for k, v in nlvfi.build_generator("small").state_dict().items()}
    metadata = {"format": "nlvfi-generator", "format_version": "1", "config": json.dumps(nlvfi.ModelConfig.tiny().to_dict())}
    save_file(small_weights, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="does not match the tiny generator"):
        nlvfi.load_generator(path)


def test_atomic_write_gives_normal_permissions(tmp_path):
    import os

    from nlvfi.checkpoint import atomic_write

    target = tmp_path / "file.txt"
    atomic_write(target, lambda tmp: open(tmp, "w").write("x"))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_header_length_starting_with_the_pickle_byte_still_loads(tmp_path):
    """The 8-byte header length is little-endian: its first byte can be 0x80, like a pickle's."""
    generator = nlvfi.build_generator("tiny")
    path = tmp_path / "g.safetensors"
    for padding in range(0, 512, 8):
        nlvfi.save_generator(generator, path, {"note": "x" * padding})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    loaded = nlvfi.load_generator(path)
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), loaded.state_dict().values()))
