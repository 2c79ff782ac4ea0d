"""Saving and loading generators: exact round trip, no pickle ever executed."""

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

import nlvfi
from nlvfi.checkpoint import DIGEST_KEY, CheckpointError, add_weights_digest, read_metadata, weights_digest


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


def test_staged_copy_is_byte_for_byte_and_a_copy_that_reads_back_otherwise_leaves_nothing(tmp_path, monkeypatch):
    import nlvfi.checkpoint as checkpoint

    original = tmp_path / "in.gif"
    original.write_bytes(bytes(range(256)) * 5000)  # over one 1 MiB piece
    staging, size = checkpoint.staged_copy(original, tmp_path / "out.gif", ".staging.gif")
    assert staging.name.startswith(".out.gif.") and staging.read_bytes() == original.read_bytes() and size == 1_280_000
    staging.unlink()
    digests = iter(["read", "written"])
    monkeypatch.setattr(checkpoint, "sha256_of", lambda path, copy_to=None: next(digests))
    with pytest.raises(OSError, match="differs from what was read"):
        checkpoint.staged_copy(original, tmp_path / "out.gif", ".staging.gif")
    assert [p.name for p in tmp_path.iterdir()] == ["in.gif"]


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


def _tiny_checkpoint(path):
    """A freshly saved tiny generator (with its digest) and its weights."""
    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny")
    nlvfi.save_generator(generator, path)
    return generator.state_dict()


def _old_format_checkpoint(path, state):
    """``state`` saved the way nlvfi did before weights digests: same metadata, no digest."""
    metadata = {"format": "nlvfi-generator", "format_version": "1", "config": json.dumps(nlvfi.ModelConfig.tiny().to_dict())}
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)


def _data_start(path):
    """Offset of the first tensor byte: the 8-byte header length, then the JSON header."""
    return 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]


def test_nan_weights_behind_an_intact_header_are_refused(tmp_path):
    """QA's case: the tail overwritten with 0xff bytes (float32 NaN) gave black frames, exit 0."""
    path = tmp_path / "g.safetensors"
    _tiny_checkpoint(path)
    data = bytearray(path.read_bytes())
    data[-4000:] = b"\xff" * 4000
    path.write_bytes(data)
    read_metadata(path)  # the header still parses: only the weights are damaged
    with pytest.raises(CheckpointError, match="is corrupt"):
        nlvfi.load_generator(path)


