"""benchmarks/detection_robustness.py: what it measures and how it sums up. The benchmark itself
is run by hand (its docstring says how); the one file measured here is tiny and synthetic."""

import argparse
from fractions import Fraction

import av
import numpy as np
import pytest

from project_scripts import load_script

robustness = load_script("benchmarks/detection_robustness.py")


def test_seeds_are_a_range_or_a_list():
    assert robustness.parse_seeds("0-3") == [0, 1, 2, 3]
    assert robustness.parse_seeds("5,2") == [5, 2]
    for bad in ("", "a-b", "-1", "3-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            robustness.parse_seeds(bad)


def test_lossless_files_are_encoded_once_lossy_ones_per_thread_count():
    configs = robustness.configurations(["still"], [0, 1], ["exact", "23"], [1, 2, 4])
    assert len(configs) == 2 * 1 + 2 * 3
    assert {c["threads"] for c in configs if c["encoding"] == "exact"} == {0}
    assert {c["threads"] for c in configs if c["encoding"] == "23"} == {1, 2, 4}


def test_short_groups_of_pictures_and_mpeg2_are_named_and_mpeg2_is_encoded_once(tmp_path):
    configs = robustness.configurations(["still"], [0], ["18g12", "mpeg2", "mpeg2-dvd"], [1, 2])
    assert [(c["encoding"], c["threads"]) for c in configs] == [("18g12", 1), ("18g12", 2), ("mpeg2", 0), ("mpeg2-dvd", 0)]
    assert robustness.encoding_name("18g12") == "H.264 crf 18, I every 12"
    assert robustness.encoding_name("mpeg2-dvd") == "MPEG-2 q 3, I every 15, 2 B"
    assert robustness.encoding_name("23", short=True) == "crf 23"
    frames = [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(30)]
    for encoding, codec in (("18g12", "h264"), ("mpeg2", "mpeg2video")):
        path = robustness.encode(frames, tmp_path / encoding, 25, encoding, 1)
        with av.open(str(path)) as container:
            decoded = list(container.decode(video=0))
            assert container.streams.video[0].codec_context.name == codec
        intra = [i for i, frame in enumerate(decoded) if frame.pict_type == av.video.frame.PictureType.I]
        assert len(decoded) == 30 and intra[0] == 0 and max(np.diff(intra + [30])) <= 12  # x264 may start one early
    with pytest.raises(SystemExit):
        robustness.main(["--encodings", "18g"])


def test_held_frames_repeat_each_source_frame_and_name_the_repeats_as_copies():
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(12)]
    shown, copies = robustness.held(frames, 0, Fraction(5, 2))  # 10 frames/s stored at 25: held 3, 2, 3, 2, ...
    assert [int(f[0, 0, 0]) for f in shown] == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4]
    assert copies == [1, 2, 4, 6, 7, 9, 11]
    later, _ = robustness.held(frames, 1, Fraction(3))  # a seed starts 7 source frames later, as far as the clip allows
    assert [int(f[0, 0, 0]) for f in later] == [7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10, 10]
    configs = robustness.configurations(["still"], [0], ["exact"], [1], ["runs", "held3"])
    assert [robustness.key(c) for c in configs] == ["still/exact/seed0/threads0", "still/held3/exact/seed0/threads0"]  # runs: keys as before
    assert robustness.clip_name(configs[1]) == "still, held x3" and robustness.clip_name(configs[0]) == "still"
    with pytest.raises(SystemExit):
        robustness.main(["--injection", "held1"])


def result(encoding, precision, recall, seed=0, false=(), missed=(), caution=False, separable=True):
    return {
        "clip": "still", "encoding": encoding, "seed": seed, "threads": 0 if encoding == "exact" else 1, "duplicates": 10,
        "precision": precision, "recall": recall, "false": list(false), "missed": list(missed), "caution": caution,
        "share_separable": separable,
    }  # fmt: skip


def test_the_bar_is_one_for_exact_copies_and_095_after_re_encoding():
    rows = robustness.summarize(
        [
            result("exact", 1.0, 1.0),
            result("exact", 1.0, 0.96, seed=1, missed=[7]),  # below: exact copies must all be found
            result("23", 0.96, 1.0, false=[4]),  # meets 0.95
            result("23", 1.0, 0.9, seed=1, missed=[3], caution=True, separable=False),
        ]
    )
    exact, lossy = rows
    assert (exact["count"], exact["meeting"], exact["perfect"], exact["missed"]) == (2, 1, 1, 1)
    assert (lossy["count"], lossy["meeting"], lossy["perfect"], lossy["false"], lossy["missed"]) == (2, 1, 0, 1, 1)
    assert (lossy["min_precision"], lossy["min_recall"]) == (0.96, 0.9)
    table = robustness.format_table(rows, [0, 1], [1], 1.0)
    # all copies together: 19 of 20 found, among 20 frames taken
    assert (lossy["pooled_precision"], lossy["pooled_recall"]) == (19 / 20, 19 / 20)
    assert "| still | H.264 crf 23 | 2 | 1 | 0 | 0.96 | 0.90 | 1 | 1 | 20 | 0.950 / 0.950 | 1 | 1 | 0 |" in table
    assert "- still, crf 23, 1 thread(s), seed 1: precision 1.00, recall 0.90" in table and table.count("; cautioned") == 1
    assert "- still, exact, seed 1:" in table


