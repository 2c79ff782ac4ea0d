"""How much of a real frame's change survives H.264 on near-still clips: the floor under detection.

    python benchmarks/change_survival.py                                  # the table (about 3 min on 2 cores)
    python benchmarks/change_survival.py --clips still-heldout --encodings 23 --seeds 0-7

On a clip whose real frames differ by a tenth of a grey level, a re-encoded copy and a re-encoded
real frame can look the same in the decoded file, whatever the detector. This script measures
how much of each real frame's own change is still there after encoding. For every real frame i of
a stuttered clip (``benchmarks/repair_quality.py``'s injection patterns ``--seeds`` and its
near-still clips; run ``nlvfi data fetch`` first), with T the true change (frame i - frame i-1 of
the stuttered source) and D the decoded change, the *surviving share* is

    s = <D, T> / <T, T>

the part of the decoded change along the true one: 1 when the change came through whole, 0 when
the codec dropped it (then frame i decodes as frame i-1 plus codec noise, as a copy does). It
prints, per clip and encoding, the real frames' shares (lowest, 5%, 25% and median), how many
kept under a quarter, and what ``nlvfi repair``'s own detection (``--threshold auto``) did on
the same files: real frames taken for copies, and copies missed. Nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.repair import analyze_video  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))  # the sibling benchmarks, as speed_paired.py imports them
import detection_robustness  # noqa: E402

repair_quality = detection_robustness.repair_quality  # its clips, injection, encoding and decoding

#: a real frame keeping less than this share of its change is counted as nearly erased
LOW_SHARE = 0.25


def surviving_shares(source: list[np.ndarray], decoded: list[np.ndarray], copies: set[int]) -> dict[int, float]:
    """``{i: s}`` for every real frame i > 0 (module doc); frames (H, W, 3) uint8, as many each."""
    shares = {}
    for i in range(1, len(source)):
        if i in copies:
            continue
        true = source[i].astype(np.float64) - source[i - 1]  # (H, W, 3)
        seen = decoded[i].astype(np.float64) - decoded[i - 1]
        energy = float((true * true).sum())
        if energy > 0:  # a real frame equal to the one before it has no change to keep
            shares[i] = float((seen * true).sum() / energy)
    return shares


def measure(originals, rate, seed: int, encoding: str, workdir: Path) -> dict:
    stuttered, duplicates = repair_quality.inject(originals, seed)
    crf = None if encoding == "exact" else int(encoding)
    path = workdir / f"clip.{'mkv' if crf is None else 'mp4'}"
    repair_quality.encode(stuttered, path, rate, crf)
    shares = surviving_shares(stuttered, repair_quality.decode(path), set(duplicates))
    flagged = set(analyze_video(path).detection.duplicates)
    return {
        "shares": list(shares.values()),
        "false": sorted(flagged - set(duplicates)),
        "missed": sorted(set(duplicates) - flagged),
        "duplicates": len(duplicates),
        "false_shares": [shares[i] for i in sorted(flagged - set(duplicates)) if i in shares],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default="still,still-heldout,lawn-x192,lawn-x0", help="repair_quality.CLIPS names, comma list")
    parser.add_argument("--encodings", default="18,23", help="exact and/or H.264 crf values, comma list")
    parser.add_argument("--seeds", type=detection_robustness.parse_seeds, default="0-3",
                        help="injection patterns: a range such as 0-3, or a comma list")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "opencv")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nlvfi-change-survival-") as tmp:
        for clip, encoding, frames, rate in repair_quality.clip_encodings(args.clips, args.encodings, args.data):
            patterns = tqdm(args.seeds, desc=f"{clip} {encoding}", unit="pattern", leave=False)  # progress on stderr
            results = [measure(frames, rate, seed, encoding, Path(tmp)) for seed in patterns]
            shares = np.array([s for r in results for s in r["shares"]])
            rows.append(
                {
                    "clip": clip, "encoding": "FFV1" if encoding == "exact" else f"crf {encoding}", "real": len(shares),
                    "quantiles": np.quantile(shares, [0, 0.05, 0.25, 0.5]), "low": int((shares < LOW_SHARE).sum()),
                    "false": sum(len(r["false"]) for r in results), "missed": sum(len(r["missed"]) for r in results),
                    "duplicates": sum(r["duplicates"] for r in results),
                    "false_shares": [s for r in results for s in r["false_shares"]],
                }  # fmt: skip
            )
    print(f"Surviving share of each real frame's change after encoding (module doc); patterns {','.join(map(str, args.seeds))}.")
    print()
    print(f"| clip | encoding | real frames | lowest | 5% | 25% | median | under {LOW_SHARE:g} | real taken for copies (their shares) | copies missed |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        q = " | ".join(f"{value:.2f}" for value in r["quantiles"])
        taken = f"{r['false']}" + (f" ({', '.join(f'{s:.2f}' for s in r['false_shares'])})" if r["false_shares"] else "")
        print(f"| {r['clip']} | {r['encoding']} | {r['real']} | {q} | {r['low']} | {taken} | {r['missed']} of {r['duplicates']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
