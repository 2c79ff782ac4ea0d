"""Tags, dispositions and chapters: a repaired or up-converted file keeps the input's title, date,
place and comment, its chapters, and each stream's language, name, timecode and disposition,
where the container has a place for them, and names what it could not keep (nlvfi.tags).

Before, every one was dropped: a phone clip came back without its date and place, and a
Japanese audio track came back as "und".
"""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nlvfi.checkpoint import load_generator
from nlvfi.interpolate import interpolate_video
from nlvfi.repair import repair_video, summary_text
from nlvfi.tags import carried_metadata
from nlvfi.videoio import write_video

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

FILE_TAGS = {"title": "Holiday", "creation_time": "2024-07-01T10:00:00.000000Z", "location": "+48.8584+002.2945/", "comment": "first day"}


def clip(n: int = 8, duplicate: int = 4) -> list[np.ndarray]:
    """(48, 64, 3) frames of a bar moving 4 px a frame; frame ``duplicate`` copies the one before."""
    frames = []
    for k in range(n):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[10:30, 4 * k : 4 * k + 12] = (220, 180, 60)
        frames.append(image)
    frames[duplicate] = frames[duplicate - 1]
    return frames


def tagged_input(folder: Path, name: str = "tagged.mp4", audio_codec: str = "aac") -> Path:
    """A clip with two audio tracks, remuxed with FILE_TAGS, a language and name per track, and the
    second track marked a commentary."""
    tone = ((np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)[None], 8000)
    plain = write_video(folder / f"plain-{name}", clip(), 10, codec="libx264", pix_fmt="yuv420p", audio=tone, audio_codec=audio_codec)
    with av.open(str(plain)) as source, av.open(str(folder / name), "w") as target:
        target.metadata.update(FILE_TAGS)
        streams = {s.index: target.add_stream_from_template(s) for s in source.streams}
        second = target.add_stream_from_template(source.streams.audio[0])
        streams[0].metadata["language"] = "fra"
        streams[1].metadata.update(language="jpn", handler_name="Camera audio")
        second.metadata.update(language="eng", handler_name="Commentary")
        streams[1].disposition = av.stream.Disposition.default
        second.disposition = av.stream.Disposition.comment
        for packet in source.demux():
            if packet.size:
                copies = [streams[packet.stream.index]] + ([second] if packet.stream.type == "audio" else [])
                for copy in copies:
                    packet.stream = copy
                    target.mux(packet)
    return folder / name


def tags_of(path: Path) -> tuple[dict, list[tuple[str, str, str, int]]]:
    """The file's tags (names lowercased), and each stream's (type, language, name, disposition)."""
    with av.open(str(path)) as container:
        streams = [
            (s.type, s.metadata.get("language"), {k.lower(): v for k, v in s.metadata.items()}.get("handler_name"), int(s.disposition))
            for s in container.streams
        ]
        return {k.lower(): v for k, v in container.metadata.items()}, streams


def test_carried_metadata_leaves_out_what_a_muxer_writes_about_itself():
    tags = {
        "major_brand": "isom", "encoder": "Lavf62", "ENCODER": "x", "DURATION": "00:00:01.0", "BPS-eng": "900",
        "_STATISTICS_TAGS-eng": "BPS", "title": "A", "location": "+1+2/", "location-eng": "+1+2/", "language": "und", "handler_name": "SoundHandler",
    }
    assert carried_metadata(tags) == {"title": "A", "location": "+1+2/"}
    assert carried_metadata({"LANGUAGE-fre": "x", "handler_name": "Camera audio"}) == {"LANGUAGE-fre": "x", "handler_name": "Camera audio"}


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov"])
def test_repair_keeps_the_tags_languages_and_dispositions(tmp_path, model, ext):
    source = tagged_input(tmp_path)
    out = tmp_path / f"out{ext}"
    report = repair_video(source, out, checkpoint=model, threshold=0.3, progress=False)
    assert report["frames_replaced"] == 1
    # the file's 4, each stream's creation_time and language, the audio tracks' names (the video's
    # is FFmpeg's "VideoHandler"); MOV stores no commentary flag
    lost = ["audio 2: disposition comment (written as none)"] if ext == ".mov" else []
    assert report["metadata"] == {"tags": 4 + 3 * 2 + 2, "chapters": 0, "not_kept": lost}
    file_tags, streams = tags_of(out)
    assert {k: file_tags.get(k) for k in FILE_TAGS} == FILE_TAGS
    expected = [("video", "fra", 1), ("audio", "jpn", 1), ("audio", "eng", 0 if ext == ".mov" else 0x8)]  # default, default, comment
    assert [(kind, language, disposition) for kind, language, _, disposition in streams] == expected
    assert [name for *_, name, _ in streams][1:] == ["Camera audio", "Commentary"]
    assert ("Tags not kept" in summary_text(report)) == bool(lost)