def test_share_separable_in_hindsight_is_one_threshold_chosen_knowing_the_copies():
    # pairs 0..9 -> frames 1..10; copies at frames 3, 6, 9
    shares = np.array([0.9, 0.8, 0.01, 0.7, 0.6, 0.05, 0.5, 0.4, 0.02, 0.3])
    assert robustness.separable_by_share(shares, [3, 6, 9], 1.0)  # T = 0.05 takes exactly the copies
    shares[4] = 0.04  # a real frame quieter than the loudest copy: T = 0.05 takes it too (3 of 4), T = 0.02 misses one
    assert not robustness.separable_by_share(shares, [3, 6, 9], 0.95)
    assert robustness.separable_by_share(shares, [3, 6, 9], 0.75)  # precision 3/4 at T = 0.05
    assert robustness.separable_by_share(shares, [], 0.95)  # no copies: a T below every share


def test_one_file_is_measured_with_the_tools_own_detection(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    frames = [np.roll(base, 2 * i, axis=1) for i in range(24)]  # steady motion, 2 px per frame

    def inject(originals, seed):  # copies at 6 (of 5) and 12, 13 (of 11)
        stuttered = list(originals)
        for m in (6, 12, 13):
            stuttered[m] = stuttered[m - 1]
        return stuttered, [6, 12, 13]

    monkeypatch.setattr(robustness.repair_quality, "inject", inject)
    measured = robustness.measure({"clip": "still", "encoding": "exact", "seed": 0, "threads": 0}, frames, 10.0, tmp_path)
    assert (measured["precision"], measured["recall"], measured["false"], measured["missed"]) == (1.0, 1.0, [], [])
    assert measured["caution"] is False  # exact copies carry no noise
    assert measured["share_separable"] is True
    assert list(tmp_path.iterdir()) == []  # the encoded file is removed


def test_an_interrupted_run_goes_on_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(robustness.repair_quality, "load_frames", lambda clip, data, frames, max_side: ([], 10.0))
    measured = []

    def measure(config, frames, rate, workdir):
        if measured and fail:
            raise KeyboardInterrupt
        measured.append(robustness.key(config))
        return {**config, "duplicates": 2, "precision": 1.0, "recall": 1.0, "false": [], "missed": [], "caution": False,
                "share_separable": True}  # fmt: skip

    monkeypatch.setattr(robustness, "measure", measure)
    out = tmp_path / "table.md"
    argv = ["--clips", "still", "--seeds", "0,1", "--encodings", "exact", "--out", str(out)]
    fail = True
    with pytest.raises(KeyboardInterrupt):
        robustness.main(argv)
    assert measured == ["still/exact/seed0/threads0"] and not out.exists()
    fail = False
    assert robustness.main(argv) == 0
    assert measured == ["still/exact/seed0/threads0", "still/exact/seed1/threads0"]  # seed 0 was kept, not measured again
    assert "| still | exact (FFV1) | 2 | 2 | 2 |" in out.read_text()
    assert not out.with_suffix(".jsonl").exists()


def test_a_kept_record_without_the_hindsight_column_is_measured_again(tmp_path, monkeypatch):
    monkeypatch.setattr(robustness.repair_quality, "load_frames", lambda clip, data, frames, max_side: ([], 10.0))
    measured = []

    def measure(config, frames, rate, workdir):
        measured.append(robustness.key(config))
        return {**config, "duplicates": 2, "precision": 1.0, "recall": 1.0, "false": [], "missed": [], "caution": False,
                "share_separable": True}  # fmt: skip

    monkeypatch.setattr(robustness, "measure", measure)
    out = tmp_path / "table.md"
    older = {"clip": "still", "encoding": "exact", "seed": 0, "threads": 0, "duplicates": 2, "precision": 1.0,
             "recall": 1.0, "false": [], "missed": [], "caution": False}  # fmt: skip
    robustness.repair_quality.keep_record(out.with_suffix(".jsonl"), older)  # kept by the script before the column
    assert robustness.main(["--clips", "still", "--seeds", "0", "--encodings", "exact", "--out", str(out)]) == 0
    assert measured == ["still/exact/seed0/threads0"]
    assert "| still | exact (FFV1) | 1 | 1 | 1 | 1.00 | 1.00 | 0 | 0 | 2 | 1.000 / 1.000 | 0 | 1 |" in out.read_text()
