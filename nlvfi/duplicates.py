"""Finding duplicated frames, their runs, and scene cuts in a sequence of adjacent differences.

Method: METHOD.md §4 step 1 (¶0230–0234): for adjacent frames, L(I_k, I_{k+1}) = Σ_x
‖I_k(x) − I_{k+1}(x)‖_1; if L ≤ T, frame k+1 is a duplicate. Here L is expressed **per pixel**:
the mean absolute difference (MAD) of the two RGB frames on the 0–255 scale (the sum divided
by H·W·3), so T does not depend on the resolution (the publication's T does).
Notebook: notebooks/10_video_repair.ipynb

``threshold="auto"`` (the default) picks the threshold from the clip's own differences, in a
way that is robust to compression noise (a re-encoded duplicate is not bit-identical: its MAD
is the codec's noise, 0.02–0.25 grey levels for H.264 at crf 16–28) and to clips with very
little motion (real differences of 0.2–0.5, where a fixed T such as 0.5 would take real
frames for duplicates):

1. the *local motion level* of pair i is the 75th percentile of the ``window`` (8) differences
   on its left, and of the 8 on its right; the smaller of the two is kept, so a pair beside a
   slow/fast boundary is compared with its own side (a side with fewer than 3 values, at
   the ends of the clip, is merged with the other);
2. pair i is a duplicate when its MAD is at most ``ratio`` (0.3) of that level — a duplicate is
   noise-sized where its neighbours show motion — or at most ``floor`` (0.02, bit-identical up
   to rounding), whatever the neighbours do;
   so the threshold of pair i is T_i = max(floor, ratio·(level_i + 0.01) − 0.01).
3. The report gives one threshold T when a single value separates the duplicates from the
   rest (the geometric midpoint of the gap; then "MAD ≤ T" is exactly the decision, as in the
   method), and the per-pair values always.

Measured on stuttered held-out parts of the OpenCV clips (benchmarks/repair_quality.py):
exact duplicates are found with precision and recall 1.0; after an H.264 re-encode, too, on
clips with normal motion up to crf 23; on a clip whose real differences are 0.25–0.5, up to
crf 18 — beyond that the codec's noise is as large as the motion and no MAD threshold can
tell them apart.

Runs: consecutive duplicate frames ``first .. last`` (copies of frame ``first − 1``). A run is
repaired only when it has a good frame before it and a distinct frame after it, no scene cut
between those two, and at most ``max_run`` frames (a longer freeze is a deliberate still);
otherwise it is reported and left. Scene cut: a pair whose MAD exceeds
max(``cut_threshold`` 30, ``cut_factor`` 6 × the median MAD of the non-duplicate pairs) — the
rule ``nlvfi.data.video`` uses to pick training triplets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

AUTO_WINDOW = 8
AUTO_QUANTILE = 0.75
AUTO_RATIO = 0.3
AUTO_FLOOR = 0.02
_EPS = 0.01  # grey levels added before taking ratios, so that 0 / 0 is 1
DEFAULT_MAX_RUN = 8
CUT_THRESHOLD = 30.0
CUT_FACTOR = 6.0

RUN_STATUSES = {
    "repair": "repaired: interpolated between the frame before and the frame after",
    "start": "left: touches the first frame (an opening hold; nothing before it)",
    "end": "left: reaches the last frame (nothing after it to interpolate towards)",
    "cut": "left: a scene cut follows it (never interpolate across a cut)",
    "too_long": "left: longer than max_run (a deliberate freeze, not a stutter)",
}


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two (H, W, 3) uint8 RGB frames, on the 0-255 scale."""
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} vs {b.shape}")
    difference = np.maximum(a, b)  # |a - b| in uint8 without overflow: max - min
    difference -= np.minimum(a, b)
    return float(difference.sum(dtype=np.uint64)) / difference.size


def _local_levels(diffs: np.ndarray, window: int, quantile: float) -> np.ndarray:
    """(N-1,) motion level of each pair: min over sides of the side's quantile; NaN if no side."""
    count = len(diffs)
    levels = np.full(count, np.nan)
    enough = min(3, window)  # a side with fewer values (at the ends of the clip) is merged
    for i in range(count):
        left, right = diffs[max(0, i - window) : i], diffs[i + 1 : i + 1 + window]
        sides = [side for side in (left, right) if len(side) >= enough] or [np.concatenate((left, right))]
        levels[i] = min((np.quantile(side, quantile) for side in sides if len(side)), default=np.nan)
    return levels


