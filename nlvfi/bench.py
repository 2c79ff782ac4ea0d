"""Speed and memory of the generator: parameters, forward time, peak memory, attention memory.

    python -m nlvfi.bench                       # CPU: tiny/small/full at 256x256 .. 1920x1080
    python -m nlvfi.bench --device cuda         # the same on a GPU
    python -m nlvfi.bench --sizes tiny --resolutions 640x480 --repeats 5
    nlvfi bench -- --help

Every measurement runs in a fresh subprocess, so "peak memory" is that process's own peak:
on the CPU its peak resident set size (ru_maxrss, which includes ~0.3 GB of Python + torch),
with the increase over the loaded model shown beside it; on CUDA,
torch.cuda.max_memory_allocated. Time is the median of N forward passes after one warm-up,
in inference mode, with torch's default thread count. The generator runs as the tools run it:
its weights laid out channels-last but for the flow estimator
(:func:`nlvfi.acceleration.channels_last_for_inference`; ``--layout contiguous`` measures
PyTorch's default layout, as a library caller who builds the generator gets it), and on the CPU
with the freed memory kept for the next pass (:func:`nlvfi.acceleration.keep_freed_cpu_memory`;
``--system-allocator`` measures glibc's allocator as it comes). results/bench_cpu.md holds the
tables. The tables are printed and written (Markdown) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESOLUTIONS = ("256x256", "640x480", "1280x720", "1920x1080")
ATTENTION_RESOLUTIONS = ("640x480", "1280x720", "1920x1080", "3840x2160")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: weight layouts a forward pass can be measured in: as the tools lay them out, or PyTorch's default
LAYOUTS = ("channels-last", "contiguous")


def worker_forward(
    size: str, resolution: str, device_name: str, repeats: int, keep_memory: bool = True, layout: str = "channels-last"
) -> dict:
    """Time ``repeats`` forward passes of a ``size`` generator on one random pair (``keep_memory``:
    on the CPU, the freed memory kept as the tools keep it; ``layout``: one of :data:`LAYOUTS`;
    module doc)."""
    import torch

    from .acceleration import channels_last_for_inference, keep_freed_cpu_memory
    from .generator import build_generator

    kept = keep_freed_cpu_memory(device_name) if keep_memory else False

    width, height = map(int, resolution.split("x"))
    device = torch.device(device_name)
    torch.manual_seed(0)
    generator = build_generator(size).to(device).eval()
    if layout == "channels-last":
        channels_last_for_inference(generator)  # as nlvfi.interpolate.load_generator lays it out for the tools
    elif layout != "contiguous":
        raise ValueError(f"layout {layout!r}: one of {', '.join(LAYOUTS)}")
    prev = torch.rand(1, 3, height, width, device=device)
    next = torch.rand(1, 3, height, width, device=device)
    baseline = _current_rss_mb()
    times = []
    with torch.inference_mode():
        for i in range(repeats + 1):
            _sync(device)
            start = time.perf_counter()
            generator(prev, next, t=0.5)
            _sync(device)
            if i:  # the first pass is a warm-up
                times.append(time.perf_counter() - start)
    result = {"ms": 1000 * statistics.median(times), "peak_mb": _peak_rss_mb(), "model_rss_mb": baseline, "freed_memory_kept": kept, "layout": layout}
    result["channels_last_weights"] = sum(  # convolution weights stored NHWC (and not also NCHW, as 1x1 ones are)
        weight.dim() == 4 and weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        for weight in generator.parameters()
    )
    if device.type == "cuda":
        result["gpu_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def worker_attention(resolution: str, explicit: bool, device_name: str) -> dict:
    """Peak memory of the small model's self-attention on the 1/16 map of ``resolution``."""
    import torch

    from .attention import SelfAttention
    from .config import ModelConfig

    config = ModelConfig.small()
    width, height = map(int, resolution.split("x"))
    device = torch.device(device_name)
    block = SelfAttention(config.nonlocal_channels, config.attention_key_channels, config.attention_value_channels)
    block = block.to(device).eval()
    x = torch.randn(1, config.nonlocal_channels, height // 16, width // 16, device=device)
    baseline = _current_rss_mb()
    with torch.inference_mode():
        _sync(device)
        start = time.perf_counter()
        block(x, return_weights=explicit)
        _sync(device)
    result = {"ms": 1000 * (time.perf_counter() - start), "positions": x.shape[-1] * x.shape[-2]}
    if device.type == "cuda":
        result["extra_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        result["extra_mb"] = _peak_rss_mb() - baseline
    return result


def _run_worker(args: list[str], timeout: float, script: list[str] | None = None) -> dict:
    """Run one measurement in a fresh interpreter; failures become an ``error`` entry.

    ``script``: what runs the worker (default ``-m nlvfi.bench``; benchmarks/speed.py passes
    its own path); it is called with ``--worker *args`` and prints one JSON line last.
    """
    command = [sys.executable, *(script or ["-m", "nlvfi.bench"]), "--worker", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"error": "out of memory (killed)" if done.returncode == -9 else last[:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def run(
    sizes, resolutions, device: str, repeats: int, attention: bool, timeout: float, keep_memory: bool = True,
    layout: str = "channels-last",
) -> str:
    """All measurements; returns the Markdown report."""
    import torch

    from . import PRESETS, build_generator
    from .summary import format_parameter_table

    lines = [
        f"# nlvfi benchmark ({device})",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median of {repeats} forward passes after one warm-up, batch 1, "
        "inference mode, float32. Peak RSS counts the whole process (Python + torch ~0.3 GB). "
        + ("Weights channels-last but for the flow estimator, as the tools lay them out (nlvfi.acceleration)." if layout == "channels-last"
           else "Weights in PyTorch's default contiguous layout (--layout contiguous), as a library caller builds the generator.")
        + ("" if device.startswith("cuda") else (" Freed memory kept for the next pass, as the tools run (nlvfi.acceleration)." if keep_memory
           else " glibc's allocator as it comes (--system-allocator), as a library caller runs it.")),
        "",
        "## Parameters per module",
        "",
        format_parameter_table({size: build_generator(size) for size in PRESETS}),
        "",
        "## Forward pass",
        "",
    ]
    gpu = device.startswith("cuda")
    header = "| model | resolution | ms / frame | frames / s | peak RSS (MB) | RSS over loaded model (MB) |"
    if gpu:
        header += " peak GPU memory (MB) |"
    lines += [header, "|---|---|---:|---:|---:|---:|" + ("---:|" if gpu else "")]
    for size in sizes:
        for resolution in resolutions:
            r = _run_worker(["forward", size, resolution, device, str(repeats), "kept" if keep_memory else "system", layout], timeout)
            if "error" in r:
                row = f"| {size} | {resolution} | {r['error']} | | | |" + (" |" if gpu else "")
            else:
                row = (
                    f"| {size} | {resolution} | {_fmt(r['ms'], 1)} | {_fmt(1000 / r['ms'], 2)} | "
                    f"{_fmt(r['peak_mb'])} | {_fmt(r['peak_mb'] - r['model_rss_mb'])} |"
                )
                if gpu:
                    row += f" {_fmt(r['gpu_peak_mb'])} |"
            print(row, flush=True)
            lines.append(row)
    if attention:
        lines += [
            "",
            "## Self-attention: explicit weight matrix vs memory-efficient (small model, 1/16 map)",
            "",
            "| input resolution | positions N | explicit: extra memory (MB) | explicit ms | efficient: extra memory (MB) | efficient ms | memory ratio |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for resolution in ATTENTION_RESOLUTIONS:
            e = _run_worker(["attention", resolution, "explicit", device], timeout)
            m = _run_worker(["attention", resolution, "efficient", device], timeout)
            if "error" in e or "error" in m:
                row = f"| {resolution} | | {e.get('error', _fmt(e.get('extra_mb')))} | | {m.get('error', _fmt(m.get('extra_mb')))} | | |"
            else:
                ratio = e["extra_mb"] / max(m["extra_mb"], 1.0)
                row = (
                    f"| {resolution} | {e['positions']:,} | {_fmt(e['extra_mb'])} | {_fmt(e['ms'], 1)} | "
                    f"{_fmt(m['extra_mb'])} | {_fmt(m['ms'], 1)} | {ratio:,.0f}x |"
                )
            print(row, flush=True)
            lines.append(row)
    flag = ("" if keep_memory else " --system-allocator") + ("" if layout == "channels-last" else f" --layout {layout}")
    lines += ["", f"Reproduce: `python -m nlvfi.bench --device {device} --repeats {repeats}{flag}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlvfi.bench", description="nlvfi speed and memory benchmark")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "full"])
    parser.add_argument("--resolutions", nargs="+", default=list(RESOLUTIONS), help="WIDTHxHEIGHT ...")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-attention", action="store_true", help="skip the attention memory table")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file for the report")
    parser.add_argument("--system-allocator", action="store_true", help="on the CPU, glibc's allocator as it comes (module doc)")
    parser.add_argument("--layout", choices=LAYOUTS, default="channels-last", help="weight layout (default: as the tools run it)")
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "forward":
            size, resolution, device, repeats, allocator, layout = rest
            result = worker_forward(size, resolution, device, int(repeats), allocator == "kept", layout)
        else:
            resolution, mode, device = rest
            result = worker_attention(resolution, mode == "explicit", device)
        print(json.dumps(result))
        return 0
    report = run(args.sizes, args.resolutions, args.device, args.repeats, not args.no_attention, args.timeout, not args.system_allocator, args.layout)
    print()
    print(report)
    if args.out:
        from .checkpoint import atomic_write

        atomic_write(args.out, lambda tmp: Path(tmp).write_text(report))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
