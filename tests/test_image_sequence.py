"""`nlvfi repair IN -o frames/%04d.png`: a repair written as numbered PNG images
(nlvfi/image_sequence.py)."""

import json
import os
import re
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from nlvfi import cli
from nlvfi import image_sequence as image_sequence_module
from nlvfi.image_sequence import SequenceTarget, frame_times_vary, png_format, sequence_target
from nlvfi.repair import repair_video
from nlvfi.videoio import VideoReader, frame_to_rgb, pixel_traits, write_video

from test_repair import scene, stutter, tone

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def png_sequence(folder: Path, frames, first: int = 0, ext: str = "png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(frames):
        Image.fromarray(image).save(folder / f"f_{first + index:03d}.{ext}")
    return folder / f"f_%03d.{ext}"


def png_samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    return frame.to_ndarray(), frame.format.name


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_png_sequence_comes_back_as_png_images_its_untouched_frames_identical(tmp_path, model):
    frames = stutter(scene(12), [4, 8, 9])
    source = png_sequence(tmp_path / "in", frames, first=1)  # numbered from 1, as many exports are
    out = tmp_path / "out" / "r_%04d.png"
    report = repair_video(source, out, checkpoint=model, progress=False, report_path=tmp_path / "r.json")
    assert names(tmp_path / "out") == [f"r_{n:04d}.png" for n in range(1, 13)]  # numbered like the input; nothing hidden left
    replaced = {f["frame"] for f in report["replaced"]}
    assert replaced == {4, 8, 9}
    reference = repair_video(source, tmp_path / "ref.mkv", checkpoint=model, progress=False)  # the same repair as a video
    with VideoReader(tmp_path / "ref.mkv") as reader:
        video = [frame_to_rgb(item.frame, reader.info.traits) for item in reader]
    for index, image in enumerate(frames):
        written, fmt = png_samples(tmp_path / "out" / f"r_{index + 1:04d}.png")
        assert fmt == "rgb24"
        assert np.array_equal(written, video[index]), index
        assert np.array_equal(written, image) == (index not in replaced), index
    sequence = json.loads((tmp_path / "r.json").read_text())["image_sequence"]
    assert sequence["files"] == sequence["read_back_identical"] == 12 and sequence["first_number"] == 1
    assert sequence["pattern"] == str(out) and sequence["not_held"] == [] and "frame_times_s" not in sequence
    assert report["output"] == str(out) and report["verification"]["untouched_frames_bit_identical"] == 9
    assert reference["verification"]["untouched_frames_bit_identical"] == 9


def test_a_tiff_sequence_is_repaired_and_its_rate_is_said_to_be_assumed(tmp_path, model):
    # FFmpeg attaches EXIF side data (type 31) to every TIFF it decodes, which PyAV 18's enum does not
    # name: reading a frame's side data raised "31 is not a valid Type", and a TIFF sequence (8-bit
    # or 16-bit, as film scans come) was refused after the whole first pass (nlvfi/side_data.py)
    source = png_sequence(tmp_path / "scan", stutter(scene(10), [4]), ext="tif")
    with av.open(str(tmp_path / "scan" / "f_000.tif")) as container:
        frame = next(container.decode(video=0))
    from nlvfi.captions import closed_captions
    from nlvfi.side_data import frame_side_data
    from nlvfi.videoio import display_matrix

    assert [data.type.value for data in frame_side_data(frame)] == [31]
    assert closed_captions(frame) is None and display_matrix(frame) is None
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [4]
    assert report["verification"]["untouched_frames_bit_identical"] == 9
    from nlvfi.repair import summary_text

    assert report["video"]["frame_rate_assumed"]
    assert (
        "Frame rate assumed: an image sequence has no timing, so it was read at 25 frames/s; give its rate with "
        "--input-rate, e.g. --input-rate 24."
    ) in summary_text(report)


def test_a_video_with_audio_and_a_variable_rate_names_what_images_cannot_hold(tmp_path, model):
    pts = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]
    source = write_video(
        tmp_path / "in.mp4", stutter(scene(12), [4, 8]), 10, codec="libx264", pix_fmt="yuv420p", pts=pts,
        options={"crf": "18"}, audio=tone(1.3), audio_codec="aac",
    )  # fmt: skip
    report = repair_video(source, tmp_path / "images" / "%d.png", checkpoint=model, progress=False)
    assert names(tmp_path / "images") == sorted(f"{n}.png" for n in range(12))  # a video's frames from 0
    with VideoReader(source) as reader:  # untouched frames: the decoded input, converted as the model reads it
        decoded = [frame_to_rgb(item.frame, reader.info.traits) for item in reader]
    replaced = {f["frame"] for f in report["replaced"]}
    assert replaced == {4, 8}
    for index in set(range(12)) - replaced:
        assert np.array_equal(png_samples(tmp_path / "images" / f"{index}.png")[0], decoded[index])
    sequence = report["image_sequence"]
    assert sequence["not_held"] == ["1 audio stream(s)", "the frame times (a variable frame rate; listed in frame_times_s)"]
    assert sequence["frame_times_s"] == pytest.approx([p / 10 for p in pts], abs=1e-6)


