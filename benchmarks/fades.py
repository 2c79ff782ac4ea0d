"""Stutter inside fades and dissolves: what `nlvfi repair` finds there and how well it repairs.

    python benchmarks/fades.py --out results/fades.md          # the table in results/ (resumable, see --out)
    python benchmarks/fades.py --clips vtest --kinds fade-black --encodings exact --seeds 0

METHOD.md §4 lists fades among what a real tool must settle. This script makes them from the
held-out parts of the OpenCV clips (``benchmarks/repair_quality.py``'s ``vtest`` and ``megamind``,
shrunk to at most 384 px, ``--max-side``; run ``nlvfi data fetch`` first), each with one
transition of ``SPAN`` (16) frames (:func:`with_transition`):

* ``fade-black``: 8 frames, a fade to black, 4 black frames, a fade in, 8 frames;
* ``fade-white``: 8 frames, a fade to white, one white frame, a fade back, 8 frames;
* ``dissolve``: 8 frames of the clip's start, a cross-dissolve into its second half, 8 frames.

Fades are linear blends in the 8-bit values (what editors do by default). Then, as the repair
benchmark does, it injects copies (``repair_quality.inject``, ``--seeds``), encodes (FFV1 or x264
on one thread at ``--encodings``), and runs the tool itself (``nlvfi.repair.repair_video`` with the
shipped checkpoint and its defaults), once as it is and once with ``fade=False`` (``--no-fade``).

Per clip, transition and encoding (all seeds together) it prints:

* detection: precision and recall against every frame that repeats the one before it in the
  stuttered clip: the injected copies, and the black frames held between a fade out and in (a hold
  of up to ``--max-run`` identical frames cannot be told from a stutter, and the tool repairs it
  towards the fade-in); real frames taken, copies missed;
* mean PSNR (dB) of the injected copies inside the transition against their originals (but for
  copies of a held black frame, which change nothing), as the
  repair writes them and as the baselines make them from the same decoded pair: the copy left in,
  the time-weighted average, DIS flow (``nlvfi.baselines.dis_interpolate``), nlvfi with
  ``--no-fade`` and nlvfi; then the copies outside the transition (nlvfi, both ways);
* how many repaired runs the tool found a fade in (``report["model"]["fades"]``).

Nothing is timed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.baselines import dis_interpolate  # noqa: E402
from nlvfi.duplicates import Run  # noqa: E402
from nlvfi.metrics import psnr  # noqa: E402
from nlvfi.repair import repair_video, run_times  # noqa: E402
from nlvfi.videoio import rgb_to_tensor  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as speed_paired.py imports them
import detection_robustness  # noqa: E402

repair_quality = detection_robustness.repair_quality  # its clips, injection, encoding and decoding

KINDS = ("fade-black", "fade-white", "dissolve")
SPAN = 16  # frames of a fade or a dissolve
LEAD = 8  # frames before and after the transition (Megamind's held-out part has 54 frames)
HOLD = 4  # black frames between a fade out and a fade in
METHODS = ("left in", "average", "DIS flow", "nlvfi --no-fade", "nlvfi")


def with_transition(frames: list[np.ndarray], kind: str) -> tuple[list[np.ndarray], set[int]]:
    """The clip with one transition (module doc) and the indices of its frames inside it.

    frames: (H, W, 3) uint8, at least 2 x LEAD + 2 x SPAN + HOLD of them. Returns uint8 frames.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    needed = 2 * LEAD + 2 * SPAN + HOLD
    if len(frames) < needed:
        raise ValueError(f"a {kind} needs at least {needed} frames, got {len(frames)}")
    source = [frame.astype(np.float64) for frame in frames]
    out, inside = source[:LEAD], set()

    def add(frame: np.ndarray) -> None:
        out.append(frame)
        inside.add(len(out) - 1)

    ramp = [(k + 1) / (SPAN + 1) for k in range(SPAN)]  # weights strictly between 0 and 1
    if kind == "dissolve":  # into the clip's second half
        second = len(frames) // 2
        if second < LEAD + SPAN or len(frames) - second < SPAN + LEAD:
            raise ValueError(f"a dissolve needs at least {2 * (LEAD + SPAN)} frames, got {len(frames)}")
        for k, weight in enumerate(ramp):
            add((1 - weight) * source[LEAD + k] + weight * source[second + k])
        out += source[second + SPAN : second + SPAN + LEAD]
    else:
        colour, hold = (0.0, HOLD) if kind == "fade-black" else (255.0, 1)
        for k, weight in enumerate(ramp):  # fade out of the picture
            add((1 - weight) * source[LEAD + k] + weight * colour)
        for _ in range(hold):
            add(np.full_like(source[0], colour))
        start = LEAD + SPAN + hold
        for k, weight in enumerate(ramp):  # and back into it
            add(weight * source[start + k] + (1 - weight) * colour)
        out += source[start + SPAN : start + SPAN + LEAD]
    return [np.clip(np.rint(frame), 0, 255).astype(np.uint8) for frame in out], inside


