"""Colour tags (matrix, primaries, transfer, range): the output keeps the input's, and a frame the
model made is converted to Y'CbCr the way the frames around it were (nlvfi.colour).

Before, a BT.709 clip came out untagged and each generated frame was converted with BT.601
between BT.709 neighbours: the saturated patches below came back several grey levels off.
"""

import json

import av
import numpy as np
import pytest

from nlvfi.checkpoint import load_generator
from nlvfi.colour import ColourTags, HdrMetadata, output_colour
from nlvfi.interpolate import interpolate_video
from nlvfi.repair import repair_video, summary_text
from nlvfi.videoio import (
    VideoReader,
    VideoWriter,
    container_for,
    first_frame,
    frame_to_rgb,
    pixel_traits,
    probe,
    rgb_to_frame,
    write_video,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

BT709 = ColourTags(1, 1, 1, 1)
H, W = 48, 64


def patches(shift: int = 0, deep: bool = False) -> np.ndarray:
    """(H, W, 3) saturated colour patches, 16x16 each (chroma is flat in every 2x2 block),
    moved ``shift`` patches to the right; uint16 when ``deep``."""
    colours = np.array(
        [[230, 30, 20], [20, 200, 40], [30, 40, 220], [240, 220, 30], [200, 30, 200], [20, 210, 220], [128, 128, 128], [250, 250, 250],
         [10, 10, 10], [180, 90, 30], [90, 30, 120], [30, 120, 90]],
        dtype=np.float64,
    )
    tiles = np.roll(np.arange(12), shift).reshape(3, 4)
    image = colours[tiles].repeat(16, axis=0).repeat(16, axis=1)  # (H, W, 3)
    return (image * 257).astype(np.uint16) if deep else image.astype(np.uint8)


def patch_means(rgb: np.ndarray) -> np.ndarray:
    """(12, 3) mean colour of each patch's inside (its 2-px rim left out: coding noise at edges)."""
    tiles = rgb.reshape(3, 16, 4, 16, 3)[:, 2:14, :, 2:14]  # (3, 12, 4, 12, 3)
    return tiles.mean(axis=(1, 3)).reshape(12, 3)


def tagged_clip(path, pix_fmt: str, tags: ColourTags, codec: str, n: int = 6, duplicate: int | None = 3, options=None, zoom: int = 1):
    """A clip of moving patches in ``pix_fmt``, converted with ``tags``' matrix and range and
    tagged with them, ``zoom`` times the size; frame ``duplicate`` copies the one before."""
    images = [patches(i, deep="10" in pix_fmt).repeat(zoom, axis=0).repeat(zoom, axis=1) for i in range(n)]
    if duplicate is not None:
        images[duplicate] = images[duplicate - 1]
    return write_video(path, images, 10, codec=codec, pix_fmt=pix_fmt, options=options, colour=tags)


def test_output_colour_keeps_what_the_samples_mean():
    assert output_colour(BT709, "yuv420p", "yuv420p") == BT709
    assert output_colour(ColourTags(9, 9, 16, 2), "yuv420p10le", "yuv444p10le") == ColourTags(9, 9, 16, 2)
    assert output_colour(ColourTags(), "yuv420p", "yuv420p") == ColourTags()  # untagged stays untagged
    assert output_colour(ColourTags(2, 2, 2, 2), "yuvj420p", "yuvj420p").range == 2
    assert output_colour(ColourTags(2, 2, 2, 2), "yuvj422p", "yuv420p").range == 1  # converted to limited
    assert output_colour(BT709, "yuv422p", "yuvj422p") == ColourTags(1, 1, 1, 2)
    assert output_colour(ColourTags(), "rgb24", "yuv420p") == ColourTags(6, 2, 2, 1)  # what swscale does, tagged
    assert output_colour(BT709, "yuv420p", "bgr0").matrix == 0
    assert output_colour(ColourTags(2, 1, 13, 0), "rgb24", "bgr0") == ColourTags(2, 1, 13, 0)
    assert BT709.describe() == "bt709 matrix, bt709 primaries, bt709 transfer, limited range"


@pytest.mark.parametrize(
    "pix_fmt, tags, codec, output, crf",
    [
        ("yuv420p", BT709, "libx264", "out.mkv", 4),
        ("yuv420p", ColourTags(1, 1, 1, 2), "libx264", "out.mp4", 4),  # BT.709, full range
        ("yuv420p10le", ColourTags(9, 9, 16, 1), "ffv1", "out.mkv", None),  # BT.2020 PQ, lossless
        ("yuvj422p", ColourTags(5, 2, 2, 2), "mjpeg", "out.mov", 4),  # JPEG: BT.601, full range
        ("yuv422p", BT709, "libx264", "out.avi", None),  # -> Motion JPEG, BT.601 full range; AVI keeps no primaries
        ("yuv444p", ColourTags(5, 5, 6, 1), "libx264", "out.webm", 4),  # BT.601 625, VP9
    ],
)
def test_a_generated_frame_has_its_neighbours_colours(tmp_path, pix_fmt, tags, codec, output, crf):
    """A generated frame equal to its neighbour (in RGB, as the model sees it) decodes to that
    neighbour's colours, and the written stream says how to show them."""
    source = tagged_clip(tmp_path / "in.mkv", pix_fmt, tags, codec, n=2, duplicate=None, options={"q:v": "2"} if codec == "mjpeg" else {"crf": "4"} if crf else None)
    info = probe(source)
    assert info.colour == tags
    with VideoReader(source) as reader:
        first, second = list(reader)
        writer = VideoWriter(tmp_path / output, container_for(output), info, crf=crf)
        writer.write(first.frame, first.pts)
        writer.write(writer.frame_from_rgb(frame_to_rgb(first.frame, info.traits)), second.pts)  # (H, W, 3) made -> written
        writer.close()
    expected = output_colour(ColourTags.of(first.frame), pix_fmt, writer.choice.pix_fmt, writer.choice.codec)
    assert writer.colour == expected
    with VideoReader(tmp_path / output) as reader:
        kept, made = [frame_to_rgb(item.frame, reader.info.traits).astype(np.float64) for item in reader]
    scale = 257 if kept.max() > 255 else 1
    # grey levels: the conversions' rounding and the encoder's noise, no hue shift (10 or more before)
    assert np.abs(patch_means(made) - patch_means(kept)).max() / scale <= 3.0
    if output == "out.avi":  # Motion JPEG says BT.601, full range, in any container; AVI stores no primaries
        assert probe(tmp_path / output).colour == ColourTags(5, 2, 2, 2) != expected
    else:
        assert probe(tmp_path / output).colour == expected


def test_the_old_conversion_shifts_the_hue_of_a_bt709_frame():
    """What the test above guards against: BT.601 (swscale's default) for a BT.709 stream."""
    rgb = patches()
    frame = rgb_to_frame(rgb, "yuv420p", colour=BT709)
    old = rgb_to_frame(rgb, "yuv420p")
    BT709.apply(old)  # shown as the stream says
    right = frame_to_rgb(frame, pixel_traits("yuv420p")).astype(int)
    wrong = frame_to_rgb(old, pixel_traits("yuv420p")).astype(int)
    assert np.abs(right - rgb).max() <= 1
    assert np.abs(wrong - rgb).max() >= 10


def test_repair_keeps_the_tags_and_says_where_a_container_loses_them(tmp_path, model):
    source = tagged_clip(tmp_path / "in.mkv", "yuv420p", BT709, "libx264", n=8, duplicate=4, options={"crf": "10"})
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, threshold=0.3, progress=False)
    assert report["frames_replaced"] == 1
    assert report["colour"] == {"input": BT709.as_dict(), "output": BT709.as_dict(), "kept": True}
    assert probe(tmp_path / "out.mkv").colour == BT709
    with VideoReader(tmp_path / "out.mkv") as reader:
        assert all(ColourTags.of(item.frame) == BT709 for item in reader)
    assert "Colour tags" not in summary_text(report)
    json.dumps({k: v for k, v in report.items() if not k.startswith("_")})

    avi = repair_video(source, tmp_path / "out.avi", checkpoint=model, threshold=0.3, progress=False)
    assert avi["colour"]["kept"] is False and avi["colour"]["output"]["matrix"] == "unspecified"
    assert (
        "Colour tags not kept: the avi file (mpeg4) says unspecified matrix, unspecified primaries, unspecified transfer where "
        "its frames are bt709 matrix, bt709 primaries, bt709 transfer, so players may show other colours"
    ) in summary_text(avi)