@pytest.mark.parametrize("suffix", ["png", "tif"])  # TIFF: the same samples, little-endian (a .tif pattern was refused)
@pytest.mark.parametrize(
    "pix_fmt, channels, deep, expected",
    [("gray16le", 3, True, "gray16be"), ("bgra", 4, False, "rgba"), ("yuv420p10le", 3, True, "rgb48be"), ("gray", 3, False, "gray")],
)
def test_depth_grey_and_alpha_are_kept_in_the_images(tmp_path, model, pix_fmt, channels, deep, expected, suffix):
    frames = stutter(scene(8, channels=channels), [4])
    if deep:
        frames = [image.astype(np.uint16) * 257 for image in frames]
    if suffix == "tif":
        expected = expected[:-2] + "le" if expected.endswith("be") else expected
    source = write_video(tmp_path / "in.mkv", frames, 10, pix_fmt=pix_fmt)
    report = repair_video(source, tmp_path / "o" / f"%02d.{suffix}", checkpoint=model, progress=False)
    assert report["image_sequence"][f"{'tiff' if suffix == 'tif' else 'png'}_pix_fmt"] == expected
    with VideoReader(source) as reader:
        first = next(iter(reader)).frame
        traits = reader.info.traits
        if traits.is_gray:
            want = first.to_ndarray()  # the samples themselves
        elif traits.has_alpha:
            want = first.to_ndarray(format="rgba")
        else:
            want = frame_to_rgb(first, traits)
    samples, fmt = png_samples(tmp_path / "o" / f"00.{suffix}")
    assert fmt == expected
    assert np.array_equal(samples.astype(np.int64), want.astype(np.int64))


def test_png_format():
    assert [png_format(pixel_traits(f)) for f in ("yuv420p", "yuva444p", "gray", "ya8", "gray10le", "yuv422p10le", "rgba64le", "pal8")] == [
        "rgb24", "rgba", "gray", "ya8", "gray16be", "rgb48be", "rgba64be", "rgba",
    ]  # fmt: skip


def test_frame_times_vary():
    assert not frame_times_vary([0.0, 0.04, 0.08, 0.12], 0.001)
    assert not frame_times_vary([0, 1001 / 30000, 2002 / 30000, 3003 / 30000], 1 / 30000)
    assert not frame_times_vary([round(k * 1001 / 30000, 3) for k in range(300)], 0.001)  # 29.97 frames/s in ms: 33 or 34 ms steps
    assert frame_times_vary([0.0, 0.04, 0.12, 0.16], 0.001)
    assert frame_times_vary([0.0, 0.033, 0.068, 0.1], 0.001)  # 2 ms off
    assert not frame_times_vary([0.0, 0.5], 0.001)


