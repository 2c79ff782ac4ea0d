"""benchmarks/cpu_tiles.py: what it measures and prints. The benchmark itself is run by hand (its
docstring says how); the frames here are tiny and synthetic, the model untrained."""

import numpy as np

import nlvfi

from project_scripts import load_script

cpu_tiles = load_script("benchmarks/cpu_tiles.py")


def test_whole_and_tiled_calls_are_timed_and_scored_against_the_truth_and_each_other(model):
    generator = nlvfi.load_generator(model)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    samples = [("synthetic", i, [np.roll(base, shift + i, axis=1) for shift in (0, 1, 2)]) for i in range(2)]
    rows = cpu_tiles.measure(generator, (128, 96), [0, 64], samples)
    whole, tiled = rows
    assert whole["tiles"] == "whole frames" and tiled["tiles"] == "tiles of 64 px (32 px overlap)"
    assert len(whole["per_triplet"]) == len(tiled["per_triplet"]) == 2
    assert whole["vs_whole"] is None and tiled["vs_whole"] > 20 and tiled["speedup"] > 0  # inf where identical
    assert tiled["worst_gain"] <= tiled["best_gain"]
    assert np.isclose(tiled["psnr"] - whole["psnr"], np.mean(np.array(tiled["per_triplet"]) - whole["per_triplet"]))
    table = cpu_tiles.format_table(rows, samples, 1, 1.0, ["--resolutions", "128x96"])
    assert "| 128x96 | whole frames |" in table and "| 128x96 | tiles of 64 px (32 px overlap) |" in table
    assert "Reproduce: `python benchmarks/cpu_tiles.py --resolutions 128x96`" in table


def test_enlarged_frames_are_rounded_to_8_bits():
    frame = cpu_tiles.enlarge(np.full((6, 8, 3), 77, np.uint8), 16, 12)
    assert frame.shape == (1, 3, 12, 16) and np.allclose(frame.numpy() * 255, 77)
    assert cpu_tiles.parse_resolution("3840x2160") == (3840, 2160)


def test_the_whole_repair_is_timed_planned_automatically_and_in_whole_frames(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    clip = [np.roll(base, i, axis=1) for i in range(40)]  # slides 1 px a frame
    monkeypatch.setattr(cpu_tiles.repair_quality, "load_frames", lambda name, data, frames, max_side: (clip[:frames], 25.0))
    rows = cpu_tiles.measure_repair("synthetic", (64, 48), 0, tmp_path, tmp_path)
    _, copies = cpu_tiles.repair_quality.inject(clip, 0)
    assert [row["asked"] for row in rows] == ["automatic", "--tile 0"]
    assert all(row["frames"] > 0 and row["frames"] <= len(copies) and np.isfinite(row["psnr"]) for row in rows)
    assert rows[1]["plan"].startswith("whole frames")
    table = cpu_tiles.format_repair_table(rows, 1, 1.0, ["--repair"])
    assert "| synthetic | 64x48 | --tile 0 | whole frames" in table and "Reproduce: `python benchmarks/cpu_tiles.py --repair`" in table