def repeats(frames: list[np.ndarray]) -> set[int]:
    """Frames equal to the one before them."""
    return {i for i in range(1, len(frames)) if np.array_equal(frames[i], frames[i - 1])}


def measure(clip: str, kind: str, encoding: str, seed: int, frames: list[np.ndarray], rate: float, workdir: Path, checkpoint=None) -> dict:
    """One stuttered file: detection and the PSNR of every injected copy, by method and place."""
    original, inside = with_transition(frames, kind)
    stuttered, injected = repair_quality.inject(original, seed)
    truth = repeats(stuttered)  # the injected copies, and black frames held in the clip that no copy replaced
    scored = {j for j in injected if not np.array_equal(original[j], original[j - 1])}  # a copy of a held frame changes nothing
    crf = None if encoding == "exact" else int(encoding)
    path = workdir / f"{clip}-{kind}-{encoding}-{seed}.{'mkv' if crf is None else 'mp4'}"
    repair_quality.encode(stuttered, path, rate, crf)
    decoded = repair_quality.decode(path)
    scores: dict[str, dict[str, list[float]]] = {"inside": {m: [] for m in METHODS}, "outside": {m: [] for m in METHODS}}
    for fade in (False, True):  # the detection is the same both times; the last report (with fades) is kept
        output = workdir / f"repaired-{fade}{path.suffix}"
        report = repair_video(path, output, checkpoint=checkpoint, progress=False, resume=False, fade=fade)
        written = repair_quality.decode(output)
        output.unlink()
        method = "nlvfi" if fade else "nlvfi --no-fade"
        for run in report["detection"]["runs"]:
            if run["status"] != "repair":
                continue
            before, after = rgb_to_tensor(decoded[run["first"] - 1]), rgb_to_tensor(decoded[run["last"] + 1])  # (1, 3, H, W)
            ts = run_times([i / rate for i in range(len(original))], Run(run["first"], run["last"]))  # constant rate
            for offset, t in enumerate(ts):
                index = run["first"] + offset
                if index not in scored:
                    continue
                place = "inside" if index in inside else "outside"
                target = rgb_to_tensor(original[index])
                scores[place][method].append(psnr(rgb_to_tensor(written[index]), target))
                if fade:  # the baselines once, from the same decoded pair
                    scores[place]["left in"].append(psnr(rgb_to_tensor(decoded[index]), target))
                    scores[place]["average"].append(psnr(repair_quality.as_written((1 - t) * before + t * after), target))
                    scores[place]["DIS flow"].append(psnr(repair_quality.as_written(dis_interpolate(before, after, t)), target))
    path.unlink()
    found = set(report["detection"]["duplicates"])
    precision, recall = repair_quality.scores(found, truth)
    return {
        "clip": clip, "kind": kind, "encoding": encoding, "seed": seed, "precision": precision, "recall": recall,
        "false": len(found - truth), "missed": len(truth - found), "copies": len(injected),
        "copies_inside": len(scored & inside), "faded_runs": len(report["model"]["fades"]["runs"]), "scores": scores,
    }  # fmt: skip


def _mean(values: list[float]) -> str:
    return f"{np.mean(values):.2f}" if values else "-"


