"""Quality of `nlvfi repair` on stuttered real footage: detection and repaired-frame PSNR.

    python benchmarks/repair_quality.py                       # full table (about 40 min on one CPU core; resumable, see --out)
    python benchmarks/repair_quality.py --clips vtest --frames 40 --max-side 384 --encodings exact,18
    python benchmarks/repair_quality.py --checkpoint runs/cpu/generator_best.safetensors --out results/repair_quality.md

What it does, for every clip and encoding:

1. takes the **held-out** part of an OpenCV clip (its last 20%, never seen in training:
   ``nlvfi.data.video.split_boundary``; run ``nlvfi data fetch`` first), and ``still``: a
   256x256 region of vtest frames 100-159 where nothing moves much (real adjacent differences
   0.25-0.5 grey levels; from the training part — detection learns nothing, so that is fair for
   the detection rows; its PSNR columns are marked as seen in training), and ``still-heldout``:
   a 256x256 region of lawn, path and a tripod in vtest's held-out frames 686-745 where nobody
   walks (real adjacent differences 0.10-0.43: the source's MPEG-4 coder refreshed only part
   of it in every other frame, so about half its real frames are almost copies, MAD 0.10-0.15);
2. injects duplicates: frame m replaced by a copy of frame m-1, in runs of 1-3 frames, about one
   run every 7 frames, never at the first two or last two frames (seeded, ``--seed``);
3. encodes the stuttered clip: ``exact`` = lossless FFV1 (duplicates bit-identical), or H.264
   (libx264, yuv420p) at the given crf, so duplicates carry the codec's noise; x264 runs on one
   thread (``X264_THREADS``): its output, and so the copies' noise, depends on the thread count,
   which would otherwise follow the machine's cores. Do not pin the process to one CPU (``taskset
   -c N``): so pinned, 9 runs of the same x264 encode (20 frames of Megamind, crf 23, one
   thread) gave 6 different files here; without the pin, 9 runs gave one;
4. runs the tool's own first pass (``nlvfi.repair.analyze_video``) with ``--threshold auto``, and
   for comparison a fixed threshold of 0.5 grey levels;
5. for every frame the tool would replace that really is a duplicate, measures PSNR against the
   original (uncompressed) frame of: the duplicate left in, the t-weighted average of the two
   frames around the run, the classical DIS optical-flow interpolation
   (``nlvfi.baselines.dis_interpolate``) and the nlvfi generator, all at the same positions and
   times t, each frame rounded to 8 bits as it would be written (``as_written``; minterpolate's
   frames and the duplicate are 8-bit already). Tables before 2026-11-29 scored the float
   methods before rounding, as do the numbers module docs and ``checkpoints/analysis.md`` quote
   from them: that kept the half grey levels of a blend no written frame has, which flattered
   averaging, and nlvfi where it blends, by 0.16-0.24 dB on the near-still FFV1 rows (DIS by
   0.15-0.22), and the moving clips' columns by 0.03 dB or less. "real replaced" counts frames
   the tool would replace that are not duplicates. The nlvfi column is what the tool writes:
   the mean of ``--ensemble`` mirrored views (default 4, as ``nlvfi repair``;
   ``nlvfi.self_ensemble``); "nlvfi 1 view" is the generator alone.
6. when an ``ffmpeg`` binary is found (``--ffmpeg PATH``, else ``ffmpeg`` on PATH, else the
   static build inside the PyPI wheel ``imageio-ffmpeg`` when that is installed:
   ``python3 -m pip install imageio-ffmpeg``, benchmark environment only, never a dependency of
   nlvfi), the same for ffmpeg: ``mpdecimate`` detection (defaults) and
   ``mpdecimate,minterpolate=mi_mode=mci`` repair at the original frame rate; otherwise those
   rows say "not available". The ``minterpolate`` column of the main table is
   FFmpeg's ``minterpolate`` (mi_mode=mci) at the tool's own detected positions and times,
   through PyAV's bundled libavfilter (``nlvfi.baselines.minterpolate``; it makes frames at
   t = i/N, N <= 16 only, so it gets the nearest such t: Megamind's 23.976 frames/s in the
   .mkv's millisecond time base give the tool t = 42/125 = 0.336 where 1/3 was meant); that
   build has no
   ``mpdecimate`` (a GPL filter), so the detection rows need the binary.

The table is printed and, with ``--out``, written as Markdown.
"""

