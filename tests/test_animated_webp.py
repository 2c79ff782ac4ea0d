"""nlvfi.animated_webp, nlvfi.webp_writer, nlvfi.webp_output: an animated WebP is read through
libwebp (the FFmpeg inside PyAV does not decode one) and repaired or up-converted, to a video or
back to a WebP, its untouched frames as libwebp decodes them, every time and the loop count kept.

Before, an animated WebP was refused in one line ("convert it first")."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from nlvfi import cli
from nlvfi.animated_webp import anmf_frames, is_animated_webp, metadata_chunks, stage_animated_webp, top_level_chunks, webp_frames
from nlvfi.repair import repair_video, summary_text
from nlvfi.png_chunks import iccp_profile
from nlvfi.videoio import VideoError, VideoReader, write_video
from nlvfi.webp_writer import WebpEncoder, changed_box

from test_gif_output import sticker_frames
from test_repair import scene, stutter

pytestmark = [
    pytest.mark.usefixtures("one_thread"),  # shared fixtures: tests/conftest.py
    pytest.mark.skipif(not features.check("webp"), reason="this Pillow has no libwebp"),
]

DURATIONS = [40, 40, 40, 40, 40, 60, 60, 40, 40, 40, 40, 120]


def webp(
    path: Path, frames: list[np.ndarray], durations: list[int], loop: int = 0, quality: int | None = None, metadata: dict | None = None,
) -> Path:  # fmt: skip
    """An animated WebP of (H, W, 3 or 4) uint8 frames, frame i shown ``durations[i]`` ms, every
    frame its own (libwebp's own encoder would merge a copy into the frame before)."""
    buffer = io.BytesIO()
    encoder = WebpEncoder(buffer, frames[0].shape[1], frames[0].shape[0], frames[0].shape[2] == 4, loop, quality, metadata)
    for frame, duration in zip(frames, durations):
        encoder.add(frame, duration)
    encoder.close()
    path.write_bytes(buffer.getvalue())
    return path


def libwebp_view(path: Path) -> tuple[list[np.ndarray], list[int], list[int]]:
    """(frames, starts in ms, durations in ms) as libwebp (Pillow) decodes ``path``."""
    frames, starts, durations = [], [], []
    for picture, start, duration in webp_frames(path):
        frames.append(picture.copy())
        starts.append(start)
        durations.append(duration)
    return frames, starts, durations


def stuttering_webp(folder: Path, loop: int = 0, quality: int | None = None, metadata: dict | None = None) -> Path:
    frames = stutter(scene(12, 48, 64), [4, 8, 9])  # frame 4 copies 3; 8 and 9 copy 7
    return webp(folder / "in.webp", frames, DURATIONS, loop, quality, metadata)


def photo_metadata() -> dict[bytes, bytes]:
    """A real ICC profile (Display P3-like primaries would do; littlecms's built-in sRGB is what is
    at hand), an EXIF block naming a camera and an XMP packet of odd length (a padded chunk)."""
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0110] = "nlvfi test camera"  # Model
    return {
        b"ICCP": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        b"EXIF": exif.tobytes(),
        b"XMP ": b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>\n',
    }


def chunk_order(path: Path) -> list[bytes]:
    """The four letters of the file's top-level chunks, runs of ANMF written once."""
    order: list[bytes] = []
    for fourcc, _ in top_level_chunks(path.read_bytes()):
        if not (order and fourcc == order[-1] == b"ANMF"):
            order.append(fourcc)
    return order


def test_an_animation_is_told_from_a_still_and_other_files(tmp_path):
    frames = scene(3, 16, 16)
    assert is_animated_webp(webp(tmp_path / "a.webp", frames, [40] * 3))
    Image.fromarray(frames[0]).save(tmp_path / "still.webp", lossless=True)
    (tmp_path / "text.webp").write_text("RIFF....WEBPVP8X not really")
    assert not any(is_animated_webp(tmp_path / name) for name in ("still.webp", "text.webp", "missing.webp"))


