"""benchmarks/apng_repair.py: one stuttering APNG measured end to end on a synthetic clip, and its
table. The benchmark itself is run by hand (its docstring says how); no timing here."""

import numpy as np
import pytest

from project_scripts import load_script

from test_repair import scene

apng_repair = load_script("benchmarks/apng_repair.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


@pytest.mark.parametrize("coding", ["rgb", "palette"])
def test_a_stuttering_apng_is_measured_against_its_originals(tmp_path, model, coding):
    row = apng_repair.measure(scene(16, 48, 64), 24000 / 1001, 0, tmp_path, model, coding)
    assert row["copies"] > 0 and row["true_flagged"] == row["copies"] == row["flagged"]
    assert row["identical"] == row["untouched"] == 16 - row["copies"]
    assert row["delays_exact"] and row["times_as_input"]
    assert row["coded_as"] == {"rgb": "rgb24", "palette": "pal8"}[coding]
    if coding == "palette":  # the smaller coding
        assert row["bytes_as_rgb"] > 1.2 * row["bytes_out"]
    else:  # the tool's own coding (FFmpeg's encoder, prediction mixed), give or take a pHYs chunk
        assert abs(row["bytes_as_rgb"] - row["bytes_out"]) < 100
    assert len(row["psnr"]["nlvfi"]) == len(row["psnr"]["copy"]) == row["copies"]
    assert np.mean(row["psnr"]["average"]) > np.mean(row["psnr"]["copy"])  # the sliding pattern: any blend beats the copy
    table = apng_repair.format_table({("scene", coding): [row]}, 16, 64, [0])
    assert f"| scene | {coding} | " in table and table.count("\n") == 5


def test_the_input_keeps_every_copy_as_a_frame_at_the_clips_exact_time(tmp_path):
    frames = scene(3, 16, 16)
    path = apng_repair.write_apng(tmp_path / "a.png", [frames[0], frames[0], frames[1], frames[2]], apng_repair.frame_delay(24000 / 1001))
    assert len(apng_repair.gif_repair.decoded_rgb(path)) == 4
    assert apng_repair.apng_info(path).delays == ((1001, 24000),) * 4
