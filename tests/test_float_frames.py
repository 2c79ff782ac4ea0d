"""Floating-point (OpenEXR) frames: kept to the bit, seen through a tone curve (nlvfi/float_frames.py)."""

import json
from pathlib import Path

import av
import numpy as np
import pytest

from nlvfi import cli
from nlvfi.float_frames import (
    HALF_MAX, exr_header, exr_is_lossless, float_frame, float_samples, float_to_float, from_display, to_display,
)  # fmt: skip
from nlvfi.repair import repair_video, summary_text
from nlvfi.videoio import VideoReader, frame_to_rgb24, probe

from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def linear(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> scene-linear float32 with highlights up to 3.0."""
    return ((image.astype(np.float32) / 255.0) ** 2.2 * 3.0).astype(np.float32)


def write_exr(path: Path, samples: np.ndarray, half: bool = False, compression: str = "zip1") -> Path:
    """One OpenEXR image with FFmpeg's encoder (it writes none, RLE and ZIPS)."""
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("exr", rate=25)
        stream.width, stream.height = samples.shape[1], samples.shape[0]
        stream.pix_fmt = "gbrpf32le"
        stream.options = {"compression": compression, "format": "half" if half else "float"}
        for packet in stream.encode(float_frame(samples, "gbrpf32le")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def exr_sequence(folder: Path, frames: list[np.ndarray], half: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, samples in enumerate(frames):
        write_exr(folder / f"plate_{index:04d}.exr", samples, half)
    return folder / "plate_%04d.exr"


def decoded(path) -> list:
    with VideoReader(path) as reader:
        return [item.frame for item in reader]


def awkward(h=6, w=10, channels=3, seed=0) -> np.ndarray:
    """Float samples with what an EXR may hold: highlights, a NaN, a negative, -0, +inf."""
    values = np.random.default_rng(seed).uniform(0, 40, (h, w, channels)).astype(np.float32)
    values[0, 0, 0], values[0, 1, 0], values[0, 2, 0], values[1, 0, 0] = np.nan, -0.25, -0.0, np.inf
    return values


@pytest.mark.parametrize("pix_fmt, channels", [("gbrpf32le", 3), ("gbrpf16le", 3), ("gbrapf32le", 4), ("grayf32le", 1), ("grayf16le", 1), ("yaf16le", 2)])
def test_samples_go_into_a_frame_and_come_back_bit_for_bit(pix_fmt, channels):
    values = awkward(channels=channels)
    if "f16" in pix_fmt:
        values = values.astype(np.float16).astype(np.float32)  # what half holds
    frame = float_frame(values, pix_fmt)
    assert frame.format.name == pix_fmt
    back = float_samples(frame)
    assert back.shape == values.shape and np.array_equal(back.view(np.uint32), values.view(np.uint32))  # NaN, -0 and inf too
    if pix_fmt == "gbrpf32le":  # the planes are G, B, R: the order is FFmpeg's own (what swscale reads)
        assert np.array_equal(frame.to_ndarray(), values, equal_nan=True)


def test_a_float_grey_frame_becomes_three_equal_planes_exactly():
    grey = awkward(channels=1)
    wide = float_to_float(float_frame(grey, "grayf32le"), "gbrpf32le")
    assert np.array_equal(float_samples(wide).view(np.uint32), grey.repeat(3, axis=2).view(np.uint32))


def test_the_tone_curve_shows_an_exposed_picture_and_inverts():
    assert to_display(np.array([0.0, 0.18, 1.0, 40.0])) == pytest.approx([0.0, 0.4255, 0.7297, 0.9888], abs=1e-4)
    v = np.geomspace(1e-4, 1000, 200).astype(np.float32)
    y = to_display(v)
    assert np.all(np.diff(y) > 0) and y.max() < 1
    assert from_display(y) == pytest.approx(v, rel=1e-3)  # float32 through the curve and back
    assert from_display(np.array([1.0]))[0] == pytest.approx(HALF_MAX) and np.isfinite(from_display(np.array([1.0]))).all()
    assert to_display(np.array([np.nan, -3.0, np.inf], dtype=np.float32)) == pytest.approx([0.0, 0.0, to_display(np.array([HALF_MAX]))[0]])


def test_detection_sees_a_change_in_the_highlights_that_swscale_clipped(tmp_path):
    a = np.full((16, 16, 3), 0.5, np.float32)
    a[:8] = 2.0
    b = a.copy()
    b[:8] = 6.0  # only values above 1.0 change
    fa, fb = float_frame(a, "gbrpf32le"), float_frame(b, "gbrpf32le")
    assert np.array_equal(fa.to_ndarray(format="rgb24"), fb.to_ndarray(format="rgb24"))  # swscale: both white
    difference = np.abs(frame_to_rgb24(fa).astype(int) - frame_to_rgb24(fb)).mean()
    assert difference > 10  # half the frame moves from 0.82 to 0.94 of the display range
    assert frame_to_rgb24(fa)[12, 0, 0] == round(255 * float(to_display(np.array([0.5]))[0]))


def test_exr_headers_say_which_compressions_keep_the_samples(tmp_path):
    samples = linear(scene(1)[0])
    for compression in ("none", "rle", "zip1"):
        path = write_exr(tmp_path / f"{compression}.exr", samples, compression=compression)
        header = exr_header(path)
        assert header["channel_types"] == {"B": 2, "G": 2, "R": 2} and exr_is_lossless(path), compression
    path = tmp_path / "none.exr"
    data = bytearray(path.read_bytes())
    at = data.index(b"compression\x00compression\x00") + len(b"compression\x00compression\x00") + 4
    for code, lossless in ((8, False), (6, False), (4, True), (3, True), (5, False)):  # DWAA, B44, PIZ, ZIP, PXR24 of float
        data[at] = code
        (tmp_path / "patched.exr").write_bytes(bytes(data))
        assert exr_header(tmp_path / "patched.exr")["compression"] == code
        assert exr_is_lossless(tmp_path / "patched.exr") == lossless, code
    half = write_exr(tmp_path / "half.exr", samples, half=True, compression="none")
    data = bytearray(half.read_bytes())
    data[at] = 5
    (tmp_path / "pxr24-half.exr").write_bytes(bytes(data))
    assert exr_is_lossless(tmp_path / "pxr24-half.exr")  # PXR24 rounds only 32-bit float channels
    (tmp_path / "not.exr").write_bytes(b"P6\n1 1\n255\n\x00\x00\x00")
    with pytest.raises(ValueError, match="not an OpenEXR file"):
        exr_header(tmp_path / "not.exr")
    assert not exr_is_lossless(tmp_path / "not.exr")
    (tmp_path / "cut.exr").write_bytes(bytes(data[:40]))
    assert not exr_is_lossless(tmp_path / "cut.exr")


@pytest.mark.parametrize("half", [False, True])
def test_an_exr_sequence_is_repaired_losslessly_its_untouched_frames_bit_identical(tmp_path, model, half):
    plates = [linear(image) for image in stutter(scene(10), [4])]
    plates[7][0, 0, 0] = np.nan  # a NaN in an untouched frame stays there
    source = exr_sequence(tmp_path / "plates", plates, half)
    info = probe(source)
    assert (info.codec, info.pix_fmt, info.lossless) == ("exr", "gbrpf16le" if half else "gbrpf32le", True)
    out = tmp_path / "out.mkv"
    report = repair_video(source, out, checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [4]
    assert (report["encoder"]["codec"], report["encoder"]["pix_fmt"]) == ("ffv1", info.pix_fmt)
    assert report["verification"]["untouched_frames_bit_identical"] == 9
    inputs, outputs = decoded(source), decoded(out)
    for index, (a, b) in enumerate(zip(inputs, outputs)):
        if index != 4:
            assert np.array_equal(float_samples(a, raw=True), float_samples(b, raw=True)), index
    made = float_samples(outputs[4])
    assert np.isfinite(made).all() and made.min() >= 0 and made.max() > 1.0  # the highlights are generated, not clipped
    shown = to_display(made)
    neighbours = (to_display(float_samples(inputs[3])) + to_display(float_samples(inputs[5]))) / 2
    assert np.abs(shown - neighbours).mean() < 0.05  # in between its neighbours as shown
    assert "FFV1 version 4, which FFmpeg 8 writes as experimental" in summary_text(report)


def test_an_exr_sequence_doubles_in_rate_its_input_frames_bit_identical(tmp_path, model):
    source = exr_sequence(tmp_path / "plates", [linear(image) for image in scene(4)], half=True)
    out = tmp_path / "x2.mkv"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    inputs, outputs = decoded(source), decoded(out)
    assert len(outputs) == 7
    for index, a in enumerate(inputs):
        assert np.array_equal(float_samples(a, raw=True), float_samples(outputs[2 * index], raw=True)), index


def test_floats_into_png_images_are_refused_and_a_lossy_codec_says_it_clipped(tmp_path, model, capsys):
    source = exr_sequence(tmp_path / "plates", [linear(image) for image in stutter(scene(8), [4])])
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "png" / "f_%04d.png"), "--checkpoint", str(model), "--quiet"]) == 2
    assert "floating-point (scene-linear) samples, which PNG images cannot hold" in capsys.readouterr().err
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "png" / "f_%04d.jpg"), "--checkpoint", str(model), "--quiet"]) == 2
    assert "samples, which an image sequence holds as OpenEXR, float TIFF or PFM only; write OpenEXR images" in capsys.readouterr().err
    x2 = tmp_path / "x2" / "f_%04d.exr"
    assert cli.main(["interpolate", str(source), "-o", str(x2), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Written as 15 OpenEXR images" in printed and "FFV1 version 4" not in printed
    assert np.array_equal(read_exr(tmp_path / "x2" / "f_0002.exr")[1], read_exr(tmp_path / "plates" / "plate_0001.exr")[1])
    assert not (tmp_path / "png").exists()
    report_path = tmp_path / "r.json"
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "o.mp4"), "--codec", "libx264", "--report", str(report_path),
                     "--checkpoint", str(model), "--quiet"]) == 0  # fmt: skip
    assert "values above 1.0 were clipped" in capsys.readouterr().out
    assert json.loads(report_path.read_text())["encoder"]["lossless"] is False


