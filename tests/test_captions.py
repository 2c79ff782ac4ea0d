"""Closed captions carried inside the video (nlvfi.captions; ATSC A/53: EIA-608 / CEA-708 bytes in
H.264 SEI or MPEG-2 user data, as broadcast TV, its recordings and DVDs carry them): ``nlvfi
repair`` and ``nlvfi interpolate --factor`` keep each frame's bytes on its output frame where the
encoder writes them (``CAPTION_ENCODERS``), a replaced frame's too, and say so where it does not."""

import av
import numpy as np
import pytest
from test_repair import scene, stutter

from nlvfi import interpolate as interpolate_module
from nlvfi import repair as repair_module
from nlvfi.captions import CAPTION_ENCODERS, a53_sei, caption_lines, carry_side_data, closed_captions, with_captions
from nlvfi.repair import repair_video
from nlvfi.videoio import VideoError, VideoReader, rgb_to_frame, write_video

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

DUPLICATES = [4, 8, 9]


def odd_parity(byte: int) -> int:
    """An EIA-608 byte: 7 bits of character and an odd-parity bit on top."""
    return byte | (0x80 if bin(byte).count("1") % 2 == 0 else 0)


def caption_bytes(index: int) -> bytes:
    """Frame ``index``'s cc_data: one triplet (valid, field 1) of two characters of its own."""
    text = f"{index:02d}"
    return bytes([0xFC, odd_parity(ord(text[0])), odd_parity(ord(text[1]))])


def captioned_h264(path, frames, rate=25):
    """``frames`` as H.264 (with B-frames) in a .mkv whose every coded frame carries its own
    captions (caption_bytes of its display index), as a recording of broadcast TV does."""
    plain = write_video(path.with_suffix(".plain.mkv"), frames, rate, codec="libx264", pix_fmt="yuv420p", options={"crf": "12"})
    with_captions(plain, path, caption_bytes)
    plain.unlink()
    return path


def captions_by_frame(path) -> list[bytes | None]:
    with VideoReader(path) as reader:
        return [closed_captions(item.frame) for item in reader]


@pytest.fixture
def source(tmp_path):
    return captioned_h264(tmp_path / "in.mkv", stutter(scene(12), DUPLICATES))


def test_the_fixture_carries_each_frames_own_captions(source):
    assert captions_by_frame(source) == [caption_bytes(i) for i in range(12)]


@pytest.mark.parametrize("codec, ext", [("libx264", "mp4"), ("mpeg2video", "ts"), ("libx265", "mkv"), ("libx264rgb", "mkv")])
def test_repair_keeps_every_frames_captions_the_replaced_ones_too(tmp_path, model, source, codec, ext):
    # Before: the replaced frames were made from pixels alone, and each cut a character pair out of
    # the captions; x265 wrote none at all (FFmpeg's a53cc is off for it unless asked)
    out = tmp_path / f"out.{ext}"
    report = repair_video(source, out, checkpoint=model, codec=codec, progress=False)
    assert [f["frame"] for f in report["replaced"]] == DUPLICATES
    assert report["closed_captions"] == {"input_frames": 12, "kept": True}
    assert report["verification"]["closed_captions"] == {"input_frames": 12, "kept": 12}
    assert captions_by_frame(out) == [caption_bytes(i) for i in range(12)]
    assert "Closed captions kept: the input's (in 12 frames), the replaced frames' included." in repair_module.summary_text(report)


def roll_up_caption(text: str, frames: int):
    """cc_data for each of ``frames`` frames: an EIA-608 roll-up caption (two rows, each control
    code sent twice, as broadcasters do) of ``text``, two characters a frame, then nothing."""
    pairs = [(0x14, 0x25)] * 2 + [(0x14, 0x2D)] * 2  # roll-up, two rows; carriage return
    pairs += [(ord(text[i]), ord((text + " ")[i + 1])) for i in range(0, len(text), 2)] + [(0x14, 0x2D)] * 2
    pairs += [(0, 0)] * (frames - len(pairs))
    return [bytes([0xFC, odd_parity(a), odd_parity(b)]) for a, b in pairs]


