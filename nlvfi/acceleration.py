"""Making inference fast without changing what the generator computes.

Not part of the method (METHOD.md §2 says what is computed, not how fast); this is how the
tools (``nlvfi interpolate``, ``nlvfi repair``) and ``benchmarks/speed.py`` run it:

* :func:`channels_last_for_inference` stores the convolution weights of every sub-network but
  the flow estimator in channels-last (NHWC) order, which oneDNN's CPU convolutions and
  cuDNN's tensor cores prefer. Measured on the ``small`` model at 1280x720, one CPU thread,
  median of 3 (random weights, one process each): 8.7 s per frame contiguous, 7.3 s all
  channels-last, 6.8 s channels-last but the flow kept contiguous: its cost volume and feature
  warping (``grid_sample``) are slower on NHWC than its few convolutions gain. Outputs agree
  with the contiguous model to float32 rounding (about 5e-5 at most on [0, 1] frames;
  tests/test_acceleration.py). ``benchmarks/speed.py --layout contiguous`` measures it again.
* :func:`compile_generator` wraps ``torch.compile``; in inference mode it asks Inductor to
  *freeze* the weights (constant-fold them and pre-pack them for oneDNN), which on the CPU is
  most of what compiling gains, and on the CPU to store intermediates that several operations
  read (:func:`inductor_options`: the cost volume re-ran the flow's feature warping 81 times
  without it). It falls back to eager with a warning when compiling fails.

* :func:`expandable_cuda_segments` lets the CUDA caching allocator grow its blocks in place
  instead of keeping many of fixed sizes. The tools plan their calls within ``--max-memory-gb``
  (``nlvfi.interpolate.plan_inference``); with the default allocator a repair at 3840x2160
  planned for 16 GB took 12.6 GB allocated but 16.7 GB reserved from the GPU (29 GB: 24.2
  and 32.9) on an H200, the rest left in blocks too small for the next call. With expandable
  segments it reserved 14.3 and 27.8 GB (results/tools_cuda.md, table 3).

* :func:`keep_freed_cpu_memory` asks glibc's allocator to keep the memory a forward pass frees
  for the next one. By default it hands every block of 32 MiB or more back to the kernel when
  freed (mmap / munmap), so each call's feature maps came back as fresh pages that the kernel
  zeroes on first touch. On 2 CPU cores (results/cpu_batch.md, ``benchmarks/cpu_batch.py``: the
  tools' generator call, each allocator in a fresh process), the kernel took 8-50% of the CPU
  time at 640x480 and up, and four frames per call (the tools' default) took 1.17-1.74 x the time
  of one per call from 384x288 to 1920x1080; kept, 0.84-1.06 x (1280x720: 4.27 s a frame
  against 2.23, one per call 2.46 against 1.91), the frames identical. A 90-frame 1280x720
  screen recording's repair (25 frames made, ``nlvfi repair``'s defaults) took 403 s of
  generator time before and 215 s with it. Training gains too: ``nlvfi train``, ``nlvfi study``
  and ``nlvfi evaluate`` call it as well. On ``configs/cpu.toml`` cut to 40 steps a phase
  (results/cpu_training.md, ``benchmarks/cpu_training.py``, 3 runs each in a fresh process), the
  kernel's share of the CPU time fell from 17% to 3%, the steps ran 1.07-1.20 x as fast, the
  validation on whole real frames 1.5 x, the whole run took 62.6 s against 78.8, and the trained
  weights were bit-identical. ``nlvfi evaluate --checkpoint checkpoints/nlvfi-cpu.safetensors
  --videos data/opencv/vtest.avi data/opencv/Megamind.avi --gaps 1 --max-triplets 12
  --synthetic-samples 8 --no-dis`` took 33.2 and 26.6 s before (two runs; glibc's empty
  ``libpthread.so.0`` in ``LD_PRELOAD``, so that the setting is not made) and 21.7 and 18.2 s
  with it, every PSNR the same (ad hoc, 2 cores).
  The cost is memory: a heap that hands nothing back grows where a freed block is too small for
  the next request. One forward pass of a fresh generator (``python -m nlvfi.bench``, each in its
  own process, weights laid out as the tools lay them out, results/bench_cpu.md of 2026-12-03)
  peaked at 0.97-1.10x the RSS of glibc's defaults for ``tiny`` (the shipped model), but at
  1.50x for ``small`` and 1.44x for ``full`` at 1920x1080 (8.8 GB against 6.1), while it ran
  2.4x and 2.25x as fast; the contiguous layout's run of 2026-12-02 had ``full`` at 2.1x (12.8 GB
  against 6.0). The growth differs from process to process:
  the tools' own call (weights in channels-last, the repair's settings; results/cpu_memory.md,
  ``benchmarks/cpu_memory.py``, 3 fresh processes a row) peaked at up to 1.07x the memory plan's
  estimate for ``tiny``, 1.14x for ``small`` and 1.63x for ``full`` at 1280x720 and 1920x1080 (at
  1920x1080 7.2, 10.2 and 7.7 GB over the loaded model where 6.3 GB were planned); ``small`` later
  reached 1.32x in 2 of 6 processes at 1920x1080 (results/cpu_memory_given_back.md). The CPU's plan
  counts it (``nlvfi.interpolate.KEPT_HEAP_FACTOR``). One heap for all threads
  (``MALLOC_ARENA_MAX=1``) did not make it smaller (7.5-8.1 GB for ``full`` at 1920x1080) and made
  the call half as fast (ad hoc).
  Where nothing fits the budget with that growth, not even the smallest tiles, the plan gives
  the kept memory back (:func:`give_back_freed_cpu_memory`) and runs as glibc's allocator as it
  comes would, rather than refuse: ``full`` at 1920x1080 needs 4.9 GB in 256-px tiles kept and
  ran in 512-px tiles with 4 GB given back (results/cpu_memory_given_back.md,
  ``benchmarks/cpu_memory_repair.py``). Giving it back only there was measured: whole frames with
  the memory given back were slower through the whole repair than kept tiles (``full``, 9 GB, a
  12-frame 1920x1080 clip with 2 copies: 87-98 s against 61-62 s in kept 768-px tiles).

bf16 autocast is the caller's choice (``--dtype bf16`` in the benchmark; the trainer on CUDA):
it does change results, by about 1e-3 on [0, 1] frames with random weights; geometry stays
float32 inside the generator either way. With the shipped checkpoint on 20 held-out real
triplets per gap, bf16 gave 30.914 dB against fp32's 30.920 (d=1) and 26.947 both ways (d=2),
with single pixels up to 0.19 apart.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import warnings

import torch

from .generator import Generator


def expandable_cuda_segments(device: str | torch.device = "auto") -> bool:
    """Ask the CUDA caching allocator for expandable segments (module doc) when ``device`` is
    ``auto`` or a CUDA device, unless the user set ``PYTORCH_CUDA_ALLOC_CONF`` themselves; the
    command-line tools call it with their ``--device`` before loading the model. True when the
    setting was made. Nothing happens without CUDA, on another device, or where this torch has
    no such setting.
    """
    name = str(device)
    if not (name == "auto" or name.startswith("cuda")):
        return False
    if os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or not torch.cuda.is_available():
        return False
    try:
        torch.cuda.memory._set_allocator_settings("expandable_segments:True")
    except (AttributeError, RuntimeError):  # an older torch, or a platform without them
        return False
    return True


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
#: What :func:`give_back_freed_cpu_memory` sets: glibc's own most-mmapped-blocks default, and the
#: thresholds its dynamic rule settles at on 64-bit Linux (blocks of 32 MiB or more mmapped, the
#: heap's top trimmed past twice that; malloc.c, DEFAULT_MMAP_THRESHOLD_MAX). Any mallopt turns
#: that rule off for good, so it is set at the values the rule reaches.
_GIVEN_BACK_MMAP_MAX, _GIVEN_BACK_MMAP_THRESHOLD, _GIVEN_BACK_TRIM_THRESHOLD = 65536, 32 << 20, 64 << 20
#: glibc's own variables for them: a user who set one chose for themselves
_GLIBC_MALLOC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


_freed_cpu_memory_kept = False  # keep_freed_cpu_memory made its setting in this process


def freed_cpu_memory_kept() -> bool:
    """Whether :func:`keep_freed_cpu_memory` made its setting in this process (the CPU's plan
    depends on it: ``nlvfi.interpolate.CPU_TILE_FROM_PIXELS``)."""
    return _freed_cpu_memory_kept


def keep_freed_cpu_memory(device: str | torch.device = "auto") -> bool:
    """Ask glibc's malloc to serve large blocks from its heap and never hand freed memory back
    to the kernel (``mallopt(M_MMAP_MAX, 0)``, ``mallopt(M_TRIM_THRESHOLD, -1)``; module doc),
    when ``device`` is the CPU, or ``auto`` without CUDA: the model then runs on the CPU. The
    command-line tools call it with their ``--device`` before loading the model; it changes the
    whole process (its memory stays at its peak until it ends), so the library's functions
    leave it to their caller. True when the setting was made. Nothing happens on another device,
    off Linux or glibc, under a preloaded allocator (``LD_PRELOAD``: jemalloc, tcmalloc), or
    when the user set one of glibc's ``MALLOC_*_`` variables themselves.
    """
    name = str(device)
    if not (name == "cpu" or (name == "auto" and not torch.cuda.is_available())):
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if os.environ.get("LD_PRELOAD") or any(variable in os.environ for variable in _GLIBC_MALLOC_VARIABLES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    global _freed_cpu_memory_kept
    _freed_cpu_memory_kept = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, -1) == 1  # 1: done
    return _freed_cpu_memory_kept


def give_back_freed_cpu_memory() -> bool:
    """Undo :func:`keep_freed_cpu_memory`: large blocks are mmapped and handed back to the kernel
    when freed again, and what the heap holds free now is returned (``malloc_trim``). The CPU's
    plan calls it where nothing fits the budget with the kept heap's growth, not even the smallest
    tiles, but something does with glibc's allocator as it comes (``nlvfi.interpolate.plan_inference``):
    the frames are made instead of refused, more slowly. True when the kept memory was given back;
    False when this process did not keep it (nothing to do) or the C library refused.
    """
    global _freed_cpu_memory_kept
    if not _freed_cpu_memory_kept:
        return False
    libc = ctypes.CDLL(None)
    libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    settings = (
        (_M_MMAP_MAX, _GIVEN_BACK_MMAP_MAX), (_M_TRIM_THRESHOLD, _GIVEN_BACK_TRIM_THRESHOLD), (_M_MMAP_THRESHOLD, _GIVEN_BACK_MMAP_THRESHOLD)
    )  # fmt: skip
    if not all(libc.mallopt(parameter, value) == 1 for parameter, value in settings):
        return False
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    libc.malloc_trim(0)
    _freed_cpu_memory_kept = False
    return True


class _MallocInfo(ctypes.Structure):  # glibc's struct mallinfo2 (malloc.h, glibc 2.33 and later)
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip


def kept_free_cpu_bytes() -> int:
    """Bytes this process's heap holds free for its own next allocations: 0 unless
    :func:`keep_freed_cpu_memory` made its setting (glibc's ``mallinfo2().fordblks``). The
    system counts them as used, so the tools' CPU budget adds them back
    (``nlvfi.interpolate.available_memory``): a second plan in the same process would otherwise
    see less memory than it has."""
    if not _freed_cpu_memory_kept:
        return 0
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):  # glibc before 2.33
        return 0
    mallinfo2.argtypes, mallinfo2.restype = (), _MallocInfo
    return int(mallinfo2().fordblks)


def channels_last_for_inference(generator: Generator) -> Generator:
    """Channels-last weights for every sub-network but the flow estimator; eval mode; in place.

    Inputs need no conversion: a convolution with channels-last weights returns channels-last
    output whatever its input. Returns the same generator, for chaining.
    """
    generator.eval()
    for name, module in generator.named_children():
        if name != "flow":  # see the module docstring: the flow estimator is faster contiguous
            module.to(memory_format=torch.channels_last)
    return generator


def channels_last_frames(*frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The same (B, C, H, W) frames stored channels-last (values unchanged; a copy of each).

    What a compiled generator is fed (:func:`compile_generator`): it lets Inductor keep the
    whole graph in NHWC. Measured on ``small`` at 1280x720, one thread, bf16, compiled: 3.28 s
    per frame with contiguous frames, 2.64 s with channels-last ones. Eager PyTorch is the
    other way round (fp32: 6.3 s contiguous, 6.7 s channels-last frames), so eager calls keep
    the caller's layout.
    """
    return tuple(frame.contiguous(memory_format=torch.channels_last) for frame in frames)


def compile_generator(generator: Generator, enabled: bool = True, backend: str = "inductor", freeze: bool = True) -> Generator:
    """``torch.compile`` the generator's forward in place; on failure warn and keep it eager.

    Compiling happens at the first call (for each new frame size), so that call is wrapped
    too: if it fails for any reason but a bad input (ValueError/TypeError, which eager raises
    as well), the warning says why and this and every later call run eagerly.

    ``freeze`` (Inductor's ``freezing``) treats the weights as constants in graphs compiled
    under ``torch.inference_mode``/``no_grad``: do not change the weights afterwards (load a new
    checkpoint into a fresh generator instead). Graphs that need gradients are not frozen.
    The compiled graph is given its 4-D positional inputs (the frames) channels-last.
    Returns the same generator, for chaining.
    """
    if not enabled:
        return generator
    eager = generator.forward
    options = inductor_options(generator, freeze) if backend == "inductor" else None
    try:
        compiled = torch.compile(eager, backend=backend, options=options)
    except Exception as error:  # e.g. an unsupported Python or platform
        _compile_failed(error)
        return generator
    state = {"compiled": compiled}

    def forward(*args, **kwargs):
        if state["compiled"] is not None:
            frames = [a for a in args if isinstance(a, torch.Tensor) and a.dim() == 4]
            fast = iter(channels_last_frames(*frames))  # see channels_last_frames
            fed = tuple(next(fast) if isinstance(a, torch.Tensor) and a.dim() == 4 else a for a in args)
            try:
                return state["compiled"](*fed, **kwargs)
            except (ValueError, TypeError):
                raise
            except Exception as error:
                state["compiled"] = None
                _compile_failed(error)
        return eager(*args, **kwargs)

    generator.forward = forward  # an instance attribute: nn.Module.__call__ finds it first
    return generator


def inductor_options(generator: Generator, freeze: bool = True) -> dict | None:
    """The Inductor options :func:`compile_generator` uses for this generator.

    * ``freezing``: see :func:`compile_generator`.
    * ``realize_reads_threshold = 1``, on the CPU only: store an intermediate that several
      operations read instead of recomputing it inside each of them. Inductor's default (4)
      inlines the flow estimator's backward warp (a bilinear ``grid_sample``) and contrast
      normalisation into each of the 81 reads of the cost volume, so that warp ran 81 times per
      pyramid level. Measured on ``small``, one thread, bf16, random weights: the flow estimator
      alone at 1280x720 went from 0.73-1.13 s (five runs) to 0.37 s; the whole generator, the
      two settings compiled in one process and timed alternately (median of 5, the other core
      busy), from 4.00 to 3.57 s. The frames differ by float rounding only (8e-4 at most in
      bf16). In fp32 the same A/B gave 4.99 and 4.86 s and identical frames. Not used
      on CUDA, where it was not measured.
    """
    options = {}
    if freeze:
        options["freezing"] = True
    if all(p.device.type == "cpu" for p in generator.parameters()):
        options["realize_reads_threshold"] = 1
    return options or None


def _compile_failed(error: BaseException) -> None:
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
    warnings.warn(f"torch.compile failed, running without it: {reason}", RuntimeWarning, stacklevel=3)
