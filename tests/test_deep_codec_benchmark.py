"""benchmarks/deep_codec.py: the 10-bit encoder comparison runs and prints its table (3 frames)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("deep_codec_benchmark", ROOT / "benchmarks" / "deep_codec.py")
deep_codec = importlib.util.module_from_spec(spec)
spec.loader.exec_module(deep_codec)
VTEST = ROOT / "data" / "opencv" / "vtest.avi"


def test_the_table_compares_x264_and_x265_on_10_bit_frames(tmp_path, capsys):
    if not VTEST.is_file():
        pytest.skip(f"{VTEST} not fetched (run `nlvfi data fetch`)")
    out = tmp_path / "deep.md"
    assert deep_codec.main(["--frames", "3", "--crf", "16", "--out", str(out)]) == 0
    text = out.read_text()
    assert capsys.readouterr().out.strip() == text.strip()
    rows = [line for line in text.splitlines() if line.startswith("| libx26")]
    assert [row.split("|")[1:3] for row in rows] == [[" libx264 ", " 16 "], [" libx265 ", " 16 "]]
    for row in rows:
        mean, low = (float(cell) for cell in row.split("|")[3:5])
        assert 35 < low <= mean < 70  # decoded 10-bit samples against the encoded ones, crf 16
    frames = deep_codec.ten_bit_frames(VTEST, 300, 2)
    assert [(f.format.name, f.colorspace) for f in frames] == [("yuv420p10le", 1)] * 2
