"""Streaming video I/O: probing, timestamps, pixel formats, codec choice, audio copy, bad files.

Every clip is tiny (64x48, a few frames) and made here with PyAV; the chroma test reads the
bundled clip's true frames (data/stutter/).
"""

import dataclasses
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from nlvfi import videoio
from nlvfi.videoio import (
    VideoError,
    VideoReader,
    VideoWriter,
    choose_encoder,
    container_for,
    frame_content,
    frame_to_rgb,
    pixel_traits,
    probe,
    read_video_rgb,
    rgb_to_frame,
    rgb_to_tensor,
    check_writable,
    same_file,
    sequence_first_number,
    sequence_numbers,
    frame_to_rgb24,
    tensor_to_rgb,
    write_video,
    yuv_to_rgb,
)

H, W = 48, 64


def frames(n=6, h=H, w=W, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, channels), dtype=np.uint8) for _ in range(n)]


def tone(seconds=1.0, rate=8000):
    return (np.sin(np.arange(int(rate * seconds)) / 5) * 8000).astype(np.int16)[None], rate


def output_formats(path):
    with av.open(str(path)) as c:
        return c.streams.video[0].codec_context.name, c.streams.video[0].codec_context.format.name


def test_write_then_read_lossless_rgb_is_exact(tmp_path):
    clip = frames()
    path = write_video(tmp_path / "a.mkv", clip, 10)
    decoded, times = read_video_rgb(path)
    assert len(decoded) == len(clip)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, clip))
    assert times == pytest.approx([i / 10 for i in range(len(clip))])


@pytest.mark.parametrize(
    "name, codec, rate, options",
    [("in.h264", "libx264", Fraction(12), None), ("in.hevc", "libx265", Fraction(12), {"x265-params": "log-level=error"}),
     ("in.m2v", "mpeg2video", Fraction(30000, 1001), None)],
)
def test_a_raw_stream_is_read_at_the_rate_its_header_gives(tmp_path, name, codec, rate, options):
    # a raw elementary stream has no container timing, and its demuxer says 25 frames/s: a
    # 12 frames/s H.264 stream was read, and written, at 25, where ffmpeg -i reads it at 12
    source = write_video(tmp_path / name, frames(6), rate, codec=codec, pix_fmt="yuv420p", options=options)
    info = probe(source)
    assert (info.rate, info.rate_assumed) == (rate, False)
    assert "(assumed)" not in info.describe()
    _, times = read_video_rgb(source)
    assert np.diff(times) == pytest.approx([1 / float(rate)] * 5)


def test_a_raw_stream_without_timing_says_its_rate_is_assumed(tmp_path):
    source = write_video(tmp_path / "in.mjpeg", frames(4), 12, codec="mjpeg", pix_fmt="yuvj420p")  # Motion JPEG has no timing
    info = probe(source)
    assert (info.rate, info.rate_assumed) == (25, True)
    assert "25.000 frames/s (assumed)" in info.describe()
    assert videoio.assumed_rate_text(source, info.codec, info.rate) == (
        "Frame rate assumed: the input is a raw mjpeg stream with no timing, so it was read at 25 frames/s; if it was "
        "recorded at another rate, give that with --input-rate, e.g. --input-rate 30"
    )
    assert not probe(write_video(tmp_path / "in.mkv", frames(4), 12)).rate_assumed


def test_probe_reports_codec_size_rate_and_lossless(tmp_path):
    info = probe(write_video(tmp_path / "a.mkv", frames(), 10, audio=tone()))
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("ffv1", "bgr0", W, H)
    assert info.lossless and info.rate == 10 and info.audio_codecs == ["pcm_s16le"]
    lossy = probe(write_video(tmp_path / "b.mp4", frames(), 10, codec="libx264", pix_fmt="yuv420p"))
    assert lossy.codec == "h264" and not lossy.lossless


def test_variable_frame_rate_timestamps_are_kept(tmp_path):
    pts = [0, 1, 3, 4, 7, 8]
    path = write_video(tmp_path / "vfr.mkv", frames(), 10, pts=pts)
    with VideoReader(path) as reader:
        times = [item.time for item in reader]
    assert times == pytest.approx([p / 10 for p in pts])


def test_missing_file_and_not_a_video(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video"):
        probe(tmp_path / "nope.mkv")
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n" * 50)
    with pytest.raises(VideoError, match="not a readable video"):
        probe(text)


def test_audio_only_file_is_not_a_video(tmp_path):
    path = tmp_path / "sound.mka"
    with av.open(str(path), "w") as c:
        stream = c.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in stream.encode(frame):
            c.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        probe(path)


def test_truncated_file_says_how_far_it_got(tmp_path):
    path = write_video(tmp_path / "a.avi", frames(30), 10)
    with av.open(str(path)) as c:
        positions = [p.pos for p in c.demux(video=0) if p.size]
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: positions[20] + 5])
    with pytest.raises(VideoError, match=r"corrupt or truncated: (decoded 20 frames|decoding failed after 2\d frames)"):
        with VideoReader(cut) as reader:
            for _ in reader:
                pass
            reader.check_complete()


