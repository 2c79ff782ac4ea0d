"""benchmarks/deep_codec.py: the 10-bit encoder comparison runs and prints its table (3 frames)."""

from pathlib import Path

import pytest

from project_scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
deep_codec = load_script("benchmarks/deep_codec.py")
VTEST = ROOT / "data" / "opencv" / "vtest.avi"


def test_the_table_compares_x264_and_x265_on_10_bit_frames(tmp_path, capsys):
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} not fetched (run `nlvfi data fetch`)")
    out = tmp_path / "deep.md"
    assert deep_codec.main(["--frames", "3", "--crf", "16", "--presets", "medium,ultrafast", "--size", "320x240", "--out", str(out)]) == 0
    text = out.read_text()
    assert capsys.readouterr().out.strip() == text.strip()
    assert "320x240 (resized, bicubic)" in text
    rows = [line for line in text.splitlines() if line.startswith("| libx26")]
    assert [row.split("|")[1:4] for row in rows] == [
        [" libx264 ", " 16 ", " medium "], [" libx265 ", " 16 ", " medium "], [" libx264 ", " 16 ", " ultrafast "], [" libx265 ", " 16 ", " ultrafast "],
    ]  # fmt: skip
    for row in rows:
        mean, low = (float(cell) for cell in row.split("|")[4:6])
        assert 35 < low <= mean < 70  # decoded 10-bit samples against the encoded ones, crf 16
    frames = deep_codec.ten_bit_frames(VTEST, 300, 2)
    assert [(f.format.name, f.colorspace) for f in frames] == [("yuv420p10le", 1)] * 2


@pytest.mark.parametrize("flags, message", [(["--presets", "quick"], "unknown preset(s) quick"), (["--size", "1921x1080"], "both even")])
def test_bad_presets_and_sizes_are_refused_before_any_frame_is_read(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit):
        deep_codec.main([*flags, "--video", str(tmp_path / "missing.avi")])
    assert message in capsys.readouterr().err
