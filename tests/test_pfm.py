"""nlvfi.pfm and PFM pairs through ``nlvfi interpolate``: samples exact, rows bottom first, the
unit (scale) kept; a grey PFM, which PIL read as mode F and the tool refused, now works."""

from pathlib import Path

import numpy as np
import pytest

from nlvfi import cli
from nlvfi.float_frames import to_display
from nlvfi.pfm import is_pfm, pfm_file_bytes, read_pfm

from test_float_frames import linear
from test_repair import scene

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def awkward(h=5, w=7, channels=3, seed=0) -> np.ndarray:
    """Float samples a PFM may hold: highlights, a NaN, a negative, -0, +inf."""
    values = np.random.default_rng(seed).uniform(0, 40, (h, w, channels)).astype(np.float32)
    values[0, 0, 0], values[0, 1, 0], values[0, 2, 0], values[1, 0, 0] = np.nan, -0.25, -0.0, np.inf
    return values


def pfm_by_hand(samples: np.ndarray, scale: float, big_endian: bool, separator: bytes = b"\n") -> bytes:
    """The obvious writer: the header, then the rows one by one from the bottom of the picture."""
    height, width, channels = samples.shape
    number = scale if big_endian else -scale
    header = (b"PF" if channels == 3 else b"Pf") + separator + f"{width} {height}".encode() + separator + f"{number}".encode() + separator
    rows = [samples[row].astype(">f4" if big_endian else "<f4").tobytes() for row in range(height - 1, -1, -1)]
    return header + b"".join(rows)


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "colour"])
def test_samples_come_back_bit_for_bit_top_row_first(tmp_path, channels):
    samples = awkward(channels=channels)
    data = pfm_file_bytes(samples, scale=0.5)
    assert data == pfm_by_hand(samples, 0.5, big_endian=False)  # little-endian, rows from the bottom
    (tmp_path / "a.pfm").write_bytes(data)
    image = read_pfm(tmp_path / "a.pfm")
    assert image.scale == 0.5 and image.samples.dtype == np.float32 and image.samples.shape == samples.shape
    assert image.samples.tobytes() == samples.tobytes()  # NaN, inf, -0 included


@pytest.mark.parametrize("separator", [b"\n", b" ", b"\r"], ids=["newline", "blank", "carriage-return"])
def test_a_big_endian_file_with_any_whitespace_after_its_lines_reads_the_same(tmp_path, separator):
    samples = awkward(channels=3, seed=1)
    path = tmp_path / "big.pfm"
    path.write_bytes(pfm_by_hand(samples, 2.0, big_endian=True, separator=separator))
    assert is_pfm(path)
    image = read_pfm(path)
    assert image.scale == 2.0 and image.samples.tobytes() == samples.tobytes()


def test_opencv_reads_what_we_write_and_we_read_what_it_writes(tmp_path):
    cv2 = pytest.importorskip("cv2")
    samples = np.random.default_rng(2).uniform(0, 5, (4, 6, 3)).astype(np.float32)
    ours = tmp_path / "ours.pfm"
    ours.write_bytes(pfm_file_bytes(samples))
    assert np.array_equal(cv2.imread(str(ours), cv2.IMREAD_UNCHANGED)[..., ::-1], samples)  # OpenCV holds BGR
    theirs = tmp_path / "theirs.pfm"
    assert cv2.imwrite(str(theirs), np.ascontiguousarray(samples[..., ::-1]))
    assert np.array_equal(read_pfm(theirs).samples, samples)


def test_pillow_writes_what_we_read_rows_bottom_first(tmp_path):
    """Pillow's PFM (mode F, grey) before this module: the tools read it through PIL and refused it."""
    from PIL import Image

    grey = np.arange(24, dtype=np.float32).reshape(4, 6)
    Image.fromarray(grey).save(tmp_path / "pil.pfm")
    assert (tmp_path / "pil.pfm").read_bytes()[12:16] == np.float32(18).tobytes()  # the bottom row first
    image = read_pfm(tmp_path / "pil.pfm")
    assert image.scale == 1.0 and np.array_equal(image.samples[..., 0], grey)


def test_alpha_is_left_out_and_half_widened():
    rgba = np.random.default_rng(3).uniform(0, 2, (3, 4, 4)).astype(np.float16)
    data = pfm_file_bytes(rgba)
    assert data.startswith(b"PF\n4 3\n-1.0\n") and data == pfm_by_hand(rgba[..., :3].astype(np.float32), 1.0, big_endian=False)
    assert pfm_file_bytes(rgba[..., :2]).startswith(b"Pf\n")