def test_up_conversion_keeps_the_tags(tmp_path, model):
    source = tagged_clip(tmp_path / "in.mkv", "yuv420p10le", ColourTags(9, 9, 16, 1), "ffv1", n=3, duplicate=None)
    summary = interpolate_video(source, tmp_path / "up.mkv", load_generator(model), factor=2, progress=False)
    assert summary["colour"]["kept"] is True
    with VideoReader(tmp_path / "up.mkv") as reader:
        assert [ColourTags.of(item.frame) for item in reader] == [ColourTags(9, 9, 16, 1)] * 5
    untagged = write_video(tmp_path / "plain.mkv", [patches(i) for i in range(3)], 10)
    assert interpolate_video(untagged, tmp_path / "plain-up.mkv", load_generator(model), factor=2, progress=False)["colour"]["kept"]


HDR10 = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400"


def test_hdr10_metadata_goes_through_x265_and_is_named_where_lost(tmp_path, model):
    """A PQ clip's mastering display and light levels (what a TV tone-maps with) come through the
    10-bit default, x265, and SVT-AV1, .webm's; an MP4 or MOV holds them for any other codec; H.264
    in .mkv cannot carry them, and the summary says so."""
    pq = ColourTags(9, 9, 16, 1)  # BT.2020, PQ
    source = tagged_clip(
        tmp_path / "hdr.mkv", "yuv420p10le", pq, "libx265", n=8, duplicate=4,
        options={"crf": "10", "x265-params": f"log-level=error:{HDR10}"}, zoom=2,
    )  # 96x128: x265 takes 64 px and more
    hdr = HdrMetadata.of(first_frame(source))
    assert hdr == HdrMetadata((34000, 16000, 13250, 34500, 7500, 3000), (15635, 16450), (50, 10000000), (1000, 400))
    assert hdr.x265_params() == HDR10
    for ext in (".mkv", ".mp4"):
        report = repair_video(source, tmp_path / f"out{ext}", checkpoint=model, threshold=0.3, progress=False)
        assert report["encoder"]["codec"] == "libx265" and report["frames_replaced"] == 1
        assert report["colour"]["kept"] and report["colour"]["hdr_metadata"] == {"input": hdr.describe(), "kept": True}
        assert report["encoder"]["options"]["x265-params"] == f"log-level=error:{hdr.x265_params()}"  # what x265 was given
        assert HdrMetadata.of(first_frame(tmp_path / f"out{ext}")) == hdr
    webm = repair_video(source, tmp_path / "out.webm", checkpoint=model, threshold=0.3, progress=False)  # before: lost
    assert webm["encoder"]["codec"] == "libsvtav1" and webm["colour"]["hdr_metadata"] == {"input": hdr.describe(), "kept": True}
    assert webm["encoder"]["options"]["svtav1-params"].endswith(f":{hdr.svtav1_params()}")
    assert HdrMetadata.of(first_frame(tmp_path / "out.webm")) == hdr  # AV1's metadata units hold HEVC's values
    for codec, ext in (("libx264", "mp4"), ("prores_ks", "mov")):  # codecs with no place for it: the file's 'mdcv' and 'clli' boxes
        written = repair_video(source, tmp_path / f"{codec}.{ext}", checkpoint=model, threshold=0.3, codec=codec, progress=False)
        assert written["colour"]["hdr_metadata"] == {"input": hdr.describe(), "kept": True}  # before: lost
        assert HdrMetadata.of(first_frame(tmp_path / f"{codec}.{ext}")) == hdr
        data = (tmp_path / f"{codec}.{ext}").read_bytes()
        assert data.index(b"mdat") < data.index(b"moov") < data.index(b"mdcv") < data.index(b"clli")
    h264 = repair_video(source, tmp_path / "h264.mkv", checkpoint=model, threshold=0.3, codec="libx264", progress=False)
    assert h264["colour"]["hdr_metadata"]["kept"] is False
    assert "the HDR10 metadata (mastered at 1000 cd/m², MaxCLL 1000, MaxFALL 400): libx264 does not write it, libx265" in summary_text(h264)