@pytest.mark.parametrize(
    "pattern, flags, message",
    [
        ("o/%04d.jpg", [], r"written as PNG or TIFF \(OpenEXR and PFM too for floating-point input\); end the pattern in \.png or \.tif"),
        ("o/%04d_%04d.png", [], r"needs one number field"),
        ("o/%s.png", [], r"needs one number field"),
        ("o/%04d.png", ["--crf", "10"], r"--crf cannot apply to an image sequence"),
        ("o/%04d.png", ["--codec", "libx264"], r"--codec cannot apply to an image sequence"),
        ("in/f_%03d.png", [], r"is the input"),
        ("in/f_%003d.png", [], r"in/f_000\.png already exists \(12 file\(s\) of the pattern"),  # the input's names
    ],
)
def test_refused_before_any_work_with_one_line(tmp_path, model, capsys, monkeypatch, pattern, flags, message):
    source = png_sequence(tmp_path / "in", stutter(scene(12), [4]))
    monkeypatch.setattr("nlvfi.repair.analyze_video", lambda *a, **k: pytest.fail("measured before refusing"))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    rc = cli.main(["repair", str(source), "-o", str(tmp_path / pattern), "--checkpoint", str(model), "--quiet", *flags])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing made, nothing touched
    assert not (tmp_path / "o").exists()


def test_existing_images_are_the_names_the_pattern_makes(tmp_path):
    for name in ("0007.png", "12345.png", "7.png", "notes.png", "0008.jpg"):
        (tmp_path / name).write_bytes(b"")
    target = SequenceTarget(tmp_path, "%04d.png", 0)
    assert [p.name for p in target.existing()] == ["0007.png", "12345.png"]  # %04d writes 7 as 0007, 12345 whole
    with pytest.raises(ValueError, match="0007.png already exists"):
        sequence_target(tmp_path / "%04d.png", tmp_path / "in.mkv")