def test_a_damaged_lossless_frame_is_refused_not_concealed(tmp_path):
    path = write_video(tmp_path / "a.mkv", frames(8), 10, options={"level": "3", "slicecrc": "1"})
    with av.open(str(path)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    pos, size = packets[5]
    for i in range(pos + size // 3, pos + size // 3 + 64):  # damage the middle of frame 5
        data[i] ^= 0x5A
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    with av.open(str(damaged)) as c:  # FFmpeg alone conceals it: 8 frames, no error
        assert sum(1 for _ in c.decode(video=0)) == 8
    with pytest.raises(VideoError, match=r"damaged.mkv is corrupt: its ffv1 decoder reports damage after 5 good frames \(slice CRC mismatch"):
        with VideoReader(damaged) as reader:
            for _ in reader:
                pass
    with VideoReader(path) as reader:  # the sound file reads through
        assert sum(1 for _ in reader) == 8


def test_a_clip_that_starts_late_is_complete(tmp_path):
    # Matroska's duration counts from 0: 6 frames from 5.0 s say 5.6 s, not 10.6 (was refused
    # as truncated)
    path = write_video(tmp_path / "late.mkv", frames(), 10, pts=[50 + i for i in range(6)])
    with VideoReader(path) as reader:
        assert [round(item.time, 3) for item in reader] == [5.0, 5.1, 5.2, 5.3, 5.4, 5.5]
        reader.check_complete()


def test_the_frame_count_of_an_edit_listed_mp4_is_not_an_end():
    # `ffmpeg -ss 0.25 -i a.mp4 -c copy b.mp4`: the header counts 20 frames, its edit list shows
    # 17 over 1.75 s (was refused: "decoded 17 frames covering 1.70 s, but its header announces 2.00 s")
    mp4 = SimpleNamespace(name="mov,mp4,m4a,3gp,3g2,mj2")
    stream = SimpleNamespace(start_time=0, time_base=Fraction(1, 10240), duration=17920, frames=20, average_rate=Fraction(10))
    assert videoio.announced_end(SimpleNamespace(format=mp4, streams=[stream], duration=1_750_000, start_time=0), stream) == pytest.approx(1.75)
    counted = SimpleNamespace(start_time=0, time_base=Fraction(1, 1000), duration=None, frames=20, average_rate=Fraction(10))
    assert videoio.announced_end(SimpleNamespace(format=mp4, streams=[counted, stream], duration=None, start_time=0), counted) == 2.0
    avi = SimpleNamespace(name="avi")  # elsewhere the count still tells a truncated file (test_truncated_file_says_how_far_it_got)
    assert videoio.announced_end(SimpleNamespace(format=avi, streams=[stream], duration=1_750_000, start_time=0), stream) == 2.0


def test_pixel_traits():
    assert pixel_traits("yuv420p10le") == videoio.PixelTraits("yuv420p10le", 10, False, False)
    assert pixel_traits("gray").is_gray and not pixel_traits("gray").has_alpha
    assert pixel_traits("bgra").has_alpha and pixel_traits("yuva420p").has_alpha
    assert pixel_traits("rgb48le").work_format == "rgb48le" and pixel_traits("yuv420p").work_format == "rgb24"


@pytest.mark.parametrize("pix_fmt", ["bgr0", "gray", "bgra", "yuv420p10le", "gray16le"])
def test_unusual_formats_convert_to_rgb_for_the_model(tmp_path, pix_fmt):
    path = write_video(tmp_path / "a.mkv", frames(2, channels=4 if "a" in pix_fmt[-1] else 3), 10, pix_fmt=pix_fmt)
    with VideoReader(path) as reader:
        traits = reader.info.traits
        rgb = frame_to_rgb(next(iter(reader)).frame, traits)
    assert rgb.shape == (H, W, 3)
    assert rgb.dtype == (np.uint16 if traits.bit_depth > 8 else np.uint8)
    tensor = rgb_to_tensor(rgb)  # (1, 3, H, W)
    assert tensor.shape == (1, 3, H, W) and 0 <= float(tensor.min()) and float(tensor.max()) <= 1


def test_rgb_tensor_round_trip_is_exact():
    rgb = frames(1)[0]
    assert np.array_equal(tensor_to_rgb(rgb_to_tensor(rgb)[0]), rgb)
    deep = np.random.default_rng(1).integers(0, 65536, (H, W, 3), dtype=np.uint16)
    assert np.array_equal(tensor_to_rgb(rgb_to_tensor(deep)[0], np.uint16), deep)


def test_rgb_to_frame_targets_the_output_format():
    rgb = frames(1)[0]
    frame = rgb_to_frame(rgb, "bgr0")
    assert frame.format.name == "bgr0" and np.array_equal(frame.to_ndarray(format="rgb24"), rgb)
    alpha = np.full((H, W), 77, np.uint8)
    with_alpha = rgb_to_frame(rgb, "bgra", alpha)
    assert np.array_equal(with_alpha.to_ndarray(format="rgba")[..., 3], alpha)


def alpha_samples(frame) -> np.ndarray:
    """A frame's alpha samples as stored: its own plane (yuva*) or every other sample (ya*)."""
    plane = frame.planes[-1]
    wide = frame.format.components[-1].bits > 8
    dtype = np.dtype(">u2" if frame.format.name.endswith("be") else "<u2") if wide else np.dtype(np.uint8)
    rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return rows[: frame.height, 1 : 2 * frame.width : 2] if frame.format.name.startswith("ya") else rows[: frame.height, : frame.width]


@pytest.mark.parametrize("pix_fmt", ["ya8", "yuva420p", "yuva444p", "ya16be", "yuva444p10le", "yuva444p12le", "yuva420p16le"])
def test_a_generated_frames_alpha_is_stored_exactly_scaled_to_the_formats_depth(pix_fmt):
    # swscale's RGBA -> ya8 / yuva conversion put the 8-bit values 128-254 a level up
    rgb = frames(1)[0]
    alpha = np.arange(H * W, dtype=np.uint8).reshape(H, W)  # every value, 0-255
    bits = av.VideoFormat(pix_fmt).components[-1].bits
    deep = bits > 8
    given = alpha.astype(np.uint16) * 257 if deep else alpha  # full range at the input's depth
    frame = rgb_to_frame(rgb.astype(np.uint16) * 257 if deep else rgb, pix_fmt, given)
    expected = np.rint(given / (65535 if deep else 255) * ((1 << bits) - 1))
    assert frame.format.name == pix_fmt and np.array_equal(alpha_samples(frame), expected)


def test_frame_content_of_palette_frames_tells_equal_from_unequal():
    # PyAV gives a pal8 frame as (indices, palette): two equal frames compared unequal
    palette = np.zeros((256, 4), np.uint8)
    palette[:, 3] = 255
    palette[1] = (10, 20, 30, 255)
    indices = np.random.default_rng(0).integers(0, 2, (4, 6), dtype=np.uint8)

    def frame(p):
        return av.VideoFrame.from_ndarray((indices, p), format="pal8")

    assert np.array_equal(frame_content(frame(palette)), frame_content(frame(palette.copy())))
    other = palette.copy()
    other[1, 0] = 11  # the same indices, another colour
    assert not np.array_equal(frame_content(frame(palette)), frame_content(frame(other)))


def test_grey_with_alpha_at_16_bits_is_written_losslessly_alpha_and_all(tmp_path):
    # FFV1 holds no ya16: the choice fell to FFV1 at 10-bit grey, lossy, the alpha dropped
    # (an APNG of them is repaired in tests/test_apng_output.py)
    info = dataclasses.replace(videoio.probe(write_video(tmp_path / "a.mkv", frames(2, channels=4), 10, pix_fmt="bgra")), pix_fmt="ya16be")
    assert info.lossless and info.traits.has_alpha and info.traits.bit_depth == 16
    choice = videoio.choose_encoder(info, "matroska", videoio.muxer_codecs("matroska"))
    assert choice.codec == "ffv1" and choice.lossless and not choice.alpha_dropped and pixel_traits(choice.pix_fmt).has_alpha
    assert pixel_traits(choice.pix_fmt).bit_depth == 16


@pytest.mark.parametrize("pix_fmt", sorted(videoio._REPACKED))
def test_each_repacked_layout_holds_the_same_samples_in_one_ffv1_takes(pix_fmt):
    # an uncompressed UYVY capture, a 1-bit image, ...: lossless input no lossless encoder took
    layout = videoio.repacked_layout(pix_fmt)
    assert layout in {f.name for f in av.codec.Codec("ffv1", "w").video_formats}
    traits = pixel_traits(pix_fmt)
    rgb = np.random.default_rng(0).integers(0, 65536, (24, 32, 4 if traits.has_alpha else 3), dtype=np.uint16)
    seed = av.VideoFrame.from_ndarray(rgb, format="rgba64le" if traits.has_alpha else "rgb48le")
    if traits.is_yuv:
        seed = seed.reformat(format="yuva444p16le" if traits.has_alpha else "yuv444p16le")
    frame = seed.reformat(format=pix_fmt)
    there = frame.reformat(format=layout)
    back = there.reformat(format=pix_fmt)
    assert np.array_equal(frame_content(back), frame_content(frame))  # there and back, bit for bit
    assert np.array_equal(frame_content(back.reformat(format=layout)), frame_content(there))


STUTTER_TRUTH = Path(__file__).resolve().parent.parent / "data" / "stutter" / "vtest_stutter_truth.mkv"


def _psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_rgb_to_yuv420p_box_averages_chroma_and_keeps_more_of_the_frame():
    # real frames that came from yuv420p: written back, they should decode close to themselves
    truth, _ = read_video_rgb(STUTTER_TRUTH)
    ours, default = [], []
    for rgb in truth:
        ours.append(_psnr_uint8(yuv_to_rgb(rgb_to_frame(rgb, "yuv420p")), rgb))
        bilinear = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")  # swscale's default
        default.append(_psnr_uint8(yuv_to_rgb(bilinear), rgb))
    assert np.mean(ours) > np.mean(default) + 3.0, (np.mean(ours), np.mean(default))  # measured 53.4 vs 47.3 dB
    assert rgb_to_frame(truth[0], "yuv420p").format.name == "yuv420p"


def _yuv420p(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, full_range_name=False, colorspace=None, color_range=None):
    """An av.VideoFrame from its planes (y (H, W), cb and cr (ceil(H/2), ceil(W/2)), uint8)."""
    frame = av.VideoFrame(y.shape[1], y.shape[0], "yuvj420p" if full_range_name else "yuv420p")
    for plane, samples in zip(frame.planes, (y, cb, cr)):
        padded = np.zeros((plane.height, plane.line_size), np.uint8)
        padded[:, : plane.width] = samples
        plane.update(padded.tobytes())
    if colorspace is not None:
        frame.colorspace = colorspace
    if color_range is not None:
        frame.color_range = color_range
    return frame


def _inverse_of_the_forward_matrix(y, cb, cr, kr, kb, full):
    """(H, W, 3) float64 RGB in 0-255: the R'G'B' -> Y'CbCr matrix of (kr, kb) inverted numerically."""
    kg = 1 - kr - kb
    forward = np.array([[kr, kg, kb], [-kr / (2 - 2 * kb), -kg / (2 - 2 * kb), 0.5], [0.5, -kg / (2 - 2 * kr), -kb / (2 - 2 * kr)]])
    up = lambda c: np.repeat(np.repeat(c.astype(np.float64), 2, 0), 2, 1)[: y.shape[0], : y.shape[1]]  # noqa: E731
    if full:
        ycc = np.stack([y / 255.0, (up(cb) - 128) / 255.0, (up(cr) - 128) / 255.0], -1)
    else:
        ycc = np.stack([(y - 16) / 219.0, (up(cb) - 128) / 224.0, (up(cr) - 128) / 224.0], -1)
    return ycc @ np.linalg.inv(forward).T * 255


@pytest.mark.parametrize(
    "colorspace, weights, full_range_name, color_range",
    [
        (None, (0.299, 0.114), False, None),  # untagged: BT.601, as swscale takes it
        (1, (0.2126, 0.0722), False, None),  # BT.709
        (9, (0.2627, 0.0593), False, None),  # BT.2020
        (None, (0.299, 0.114), True, None),  # yuvj420p: full range
        (6, (0.299, 0.114), False, 2),  # tagged full range
    ],
)
def test_yuv_to_rgb_is_the_tagged_matrix_rounded(colorspace, weights, full_range_name, color_range):
    rng = np.random.default_rng(3)
    h, w = 17, 33  # odd: the last row and column of chroma cover one luma pixel
    y = rng.integers(16, 236, (h, w), dtype=np.uint8)
    cb, cr = (rng.integers(64, 193, (9, 17), dtype=np.uint8) for _ in range(2))
    frame = _yuv420p(y, cb, cr, full_range_name, colorspace, color_range)
    expected = _inverse_of_the_forward_matrix(y, cb, cr, *weights, full=full_range_name or color_range == 2)
    rgb = yuv_to_rgb(frame)
    assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb, np.clip(np.rint(expected), 0, 255).astype(np.uint8))


def test_yuv_frames_reach_the_model_unbiased_where_swscale_is_a_grey_level_dark():
    # real frames written to yuv420p as the tool writes them, then read back for the model
    truth, _ = read_video_rgb(STUTTER_TRUTH)
    traits = pixel_traits("yuv420p")
    ours = np.stack([frame_to_rgb(rgb_to_frame(rgb, "yuv420p"), traits) for rgb in truth]).astype(np.float64)
    swscale = np.stack([rgb_to_frame(rgb, "yuv420p").to_ndarray(format="rgb24") for rgb in truth]).astype(np.float64)
    truth = np.stack(truth)
    ours_bias, swscale_bias = (ours - truth).mean((0, 1, 2)), (swscale - truth).mean((0, 1, 2))  # (3,) per R, G, B
    assert np.all(np.abs(ours_bias) < 0.2), ours_bias  # measured -0.01 / -0.00 / +0.05
    assert np.all(swscale_bias < -0.5), swscale_bias  # measured -0.89 / -1.32 / -0.92
    assert _psnr_uint8(ours, truth) > 52.0  # measured 53.4 dB; swscale's 45.8


@pytest.mark.parametrize("pix_fmt", ["bgr0", "gray", "yuv420p10le", "yuva420p", "rgb24"])
def test_other_formats_and_colorspaces_keep_swscale(pix_fmt):
    rgb = frames(1)[0]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
    traits = pixel_traits(pix_fmt)
    assert yuv_to_rgb(frame) is None
    assert np.array_equal(frame_to_rgb(frame, traits), frame.to_ndarray(format=traits.work_format))
    tagged = rgb_to_frame(rgb, "yuv420p")
    tagged.colorspace = 8  # YCgCo: no matrix of ours
    assert yuv_to_rgb(tagged) is None


def _info(tmp_path, codec="ffv1", pix_fmt="bgr0", ext="mkv", h=H, w=W, channels=3):
    return probe(write_video(tmp_path / f"in.{ext}", frames(2, h, w, channels), 10, codec=codec, pix_fmt=pix_fmt))


def _codecs(container):
    with av.open("/dev/null", "w", format=container) as c:
        return set(c.supported_codecs)


def test_codec_choice_lossless_input_stays_lossless(tmp_path):
    info = _info(tmp_path)
    choice = choose_encoder(info, "matroska", _codecs("matroska"))
    assert (choice.codec, choice.pix_fmt, choice.lossless) == ("ffv1", "bgr0", True)
    mov = choose_encoder(_info(tmp_path, pix_fmt="yuv420p"), "mov", _codecs("mov"))  # no FFV1 in .mov
    assert (mov.codec, mov.pix_fmt, mov.options["qp"]) == ("libx264", "yuv420p", "0")
    png = _info(tmp_path, codec="png", pix_fmt="rgb24", ext="mov")
    assert choose_encoder(png, "matroska", _codecs("matroska")).pix_fmt == "bgr0"  # exact repack of rgb24


def test_codec_choice_lossy_input_is_high_quality_h264(tmp_path):
    info = _info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4")
    choice = choose_encoder(info, "mp4", _codecs("mp4"))
    assert (choice.codec, choice.pix_fmt, choice.options["crf"], choice.lossless) == ("libx264", "yuv420p", "16", False)
    assert choose_encoder(info, "mp4", _codecs("mp4"), crf=23).options["crf"] == "23"
    odd = _info(tmp_path, codec="mpeg4", pix_fmt="yuv420p", ext="avi", h=47, w=65)
    assert choose_encoder(odd, "mp4", _codecs("mp4")).pix_fmt == "yuv444p"  # 4:2:0 needs even sizes
    small_deep = _info(tmp_path, codec="libx264", pix_fmt="yuv420p10le", ext="mp4")  # 48x64: below x265's 64 px
    assert (choose_encoder(small_deep, "mp4", _codecs("mp4")).codec, choose_encoder(small_deep, "mp4", _codecs("mp4")).pix_fmt) == (
        "libx264", "yuv420p10le"
    )


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv422p10le"])
def test_codec_choice_deep_lossy_input_is_hevc_that_players_take(tmp_path, pix_fmt):
    """10-bit lossy input goes to x265 at its own depth (H.264 High 10 plays almost nowhere), quiet,
    tagged hvc1 in MP4 / MOV, without B-frames in NUT; .webm and .avi keep their own codecs."""
    deep = _info(tmp_path, codec="libx264", pix_fmt=pix_fmt, ext="mkv", h=64, w=96)
    for container in ("mp4", "mov", "matroska", "nut"):
        choice = choose_encoder(deep, container, _codecs(container))
        assert (choice.codec, choice.pix_fmt, choice.options["crf"]) == ("libx265", pix_fmt, "16")
        assert choice.options["x265-params"] == ("log-level=error:bframes=0" if container == "nut" else "log-level=error")
        assert "10-bit H.264 does not" in choice.reason
    webm = choose_encoder(deep, "webm", _codecs("webm"))  # VP9 here is 8-bit 4:2:0 only for deep input: 10-bit AV1 instead
    assert (webm.codec, webm.pix_fmt) == ("libsvtav1", "yuv420p10le")
    assert choose_encoder(deep, "avi", _codecs("avi")).codec in {"mpeg4", "mjpeg"}
    assert choose_encoder(deep, "mp4", _codecs("mp4"), codec="libx264").codec == "libx264"


def test_deep_input_into_webm_is_10_bit_av1_quiet_and_read_back_in_place(tmp_path, capfd):
    """.webm's VP9 is 8-bit only here: 10-bit 4:2:0 goes to SVT-AV1 at crf 16, its chroma sited as
    H.264 / HEVC site it, so FFmpeg converts it to RGB as it converts the input; --preset (x264's
    names) does not apply, --crf does; grey 10-bit too; alpha, odd sizes or 8-bit input stay with VP9."""
    deep = _info(tmp_path, codec="libx265", pix_fmt="yuv420p10le", h=64, w=96)
    choice = choose_encoder(deep, "webm", _codecs("webm"))
    assert (choice.codec, choice.pix_fmt, choice.options["crf"]) == ("libsvtav1", "yuv420p10le", "16")
    assert "chroma-sample-position=left" in choice.options["svtav1-params"] and "8-bit only" in choice.reason
    assert choose_encoder(deep, "webm", _codecs("webm"), crf=24).options["crf"] == "24"
    with pytest.raises(VideoError, match="takes no preset"):
        choose_encoder(deep, "webm", _codecs("webm"), preset="fast")
    assert choose_encoder(_info(tmp_path, codec="libx265", pix_fmt="gray10le", h=64, w=96), "webm", _codecs("webm")).pix_fmt == "yuv420p10le"
    assert choose_encoder(_info(tmp_path, codec="libx264", pix_fmt="yuv420p", h=64, w=96), "webm", _codecs("webm")).codec == "libvpx-vp9"
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    waves = [
        np.stack([128 + 100 * np.sin((x - 3 * i) / 5), 128 + 100 * np.sin(y / 4 + (x - 3 * i) / 9), 128 + 80 * np.cos((x - 3 * i + y) / 7)], 2)
        for i in range(6)
    ]  # (96, 128, 3) each: saturated colour edges, where the chroma's siting shows
    source = write_video(
        tmp_path / "in.mkv", [(w.clip(0, 255) * 257).astype(np.uint16) for w in waves], 10, codec="libx265",
        pix_fmt="yuv420p10le", options={"crf": "10", "x265-params": "log-level=error"},
    )  # fmt: skip
    capfd.readouterr()
    with VideoReader(source) as reader:
        writer = videoio.VideoWriter(tmp_path / "out.webm", "webm", reader.info)
        for item in reader:
            writer.write(item.frame, item.pts)
        writer.close()
    assert "Svt[" not in capfd.readouterr().err  # SVT-AV1 prints some 20 lines otherwise
    with VideoReader(source) as a, VideoReader(tmp_path / "out.webm") as b:
        pairs = list(zip(a, b))
    assert len(pairs) == 6 and all(y.frame.format.name == "yuv420p10le" for _, y in pairs)
    for a, b in pairs:  # in RGB, as a player converts both: 46.9 dB here, 35.2 with AV1's default siting
        rgb_a, rgb_b = a.frame.to_ndarray(format="rgb24").astype(float), b.frame.to_ndarray(format="rgb24").astype(float)
        assert 10 * np.log10(255**2 / np.mean((rgb_a - rgb_b) ** 2)) > 42


@pytest.mark.parametrize("ext", ["mp4", "mov", "nut"])
def test_deep_lossy_input_is_written_as_hevc_quietly_and_on_time(tmp_path, capfd, ext):
    source = write_video(tmp_path / "in.mkv", frames(4, 64, 96), 10, codec="libx264", pix_fmt="yuv420p10le")
    with VideoReader(source) as reader:
        writer = videoio.VideoWriter(tmp_path / f"out.{ext}", videoio.container_for(f"out.{ext}"), reader.info)
        for item in reader:
            writer.write(item.frame, item.pts)
        writer.close()
    with av.open(str(tmp_path / f"out.{ext}")) as written:
        stream = written.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.format.name) == ("hevc", "yuv420p10le")
        if ext != "nut":
            assert stream.codec_context.codec_tag == "hvc1"  # Apple's players take no other
        assert [float(f.time) for f in written.decode(stream)] == pytest.approx([0.0, 0.1, 0.2, 0.3])  # NUT: no B-frame shift
    assert "x265 [" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "pix_fmt, codec, out_fmt",
    [("yuv420p", "mpeg4", "yuv420p"), ("yuv420p10le", "mpeg4", "yuv420p"), ("gray", "mpeg4", "yuv420p"),
     ("yuv422p", "mjpeg", "yuvj422p"), ("yuv444p", "mjpeg", "yuvj444p"), ("yuva444p10le", "mjpeg", "yuvj444p")],
)
def test_lossy_input_into_avi_gets_avis_own_codecs(tmp_path, pix_fmt, codec, out_fmt):
    # x264 into AVI is read back a frame late, its B-frames out of order (videoio module doc)
    alpha = pix_fmt.startswith("yuva")  # lossy with alpha: ProRes 4444
    info = probe(write_video(tmp_path / ("in.mov" if alpha else "in.mkv"), frames(2, channels=4 if alpha else 3), 10,
                             codec="prores_ks" if alpha else "libx264", pix_fmt=pix_fmt))
    choice = choose_encoder(info, "avi", _codecs("avi"))
    assert (choice.codec, choice.pix_fmt, choice.options["global_quality"], choice.lossless) == (codec, out_fmt, "118", False)
    assert choice.alpha_dropped == alpha
    x264 = choose_encoder(info, "avi", _codecs("avi"), codec="libx264")
    assert x264.options["bf"] == "0" and "bf" not in choose_encoder(info, "mp4", _codecs("mp4"), codec="libx264").options
    nut = choose_encoder(info, "nut", _codecs("nut"))
    if alpha:  # lossy with alpha outside AVI and WebM: FFV1 keeps it (tests/test_repair.py)
        assert (nut.codec, nut.lossless) == ("ffv1", True)
    else:
        assert nut.options["bf"] == "0"  # NUT cannot store decode times before 0


