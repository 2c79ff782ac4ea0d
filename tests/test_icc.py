"""nlvfi.icc, nlvfi.png_chunks: the input's ICC profile is named in the report, carried into a PNG
image sequence, and said not kept where the output has no place for it.

Before, a repaired PNG sequence whose images carried an ICC profile (a macOS screenshot's Display
P3) came back without one, and nothing said so."""

import struct

import av
import numpy as np
import pytest
from PIL import Image, ImageCms

from nlvfi import cli
from nlvfi.icc import icc_profile, profile_description
from nlvfi.png_chunks import chunk, iccp_profile, png_chunks, with_icc_profile
from nlvfi.repair import repair_video, summary_text
from nlvfi.tiff_tags import tiff_icc, with_tiff_icc

from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def profiled_sequence(folder, profiles: list[bytes]):
    """Numbered PNG images of a sliding pattern with a copy at frame 5, image i carrying ``profiles[i % len]``."""
    folder.mkdir()
    for index, frame in enumerate(stutter(scene(10, 48, 64), [5])):
        Image.fromarray(frame).save(folder / f"f_{index:03d}.png", icc_profile=profiles[index % len(profiles)])
    return str(folder / "f_%03d.png")


def v4_profile(name: str) -> bytes:
    """A minimal ICC v4 profile whose one tag is a localised (mluc) description."""
    text = name.encode("utf-16-be")
    tag = b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(text), 28) + text  # one record
    header = bytearray(128)
    header[36:40] = b"acsp"
    body = struct.pack(">I", 1) + b"desc" + struct.pack(">II", 144, len(tag)) + tag
    profile = bytes(header) + body
    return struct.pack(">I", len(profile)) + profile[4:]


def test_a_profile_is_named_by_its_description_v2_or_v4():
    assert profile_description(srgb_profile()) == "sRGB built-in"
    assert profile_description(v4_profile("Display P3")) == "Display P3"
    assert profile_description(b"not a profile") is None


def test_a_png_gets_an_iccp_chunk_after_ihdr_in_place_of_srgb(tmp_path):
    Image.fromarray(scene(1, 16, 16)[0]).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    with_srgb = data[:33] + chunk(b"sRGB", b"\0") + data[33:]  # right after IHDR (8 + 25 bytes)
    profile = srgb_profile()
    out = with_icc_profile(with_srgb, profile, "sRGB built-in")
    names = [name for name, _, _ in png_chunks(out)]
    assert names[:2] == [b"IHDR", b"iCCP"] and b"sRGB" not in names and iccp_profile(out) == profile
    (tmp_path / "b.png").write_bytes(out)
    with Image.open(tmp_path / "a.png") as plain, Image.open(tmp_path / "b.png") as profiled:  # libpng takes the chunk
        assert profiled.info["icc_profile"] == profile and np.array_equal(np.asarray(profiled), np.asarray(plain))


def test_a_tiff_gets_the_profile_as_tag_34675_and_keeps_its_samples(tmp_path):
    import tifffile

    profile = srgb_profile()
    samples = np.random.default_rng(0).random((12, 16, 3), dtype=np.float32)  # a float TIFF, as the EXR-like path writes
    tifffile.imwrite(tmp_path / "a.tif", samples, photometric="rgb", compression="zlib")
    data = (tmp_path / "a.tif").read_bytes()
    assert tiff_icc(data) is None
    (tmp_path / "b.tif").write_bytes(with_tiff_icc(data, profile))
    with tifffile.TiffFile(tmp_path / "b.tif") as tiff:
        assert tiff.pages[0].tags[34675].value == profile and np.array_equal(tiff.asarray(), samples)
    assert tiff_icc(with_tiff_icc(with_tiff_icc(data, b"x" * 9), profile)) == profile  # a second profile replaces the first