from __future__ import annotations

import argparse
import fractions
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.baselines import dis_interpolate, minterpolate, minterpolate_available  # noqa: E402
from nlvfi.data.video import split_boundary  # noqa: E402
from nlvfi.duplicates import detect_duplicates  # noqa: E402
from nlvfi.fade import match_brightness  # noqa: E402
from nlvfi.interpolate import DEFAULT_CHECKPOINT, Plan, flow_scale_for, generate, load_model, model_device, parse_flow_scale  # noqa: E402
from nlvfi.metrics import psnr  # noqa: E402
from nlvfi.repair import DEFAULT_VIEWS, analyze_video, run_times  # noqa: E402
from nlvfi.static_blend import STATIC_MOTION, average_outside_frame  # noqa: E402
from nlvfi.flow_prior import constant_velocity_prior, interval_scales  # noqa: E402
from nlvfi.self_ensemble import ALLOWED_VIEWS, mirrored_views  # noqa: E402
from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.videoio import VideoError, VideoReader, frame_to_rgb, frame_to_rgb24, pixel_traits, rgb_to_tensor, tensor_to_rgb  # noqa: E402

CLIPS = {
    # name: (file, first frame (None: held-out boundary), last frame (exclusive, None: end), crop (y0, y1, x0, x1) or None)
    "vtest": ("vtest.avi", None, None, None),
    "megamind": ("Megamind.avi", None, None, None),
    "tree": ("tree.avi", None, None, None),
    "still": ("vtest.avi", 100, 160, (128, 384, 0, 256)),
    "still-heldout": ("vtest.avi", 686, 746, (320, 576, 448, 704)),
    # two more near-still regions of vtest's held-out lawn, not in the default tables: the
    # detection constants were checked on them (nlvfi/duplicates.py; benchmarks/detection_robustness.py --clips)
    "lawn-x192": ("vtest.avi", 686, 746, (320, 576, 192, 448)),
    "lawn-x0": ("vtest.avi", 716, 776, (320, 576, 0, 256)),
}
FIXED_THRESHOLD = 0.5
X264_THREADS = 1  # x264's output differs between thread counts: fixed, so every machine encodes the same file


def load_frames(name: str, data: Path, frames: int | None, max_side: int | None) -> tuple[list[np.ndarray], float]:
    """(H, W, 3) uint8 frames of the clip's evaluation part (even sizes, for 4:2:0), and its rate."""
    file, first, last, crop = CLIPS[name]
    path = data / file
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `nlvfi data fetch` first")
    if first is None:  # the held-out part: count the frames first (tree.avi's header counts empty slots)
        with VideoReader(path) as reader:
            total = sum(1 for _ in reader)
        first, last = split_boundary(total, 0.2), total
    if frames:
        last = min(last, first + frames)
    with VideoReader(path) as reader:
        rate = float(reader.info.rate or 25)
        chosen = [item.frame for item in reader if first <= item.index < last]
    out = []
    for frame in chosen:
        if max_side and max(frame.width, frame.height) > max_side and crop is None:
            scale = max_side / max(frame.width, frame.height)
            frame = frame.reformat(width=round(frame.width * scale), height=round(frame.height * scale), interpolation="AREA")
        rgb = frame_to_rgb24(frame)
        if crop:
            rgb = rgb[crop[0] : crop[1], crop[2] : crop[3]]
        out.append(np.ascontiguousarray(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]))
    return out, rate


def clip_encodings(clips: str, encodings: str, data: Path):
    """``(name, encoding, frames, rate)`` for every clip x encoding of the two comma lists, in
    order, each clip loaded once (:func:`load_frames`, whole), under a progress bar."""
    todo = [(name, encoding) for name in clips.split(",") for encoding in encodings.split(",")]
    loaded: dict[str, tuple[list[np.ndarray], float]] = {}
    for name, encoding in tqdm(todo, desc="clips x encodings", unit="row"):
        if name not in loaded:
            loaded = {name: load_frames(name, data, None, None)}
        yield (name, encoding, *loaded[name])