def test_lossy_file_through_avi_is_on_time_and_close(tmp_path):
    source = write_video(tmp_path / "in.mkv", frames(12), 10, codec="libx264", pix_fmt="yuv420p", options={"crf": "18"},
                         audio=tone(1.2))
    out = tmp_path / "out.avi"
    copy_through_writer(source, out, container="avi")
    a, ta = read_video_rgb(source)
    b, tb = read_video_rgb(out)
    assert tb == pytest.approx(ta) and probe(out).codec == "mpeg4"  # x264 here: every time 0.1 s late
    assert min(10 * np.log10(255**2 / np.mean((x.astype(float) - y) ** 2)) for x, y in zip(a, b)) > 38
    assert packet_times(out, "audio") == pytest.approx(packet_times(source, "audio"), abs=0.0005)


def test_a_crf_that_would_not_be_used_is_refused(tmp_path):
    lossless, lossy = _info(tmp_path), _info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4")
    with pytest.raises(VideoError, match=r"--crf 20 does not apply: the output would be written with ffv1, which takes no crf \(the input is losslessly coded"):
        choose_encoder(lossless, "matroska", _codecs("matroska"), crf=20)
    assert choose_encoder(lossless, "matroska", _codecs("matroska"), codec="libx264", crf=20).options["crf"] == "20"
    with pytest.raises(VideoError, match="--crf 20 does not apply: the output would be written with mpeg4"):
        choose_encoder(lossy, "avi", _codecs("avi"), crf=20)  # a quantiser codec
    with pytest.raises(VideoError, match="--crf 52 is outside libx264's scale, 0 \\(best\\) to 51"):
        choose_encoder(lossy, "mp4", _codecs("mp4"), crf=52)
    with pytest.raises(VideoError, match="--crf 64 is outside libvpx-vp9's scale"):
        choose_encoder(lossy, "webm", _codecs("webm"), crf=64)