def write_exr_frame(path: Path, samples: np.ndarray, pix_fmt: str, half: bool = False) -> Path:
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("exr", rate=25)
        stream.width, stream.height, stream.pix_fmt = samples.shape[1], samples.shape[0], pix_fmt
        stream.options = {"compression": "zip1", "format": "half" if half else "float"}
        for packet in [*stream.encode(float_frame(samples, pix_fmt)), *stream.encode()]:
            container.mux(packet)
    return path


def read_exr(path: Path):
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    return frame.format.name, float_samples(frame)


@pytest.mark.parametrize(
    "pix_fmt, half, written",
    [("gbrpf32le", False, "gbrpf32le"), ("gbrpf32le", True, "gbrpf16le"), ("grayf32le", False, "grayf32le"), ("gbrapf32le", False, "gbrapf32le")],
)
def test_the_frame_between_two_exr_images_is_an_exr_of_their_kind(tmp_path, model, pix_fmt, half, written):
    a, b = (linear(image) for image in scene(3)[::2])
    if pix_fmt == "grayf32le":
        a, b = a.mean(axis=2, keepdims=True), b.mean(axis=2, keepdims=True)
    if pix_fmt == "gbrapf32le":
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 0.25, np.float32)], axis=2)
        b = np.concatenate([b, np.full(b.shape[:2] + (1,), 0.75, np.float32)], axis=2)
    prev, next_ = write_exr_frame(tmp_path / "a.exr", a, pix_fmt, half), write_exr_frame(tmp_path / "b.exr", b, pix_fmt, half)
    out = tmp_path / "mid.exr"
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    fmt, mid = read_exr(out)
    assert fmt == written and exr_is_lossless(out)
    colour = mid[..., :3] if mid.shape[2] >= 3 else mid[..., :1]
    assert np.isfinite(colour).all() and colour.max() > 1.0  # linear light, not clipped display values
    shown = to_display(colour)
    ends = (to_display(read_exr(prev)[1][..., : colour.shape[2]]) + to_display(read_exr(next_)[1][..., : colour.shape[2]])) / 2
    assert np.abs(shown - ends).mean() < 0.05
    if pix_fmt == "gbrapf32le":
        assert mid[..., 3] == pytest.approx(0.5, abs=1e-4)  # the alpha blended at t = 0.5