def test_a_png_sequence_keeps_its_profile_in_every_image_and_a_video_says_it_does_not(tmp_path, model):
    profile = srgb_profile()
    source = profiled_sequence(tmp_path / "in", [profile])
    report = repair_video(source, tmp_path / "out" / "r_%03d.png", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [5]
    for index in range(10):  # the repaired image 5 too
        with Image.open(tmp_path / "out" / f"r_{index:03d}.png") as image:
            assert image.info["icc_profile"] == profile, index
    outcome = report["icc_profile"]
    assert outcome["kept"] and outcome["description"] == "sRGB built-in" and outcome["bytes"] == len(profile)
    assert 'The input\'s ICC profile ("sRGB built-in", ' in summary_text(report)
    report = repair_video(source, tmp_path / "tiff" / "r_%03d.tif", checkpoint=model, progress=False)
    for index in range(10):
        with Image.open(tmp_path / "tiff" / f"r_{index:03d}.tif") as image:
            assert image.info["icc_profile"] == profile, index
    assert report["icc_profile"]["kept"]
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert not report["icc_profile"]["kept"] and report["icc_profile"]["lost"] == "a .mkv video written here holds no ICC profile"
    assert "ICC profile not kept: the input's frames carry one" in summary_text(report)


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_an_mp4_or_mov_keeps_it_in_a_colour_box_every_frame_decoded_with_it(tmp_path, model, ext):
    # FFmpeg's mov muxer writes 'colr' of type 'prof' from side data PyAV cannot attach: it was lost
    profile = v4_profile("Display P3")  # a macOS screenshot's
    source = profiled_sequence(tmp_path / "in", [profile])
    report = repair_video(source, tmp_path / f"out.{ext}", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [5] and report["icc_profile"]["kept"]
    assert report["icc_profile"]["kept_in"] == f"the {ext.upper()} file's colour box ('colr' of type 'prof', read back)"
    assert 'The input\'s ICC profile ("Display P3", ' in summary_text(report)
    with av.open(str(tmp_path / f"out.{ext}")) as container:
        assert [icc_profile(frame) for frame in container.decode(video=0)] == [profile] * 10
    data = (tmp_path / f"out.{ext}").read_bytes()
    assert data.count(b"colrprof") == 1 and data.index(b"mdat") < data.index(b"moov") < data.index(b"colrprof")


def test_an_mp4_of_frames_without_a_profile_gets_no_colour_box_of_one(tmp_path, model):
    folder = tmp_path / "in"
    folder.mkdir()
    for index, frame in enumerate(stutter(scene(10, 48, 64), [5])):
        Image.fromarray(frame).save(folder / f"f_{index:03d}.png")
    report = repair_video(str(folder / "f_%03d.png"), tmp_path / "out.mp4", checkpoint=model, progress=False)
    assert report["icc_profile"] is None and b"colrprof" not in (tmp_path / "out.mp4").read_bytes()


def test_write_icc_profile_leaves_a_file_whose_movie_header_comes_first(tmp_path):
    from nlvfi.mov_colour import write_icc_profile
    from nlvfi.videoio import write_video

    path = write_video(tmp_path / "a.mp4", scene(3, 48, 64), 10, codec="libx264", pix_fmt="yuv420p")
    data = path.read_bytes()
    moov_at, mdat_at = data.index(b"moov") - 4, data.index(b"mdat") - 4
    moov_size = int.from_bytes(data[moov_at : moov_at + 4], "big")
    fast = data[:mdat_at] + data[moov_at : moov_at + moov_size] + data[mdat_at:moov_at]  # (its chunk offsets now wrong: not read)
    (tmp_path / "fast.mp4").write_bytes(fast)
    assert not write_icc_profile(tmp_path / "fast.mp4", srgb_profile(), 64, 48) and (tmp_path / "fast.mp4").read_bytes() == fast
    assert not write_icc_profile(path, srgb_profile(), 66, 48) and path.read_bytes() == data  # no video track of that size
    assert write_icc_profile(path, srgb_profile(), 64, 48)


def test_an_up_converted_sequence_carries_it_into_the_new_images(tmp_path, model, capsys):
    profile = srgb_profile()
    source = profiled_sequence(tmp_path / "in", [profile])
    out = tmp_path / "out" / "i_%03d.png"
    assert cli.main(["interpolate", source, "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "The input's ICC profile (" in capsys.readouterr().out
    for index in range(19):
        with Image.open(tmp_path / "out" / f"i_{index:03d}.png") as image:
            assert image.info.get("icc_profile") == profile, index


def test_images_of_different_profiles_are_not_all_given_the_first(tmp_path, model):
    first = srgb_profile()
    other = first[:100] + b"\x01" + first[101:]  # the same profile but for a byte: another profile to FFmpeg
    source = profiled_sequence(tmp_path / "in", [first, other])
    report = repair_video(source, tmp_path / "out" / "r_%03d.png", checkpoint=model, progress=False)
    assert report["icc_profile"]["varies"] and not report["icc_profile"]["kept"]
    with Image.open(tmp_path / "out" / "r_001.png") as image:
        assert "icc_profile" not in image.info