def test_a_preset_sets_x264s_and_x265s_speed_and_is_refused_elsewhere(tmp_path):
    lossless, lossy = _info(tmp_path), _info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4")
    assert choose_encoder(lossy, "mp4", _codecs("mp4")).options["preset"] == "medium"
    assert choose_encoder(lossy, "mp4", _codecs("mp4"), preset="veryfast").options["preset"] == "veryfast"
    assert choose_encoder(lossy, "matroska", _codecs("matroska"), codec="libx265", preset="fast").options["preset"] == "fast"
    # x264 in its lossless mode takes one too (it sets the time spent, not the quality)
    lossless_yuv = _info(tmp_path, pix_fmt="yuv420p")
    mov = choose_encoder(lossless_yuv, "mov", _codecs("mov"), preset="slow")
    assert (mov.codec, mov.options["qp"], mov.options["preset"], mov.lossless) == ("libx264", "0", "slow", True)
    with pytest.raises(VideoError, match=r"--preset fast does not apply: the output would be written with ffv1, which takes no preset \(the input is losslessly coded"):
        choose_encoder(lossless, "matroska", _codecs("matroska"), preset="fast")
    for container, codec in (("avi", "mpeg4"), ("webm", "libvpx-vp9")):
        with pytest.raises(VideoError, match=f"--preset fast does not apply: the output would be written with {codec}, which takes no preset$"):
            choose_encoder(lossy, container, _codecs(container), preset="fast")
    with pytest.raises(VideoError, match="--preset 'quick' is not one of x264's / x265's presets: ultrafast, .*, placebo"):
        choose_encoder(lossy, "mp4", _codecs("mp4"), preset="quick")


def test_webm_gets_vp9_lossy_or_lossless(tmp_path):
    lossy = _info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4")
    choice = choose_encoder(lossy, "webm", _codecs("webm"))
    assert (choice.codec, choice.pix_fmt, choice.options["crf"], choice.options["b"], choice.lossless) == ("libvpx-vp9", "yuv420p", "10", "0", False)
    assert choose_encoder(lossy, "webm", _codecs("webm"), crf=30).options["crf"] == "30"
    for pix_fmt, expected in [("yuv420p", "yuv420p"), ("yuv444p", "yuv444p"), ("bgr0", "gbrp")]:
        choice = choose_encoder(_info(tmp_path, pix_fmt=pix_fmt), "webm", _codecs("webm"))
        assert (choice.codec, choice.pix_fmt, choice.options["lossless"], choice.lossless) == ("libvpx-vp9", expected, "1", True)
    with pytest.raises(VideoError, match="no lossless encoder of the webm container takes bgra"):
        choose_encoder(_info(tmp_path, pix_fmt="bgra", channels=4), "webm", _codecs("webm"))  # VP9 will not open on alpha losslessly


