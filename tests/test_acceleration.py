"""nlvfi.acceleration: faster layouts and compiling must not change the frames."""

import pytest
import torch

from nlvfi import acceleration
from nlvfi.checkpoint import save_generator
from nlvfi.generator import build_generator
from nlvfi.interpolate import load_model


def conv_weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_channels_last_gives_the_same_frame(size):
    torch.manual_seed(0)
    generator = build_generator(size).eval()
    frames = torch.rand(2, 1, 3, 45, 71, generator=torch.Generator().manual_seed(1))  # odd sides: padding too
    with torch.inference_mode():
        expected = generator(frames[0], frames[1], t=0.3).frame
        acceleration.channels_last_for_inference(generator)
        fast = generator(frames[0], frames[1], t=0.3).frame
    assert fast.shape == expected.shape
    torch.testing.assert_close(fast.contiguous(), expected, atol=2e-4, rtol=0)  # float32 reordering only


def test_channels_last_skips_the_flow_estimator_and_sets_eval_mode():
    generator = build_generator("tiny").train()
    acceleration.channels_last_for_inference(generator)
    assert not generator.training
    assert all(w.is_contiguous() for w in conv_weights(generator.flow))
    others = [w for name, child in generator.named_children() if name != "flow" for w in conv_weights(child)]
    assert others and all(w.is_contiguous(memory_format=torch.channels_last) for w in others if w.shape[-1] > 1)


def test_the_tools_load_the_generator_in_the_fast_layout(tmp_path):
    path = tmp_path / "g.safetensors"
    save_generator(build_generator("tiny"), path)
    generator, _ = load_model(path, "cpu")
    assert not generator.training
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(generator.synthesis) if w.shape[-1] > 1)


@pytest.mark.parametrize("backend, freezing", [("inductor", True), ("eager", False)])
def test_compile_freezes_weights_only_with_inductor(monkeypatch, backend, freezing):
    seen = {}

    def fake_compile(fn, **kwargs):
        seen.update(kwargs)
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    acceleration.compile_generator(build_generator("tiny"), backend=backend)
    assert seen["backend"] == backend
    assert (seen["options"] or {}).get("freezing", False) is freezing


def test_on_the_cpu_intermediates_read_several_times_are_stored_not_recomputed():
    options = acceleration.inductor_options(build_generator("tiny"))
    assert options == {"freezing": True, "realize_reads_threshold": 1}
    assert acceleration.inductor_options(build_generator("tiny"), freeze=False) == {"realize_reads_threshold": 1}
    meta = build_generator("tiny").to("meta")  # not on the CPU: Inductor's defaults but freezing
    assert acceleration.inductor_options(meta) == {"freezing": True}


def test_a_compiled_generator_is_fed_channels_last_frames_with_the_same_values(monkeypatch):
    seen = []

    def fake_compile(fn, **kwargs):
        def compiled(*args, **kw):
            seen.extend(a for a in args if isinstance(a, torch.Tensor))
            return fn(*args, **kw)

        return compiled

    monkeypatch.setattr(torch, "compile", fake_compile)
    torch.manual_seed(0)
    generator = acceleration.channels_last_for_inference(build_generator("tiny"))
    frames = torch.rand(2, 1, 3, 40, 56, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected = generator(frames[0], frames[1], t=0.5).frame
        acceleration.compile_generator(generator)
        fed = generator(frames[0], frames[1], t=0.5).frame
    assert len(seen) == 2 and all(x.is_contiguous(memory_format=torch.channels_last) for x in seen)
    assert torch.equal(seen[0], frames[0]) and torch.equal(seen[1], frames[1])
    assert frames[0].is_contiguous()  # the caller's tensors are left as they were
    torch.testing.assert_close(fed.contiguous(), expected, atol=2e-4, rtol=0)


def test_expandable_cuda_segments_only_on_cuda_and_never_over_the_users_setting(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda.memory, "_set_allocator_settings", lambda text: calls.append(text), raising=False)
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert acceleration.expandable_cuda_segments() is False and calls == []  # no CUDA: nothing to set
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert acceleration.expandable_cuda_segments("cpu") is False and calls == []  # a CPU run leaves CUDA alone
    assert acceleration.expandable_cuda_segments() is True and calls == ["expandable_segments:True"]
    assert acceleration.expandable_cuda_segments("cuda:0") is True and len(calls) == 2
    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "max_split_size_mb:128")
    assert acceleration.expandable_cuda_segments() is False and len(calls) == 2  # the user's own setting stands
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF")

    def refuse(text):
        raise RuntimeError("expandable_segments not supported on this platform")

    monkeypatch.setattr(torch.cuda.memory, "_set_allocator_settings", refuse)
    assert acceleration.expandable_cuda_segments() is False
