"""How much averaging in the real frames just outside a run helps still pixels (``nlvfi.static_blend``).

    python benchmarks/outside_average.py                                   # the module doc's table (about 6 min on 2 cores)
    python benchmarks/outside_average.py --seeds 0-4 --clips still,still-heldout --weights 0.15,0.2,0.25,0.33
    python benchmarks/outside_average.py --agreements 0.5,1,1.5,inf        # inf: no agreement test

Where nothing moves, ``nlvfi repair`` writes the time-weighted blend of the pair around a run,
each frame of the pair first taking ``weight`` of the real frame one step outside it where the two
agree (``nlvfi.static_blend.average_outside_frame``). This script measures that choice on the
near-still clips of ``benchmarks/repair_quality.py`` (run ``nlvfi data fetch`` first), without
the model: for every injection pattern (``--seeds``) and encoding it injects the copies, encodes
(FFV1 or H.264 as that benchmark does), decodes, and at every **true** duplicate position scores,
against the original frame, the blend of the pair alone and the blend of the averaged pair (a side
whose outside frame is a copy or off the clip keeps its plain frame) for each weight x agreement, each with its rounding ties
broken (``break_rounding_ties``) and rounded to 8 bits as written. It prints the mean PSNR of the
plain blend and the gain of each variant over it (dB), per clip and encoding. Every pixel is
taken as still (these clips move less than 0.5 px nearly everywhere); nothing is timed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.duplicates import find_runs  # noqa: E402
from nlvfi.metrics import psnr  # noqa: E402
from nlvfi.static_blend import OUTSIDE_AGREEMENT, OUTSIDE_WEIGHT, average_outside_frame, break_rounding_ties  # noqa: E402
from nlvfi.videoio import rgb_to_tensor  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as speed_paired.py imports them
import detection_robustness  # noqa: E402

repair_quality = detection_robustness.repair_quality  # its clips, injection, encoding and decoding


def parse_list(text: str) -> list[float]:
    """"0.15,0.2" -> [0.15, 0.2]; "inf" allowed."""
    return [float(part) for part in text.split(",") if part]


def measure(originals, rate, seed: int, encoding: str, variants, workdir: Path) -> dict[str, list[float]]:
    """PSNR (dB) per true duplicate: "plain" and each variant's key."""
    stuttered, duplicates = repair_quality.inject(originals, seed)
    copies = set(duplicates)
    crf = None if encoding == "exact" else int(encoding)
    path = workdir / f"clip.{'mkv' if crf is None else 'mp4'}"
    repair_quality.encode(stuttered, path, rate, crf)
    decoded = [rgb_to_tensor(frame) for frame in repair_quality.decode(path)]  # (1, 3, H, W) each
    scores: dict[str, list[float]] = {"plain": [], **{key: [] for key in variants}}
    for first, last in find_runs(duplicates):
        before, after = first - 1, last + 1  # the pair: the last real frame and the next one
        # the real frame one step outside each side, None where it is not in the clip or is a copy (as the tool)
        outside = [i if 0 <= i < len(decoded) and i not in copies else None for i in (before - 1, after + 1)]
        outside = [None if i is None else decoded[i] for i in outside]
        prev, next = decoded[before], decoded[after]
        for index in range(first, last + 1):
            t = (index - before) / (after - before)
            target = rgb_to_tensor(originals[index])

            def written(a, b):
                return repair_quality.as_written(break_rounding_ties((1 - t) * a + t * b, prev, next).clamp(0, 1))

            scores["plain"].append(psnr(written(prev, next), target))
            for key, (weight, agreement) in variants.items():
                pair = (
                    average_outside_frame(prev, outside[0], weight, agreement),
                    average_outside_frame(next, outside[1], weight, agreement),
                )
                scores[key].append(psnr(written(*pair), target))
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default="still,still-heldout,lawn-x192,lawn-x0", help="repair_quality.CLIPS names, comma list")
    parser.add_argument("--encodings", default="exact,18,23", help="exact and/or H.264 crf values, comma list")
    parser.add_argument("--seeds", type=detection_robustness.parse_seeds, default="5-9",
                        help="injection patterns, e.g. 5-9 (the check) or 0-4 (the choice)")
    parser.add_argument("--weights", default=f"0.15,{OUTSIDE_WEIGHT:g},0.25", help="outside weights to try")
    parser.add_argument("--agreements", default=f"{OUTSIDE_AGREEMENT:g}", help="agreement limits (grey levels; inf: none)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    variants = {
        f"w {weight:g}, agree {agreement:g}": (weight, agreement)
        for weight in parse_list(args.weights)
        for agreement in parse_list(args.agreements)
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="nlvfi-outside-average-") as tmp:
        for clip, encoding, frames, rate in repair_quality.clip_encodings(args.clips, args.encodings, args.data):
            totals: dict[str, list[float]] = {}
            for seed in tqdm(args.seeds, desc=f"{clip} {encoding}", unit="pattern", leave=False):  # progress on stderr
                for key, values in measure(frames, rate, seed, encoding, variants, Path(tmp)).items():
                    totals.setdefault(key, []).extend(values)
            mean = {key: float(np.mean(values)) for key, values in totals.items()}
            rows.append((clip, encoding, len(totals["plain"]), mean))
    patterns = ",".join(map(str, args.seeds))
    print(f"Still pixels: the blend of the pair alone ('plain', dB) and each variant's gain over it (dB); patterns {patterns}.")
    print()
    print("| clip | encoding | frames | plain | " + " | ".join(variants) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(variants))
    for clip, encoding, count, mean in rows:
        gains = " | ".join(f"{mean[key] - mean['plain']:+.3f}" for key in variants)
        name = "FFV1" if encoding == "exact" else f"crf {encoding}"
        print(f"| {clip} | {name} | {count} | {mean['plain']:.3f} | {gains} |")
    return 0 if all(math.isfinite(mean["plain"]) for *_, mean in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