@pytest.mark.parametrize(
    "audio_codec, ext, container, message",
    [("libopus", "webm", "mov", r"cannot hold the input's opus audio \(opus only supported in MP4\.\)"),
     ("flac", "mkv", "mov", r"cannot hold the input's flac audio \(flac only supported in MP4\.\)"),
     ("pcm_s16le", "mkv", "webm", r"the webm container cannot hold the input's pcm_s16le audio"),
     ("libmp3lame", "avi", "webm", r"the webm container cannot hold the input's mp3 audio"),
     # a trial of FLV's muxer with PCM aborts the process (FFmpeg 8): judged by its list instead
     ("pcm_s16le", "mkv", "flv", r"the flv container cannot hold the input's pcm_s16le audio \(FLV holds aac, ac3, flac, mp3, opus\)"),
     ("flac", "mkv", "asf", r"the asf container cannot hold the input's flac audio \(ASF does not keep flac in step with the video\)")],
)
def test_audio_a_container_cannot_hold_is_refused_before_any_decoding(tmp_path, audio_codec, ext, container, message):
    # MOV lists Opus and FLAC among its codecs and refuses them only when it writes its header
    sample_rate = 48000 if audio_codec == "libopus" else 8000
    audio = ((np.sin(np.arange(sample_rate) / 5) * 8000).astype(np.int16)[None], sample_rate)
    source = write_video(tmp_path / f"in.{ext}", frames(3), 10, codec="libvpx-vp9" if ext == "webm" else "ffv1",
                         pix_fmt="yuv420p", audio=audio, audio_codec=audio_codec)
    with pytest.raises(VideoError, match=message):
        videoio.check_audio_fits(container, source)
    videoio.check_audio_fits("matroska", source)  # Matroska takes any of them
    with pytest.raises(VideoError, match=message):
        copy_through_writer(source, tmp_path / f"out.{container}", container=container)


def test_avi_refuses_audio_that_starts_before_0(tmp_path):
    source = write_video(tmp_path / "in.mp4", frames(5), 10, codec="libx264", pix_fmt="yuv420p", audio=tone(0.6), audio_codec="aac")
    with pytest.raises(VideoError, match=r"the avi container cannot hold audio that starts before 0 s \(this input's starts at -0.128 s"):
        copy_through_writer(source, tmp_path / "out.avi", container="avi")


def test_avi_refuses_video_that_starts_after_0(tmp_path):
    # an MPEG-TS from PyAV starts its video one frame late; AVI has slots, not times
    source = write_video(tmp_path / "in.ts", frames(5), 25, codec="mpeg2video", pix_fmt="yuv420p")
    assert videoio.stream_starts(source)[0] == pytest.approx(0.04)
    with pytest.raises(VideoError, match=r"the avi container cannot hold video that starts after 0 s \(this input's first frame is at 0.040 s"):
        copy_through_writer(source, tmp_path / "out.avi", container="avi")
    assert not (tmp_path / "out.avi").exists()
    videoio.check_avi_start("matroska", source)  # any other container keeps the time
    videoio.check_avi_start("avi", write_video(tmp_path / "at0.avi", frames(5), 25, codec="mpeg4", pix_fmt="yuv420p"))


@pytest.mark.parametrize("pix_fmt, ext", [("yuv444p", "mp4"), ("yuv420p", "mkv"), ("yuv444p", "ts")])
def test_h264_in_its_lossless_mode_counts_as_lossless(tmp_path, pix_fmt, ext):
    # x264 -qp 0 (as screen recorders offer it) sets the SPS flag that lets QP-0 blocks skip the
    # transform; read from avcC (.mp4, .mkv) and from Annex B start codes (.ts). Before, such a
    # file was re-encoded lossily at crf 16.
    lossless = probe(write_video(tmp_path / f"ll.{ext}", frames(2), 10, codec="libx264", pix_fmt=pix_fmt, options={"qp": "0"}))
    lossy = probe(write_video(tmp_path / f"crf.{ext}", frames(2), 10, codec="libx264", pix_fmt=pix_fmt, options={"crf": "16"}))
    assert (lossless.codec, lossless.lossless, lossy.codec, lossy.lossless) == ("h264", True, "h264", False)
    assert "(lossless," in lossless.describe()
    choice = choose_encoder(lossless, "matroska", _codecs("matroska"))
    assert (choice.codec, choice.pix_fmt, choice.lossless) == ("ffv1", pix_fmt, True)
    assert not choose_encoder(lossy, "matroska", _codecs("matroska")).lossless


def test_h264_parameter_sets_that_cannot_be_read_count_as_lossy():
    assert not videoio.h264_is_lossless(None) and not videoio.h264_is_lossless(b"")
    assert not videoio.h264_is_lossless(bytes([1, 0xF4, 0, 0x0A, 0xFF, 0xE0]))  # avcC with no SPS
    assert not videoio.h264_is_lossless(b"\x00\x00\x01\x68\xee\x3c\x80")  # a PPS, no SPS
    assert not videoio.h264_is_lossless(bytes([1, 0xF4, 0, 0x0A, 0xFF, 0xE1, 0, 2, 0x67, 0xF4]))  # cut short


def test_codec_choice_errors(tmp_path):
    info = _info(tmp_path)
    with pytest.raises(VideoError, match=r"^unknown video encoder 'nosuch' \(this FFmpeg has none by that name\)$"):
        choose_encoder(info, "matroska", _codecs("matroska"), codec="nosuch")
    with pytest.raises(VideoError, match=r"^unknown video encoder 'libx246'; did you mean .*libx264.*\?$"):  # a slip of the keys
        choose_encoder(info, "matroska", _codecs("matroska"), codec="libx246")
    assert {"libx264", "ffv1", "dnxhd"} <= set(videoio.video_encoders()) and "aac" not in videoio.video_encoders()
    odd420 = _info(tmp_path, pix_fmt="yuv420p", h=47, w=65)
    with pytest.raises(VideoError, match="write .mkv instead"):
        choose_encoder(odd420, "mov", _codecs("mov"))
    with pytest.raises(VideoError, match="cannot tell the container") as unknown:
        container_for("out.xyz")
    assert "pattern" not in str(unknown.value)
    for image in ("out/shot.tif", "shot.png", "plate.exr"):  # one image where numbered images were meant
        with pytest.raises(VideoError, match=r"or numbered images, with a pattern such as .*frame_%04d\.png \(\.exr or \.tif for floating"):
            container_for(image)
    assert container_for("a/b.MKV") == "matroska" and container_for("x.mov") == "mov"


def copy_through_writer(source, out, container="matroska"):
    """Every frame and audio packet of ``source`` through a VideoWriter into ``out``, as the tools write."""
    with VideoReader(source) as reader:
        writer = VideoWriter(out, container, reader.info, audio_from=reader.container)
        for item in reader.items(copied=True):
            if isinstance(item, videoio.CopiedPacket):
                writer.mux_copied(item)
            else:
                writer.write(item.frame, item.pts)
        writer.close()


def test_writer_keeps_timestamps_and_copies_audio_packets(tmp_path):
    source = write_video(tmp_path / "in.mkv", frames(5), 10, pts=[0, 1, 2, 5, 6], audio=tone(0.6))
    out = tmp_path / "out.mkv"
    copy_through_writer(source, out)
    a, ta = read_video_rgb(source)
    b, tb = read_video_rgb(out)
    assert ta == tb and all(np.array_equal(x, y) for x, y in zip(a, b))

    def audio_bytes(path):
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(audio=0) if p.size]

    assert audio_bytes(out) == audio_bytes(source) != []


def packet_times(path, kind):
    with av.open(str(path)) as c:
        stream = getattr(c.streams, kind)[0]
        return [float(p.pts * stream.time_base) for p in c.demux(stream) if p.pts is not None and p.size]


def test_aac_priming_before_0_keeps_every_time_in_matroska(tmp_path):
    # An MP4 keeps AAC's first 1024 samples before 0 (1024 / 8000 Hz = 0.128 s): Matroska's muxer
    # by default moved every stream 0.128 s later; the writer keeps each packet's time instead
    source = write_video(tmp_path / "in.mp4", frames(5), 10, codec="libx264", pix_fmt="yuv420p", audio=tone(0.6), audio_codec="aac")
    assert videoio.stream_starts(source) == pytest.approx((0.0, -0.128))
    out = tmp_path / "out.mkv"
    copy_through_writer(source, out)
    assert packet_times(out, "audio") == pytest.approx(packet_times(source, "audio"), abs=0.0005)
    assert packet_times(out, "audio")[0] == pytest.approx(-0.128, abs=0.0005)
    assert read_video_rgb(out)[1] == pytest.approx(read_video_rgb(source)[1], abs=0.0005)  # video from 0, as in the input


