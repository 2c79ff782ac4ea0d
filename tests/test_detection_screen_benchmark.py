"""benchmarks/detection_screen.py: synthetic screen recordings, and the tool's detection on them
(nlvfi/duplicates.py, "Spots"). The full table is run by hand (its docstring says how)."""

import numpy as np
import pytest

from project_scripts import load_script

screen = load_script("benchmarks/detection_screen.py")


def test_a_screen_recording_is_a_still_desktop_with_small_changes_and_its_truth_is_every_repeated_frame():
    frames, truth = screen.stuttered(0)
    assert len(frames) == 90 and frames[0].shape == (screen.HEIGHT, screen.WIDTH, 3)
    assert truth == [i for i in range(1, 90) if np.array_equal(frames[i], frames[i - 1])]
    changed = [i for i in range(1, 90) if i not in truth]
    mads = [np.abs(frames[i].astype(int) - frames[i - 1]).mean() for i in changed]
    assert sum(m < 0.02 for m in mads) >= 10  # real frames under the detection's floor: the case the spots are for
    fill, outline = screen.cursor_masks()
    assert fill.any() and outline.any() and not (fill & outline).any()


@pytest.mark.parametrize("crf", [None, 18])
def test_the_tool_finds_exactly_the_repeated_frames_of_a_screen_recording(tmp_path, crf):
    row = screen.measure(0, crf, "medium", tmp_path)
    assert (row["tool"]["precision"], row["tool"]["recall"]) == (1.0, 1.0)
    if crf is not None:  # without the spots, the floor takes the cursor's and the typing's frames for copies
        assert row["without_spots"]["precision"] < 0.9 and len(row["without_spots"]["false"]) >= 5


def test_the_table_names_each_encoding_and_both_rules(tmp_path):
    rows = [
        {"seed": 0, "crf": crf, "copies": 3, "frames": 90,
         "tool": {"precision": 1.0, "recall": 1.0, "false": [], "missed": []},
         "without_spots": {"precision": 0.5, "recall": 1.0, "false": [4, 5, 6], "missed": []}}
        for crf in (None, 18)
    ]  # fmt: skip
    table = screen.format_table(rows, [0], "medium", 1.0, "python benchmarks/detection_screen.py --seeds 0 --crfs 18")
    assert table.count("`python benchmarks/detection_screen.py --seeds 0 --crfs 18`") == 1
    assert "| FFV1 | the tool (spots) | 1 / 1 | 1.00 | 1.00 | 0 | 0 |" in table
    assert "| crf 18 | without spots | 0 / 1 | 0.50 | 1.00 | 3 | 0 |" in table
