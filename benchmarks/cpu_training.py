"""Training on the CPU with the C allocator as it comes and with the freed memory kept.

    python benchmarks/cpu_training.py --repeats 3 --out results/cpu_training.md   # about 9 min on 2 cores
    python benchmarks/cpu_training.py --steps 20 --repeats 1                      # a quick look

Why: glibc's malloc hands every freed block of 32 MiB or more back to the kernel, so each
training step's activations and gradients come back as fresh pages the kernel zeroes. The tools
(``nlvfi repair``, ``nlvfi interpolate``) keep that memory for the next call
(``nlvfi.acceleration.keep_freed_cpu_memory``; results/cpu_batch.md); ``nlvfi train``,
``nlvfi study`` and ``nlvfi evaluate`` now do too. This script measures what it changes for the
recipe of the shipped checkpoint, ``configs/cpu.toml`` (tiny generator, 128-px crops, 8 per
step, real clips with DIS flow targets; run ``nlvfi data fetch`` first), each of its three
phases (flow, pretrain, gan) cut to ``--steps`` steps on ``--synthetic-samples`` scenes, with
one validation at the end (its 16 real held-out triplets are whole frames, 768x576 at most).

Each run is a fresh process (``--worker``; the allocators take turns within each repeat, after
one unmeasured warm-up run that builds the clips' cache). Per allocator it prints the median
over the repeats of: each phase's samples per second (the trainer's own ``log.csv``, the step
alone, median over the phase's steps after the first ``--skip``), the whole run's wall seconds
(start-up, data, steps, validation, checkpoints), one more validation timed on its own, the
kernel's share of the CPU time (the trainer's process and its data worker: page faults of fresh
allocations show there) and the trainer's peak resident memory; and whether the run's final
generator weights are bitwise those of the system allocator's run (the allocator must not change
what is computed).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.acceleration import keep_freed_cpu_memory  # noqa: E402
from nlvfi.checkpoint import DIGEST_KEY, atomic_write, read_metadata  # noqa: E402
from nlvfi.train_config import TrainConfig, load_train_config  # noqa: E402

PHASES = ("flow", "pretrain", "gan")
ALLOCATORS = ("system", "kept")


def shortened(config: TrainConfig, steps: int, synthetic_samples: int, out_dir: Path) -> TrainConfig:
    """``config`` with each phase cut to ``steps`` steps, validated once at the end, in ``out_dir``."""
    config.optim.flow_pretrain_steps = steps if config.optim.flow_pretrain_steps else 0
    config.optim.pretrain_steps = steps
    config.optim.gan_steps = steps
    config.data.synthetic_samples = synthetic_samples
    config.run.out_dir = str(out_dir)
    config.run.device = "cpu"
    config.run.validate_every = config.run.checkpoint_every = 10 * config.total_steps  # the end only
    return config


def run_worker(config_path: str, steps: int, synthetic_samples: int, out_dir: Path, allocator: str) -> dict:
    """Train once in this process (``--worker``): wall seconds, one more validation's seconds,
    this process's peak resident memory (bytes)."""
    if allocator == "kept" and not keep_freed_cpu_memory("cpu"):
        raise SystemExit("the freed memory cannot be kept here (glibc on Linux only, no LD_PRELOAD or MALLOC_*_ variables)")
    from nlvfi.train import Trainer

    config = shortened(load_train_config(config_path), steps, synthetic_samples, out_dir)
    started = time.perf_counter()
    trainer = Trainer(config, quiet=True)
    trainer.fit()
    wall = time.perf_counter() - started
    started = time.perf_counter()
    trainer.validate()
    validation = time.perf_counter() - started
    return {"wall": wall, "validation": validation, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def phase_speeds(log_csv: Path, skip: int) -> dict[str, float]:
    """Median samples per second of each phase's steps in a trainer's ``log.csv``, the first
    ``skip`` steps of each phase left out."""
    speeds: dict[str, list[float]] = {}
    with open(log_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            speeds.setdefault(row["phase"], []).append(float(row["samples_per_s"]))
    return {phase: statistics.median(values[skip:] or values) for phase, values in speeds.items()}


def measure_run(config: Path, steps: int, synthetic_samples: int, allocator: str, out_dir: Path, skip: int) -> dict:
    """One training run in a fresh process, from the repository root (the configs' relative
    paths): :func:`run_worker`'s numbers, the kernel's share of the CPU time of that process and
    its children, each phase's speed and the final weights' digest (the checkpoint's own; its
    metadata names the run's folder)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [sys.executable, __file__, "--config", str(config), "--steps", str(steps), "--synthetic-samples", str(synthetic_samples),
               "--worker", allocator, "--run-dir", str(out_dir)]  # fmt: skip
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {
        **json.loads(done.stdout.strip().splitlines()[-1]), "allocator": allocator, "kernel": system / max(user + system, 1e-9),
        "speeds": phase_speeds(out_dir / "log.csv", skip), "digest": read_metadata(out_dir / "generator_last.safetensors")[DIGEST_KEY],
    }  # fmt: skip


def summarise(runs: list[dict]) -> list[dict]:
    """One row per allocator: the median of its runs, and whether its weights are the system's."""
    reference = {run["digest"] for run in runs if run["allocator"] == "system"}
    rows = []
    for allocator in ALLOCATORS:
        mine = [run for run in runs if run["allocator"] == allocator]
        if not mine:
            continue
        row = {"allocator": allocator, "runs": len(mine)}
        for key in ("wall", "validation", "kernel", "peak_rss"):
            row[key] = statistics.median(run[key] for run in mine)
        for phase in PHASES:
            values = [run["speeds"][phase] for run in mine if phase in run["speeds"]]
            row[phase] = statistics.median(values) if values else None
        digests = {run["digest"] for run in mine}
        row["weights"] = "-" if allocator == "system" else ("identical" if digests <= reference and reference else "differ")
        rows.append(row)
    return rows


def format_table(rows: list[dict], steps: int, synthetic_samples: int, config: str, seconds: float, command: str) -> str:
    base = next((row for row in rows if row["allocator"] == "system"), rows[0])
    lines = [
        "# Training on the CPU: the C allocator as it comes, and the freed memory kept",
        "",
        f"`{command}`: x86_64, {torch.get_num_threads()} torch threads, torch {torch.__version__}; `{config}` with each phase cut to "
        f"{steps} steps on {synthetic_samples} synthetic scenes, one validation at the end; each run a fresh process, median of "
        f"the runs; {seconds:.0f} s in all.",
        "",
        "| allocator | runs | flow samples/s | pretrain samples/s | gan samples/s | run wall s | vs system | validation s | "
        "kernel share of CPU time | peak RSS (GB) | final weights vs system's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        speeds = " | ".join("-" if row[phase] is None else f"{row[phase]:.2f}" for phase in PHASES)
        lines.append(
            f"| {row['allocator']} | {row['runs']} | {speeds} | {row['wall']:.1f} | {row['wall'] / base['wall']:.2f} | "
            f"{row['validation']:.1f} | {100 * row['kernel']:.0f}% | {row['peak_rss'] / 1e9:.2f} | {row['weights']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cpu_training.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "cpu.toml"), help="a training TOML (default configs/cpu.toml)")
    parser.add_argument("--steps", type=int, default=40, help="steps of each phase (default 40)")
    parser.add_argument("--synthetic-samples", type=int, default=400, help="synthetic scenes (default 400)")
    parser.add_argument("--skip", type=int, default=3, help="first steps of each phase left out of its speed (default 3)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", choices=ALLOCATORS, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also write the table here (.md, atomically)")
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(arguments)
    if args.steps < 1 or args.synthetic_samples < 1 or args.repeats < 1 or args.skip < 0:
        parser.error("--steps, --synthetic-samples and --repeats take positive numbers, --skip zero or more")
    if args.worker:
        print(json.dumps(run_worker(args.config, args.steps, args.synthetic_samples, Path(args.run_dir), args.worker)))
        return 0
    config_path = Path(args.config).resolve()
    config = load_train_config(config_path)  # a bad file fails here, before any run
    missing = [video for video in config.data.videos if not (ROOT / video).is_file()]
    if missing:
        raise SystemExit(f"clips not found: {', '.join(missing)} (`nlvfi data fetch` installs them)")
    started = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory(prefix="nlvfi-cpu-training-") as workdir:
        measure_run(config_path, 1, args.synthetic_samples, "system", Path(workdir) / "warm-up", 0)  # builds the clips' cache
        for repeat in range(args.repeats):
            for allocator in ALLOCATORS if repeat % 2 == 0 else ALLOCATORS[::-1]:  # taking turns
                run_dir = Path(workdir) / f"{allocator}-{repeat}"
                runs.append(measure_run(config_path, args.steps, args.synthetic_samples, allocator, run_dir, args.skip))
                print(f"{allocator}, repeat {repeat}: {runs[-1]['wall']:.1f} s", file=sys.stderr)
    command = " ".join(["python benchmarks/cpu_training.py", *arguments])
    shown = str(config_path.relative_to(ROOT)) if config_path.is_relative_to(ROOT) else str(config_path)
    table = format_table(summarise(runs), args.steps, args.synthetic_samples, shown, time.perf_counter() - started, command)
    print(table)
    if args.out:
        atomic_write(args.out, lambda path: Path(path).write_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
