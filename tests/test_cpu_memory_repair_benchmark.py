"""benchmarks/cpu_memory_repair.py: the clip it writes, and one tiny repair in fresh processes.
The benchmark itself is run by hand (its docstring says how)."""

import av
import numpy as np

from project_scripts import load_script

memory_repair = load_script("benchmarks/cpu_memory_repair.py")


def test_the_clip_moves_a_texture_and_repeats_every_fourth_frame(tmp_path):
    copies = memory_repair.write_clip(tmp_path / "c.mkv", 64, 48, 9)
    with av.open(str(tmp_path / "c.mkv")) as container:
        frames = [frame.to_ndarray(format="rgb24").astype(int) for frame in container.decode(video=0)]
    assert copies == 2 and len(frames) == 9 and frames[0].shape == (48, 64, 3)
    same = [int(np.abs(frames[i] - frames[i - 1]).max()) == 0 for i in range(1, 9)]
    assert same == [False, False, False, True, False, False, False, True]  # frames 4 and 8 repeat the one before
    step_y, step_x = memory_repair.STEP_Y, memory_repair.STEP_X  # the texture moved, up to the codec's chroma rounding
    assert np.abs(frames[1][: -step_y, : -step_x] - frames[0][step_y:, step_x:]).mean() < 2
    assert np.abs(frames[1] - frames[0]).mean() > 2


def test_each_budget_runs_the_tool_in_a_fresh_process_and_tables_its_plan_or_refusal(tmp_path, capsys):
    out = tmp_path / "t.md"
    argv = ["--size", "tiny", "--resolution", "64x48", "--frames", "8", "--budgets", "1", "0.001", "--tiles", "auto", "--repeats", "1",
            "--out", str(out)]  # fmt: skip
    assert memory_repair.main(argv) == 0
    table = out.read_text()
    assert table in capsys.readouterr().out and "8-frame 64x48 FFV1 clip with 1 copy, a `tiny` generator" in table
    rows = [line for line in table.splitlines() if line.startswith("| 1 |") or line.startswith("| 0.001 |")]
    assert rows[0].startswith("| 1 | auto | whole frames, up to") and rows[0].split("|")[4].strip() != "-"
    assert int(rows[0].split("|")[6].strip().replace(",", "")) > 100  # MB: the whole process, torch included
    assert rows[1].startswith("| 0.001 | auto | refused: a 64x48 frame needs about") and "| - | - |" in rows[1]
