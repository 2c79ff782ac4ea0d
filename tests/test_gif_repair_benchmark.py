"""benchmarks/gif_repair.py: one stuttering GIF measured end to end on a synthetic clip, and its
table. The benchmark itself is run by hand (its docstring says how); no timing here."""

import numpy as np
import pytest

from project_scripts import load_script

from test_repair import scene

gif_repair = load_script("benchmarks/gif_repair.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def test_a_stuttering_gif_is_measured_against_its_originals(tmp_path, model):
    originals = gif_repair.gif_originals(scene(16, 48, 64))
    assert all(len(np.unique(gif_repair.packed(rgb))) <= 256 for rgb in originals)
    row = gif_repair.measure(originals, 10.0, 0, tmp_path, model)
    assert row["copies"] > 0 and row["true_flagged"] == row["copies"] == row["flagged"]
    assert row["identical"] == row["untouched"] == 16 - row["copies"]
    assert len(row["psnr"]["nlvfi"]) == len(row["psnr"]["copy"]) == row["copies"]
    assert np.mean(row["psnr"]["average"]) > np.mean(row["psnr"]["copy"])  # the sliding pattern: any blend beats the copy
    table = gif_repair.format_table({"scene": [row]}, 16, 64, [0])
    assert "| scene | " in table and table.count("\n") == 5


def test_the_average_is_drawn_in_the_colours_of_the_two_frames():
    before = np.zeros((4, 4, 3), np.uint8)
    after = np.full((4, 4, 3), 200, np.uint8)
    middle = gif_repair.averaged(before, after, 0.5)
    assert set(np.unique(middle)) <= {0, 200}