def test_the_writer_keeps_every_frame_a_copy_and_every_transparent_pixel_included():
    """libwebp's animation encoder (Pillow's) merges a copy into the frame before; ours keeps it,
    and libwebp composes every frame back exactly (alpha 0 pixels keep their colour too)."""
    frames = [f.copy() for f in stutter(sticker_frames(6), [3])]
    frames[5][..., :3] = 77  # colour under full transparency
    buffer = io.BytesIO()
    encoder = WebpEncoder(buffer, 64, 48, True, loop=2)
    boxes = [encoder.add(frame, 30 + index) for index, frame in enumerate(frames)]
    encoder.close()
    with Image.open(buffer) as image:
        assert image.n_frames == 6 and image.info["loop"] == 2
        for index, frame in enumerate(frames):
            image.seek(index)
            assert np.array_equal(np.asarray(image), frame) and image.info["duration"] == 30 + index, index
    assert boxes[0] == (0, 0, 64, 48) and boxes[3] == (0, 0, 2, 2)  # the copy changes nothing
    merged = io.BytesIO()
    pictures = [Image.fromarray(frame) for frame in frames]
    pictures[0].save(merged, "WEBP", save_all=True, append_images=pictures[1:], duration=40, lossless=True)
    with Image.open(merged) as image:
        assert image.n_frames == 5  # why the project writes its own


def test_changed_box_matches_a_pixel_loop_and_starts_on_even_coordinates():
    rng = np.random.default_rng(0)
    for _ in range(20):
        before = rng.integers(0, 255, (13, 17, 3), dtype=np.uint8)
        after = before.copy()
        y0, x0 = rng.integers(0, 13), rng.integers(0, 17)
        after[y0 : y0 + rng.integers(1, 5), x0 : x0 + rng.integers(1, 5)] ^= 1
        changed = [(y, x) for y in range(13) for x in range(17) if (before[y, x] != after[y, x]).any()]
        x, y, width, height = changed_box(before, after)
        assert x % 2 == 0 and y % 2 == 0
        assert x <= min(c for _, c in changed) and max(c for _, c in changed) == x + width - 1
        assert y <= min(r for r, _ in changed) and max(r for r, _ in changed) == y + height - 1
        assert min(c for _, c in changed) - x <= 1 and min(r for r, _ in changed) - y <= 1


def test_the_chunks_tell_durations_and_coding_without_decoding(tmp_path):
    frames = scene(4, 24, 32)
    assert anmf_frames(webp(tmp_path / "a.webp", frames, [40, 50, 60, 70])) == [(40, False), (50, False), (60, False), (70, False)]
    assert anmf_frames(webp(tmp_path / "b.webp", frames, [40] * 4, quality=80)) == [(40, True)] * 4
    with_alpha = webp(tmp_path / "c.webp", sticker_frames(4), [40] * 4, quality=80)  # ALPH before VP8
    assert anmf_frames(with_alpha) == [(40, True)] * 4


def test_a_stuttering_webp_comes_back_as_a_webp_its_untouched_frames_and_times_kept(tmp_path, model):
    source = stuttering_webp(tmp_path, loop=3)
    before = source.read_bytes()
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    assert source.read_bytes() == before
    assert [r["frame"] for r in report["replaced"]] == [4, 8, 9]
    frames_in, starts_in, durations_in = libwebp_view(source)
    frames_out, starts_out, durations_out = libwebp_view(tmp_path / "out.webp")
    assert (starts_out, durations_out) == (starts_in, durations_in) and durations_out == DURATIONS
    for index, (a, b) in enumerate(zip(frames_in, frames_out)):
        assert np.array_equal(a, b) == (index not in (4, 8, 9)), index
    with Image.open(tmp_path / "out.webp") as image:
        assert image.info["loop"] == 3
    out = report["webp"]
    assert (out["frames"], out["lossless"], out["loop"], out["last_duration_ms"]) == (12, True, 3, 120)
    assert report["input"] == str(source) and report["input_staged"]["reason"] == "animated WebP"
    assert report["video"]["description"].startswith("64x48 animated WebP staged as ffv1 (lossless, bgr0), 25.000 frames/s")
    text = summary_text(report)
    assert "Its 12 frames (lossless (VP8L), RGB, variable frame times, loop count 3) were decoded by libwebp" in text
    assert "Written as an animated WebP (" in text and "the untouched frames identical to the input's as libwebp decodes it" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.webp", "out.webp"]  # no staging, intermediate or resume left