def write_float_tiff(path: Path, samples: np.ndarray, half: bool = False, planar: bool = False) -> Path:
    """A floating-point TIFF as image editors write one (tifffile): grey, grey + alpha, RGB, RGBA."""
    import tifffile

    channels = samples.shape[2]
    data = samples.astype(np.float16 if half else np.float32)
    data = data[..., 0] if channels == 1 else (np.moveaxis(data, 2, 0) if planar else data)
    tifffile.imwrite(
        path, data, photometric="minisblack" if channels <= 2 else "rgb", extrasamples=["unassalpha"] if channels in (2, 4) else None,
        planarconfig="separate" if planar else None,
    )  # fmt: skip
    return path


def read_tiff(path: Path) -> tuple[np.dtype, np.ndarray]:
    import tifffile

    samples = tifffile.imread(path)
    return samples.dtype, (samples[..., None] if samples.ndim == 2 else samples).astype(np.float32)


@pytest.mark.parametrize(
    "channels, half, planar",
    [(3, False, False), (3, True, False), (3, False, True), (1, False, False), (2, False, False), (4, True, False)],
    ids=["rgb", "rgb-half", "rgb-planar", "grey", "grey-alpha", "rgba-half"],
)
def test_the_frame_between_two_float_tiffs_is_a_float_tiff_of_their_light(tmp_path, model, channels, half, planar):
    """FFmpeg read a float colour TIFF through the tone curve and the frame came out as a 16-bit TIFF
    of display values (3.0 written as 0.88); it reads no grey float TIFF and a half one as integers."""
    from nlvfi.io import read_picture

    a, b = (linear(image) for image in scene(3)[::2])
    if channels <= 2:
        a, b = a.mean(axis=2, keepdims=True), b.mean(axis=2, keepdims=True)
    if channels in (2, 4):
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 0.25, np.float32)], axis=2)
        b = np.concatenate([b, np.full(b.shape[:2] + (1,), 0.75, np.float32)], axis=2)
    prev = write_float_tiff(tmp_path / "a.tif", a, half, planar)
    next_ = write_float_tiff(tmp_path / "b.tif", b, half, planar)
    picture = read_picture(prev)
    assert picture.kind.linear and picture.kind.half == half and picture.kind.grey == (channels <= 2)
    colour_a = a[..., :3] if channels >= 3 else a[..., :1].repeat(3, axis=2)
    shown = picture.frame[0].permute(1, 2, 0).numpy()  # (H, W, 3): what the generator sees
    assert np.abs(shown - to_display(colour_a.astype(np.float16 if half else np.float32))).max() < 1e-4
    out = tmp_path / "mid.tiff"
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    dtype, mid = read_tiff(out)
    assert dtype == (np.float16 if half else np.float32) and mid.shape == a.shape
    colour = mid[..., :3] if channels >= 3 else mid[..., :1]
    assert np.isfinite(colour).all() and colour.max() > 1.0  # linear light, not clipped display values
    ends = (to_display(a[..., : colour.shape[2]]) + to_display(b[..., : colour.shape[2]])) / 2
    assert np.abs(to_display(colour) - ends).mean() < 0.05
    if channels in (2, 4):
        assert mid[..., -1] == pytest.approx(0.5, abs=1e-3)  # the alpha blended at t = 0.5
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(tmp_path / "mid.exr"), "--checkpoint", str(model), "--quiet"]) == 0