def format_table(results: list[dict], arguments: list[str], seconds: float) -> str:
    lines = [
        "# nlvfi repair in fades and dissolves",
        "",
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads; shipped checkpoint, the tool's defaults; "
        f"{seconds:.0f} s in all. Seeds (injection patterns): {sorted({r['seed'] for r in results})}.",
        "",
        "Detection: against every frame that repeats the one before it in the stuttered clip (the injected copies, and "
        "the black frames held between a fade out and in). PSNR (dB): mean over the injected copies inside the transition "
        "(not those of a held black frame, which change nothing), against their originals, as written; 'outside': the "
        "copies before and after it. Faded runs: repaired runs whose pair the tool found a fade in.",
        "",
        "| clip | transition | encoding | P / R | real taken | missed | copies inside | "
        + " | ".join(METHODS)
        + " | outside: nlvfi --no-fade / nlvfi | faded runs |",
        "|---|---|---|---|---:|---:|---:|" + "---:|" * len(METHODS) + "---|---:|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["clip"], r["kind"], r["encoding"]), []).append(r)
    for (clip, kind, encoding), rows in groups.items():
        inside = {m: [v for r in rows for v in r["scores"]["inside"][m]] for m in METHODS}
        outside = {m: [v for r in rows for v in r["scores"]["outside"][m]] for m in METHODS}
        label = "exact (FFV1)" if encoding == "exact" else f"H.264 crf {encoding}"
        lines.append(
            f"| {clip} | {kind} | {label} | {min(r['precision'] for r in rows):.2f} / {min(r['recall'] for r in rows):.2f} | "
            f"{sum(r['false'] for r in rows)} | {sum(r['missed'] for r in rows)} | {len(inside['nlvfi'])} | "
            + " | ".join(_mean(inside[m]) for m in METHODS)
            + f" | {_mean(outside['nlvfi --no-fade'])} / {_mean(outside['nlvfi'])} | {sum(r['faded_runs'] for r in rows)} |"
        )
    lines += ["", "P / R: the worst file's. Reproduce: `python benchmarks/fades.py " + " ".join(arguments) + "`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stutter inside fades and dissolves: detection and repair (module doc).")
    parser.add_argument("--clips", default="vtest,megamind", help="comma list of benchmarks/repair_quality.py clips")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma list of {', '.join(KINDS)}")
    parser.add_argument("--encodings", default="exact,18", help="comma list: exact and/or H.264 crf values")
    parser.add_argument("--seeds", type=detection_robustness.parse_seeds, default=[0, 1], help="injection patterns, e.g. 0,1 or 0-3 (default 0,1)")
    parser.add_argument("--max-side", type=int, default=384, help="shrink the clips so the longer side is at most this")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv")
    parser.add_argument("--checkpoint", default=None, help="generator (default: the shipped checkpoint)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the Markdown table here; until the run completes, each finished file is kept in "
                             "OUT's .jsonl beside it, so an interrupted run started again with the same --out goes on "
                             "where it stopped")  # fmt: skip
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    for kind in kinds:
        if kind not in KINDS:
            raise SystemExit(f"fades: error: unknown transition {kind!r}; choose from {', '.join(KINDS)}")
    seeds = args.seeds
    started = time.perf_counter()
    todo = [
        (clip, kind, encoding, seed)
        for clip in args.clips.split(",") for kind in kinds for encoding in args.encodings.split(",") for seed in seeds
    ]
    options = {"max_side": args.max_side, "checkpoint": args.checkpoint, "span": SPAN, "lead": LEAD, "hold": HOLD}
    cache = args.out.with_suffix(".jsonl") if args.out else None
    done = {
        (r["clip"], r["kind"], r["encoding"], r["seed"]): r
        for r in repair_quality.read_records(cache) if r.pop("options", None) == options
    }  # fmt: skip
    results, loaded, reused = [], {}, 0.0
    with tempfile.TemporaryDirectory(prefix="nlvfi-fades-") as tmp:
        for clip, kind, encoding, seed in tqdm(todo, desc="files", unit="file"):
            if (clip, kind, encoding, seed) in done:
                results.append(done[(clip, kind, encoding, seed)])
                reused += results[-1]["seconds"]
                continue
            if clip not in loaded:
                loaded = {clip: repair_quality.load_frames(clip, args.data, None, args.max_side)}
            tick = time.perf_counter()
            result = measure(clip, kind, encoding, seed, *loaded[clip], Path(tmp), args.checkpoint)
            result["seconds"] = time.perf_counter() - tick
            results.append(result)
            repair_quality.keep_record(cache, {**result, "options": options})
    table = format_table(results, sys.argv[1:] if argv is None else argv, time.perf_counter() - started + reused)
    print(table)
    repair_quality.finish(args.out, table, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