def test_matroska_keeps_times_only_where_it_can_store_them():
    assert videoio.keeps_times_in_matroska(0.0, -0.021)  # AAC priming at 48 kHz
    assert videoio.keeps_times_in_matroska(2.0, -0.5)
    assert not videoio.keeps_times_in_matroska(0.0, 0.0)  # nothing before 0: the muxer's default already keeps it
    assert not videoio.keeps_times_in_matroska(-0.04, -0.021)  # video before 0: a cluster cannot start there
    assert not videoio.keeps_times_in_matroska(0.0, -40.0)  # beyond a block's 16-bit offset (-32.768 s)
    assert not videoio.keeps_times_in_matroska(None, -0.021) and not videoio.keeps_times_in_matroska(0.0, None)


@pytest.mark.parametrize("h, w", [(64, 1), (1, 64), (1, 1), (3, 5)])
def test_lossless_copy_of_a_tiny_frame_opens_and_stays_exact(tmp_path, h, w):
    source = write_video(tmp_path / "in.mkv", frames(3, h, w), 10, pix_fmt="yuv444p", options={"slices": "1"})
    out = tmp_path / "out.mkv"
    with VideoReader(source) as reader:
        writer = VideoWriter(out, "matroska", reader.info)  # FFV1 level 3: sliced unless tiny
        for item in reader:
            writer.write(item.frame, item.pts)
        writer.close()
    assert writer.choice.options.get("slices") == "1"
    a, _ = read_video_rgb(source)
    b, _ = read_video_rgb(out)
    assert len(b) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_libx265_is_refused_for_frames_it_would_crash_on(tmp_path):
    small = _info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4", h=20, w=34)  # aborted x265 when tried
    with pytest.raises(VideoError, match=r"libx265 crashes on frames smaller than 64x64 \(this video is 34x20\); choose --codec libx264"):
        choose_encoder(small, "matroska", _codecs("matroska"), codec="libx265")
    assert choose_encoder(_info(tmp_path, codec="libx264", pix_fmt="yuv420p", ext="mp4", h=20, w=64), "matroska", _codecs("matroska"), codec="libx265").codec == "libx265"


@pytest.mark.parametrize("ext, container", [("mp4", "mp4"), ("mkv", "matroska"), ("mov", "mov"), ("ts", "mpegts")])
@pytest.mark.parametrize("with_audio", [False, True])
def test_a_phone_videos_rotation_is_kept(tmp_path, ext, container, with_audio):
    source = tmp_path / "portrait.mp4"  # as a phone stores a portrait clip: landscape frames, turned 90 degrees
    with av.open(str(source), "w") as c:
        stream = c.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.set_display_rotation(90)
        audio = c.add_stream("aac", rate=48000) if with_audio else None
        for image in frames(12):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
        if audio is not None:  # a phone's sound: its first packets come before the first decoded frame
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 48000), np.float32), format="fltp", layout="mono")
            samples.sample_rate = 48000
            for packet in [*audio.encode(samples), *audio.encode()]:
                c.mux(packet)
    out = tmp_path / f"out.{ext}"
    with VideoReader(source) as reader:
        writer = VideoWriter(out, container, reader.info, audio_from=reader.container)
        ahead = 0  # audio packets given to the writer before the first frame (they used to write the header)
        for item in reader.items(copied=True):
            if isinstance(item, videoio.CopiedPacket):
                ahead += writer.frames_written == 0
                writer.mux_copied(item)
            else:
                assert item.frame.rotation == 90
                writer.write(item.frame, item.pts)
        writer.close()
    assert (ahead > 0) == with_audio
    with av.open(str(out)) as c:  # before: 0, the clip played sideways (with audio, in every container)
        rotations = [frame.rotation for frame in c.decode(video=0)]
        assert (c.streams.video[0].width, c.streams.video[0].height) == (W, H)  # the pixels stay as coded
    assert rotations == ([0] * 12 if container == "mpegts" else [90] * 12)  # MPEG-TS has no place for it


def test_the_slot_pts_step_is_the_timestamps_common_divisor():
    assert videoio.slot_pts_step("avi", "mpeg4", [0, 40, 80, 200]) == 40
    assert videoio.slot_pts_step("avi", "mpeg4", [1000, 1040, 1080]) == 40  # a late start counts too
    assert videoio.slot_pts_step("matroska", "libx264", [0, 40, 80]) == 1  # other containers keep every tick
    assert videoio.slot_pts_step("avi", "mpeg4", []) == 1


def test_mpeg4_counts_in_frame_slots_where_its_time_base_cannot_be_the_inputs_tick():
    # MPEG-4 Part 2 codes its time base's denominator in 16 bits: 1/90000 s did not open
    ninety_k = Fraction(1, 90000)
    assert videoio.counts_in_slots("matroska", "mpeg4", ninety_k) and not videoio.counts_in_slots("matroska", "mpeg4", Fraction(1, 1000))
    assert not videoio.counts_in_slots("matroska", "libx264", ninety_k) and videoio.counts_in_slots("avi", "libx264")
    assert videoio.slot_pts_step("matroska", "mpeg4", [0, 3003, 9009], tick=ninety_k) == 3003
    assert videoio.slot_pts_step("matroska", "mpeg4", [0, 3003, 9009], tick=Fraction(1, 30000)) == 1  # a tick it takes
    assert videoio.slot_origin("mp4", "mpeg4", [126126, 129129], tick=ninety_k) == 126126
    assert videoio.slot_origin("avi", "mpeg4", [126126, 129129], tick=ninety_k) == 0  # AVI's video starts at 0
    # slots it cannot take either (x4 of 29.97 frames/s; a variable rate in ticks) go in at the nearest it can
    assert videoio.encoder_time_base("mpeg4", Fraction(1001, 120000)) == Fraction(342, 40999)
    assert videoio.encoder_time_base("mpeg4", ninety_k) == Fraction(1, 65535)
    assert videoio.encoder_time_base("mpeg4", Fraction(1, 10**6)) == Fraction(1, 65535)  # never 0
    assert videoio.encoder_time_base("mpeg4", Fraction(1001, 30000)) == Fraction(1001, 30000)
    assert videoio.encoder_time_base("libx264", ninety_k) == ninety_k


def test_writer_counts_in_steps_of_pts(tmp_path):
    info = probe(write_video(tmp_path / "in.mkv", frames(3), 10, pts=[0, 100, 300], time_base=Fraction(1, 1000)))
    assert videoio.demuxed_pts(info.path) == [0, 100, 300]
    writer = VideoWriter(tmp_path / "o.avi", "avi", info, pts_step=100)
    assert writer.time_base == Fraction(1, 10)
    with pytest.raises(VideoError, match="pts 150 is not a multiple of the writer's pts step 100"):
        writer.write(rgb_to_frame(frames(1)[0], writer.choice.pix_fmt), 150)
    for pts, image in zip([0, 100, 300], frames(3)):
        writer.write(rgb_to_frame(image, writer.choice.pix_fmt), pts)
    writer.close()
    assert read_video_rgb(tmp_path / "o.avi")[1] == pytest.approx([0.0, 0.1, 0.3])


def test_writer_refuses_timestamps_that_do_not_increase(tmp_path):
    info = _info(tmp_path)
    writer = VideoWriter(tmp_path / "o.mkv", "matroska", info)
    writer.write(rgb_to_frame(frames(1)[0], "bgr0"), 3)
    with pytest.raises(VideoError, match="timestamps must increase"):
        writer.write(rgb_to_frame(frames(1)[0], "bgr0"), 3)
    writer.abort()


def test_frame_content_compares_exactly(tmp_path):
    path = write_video(tmp_path / "a.mkv", frames(2, 47, 65), 10, pix_fmt="yuv420p")  # odd: PyAV can't ndarray it
    with VideoReader(path) as reader:
        first, second = (item.frame for item in reader)
    assert np.array_equal(frame_content(first), frame_content(first))
    assert not np.array_equal(frame_content(first), frame_content(second))


