"""nlvfi.acceleration: faster layouts and compiling must not change the frames."""

import json
import os
import platform
import subprocess
import sys

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


_GLIBC_LINUX = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# The start of the scripts below: glibc's mallinfo2 (malloc.h), read from Python.
_MALLINFO = """
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
"""

# In a fresh process: a 256 MiB tensor's pages, while it lives (mmapped bytes) and after it is freed
# (free bytes the heap keeps), from glibc's mallinfo2; the argument says whether to keep freed memory.
_HEAP_AFTER_A_LARGE_TENSOR = _MALLINFO + """
import json, sys
import torch
from nlvfi.acceleration import keep_freed_cpu_memory, kept_free_cpu_bytes
made = keep_freed_cpu_memory("cpu") if sys.argv[1] == "keep" else None
large = torch.ones(64 << 20)  # 256 MiB
mmapped = mallinfo2().hblkhd
del large
print(json.dumps({"made": made, "mmapped": mmapped, "kept_free": mallinfo2().fordblks, "counted": kept_free_cpu_bytes()}))
"""


@pytest.mark.skipif(not _GLIBC_LINUX, reason="glibc's malloc on Linux only")
def test_freed_cpu_memory_is_kept_in_the_heap_instead_of_handed_back(tmp_path):
    def heap(mode: str) -> dict:
        env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_") and name != "LD_PRELOAD"}
        done = subprocess.run([sys.executable, "-c", _HEAP_AFTER_A_LARGE_TENSOR, mode], env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    system, kept = heap("system"), heap("keep")
    assert system["mmapped"] >= 256 << 20 and system["kept_free"] < 256 << 20  # glibc's default: its own mapping, unmapped when freed
    assert kept["made"] is True
    assert kept["mmapped"] < 64 << 20 and kept["kept_free"] >= 256 << 20  # not a mapping of its own (those are imports'), and kept
    assert abs(kept["counted"] - kept["kept_free"]) < 1 << 20 and system["counted"] == 0  # what the CPU budget adds back (nlvfi.interpolate)


# In a fresh process: keep the freed memory, free a 256 MiB tensor, give the kept memory back, and
# allocate the same again (nlvfi.acceleration.give_back_freed_cpu_memory).
_HEAP_GIVEN_BACK = _MALLINFO + """
import json
import torch
from nlvfi import acceleration

def resident():  # bytes of this process in RAM (VmRSS, kB)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) << 10 for line in status if line.startswith("VmRSS:"))

before = acceleration.give_back_freed_cpu_memory()  # nothing kept yet
made = acceleration.keep_freed_cpu_memory("cpu")
large = torch.ones(64 << 20)  # 256 MiB, from the heap
del large
kept_free, resident_kept = mallinfo2().fordblks, resident()
given = acceleration.give_back_freed_cpu_memory()
after = {"kept": acceleration.freed_cpu_memory_kept(), "counted": acceleration.kept_free_cpu_bytes()}
resident_given = resident()
large = torch.ones(64 << 20)  # its own mapping again
mmapped = mallinfo2().hblkhd
del large
print(json.dumps({"before": before, "made": made, "kept_free": kept_free, "given": given, "after": after, "mmapped": mmapped,
                  "returned": resident_kept - resident_given, "again": acceleration.give_back_freed_cpu_memory()}))
"""


@pytest.mark.skipif(not _GLIBC_LINUX, reason="glibc's malloc on Linux only")
def test_the_kept_memory_can_be_given_back_to_the_system():
    """Where the kept heap's growth does not fit the budget, the CPU's plan gives the memory back
    (nlvfi.interpolate.plan_inference): what the heap holds free goes back to the kernel, and large
    blocks are their own mappings again, handed back when freed."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_") and name != "LD_PRELOAD"}
    done = subprocess.run([sys.executable, "-c", _HEAP_GIVEN_BACK], env=env, capture_output=True, text=True, check=True)
    heap = json.loads(done.stdout.strip().splitlines()[-1])
    assert heap["before"] is False and heap["made"] is True and heap["kept_free"] >= 256 << 20
    assert heap["given"] is True and heap["after"] == {"kept": False, "counted": 0}
    assert heap["returned"] >= 192 << 20  # trimmed: the free pages left the process's resident memory
    assert heap["mmapped"] >= 256 << 20  # a mapping of its own, unmapped when freed
    assert heap["again"] is False  # nothing kept any more


def test_freed_cpu_memory_is_kept_only_on_the_cpu_and_never_over_the_users_allocator(monkeypatch):
    calls = []

    class FakeLibc:
        @staticmethod
        def mallopt(*args):  # stands in for glibc's; records instead of changing this test process
            calls.append(args)
            return 1

    monkeypatch.setattr(acceleration.ctypes, "CDLL", lambda name: FakeLibc)
    monkeypatch.setattr(acceleration, "_freed_cpu_memory_kept", False)  # restored after: nothing was really set
    monkeypatch.setattr(acceleration.sys, "platform", "linux")
    monkeypatch.setattr(acceleration.platform, "libc_ver", lambda: ("glibc", "2.36"))
    for name in ("LD_PRELOAD", *acceleration._GLIBC_MALLOC_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert acceleration.keep_freed_cpu_memory() is False and calls == []  # auto with CUDA: the model runs there
    assert acceleration.keep_freed_cpu_memory("cuda:0") is False and calls == []
    assert acceleration.freed_cpu_memory_kept() is False
    assert acceleration.keep_freed_cpu_memory("cpu") is True and calls == [(-4, 0), (-1, -1)]  # M_MMAP_MAX 0, no trimming
    assert acceleration.freed_cpu_memory_kept() is True  # the CPU's plan asks (nlvfi.interpolate.CPU_TILE_FROM_PIXELS)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert acceleration.keep_freed_cpu_memory() is True and len(calls) == 4
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert acceleration.keep_freed_cpu_memory("cpu") is False and len(calls) == 4  # the user's own setting stands
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    assert acceleration.keep_freed_cpu_memory("cpu") is False and len(calls) == 4  # another allocator
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.setattr(acceleration.platform, "libc_ver", lambda: ("", ""))  # musl: no glibc knobs
    assert acceleration.keep_freed_cpu_memory("cpu") is False and len(calls) == 4


def test_the_cpu_budget_counts_the_memory_the_process_keeps_free_for_itself(monkeypatch):
    from nlvfi import interpolate as interp

    cpu = torch.device("cpu")
    monkeypatch.setattr(interp, "kept_free_cpu_bytes", lambda: 0)
    plain = interp.available_memory(cpu)
    monkeypatch.setattr(interp, "kept_free_cpu_bytes", lambda: 3 << 30)
    assert interp.available_memory(cpu) - plain == pytest.approx(3 << 30, abs=256 << 20)  # MemAvailable moves a little meanwhile