def auto_thresholds(
    diffs: np.ndarray,
    window: int = AUTO_WINDOW,
    quantile: float = AUTO_QUANTILE,
    ratio: float = AUTO_RATIO,
    floor: float = AUTO_FLOOR,
) -> np.ndarray:
    """(N-1,) threshold of every adjacent pair under the ``auto`` rule (module doc, steps 1-2)."""
    diffs = np.asarray(diffs, dtype=np.float64)
    levels = _local_levels(diffs, window, quantile)  # (N-1,)
    thresholds = ratio * (levels + _EPS) - _EPS
    thresholds = np.where(np.isnan(thresholds), floor, thresholds)
    return np.maximum(thresholds, floor)


def separating_threshold(diffs: np.ndarray, is_duplicate: np.ndarray) -> float | None:
    """One T with ``diffs <= T`` == ``is_duplicate``, the geometric midpoint of the gap; else None."""
    diffs = np.asarray(diffs, dtype=np.float64)
    is_duplicate = np.asarray(is_duplicate, dtype=bool)
    if not is_duplicate.any():
        return None
    low = float(diffs[is_duplicate].max())
    if is_duplicate.all():
        return low
    high = float(diffs[~is_duplicate].min())
    if high <= low:
        return None
    return float(np.sqrt((low + _EPS) * (high + _EPS)) - _EPS)


@dataclass
class Run:
    """Duplicate frames ``first .. last`` (inclusive), copies of frame ``first - 1``.

    ``status`` is a key of RUN_STATUSES; a repaired run is interpolated between frames
    ``first - 1`` and ``last + 1``.
    """

    first: int
    last: int
    status: str = "repair"

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def before(self) -> int:
        return self.first - 1

    @property
    def after(self) -> int:
        return self.last + 1

    def to_dict(self) -> dict:
        return {**asdict(self), "length": self.length, "between": [self.before, self.after], "why": RUN_STATUSES[self.status]}


@dataclass
class Detection:
    """Result of :func:`detect_duplicates` on a clip of ``frame_count`` frames.

    Attributes:
        diffs: (N-1,) MAD between frames i and i+1 (0-255 scale).
        thresholds: (N-1,) threshold applied to each pair.
        threshold: one T reproducing the decision ("MAD <= T"), or None when none does.
        mode: "auto" or "fixed"; ``how``: a sentence on how the threshold was chosen.
        duplicates: sorted indices of duplicate frames (frame i+1 for a duplicate pair i).
        runs: the runs of consecutive duplicates with what is done to each.
        cuts: pair indices i with a scene cut between frames i and i+1; ``cut_level``: the MAD
            above which a pair is a cut.
    """

    frame_count: int
    diffs: np.ndarray
    thresholds: np.ndarray
    threshold: float | None
    mode: str
    how: str
    duplicates: list[int]
    runs: list[Run]
    cuts: list[int]
    cut_level: float
    max_run: int = DEFAULT_MAX_RUN
    settings: dict = field(default_factory=dict)

    @property
    def repairable(self) -> list[Run]:
        return [run for run in self.runs if run.status == "repair"]

    @property
    def frames_to_replace(self) -> list[int]:
        return [i for run in self.repairable for i in range(run.first, run.last + 1)]

    def to_dict(self) -> dict:
        return {
            "frame_count": self.frame_count,
            "threshold": {
                "mode": self.mode,
                "value": None if self.threshold is None else round(self.threshold, 4),
                "how": self.how,
                "per_pair_range": [round(float(self.thresholds.min()), 4), round(float(self.thresholds.max()), 4)]
                if len(self.thresholds)
                else None,
                "settings": self.settings,
            },
            "duplicates": self.duplicates,
            "runs": [run.to_dict() for run in self.runs],
            "runs_by_status": {s: sum(r.status == s for r in self.runs) for s in RUN_STATUSES},
            "cuts": [{"between": [i, i + 1], "mad": round(float(self.diffs[i]), 3)} for i in self.cuts],
            "cut_level": round(self.cut_level, 3),
            "max_run": self.max_run,
            "adjacent_mad": [round(float(d), 4) for d in self.diffs],
            "per_pair_threshold": [round(float(t), 4) for t in self.thresholds],
        }