def test_check_writable_probes_the_nearest_folder_and_leaves_nothing(tmp_path, monkeypatch):
    check_writable(tmp_path / "out.mkv")
    check_writable(tmp_path / "new" / "deeper" / "out.mkv")  # missing folders: made at the end, not here
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^cannot write the report .*file.txt/sub/r.json: .*file.txt is not a folder$"):
        check_writable(tmp_path / "file.txt" / "sub" / "r.json", "report")
    real_mkstemp = videoio.tempfile.mkstemp

    def refused(*args, dir=None, **kwargs):  # a read-only folder (root ignores permission bits)
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(videoio.tempfile, "mkstemp", refused)
    with pytest.raises(ValueError, match=r"no new file can be made in .* \(Permission denied\)$"):
        check_writable(tmp_path / "out.mkv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_same_file_sees_links(tmp_path):
    a = tmp_path / "a.mkv"
    a.write_bytes(b"x")
    (tmp_path / "link.mkv").symlink_to(a)
    (tmp_path / "hard.mkv").hardlink_to(a)
    assert same_file(a, tmp_path / "link.mkv") and same_file(a, tmp_path / "hard.mkv")
    assert same_file(a, tmp_path / "sub" / ".." / "a.mkv")
    assert not same_file(a, tmp_path / "other.mkv")


def test_image_sequence_input(tmp_path):
    clip = frames(3)
    folder = tmp_path / "seq"
    folder.mkdir()
    from PIL import Image

    for i, image in enumerate(clip):
        Image.fromarray(image).save(folder / f"f_{i:03d}.png")
    info = probe(folder / "f_%03d.png")
    assert info.codec == "png" and info.lossless
    decoded, _ = read_video_rgb(folder / "f_%03d.png")
    assert all(np.array_equal(a, b) for a, b in zip(decoded, clip))
    with pytest.raises(FileNotFoundError, match="no such image sequence"):
        probe(folder / "g_%03d.png")


@pytest.mark.parametrize("first", [0, 1])
def test_an_image_sequence_with_a_gap_names_the_missing_file(tmp_path, first):
    from PIL import Image

    for i in (0, 1, 2, 4, 5):  # file first + 3 missing
        Image.fromarray(frames(1, seed=i)[0]).save(tmp_path / f"f_{first + i:03d}.png")
    with pytest.raises(VideoError, match=rf"the image sequence has a gap: f_{first + 3:03d}.png is missing after 3 frames"):
        with VideoReader(tmp_path / "f_%03d.png") as reader:
            for _ in reader:
                pass


@pytest.mark.parametrize("first", [0, 1, 3, 1001])
def test_a_gap_that_image2_steps_over_is_found_too(tmp_path, first):
    """image2 looks for the last image in steps of 1, 2, 4, ...: with 4 missing of 0-6 it stops
    after 3 without an error; the reader's end check (``check_complete``) names the gap."""
    from PIL import Image

    for i in (0, 1, 2, 3, 5, 6):
        Image.fromarray(frames(1, seed=i)[0]).save(tmp_path / f"f_{first + i:04d}.png")
    with pytest.raises(VideoError, match=rf"has a gap: f_{first + 4:04d}.png is missing after 4 frames, and 2 image\(s\) come after it"):
        with VideoReader(tmp_path / "f_%04d.png") as reader:
            assert sum(1 for _ in reader) == 4
            reader.check_complete()


@pytest.mark.parametrize("first", [3, 1001])
def test_an_image_sequence_may_start_at_any_number(tmp_path, first):
    """image2 finds a first image by itself only among 0-4; a film's frames often start at 1001."""
    from PIL import Image

    clip = frames(4)
    for i, image in enumerate(clip):
        Image.fromarray(image).save(tmp_path / f"f_{first + i:04d}.png")
    Image.fromarray(clip[0]).save(tmp_path / "f_7.png")  # %04d writes 7 as 0007: not of the pattern
    pattern = tmp_path / "f_%04d.png"
    assert sequence_first_number(pattern) == first
    assert sorted(sequence_numbers(pattern)) == [first + i for i in range(4)]
    with VideoReader(pattern) as reader:
        decoded = [frame_to_rgb24(item.frame) for item in reader]
        reader.check_complete()
    assert len(decoded) == 4 and all(np.array_equal(a, b) for a, b in zip(decoded, clip))
    assert sequence_first_number(tmp_path / "g_%04d.png") is None and sequence_first_number(tmp_path / "f_%s.png") is None


# --------------------------------------------------------------------------------------------
# Which video stream is read


def with_still_first(path: Path, frames: int = 6, audio: bool = False) -> Path:
    """A file whose first video stream is one JPEG picture (cover art stored as a track, unmarked:
    Matroska cannot mark it), then the real video: FFV1 (.mkv) or x264 (.mp4), ``frames`` frames."""
    still = write_video(path.with_name("still.avi"), [np.full((48, 64, 3), 200, np.uint8)], 1, codec="mjpeg", pix_fmt="yuvj420p")
    sound = ((np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)[None], 8000) if audio else None  # (1, n), rate
    video = write_video(
        path.with_name("main" + path.suffix), [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(frames)], 10,
        codec="ffv1" if path.suffix == ".mkv" else "libx264", pix_fmt="yuv420p", audio=sound,
        audio_codec="pcm_s16le" if path.suffix == ".mkv" else "aac",
    )
    with av.open(str(still)) as first, av.open(str(video)) as main, av.open(str(path), "w") as target:
        sources = (first, main)  # the picture's stream first, then the video's and its audio
        copies = [{s.index: target.add_stream_from_template(s) for s in source.streams} for source in sources]
        for source, copy in zip(sources, copies):  # every stream added before the first packet
            for packet in source.demux():
                if packet.size:
                    packet.stream = copy[packet.stream.index]
                    target.mux(packet)
    still.unlink()
    video.unlink()
    return path


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_one_picture_track_before_the_video_is_passed_over(tmp_path, suffix):
    path = with_still_first(tmp_path / f"in{suffix}")
    with av.open(str(path)) as container:  # the picture is the first video stream, and not marked
        first = container.streams.video[0]
        assert first.codec_context.name == "mjpeg" and not first.disposition & av.stream.Disposition.attached_pic
    info = probe(path)
    assert info.stream_index == 1 and info.codec in ("ffv1", "h264")
    with VideoReader(path) as reader:
        assert [item.index for item in reader] == [0, 1, 2, 3, 4, 5]
    assert len(videoio.demuxed_pts(path)) == 6


def test_of_two_one_picture_tracks_the_first_is_read(tmp_path):
    path = with_still_first(tmp_path / "in.mkv", frames=1)
    assert probe(path).stream_index == 0  # both have one packet: nothing to prefer


# --------------------------------------------------------------------------------------------
# Subtitles


SUBRIP = "1\n00:00:00,100 --> 00:00:00,500\nHello there\n\n2\n00:00:00,600 --> 00:00:01,200\nSecond line\n"


def with_subtitles(video: Path, out: Path, subrip: str = SUBRIP) -> Path:
    """``video``'s streams copied into ``out`` (.mkv), with a SubRip stream of ``subrip`` (two lines) added."""
    (out.parent / "lines.srt").write_text(subrip)
    with av.open(str(video)) as source, av.open(str(out.parent / "lines.srt")) as lines, av.open(str(out), "w") as target:
        copies = {s.index: target.add_stream_from_template(s) for s in source.streams}
        subtitle = target.add_stream_from_template(lines.streams.subtitles[0])
        for packet in source.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                target.mux(packet)
        for packet in lines.demux():
            if packet.size:
                packet.stream = subtitle
                target.mux(packet)
    (out.parent / "lines.srt").unlink()
    return out


def subtitle_packets(path: Path) -> list[tuple[float, bytes]]:
    with av.open(str(path)) as container:
        if not container.streams.subtitles:  # demux([]) would read every stream
            return []
        return [(float(p.pts * p.stream.time_base), bytes(p)) for p in container.demux(list(container.streams.subtitles)) if p.size]


def test_subtitles_are_copied_where_the_container_holds_them(tmp_path):
    from nlvfi.videoio import subtitles_that_fit

    source = with_subtitles(write_video(tmp_path / "v.mkv", [np.full((16, 16, 3), 9 * i, np.uint8) for i in range(12)], 10), tmp_path / "in.mkv")
    assert subtitle_packets(source) == [(0.1, b"Hello there"), (0.6, b"Second line")]
    with av.open(str(source)) as container:
        fits = subtitles_that_fit("matroska", container)
        assert list(fits.values()) == [None]
        refused = subtitles_that_fit("mp4", container)
        assert list(refused.values()) != [None]  # MP4 takes mov_text only
    with VideoReader(source) as reader:
        kinds = [type(item).__name__ for item in reader.items(copied=True)]
    assert kinds.count("CopiedPacket") == 2 and kinds.count("DecodedFrame") == 12


def test_the_movie_timescale_places_every_stream_start_on_its_own_tick():
    assert videoio.movie_timescale([Fraction(1, 90000), Fraction(1, 90000)]) == 90000  # MPEG-TS
    assert videoio.movie_timescale([Fraction(1, 15360), Fraction(1, 48000)]) == 384000
    assert videoio.movie_timescale([Fraction(1, 90000), Fraction(1, 44100)]) == 4410000
    assert videoio.movie_timescale([Fraction(1, 1000003), Fraction(1, 999983)]) == 1000003  # past 2^31: the finest
    assert videoio.movie_timescale([]) == 1000


# --------------------------------------------------------------------------------------------
# MPEG-TS out (.ts, and .m2ts / .mts in 192-byte packets)


@pytest.mark.parametrize("ext, packet", [(".ts", 188), (".m2ts", 192), (".mts", 192)])
def test_mpeg_ts_output_keeps_frames_times_and_audio(tmp_path, ext, packet):
    source = write_video(tmp_path / "in.mkv", frames(6), 10, pts=[0, 1, 2, 4, 5, 6], audio=tone(0.8, 48000), audio_codec="ac3")
    out = tmp_path / f"out{ext}"
    copy_through_writer(source, out, container=videoio.container_for(out))
    data = out.read_bytes()
    assert len(data) % packet == 0 and data[packet - 188] == 0x47  # sync byte (after the 4-byte time code in M2TS)
    with VideoReader(out) as reader:
        assert reader.info.codec == "h264"
        times = [item.time for item in reader]
    # every stream moved alike (the muxer stores nothing before 0, and AC-3's priming starts 5.3 ms before it)
    assert 0 <= times[0] < 0.01 and [t - times[0] for t in times] == pytest.approx([0, 0.1, 0.2, 0.4, 0.5, 0.6])
    with av.open(str(out)) as c, av.open(str(source)) as s:
        assert [bytes(p) for p in c.demux(audio=0) if p.size] == [bytes(p) for p in s.demux(audio=0) if p.size] != []


def test_mpeg_ts_holds_its_own_codecs_only(tmp_path):
    ts = videoio.muxer_codecs("mpegts")
    assert ts == videoio.muxer_codecs("m2ts") == videoio.TS_VIDEO_ENCODERS  # its muxer lists almost none
    deep = _info(tmp_path, codec="libx264", pix_fmt="yuv420p10le", ext="mkv", h=64, w=96)
    assert (choose_encoder(deep, "mpegts", ts).codec, choose_encoder(deep, "mpegts", ts).pix_fmt) == ("libx265", "yuv420p10le")
    lossless = choose_encoder(_info(tmp_path, pix_fmt="yuv420p"), "mpegts", ts)  # no FFV1 in MPEG-TS
    assert (lossless.codec, lossless.options["qp"], lossless.lossless) == ("libx264", "0", True)
    with pytest.raises(VideoError, match="the mpegts container cannot hold ffv1 video"):
        choose_encoder(deep, "mpegts", ts, codec="ffv1")


@pytest.mark.parametrize("codec", ["flac", "pcm_s16le"])
def test_mpeg_ts_refuses_audio_it_would_write_as_data(tmp_path, codec):
    # its muxer takes any stream and writes what it does not know as private data: no audio on reading
    source = write_video(tmp_path / "in.mkv", frames(3), 10, audio=tone(0.4), audio_codec=codec)
    with pytest.raises(VideoError, match=rf"the mpegts container cannot hold the input's {codec} audio \(MPEG-TS holds aac, ac3"):
        videoio.check_audio_fits("mpegts", source)


def test_mpeg_ts_names_text_subtitles_instead_of_writing_them_as_data(tmp_path):
    source = with_subtitles(write_video(tmp_path / "v.mkv", [np.full((16, 16, 3), 9 * i, np.uint8) for i in range(12)], 10), tmp_path / "in.mkv")
    with av.open(str(source)) as container:
        assert list(videoio.subtitles_that_fit("mpegts", container).values()) == ["MPEG-TS holds only DVB subtitles, not subrip"]


def test_refused_audio_is_told_which_containers_hold_it(tmp_path):
    # Blu-ray's LPCM: only MPEG-TS in 192-byte packets holds it (Matroska and MP4 do not, and a
    # plain TS writes it as unreadable data); "write .mkv instead, which takes any audio" was said
    bluray = write_video(tmp_path / "in.m2ts", frames(3), 10, codec="libx264", pix_fmt="yuv420p", audio=tone(0.4, 48000), audio_codec="pcm_bluray")
    for container in ("matroska", "mp4", "mpegts"):
        with pytest.raises(VideoError, match=r"cannot hold the input's pcm_bluray audio \(.*\); write .m2ts instead$"):
            videoio.check_audio_fits(container, bluray)
    videoio.check_audio_fits("m2ts", bluray)  # written, as tests/test_containers_benchmark.py writes the rest
    flac = write_video(tmp_path / "in.mkv", frames(3), 10, audio=tone(0.4), audio_codec="flac")
    with pytest.raises(VideoError, match=r"mov container cannot hold the input's flac audio \(flac only supported in MP4.\); write .mkv, .mp4, .avi or .nut instead$"):
        videoio.check_audio_fits("mov", flac)


def test_a_refusal_names_only_containers_that_take_the_whole_input(tmp_path):
    # a Windows Media file: WMV 8 video starting after 0 s, audio that Matroska / MP4 / MOV do not
    # take. Each check named the others by its own test alone: AVI said "write .mkv, .mp4 or .mov",
    # and those "write .avi or .nut", a circle; only .nut and its own .wmv take both
    source = write_video(tmp_path / "in.wmv", frames(4), 10, codec="wmv2", pix_fmt="yuv420p", pts=[1, 2, 3, 4],
                         audio=tone(0.4), audio_codec="adpcm_ms")
    assert videoio.stream_starts(source) == (pytest.approx(0.1), 0.0)
    assert videoio.containers_holding(source) == [(".nut", "nut"), (".wmv", "asf")]
    with pytest.raises(VideoError, match=r"the avi container cannot hold video that starts after 0 s .*; write .nut or .wmv instead$"):
        videoio.check_avi_start("avi", source)
    for container in ("matroska", "mp4", "mov"):
        with pytest.raises(VideoError, match=rf"the {container} container cannot hold the input's adpcm_ms audio \(.*\); write .nut or .wmv instead$"):
            videoio.check_audio_fits(container, source)
    videoio.check_audio_fits("nut", source)
    # the same audio with the video at 0: AVI takes it, and is named
    at_zero = write_video(tmp_path / "at0.wmv", frames(4), 10, codec="wmv2", pix_fmt="yuv420p", audio=tone(0.4), audio_codec="adpcm_ms")
    with pytest.raises(VideoError, match=r"; write .avi, .nut or .wmv instead$"):
        videoio.check_audio_fits("matroska", at_zero)


def test_a_refusal_gives_its_own_reason_not_a_line_held_back_before_it():
    # PyAV holds back a line logged again and again and sends "... (repeated 2 more times)" with
    # the next line: after three trials of Opus in MOV, an encoder was refused for that
    import av.logging

    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture(local=False):  # kept out of the test's output
            for _ in range(3):
                av.logging.log(av.logging.ERROR, "mov", "opus only supported in MP4.")
    finally:
        av.logging.set_level(level)

    def attempt():
        av.logging.log(av.logging.ERROR, "mpeg2video", "MPEG-1/2 does not support 3/1 fps")
        raise av.FFmpegError(22, "Invalid argument")

    assert videoio._refusal(attempt, first=True) == "MPEG-1/2 does not support 3/1 fps"
    assert videoio._refusal(attempt) == "MPEG-1/2 does not support 3/1 fps"  # the same line again is not held back


def test_an_animated_webp_read_straight_through_ffmpeg_is_refused_naming_the_staging(tmp_path):
    from PIL import Image, features

    if not features.check("webp"):
        pytest.skip("this Pillow writes no WebP")
    images = [Image.fromarray(image) for image in frames(3)]
    images[0].save(tmp_path / "anim.webp", save_all=True, append_images=images[1:], duration=100, lossless=True)
    with pytest.raises(VideoError, match=r"anim.webp is an animated WebP, which the FFmpeg inside PyAV here does not decode; "
                                         r"read it through nlvfi.staged_images.staged_input, as nlvfi repair and interpolate do"):
        probe(tmp_path / "anim.webp")
