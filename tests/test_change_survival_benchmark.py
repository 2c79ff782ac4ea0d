"""benchmarks/change_survival.py: the surviving share of a real frame's change. The benchmark
itself is run by hand (its docstring says how)."""

import numpy as np
import pytest

from project_scripts import load_script

change_survival = load_script("benchmarks/change_survival.py")


def test_a_change_kept_whole_is_one_a_dropped_one_zero_and_copies_are_skipped():
    rng = np.random.default_rng(0)
    source = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(5)]
    source[3] = source[2]  # a copy: no share of its own
    decoded = [frame.copy() for frame in source]
    decoded[4] = decoded[3]  # the codec dropped frame 4's change
    halfway = ((source[0].astype(np.float64) + source[1]) / 2).round().astype(np.uint8)
    decoded[1] = halfway  # frame 1 came through halfway
    shares = change_survival.surviving_shares(source, decoded, {3})
    assert set(shares) == {1, 2, 4}
    assert shares[4] == 0.0 and shares[1] == pytest.approx(0.5, abs=0.01)
    # frame 2's decoded change starts from the halfway frame 1: it also carries the other half of frame 1's change
    expected = float(((source[2].astype(float) - halfway) * (source[2].astype(float) - source[1])).sum() / ((source[2].astype(float) - source[1]) ** 2).sum())
    assert shares[2] == pytest.approx(expected)
