"""benchmarks/resume_encoding.py: the four runs go through and the table says what was reused (tiny clip)."""

import pytest
from test_repair import scene

from nlvfi.videoio import write_video

from project_scripts import load_script

resume_encoding = load_script("benchmarks/resume_encoding.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def test_the_resumed_run_reuses_the_kept_packets_and_the_one_without_them_encodes_all(tmp_path, model, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_video(data / "vtest.avi", scene(120), 25)  # a stand-in for OpenCV's clip
    out = tmp_path / "table.md"
    assert resume_encoding.main(
        ["--data", str(data), "--frames", "120", "--size", "64x48", "--stop-at", "100", "--checkpoint", str(model), "--out", str(out)]
    ) == 0  # fmt: skip
    text = out.read_text()
    assert text.strip() in capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in text.splitlines() if line.startswith("| ")}
    assert "copies at frames 48, 80" in text
    assert rows["1. uninterrupted"][1] == "0" and rows["2. stopped at frame 100"][1] == "—"
    reused = int(rows["3. run again, encoded frames kept"][1])
    assert 0 < reused < 100  # x264 held the last frames given to it
    assert rows["4. run again, encoded frames removed"][1] == "0"
    for name in ("1. uninterrupted", "3. run again, encoded frames kept", "4. run again, encoded frames removed"):
        low, mean = (float(v) for v in rows[name][2].split(" / "))
        assert 30 < low <= mean


def test_a_stop_outside_the_clip_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "vtest.avi").write_bytes(b"")
    with pytest.raises(SystemExit, match="inside the clip"):
        resume_encoding.main(["--data", str(data), "--frames", "10", "--stop-at", "10"])
