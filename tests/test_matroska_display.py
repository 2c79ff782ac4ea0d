"""The display size written into a finished Matroska / WebM file (nlvfi.matroska_display): FFV1,
VP9 and AV1 have no field for a pixel aspect, and the muxer reads it from one PyAV does not set."""

import shutil
import zlib
from fractions import Fraction

import av
import numpy as np
import pytest

from nlvfi.matroska_display import (
    CLUSTER, CRC_32, SEEK, SEEK_HEAD, SEEK_POSITION, VOID, children, element_at, write_display_size,
)  # fmt: skip
from nlvfi.videoio import probe, read_video_rgb, write_video

W, H = 64, 48


def frames(n=4):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def muxed_square(path, codec="ffv1", pix_fmt="bgr0", pixel_aspect=Fraction(16, 15), audio=False):
    """A file as the tools' writer left it before: the pixel aspect given to the encoder only."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.codec_context.sample_aspect_ratio = pixel_aspect
        sound = container.add_stream("flac", rate=8000, layout="mono") if audio else None
        for i, image in enumerate(frames()):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            tone = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.int16), format="s16", layout="mono")
            tone.sample_rate, tone.pts = 8000, 0
            for packet in [*sound.encode(tone), *sound.encode()]:
                container.mux(packet)
    return path


def level1(data):
    """The Segment's level-1 elements (the EBML header, then one Segment)."""
    segment = element_at(data, element_at(data, 0).end)
    return segment, children(data, segment)


def check_structure(data):
    """Every SeekHead position names the element there; every CRC-32 holds."""
    segment, elements = level1(data)
    for element in elements:
        inside = children(data, element) if element.id not in (CLUSTER, VOID) else []
        if inside and inside[0].id == CRC_32:
            assert data[inside[0].data_start : inside[0].end] == zlib.crc32(data[inside[0].end : element.end]).to_bytes(4, "little")
        if element.id == SEEK_HEAD:
            for seek in (s for s in inside if s.id == SEEK):
                seek_id, position = children(data, seek)
                assert position.id == SEEK_POSITION
                at = segment.data_start + int.from_bytes(data[position.data_start : position.end], "big")
                assert data[at : at + seek_id.size] == data[seek_id.data_start : seek_id.end]


def first_cluster(data):
    return next(e.start for e in level1(data)[1] if e.id == CLUSTER)


@pytest.mark.parametrize("audio", [False, True])
def test_an_ffv1_mkv_of_pal_dv_pixels_is_shown_in_its_shape_and_nothing_else_moves(tmp_path, audio):
    before = muxed_square(tmp_path / "square.mkv", audio=audio)
    assert probe(before).pixel_aspect is None  # what the writer left: DisplayUnit 4, "unknown"
    after = tmp_path / "shaped.mkv"
    shutil.copyfile(before, after)
    assert write_display_size(after, W, H, Fraction(16, 15))
    info = probe(after)
    assert info.pixel_aspect == Fraction(16, 15) and info.display_aspect == Fraction(16 * W, 15 * H)
    old, new = before.read_bytes(), after.read_bytes()
    assert len(new) == len(old) and first_cluster(new) == first_cluster(old)
    assert new[first_cluster(old) :] == old[first_cluster(old) :]  # every cluster, cue and tag where it was
    check_structure(new)
    assert all(np.array_equal(a, b) for a, b in zip(read_video_rgb(before)[0], read_video_rgb(after)[0], strict=True))
    if audio:
        with av.open(str(after)) as container:
            assert sum(f.samples for f in container.decode(audio=0)) == 4000
    assert write_display_size(after, W, H, Fraction(8, 9))  # written again: the old display size replaced
    assert probe(after).pixel_aspect == Fraction(8, 9)
    check_structure(after.read_bytes())


def test_webm_holds_whole_pixels_rounded_as_ffmpeg_rounds_them(tmp_path):
    path = muxed_square(tmp_path / "vp9.webm", codec="libvpx-vp9", pix_fmt="yuv420p", pixel_aspect=Fraction(10, 11))
    assert write_display_size(path, W, H, Fraction(10, 11))
    assert probe(path).pixel_aspect == Fraction(58, W)  # 64 x 10/11 = 58.2: WebM has no aspect-ratio unit
    check_structure(path.read_bytes())


def test_a_header_without_room_is_left_as_it_was(tmp_path):
    path = muxed_square(tmp_path / "square.mkv")
    data = bytearray(path.read_bytes())
    void = next(e for e in level1(bytes(data))[1] if e.id == VOID)
    data[void.start] = 0xEB  # an element players skip, but no Void to give bytes
    path.write_bytes(bytes(data))
    assert not write_display_size(path, W, H, Fraction(16, 15))
    assert path.read_bytes() == bytes(data)
    assert not write_display_size(path, W + 2, H, Fraction(16, 15))  # no video track of that size
    assert not write_display_size(tmp_path / "missing.mkv", W, H, Fraction(16, 15))


def test_write_video_and_the_tools_writer_give_mkv_and_webm_their_shape(tmp_path):
    for name, codec, pix_fmt in (("ffv1.mkv", "ffv1", "bgr0"), ("x264.mkv", "libx264", "yuv420p"), ("vp9.webm", "libvpx-vp9", "yuv420p")):
        path = write_video(tmp_path / name, frames(), 10, codec=codec, pix_fmt=pix_fmt, pixel_aspect=Fraction(32, 27))
        assert probe(path).pixel_aspect == (Fraction(76, W) if name.endswith("webm") else Fraction(32, 27))
        check_structure(path.read_bytes())


def test_a_repair_into_mkv_with_sound_subtitles_a_font_and_chapters_keeps_its_shape_and_all_of_them(tmp_path, model):
    from test_repair import scene, stutter, tone
    from test_videoio import with_subtitles

    from nlvfi.repair import repair_video

    plain = with_subtitles(write_video(tmp_path / "v.mkv", stutter(scene(12), [6]), 10, audio=tone()), tmp_path / "plain.mkv")
    source = tmp_path / "in.mkv"
    with av.open(str(plain)) as inner, av.open(str(source), "w") as outer:  # a SeekHead of six entries
        copies = {s.index: outer.add_stream_from_template(s) for s in inner.streams}
        outer.add_attachment("font.ttf", "application/x-truetype-font", bytes(range(256)) * 40)
        outer.set_chapters([{"id": 1, "start": 0, "end": 500, "time_base": Fraction(1, 1000), "metadata": {"title": "A"}}])
        for packet in inner.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                outer.mux(packet)
    width, height = probe(source).width, probe(source).height
    assert write_display_size(source, width, height, Fraction(16, 15))  # an anamorphic input (PyAV's remux had lost it)
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False, threshold=0.3)
    assert [r["frame"] for r in report["replaced"]] == [6] and report["pixel_aspect"]["kept"]
    assert report["attachments_copied"] == ["font.ttf"] and report["subtitle_streams_copied"] == 1
    check_structure((tmp_path / "out.mkv").read_bytes())
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert [s.type for s in container.streams] == ["video", "audio", "subtitle", "attachment"] and len(container.chapters()) == 1