def inject(frames: list[np.ndarray], seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Copies of frame m-1 at frame m, runs of 1-3, about one run per 7 frames (module doc)."""
    rng = np.random.default_rng(seed)
    out, duplicates = list(frames), []
    m = 2 + int(rng.integers(0, 4))
    while m < len(frames) - 2:
        k = min(int(rng.choice([1, 1, 2, 3])), len(frames) - 2 - m)
        for j in range(m, m + k):
            out[j] = frames[m - 1]
            duplicates.append(j)
        m += k + 3 + int(rng.integers(0, 6))
    return out, duplicates


def encode(frames: list[np.ndarray], path: Path, rate: float, crf: int | None, threads: int = X264_THREADS) -> None:
    """FFV1 (``crf`` None) or H.264 at ``crf`` with x264 on ``threads`` threads (0: x264's own choice)."""
    import av

    with av.open(str(path), "w") as container:
        rational = Fraction(rate).limit_denominator(1001)
        stream = container.add_stream("ffv1" if crf is None else "libx264", rate=rational)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "bgr0" if crf is None else "yuv420p"
        if crf is not None:
            stream.options = {"crf": str(crf), "preset": "medium", "threads": str(threads)}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def model_rgb(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded frame, converted as ``nlvfi repair`` gives it to the model
    (``nlvfi.videoio.frame_to_rgb``); detection measures its own (``frame_to_rgb24``)."""
    return frame_to_rgb(frame, pixel_traits(frame.format.name))


def decode(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [model_rgb(item.frame) for item in reader]


def read_records(cache: Path | None) -> list[dict]:
    """What an interrupted run kept in ``cache`` (``--out``'s .jsonl, one JSON object a line); [] if nothing."""
    if cache is None or not cache.is_file():
        return []
    return [json.loads(line) for line in cache.read_text().splitlines()]


def keep_record(cache: Path | None, record: dict) -> None:
    """Add one finished measurement to ``cache`` (None: no --out, nothing kept)."""
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a") as stream:
        stream.write(json.dumps(record) + "\n")


def finish(out: Path | None, table: str, cache: Path | None) -> None:
    """Write the table to ``out`` atomically, then drop the kept records: a later run measures afresh."""
    if out is None:
        return
    atomic_write(out, lambda path: Path(path).write_text(table + "\n"))
    cache.unlink(missing_ok=True)


def scores(flagged: set[int], truth: set[int]) -> tuple[float, float]:
    hit = len(flagged & truth)
    return (hit / len(flagged) if flagged else 1.0), (hit / len(truth) if truth else 1.0)


def find_ffmpeg(explicit: str | None) -> str | None:
    """The ffmpeg binary: ``explicit``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's bundled build."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise SystemExit(f"repair_quality: error: --ffmpeg {explicit}: not an executable")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the wheel for this platform ships no binary
        return None


def ffmpeg_version(ffmpeg: str) -> str:
    """First line of ``ffmpeg -version``, e.g. "ffmpeg version n9.0.2 ..."."""
    first = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
    return first.split(" Copyright")[0]


def mpdecimate_dropped(log: str, times: list[float]) -> set[int]:
    """Frame indices mpdecimate dropped, from its ``-loglevel debug`` lines
    ("... drop pts:500 pts_time:0.5 drop_count:1 ..."): each drop's time matched to the nearest frame time."""
    dropped = [float(t) for t in re.findall(r"\bdrop pts:\S+ pts_time:([0-9.]+)", log)]
    return {int(np.argmin([abs(t - d) for t in times])) for d in dropped}


def ffmpeg_rows(ffmpeg: str | None, path: Path, originals, truth: set[int], rate: float, times: list[float]) -> dict:
    """mpdecimate detection and mpdecimate+minterpolate repair with the ffmpeg binary."""
    if ffmpeg is None:
        return {"available": False}
    log = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "debug", "-i", str(path), "-vf", "mpdecimate", "-f", "null", "-"],
        capture_output=True, text=True, timeout=3600,
    ).stderr
    flagged = mpdecimate_dropped(log, times)
    precision, recall = scores(flagged, truth)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "minterpolate.mkv"
        rational = Fraction(rate).limit_denominator(1001)
        subprocess.run(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-i", str(path), "-vf",
             f"mpdecimate,minterpolate=fps={rational.numerator}/{rational.denominator}:mi_mode=mci",
             "-c:v", "ffv1", str(out)],  # in its own pixel format, converted to RGB as ours are (model_rgb)
            check=True, timeout=3600,
        )
        try:
            with VideoReader(out) as reader:
                repaired = {int(round((item.time - times[0]) * rate)): model_rgb(item.frame) for item in reader}
        except VideoError:  # mpdecimate kept too few frames (near-still: 1-3 of 60) for minterpolate to write any
            repaired = {}
    values = [
        psnr(rgb_to_tensor(repaired[i]), rgb_to_tensor(originals[i]))
        for i in sorted(truth & flagged)
        if i in repaired and repaired[i].shape == originals[i].shape
    ]
    return {
        "available": True, "precision": precision, "recall": recall, "written": len(repaired),
        "psnr": float(np.mean(values)) if values else float("nan"),
    }  # fmt: skip


def repair_frames(
    generator, before: torch.Tensor, after: torch.Tensor, ts: list[float], views: int, prior=None, plan: Plan | None = None,
    still_pair=None,
) -> list[torch.Tensor]:
    """The generator's frames of one run for each mirrored view, mirrored back
    (``nlvfi.self_ensemble.mirrored_views``): their mean is what ``nlvfi repair --ensemble N``
    writes, the first alone is one view.
    before, after: (1, 3, H, W) on the model's device; prior: the run's flow guesses
    (``nlvfi.flow_prior``, as the tool makes them) or None; plan: one view's flow scale and
    static blending (``Plan.flow_scale``, ``Plan.static_motion``), None for neither; still_pair:
    the frames that blending takes (:func:`run_still_pair`) or None; each entry (k, 3, H, W) on the CPU."""

    def one_view(a, b, flows=None, still_pair=None):
        return generate(generator, a, b, ts, plan=plan, initial_flow=flows, still_pair=still_pair)

    return [frame.cpu() for frame in mirrored_views(one_view, before, after, views, prior, still_pair)]


def as_written(frame: torch.Tensor) -> torch.Tensor:
    """``frame`` (1, 3, H, W) rounded to 8 bits as a tool writes it (``nlvfi.videoio.tensor_to_rgb``), back in [0, 1].

    Every float method (average, DIS flow, nlvfi) is scored on this, as minterpolate's frame and
    the duplicate left in already are: scored in float, a blend keeps the half grey levels a
    written frame cannot (on ``still-heldout`` FFV1, seed 0, 50.29 dB for the average, 50.05 written)."""
    return rgb_to_tensor(tensor_to_rgb(frame[0].cpu()))  # (1, 3, H, W)


def run_outside(decoded, analysis, run, device) -> list[torch.Tensor | None]:
    """The real frames just outside a run's pair, (1, 3, H, W) on ``device``, each None where the
    detection says it is not usable (``Detection.outside_frames``), as ``nlvfi repair`` reads them:
    each brought to its neighbour's brightness where the two differ by a fade (``nlvfi.fade``; in
    the clips of this table no run's frames do)."""
    frames = [None if i is None else rgb_to_tensor(decoded[i]).to(device) for i in analysis.detection.outside_frames(run)]
    near = rgb_to_tensor(decoded[run.before]).to(device), rgb_to_tensor(decoded[run.after]).to(device)
    return [match_brightness(frame, neighbour) for frame, neighbour in zip(frames, near)]


def run_prior(generator, analysis, run, before, after, outside, flow_scale: int = 1) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The flow guesses ``nlvfi repair`` makes for a run (``nlvfi.flow_prior``): from the real
    frames just outside its pair (``outside``: :func:`run_outside`; ``before``, ``after``: the
    pair, on the model's device)."""
    indices = analysis.detection.outside_frames(run)
    scales = interval_scales(analysis.times, indices[0], run.before, run.after, indices[1])
    with torch.inference_mode():
        return constant_velocity_prior(generator, before, after, *outside, *scales, flow_scale=flow_scale)


def run_still_pair(before, after, outside) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The frames ``nlvfi repair`` blends still pixels from (``nlvfi.static_blend.average_outside_frame``):
    the pair (``before``, ``after``) with the real frames just outside it (:func:`run_outside`)
    averaged in; None when neither is usable."""
    if all(frame is None for frame in outside):
        return None
    return average_outside_frame(before, outside[0]), average_outside_frame(after, outside[1])


def evaluate(
    name, encoding, originals, rate, generator, seed, workdir: Path, ffmpeg: str | None = None, views: int = DEFAULT_VIEWS,
    flow_prior: bool = True,
    flow_scale: int | str = "auto",
    static_motion: float = STATIC_MOTION,
    outside_average: bool = True,
) -> dict:
    stuttered, duplicates = inject(originals, seed)
    truth = set(duplicates)
    crf = None if encoding == "exact" else int(encoding)
    path = workdir / f"{name}-{encoding}.{'mkv' if crf is None else 'mp4'}"
    encode(stuttered, path, rate, crf)
    started = time.perf_counter()
    analysis = analyze_video(path)
    detect_seconds = time.perf_counter() - started
    detection = analysis.detection
    flagged = set(detection.duplicates)
    precision, recall = scores(flagged, truth)
    fixed = set(detect_duplicates(detection.diffs, FIXED_THRESHOLD).duplicates)
    fixed_precision, fixed_recall = scores(fixed, truth)
    decoded = decode(path)
    device = model_device(generator)
    results = {"left in": [], "average": [], "DIS flow": [], "minterpolate": [], "nlvfi 1 view": [], "nlvfi": []}
    real_replaced, model_seconds = 0, 0.0
    height, width = originals[0].shape[:2]
    plan = Plan(  # one view, fades compensated as the tool does (nlvfi.fade)
        per_call=8, flow_scale=flow_scale_for(height, width, flow_scale, flow_prior), static_motion=static_motion, fade=True
    )
    for run in detection.repairable:
        before, after = rgb_to_tensor(decoded[run.before]), rgb_to_tensor(decoded[run.after])  # (1, 3, H, W)
        ts = run_times(analysis.times, run)
        tick = time.perf_counter()
        pair = before.to(device), after.to(device)
        outside = run_outside(decoded, analysis, run, device)  # read once, for the prior and the still pixels
        prior = run_prior(generator, analysis, run, *pair, outside, plan.flow_scale) if flow_prior else None
        run_plan = plan if prior is not None else replace(plan, flow_scale=flow_scale_for(height, width, flow_scale, False))
        still_pair = run_still_pair(*pair, outside) if outside_average and static_motion > 0 else None
        made = repair_frames(generator, *pair, ts, views, prior, run_plan, still_pair)  # views x (k, 3, H, W)
        model_seconds += time.perf_counter() - tick
        ensemble = torch.stack(made).mean(0)  # (k, 3, H, W)
        for offset, t in enumerate(ts):
            index = run.first + offset
            if index not in truth:
                real_replaced += 1
                continue
            target = rgb_to_tensor(originals[index])
            results["left in"].append(psnr(rgb_to_tensor(decoded[index]), target))
            results["average"].append(psnr(as_written((1 - t) * before + t * after), target))
            results["DIS flow"].append(psnr(as_written(dis_interpolate(before, after, t)), target))
            if minterpolate_available():  # it makes frames at t = i/N only (N <= 16): the nearest such t
                nearest = fractions.Fraction(t).limit_denominator(16)
                results["minterpolate"].append(psnr(minterpolate(before, after, float(nearest)), target))
            results["nlvfi 1 view"].append(psnr(as_written(made[0][offset : offset + 1]), target))
            results["nlvfi"].append(psnr(as_written(ensemble[offset : offset + 1]), target))
    row = {
        "clip": name,
        "encoding": "exact (FFV1)" if crf is None else f"H.264 crf {crf}",
        "size": f"{originals[0].shape[1]}x{originals[0].shape[0]}",
        "frames": len(originals),
        "duplicates": len(truth),
        "precision": precision,
        "recall": recall,
        "fixed_precision": fixed_precision,
        "fixed_recall": fixed_recall,
        "threshold": detection.threshold,
        "real_replaced": real_replaced,
        "repaired": len(results["nlvfi"]),
        "views": views,
        "flow_prior": flow_prior,
        "flow_scale": plan.flow_scale,
        "static_motion": plan.static_motion,
        "outside_average": outside_average and plan.static_motion > 0,
        "psnr": {key: float(np.mean(values)) if values else float("nan") for key, values in results.items()},
        "detect_s": detect_seconds,
        "model_s_per_frame": model_seconds / max(1, sum(run.length for run in detection.repairable)),
        "ffmpeg": ffmpeg_rows(ffmpeg, path, originals, truth, rate, analysis.times),
        "real_adjacent_mad": float(np.median([np.abs(originals[i].astype(np.int16) - originals[i + 1]).mean() for i in range(len(originals) - 1)])),
    }
    return row


def format_table(
    rows: list[dict], checkpoint: str, device: str, seconds: float, ffmpeg: str | None = None, arguments: Sequence[str] = ()
) -> str:
    lines = [
        "# nlvfi repair quality on stuttered real footage",
        "",
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, device {device}; "
        f"model: {checkpoint}; {seconds:.0f} s in all.",
        "",
        "Detection: precision / recall of the duplicate frames (auto threshold, and a fixed 0.5 grey levels); "
        "'real replaced': frames the tool would replace that are not duplicates. Repair: mean PSNR (dB) "
        "against the original frames over the repaired duplicates, same positions and t for every method, every "
        "frame rounded to 8 bits as it is written; "
        f"'nlvfi {rows[0]['views']} views' is what `nlvfi repair` writes (`--ensemble {rows[0]['views']}`, the mean of "
        "the mirrored views), 'nlvfi 1 view' the generator alone; s/frame counts all the views. "
        + ("Both start each run's flow from the motion just outside it (`nlvfi.flow_prior`, the tool's default)."
           if rows[0]["flow_prior"] else "Both without the flow prior (`--no-flow-prior`).")
        + f" 'flow': the flow scale (`--flow-scale`, `nlvfi.interpolate.flow_scale_for`); static blending below "
        f"{rows[0]['static_motion']:g} px (`--static-motion`, `nlvfi.static_blend`{'' if rows[0]['static_motion'] else ': off'})"
        + (", from the pair with the real frames just outside it averaged in (the tool's default)."
           if rows[0].get("outside_average") else ", from the pair alone (`--no-outside-average`)."),
        "",
        "| clip | size | encoding | median real MAD | dups | auto P / R | T auto | fixed 0.5 P / R | real replaced | "
        f"left in | average | DIS flow | minterpolate | flow | nlvfi 1 view | nlvfi {rows[0]['views']} views | nlvfi s/frame |",
        "|---|---|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        p = r["psnr"]
        seen = " ¹" if r["clip"] == "still" else ""
        threshold = "per pair" if r["threshold"] is None else f"{r['threshold']:.3f}"
        lines.append(
            f"| {r['clip']} | {r['size']} | {r['encoding']} | {r['real_adjacent_mad']:.2f} | {r['duplicates']} | "
            f"{r['precision']:.2f} / {r['recall']:.2f} | {threshold} | {r['fixed_precision']:.2f} / {r['fixed_recall']:.2f} | "
            f"{r['real_replaced']} | {p['left in']:.2f} | {p['average']:.2f} | {p['DIS flow']:.2f} | {p['minterpolate']:.2f} | {r['flow_scale']}x | {p['nlvfi 1 view']:.2f}{seen} | {p['nlvfi']:.2f}{seen} | "
            f"{r['model_s_per_frame']:.2f} |"
        )
    version = f" ({ffmpeg_version(ffmpeg)})" if ffmpeg else ""
    lines += ["", f"ffmpeg{version}, same stuttered files: `mpdecimate` detection (default hi/lo/frac), "
              "`mpdecimate,minterpolate=mi_mode=mci` repair at the original frame rate; PSNR over the true duplicates "
              "mpdecimate dropped", ""]
    lines += ["| clip | encoding | mpdecimate P / R | minterpolate PSNR |", "|---|---|---|---:|"]
    for r in rows:
        f = r["ffmpeg"]
        if f["available"]:
            repaired = f"{f['psnr']:.2f}" if f.get("written", 1) else "no frame written (mpdecimate kept too few)"
            lines.append(f"| {r['clip']} | {r['encoding']} | {f['precision']:.2f} / {f['recall']:.2f} | {repaired} |")
        else:
            lines.append(f"| {r['clip']} | {r['encoding']} | not available (no ffmpeg binary) | not available |")
    lines += [
        "",
        "¹ `still` comes from vtest's training part (frames 100-159): its PSNR column uses frames the model saw in training; "
        "`still-heldout` (frames 686-745) is a near-still region of the held-out part.",
        "",
        "Reproduce: `" + " ".join(["python benchmarks/repair_quality.py", *arguments]) + "`",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Detection and repair quality of nlvfi repair on stuttered real clips.")
    parser.add_argument("--clips", default="vtest,megamind,tree,still,still-heldout", help=f"comma list of {', '.join(CLIPS)}")
    parser.add_argument("--encodings", default="exact,18,23", help="comma list: exact and/or H.264 crf values")
    parser.add_argument("--frames", type=int, default=None, help="at most this many frames per clip (default: all)")
    parser.add_argument("--max-side", type=int, default=None, help="shrink clips so the longer side is at most this")
    parser.add_argument("--checkpoint", default=None, help=f"generator (default {DEFAULT_CHECKPOINT.relative_to(ROOT)}; untrained tiny if absent)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the Markdown table here; until the run completes, each finished row is kept in "
                             "OUT's .jsonl beside it, so an interrupted run started again with the same --out and options "
                             "goes on where it stopped")  # fmt: skip
    parser.add_argument("--ensemble", type=int, choices=ALLOWED_VIEWS, default=DEFAULT_VIEWS,
                        help=f"mirrored views per repaired frame, as nlvfi repair --ensemble (default {DEFAULT_VIEWS})")
    parser.add_argument("--no-flow-prior", action="store_true", help="as nlvfi repair --no-flow-prior (nlvfi.flow_prior)")
    parser.add_argument("--flow-scale", type=parse_flow_scale, default="auto", metavar="auto|1|2",
                        help="as nlvfi repair --flow-scale (default auto: 2 up to 768x576)")
    parser.add_argument("--static-motion", type=float, default=STATIC_MOTION, metavar="PX",
                        help=f"as nlvfi repair --static-motion (default {STATIC_MOTION}; 0: off)")
    parser.add_argument("--no-outside-average", action="store_true",
                        help="as nlvfi repair --no-outside-average (nlvfi.static_blend)")
    parser.add_argument("--ffmpeg", default=None, help="ffmpeg binary for the mpdecimate rows (default: PATH, then imageio-ffmpeg's)")
    args = parser.parse_args(argv)
    ffmpeg = find_ffmpeg(args.ffmpeg)
    started = time.perf_counter()
    try:
        generator, checkpoint = load_model(args.checkpoint, args.device)
    except ValueError as error:
        if args.checkpoint is not None:
            raise SystemExit(f"repair_quality: error: {error}")
        import nlvfi

        torch.manual_seed(args.seed)
        generator, checkpoint = nlvfi.build_generator("tiny").eval(), "UNTRAINED tiny generator (no shipped checkpoint yet)"
    device = str(model_device(generator))
    # a row measured earlier is reused only under the same options (a resumed run, see --out)
    options = {
        "checkpoint": checkpoint, "device": device, "seed": args.seed, "frames": args.frames, "max_side": args.max_side,
        "ensemble": args.ensemble, "flow_prior": not args.no_flow_prior, "flow_scale": args.flow_scale,
        "static_motion": args.static_motion, "outside_average": not args.no_outside_average, "ffmpeg": ffmpeg,
    }  # fmt: skip
    cache = args.out.with_suffix(".jsonl") if args.out else None
    done = {(r["name"], r["encoding_arg"]): r["row"] for r in read_records(cache) if r["options"] == options}
    todo = [(name, encoding) for name in args.clips.split(",") for encoding in args.encodings.split(",")]
    rows, reused_seconds = [], 0.0
    loaded: dict[str, tuple[list[np.ndarray], float]] = {}
    with tempfile.TemporaryDirectory(prefix="nlvfi-repair-quality-") as tmp:
        for name, encoding in tqdm(todo, desc="clips x encodings", unit="row"):
            if (name, encoding) in done:
                rows.append(done[(name, encoding)])
                reused_seconds += done[(name, encoding)]["seconds"]
                continue
            if name not in loaded:
                loaded = {name: load_frames(name, args.data, args.frames, args.max_side)}
            tick = time.perf_counter()
            row = evaluate(
                name, encoding, *loaded[name], generator, args.seed, Path(tmp), ffmpeg, args.ensemble,
                not args.no_flow_prior, args.flow_scale, args.static_motion, not args.no_outside_average,
            )  # fmt: skip
            row["seconds"] = time.perf_counter() - tick
            rows.append(row)
            keep_record(cache, {"options": options, "name": name, "encoding_arg": encoding, "row": row})
    seconds = time.perf_counter() - started + reused_seconds  # this run, and the rows an earlier one measured
    table = format_table(rows, checkpoint, device, seconds, ffmpeg, sys.argv[1:] if argv is None else argv)
    print(table)
    finish(args.out, table, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