def test_a_caption_decoder_reads_every_word_of_a_caption_spoken_over_replaced_frames(tmp_path, model):
    # FFmpeg's EIA-608 decoder on the output: before, the four replaced frames in the middle of the
    # line took their characters with them ("NLVFKEEPS Y WORDF IT")
    words = "NLVFI KEEPS EVERY WORD OF IT"
    cc_data = roll_up_caption(words, 30)
    plain = write_video(tmp_path / "plain.mkv", stutter(scene(30), [6, 10, 11, 15]), 25, codec="libx264", pix_fmt="yuv420p",
                        options={"crf": "12"})
    source = with_captions(plain, tmp_path / "in.mkv", cc_data.__getitem__)
    assert caption_lines(source) == [words]
    report = repair_video(source, tmp_path / "out.mp4", checkpoint=model, progress=False)
    assert [f["frame"] for f in report["replaced"]] == [6, 10, 11, 15]
    assert caption_lines(tmp_path / "out.mp4") == [words]


def test_an_encoder_without_a_place_for_captions_is_named_with_how_to_keep_them(tmp_path, model, source):
    out = tmp_path / "out.mkv"
    report = repair_video(source, out, checkpoint=model, codec="ffv1", progress=False)
    assert report["closed_captions"]["kept"] is False and "ffv1" not in CAPTION_ENCODERS
    assert report["verification"]["closed_captions"] == {"input_frames": 12, "kept": 0}
    assert captions_by_frame(out) == [None] * 12
    assert "Closed captions not kept: the input's closed captions (in 12 frames, inside the video) have no place in ffv1; " \
        "--codec libx264 keeps them (with --crf 0 for a lossless output)." in repair_module.summary_text(report)


def test_a_video_without_captions_reports_none(tmp_path, model):
    source = write_video(tmp_path / "in.mkv", stutter(scene(8), [4]), 25, codec="libx264", pix_fmt="yuv420p", options={"crf": "12"})
    report = repair_video(source, tmp_path / "out.mp4", checkpoint=model, progress=False)
    assert report["closed_captions"] is None and "closed_captions" not in report["verification"]
    assert "Closed captions" not in repair_module.summary_text(report)


def test_frame_rate_up_conversion_keeps_the_input_frames_captions(tmp_path, model, source, capsys):
    out = tmp_path / "out.mp4"
    assert interpolate_module.main([str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    written = captions_by_frame(out)
    assert written[::2] == [caption_bytes(i) for i in range(12)] and written[1::2] == [None] * 11  # generated: none of their own


def test_verification_refuses_captions_lost_where_the_encoder_writes_them(tmp_path, model, source, monkeypatch):
    def without_captions(self, rgb, alpha=None, replaces=None):  # the replaced frames made from pixels alone, as before
        return rgb_to_frame(rgb, self.choice.pix_fmt, alpha, self.colour)

    monkeypatch.setattr(repair_module.VideoWriter, "frame_from_rgb", without_captions)
    with pytest.raises(VideoError, match="verification failed: frame 4's closed captions are not on its output frame"):
        repair_video(source, tmp_path / "out.mp4", checkpoint=model, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_carrying_side_data_never_writes_into_the_decoded_frames(tmp_path):
    # the carrier is a decoded frame: it is left as it is (the tool may still read it: the frame
    # before a run), and the frames decoded after it (which may refer to its picture) decode as before
    source = captioned_h264(tmp_path / "in.mkv", scene(6))
    before = [item.frame.to_ndarray(format="rgb24") for item in VideoReader(source)]
    grey = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), format="rgb24").reformat(format="yuv420p")
    with VideoReader(source) as reader:
        after = []
        for item in reader:
            picture = item.frame.to_ndarray(format="rgb24")
            if item.index == 2:
                carried = carry_side_data(item.frame, grey)
                assert carried is not item.frame and closed_captions(carried) == caption_bytes(2)
                assert np.abs(carried.to_ndarray(format="rgb24").astype(int) - 128).max() <= 1
                assert np.array_equal(item.frame.to_ndarray(format="rgb24"), picture)
            after.append(picture)
    assert all(np.array_equal(a, b) for a, b in zip(before, after)) and len(after) == 6


def test_numbered_images_name_the_captions_among_what_they_cannot_hold(tmp_path, model, source):
    report = repair_video(source, tmp_path / "frames" / "%04d.png", checkpoint=model, progress=False)
    assert "the closed captions inside the video (in 12 frames)" in report["image_sequence"]["not_held"]
    summary = repair_module.summary_text(report)
    assert "the closed captions inside the video (in 12 frames)" in summary and "--codec libx264 keeps them" not in summary


def test_the_caption_sei_is_checked():
    assert a53_sei(caption_bytes(7))[:10] == bytes([0x06, 0x04, 14, 0xB5, 0x00, 0x31]) + b"GA94"  # SEI, T.35, 14 bytes
    with pytest.raises(ValueError, match="1-31 triplets"):
        a53_sei(b"\xfc\x80")
