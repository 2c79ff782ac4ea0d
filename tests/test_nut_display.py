"""The sample aspect written into a finished NUT's stream header (nlvfi.nut_display): FFV1 has no
field for a pixel aspect, and the NUT muxer writes it from one PyAV does not set."""

import shutil
from fractions import Fraction

import numpy as np

from nlvfi.nut_display import STREAM_STARTCODE, header_edit, nut_checksum, read_v, v_bytes, write_sample_aspect
from nlvfi.repair import repair_video, summary_text
from nlvfi.videoio import probe, read_video_rgb, write_video

from test_repair import scene, stutter

W, H = 64, 48


def frames(n=5):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def test_numbers_and_checksum_as_the_format_writes_them():
    for value in (0, 1, 127, 128, 16383, 16384, 2**40):
        assert read_v(v_bytes(value) + b"\xff", 0) == (value, len(v_bytes(value)))
    assert v_bytes(127) == b"\x7f" and v_bytes(128) == b"\x81\x00"
    assert nut_checksum(b"") == 0 and nut_checksum(b"123456789") == 0x765E7680 ^ 0xFFFFFFFF  # CRC-32/POSIX's check value, not inverted


def test_an_ffv1_nut_is_shown_in_its_shape_and_nothing_else_changes(tmp_path):
    sound = (np.zeros((1, 8000), np.int16), 16000)
    before = write_video(tmp_path / "square.nut", frames(), 10, codec="ffv1", pix_fmt="bgr0", audio=sound)
    assert probe(before).pixel_aspect is None  # sample_width, sample_height: 0, 0 ("unknown")
    after = tmp_path / "shaped.nut"
    shutil.copyfile(before, after)
    assert write_sample_aspect(after, W, H, Fraction(16, 15))
    assert probe(after).pixel_aspect == Fraction(16, 15) and probe(after).display_aspect == Fraction(16 * W, 15 * H)
    old, new = before.read_bytes(), after.read_bytes()
    assert len(old) == len(new) and sum(a != b for a, b in zip(old, new)) <= 6  # two numbers and a checksum
    at = new.index(STREAM_STARTCODE)
    assert header_edit(new[at:], W, H, Fraction(16, 15)) is not None  # its checksum holds
    pictures, times = read_video_rgb(after)
    assert times == read_video_rgb(before)[1] and all(np.array_equal(a, b) for a, b in zip(pictures, frames(), strict=True))
    assert not write_sample_aspect(after, W + 2, H, Fraction(16, 15))  # no video stream of that size
    assert not write_sample_aspect(after, W, H, Fraction(200, 199)) and after.read_bytes() == new  # 2 bytes a term: no room


def test_a_shape_nut_cannot_hold_in_place_is_named_with_the_way_to_keep_it(tmp_path, model):
    source = write_video(tmp_path / "in.mkv", stutter(scene(12), [4, 8]), 10, pix_fmt="bgr0", pixel_aspect=Fraction(200, 199))
    report = repair_video(source, tmp_path / "out.nut", checkpoint=model, progress=False)
    assert probe(tmp_path / "out.nut").pixel_aspect is None and not report["pixel_aspect"]["kept"]
    # FFV1 written losslessly: the advice keeps it lossless (x264 at crf 0 read back at 99 dB, the cap)
    assert report["pixel_aspect"]["lost"].endswith("(--codec libx264, with --crf 0 for a lossless output)")
    assert "Picture shape not kept: the input's pixels are 200:199" in summary_text(report)
