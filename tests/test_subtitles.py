"""Text subtitles into a container that holds another text codec: converted (SubRip -> MP4's timed
text, timed text -> ASS in Matroska, SubRip -> WebVTT in WebM), verified line by line, and a
conversion that loses a line is refused (nlvfi.subtitles).

Before, they were named "not copied" and left out.
"""

from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from nlvfi.repair import repair_video, summary_text
from nlvfi.subtitles import SubtitleConverter, conversion_target, on_screen, plain_text, subtitle_events
from nlvfi.videoio import VideoError, write_video

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

SUBRIP = "1\n00:00:00,200 --> 00:00:00,600\n<i>A line</i>\n\n2\n00:00:00,700 --> 00:00:01,100\nAnother line\nand its second\n\n"
WORDS = [(0.2, 0.4, "A line"), (0.7, 0.4, "Another line\nand its second")]


def frames(n: int = 12) -> list[np.ndarray]:
    """(48, 64, 3) frames of a bar moving 4 px a frame; frame 6 copies frame 5."""
    out = []
    for k in range(n):
        image = np.full((48, 64, 3), 30, np.uint8)
        image[10:30, 4 * k : 4 * k + 10] = 230
        out.append(image)
    out[6] = out[5]
    return out


def srt_clip(folder: Path) -> Path:
    """A 10 frames/s clip (frame 6 a copy) with SUBRIP as its subtitle stream, in .mkv."""
    from test_videoio import with_subtitles

    return with_subtitles(write_video(folder / "plain.mkv", frames(), 10, codec="libx264", pix_fmt="yuv420p"), folder / "srt.mkv", SUBRIP)


def test_plain_text_and_targets():
    assert plain_text(b"0,0,Default,,0,0,0,,{\\i1}A line{\\i0}\\Nnext") == "A line\nnext"
    stream = SimpleNamespace(codec_context=SimpleNamespace(codec=SimpleNamespace(name="subrip")))
    assert [conversion_target(m, stream) for m in ("mp4", "mov", "matroska", "webm", "avi", "nut")] == [
        "mov_text", "mov_text", "ass", "webvtt", None, None,
    ]
    picture = SimpleNamespace(codec_context=SimpleNamespace(codec=SimpleNamespace(name="dvd_subtitle")))
    assert conversion_target("mp4", picture) is None  # pictures are not converted


@pytest.mark.parametrize("ext", [".mp4", ".mov"])
def test_subrip_goes_into_mp4_as_timed_text_with_its_styles(tmp_path, model, ext):
    source = srt_clip(tmp_path)
    out = tmp_path / f"out{ext}"
    report = repair_video(source, out, checkpoint=model, threshold=0.3, progress=False)
    assert report["frames_replaced"] == 1
    assert report["subtitle_streams_converted"] == ["subtitle (subrip) -> mov_text"]
    assert report["verification"]["subtitle_streams_converted"] == 1 and report["streams_not_copied"] == []
    with av.open(str(out)) as written:
        assert [s.codec_context.name for s in written.streams.subtitles] == ["mov_text"]
    assert [(round(a, 3), round(d, 3), w) for a, d, w in subtitle_events(out, 0)] == WORDS
    with av.open(str(out)) as written:  # the italics came through as a style record
        stream = written.streams.subtitles[0]
        events = [rect.ass for p in written.demux(stream) if p.size for rect in stream.codec_context.decode(p)]
    assert any(b"\\i1" in event for event in events)
    assert "1 subtitle stream(s) converted (subtitle (subrip) -> mov_text: the same lines at the same times)" in summary_text(report)