def test_interrupted_while_writing_images_leaves_none_and_goes_on(tmp_path, model, monkeypatch):
    source = write_video(tmp_path / "in.mkv", stutter(scene(10), [4]), 10)
    out = tmp_path / "o" / "%03d.png"
    def interrupted(video, target, staging, progress=True):
        (staging / target.name(0)).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(image_sequence_module, "export_sequence", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repair_video(source, out, checkpoint=model, progress=False)
    assert names(tmp_path / "o") == [".03d.png.nlvfi.mkv.nlvfi-resume"]  # no image, no video, no staging; the resume folder
    monkeypatch.undo()
    report = repair_video(source, out, checkpoint=model, progress=False)
    assert report["resume"]["measurements_reused"] and report["resume"]["runs_reused"] == 1  # the lossless video is written again
    assert names(tmp_path / "o") == [f"{n:03d}.png" for n in range(10)]


def test_a_failure_while_moving_the_images_into_place_takes_them_all_back(tmp_path, model, monkeypatch):
    source = write_video(tmp_path / "in.mkv", stutter(scene(10), [4]), 10)
    moves = []
    real_replace = os.replace

    def failing(a, b):
        if str(b).endswith(".png"):
            moves.append(b)
            if len(moves) == 4:
                raise OSError(28, "No space left on device")
        real_replace(a, b)

    monkeypatch.setattr(image_sequence_module.os, "replace", failing)
    with pytest.raises(OSError):
        repair_video(source, tmp_path / "o" / "%03d.png", checkpoint=model, progress=False)
    assert names(tmp_path / "o") == []


def test_the_command_says_it_wrote_images(tmp_path, model, capsys):
    source = write_video(tmp_path / "in.mkv", stutter(scene(10), [4]), 10, audio=tone(1.0))
    rc = cli.main(["repair", str(source), "-o", str(tmp_path / "o" / "%03d.png"), "--checkpoint", str(model), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Written as 10 PNG images" in out and "rgb24" in out and "each read back identical" in out
    assert "Not in the images (an image sequence holds pictures only): 1 audio stream(s)." in out


def test_interpolate_writes_an_up_converted_sequence(tmp_path, model, capsys):
    frames = scene(6)
    source = png_sequence(tmp_path / "in", frames, first=1)
    out = tmp_path / "up" / "%04d.png"
    rc = cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0 and "Written as 11 PNG images from" in printed
    assert names(tmp_path / "up") == [f"{n:04d}.png" for n in range(1, 12)]
    for index, image in enumerate(frames):  # the input's frames at every other place, unchanged
        assert np.array_equal(png_samples(tmp_path / "up" / f"{2 * index + 1:04d}.png")[0], image)
    rc = cli.main(["interpolate", str(source), "-o", str(tmp_path / "up2" / "%d.png"), "--factor", "2", "--crf", "18",
                   "--checkpoint", str(model), "--quiet"])  # fmt: skip
    assert rc == 2 and "--crf cannot apply to an image sequence" in capsys.readouterr().err
    assert not (tmp_path / "up2").exists()


def test_interpolate_lists_the_times_of_a_variable_rate(tmp_path, model):
    from nlvfi.interpolate import interpolate_video, load_model

    pts = [0, 1, 2, 4, 5]
    source = write_video(tmp_path / "vfr.mkv", scene(5), 10, pts=pts)
    generator, _ = load_model(model, "cpu")
    summary = interpolate_video(source, tmp_path / "o" / "%02d.png", generator, factor=2, progress=False)
    sequence = summary["image_sequence"]
    assert sequence["files"] == 9 and sequence["not_held"] == ["the frame times (a variable frame rate; listed in frame_times_s)"]
    assert sequence["frame_times_s"] == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.45, 0.5])
    assert names(tmp_path / "o") == [f"{n:02d}.png" for n in range(9)]


def test_nothing_to_replace_gives_the_decoded_frames(tmp_path, model, capsys):
    frames = scene(8)
    source = write_video(tmp_path / "in.mkv", frames, 10, codec="libx264", pix_fmt="yuv420p", options={"crf": "18"})
    rc = cli.main(["repair", str(source), "-o", str(tmp_path / "o" / "%d.png"), "--checkpoint", str(model), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "Written as 8 PNG images" in out and "through a lossless ffv1 yuv420p video" in out  # not the input copied: images need decoding
    with VideoReader(source) as reader:
        decoded = [frame_to_rgb(item.frame, reader.info.traits) for item in reader]
    for index in range(8):
        assert np.array_equal(png_samples(tmp_path / "o" / f"{index}.png")[0], decoded[index])
    assert names(tmp_path / "o") == sorted(f"{n}.png" for n in range(8))


def test_a_sequence_from_1001_comes_back_numbered_from_1001(tmp_path, model):
    frames = stutter(scene(8), [4])
    folder = tmp_path / "in"
    folder.mkdir()
    for index, image in enumerate(frames):
        Image.fromarray(image).save(folder / f"{1001 + index}.png")
    report = repair_video(folder / "%d.png", tmp_path / "o" / "%d.png", checkpoint=model, progress=False)
    assert report["frames_replaced"] == 1 and report["verification"]["untouched_frames_bit_identical"] == 7
    assert names(tmp_path / "o") == [f"{n}.png" for n in range(1001, 1009)]
    for index, image in enumerate(frames):
        if index != 4:
            assert np.array_equal(png_samples(tmp_path / "o" / f"{1001 + index}.png")[0], image)


def test_a_percent_sign_in_a_video_name_is_just_a_character(tmp_path, model):
    """Only one number field (%d, %04d) makes numbered images, and only where no such file is
    (input) or with an image extension (output): "50% slower.mkv" is a video."""
    from nlvfi.image_sequence import is_sequence
    from nlvfi.videoio import is_image_pattern

    source = write_video(tmp_path / "50% slower.mkv", stutter(scene(8), [4]), 10)
    assert not is_image_pattern(source) and is_image_pattern(tmp_path / "f_%04d.png")
    assert not is_image_pattern(tmp_path / "100%.png")  # no number field
    for name, images in (("fixed 100%.mkv", False), ("take%d.mkv", False), ("f_%03d.png", True), ("f_%03d.jpg", True)):
        assert is_sequence(tmp_path / name) == images, name
    report = repair_video(source, tmp_path / "fixed 100%.mkv", checkpoint=model, progress=False)
    assert report["frames_replaced"] == 1 and (tmp_path / "fixed 100%.mkv").is_file()
    report = repair_video(source, tmp_path / "take%d.mkv", checkpoint=model, progress=False)
    assert "image_sequence" not in report and (tmp_path / "take%d.mkv").is_file()