def test_flipped_bytes_that_leave_every_weight_finite_fail_the_digest(tmp_path):
    path = tmp_path / "g.safetensors"
    _tiny_checkpoint(path)
    data = bytearray(path.read_bytes())
    start = _data_start(path)
    for offset in range(start, len(data), (len(data) - start) // 7 // 4 * 4)[:7]:
        data[offset] ^= 0x01  # lowest mantissa bit of a little-endian float32: a tiny finite change
    path.write_bytes(data)
    weights = load_file(str(path))
    assert all(torch.isfinite(w).all() for w in weights.values())  # only the digest can tell
    with pytest.raises(CheckpointError, match="do not match the digest stored when it was saved"):
        nlvfi.load_generator(path)


def test_a_checkpoint_saved_before_digests_loads_when_its_weights_are_finite(tmp_path):
    state = _tiny_checkpoint(tmp_path / "new.safetensors")
    path = tmp_path / "old.safetensors"
    _old_format_checkpoint(path, state)
    assert DIGEST_KEY not in read_metadata(path)
    loaded = nlvfi.load_generator(path).state_dict()
    assert all(torch.equal(state[k], loaded[k]) for k in state)


def test_a_checkpoint_saved_before_digests_is_refused_with_a_nan_weight_named(tmp_path):
    state = _tiny_checkpoint(tmp_path / "new.safetensors")
    name = sorted(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)[3]
    state[name] = state[name].clone()
    state[name].view(-1)[1] = float("nan")
    path = tmp_path / "old.safetensors"
    _old_format_checkpoint(path, state)
    with pytest.raises(CheckpointError, match=f"is corrupt: tensor '{name}' holds NaN or infinite values"):
        nlvfi.load_generator(path)


def test_a_checkpoint_saved_before_digests_is_refused_with_a_flipped_exponent_bit(tmp_path):
    # the damage a finite check cannot see: one float32's top exponent bit flipped multiplies a
    # weight under 2 by 2**128 (0.05 becomes 1.7e37), and the generator wrote garbage frames, exit 0
    state = _tiny_checkpoint(tmp_path / "new.safetensors")
    name = sorted(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)[5]
    state[name] = state[name].clone()
    bits = state[name].view(-1)[2:3].view(torch.int32)
    bits ^= 1 << 30  # in place, through the view
    assert torch.isfinite(state[name]).all() and state[name].abs().max() > 1e30
    path = tmp_path / "old.safetensors"
    _old_format_checkpoint(path, state)
    with pytest.raises(CheckpointError, match=f"is corrupt or from a diverged run: tensor '{name}' holds a weight of"):
        nlvfi.load_generator(path)
    with pytest.raises(CheckpointError, match=name):
        add_weights_digest(path)  # a digest must not vouch for it either


def test_a_digest_does_not_excuse_a_weight_no_trained_generator_has(tmp_path):
    from nlvfi.checkpoint import MAX_WEIGHT

    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny")
    with torch.no_grad():
        generator.synthesis.stem.weight[0, 0, 0, 0] = 2 * MAX_WEIGHT  # a run that diverged, saved as it was
    path = tmp_path / "diverged.safetensors"
    nlvfi.save_generator(generator, path)
    with pytest.raises(CheckpointError, match="synthesis.stem.weight' holds a weight of 2e\\+04"):
        nlvfi.load_generator(path)
    with torch.no_grad():
        generator.synthesis.stem.weight[0, 0, 0, 0] = MAX_WEIGHT  # the limit itself is allowed
    nlvfi.save_generator(generator, path)
    nlvfi.load_generator(path)


def test_add_weights_digest_keeps_tensors_and_metadata_and_refuses_nan(tmp_path):
    state = _tiny_checkpoint(tmp_path / "new.safetensors")
    old, upgraded = tmp_path / "old.safetensors", tmp_path / "upgraded.safetensors"
    _old_format_checkpoint(old, state)
    digest = add_weights_digest(old, upgraded)
    assert read_metadata(upgraded) == {**read_metadata(old), DIGEST_KEY: digest}
    assert digest == read_metadata(tmp_path / "new.safetensors")[DIGEST_KEY]  # same weights, same digest
    before, after = load_file(str(old)), load_file(str(upgraded))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    state["synthesis.stem.weight"] = torch.full_like(state["synthesis.stem.weight"], float("nan"))
    _old_format_checkpoint(old, state)
    with pytest.raises(CheckpointError, match="synthesis.stem.weight"):
        add_weights_digest(old)  # a digest must never vouch for damaged weights
    assert DIGEST_KEY not in read_metadata(old)


def test_the_shipped_checkpoint_loads_and_carries_a_matching_digest():
    from nlvfi.interpolate import DEFAULT_CHECKPOINT

    nlvfi.load_generator(DEFAULT_CHECKPOINT)
    assert read_metadata(DEFAULT_CHECKPOINT)[DIGEST_KEY] == weights_digest(load_file(str(DEFAULT_CHECKPOINT)))


def test_interpolate_with_a_nan_checkpoint_gives_one_line_and_writes_nothing(tmp_path, capsys):
    from PIL import Image

    from nlvfi.interpolate import main

    path = tmp_path / "g.safetensors"
    _tiny_checkpoint(path)
    data = bytearray(path.read_bytes())
    data[-4000:] = b"\xff" * 4000
    path.write_bytes(data)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (32, 32), (90, 120, 30)).save(tmp_path / name)
    argv = [str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "m.png"), "--checkpoint", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is corrupt" in err, err
    assert not (tmp_path / "m.png").exists()
