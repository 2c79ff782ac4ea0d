"""How robust `nlvfi repair`'s duplicate detection is to the injection pattern and the encoder.

    python benchmarks/detection_robustness.py                                 # the full table (about 25 min on 2 cores)
    python benchmarks/detection_robustness.py --clips still --seeds 0-3 --encodings 18,23
    python benchmarks/detection_robustness.py --out results/detection_robustness.md   # resumable (see --out)
    python benchmarks/detection_robustness.py --seeds 8-15 --clips vtest,megamind,tree,still,still-heldout,lawn-x192,lawn-x0 \
        --out results/detection_robustness_seeds8-15.md   # the check patterns (nlvfi/duplicates.py: what was chosen on what)
    python benchmarks/detection_robustness.py --injection held2,held2.5,held3 --seeds 0-3 --threads 1 \
        --out results/detection_held.md   # frames held 2-3 times: more copies than real frames

benchmarks/repair_quality.py measures detection on one injection pattern (``--seed 0``) and one
encode per clip. One encode is a thin sample: x264's output, and so the noise a re-encoded copy
carries, changes with its thread count, and a near-still clip's copies are only a little quieter
than its real frames. This script repeats only the detection part of that benchmark (the tool's
own first pass, ``nlvfi.repair.analyze_video`` with ``--threshold auto``; no model) over

* the same clips (``repair_quality.CLIPS``: the held-out parts of vtest, Megamind and tree, and
  the two near-still vtest regions, from the training and the held-out part; run ``nlvfi data
  fetch`` first; ``--clips`` also takes ``lawn-x192`` and ``lawn-x0``, two more near-still
  regions of the held-out lawn that the detection constants were checked on),
* ``--seeds`` injection patterns (``repair_quality.inject``: runs of 1-3 copies, about one per 7
  frames); with ``--injection held2,held2.5,held3`` instead (or too), a frame rate raised by
  repeating frames (:func:`held`: every frame held 2, 2-3 or 3 times, as ``ffmpeg -r`` stores 10
  frames/s at 20, 25 or 30), where copies outnumber the real frames; each seed starts at another
  source frame,
* ``--encodings``: lossless FFV1 (``exact``) and H.264 at each crf, each lossy one encoded with
  x264 on every thread count of ``--threads``; ``CRFgN`` is H.264 at that crf with an I-frame
  every N frames (x264 by default starts one only every 250, or at a scene cut; cameras, phones
  and streaming use 12-60), and ``mpeg2`` / ``mpeg2-dvd`` MPEG-2 as broadcast and DVDs code it
  (``MPEG2_ENCODINGS``: an I-frame every 12 frames at quantiser 2; every 15 at quantiser 3 with
  two B-frames); MPEG-2 is encoded once (its encoder has no threads to change its output),

and prints, per clip and encoding, how many of those files meet the issue's bar (precision and
recall >= 0.95; 1.0 for exact duplicates) and how many are perfect, the worst precision and
recall, and the real frames taken for copies ("false") and copies missed over all files; then
the files below the bar. Nothing is timed.

One more column says how much of a shortfall is the rule and how much the signal: the files that
*some* threshold on the changed share alone (``nlvfi.duplicates.changed_share``, the measure
that separates copies best) would take to the bar if it were chosen knowing which frames are
copies (:func:`separable_by_share`). It is an upper bound for any rule on that one measure, and no
detector: a file it cannot separate holds a real frame that x264 left with less change than a
copy, or a copy with more than a real frame.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import platform
import re
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.repair import analyze_video  # noqa: E402
from nlvfi.videoio import write_video  # noqa: E402

_spec = importlib.util.spec_from_file_location("repair_quality", Path(__file__).resolve().parent / "repair_quality.py")
repair_quality = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(repair_quality)

BAR = 0.95  # the issue: precision and recall >= 0.95 after re-encoding (1.0 on exact duplicates)
#: MPEG-2 as broadcast and DVDs code it: name -> (group of pictures, quantiser, B-frames)
MPEG2_ENCODINGS = {"mpeg2": (12, 2, 0), "mpeg2-dvd": (15, 3, 2)}
SHORT_GOP = re.compile(r"(\d+)g(\d+)")  # "18g12": x264 crf 18, an I-frame every 12 frames


def parse_seeds(text: str) -> list[int]:
    """"0-7" or "0,3,5" -> the seeds."""
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
            seeds = list(range(first, last + 1))
        else:
            seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 0-7 or 0,3,5, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative and at least one, got {text!r}")
    return seeds


HELD = re.compile(r"held(\d+(?:\.\d+)?)")  # "held2.5": every frame held 2.5 times on average


def configurations(clips: list[str], seeds: list[int], encodings: list[str], threads: list[int], injections: list[str] = ("runs",)) -> list[dict]:
    """Every (clip, injection, seed, encoding, x264 threads) to measure; ``exact`` has no encoder threads (0)."""
    out = []
    for clip in clips:
        for injection in injections:
            for encoding in encodings:
                for seed in seeds:
                    for count in [0] if encoding == "exact" or encoding in MPEG2_ENCODINGS else threads:
                        out.append({"clip": clip, "injection": injection, "encoding": encoding, "seed": seed, "threads": count})
    return out


def key(config: dict) -> str:
    injection = config.get("injection", "runs")
    return f"{config['clip']}/{'' if injection == 'runs' else injection + '/'}{config['encoding']}/seed{config['seed']}/threads{config['threads']}"


def held(frames: list[np.ndarray], seed: int, factor: Fraction) -> tuple[list[np.ndarray], list[int]]:
    """As many frames as ``frames``, each source frame held ``factor`` times on average (frame j
    shows source frame floor(j / factor) after a start that ``seed`` moves, 7 frames a seed, as
    far as the clip allows): a frame rate raised by repeating frames. Returns the frames and the
    copies' indices (a frame that shows the same source frame as the one before)."""
    needed = math.ceil(len(frames) / factor)
    start = (7 * seed) % max(1, len(frames) - needed + 1)
    shown = [start + math.floor(j / factor) for j in range(len(frames))]
    return [frames[i] for i in shown], [j for j in range(1, len(frames)) if shown[j] == shown[j - 1]]