def test_the_colour_profile_exif_and_xmp_come_back_byte_for_byte_in_the_specifications_order(tmp_path, model):
    """Before, a WebP output had none of them: a wide-gamut WebP came back shown as sRGB."""
    metadata = photo_metadata()
    assert len(metadata[b"XMP "]) % 2 == 1  # its chunk is padded
    source = stuttering_webp(tmp_path, metadata=metadata)
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    out = tmp_path / "out.webp"
    assert metadata_chunks(out) == metadata_chunks(source) == metadata
    assert chunk_order(out) == [b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"EXIF", b"XMP "]
    assert out.read_bytes()[20] == 0x20 | 0x08 | 0x04 | 0x02  # VP8X flags: ICC, EXIF, XMP, animation
    with Image.open(out) as image:  # libwebp's demuxer takes the file and hands the profile on
        assert image.info["icc_profile"] == metadata[b"ICCP"] and image.getexif()[0x0110] == "nlvfi test camera"
    assert report["webp"]["metadata_kept"] == ["ICC profile", "EXIF", "XMP"]
    assert report["input_staged"]["metadata"] == ["ICC profile", "EXIF", "XMP"]
    text = summary_text(report)
    assert "looping for ever, its ICC profile and EXIF and XMP kept" in text
    assert [r["frame"] for r in report["replaced"]] == [4, 8, 9] and libwebp_view(out)[2] == DURATIONS