def test_float_tiffs_go_back_to_their_light_within_the_tone_curves_steps(tmp_path):
    from nlvfi.io import read_picture, write_picture

    samples = np.random.default_rng(0).uniform(0.01, 50, (6, 10, 3)).astype(np.float32)
    picture = read_picture(write_float_tiff(tmp_path / "a.tif", samples))
    write_picture(picture.frame, tmp_path / "back.tif", picture.kind)
    dtype, back = read_tiff(tmp_path / "back.tif")
    assert dtype == np.float32 and np.abs(back / samples - 1).max() < 2e-3


def test_a_float_tiff_sequence_is_repaired_losslessly_its_untouched_frames_bit_identical(tmp_path, model):
    folder = tmp_path / "plates"
    folder.mkdir()
    for index, samples in enumerate(linear(image) for image in stutter(scene(8), [4])):
        write_float_tiff(folder / f"plate_{index:04d}.tif", samples)
    source = folder / "plate_%04d.tif"
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [4] and report["encoder"]["pix_fmt"] == "gbrpf32le"
    assert report["verification"]["untouched_frames_bit_identical"] == 7


@pytest.mark.parametrize("channels, half, said", [(3, True, "half-float TIFF images, which FFmpeg reads as 16-bit integers"),
                                                   (1, False, "grey floating-point TIFF images, which FFmpeg does not read")])  # fmt: skip