def find_runs(duplicates: list[int] | np.ndarray) -> list[tuple[int, int]]:
    """Group sorted frame indices into (first, last) runs of consecutive indices."""
    runs: list[tuple[int, int]] = []
    for index in sorted(int(i) for i in duplicates):
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def cut_level(diffs: np.ndarray, is_duplicate: np.ndarray, cut_threshold: float = CUT_THRESHOLD, cut_factor: float = CUT_FACTOR) -> float:
    """max(cut_threshold, cut_factor x median MAD of the non-duplicate pairs)."""
    real = np.asarray(diffs)[~np.asarray(is_duplicate, dtype=bool)]
    median = float(np.median(real)) if len(real) else 0.0
    return max(cut_threshold, cut_factor * median)


def detect_duplicates(
    diffs: np.ndarray | list[float],
    threshold: float | str = "auto",
    max_run: int = DEFAULT_MAX_RUN,
    cut_threshold: float = CUT_THRESHOLD,
    cut_factor: float = CUT_FACTOR,
) -> Detection:
    """Duplicates, runs and cuts of a clip from its (N-1,) adjacent MADs (module doc).

    Args:
        diffs: MAD between frames i and i+1, 0-255 scale.
        threshold: "auto", or a number T >= 0 (frame i+1 is a duplicate when MAD <= T).
        max_run: longest run that is repaired.
    """
    diffs = np.asarray(diffs, dtype=np.float64).reshape(-1)  # (N-1,)
    if not np.isfinite(diffs).all() or (diffs < 0).any():
        raise ValueError("adjacent differences must be finite and >= 0")
    if isinstance(max_run, bool) or not isinstance(max_run, (int, np.integer)) or max_run < 1:
        raise ValueError(f"max_run must be a positive integer, got {max_run!r}")
    frame_count = len(diffs) + 1
    settings: dict = {}
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be 'auto' or a number of grey levels, got {threshold!r}")
        thresholds = auto_thresholds(diffs)
        mode = "auto"
        settings = {"window": AUTO_WINDOW, "quantile": AUTO_QUANTILE, "ratio": AUTO_RATIO, "floor": AUTO_FLOOR}
    else:
        if isinstance(threshold, bool) or not np.isfinite(float(threshold)) or float(threshold) < 0:
            raise ValueError(f"threshold must be 'auto' or a number >= 0, got {threshold!r}")
        thresholds = np.full(len(diffs), float(threshold))
        mode = "fixed"
    is_duplicate = diffs <= thresholds  # (N-1,) pair i -> frame i+1
    if mode == "fixed":
        value = float(threshold)
        how = f"fixed by the user: frame k+1 is a duplicate when MAD(k, k+1) <= {value:g}"
    else:
        value = separating_threshold(diffs, is_duplicate)
        if not is_duplicate.any():
            value = float(thresholds.min()) if len(thresholds) else AUTO_FLOOR
        rule = (
            f"auto: a pair is a duplicate when its MAD is <= {AUTO_RATIO:g} x the local motion level "
            f"(smaller of the {AUTO_QUANTILE:.0%} quantiles of the {AUTO_WINDOW} MADs on each side) or <= {AUTO_FLOOR:g}"
        )
        if value is None:
            how = rule + "; no single T separates the duplicates found from the other pairs, so the per-pair thresholds decide"
        elif is_duplicate.any():
            how = rule + f"; the duplicates found are exactly the pairs with MAD <= {value:.4f}"
        else:
            how = rule + f"; no pair qualifies (smallest per-pair threshold {value:.4f})"
    duplicates = [int(i) + 1 for i in np.flatnonzero(is_duplicate)]
    level = cut_level(diffs, is_duplicate, cut_threshold, cut_factor)
    cuts = [int(i) for i in np.flatnonzero(diffs > level)]
    cut_set = set(cuts)
    runs = []
    for first, last in find_runs(duplicates):
        if last == frame_count - 1:
            status = "end"
        elif first == 1:
            status = "start"
        elif last in cut_set:  # pair (last, last + 1): from the copies to the next distinct frame
            status = "cut"
        elif last - first + 1 > max_run:
            status = "too_long"
        else:
            status = "repair"
        runs.append(Run(first, last, status))
    return Detection(
        frame_count, diffs, thresholds, value, mode, how, duplicates, runs, cuts, level, int(max_run), settings
    )