def stutter(originals: list[np.ndarray], config: dict) -> tuple[list[np.ndarray], list[int]]:
    """The frames of one file and its copies' indices, by its ``injection`` (module doc)."""
    injection = config.get("injection", "runs")
    if injection == "runs":
        return repair_quality.inject(originals, config["seed"])
    return held(originals, config["seed"], Fraction(HELD.fullmatch(injection).group(1)))


def separable_by_share(shares, copies: set[int] | list[int], bar: float) -> bool:
    """Whether one threshold T on the (N-1,) changed shares, chosen knowing ``copies`` (the copied
    frames' indices: pair i is frame i+1), takes the file to the bar: the frames with share <= T at
    precision and recall >= ``bar``. True for a file without copies (a T below every share)."""
    shares = np.asarray(shares, dtype=np.float64)  # (N-1,)
    is_copy = np.zeros(len(shares), dtype=bool)
    is_copy[[frame - 1 for frame in copies]] = True
    if not is_copy.any():
        return True
    for threshold in np.unique(shares[is_copy]):  # the best T is always one copy's share
        taken = shares <= threshold
        found = int(np.count_nonzero(taken & is_copy))
        if min(found / np.count_nonzero(taken), found / np.count_nonzero(is_copy)) >= bar:
            return True
    return False