def test_float_tiff_sequences_ffmpeg_misreads_are_refused_by_the_reader_in_one_line(tmp_path, channels, half, said):
    """Before, a half-float sequence was repaired as 16-bit integers (the new frame a blend of the
    halves' bits) and a grey one refused as 'no picture size or pixel format'. FFmpeg's reader
    refuses them; the tools read them through an EXR staging (tests/test_staged_images.py)."""
    from nlvfi.videoio import VideoError

    folder = tmp_path / "plates"
    folder.mkdir()
    for index, image in enumerate(scene(6)):
        write_float_tiff(folder / f"plate_{index:04d}.tif", linear(image)[..., :channels], half)
    with pytest.raises(VideoError) as error:
        probe(folder / "plate_%04d.tif")
    assert said in str(error.value) and "\n" not in str(error.value)


def test_a_float_tiff_and_a_display_image_do_not_mix(tmp_path, model, capsys):
    image = scene(2)[0]
    tiff = write_float_tiff(tmp_path / "a.tif", linear(image))
    from PIL import Image

    Image.fromarray(image).save(tmp_path / "b.png")
    cases = [
        ([str(tiff), str(tmp_path / "b.png"), "-o", str(tmp_path / "m.tif")], "make no pair"),
        ([str(tiff), str(tiff), "-o", str(tmp_path / "m.png")], "write it as .exr, .tif or .pfm"),
    ]
    for arguments, said in cases:
        assert cli.main(["interpolate", *arguments, "--checkpoint", str(model), "--quiet"]) == 2
        assert said in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.png"]


def test_an_exr_pair_and_a_display_image_do_not_mix(tmp_path, model, capsys):
    image = scene(2)[0]
    exr = write_exr_frame(tmp_path / "a.exr", linear(image), "gbrpf32le")
    png = tmp_path / "b.png"
    from PIL import Image

    Image.fromarray(image).save(png)
    cases = [
        ([str(exr), str(png), "-o", str(tmp_path / "m.exr")], "make no pair"),
        ([str(exr), str(exr), "-o", str(tmp_path / "m.png")], "write it as .exr, .tif or .pfm"),
        ([str(png), str(png), "-o", str(tmp_path / "m.exr")], "only a pair of OpenEXR images gives"),
    ]
    for arguments, said in cases:
        assert cli.main(["interpolate", *arguments, "--checkpoint", str(model), "--quiet"]) == 2
        assert said in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.exr", "b.png"]


