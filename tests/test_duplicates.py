"""Duplicate detection: the per-pixel MAD, the auto threshold, runs, cuts, and their reporting.

The sequences of adjacent differences below copy what real clips show (vtest held-out:
1.4-4.8 grey levels; a near-still clip: 0.25-0.5; H.264 duplicates: 0.02-0.25).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from nlvfi import duplicates
from nlvfi.duplicates import (
    AUTO_FLOOR,
    AUTO_PEAK_RATIO,
    AUTO_TINY_RATIO,
    NOISE_FACTOR,
    NOISY_COPIES_RATIO,
    NOISE_MARGIN,
    SHARE_MARGIN,
    Detection,
    auto_thresholds,
    changed_share,
    cut_level,
    copy_noise_ratio,
    detect_duplicates,
    find_runs,
    mad,
    pair_differences,
    peak_difference,
    separating_threshold,
    spot_difference,
)


def motion(n, level, spread, seed=0):
    """n real adjacent differences around ``level`` (a log-normal wobble of ``spread``)."""
    rng = np.random.default_rng(seed)
    return level * np.exp(rng.normal(0, spread, n))


def with_duplicates(diffs, positions, noise=0.0, seed=1):
    """Make frame m a copy of frame m-1 for m in positions: pair m-1 drops to ``noise``-ish and
    the pair after the run spans the motion of every frame of the run plus one."""
    rng = np.random.default_rng(seed)
    d = np.array(diffs, dtype=float)
    for m in sorted(positions):
        d[m] += d[m - 1]  # the next pair now spans two frame intervals
        d[m - 1] = noise * rng.uniform(0.3, 1.0) if noise else 0.0
    return d


def test_mad_is_the_mean_absolute_difference_on_the_0_255_scale():
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (9, 13, 3), dtype=np.uint8) for _ in range(2))
    slow = np.abs(a.astype(np.int64) - b.astype(np.int64)).mean()
    assert mad(a, b) == pytest.approx(slow)
    assert mad(a, a) == 0.0
    assert mad(np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)) == 255.0
    with pytest.raises(ValueError, match="differ in shape"):
        mad(a, b[:5])


def test_mad_does_not_depend_on_resolution():
    small = np.zeros((8, 8, 3), np.uint8)
    small[:4] = 10
    big = np.kron(small, np.ones((4, 4, 1), np.uint8))
    assert mad(small, np.zeros_like(small)) == mad(big, np.zeros_like(big)) == 5.0


def test_exact_duplicates_in_normal_motion_are_all_found():
    d = with_duplicates(motion(80, 2.0, 0.25), [10, 20, 21, 40, 55, 56, 57])
    detection = detect_duplicates(d)
    assert detection.duplicates == [10, 20, 21, 40, 55, 56, 57]
    assert [(r.first, r.last, r.status) for r in detection.runs] == [(10, 10, "repair"), (20, 21, "repair"), (40, 40, "repair"), (55, 57, "repair")]
    assert detection.threshold is not None and 0 < detection.threshold < d[d > 0].min()


def test_noisy_duplicates_of_a_re_encode_are_found():
    d = with_duplicates(motion(80, 2.0, 0.25), [10, 20, 21, 40], noise=0.25)
    assert detect_duplicates(d).duplicates == [10, 20, 21, 40]


def test_near_still_clip_where_a_fixed_threshold_fails():
    real = motion(60, 0.35, 0.15)  # every real difference well under 0.5 grey levels
    assert real.max() < 0.6
    d = with_duplicates(real, [8, 19, 30, 31, 45], noise=0.08)
    assert detect_duplicates(d).duplicates == [8, 19, 30, 31, 45]
    fixed = detect_duplicates(d, threshold=0.5).duplicates
    assert len(fixed) > 40  # a fixed 0.5 takes almost every real frame for a duplicate


def test_no_duplicates_no_detection_even_with_mixed_motion():
    d = np.concatenate((motion(10, 0.5, 0.25), motion(40, 3.0, 0.3, seed=1)))  # a slow stretch, then fast
    detection = detect_duplicates(d)
    assert detection.duplicates == [] and detection.runs == []
    assert detection.threshold is not None and (d > detection.threshold).all()


def test_bit_identical_frames_are_always_duplicates():
    d = np.zeros(6)  # a clip that never changes: a freeze, no motion level to compare with
    detection = detect_duplicates(d)
    assert detection.duplicates == [1, 2, 3, 4, 5, 6]
    assert detection.runs[0].status == "end"


def test_auto_threshold_is_a_fraction_of_the_local_motion():
    d = np.array([2.0] * 20)
    assert auto_thresholds(d) == pytest.approx(np.full(20, 0.3 * 2.01 - 0.01))
    assert auto_thresholds(np.array([0.01] * 5)) == pytest.approx(np.full(5, AUTO_FLOOR))


def test_reported_threshold_reproduces_the_decision():
    d = with_duplicates(motion(50, 1.5, 0.2), [5, 17, 30])
    detection = detect_duplicates(d)
    assert [i + 1 for i in np.flatnonzero(d <= detection.threshold)] == detection.duplicates


def test_separating_threshold():
    d = np.array([2.0, 0.0, 3.0, 0.1, 2.5])
    duplicate = d < 1
    value = separating_threshold(d, duplicate)
    assert 0.1 < value < 2.0
    assert separating_threshold(np.array([0.3, 0.2, 0.5]), np.array([True, False, False])) is None  # overlap
    assert separating_threshold(d, np.zeros(5, bool)) is None


def test_fixed_threshold_is_the_method_rule():
    d = np.array([1.0, 0.4, 0.6, 0.5, 2.0])
    assert detect_duplicates(d, threshold=0.5).duplicates == [2, 4]  # L <= T
    assert detect_duplicates(d, threshold=0.5).mode == "fixed"


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "often", True])
def test_bad_thresholds(bad):
    with pytest.raises(ValueError, match="threshold must be"):
        detect_duplicates(np.ones(5), threshold=bad)


def test_bad_arguments():
    with pytest.raises(ValueError, match="finite"):
        detect_duplicates(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="max_run"):
        detect_duplicates(np.ones(5), max_run=0)


def test_find_runs():
    assert find_runs([]) == []
    assert find_runs([7, 3, 4, 5, 9, 10]) == [(3, 5), (7, 7), (9, 10)]


def test_runs_at_the_start_and_end_are_left():
    d = with_duplicates(motion(30, 2.0, 0.2), [1, 2, 15])
    d[-1] = 0.0  # the last frame repeats the one before
    statuses = {(r.first, r.last): r.status for r in detect_duplicates(d).runs}
    assert statuses == {(1, 2): "start", (15, 15): "repair", (30, 30): "end"}


def test_run_followed_by_a_scene_cut_is_left():
    d = with_duplicates(motion(40, 2.0, 0.2), [12, 25])
    d[25] = 80.0  # the frame after the second run belongs to another scene
    detection = detect_duplicates(d)
    assert {r.first: r.status for r in detection.runs} == {12: "repair", 25: "cut"}
    assert 25 in detection.cuts and detection.cut_level == pytest.approx(30.0)


def test_cut_level_follows_the_motion():
    d = np.array([10.0] * 9 + [0.0])
    assert cut_level(d, d < 0.05) == pytest.approx(60.0)  # 6 x median of the non-duplicate pairs
    assert cut_level(np.array([1.0, 1.0]), np.array([False, False])) == 30.0


def test_long_freezes_are_not_stutter():
    d = with_duplicates(motion(40, 2.0, 0.2), list(range(10, 20)) + [30])
    runs = {r.first: r.status for r in detect_duplicates(d, max_run=8).runs}
    assert runs == {10: "too_long", 30: "repair"}
    assert {r.first: r.status for r in detect_duplicates(d, max_run=10).runs}[10] == "repair"


def test_detection_report_is_json_and_complete():
    d = with_duplicates(motion(30, 2.0, 0.2), [5, 6, 20])
    detection = detect_duplicates(d)
    assert isinstance(detection, Detection)
    report = json.loads(json.dumps(detection.to_dict()))
    assert report["duplicates"] == [5, 6, 20]
    assert report["threshold"]["mode"] == "auto" and "local motion" in report["threshold"]["how"]
    assert report["runs"][0] == {"first": 5, "last": 6, "status": "repair", "length": 2, "between": [4, 7], "why": report["runs"][0]["why"]}
    assert len(report["adjacent_mad"]) == len(report["per_pair_threshold"]) == 30
    assert detection.frames_to_replace == [5, 6, 20]


# --------------------------------------------------------------------------------------------
# The peak difference (auto with peaks)


def test_peak_difference_is_the_99th_percentile_of_16x16_block_mads():
    a = np.zeros((64, 96, 3), np.uint8)  # 4 x 6 = 24 blocks
    b = a.copy()
    b[16:32, 32:48] = 40  # one block changes by 40 everywhere
    blocks = np.zeros(24)
    blocks[0] = 40.0
    assert peak_difference(a, b) == pytest.approx(np.percentile(blocks, 99))
    assert mad(a, b) == pytest.approx(40 / 24)  # the same change, spread over the frame by the MAD
    assert peak_difference(a, a) == 0.0
    assert peak_difference(a[:7, :5], b[:7, :5]) == 0.0  # smaller than a block: one block
    with pytest.raises(ValueError, match="differ in shape"):
        peak_difference(a, b[:5])


def near_still_with_noisy_copies(seed=0):
    """A near-still clip re-encoded: real MAD ~0.33 (slowest 0.22) with peaks ~3 (motion in a
    few blocks); copies with MAD 0.08-0.2, close to the slowest real pairs, but peaks of noise,
    0.3-0.8."""
    rng = np.random.default_rng(seed)
    mads, peaks = motion(60, 0.33, 0.3, seed), motion(60, 3.0, 0.25, seed + 1)
    copies = [5, 12, 13, 21, 29, 30, 38, 45, 51]
    for m in copies:
        mads[m - 1], peaks[m - 1] = rng.uniform(0.08, 0.2), rng.uniform(0.3, 0.8)
    return mads, peaks, copies


def test_peaks_find_noisy_copies_that_the_mad_rule_misses():
    mads, peaks, copies = near_still_with_noisy_copies()
    assert detect_duplicates(mads, peaks=peaks).duplicates == copies
    assert set(detect_duplicates(mads).duplicates) < set(copies)  # MAD alone: too close to the slow real pairs


def test_a_slow_real_frame_far_above_the_copies_noise_is_not_a_copy():
    mads, peaks, copies = near_still_with_noisy_copies()
    mads[-1], peaks[-1] = 0.05, 2.5  # the last pair slows right down (one side only to compare with)
    found = detect_duplicates(mads, peaks=peaks)
    assert found.duplicates == copies
    peaks[-1] = 0.5  # ...unless its peak is noise-sized too
    assert detect_duplicates(mads, peaks=peaks).duplicates == copies + [60]


def moving_clip_with_intra_frames():
    """A moving clip re-encoded with MPEG-2 groups of 12 (numbers as measured on vtest, q 2): real
    pairs MAD about 2, peak about 30; copies between predicted frames MAD 0.05, peak 0.8; a copy
    coded as an I-frame differs from the frame before by the intra frame's own noise (MAD 1.2,
    peak 3.2, 5% of the pixels), as does the predicted copy right after an I-frame (0.6, 2.2)."""
    rng = np.random.default_rng(3)
    count = 60
    mads, peaks, shares = rng.uniform(1.6, 2.6, count - 1), rng.uniform(24, 40, count - 1), rng.uniform(4, 12, count - 1)
    intra = np.zeros(count, dtype=bool)
    intra[::12] = True  # frames 0, 12, 24, 36, 48
    copies = {  # frame: (MAD, peak, share); 24 is an I-frame, 37 the first predicted frame after one
        5: (0.05, 0.8, 0.01), 20: (0.03, 0.6, 0.0), 24: (1.2, 3.2, 5.0), 31: (0.08, 0.8, 0.02), 37: (0.6, 2.2, 2.0), 44: (0.05, 0.7, 0.01),
    }  # fmt: skip
    for frame, values in copies.items():
        mads[frame - 1], peaks[frame - 1], shares[frame - 1] = values
    mads[0], peaks[0], shares[0] = 0.4, 4.0, 2.0  # a slow start: real frame 1 after the clip's first I-frame, not taken
    return mads, peaks, shares, intra


def test_a_copy_beside_an_intra_frame_is_judged_by_its_peak():
    mads, peaks, shares, intra = moving_clip_with_intra_frames()
    assert detect_duplicates(mads, peaks=peaks, shares=shares).duplicates == [5, 20, 31, 44]  # the intra noise hid 24 and 37
    found = detect_duplicates(mads, peaks=peaks, shares=shares, intra=intra)
    assert found.duplicates == [5, 20, 24, 31, 37, 44] and found.settings["mixed_pairs_taken"] == 2
    assert "intra-coded" in found.how
    peaks[23] = 0.35 * np.median(peaks)  # a real pair into an I-frame whose peak is not that small
    assert detect_duplicates(mads, peaks=peaks, shares=shares, intra=intra).duplicates == [5, 20, 31, 37, 44]
    all_intra = np.ones(len(intra), dtype=bool)  # FFV1, Motion JPEG: no pair mixes the two
    assert detect_duplicates(mads, peaks=peaks, shares=shares, intra=all_intra).duplicates == [5, 20, 31, 44]
    with pytest.raises(ValueError, match="one value per frame"):
        detect_duplicates(mads, peaks=peaks, shares=shares, intra=intra[1:])


def test_a_copy_on_an_intra_frame_near_the_end_is_taken_when_its_peak_is_tiny_beside_the_one_side():
    mads, peaks, shares, intra = moving_clip_with_intra_frames()
    intra[57] = True  # an I-frame two frames before the end: one real pair on its right
    mads[56], peaks[56], shares[56] = 1.5, 2.0, 5.0  # frame 57, a copy coded as that I-frame (vtest's frame 156)
    assert detect_duplicates(mads, peaks=peaks, shares=shares, intra=intra).duplicates == [5, 20, 24, 31, 37, 44, 57]
    peaks[56] = 0.2 * np.median(peaks)  # quiet beside the level, but not tiny: a slowing end is left as it is
    assert detect_duplicates(mads, peaks=peaks, shares=shares, intra=intra).duplicates == [5, 20, 24, 31, 37, 44]


def measured(name):
    """Adjacent MADs and peaks measured on a real re-encoded clip (tests/data/NAME.json says how)."""
    return json.loads((Path(__file__).parent / "data" / f"{name}.json").read_text())


def test_re_encoded_near_still_copies_a_little_above_the_noise_cap_are_still_copies():
    # x264 on 2 threads left one copy's peak 0.54 grey levels above 3 x the copies' median peak
    # (a margin of 0.5 missed it); the real frames that cap rejects are >= 6.9 above it
    clip = measured("near_still_crf18_x264_2threads")
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == clip["copies"]


def test_dense_runs_of_copies_do_not_pull_the_motion_level_down():
    # two runs of 3 copies 6 frames apart: 5 of the 8 pairs right of the first copy are copies, so
    # a level measured on all pairs is noise-sized; the second pass measures it on the real pairs
    clip = measured("near_still_crf18_dense_runs")
    found = detect_duplicates(clip["mad"], peaks=clip["peak"])
    assert found.duplicates == clip["copies"]
    assert 2 <= found.settings["passes"] <= found.settings["max_passes"] == duplicates.AUTO_PASSES_WITH_PEAKS


def test_a_frame_rate_raised_by_repeating_frames_has_its_copies_found():
    # every frame of Megamind held 3 times, re-encoded: two copies for each real frame, so the
    # median of every side is a copy's noise. With two passes, the first on all pairs, 20 of the
    # 36 copies were found; the first pass now leaves out the evident copies (module doc, "Dense copies")
    clip = measured("megamind_held3_crf18")
    found = detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"])
    assert found.duplicates == clip["copies"]
    evident = duplicates._evident_copies(np.array(clip["mad"]), np.array(clip["peak"]))
    assert set(np.flatnonzero(evident) + 1) <= set(clip["copies"]) and evident.sum() >= len(clip["copies"]) // 2


def test_local_levels_are_each_sides_quantile_of_its_nearest_kept_pairs():
    # the definition, pair by pair (the function computes all pairs at once, to the same bits)
    def by_pair(values, window, quantile, keep):
        kept = np.flatnonzero(keep)
        levels = []
        for i in range(len(values)):
            left = [values[j] for j in kept if j < i][-window:]
            right = [values[j] for j in kept if j > i][:window]
            sides = [side for side in (left, right) if len(side) >= min(duplicates.AUTO_MIN_SIDE, window)] or [left + right]
            levels.append(min((np.quantile(side, quantile) for side in sides if len(side)), default=np.nan))
        return np.array(levels)

    rng = np.random.default_rng(3)
    for _ in range(300):
        n, window = int(rng.integers(0, 30)), int(rng.integers(1, 9))
        values = rng.choice([0.0, 0.25, 1.5, 7.0], n) if rng.random() < 0.3 else rng.uniform(0, 3, n)
        keep = rng.random(n) < rng.uniform(0, 1)
        quantile = float(rng.choice([0.0, 0.5, 0.75, 0.9, 1.0]))
        assert np.array_equal(duplicates._local_levels(values, window, quantile, keep), by_pair(values, window, quantile, keep), equal_nan=True)


def test_a_slow_real_pair_with_real_motion_on_one_side_only_keeps_the_first_pass_threshold():
    # pair 36 of 39: on its right only pair 37 is real, so its level comes from the left alone;
    # measured without the copies, that level would pass it (MAD 0.126 <= 0.161, peak 0.998 <= 1.02)
    clip = measured("near_still_exact_slow_end")
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == clip["copies"]
    assert detect_duplicates(clip["mad"], peaks=clip["peak"], lossless=True).duplicates == clip["copies"]  # as the tool reads it


def test_lossless_input_with_bit_identical_copies_has_no_noise_margin():
    # vtest's held-out lawn, FFV1: real frame 34 is almost frame 33 (MAD 0.045, peak 0.74);
    # the margin meant for codec noise let it pass as a copy, as it did in 5 of 8 patterns
    clip = measured("near_still_heldout_ffv1")
    lossless = detect_duplicates(clip["mad"], peaks=clip["peak"], lossless=True)
    assert lossless.duplicates == clip["copies"]
    assert lossless.settings["noise_margin"] == 0.0 and lossless.settings["lossless_input"]
    assert "no noise margin" in lossless.how
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == sorted(clip["copies"] + [34])


def test_lossless_input_whose_copies_carry_noise_keeps_the_margin():
    # a lossless file can hold a lossy clip's noisy copies (a lossless re-encode of it): their
    # MAD is above the floor, so nothing changes
    clip = measured("near_still_crf18_x264_2threads")
    lossy = detect_duplicates(clip["mad"], peaks=clip["peak"])
    lossless = detect_duplicates(clip["mad"], peaks=clip["peak"], lossless=True)
    assert lossless.duplicates == lossy.duplicates == clip["copies"]
    assert lossless.settings["noise_margin"] == NOISE_MARGIN


def test_the_second_pass_measures_motion_on_the_real_pairs_only():
    mads, peaks = motion(60, 0.33, 0.2), motion(60, 3.0, 0.2, seed=1)  # near-still, re-encoded
    copies = [5, 6, 7, 10, 11, 12]  # 5 of the 8 pairs right of frame 5's are copies
    is_copy = np.isin(np.arange(60), np.array(copies) - 1)  # pair m-1 -> frame m
    mads[is_copy], peaks[is_copy] = 0.12, 0.6
    all_pairs = auto_thresholds(mads, quantile=0.5, ratio=0.6)
    real_pairs = auto_thresholds(mads, quantile=0.5, ratio=0.6, keep=~is_copy)
    assert all_pairs[4] < 0.12 < real_pairs[4]  # on all pairs frame 5's level is the copies' noise
    assert detect_duplicates(mads, peaks=peaks).duplicates == copies


def test_peaks_are_reported_and_ignored_by_a_fixed_threshold():
    mads, peaks, copies = near_still_with_noisy_copies()
    auto = detect_duplicates(mads, peaks=peaks).to_dict()
    assert len(auto["adjacent_peak"]) == len(auto["per_pair_peak_threshold"]) == 60
    assert "peak" in auto["threshold"]["how"] and auto["threshold"]["settings"]["peak_ratio"] > 0
    fixed = detect_duplicates(mads, threshold=0.3, peaks=peaks)
    assert fixed.duplicates == [i + 1 for i in np.flatnonzero(mads <= 0.3)]
    assert json.loads(json.dumps(auto))["adjacent_peak"] == auto["adjacent_peak"]


@pytest.mark.parametrize("peaks, message", [(np.ones(4), "one value per pair"), (-np.ones(5), ">= 0"), ([np.nan] * 5, "finite")])
def test_bad_peaks(peaks, message):
    with pytest.raises(ValueError, match=message):
        detect_duplicates(np.ones(5), peaks=peaks)


def test_changed_share_is_the_percentage_of_pixels_changing_by_4_grey_levels():
    a = np.full((10, 10, 3), 100, dtype=np.uint8)
    b = a.copy()
    b[0, 0] = (104, 104, 104)  # mean 4: changed
    b[0, 1] = (112, 100, 100)  # mean 4, all in one channel: changed
    b[0, 2] = (104, 104, 103)  # mean 3.67: not
    b[0, 3] = (96, 96, 96)  # down by 4: changed
    assert changed_share(a, b) == pytest.approx(3.0)
    assert changed_share(b, a) == changed_share(a, b)
    assert changed_share(a, a) == 0.0
    assert changed_share(a, 255 - a) == 100.0
    assert pair_differences(a, b) == (mad(a, b), peak_difference(a, b), changed_share(a, b), spot_difference(a, b))
    with pytest.raises(ValueError, match="shape"):
        changed_share(a, b[:5])


def test_a_real_near_copy_whose_changed_share_stands_out_is_not_a_copy():
    # vtest's held-out lawn at crf 18: real frame 37 is almost frame 36 (MAD 0.050, peak 0.85,
    # within the copies' peak cap), but 0.18% of its pixels change by >= 4 grey levels; the most
    # any copy of the clip changes is far below (most: none)
    clip = measured("near_still_heldout_crf18_real_near_copy")
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == sorted(clip["copies"] + [37])
    found = detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"])
    assert found.duplicates == clip["copies"]
    copies = np.array(clip["share"])[np.array(clip["copies"]) - 1]
    assert clip["share"][36] > NOISE_FACTOR * np.median(copies) + SHARE_MARGIN > copies.max()


def test_a_quiet_copy_is_a_copy_though_its_peak_is_above_the_strict_ratio(monkeypatch):
    # x264 left copy 33 a peak of 0.65 x its real neighbours' level (a copy is held to 0.6, a
    # real near-copy of this lawn can be 0.4-0.5), but it changes 0.037% of its pixels by >= 4
    # grey levels, 0.05 x the real pairs' level: quiet, so its MAD and peak may reach 0.8
    clip = measured("near_still_heldout_crf18_quiet_copy")
    found = detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"])
    assert found.duplicates == clip["copies"]
    assert 33 not in detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates  # MAD and peaks alone
    monkeypatch.setattr(duplicates, "QUIET_RATIO", AUTO_PEAK_RATIO)  # quiet pairs held to the strict ratio
    assert detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"]).duplicates == [c for c in clip["copies"] if c != 33]


def test_a_copy_up_to_a_grey_level_and_a_half_above_the_copies_noise_is_a_copy(monkeypatch):
    # x264 at crf 16 left copy 18 of the held-out lawn a peak 1.105 grey levels above 3 x the
    # copies' median peak (0); copies of the seven benchmark clips reach 1.19 above it, real
    # frames that pass the ratio tests are either below 1.0 (told by their share) or >= 6.75
    clip = measured("near_still_heldout_crf16_copy_above_old_margin")
    found = detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"])
    assert found.duplicates == clip["copies"] and NOISE_MARGIN == 1.5
    monkeypatch.setattr(duplicates, "NOISE_MARGIN", 1.0)  # the margin before: the copy was missed
    assert detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"]).duplicates == [c for c in clip["copies"] if c != 18]


def test_a_changed_share_too_small_to_measure_makes_no_pair_quiet():
    # real pairs that change < SHARE_MARGIN (0.1%) of their pixels by >= 4 grey levels: the share
    # says nothing, so a real pair at 0.7 x the MAD and peak levels (share 0) stays real
    count = 24
    diffs, peaks, shares = np.full(count, 0.3), np.full(count, 1.0), np.full(count, 0.05)
    diffs[6] = peaks[6] = 0.0  # one exact copy, so there are candidates
    diffs[12], peaks[12], shares[12] = 0.21, 0.7, 0.0
    found = detect_duplicates(diffs, peaks=peaks, shares=shares)
    assert found.duplicates == [7]
    shares_above = np.where(np.arange(count) == 12, 0.0, 0.5)  # the same pair, where the share is measurable
    assert detect_duplicates(diffs, peaks=peaks, shares=shares_above).duplicates == [7, 13]


def test_a_slow_real_frame_of_a_moving_clip_is_not_a_copy():
    # Megamind starts slowly: real frame 5 (MAD 0.41, peak 3.0) passes the MAD, peak and noise
    # tests, but changes 1.3% of its pixels by >= 4 grey levels, the copies ~0.01%
    clip = measured("megamind_crf18_slow_start")
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == sorted(clip["copies"] + [5])
    assert detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"]).duplicates == clip["copies"]


def test_a_copy_tiny_beside_the_real_motion_is_a_copy_even_above_the_copies_noise():
    # tree, frames 2-4 copy frame 1: frame 4 has real pairs on its right only, and its peak (2.2)
    # is above 3 x the other copies' (0.09-0.11) + 1, but tiny beside the real pairs' (54-118)
    clip = measured("tree_crf18_copies_at_the_start")
    peaks = np.array(clip["peak"])
    assert peaks[3] > NOISE_FACTOR * np.median(peaks[[1, 2]]) + NOISE_MARGIN
    assert peaks[3] <= AUTO_TINY_RATIO * np.median(peaks[4:12])
    assert detect_duplicates(clip["mad"], peaks=clip["peak"]).duplicates == clip["copies"]
    assert detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"]).duplicates == clip["copies"]


def test_changed_shares_are_reported_with_their_settings():
    clip = measured("near_still_heldout_crf18_real_near_copy")
    report = json.loads(json.dumps(detect_duplicates(clip["mad"], peaks=clip["peak"], shares=clip["share"]).to_dict()))
    assert report["adjacent_changed_share"] == pytest.approx(clip["share"], abs=1e-4)
    settings = report["threshold"]["settings"]
    assert settings["change_level"] == 4.0 and settings["share_margin"] == SHARE_MARGIN and settings["tiny_ratio"] == AUTO_TINY_RATIO
    assert "changing by >= 4 grey levels" in report["threshold"]["how"]
    without = detect_duplicates(clip["mad"], peaks=clip["peak"]).to_dict()
    assert without["adjacent_changed_share"] is None and "change_level" not in without["threshold"]["settings"]


@pytest.mark.parametrize(
    "shares, message",
    [(np.ones(4), "one value per pair"), (-np.ones(5), "percentages"), (np.full(5, 101.0), "percentages"), ([np.nan] * 5, "percentages")],
)
def test_bad_shares(shares, message):
    with pytest.raises(ValueError, match=message):
        detect_duplicates(np.ones(5), peaks=np.ones(5), shares=shares)


def test_shares_need_peaks():
    with pytest.raises(ValueError, match="give peaks too"):
        detect_duplicates(np.ones(5), shares=np.ones(5))


def test_copy_noise_ratio_compares_the_copies_found_with_the_real_motion():
    diffs = np.array([0.5, 0.4, 0.1, 0.6, 0.5, 0.2, 0.5])  # copies at pairs 2 and 5 (frames 3 and 6)
    is_duplicate = np.isin(np.arange(7), [2, 5])
    assert copy_noise_ratio(diffs, is_duplicate) == pytest.approx(np.quantile([0.1, 0.2], 0.9) / 0.5)
    assert copy_noise_ratio(diffs, np.zeros(7, bool)) is None and copy_noise_ratio(diffs, np.ones(7, bool)) is None
    assert copy_noise_ratio(np.array([0.0, 0.0, 0.0]), np.array([True, False, False])) is None  # no real motion to compare with


def test_the_detection_cautions_only_where_the_copies_are_loud_beside_the_real_motion():
    real = np.full(30, 0.4)
    loud, quiet = real.copy(), real.copy()
    loud[[6, 14, 22]], quiet[[6, 14, 22]] = 0.12, 0.03  # copies: 0.3 and 0.075 x the real motion
    noisy = detect_duplicates(loud, threshold=0.2)
    assert noisy.duplicates == [7, 15, 23] and noisy.copy_noise_ratio == pytest.approx(0.3) and 0.3 > NOISY_COPIES_RATIO
    assert "0.30 x the clip's typical real change" in noisy.caution and noisy.to_dict()["caution"] == noisy.caution
    clean = detect_duplicates(quiet)
    assert clean.duplicates == [7, 15, 23] and clean.caution is None and clean.to_dict()["copy_noise_ratio"] == pytest.approx(0.075)
    assert detect_duplicates(real).caution is None  # no copies found


def test_the_repair_figure_carries_the_caution(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from nlvfi.repair import draw_repair_figure

    real = np.full(30, 0.4)
    loud, quiet = real.copy(), real.copy()
    loud[[6, 14, 22]], quiet[[6, 14, 22]] = 0.12, 0.03
    texts = []
    for detection in (detect_duplicates(loud, threshold=0.2), detect_duplicates(quiet)):
        figure = draw_repair_figure(detection)
        texts.append(" ".join(text.get_text() for text in figure.axes[0].texts))
    assert texts[0].startswith("Caution: ") and "0.30 x the clip's typical real change" in texts[0].replace("\n", " ")
    assert texts[1] == ""


def test_spot_is_the_largest_8x8_block_difference():
    a = np.zeros((720, 1280, 3), np.uint8)  # a still 720p screen
    b = a.copy()
    b[10:14, 20:24] = 192  # 16 pixels of an 8x8 block (rows 8-15, columns 16-23) change by 192
    assert spot_difference(a, b) == pytest.approx(16 * 192 / 64)
    assert peak_difference(a, b) == 0.0 and mad(a, b) < 0.02  # the peak (99th percentile) and the floor do not see it
    assert pair_differences(a, b)[3] == spot_difference(a, b)


def test_a_pair_with_a_spot_is_never_a_copy_under_the_floor_or_not():
    # a still screen: copies at noise 0.002-0.004, a cursor moving in some frames (MAD 0.005, under
    # the floor, one 8x8 block changing by 50 levels), lossy (no bit-identical copies)
    rng = np.random.default_rng(0)
    n = 40
    diffs = rng.uniform(0.002, 0.004, n)  # (N-1,)
    peaks = rng.uniform(0.01, 0.03, n)
    shares = rng.uniform(0.0, 0.005, n)
    spots = rng.uniform(2.0, 5.0, n)
    cursor = [3, 4, 5, 12, 13, 20, 27, 28, 29, 30]
    diffs[cursor], spots[cursor] = 0.005, 50.0
    without = detect_duplicates(diffs, peaks=peaks, shares=shares)
    assert set(i + 1 for i in cursor) <= set(without.duplicates)  # the floor takes them
    found = detect_duplicates(diffs, peaks=peaks, shares=shares, spots=spots)
    assert found.duplicates == [i + 1 for i in range(n) if i not in cursor]
    assert found.settings["spot_level"] == duplicates.SPOT_LEVEL and found.settings["spotted_pairs"] == len(cursor)
    assert found.to_dict()["adjacent_spot"][3] == 50.0 and "is never a duplicate" in found.how
    spots[cursor] = duplicates.SPOT_LEVEL - 0.5  # below the level: as without spots
    assert detect_duplicates(diffs, peaks=peaks, shares=shares, spots=spots).duplicates == without.duplicates
    fixed = detect_duplicates(diffs, threshold=0.02, peaks=peaks, spots=np.full(n, 50.0))
    assert fixed.duplicates == list(range(1, n + 1))  # a fixed T is the method's rule on the MAD alone


def test_bit_identical_copies_of_a_lossless_file_leave_no_floor():
    # FFV1 of a still screen: copies exactly 0, a cursor's frames 0.003 (under the floor, spot or not)
    diffs = np.zeros(30)
    diffs[[4, 9, 10, 17]] = 0.003
    peaks, shares = np.zeros(30), np.zeros(30)
    shares[[4, 9, 10, 17]] = 0.01
    found = detect_duplicates(diffs, peaks=peaks, shares=shares, lossless=True)
    assert found.duplicates == [i + 1 for i in range(30) if i not in (4, 9, 10, 17)]
    assert set(detect_duplicates(diffs, peaks=peaks, shares=shares, lossless=False).duplicates) == set(range(1, 31))


@pytest.mark.parametrize(
    "spots, peaks, message",
    [(np.ones(4), np.ones(5), "one value per pair"), (-np.ones(5), np.ones(5), "finite and >= 0"), (np.ones(5), None, "give peaks")],
)
def test_bad_spots_are_refused(spots, peaks, message):
    with pytest.raises(ValueError, match=message):
        detect_duplicates(np.ones(5), peaks=peaks, spots=spots)
