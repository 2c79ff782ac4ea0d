"""benchmarks/interlaced_repair.py: one woven clip repaired and up-converted end to end on a
synthetic scene, and its tables. The benchmark itself is run by hand (its docstring says how)."""

import numpy as np
import pytest

from project_scripts import load_script

from nlvfi.interpolate import load_model
from nlvfi.videoio import first_frame, probe
from test_repair import scene

interlaced_repair = load_script("benchmarks/interlaced_repair.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def test_the_woven_frames_hold_the_first_picture_in_the_bottom_lines():
    progressive = scene(4, 8, 8)
    frames = interlaced_repair.woven(progressive)
    assert len(frames) == 2
    assert np.array_equal(frames[1][1::2], progressive[2][1::2]) and np.array_equal(frames[1][0::2], progressive[3][0::2])


@pytest.mark.parametrize("coding", ["ffv1", "h264"])
def test_the_clip_is_coded_bottom_field_first_as_its_frames_say(tmp_path, coding):
    path = interlaced_repair.write_interlaced(interlaced_repair.woven(scene(8, 48, 64)), tmp_path / "i.mkv", 5, coding)
    assert probe(path).field_order == interlaced_repair.BOTTOM_FIELD_FIRST
    assert first_frame(path).interlaced_frame == (coding == "h264")  # FFV1 says so in its header only


def test_a_woven_clip_is_measured_against_its_progressive_frames(tmp_path, model):
    progressive = scene(32, 48, 64)
    row = interlaced_repair.measure_repair(progressive, 10, "ffv1", 0, tmp_path, model)
    assert row["copies"] > 0 and row["true_flagged"] == row["copies"] == row["flagged"]
    assert len(row["woven"]) == len(row["deinterlaced"]) == 16 - row["copies"]
    assert np.mean(row["deinterlaced"]) > np.mean(row["woven"])  # the sliding pattern combs as woven
    assert all(len(row["psnr"][way]) == row["copies"] for way in ("copy", "average", "frames", "fields"))
    upconverted = interlaced_repair.measure_upconversion(progressive, 10, tmp_path, load_model(model, "cpu")[0])
    assert all(len(upconverted[way]) == 15 for way in ("average", "frames", "fields"))
    assert np.mean(upconverted["fields"]) > np.mean(upconverted["frames"])  # a real picture, against an untrained generator
    tables = interlaced_repair.format_tables({("scene", "ffv1"): [{**row, "frames": 16}]}, {"scene": upconverted}, 64, [0])
    assert "| scene | ffv1 | 16 | " in tables and "| scene | 15 | " in tables