def test_an_exr_sequence_comes_back_as_exr_images_its_untouched_frames_bit_identical(tmp_path, model):
    plates = [linear(image) for image in stutter(scene(8), [3])]
    source = exr_sequence(tmp_path / "plates", plates, half=True)
    out = tmp_path / "out" / "shot_%04d.exr"
    report = repair_video(source, out, checkpoint=model, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"shot_{n:04d}.exr" for n in range(8)]  # nothing hidden left
    sequence = report["image_sequence"]
    assert (sequence["exr_pix_fmt"], sequence["read_back_identical"]) == ("gbrpf16le", 8)
    assert "Written as 8 OpenEXR images" in summary_text(report) and "FFV1 version 4" not in summary_text(report)
    for index in range(8):
        written = tmp_path / "out" / f"shot_{index:04d}.exr"
        assert exr_is_lossless(written)
        _, back = read_exr(written)
        _, original = read_exr(tmp_path / "plates" / f"plate_{index:04d}.exr")
        assert np.array_equal(back.view(np.uint32), original.view(np.uint32)) == (index != 3), index


def test_exr_images_are_only_for_floating_point_input(tmp_path, model, capsys):
    from PIL import Image

    (tmp_path / "png").mkdir()
    for index, image in enumerate(stutter(scene(6), [3])):
        Image.fromarray(image).save(tmp_path / "png" / f"f_{index:02d}.png")
    assert cli.main(["repair", str(tmp_path / "png" / "f_%02d.png"), "-o", str(tmp_path / "o" / "r_%04d.exr"), "--checkpoint", str(model), "--quiet"]) == 2
    assert "OpenEXR images hold scene-linear floating-point light" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def with_alpha(samples: np.ndarray, level: float) -> np.ndarray:
    return np.concatenate([samples, np.full(samples.shape[:2] + (1,), level, np.float32)], axis=2)


def exr_frames(folder: Path, frames: list[np.ndarray], pix_fmt: str, half: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, samples in enumerate(frames):
        write_exr_frame(folder / f"plate_{index:04d}.exr", samples, pix_fmt, half)
    return folder / "plate_%04d.exr"


@pytest.mark.parametrize("half", [False, True])
def test_exr_with_alpha_goes_to_exr_images_or_raw_nut_and_is_refused_in_mkv_with_where_it_fits(tmp_path, model, half, capsys):
    # FFV1 holds no floating point with alpha: the repair was refused, telling the user to write .mkv
    plates = [with_alpha(linear(image), 0.25 + 0.05 * index) for index, image in enumerate(stutter(scene(8), [3]))]
    plates[3] = plates[2].copy()
    source = exr_frames(tmp_path / "plates", plates, "gbrapf32le", half)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "o.mkv"), "--checkpoint", str(model), "--quiet"]) == 2
    said = capsys.readouterr().err
    assert "with their alpha (FFV1 holds float without alpha); write OpenEXR images (-o DIR/%04d.exr) or .nut (uncompressed)" in said
    nut = repair_video(source, tmp_path / "o.nut", checkpoint=model, progress=False)
    assert (nut["encoder"]["codec"], nut["verification"]["untouched_frames_bit_identical"]) == ("rawvideo", 7)
    assert "stored uncompressed" in summary_text(nut) and "FFV1 version 4" not in summary_text(nut)
    images = repair_video(source, tmp_path / "out" / "p_%04d.exr", checkpoint=model, progress=False)
    assert images["image_sequence"]["exr_pix_fmt"] == ("gbrapf16le" if half else "gbrapf32le")
    for index in range(8):
        _, back = read_exr(tmp_path / "out" / f"p_{index:04d}.exr")
        _, original = read_exr(tmp_path / "plates" / f"plate_{index:04d}.exr")
        assert np.array_equal(back.view(np.uint32), original.view(np.uint32)) == (index != 3), index
    _, made = read_exr(tmp_path / "out" / "p_0003.exr")
    assert made[..., 3] == pytest.approx(0.25 + 0.05 * 3, abs=2e-3)  # the alpha between its neighbours'