def measure(config: dict, originals: list[np.ndarray], rate: float, workdir: Path) -> dict:
    """Precision, recall, false and missed copies of the tool's detection on one stuttered file."""
    stuttered, duplicates = stutter(originals, config)
    path = encode(stuttered, workdir / key(config).replace("/", "-"), rate, config["encoding"], config["threads"])
    exact = config["encoding"] == "exact"
    detection = analyze_video(path).detection
    path.unlink()
    found, truth = set(detection.duplicates), set(duplicates)
    precision, recall = repair_quality.scores(found, truth)
    return {
        **config, "duplicates": len(truth), "precision": precision, "recall": recall,
        "false": sorted(found - truth), "missed": sorted(truth - found), "caution": detection.caution is not None,
        "share_separable": separable_by_share(detection.shares, truth, 1.0 if exact else BAR),
        "intra_pairs_taken": detection.settings.get("mixed_pairs_taken", 0),
    }  # fmt: skip


def encode(frames: list[np.ndarray], stem: Path, rate: float, encoding: str, threads: int) -> Path:
    """Write ``frames`` as ``encoding`` (module doc: exact, a crf, CRFgN, an MPEG2_ENCODINGS name)
    to ``stem`` + its extension; the path written."""
    if encoding == "exact" or encoding.isdigit():
        crf = None if encoding == "exact" else int(encoding)
        path = stem.with_suffix(".mkv" if crf is None else ".mp4")
        repair_quality.encode(frames, path, rate, crf, threads)
        return path
    short = SHORT_GOP.fullmatch(encoding)
    if short:
        codec, path = "libx264", stem.with_suffix(".mp4")
        group = short.group(2)
        options = {"crf": short.group(1), "preset": "medium", "threads": str(threads), "g": group, "keyint_min": group}
    else:
        group, quantiser, b_frames = MPEG2_ENCODINGS[encoding]
        codec, path = "mpeg2video", stem.with_suffix(".ts")
        options = {"flags": "+qscale", "global_quality": str(quantiser * 118), "g": str(group), "bf": str(b_frames)}
    rational = Fraction(rate).limit_denominator(1001)
    for ntsc in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)):
        if abs(rate - ntsc) < 1e-3:  # Megamind's 23.976 is 24000/1001, the only way MPEG-2 codes it
            rational = ntsc
    # the time base is the frame's slot (write_video's default), which MPEG-2 needs (nlvfi.videoio.SLOT_ENCODERS)
    write_video(path, frames, rational, codec=codec, pix_fmt="yuv420p", options=options)
    return path


def encoding_name(encoding: str, short: bool = False) -> str:
    """The table's words for an ``--encodings`` entry (``short``: the list of files below the bar)."""
    if encoding == "exact":
        return "exact" if short else "exact (FFV1)"
    if encoding in MPEG2_ENCODINGS:
        group, quantiser, b_frames = MPEG2_ENCODINGS[encoding]
        return f"MPEG-2 q {quantiser}, I every {group}" + (f", {b_frames} B" if b_frames else "")
    gop = SHORT_GOP.fullmatch(encoding)
    crf = f"crf {gop.group(1)}, I every {gop.group(2)}" if gop else f"crf {encoding}"
    return crf if short else f"H.264 {crf}"


def clip_name(row: dict) -> str:
    """The table's words for a row's or a file's clip and injection: "vtest", "vtest, held x2.5"."""
    injection = row.get("injection", "runs")
    return row["clip"] if injection == "runs" else f"{row['clip']}, held x{HELD.fullmatch(injection).group(1)}"