def test_timed_text_goes_into_matroska_as_ass_and_subrip_into_webm_as_webvtt(tmp_path, model):
    mp4 = repair_video(srt_clip(tmp_path), tmp_path / "timed.mp4", checkpoint=model, threshold=0.3, progress=False)
    assert mp4["subtitle_streams_converted"]
    report = repair_video(tmp_path / "timed.mp4", tmp_path / "back.mkv", checkpoint=model, threshold=0.3, progress=False)
    assert report["subtitle_streams_converted"] == ["subtitle (mov_text) -> ass"]
    assert [(round(a, 3), round(d, 3), w) for a, d, w in subtitle_events(tmp_path / "back.mkv", 0)] == WORDS
    webm = repair_video(srt_clip(tmp_path), tmp_path / "out.webm", checkpoint=model, threshold=0.3, progress=False)
    assert webm["subtitle_streams_converted"] == ["subtitle (subrip) -> webvtt"]
    assert [w for *_, w in subtitle_events(tmp_path / "out.webm", 0)] == [w for *_, w in WORDS]


def test_a_conversion_that_loses_a_line_is_refused(tmp_path, model, monkeypatch):
    source = srt_clip(tmp_path)
    convert = SubtitleConverter.convert
    seen = []

    def first_line_only(self, packet):
        seen.append(packet.pts)
        return convert(self, packet) if len(seen) == 1 else []

    monkeypatch.setattr(SubtitleConverter, "convert", first_line_only)
    with pytest.raises(VideoError, match=r"subtitle stream 0 converted into the mp4 file does not show the input's lines from 0.700 s on"):
        repair_video(source, tmp_path / "out.mp4", checkpoint=model, threshold=0.3, progress=False)
    assert not (tmp_path / "out.mp4").exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_lines_that_overlap_are_shown_together_in_timed_text(tmp_path, model):
    """Timed text shows one sample at a time: the MP4 muxer moved a line that starts before the
    one on screen ends (0.5 s) to that one's end (0.9 s). The converter cuts the timeline where a
    line starts or ends and shows both lines together where they overlap; the verification
    compares what is on screen at every moment."""
    from test_videoio import with_subtitles

    overlapping = "1\n00:00:00,200 --> 00:00:00,900\nFirst\n\n2\n00:00:00,500 --> 00:00:01,100\nSecond\n\n"
    source = with_subtitles(write_video(tmp_path / "plain.mkv", frames(), 10), tmp_path / "overlap.mkv", overlapping)
    report = repair_video(source, tmp_path / "out.mp4", checkpoint=model, threshold=0.3, progress=False)
    assert report["verification"]["subtitle_streams_converted"] == 1
    pieces = [(round(a, 3), round(d, 3), w) for a, d, w in subtitle_events(tmp_path / "out.mp4", 0)]
    assert pieces == [(0.2, 0.3, "First"), (0.5, 0.4, "First\nSecond"), (0.9, 0.2, "Second")]
    expected = [(0.2, 0.5, ("First",)), (0.5, 0.9, ("First", "Second")), (0.9, 1.1, ("Second",))]
    assert on_screen(subtitle_events(source, 0)) == on_screen(subtitle_events(tmp_path / "out.mp4", 0)) == expected


def test_a_damaged_subtitle_packet_is_left_out_not_fatal(tmp_path, model):
    """A SubRip packet that is not UTF-8 makes FFmpeg's decoder fail; that line is left out of the
    conversion and of its check, and the repair goes on (it stopped after all the work before)."""
    source = srt_clip(tmp_path)
    damaged = tmp_path / "damaged.mkv"
    with av.open(str(source)) as inner, av.open(str(damaged), "w") as outer:
        copies = {s.index: outer.add_stream_from_template(s) for s in inner.streams}
        subtitle = inner.streams.subtitles[0]
        for packet in inner.demux():
            if not packet.size:
                continue
            if packet.stream.type == "subtitle" and packet.pts == 700:  # a damaged line before the second one
                broken = av.Packet(b"\xff\xfe\xfa broken")
                broken.pts, broken.dts, broken.duration, broken.time_base = 650, 650, 40, packet.time_base
                broken.stream = copies[subtitle.index]
                outer.mux(broken)
            packet.stream = copies[packet.stream.index]
            outer.mux(packet)
    report = repair_video(damaged, tmp_path / "out.mp4", checkpoint=model, threshold=0.3, progress=False)
    assert report["verification"]["subtitle_streams_converted"] == 1
    assert [w for *_, w in subtitle_events(tmp_path / "out.mp4", 0)] == [w for *_, w in WORDS]