@pytest.mark.parametrize(
    "hdr",
    [
        HdrMetadata((35400, 14600, 8500, 39850, 6550, 2300), (15635, 16450), (1, 40000000), (4000, 1000)),  # DCI-P3, 4000 cd/m²
        HdrMetadata((34000, 16000, 13250, 34500, 7500, 3000), (15635, 16450), (5, 6000000), None),  # no light levels
        HdrMetadata((33999, 16001, 13251, 34499, 7501, 2999), (15634, 16451), (123, 12345678), (65535, 65535)),  # odd values
    ],
)
def test_svt_av1_writes_hdr10_metadata_that_reads_back_on_its_grid(tmp_path, hdr):
    with av.open(str(tmp_path / "a.webm"), "w") as container:
        stream = container.add_stream("libsvtav1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p10le"
        stream.options = {"svtav1-params": f"preset=8:{hdr.svtav1_params()}", "crf": "40"}
        for index in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 40 * index, np.uint8), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    back = HdrMetadata.of(first_frame(tmp_path / "a.webm"))
    assert back == hdr.on_av1_grid()  # chromaticities exact; 1234.5678 cd/m² comes back 1234.5664 (1/256 steps)
    assert (back == hdr) is (hdr.luminance[1] % 10000 == 0)


def test_hdr10_with_sound_goes_through(tmp_path, model):
    """Sound whose first packets come before the first decoded frame: the writer used to mux them
    first, which opened x265 before the first frame could give it the HDR10 metadata, and the
    repair stopped with a KeyError after the whole first pass."""
    images = [patches(i, deep=True).repeat(2, axis=0).repeat(2, axis=1) for i in range(8)]
    images[4] = images[3]
    sound = ((np.sin(np.arange(48000) / 5) * 8000).astype(np.int16)[None], 48000)
    source = write_video(
        tmp_path / "hdr.mkv", images, 10, codec="libx265", pix_fmt="yuv420p10le", colour=ColourTags(9, 9, 16, 1),
        options={"crf": "10", "x265-params": f"log-level=error:{HDR10}"}, audio=sound, audio_codec="aac",
    )  # fmt: skip
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, threshold=0.3, progress=False)
    assert report["frames_replaced"] == 1 and report["audio_streams_copied"] == 1
    assert report["colour"]["hdr_metadata"]["kept"] and HdrMetadata.of(first_frame(tmp_path / "out.mkv")) == HdrMetadata.of(first_frame(source))