def summarize(results: list[dict]) -> list[dict]:
    """One row per (clip, encoding), in the order first seen."""
    rows: dict[tuple[str, str], dict] = {}
    for r in results:
        injection = r.get("injection", "runs")
        row = rows.setdefault(
            (r["clip"], injection, r["encoding"]),
            {"clip": r["clip"], "injection": injection, "encoding": r["encoding"], "files": [], "below": []},
        )
        row["files"].append(r)
        bar = 1.0 if r["encoding"] == "exact" else BAR
        if min(r["precision"], r["recall"]) < bar:
            row["below"].append(r)
    for row in rows.values():
        files = row["files"]
        row.update(
            count=len(files),
            meeting=len(files) - len(row["below"]),
            perfect=sum(r["precision"] == 1.0 and r["recall"] == 1.0 for r in files),
            min_precision=min(r["precision"] for r in files),
            min_recall=min(r["recall"] for r in files),
            false=sum(len(r["false"]) for r in files),
            missed=sum(len(r["missed"]) for r in files),
            duplicates=sum(r["duplicates"] for r in files),
            cautioned=sum(r["caution"] for r in files),
            separable=sum(r["share_separable"] for r in files),
            intra=sum(r.get("intra_pairs_taken", 0) for r in files),
        )
        found = row["duplicates"] - row["missed"] + row["false"]  # frames taken for copies, over all files
        row["pooled_precision"] = (row["duplicates"] - row["missed"]) / found if found else 1.0
        row["pooled_recall"] = (row["duplicates"] - row["missed"]) / row["duplicates"] if row["duplicates"] else 1.0
    return list(rows.values())