def test_what_a_container_cannot_hold_is_named(tmp_path, model):
    source = tagged_input(tmp_path, "tagged.mkv", audio_codec="pcm_s16le")
    report = repair_video(source, tmp_path / "out.avi", checkpoint=model, threshold=0.3, progress=False)
    file_tags, _ = tags_of(tmp_path / "out.avi")
    assert file_tags["title"] == "Holiday"  # AVI's INFO list has a title (INAM)
    assert "location" in report["metadata"]["not_kept"] and "audio 1: language" in report["metadata"]["not_kept"]
    assert "Tags not kept (the .avi container has no place for them): " in summary_text(report)


def test_up_conversion_keeps_the_tags(tmp_path, model):
    source = tagged_input(tmp_path)
    summary = interpolate_video(source, tmp_path / "x2.mkv", load_generator(model), factor=2, progress=False)
    assert summary["metadata"]["not_kept"] == []
    file_tags, streams = tags_of(tmp_path / "x2.mkv")
    assert file_tags["location"] == FILE_TAGS["location"] and [s[1] for s in streams] == ["fra", "jpn", "eng"]


def test_a_camera_timecode_comes_through(tmp_path, model):
    """A MOV's timecode track (a camera's, 10:00:00:00 at the first frame) is written anew from the
    video's timecode tag in MOV / MP4, kept as a tag in Matroska, and named where AVI has no place."""
    images = clip()
    with av.open(str(tmp_path / "camera.mov"), "w") as target:
        stream = target.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.metadata["timecode"] = "10:00:00:00"  # the MOV muxer adds the timecode track
        for k, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    source = tmp_path / "camera.mov"
    with av.open(str(source)) as container:
        assert [s.type for s in container.streams] == ["video", "data"]
        timecode = container.streams.video[0].metadata["timecode"]  # "10:00:00:0": at 10 frames/s FFmpeg writes one frame digit
    for ext in (".mov", ".mp4", ".mkv"):
        report = repair_video(source, tmp_path / f"out{ext}", checkpoint=model, threshold=0.3, progress=False)
        assert report["streams_not_copied"] == [] and report["metadata"]["not_kept"] == []
        with av.open(str(tmp_path / f"out{ext}")) as written:
            tags = {k.lower(): v for k, v in written.streams.video[0].metadata.items()}
            assert tags["timecode"] == timecode
            assert [s.type for s in written.streams] == (["video"] if ext == ".mkv" else ["video", "data"])
    avi = repair_video(source, tmp_path / "out.avi", checkpoint=model, threshold=0.3, progress=False)
    assert avi["metadata"]["not_kept"] == ["video 0: timecode"]


def test_chapters_come_through_and_are_named_where_avi_has_none(tmp_path, model):
    plain = write_video(tmp_path / "plain.mkv", clip(12, duplicate=6), 10)
    source = tmp_path / "chapters.mkv"
    chapters = [(0, 500, "Intro"), (500, 1200, "Main")]  # ms
    with av.open(str(plain)) as inner, av.open(str(source), "w") as outer:
        copies = {s.index: outer.add_stream_from_template(s) for s in inner.streams}
        outer.set_chapters([
            {"id": n + 1, "start": a, "end": b, "time_base": Fraction(1, 1000), "metadata": {"title": title}}
            for n, (a, b, title) in enumerate(chapters)
        ])
        for packet in inner.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                outer.mux(packet)
    for ext in (".mkv", ".mp4"):
        report = repair_video(source, tmp_path / f"out{ext}", checkpoint=model, threshold=0.3, progress=False)
        assert report["frames_replaced"] == 1 and report["metadata"] == {"tags": 0, "chapters": 2, "not_kept": []}
        with av.open(str(tmp_path / f"out{ext}")) as written:
            assert [
                (round(float(c["start"] * c["time_base"]) * 1000), round(float(c["end"] * c["time_base"]) * 1000), c["metadata"]["title"])
                for c in written.chapters()
            ] == chapters
    avi = repair_video(source, tmp_path / "out.avi", checkpoint=model, threshold=0.3, progress=False)
    assert avi["metadata"]["not_kept"] == ["chapters (2 in the input, 0 kept as they were)"]
