"""The check of a written video against its input (nlvfi.verification): each promise it guards
is broken on purpose in a small file, and the exact complaint is asserted."""

from fractions import Fraction

import numpy as np
import pytest

from nlvfi.verification import aac_payload, packet_time_error, verify_output
from nlvfi.videoio import VideoError, pixel_traits, write_video

H, W = 32, 48
TRAITS = pixel_traits("bgr0")


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]  # (H, W, 3) each


def tone(seconds: float = 1.0, rate: int = 8000) -> tuple[np.ndarray, int]:
    return (np.sin(np.arange(int(rate * seconds)) / 5) * 8000).astype(np.int16)[None], rate  # (1, n)


def between(images: list[np.ndarray], factor: int) -> list[np.ndarray]:
    """Up-converted frames: each input frame, with factor - 1 (arbitrary) frames before the next."""
    out = []
    for a, b in zip(images, images[1:]):
        out.append(a)
        out += [((a.astype(np.uint16) + b) // 2).astype(np.uint8)] * (factor - 1)
    return out + [images[-1]]


@pytest.fixture
def source(tmp_path):
    return write_video(tmp_path / "in.mkv", frames(6), 10, pts=[0, 1, 2, 4, 5, 6], audio=tone())  # one gap twice as long


def test_a_faithful_copy_passes_and_says_what_it_checked(tmp_path, source):
    copy = write_video(tmp_path / "out.mkv", frames(6), 10, pts=[0, 1, 2, 4, 5, 6], audio=tone())
    result = verify_output(source, copy, TRAITS, lossless=True)
    assert result["frames"] == 6 and result["untouched_frames_bit_identical"] == 6
    assert result["max_timestamp_error_s"] == 0 and result["timestamp_offset_s"] == 0
    assert result["audio_streams_identical"] == 1 and result["max_audio_timestamp_error_s"] == 0


def test_a_missing_frame_is_caught(tmp_path, source):
    short = write_video(tmp_path / "out.mkv", frames(6)[:5], 10, pts=[0, 1, 2, 4, 5], audio=tone())
    with pytest.raises(VideoError, match="the output has 5 frames, the input 6"):
        verify_output(source, short, TRAITS, lossless=True)


def test_a_frame_at_the_wrong_time_is_caught(tmp_path, source):
    moved = write_video(tmp_path / "out.mkv", frames(6), 10, pts=[0, 1, 2, 3, 5, 6], audio=tone())
    with pytest.raises(VideoError, match=r"frame 3 is at 0.300000 s in the output, expected 0.400000 s"):
        verify_output(source, moved, TRAITS, lossless=True)


def test_a_changed_untouched_frame_is_caught_and_a_replaced_one_is_not(tmp_path, source):
    images = frames(6)
    images[2] = 255 - images[2]
    changed = write_video(tmp_path / "out.mkv", images, 10, pts=[0, 1, 2, 4, 5, 6], audio=tone())
    with pytest.raises(VideoError, match="untouched frame 2 is not bit-identical in the lossless output"):
        verify_output(source, changed, TRAITS, lossless=True)
    result = verify_output(source, changed, TRAITS, lossless=True, replaced={2})
    assert result["untouched_frames_bit_identical"] == 5


def test_lossy_output_reports_the_psnr_of_the_input_frames(tmp_path, source):
    lossy = write_video(tmp_path / "out.mp4", frames(6), 10, codec="libx264", pix_fmt="yuv444p",
                        pts=[0, 1, 2, 4, 5, 6], options={"crf": "0"}, audio=tone(), audio_codec="aac")
    with pytest.raises(VideoError, match="audio stream 0 has .* packets in the output, .* in the input"):
        verify_output(source, lossy, TRAITS, lossless=False, muxer="mp4")  # the audio was re-encoded
    kept = write_video(tmp_path / "out.mkv", frames(6), 10, codec="libx264", pix_fmt="yuv420p",
                       pts=[0, 1, 2, 4, 5, 6], options={"crf": "30"}, audio=tone())
    psnr = verify_output(source, kept, TRAITS, lossless=False)["untouched_frames_psnr_db"]
    assert 5 < psnr["min"] <= psnr["mean"] < 60  # measured (noise frames code badly at crf 30), not judged


def test_audio_left_out_is_caught(tmp_path, source):
    silent = write_video(tmp_path / "out.mkv", frames(6), 10, pts=[0, 1, 2, 4, 5, 6])
    with pytest.raises(VideoError, match="audio stream 0 has 0 packets in the output, 8 in the input"):
        verify_output(source, silent, TRAITS, lossless=True)


def test_every_stream_moved_alike_is_allowed_and_reported(tmp_path):
    source = write_video(tmp_path / "in.mkv", frames(4), 10)
    later = write_video(tmp_path / "out.mkv", frames(4), 10, pts=[3, 4, 5, 6])
    assert verify_output(source, later, TRAITS, lossless=True)["timestamp_offset_s"] == pytest.approx(0.3)
    uneven = write_video(tmp_path / "uneven.mkv", frames(4), 10, pts=[3, 4, 5, 7])
    with pytest.raises(VideoError, match=r"frame 3 is at 0.700000 s .* expected 0.300000 s \(all streams shifted by \+0.300000 s\)"):
        verify_output(source, uneven, TRAITS, lossless=True)


@pytest.mark.parametrize("factor", [2, 4])
def test_up_conversion_checks_the_generated_frames_times_too(tmp_path, source, factor):
    tb = Fraction(1, 10 * factor)
    pts = [0, 1, 2, 4, 5, 6]
    good_pts = [a * factor + j * (b - a) for a, b in zip(pts, pts[1:]) for j in range(factor)] + [pts[-1] * factor]
    up = write_video(tmp_path / "up.mkv", between(frames(6), factor), 10 * factor, pts=good_pts, time_base=tb, audio=tone())
    result = verify_output(source, up, TRAITS, lossless=True, factor=factor)
    assert result["frames"] == 5 * factor + 1 and result["untouched_frames_bit_identical"] == 6
    bad_pts = list(good_pts)
    bad_pts[factor * 2 + 1] += 1  # a generated frame in the long gap, one tick late
    late = write_video(tmp_path / "late.mkv", between(frames(6), factor), 10 * factor, pts=bad_pts, time_base=tb, audio=tone())
    expected = 0.2 + 0.2 / factor
    with pytest.raises(VideoError, match=rf"generated frame {factor * 2 + 1} is at .* expected {expected:.6f} s"):
        verify_output(source, late, TRAITS, lossless=True, factor=factor)


def test_up_conversion_without_the_generated_frames_is_caught(tmp_path, source):
    same = write_video(tmp_path / "same.mkv", frames(6), 10, pts=[0, 1, 2, 4, 5, 6], audio=tone())
    with pytest.raises(VideoError, match="generated frame 1 is at 0.100000 s in the output, expected 0.050000 s"):
        verify_output(source, same, TRAITS, lossless=True, factor=2)
    ends_early = write_video(tmp_path / "short.mkv", between(frames(6), 2)[:-2], 20, time_base=Fraction(1, 20),
                             pts=[0, 1, 2, 3, 4, 6, 8, 9, 10], audio=tone())
    with pytest.raises(VideoError, match="the output has 9 frames, 11 for the input's 6 at x2"):
        verify_output(source, ends_early, TRAITS, lossless=True, factor=2)


def test_packet_time_error():
    assert packet_time_error([0.0, 0.1], [0.02, 0.13], 0.02) == pytest.approx(0.01)
    assert packet_time_error([0.0, 0.1], [0.0], 0.0) is None  # not the same packets timed
    assert packet_time_error([], [], 0.3) == 0.0


def test_attachments_left_out_are_caught(tmp_path):
    import av

    source = write_video(tmp_path / "in.mkv", frames(3), 10)
    with_font = tmp_path / "font.mkv"
    with av.open(str(source)) as inner, av.open(str(with_font), "w") as outer:
        copy = outer.add_stream_from_template(inner.streams.video[0])
        outer.add_attachment("font.ttf", "application/x-truetype-font", b"glyphs")
        for packet in inner.demux():
            if packet.size:
                packet.stream = copy
                outer.mux(packet)
    assert verify_output(with_font, with_font, TRAITS, lossless=True, attachments=True)["frames"] == 3
    with pytest.raises(VideoError, match="the output file does not hold the input's attachments unchanged"):
        verify_output(with_font, source, TRAITS, lossless=True, attachments=True)


def adts(payload: bytes, crc: bool = False, length: int | None = None, blocks: int = 0) -> bytes:
    """``payload`` behind an ADTS header (ISO/IEC 14496-3 1.A.2.2): AAC LC, 44.1 kHz, stereo."""
    size = (length if length is not None else len(payload) + (9 if crc else 7))
    header = bytes([
        0xFF, 0xF0 | (0 if crc else 1),  # sync word, MPEG-4, layer 0, protection_absent
        (1 << 6) | (4 << 2) | 0,  # profile LC (1), 44.1 kHz (index 4), channel configuration high bit
        (2 << 6) | (size >> 11 & 0x03), size >> 3 & 0xFF, (size & 0x07) << 5 | 0x1F, 0xFC | blocks,
    ])  # fmt: skip
    return header + (b"\x12\x34" if crc else b"") + payload


def test_aac_payload_takes_off_an_adts_header_and_nothing_else():
    payload = bytes(range(40))
    assert aac_payload(adts(payload)) == payload
    assert aac_payload(adts(payload, crc=True)) == payload  # the header's CRC goes with it
    assert aac_payload(payload) == payload  # raw AAC (Matroska, MP4): as it is
    assert aac_payload(adts(payload, length=60)) == adts(payload, length=60)  # length field disagrees: not one ADTS frame
    assert aac_payload(adts(payload, blocks=1)) == adts(payload, blocks=1)  # two raw blocks in one frame: left whole
    assert aac_payload(b"\xff\xf1") == b"\xff\xf1"  # too short for a header