def test_a_grey_half_exr_is_kept_as_three_half_planes_and_its_images_are_grey_again(tmp_path, model):
    # FFV1 of grayf16le does not read back as written (FFmpeg 8): every repair failed its verification
    plates = [linear(image).mean(axis=2, keepdims=True) for image in stutter(scene(8), [3])]
    source = exr_frames(tmp_path / "plates", plates, "grayf32le", half=True)
    assert probe(source).pix_fmt == "grayf16le"
    video = repair_video(source, tmp_path / "o.mkv", checkpoint=model, progress=False)
    assert (video["encoder"]["pix_fmt"], video["verification"]["untouched_frames_bit_identical"]) == ("gbrpf16le", 7)
    repair_video(source, tmp_path / "out" / "p_%04d.exr", checkpoint=model, progress=False)
    for index in range(8):
        fmt, back = read_exr(tmp_path / "out" / f"p_{index:04d}.exr")
        _, original = read_exr(tmp_path / "plates" / f"plate_{index:04d}.exr")
        assert fmt == "grayf16le" and np.array_equal(back.view(np.uint32), original.view(np.uint32)) == (index != 3), index


@pytest.mark.parametrize(
    "pix_fmt, half, layout",
    [("gbrpf32le", False, "RGB float"), ("gbrpf32le", True, "RGB half"), ("grayf32le", True, "grey half"), ("gbrapf32le", False, "RGBA float")],
)
def test_floating_point_frames_go_to_float_tiff_images_their_untouched_samples_bit_identical(tmp_path, model, pix_fmt, half, layout):
    """A float sequence written to .tif images was refused ("PNG images cannot hold"); they now hold
    its samples as the input stored them, read back bit for bit."""
    import tifffile

    plates = [linear(image) for image in stutter(scene(8), [3])]
    if pix_fmt == "grayf32le":
        plates = [samples.mean(axis=2, keepdims=True) for samples in plates]
    if pix_fmt == "gbrapf32le":
        plates = [with_alpha(samples, 0.25 + 0.05 * index) for index, samples in enumerate(plates)]
        plates[3] = plates[2].copy()
    source = exr_frames(tmp_path / "plates", plates, pix_fmt, half)
    report = repair_video(source, tmp_path / "out" / "p_%04d.tif", checkpoint=model, progress=False)
    sequence = report["image_sequence"]
    assert (sequence["tiff_samples"], sequence["read_back_identical"]) == (layout, 8)
    assert "Written as 8 float TIFF images" in summary_text(report)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"p_{n:04d}.tif" for n in range(8)]
    for index in range(8):
        back = tifffile.imread(tmp_path / "out" / f"p_{index:04d}.tif")
        _, original = read_exr(tmp_path / "plates" / f"plate_{index:04d}.exr")
        assert back.dtype == (np.float16 if half else np.float32)
        back = back.astype(np.float32).reshape(original.shape)
        assert np.array_equal(back.view(np.uint32), original.view(np.uint32)) == (index != 3), index



def test_a_radiance_hdr_pair_gives_an_exr_or_a_float_tiff_of_its_light(tmp_path, model, capsys):
    """PIL reads no .hdr: the pair was refused as 'not a readable image'."""
    import tifffile

    def write_hdr(path: Path, samples: np.ndarray) -> Path:
        context = av.CodecContext.create("hdr", "w")
        context.width, context.height, context.pix_fmt = samples.shape[1], samples.shape[0], "gbrpf32le"
        path.write_bytes(b"".join(bytes(packet) for packet in [*context.encode(float_frame(samples, "gbrpf32le")), *context.encode(None)]))
        return path

    a, b = (linear(image) for image in scene(3)[::2])
    prev, next_ = write_hdr(tmp_path / "a.hdr", a), write_hdr(tmp_path / "b.hdr", b)
    for name in ("mid.exr", "mid.tif"):
        assert cli.main(["interpolate", str(prev), str(next_), "-o", str(tmp_path / name), "--checkpoint", str(model), "--quiet"]) == 0
    _, mid = read_exr(tmp_path / "mid.exr")
    assert np.isfinite(mid).all() and mid.max() > 1.0  # linear light, not clipped display values
    assert np.abs(to_display(mid) - (to_display(a) + to_display(b)) / 2).mean() < 0.05
    assert np.array_equal(tifffile.imread(tmp_path / "mid.tif"), mid)  # the same frame, in either format
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(tmp_path / "mid.png"), "--checkpoint", str(model), "--quiet"]) == 2
    assert "write it as .exr, .tif or .pfm" in capsys.readouterr().err
