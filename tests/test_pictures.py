"""Cover art (nlvfi.pictures): an MP4's marked picture or a Matroska cover.jpg comes through a
repair byte for byte, into .mp4 as a picture stream and into .mkv as an attachment; where the
container has no place for it, the report says so."""

import io

import av
import numpy as np
import pytest
from PIL import Image
from test_repair import scene, stutter

from nlvfi.interpolate import main as interpolate_main
from nlvfi.pictures import attached_pictures, picture_digests, picture_place, with_picture
from nlvfi.repair import repair_video, summary_text
from nlvfi.verification import verify_output
from nlvfi.videoio import VideoError, probe, write_video


def image_bytes(kind: str, seed: int = 0) -> bytes:
    """A 40x30 noise picture as a JPEG or PNG file's bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture
def stuttered(tmp_path):
    return write_video(tmp_path / "v.mp4", stutter(scene(12), [6]), 10, codec="libx264", pix_fmt="yuv420p", options={"crf": "18"})


def test_pictures_are_read_with_their_bytes_and_names(tmp_path, stuttered):
    jpeg, png = image_bytes("JPEG"), image_bytes("PNG")
    for path, data, codec, name in [
        (with_picture(stuttered, tmp_path / "a.mp4", jpeg), jpeg, "mjpeg", "cover.jpg"),
        (with_picture(stuttered, tmp_path / "b.mkv", png), png, "png", "cover.png"),  # its own name
    ]:
        with av.open(str(path)) as container:
            (picture,) = attached_pictures(container)
            assert (picture.codec, picture.data, picture.name, picture.label) == (codec, data, name, f"video ({codec}, attached picture)")
        assert picture_digests(path) == [picture.sha1]
        assert probe(path).streams_not_copied == []  # the writer names it where it cannot keep it
    assert picture_digests(stuttered) == []
    assert picture_place("mp4", picture) is None and picture_place("matroska", picture) is None
    assert "drops attached pictures" in picture_place("mov", picture)
    assert picture_place("avi", picture) == "the avi container has no place for an attached picture"


@pytest.mark.parametrize("suffix, copied", [(".mp4", "video (mjpeg, attached picture)"), (".mkv", "video (mjpeg, attached picture) as attachment cover.jpg")])
def test_an_mp4_cover_comes_through_a_repair_byte_for_byte(tmp_path, model, stuttered, suffix, copied):
    jpeg = image_bytes("JPEG")
    source = with_picture(stuttered, tmp_path / "in.mp4", jpeg)
    out = tmp_path / f"out{suffix}"
    report = repair_video(source, out, checkpoint=model, progress=False)
    assert report["frames_replaced"] == 1 and report["pictures_copied"] == [copied] and report["streams_not_copied"] == []
    with av.open(str(out)) as written:
        (picture,) = attached_pictures(written)
        assert picture.data == jpeg
        assert sum(not s.disposition & av.stream.Disposition.attached_pic for s in written.streams.video) == 1
    assert report["metadata"]["not_kept"] == []  # the main video's flags compared among real video streams only
    assert "and the cover art (1 attached picture(s), byte for byte)" in summary_text(report)


@pytest.mark.parametrize("suffix, why", [(".mov", "the mov muxer drops attached pictures"), (".avi", "the avi container has no place")])
def test_where_a_cover_has_no_place_the_report_says_so(tmp_path, model, stuttered, suffix, why):
    source = with_picture(stuttered, tmp_path / "in.mp4", image_bytes("JPEG"))
    report = repair_video(source, tmp_path / f"out{suffix}", checkpoint=model, progress=False)
    assert report["pictures_copied"] == [] and len(report["streams_not_copied"]) == 1
    assert report["streams_not_copied"][0].startswith("video (mjpeg, attached picture): " + why)
    assert picture_digests(tmp_path / f"out{suffix}") == []


def test_a_matroska_cover_goes_into_mp4_as_a_picture_stream_and_an_up_conversion_keeps_it(tmp_path, model, stuttered, capsys):
    png = image_bytes("PNG", seed=1)
    source = with_picture(stuttered, tmp_path / "in.mkv", png)
    report = repair_video(source, tmp_path / "out.mp4", checkpoint=model, progress=False)
    assert report["pictures_copied"] == ["video (png, attached picture)"]
    assert picture_digests(tmp_path / "out.mp4") == picture_digests(source)
    assert interpolate_main([str(source), "-o", str(tmp_path / "x2.mkv"), "--checkpoint", str(model), "--quiet"]) == 0
    assert "cover art copied (video (png, attached picture) as attachment cover.png)" in capsys.readouterr().out
    assert picture_digests(tmp_path / "x2.mkv") == picture_digests(source)


def test_verification_refuses_an_output_whose_cover_changed(tmp_path, stuttered):
    jpeg = image_bytes("JPEG")
    source = with_picture(stuttered, tmp_path / "in.mp4", jpeg)
    other = with_picture(stuttered, tmp_path / "other.mp4", image_bytes("JPEG", seed=2))
    traits = probe(source).traits
    with pytest.raises(VideoError, match="does not hold the input's attached pictures"):
        verify_output(source, other, traits, lossless=False, pictures=picture_digests(source))
    assert verify_output(source, source, traits, lossless=False, pictures=picture_digests(source))["frames"] == 12