def format_table(rows: list[dict], seeds: list[int], threads: list[int], seconds: float, arguments: list[str] = ()) -> str:
    lines = [
        "# nlvfi duplicate detection: robustness to the injection pattern and the encoder",
        "",
        f"{platform.machine()}; {seconds:.0f} s. Detection as `nlvfi repair --threshold auto` "
        f"(`nlvfi.repair.analyze_video`); injection patterns (seeds) {seeds[0]}-{seeds[-1]} of "
        "benchmarks/repair_quality.py; each H.264 crf encoded with x264 on "
        f"{', '.join(map(str, threads))} thread(s) (x264's output depends on its thread count). "
        f"'meet the bar': precision and recall >= {BAR} (exact duplicates: 1.0); 'false': real frames "
        "taken for copies, 'missed': copies not found, summed over the files; 'all copies P / R': precision and "
        "recall over every file of the row together (one file of a near-still clip holds 12-15 copies, so one "
        "missed copy takes its recall to 0.92-0.93); 'cautioned': files whose report "
        "warns that the copies found are loud beside the real motion (`Detection.caution`); 'share-separable "
        "in hindsight': files that one threshold on the changed share would take to the bar if it were chosen "
        "knowing the copies (an upper bound for a rule on that measure alone, not a detector); 'beside an I-frame': "
        "pairs of an intra-coded and a predicted frame taken by the rule for them alone (nlvfi/duplicates.py, "
        "\"Intra-coded frames\"), over the files."
        + (
            " 'held xF': no injected runs, but every frame held F times on average, as a frame rate raised by "
            "repeating frames (10 frames/s stored at 20, 25 or 30), the clip's first frames held from the start "
            "(seed s starts 7 s frames later); more copies than real frames (`detection_robustness.held`)."
            if any(row.get("injection", "runs") != "runs" for row in rows)
            else ""
        ),
        "",
        "| clip | encoding | files | meet the bar | perfect | worst precision | worst recall | false | missed | copies | all copies P / R | cautioned | share-separable in hindsight | beside an I-frame |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        encoding = encoding_name(row["encoding"])
        lines.append(
            f"| {clip_name(row)} | {encoding} | {row['count']} | {row['meeting']} | {row['perfect']} | "
            f"{row['min_precision']:.2f} | {row['min_recall']:.2f} | {row['false']} | {row['missed']} | {row['duplicates']} | "
            f"{row['pooled_precision']:.3f} / {row['pooled_recall']:.3f} | {row['cautioned']} | {row['separable']} | {row['intra']} |"
        )
    below = [r for row in rows for r in row["below"]]
    lines += ["", f"Below the bar ({len(below)} file(s)):" if below else "Every file meets the bar."]
    for r in below:
        encoding = encoding_name(r["encoding"], short=True) + (f", {r['threads']} thread(s)" if r["threads"] else "")
        lines.append(
            f"- {clip_name(r)}, {encoding}, seed {r['seed']}: precision {r['precision']:.2f}, "
            f"recall {r['recall']:.2f}; real frames taken {r['false'] or 'none'}, copies missed {r['missed'] or 'none'}"
            + ("; cautioned" if r["caution"] else "")
        )
    lines += ["", "Reproduce: `" + " ".join(["python benchmarks/detection_robustness.py", *arguments]) + "`"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default="vtest,megamind,tree,still,still-heldout", help=f"comma list of {', '.join(repair_quality.CLIPS)}")
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-7"), help="injection patterns, e.g. 0-7 or 0,3 (default 0-7)")
    parser.add_argument("--encodings", default="exact,16,18,23", help="comma list: exact and/or H.264 crf values (default exact,16,18,23)")
    parser.add_argument("--injection", default="runs",
                        help="comma list: runs (repair_quality.inject, the default) and/or heldF, every frame held F times "
                             "on average (held2, held2.5, held3: a frame rate raised by repeating frames)")  # fmt: skip
    parser.add_argument("--threads", default="1,2,4", help="x264 thread counts for every lossy encoding (default 1,2,4)")
    parser.add_argument("--max-side", type=int, default=None, help="shrink clips so the longer side is at most this")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the Markdown table here; until the run completes, each file's result is kept "
                             "in OUT's .jsonl beside it, so an interrupted run started again with the same --out goes on "
                             "where it stopped")  # fmt: skip
    args = parser.parse_args(argv)
    clips = args.clips.split(",")
    unknown = [clip for clip in clips if clip not in repair_quality.CLIPS]
    if unknown:
        parser.error(f"unknown clip(s) {', '.join(unknown)}; choose from {', '.join(repair_quality.CLIPS)}")
    encodings = args.encodings.split(",")
    for encoding in encodings:
        short = SHORT_GOP.fullmatch(encoding)
        crf = encoding if encoding.isdigit() else short.group(1) if short else None
        if encoding != "exact" and encoding not in MPEG2_ENCODINGS and not (crf is not None and 0 <= int(crf) <= 51):
            parser.error(
                f"encodings are 'exact', an H.264 crf 0-51, a crf with its I-frame interval (18g12), or one of "
                f"{', '.join(MPEG2_ENCODINGS)}; got {encoding!r}"
            )
    injections = args.injection.split(",")
    for injection in injections:
        factor = HELD.fullmatch(injection)
        if injection != "runs" and not (factor and Fraction(factor.group(1)) > 1):
            parser.error(f"--injection takes runs and/or heldF with F > 1 (held2, held2.5, held3), got {injection!r}")
    try:
        threads = [int(count) for count in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads takes a comma list of thread counts, got {args.threads!r}")
    if min(threads) < 1:
        parser.error("--threads: thread counts are at least 1")
    started = time.perf_counter()
    cache = args.out.with_suffix(".jsonl") if args.out else None
    kept = repair_quality.read_records(cache)
    done = {key(record): record for record in kept if "share_separable" in record}  # older records: measured again
    todo = configurations(clips, args.seeds, encodings, threads, injections)
    results = []
    frames: dict[str, tuple[list[np.ndarray], float]] = {}
    with tempfile.TemporaryDirectory(prefix="nlvfi-detection-") as tmp:
        for config in tqdm(todo, desc="files", unit="file"):
            if key(config) in done:
                results.append(done[key(config)])
                continue
            if config["clip"] not in frames:
                frames = {config["clip"]: repair_quality.load_frames(config["clip"], args.data, None, args.max_side)}
            result = measure(config, *frames[config["clip"]], Path(tmp))
            results.append(result)
            repair_quality.keep_record(cache, result)
    arguments = sys.argv[1:] if argv is None else argv
    table = format_table(summarize(results), args.seeds, threads, time.perf_counter() - started, arguments)
    print(table)
    repair_quality.finish(args.out, table, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
