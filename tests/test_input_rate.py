"""``--input-rate``: the frame rate of an input without timing of its own (nlvfi/input_rate.py)."""

import json
from fractions import Fraction

import pytest

from nlvfi import cli
from nlvfi.input_rate import declared_input_rate, declared_rate_of, parse_rate
from nlvfi.repair import summary_text
from nlvfi.resume import input_fingerprint
from nlvfi.videoio import VideoError, probe, read_video_rgb, write_video

from test_image_sequence import png_sequence
from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


@pytest.mark.parametrize(
    "text, rate",
    [("24", Fraction(24)), ("12.5", Fraction(25, 2)), ("30000/1001", Fraction(30000, 1001)), ("24000:1001", Fraction(24000, 1001)),
     ("29.97", Fraction(30000, 1001)), ("23.976", Fraction(24000, 1001)), ("59.94", Fraction(60000, 1001)),
     ("119.88", Fraction(120000, 1001)), ("25.0", Fraction(25)), ("29.9", Fraction(299, 10)), (" 30 ", Fraction(30))],
)  # fmt: skip
def test_a_rate_is_read_as_cameras_label_it(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0", "0/1", "-24", "24/0", "abc", "", "nan", "inf", "1e3", "24/1.5", "2000000", "24 fps"])
def test_a_rate_that_is_not_a_positive_number_is_refused(text):
    with pytest.raises(ValueError, match="frame rate"):
        parse_rate(text)


def test_a_raw_motion_jpeg_stream_is_read_at_the_declared_rate_and_only_within_the_block(tmp_path):
    source = write_video(tmp_path / "in.mjpeg", scene(5), 10, codec="mjpeg", pix_fmt="yuvj420p")  # no timing at all
    assert (probe(source).rate, probe(source).rate_assumed) == (25, True)
    with declared_input_rate(source, "10"):
        info = probe(source)
        assert (info.rate, info.rate_assumed, info.rate_given) == (10, False, True)
        assert "10.000 frames/s (given: --input-rate)" in info.describe()
        assert read_video_rgb(source)[1] == pytest.approx([i / 10 for i in range(5)])
        with declared_input_rate(tmp_path / "." / "in.mjpeg", Fraction(10)):  # the same rate again: a tool calling another
            assert probe(source).rate == 10
        with pytest.raises(ValueError, match="already read at 10 frames/s"):
            with declared_input_rate(source, 12):
                pass
    assert declared_rate_of(source) is None
    assert read_video_rgb(source)[1] == pytest.approx([i / 25 for i in range(5)])


def test_an_image_sequence_is_read_at_an_ntsc_rate(tmp_path):
    source = png_sequence(tmp_path / "seq", scene(4), first=7)
    with declared_input_rate(source, "23.976"):
        info = probe(source)
        assert info.rate == Fraction(24000, 1001) and info.rate_given
        assert read_video_rgb(source)[1] == pytest.approx([i * 1001 / 24000 for i in range(4)])


def test_an_input_with_timing_of_its_own_is_refused(tmp_path):
    timed = write_video(tmp_path / "in.mkv", scene(4), 12)
    with pytest.raises(VideoError, match=r"in.mkv has timing of its own \(it carries 12 frames/s\): --input-rate is for input without any"):
        with declared_input_rate(timed, 24):
            pass
    raw = write_video(tmp_path / "in.h264", scene(4), 12, codec="libx264", pix_fmt="yuv420p")  # its parameter sets time it
    with pytest.raises(VideoError, match=r"its stream header gives 12 frames/s"):
        with declared_input_rate(raw, 24):
            pass
    assert declared_rate_of(timed) is None and declared_rate_of(raw) is None


def test_the_resume_fingerprint_holds_the_declared_rate(tmp_path):
    source = png_sequence(tmp_path / "seq", scene(3))
    plain = input_fingerprint(source)
    with declared_input_rate(source, "24"):
        assert input_fingerprint(source) == {**plain, "input_rate": "24"}
    with declared_input_rate(source, "30000/1001"):
        assert input_fingerprint(source)["input_rate"] == "30000/1001"


def test_repair_writes_a_motion_jpeg_stream_at_the_rate_given(tmp_path, model, capsys):
    # a 10 frames/s camera's MJPEG: read at FFmpeg's 25 it came out 2.5 times too fast
    source = write_video(tmp_path / "cam.mjpeg", stutter(scene(12), [4]), 10, codec="mjpeg", pix_fmt="yuvj420p", options={"q": "2"})
    out, report_path = tmp_path / "out.mkv", tmp_path / "r.json"
    args = ["repair", str(source), "-o", str(out), "--input-rate", "10", "--report", str(report_path), "--checkpoint", str(model), "--quiet"]
    assert cli.main(args) == 0
    report = json.loads(report_path.read_text())
    assert [r["frame"] for r in report["replaced"]] == [4] and report["replaced"][0]["time_s"] == pytest.approx(0.4)
    assert (report["video"]["frame_rate"], report["video"]["frame_rate_assumed"], report["video"]["frame_rate_given"]) == ("10", False, True)
    assert read_video_rgb(out)[1] == pytest.approx([i / 10 for i in range(12)])
    text = summary_text(report)
    assert "Frame rate given: the input was read at 10 frames/s (--input-rate 10)." in text
    assert "Frame rate assumed" not in text and "Frame rate given" in capsys.readouterr().out
    # detection alone reads it the same way
    assert cli.main(["repair", str(source), "--detect-only", "--input-rate", "10", "--report", str(tmp_path / "d.json"), "--quiet"]) == 0
    assert "(given: --input-rate)" in json.loads((tmp_path / "d.json").read_text())["video"]["description"]


def test_input_rate_on_a_timed_video_or_a_bad_rate_exits_2_and_writes_nothing(tmp_path, model, capsys):
    timed = write_video(tmp_path / "in.mkv", stutter(scene(8), [4]), 12)
    for command in (["repair", str(timed), "-o", str(tmp_path / "o.mkv")], ["interpolate", str(timed), "-o", str(tmp_path / "o.mkv"), "--factor", "2"]):
        assert cli.main([*command, "--input-rate", "24", "--checkpoint", str(model), "--quiet"]) == 2
        assert "has timing of its own" in capsys.readouterr().err
    assert cli.main(["repair", str(timed), "-o", str(tmp_path / "o.mkv"), "--input-rate", "0", "--quiet"]) == 2
    assert "argument --input-rate: a frame rate must be above 0" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_interpolate_doubles_an_image_sequence_at_the_rate_given(tmp_path, model):
    source = png_sequence(tmp_path / "seq", scene(5))
    out = tmp_path / "x2.mkv"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--input-rate", "12", "--checkpoint", str(model), "--quiet"]) == 0
    assert probe(out).rate == 24
    assert read_video_rgb(out)[1] == pytest.approx([i / 24 for i in range(9)], abs=5e-4)  # Matroska counts in ms


def exr_plates(folder, count: int, rate: int):
    """Numbered OpenEXR images whose headers give ``rate`` (FFmpeg's encoder writes its stream rate there)."""
    import av
    import numpy as np

    from nlvfi.float_frames import float_frame

    folder.mkdir()
    for index in range(count):
        with av.open(str(folder / f"p_{index:03d}.exr"), "w", format="image2") as container:
            stream = container.add_stream("exr", rate=rate)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "gbrpf32le"
            samples = np.full((16, 16, 3), 0.1 * (index + 1), np.float32)
            for packet in [*stream.encode(float_frame(samples, "gbrpf32le")), *stream.encode()]:
                container.mux(packet)
    return folder / "p_%03d.exr"


def test_numbered_images_are_timed_by_the_rate_their_headers_give_and_it_may_be_overridden(tmp_path):
    # an OpenEXR's framesPerSecond field: the rate said 24 while image2 timed the frames at its 25
    source = exr_plates(tmp_path / "plates", 4, 24)
    info = probe(source)
    assert (info.rate, info.rate_assumed) == (24, False)
    assert read_video_rgb(source)[1] == pytest.approx([i / 24 for i in range(4)])
    with declared_input_rate(source, 30):  # writers fill the field with their default: the user may know better
        assert probe(source).rate == 30 and read_video_rgb(source)[1] == pytest.approx([i / 30 for i in range(4)])


def test_a_decimal_rate_in_an_images_header_means_the_exact_ntsc_rate():
    # a DPX header holds 29.97 as a float: FFmpeg gives 2997/100, --input-rate 29.97 means 30000/1001
    from types import SimpleNamespace

    from nlvfi.videoio import _header_rate

    stream = SimpleNamespace(codec_context=SimpleNamespace(framerate=Fraction(2997, 100)))
    assert _header_rate(stream, images=True) == Fraction(30000, 1001)
    assert _header_rate(stream) == Fraction(2997, 100)  # a stream's own rational timing is taken as it is
    assert _header_rate(SimpleNamespace(codec_context=SimpleNamespace(framerate=None)), images=True) is None