@pytest.mark.parametrize(
    "content, said",
    [
        (b"P6\n4 3\n255\n" + bytes(36), "is not a PFM image"),
        (b"PF\n4 3\n0\n" + bytes(144), "the PFM scale is 0"),
        (b"PF\n4 3\n-1.0\n" + bytes(100), "holds 144 bytes of samples, this one 100 (truncated)"),
        (b"Pf\n4 3\n-1.0\n" + bytes(60), "holds 48 bytes of samples, this one 60 (more than its header says)"),
    ],
    ids=["ppm", "zero-scale", "truncated", "too-long"],
)
def test_a_broken_pfm_is_refused_in_one_line(tmp_path, content, said):
    path = tmp_path / "bad.pfm"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        read_pfm(path)
    assert said in str(error.value) and "\n" not in str(error.value)


def write_pfm(path: Path, samples: np.ndarray, scale: float = 1.0) -> Path:
    path.write_bytes(pfm_file_bytes(samples, scale))
    return path


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "colour"])
def test_the_frame_between_two_pfm_images_is_a_pfm_of_their_light_in_their_unit(tmp_path, model, channels):
    """A grey PFM reached PIL as mode F and was refused ("unknown full scale")."""
    a, b = (linear(image) for image in scene(3)[::2])  # (H, W, 3), light up to 3.0
    if channels == 1:
        a, b = a.mean(axis=2, keepdims=True), b.mean(axis=2, keepdims=True)
    prev, next_ = write_pfm(tmp_path / "a.pfm", a, 0.25), write_pfm(tmp_path / "b.pfm", b, 0.25)
    out = tmp_path / "mid.pfm"
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    mid = read_pfm(out)
    assert mid.scale == 0.25 and mid.samples.shape == a.shape  # grey stays Pf, colour PF, the unit kept
    assert np.isfinite(mid.samples).all() and mid.samples.max() > 1.0  # light, not display values
    ends = (to_display(a) + to_display(b)) / 2
    assert np.abs(to_display(mid.samples) - ends).mean() < 0.05
    exr = tmp_path / "mid.exr"
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(exr), "--checkpoint", str(model), "--quiet"]) == 0


def test_pfm_images_go_back_to_their_light_within_the_tone_curves_steps(tmp_path):
    from nlvfi.io import read_picture, write_picture

    samples = np.random.default_rng(4).uniform(0.01, 50, (6, 10, 3)).astype(np.float32)
    picture = read_picture(write_pfm(tmp_path / "a.pfm", samples))
    assert picture.kind.linear and not picture.kind.half and picture.kind.pfm_scale == 1.0
    write_picture(picture.frame, tmp_path / "back.pfm", picture.kind)
    assert np.abs(read_pfm(tmp_path / "back.pfm").samples / samples - 1).max() < 2e-3


def test_pfm_pairs_that_make_no_frame_are_refused_in_one_line_and_nothing_is_written(tmp_path, model, capsys):
    from PIL import Image

    image = scene(2)[0]
    a = write_pfm(tmp_path / "a.pfm", linear(image), 1.0)
    b = write_pfm(tmp_path / "b.pfm", linear(image), 2.0)
    Image.fromarray(image).save(tmp_path / "c.png")
    (tmp_path / "cut.pfm").write_bytes(pfm_file_bytes(linear(image))[:-10])
    cases = [
        ([a, b, tmp_path / "m.pfm"], "different units (PFM scale 1 and 2)"),
        ([a, a, tmp_path / "m.png"], "write it as .exr, .tif or .pfm"),
        ([a, tmp_path / "c.png", tmp_path / "m.pfm"], "make no pair"),
        ([tmp_path / "c.png", tmp_path / "c.png", tmp_path / "m.pfm"], "a .pfm holds floating-point samples"),
        ([a, tmp_path / "cut.pfm", tmp_path / "m.pfm"], "(truncated)"),
    ]
    for (prev, next_, out), said in cases:
        assert cli.main(["interpolate", str(prev), str(next_), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pfm", "b.pfm", "c.png", "cut.pfm"]


def test_a_pfm_sequence_ffmpeg_reads_upside_down_is_refused_by_the_reader_in_one_line(tmp_path):
    """FFmpeg's PFM decoder keeps the rows in file order (bottom first): a repaired video would
    have been upside down. The tools read them through an EXR staging (tests/test_staged_images.py)."""
    folder = tmp_path / "plates"
    folder.mkdir()
    for index, image in enumerate(scene(4)):
        write_pfm(folder / f"plate_{index:04d}.pfm", linear(image))
    import av

    from nlvfi.float_frames import float_samples

    with av.open(str(folder / "plate_0000.pfm")) as container:  # the premise: should FFmpeg flip them one day, read them
        assert np.array_equal(float_samples(next(container.decode(video=0))), linear(scene(1)[0])[::-1])
    from nlvfi.videoio import VideoError, probe

    with pytest.raises(VideoError) as error:
        probe(folder / "plate_%04d.pfm")
    assert "holds PFM images, which FFmpeg reads upside down" in str(error.value) and "\n" not in str(error.value)
