"""benchmarks/webp_repair.py: one stuttering WebP per coding measured end to end on a synthetic
clip, and its table. The benchmark itself is run by hand (its docstring says how); no timing here."""

import numpy as np
import pytest

from project_scripts import load_script

from test_repair import scene

webp_repair = load_script("benchmarks/webp_repair.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


@pytest.mark.parametrize("coding", ["lossless", "lossy"])
def test_a_stuttering_webp_is_measured_against_its_originals(tmp_path, model, coding):
    row = webp_repair.measure(scene(16, 48, 64), 10.0, coding, 0, tmp_path, model)
    assert row["copies"] > 0 and row["true_flagged"] == row["copies"] == row["flagged"]
    assert row["untouched"] == 16 - row["copies"]
    if coding == "lossless":
        assert row["identical"] == row["untouched"] and np.isinf(row["untouched_min_db"])
    else:  # coded lossy again: close to the input's frames, not identical
        assert row["identical"] < row["untouched"] and 35 < row["untouched_min_db"] < np.inf
    assert len(row["psnr"]["nlvfi"]) == len(row["psnr"]["copy"]) == row["copies"]
    assert np.mean(row["psnr"]["average"]) > np.mean(row["psnr"]["copy"])  # the sliding pattern: any blend beats the copy
    table = webp_repair.format_table({("scene", coding): [row]}, 16, 64, [0])
    assert f"| scene | {coding} | " in table and table.count("\n") == 5


def test_the_input_keeps_every_copy_as_a_frame(tmp_path):
    frames = scene(4, 16, 16)
    (tmp_path / "a.webp").write_bytes(webp_repair.webp_bytes([frames[0], frames[0], frames[1], frames[2]], 40, None))
    assert len(webp_repair.decoded(tmp_path / "a.webp")) == 4
