"""benchmarks/outside_average.py: what it scores. The benchmark itself is run by hand (its
docstring says how); the clip measured here is tiny and synthetic."""

import numpy as np

from project_scripts import load_script

outside_average = load_script("benchmarks/outside_average.py")


def test_weight_and_agreement_lists_parse():
    assert outside_average.parse_list("0.15,0.2,inf") == [0.15, 0.2, float("inf")]


def test_still_noisy_frames_gain_from_the_outside_frames(tmp_path):
    # A still texture seen through fresh noise of up to 6 levels in every frame, stored losslessly:
    # every true copy is scored once per variant; weight 0 is the plain blend itself, and a fifth
    # of each outside frame (the tool's default) comes nearer the original, noise-free-er frame.
    rng = np.random.default_rng(0)
    texture = rng.integers(60, 196, (32, 48, 3)).astype(np.float64)
    texture = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) / 3  # some spatial structure
    originals = [np.clip(texture + rng.uniform(-6, 6, texture.shape), 0, 255).round().astype(np.uint8) for _ in range(24)]
    variants = {"off": (0.0, 1.0), "default": (0.2, 1.0), "no test": (0.2, float("inf"))}
    scores = outside_average.measure(originals, 25.0, 0, "exact", variants, tmp_path)
    _, duplicates = outside_average.repair_quality.inject(originals, 0)
    assert all(len(values) == len(duplicates) for values in scores.values()) and len(duplicates) > 0
    assert scores["off"] == scores["plain"]
    assert np.mean(scores["default"]) > np.mean(scores["plain"]) + 0.1
    assert np.mean(scores["no test"]) >= np.mean(scores["default"]) - 1e-9  # nothing here changes but the noise