def test_the_metadata_goes_into_an_up_converted_webp_and_is_named_for_a_video(tmp_path, model, capsys):
    metadata = {b"ICCP": photo_metadata()[b"ICCP"]}
    source = stuttering_webp(tmp_path, quality=80, metadata=metadata)
    smooth = tmp_path / "smooth.webp"
    assert cli.main(["interpolate", str(source), "-o", str(smooth), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert metadata_chunks(smooth) == metadata and "its ICC profile kept" in capsys.readouterr().out
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    text = summary_text(report)
    assert "its ICC profile goes into a WebP output, and the ICC profile into PNG images, not into a video" in text
    assert report["icc_profile"]["lost"] == "a .mkv video written here holds no ICC profile"
    report = repair_video(source, tmp_path / "frames" / "f_%02d.png", checkpoint=model, progress=False)
    assert report["icc_profile"]["kept"] and iccp_profile((tmp_path / "frames" / "f_04.png").read_bytes()) == metadata[b"ICCP"]


def test_a_webp_written_with_no_metadata_holds_none_and_unknown_chunks_are_refused():
    buffer = io.BytesIO()
    encoder = WebpEncoder(buffer, 32, 24, False)
    encoder.add(scene(1, 24, 32)[0], 40)
    encoder.close()
    assert buffer.getvalue()[20] == 0x02 and [fourcc for fourcc, _ in top_level_chunks(buffer.getvalue())] == [b"VP8X", b"ANIM", b"ANMF"]
    with pytest.raises(ValueError, match="not \\[b'META'\\]"):
        WebpEncoder(io.BytesIO(), 32, 24, False, metadata={b"META": b"x"})


def test_a_stuttering_webp_repaired_to_a_video_keeps_libwebps_frames_and_times(tmp_path, model):
    source = stuttering_webp(tmp_path)
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [4, 8, 9]
    frames_in, starts_in, _ = libwebp_view(source)
    with VideoReader(tmp_path / "out.mkv") as reader:
        out = [(round(item.time * 1000), item.frame.to_ndarray(format="rgb24")) for item in reader]
    assert [start for start, _ in out] == starts_in
    assert [np.array_equal(a, b) for a, (_, b) in zip(frames_in, out)] == [i not in (4, 8, 9) for i in range(12)]


def test_a_lossy_webp_comes_back_lossy_with_its_psnr_reported(tmp_path, model):
    source = stuttering_webp(tmp_path, quality=80)
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    out = report["webp"]
    assert not out["lossless"] and out["coding"].startswith("lossy (VP8, quality 95")
    assert out["read_back_psnr_db"]["min"] > 35  # against the run's frames, measured on the read-back
    assert all(lossy for _, lossy in anmf_frames(tmp_path / "out.webp"))
    assert libwebp_view(tmp_path / "out.webp")[2] == DURATIONS
    assert "every frame at PSNR >= " in summary_text(report)


def test_a_webp_with_nothing_to_replace_is_copied_byte_for_byte(tmp_path, model):
    source = webp(tmp_path / "in.webp", scene(8, 48, 64), [50] * 8, quality=80)
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    assert (tmp_path / "out.webp").read_bytes() == source.read_bytes()
    assert report["webp"]["copied"] and "is the input copied byte for byte" in summary_text(report)
    assert report["webp"]["metadata_kept"] == [] and report["encoder"]["codec"] == "copy"  # no frame coded on the way


def test_a_stuttering_sticker_keeps_its_transparency(tmp_path, model):
    frames = stutter(sticker_frames(8), [5])
    frames[1] = frames[0].copy()
    frames[1][0, 0] = (1, 2, 3, 4)  # not a copy of frame 0, and a pixel of partial alpha
    source = webp(tmp_path / "sticker.webp", frames, [80] * 8)
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [5] and report["webp"]["alpha"]
    frames_in, _, _ = libwebp_view(source)
    frames_out, _, _ = libwebp_view(tmp_path / "out.webp")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [True] * 5 + [False] + [True] * 2
    assert frames_out[5].shape == (48, 64, 4) and (frames_out[5][..., 3] < 128).mean() > 0.5  # still a sticker


def test_an_opaque_webp_flagged_as_holding_alpha_is_staged_as_rgb(tmp_path):
    opaque = [np.concatenate([f, np.full((24, 32, 1), 255, np.uint8)], axis=2) for f in scene(3, 24, 32)]
    staged = stage_animated_webp(webp(tmp_path / "a.webp", opaque, [40] * 3), tmp_path / "a.mkv", progress=False)
    assert staged["mode"] == "RGBA, every pixel opaque: staged as RGB"
    with VideoReader(tmp_path / "a.mkv") as reader:
        assert [item.frame.format.name for item in reader] == ["bgr0"] * 3


def test_the_staging_is_the_same_bytes_each_time_so_a_resume_folder_still_matches(tmp_path):
    source = stuttering_webp(tmp_path)
    first = stage_animated_webp(source, tmp_path / "1.mkv", progress=False)
    second = stage_animated_webp(source, tmp_path / "2.mkv", progress=False)
    assert first == second and (tmp_path / "1.mkv").read_bytes() == (tmp_path / "2.mkv").read_bytes()
    assert (tmp_path / "1.mkv").stat().st_mtime_ns == source.stat().st_mtime_ns


def test_an_interrupted_webp_run_leaves_nothing_at_out_and_the_next_goes_on(tmp_path, model, monkeypatch):
    import nlvfi.webp_output as webp_output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    source = stuttering_webp(tmp_path)
    monkeypatch.setattr(webp_output, "export_webp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.webp" and not p.name.endswith(".nlvfi-resume")]
    monkeypatch.undo()
    report = repair_video(source, tmp_path / "out.webp", checkpoint=model, progress=False)
    assert report["webp"]["frames"] == 12 and report["resume"]["runs_reused"] == 2


def test_a_webp_doubles_in_rate_as_a_webp_its_input_frames_identical(tmp_path, model, capsys):
    source = stuttering_webp(tmp_path)
    out = tmp_path / "smooth.webp"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "Written as an animated WebP (" in capsys.readouterr().out
    frames_in, starts_in, _ = libwebp_view(source)
    frames_out, starts_out, durations_out = libwebp_view(out)
    assert len(frames_out) == 23 and starts_out[::2] == starts_in
    assert all(np.array_equal(a, b) for a, b in zip(frames_in, frames_out[::2]))
    assert durations_out[:10] == [20] * 10 and durations_out[-1] == 120


def _truncated(path: Path) -> Path:
    """Five frames, the file cut 300 bytes short (a download that stopped)."""
    data = webp(path, scene(5, 24, 32), [40] * 5).read_bytes()
    path.write_bytes(data[:-300])
    return path


def _anmf_payloads(data: bytearray):
    """(start, size) of each ANMF chunk's payload in a WebP file's bytes."""
    at = 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if data[at : at + 4] == b"ANMF":
            yield at + 8, size
        at += 8 + size + (size & 1)


def _damaged(path: Path) -> Path:
    """Five frames, the third's coded picture garbled past its header (a bad disk block)."""
    data = bytearray(webp(path, scene(5, 24, 32), [40] * 5).read_bytes())
    start, size = list(_anmf_payloads(data))[2]
    for at in range(start + 16 + 8 + 5, start + size - 2):  # past the frame header, the VP8L chunk's and its signature
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _zero_duration(path: Path) -> Path:
    """Three frames, the second shown for 0 ms (its ANMF duration field written as 0)."""
    data = bytearray(webp(path, scene(3, 24, 32), [40, 1, 40]).read_bytes())
    start, _ = list(_anmf_payloads(data))[1]
    data[start + 12 : start + 15] = (0).to_bytes(3, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (_truncated, r"in.webp is cut short: it ends inside frame 5 \(4 whole frame\(s\) before it\), \d+ of its \d+ bytes"),
        (_damaged, r"in.webp is damaged: frame 3 of 5 does not decode \(.*\); 2 frame\(s\) read before it"),
        (_zero_duration, r"in.webp: frame 2 of 3 is shown for 0 ms"),
    ],
    ids=["truncated", "damaged", "zero-duration"],
)
def test_a_broken_webp_is_refused_in_one_line_with_nothing_at_out(tmp_path, model, capsys, make, expected):
    import re

    source = make(tmp_path / "in.webp")
    code = cli.main(["repair", str(source), "-o", str(tmp_path / "out.mkv"), "--checkpoint", str(model), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code != 0 and len(error.splitlines()) == 1 and re.search(expected, error), error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.webp"]


def test_webp_output_is_for_webp_input_only_and_takes_no_encoder(tmp_path, model, capsys):
    video = tmp_path / "clip.mkv"
    write_video(video, stutter(scene(8, 48, 64), [4]), rate=10, codec="ffv1", pix_fmt="bgr0")
    code = cli.main(["repair", str(video), "-o", str(tmp_path / "out.webp"), "--checkpoint", str(model), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code != 0 and "an animated WebP is written for animated WebP input only" in error and len(error.splitlines()) == 1
    source = stuttering_webp(tmp_path)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "out.webp"), "--crf", "18", "--checkpoint", str(model), "--quiet"]) != 0
    assert "--crf cannot apply to an animated WebP" in capsys.readouterr().err
    odd = webp(tmp_path / "odd.webp", scene(4, 24, 32), [45, 45, 45, 45])
    assert cli.main(["interpolate", str(odd), "-o", str(tmp_path / "x2.webp"), "--factor", "2", "--checkpoint", str(model), "--quiet"]) != 0
    assert "shows a frame for 45 ms, which does not split into 2 whole milliseconds" in capsys.readouterr().err
    fast = webp(tmp_path / "fast.webp", scene(4, 24, 32), [20, 20, 20, 20])  # 10 ms frames: browsers would show each 100 ms
    assert cli.main(["interpolate", str(fast), "-o", str(tmp_path / "x2.webp"), "--factor", "2", "--checkpoint", str(model), "--quiet"]) != 0
    error = capsys.readouterr().err.strip()
    assert "shows a frame for 20 ms, which does not split into 2 whole milliseconds of at least 11 ms" in error and len(error.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "fast.webp", "in.webp", "odd.webp"]


def test_a_one_frame_animation_is_refused(tmp_path, model, capsys):
    source = webp(tmp_path / "one.webp", scene(1, 24, 32), [40])
    assert is_animated_webp(source)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "out.mkv"), "--checkpoint", str(model), "--quiet"]) != 0
    assert "one.webp has 1 frame" in capsys.readouterr().err
    with pytest.raises(VideoError, match="has 1 frame"):
        stage_animated_webp(source, tmp_path / "one.mkv", progress=False)


def test_a_lossy_webp_is_written_as_lossy_input_is_and_a_lossless_one_losslessly(tmp_path, model):
    """A lossy WebP's staging is lossless FFV1, but its frames are VP8's: to .mp4 it goes as H.264,
    not as an FFV1 many times its size that few players read."""
    lossy = repair_video(stuttering_webp(tmp_path, quality=80), tmp_path / "lossy.mp4", checkpoint=model, progress=False)
    assert lossy["encoder"]["codec"] == "libx264" and not lossy["encoder"]["lossless"]
    assert "animated WebP staged as ffv1 (lossy frames staged losslessly, bgr0)" in lossy["video"]["description"]
    lossless = repair_video(webp(tmp_path / "clean.webp", stutter(scene(12, 48, 64), [4]), DURATIONS), tmp_path / "clean.mkv",
                            checkpoint=model, progress=False)  # fmt: skip
    assert lossless["encoder"]["codec"] == "ffv1" and lossless["verification"]["untouched_frames_bit_identical"] == 11
