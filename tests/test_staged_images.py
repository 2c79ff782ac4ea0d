"""nlvfi.staged_images: numbered images FFmpeg misreads (half-float TIFF, grey float TIFF, PFM)
read exactly, staged as EXR for the run, their untouched frames bit-identical in the output.

Before, the tools refused them in one line (half: FFmpeg reads them as 16-bit integers; grey:
not at all; PFM: upside down)."""

import json
from pathlib import Path

import numpy as np
import pytest

from nlvfi import cli
from nlvfi.pfm import pfm_file_bytes, read_pfm
from nlvfi.repair import repair_video, summary_text
from nlvfi.resume import input_fingerprint
from nlvfi.staged_images import staged_input, staging_reason

from test_float_frames import linear, read_tiff, write_float_tiff
from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def plates(n: int = 8, duplicates=(4,), channels: int = 3) -> list[np.ndarray]:
    """(H, W, channels) float32 scene-linear frames (light up to 3.0), the frames at ``duplicates`` copies."""
    frames = [linear(image) for image in stutter(scene(n), list(duplicates))]
    if channels == 1:
        frames = [samples.mean(axis=2, keepdims=True) for samples in frames]
    if channels == 2:
        frames = [np.concatenate([samples.mean(axis=2, keepdims=True), np.full(samples.shape[:2] + (1,), 0.5, np.float32)], axis=2)
                  for samples in frames]  # fmt: skip
    return frames


def tiff_sequence(folder: Path, frames: list[np.ndarray], half: bool) -> Path:
    folder.mkdir(parents=True)
    for index, samples in enumerate(frames):
        write_float_tiff(folder / f"plate_{index:04d}.tif", samples, half)
    return folder / "plate_%04d.tif"


def pfm_sequence(folder: Path, frames: list[np.ndarray], first: int = 1001) -> Path:
    folder.mkdir(parents=True)
    for index, samples in enumerate(frames):
        (folder / f"shot.{first + index:04d}.pfm").write_bytes(pfm_file_bytes(samples, 0.5))
    return folder / "shot.%04d.pfm"


def bits(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32).view(np.uint32)


@pytest.mark.parametrize("channels, half, reason, layout", [
    (3, True, "half-float TIFF", "RGB half"),
    (1, False, "grey floating-point TIFF", "grey float"),
    (1, True, "half-float TIFF", "grey half"),
])  # fmt: skip
def test_a_float_tiff_sequence_ffmpeg_misreads_is_repaired_its_untouched_samples_bit_identical(tmp_path, model, channels, half, reason, layout):
    frames = plates(channels=channels)
    frames[6][0, 0, 0], frames[6][0, 1, 0] = np.inf, -0.25  # what a plate may hold
    source = tiff_sequence(tmp_path / "plates", frames, half)
    assert staging_reason(source) == reason
    report = repair_video(source, tmp_path / "out" / "p_%04d.tif", checkpoint=model, progress=False)
    assert report["input"] == str(source) and [r["frame"] for r in report["replaced"]] == [4]
    staged = report["input_staged"]
    assert (staged["reason"], staged["images"], staged["half"], staged["from"]) == (reason, 8, half, str(source))
    assert report["image_sequence"]["tiff_samples"] == layout
    assert f"Its 8 images were read exactly ({reason}, which FFmpeg misreads)" in summary_text(report)
    assert f"{reason} images staged as exr (lossless" in report["video"]["description"]  # not "exr" alone
    for index in range(8):
        dtype, back = read_tiff(tmp_path / "out" / f"p_{index:04d}.tif")
        _, original = read_tiff(tmp_path / "plates" / f"plate_{index:04d}.tif")
        assert dtype == (np.float16 if half else np.float32) and back.shape == original.shape
        assert np.array_equal(bits(back), bits(original)) == (index != 4), index
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "plates"]  # the staging is gone
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"p_{n:04d}.tif" for n in range(8)]


def test_a_pfm_sequence_is_read_right_side_up_and_repaired_losslessly(tmp_path, model):
    """FFmpeg reads PFM rows in file order, bottom first: the repair would have been upside down."""
    frames = plates()
    source = pfm_sequence(tmp_path / "shots", frames)
    report = repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [4] and report["encoder"]["pix_fmt"] == "gbrpf32le"
    assert report["verification"]["untouched_frames_bit_identical"] == 7
    assert report["input_staged"]["pfm_scale"] == 0.5
    from nlvfi.float_frames import float_samples
    from nlvfi.videoio import VideoReader

    with VideoReader(tmp_path / "out.mkv") as reader:
        written = [float_samples(item.frame) for item in reader]
    assert np.array_equal(bits(written[0]), bits(frames[0]))  # top row first, as the PFM means it
    assert not np.array_equal(bits(written[0]), bits(frames[0][::-1]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv", "shots"]


def test_a_half_tiff_sequence_doubles_in_rate_its_input_frames_bit_identical(tmp_path, model, capsys):
    source = tiff_sequence(tmp_path / "plates", plates(5, duplicates=()), half=True)
    out = tmp_path / "fast.mkv"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "its 5 images were read exactly (half-float TIFF, which FFmpeg misreads)" in capsys.readouterr().out
    from nlvfi.videoio import probe

    assert probe(out).pix_fmt == "gbrpf16le"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.mkv", "plates"]


def test_detect_only_reads_a_pfm_sequence_and_names_it_in_the_report(tmp_path, capsys):
    source = pfm_sequence(tmp_path / "shots", plates(8, duplicates=(3, 6)))
    report = tmp_path / "found.json"
    assert cli.main(["repair", str(source), "--detect-only", "--report", str(report), "--quiet"]) == 0
    found = json.loads(report.read_text())
    assert found["input"] == str(source) and found["input_staged"]["reason"] == "PFM"
    assert " PFM images staged as exr (lossless" in found["video"]["description"]
    assert found["detection"]["duplicates"] == [3, 6]
    assert str(source) in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["found.json", "shots"]


@pytest.mark.parametrize("broken, said", [
    ("truncated", "(truncated) (image 3 of 6; 2 read before it)"),
    ("size", "shot.1003.pfm is 32x24, 3 sample(s) a pixel, float; the first image of shot.%04d.pfm is 64x48"),
    ("unit", "shot.1003.pfm holds samples in PFM scale 2, the first image of shot.%04d.pfm in 0.5"),
])  # fmt: skip
def test_a_broken_image_in_a_staged_sequence_is_refused_in_one_line_and_nothing_is_left(tmp_path, model, capsys, broken, said):
    frames = plates(6, duplicates=())
    source = pfm_sequence(tmp_path / "shots", frames)
    third = tmp_path / "shots" / "shot.1003.pfm"
    if broken == "truncated":
        third.write_bytes(third.read_bytes()[:-100])
    elif broken == "size":
        third.write_bytes(pfm_file_bytes(frames[2][:24, :32]))
    else:
        third.write_bytes(pfm_file_bytes(frames[2], 2.0))
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "o.mkv"), "--checkpoint", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shots"]


def test_staging_again_gives_the_same_input_for_the_resume_key(tmp_path):
    """An interrupted run stages again; its resume folder must still match (nlvfi.resume)."""
    source = pfm_sequence(tmp_path / "shots", plates(4, duplicates=()))
    keys = []
    for _ in range(2):
        with staged_input(source, tmp_path / "out.mkv", progress=False) as (readable, staged):
            assert readable.parent == tmp_path / ".out.mkv.nlvfi-staged" and staged["images"] == 4
            keys.append(input_fingerprint(readable))
            assert [read_pfm(source.parent / f"shot.{n:04d}.pfm").samples.shape for n in (1001, 1004)] == [(48, 64, 3)] * 2
    assert keys[0] == keys[1]
    assert not (tmp_path / ".out.mkv.nlvfi-staged").exists()


def test_other_inputs_are_read_as_they_are(tmp_path):
    source = tiff_sequence(tmp_path / "plates", plates(3, duplicates=()), half=False)  # 32-bit colour: FFmpeg reads it right
    assert staging_reason(source) is None and staging_reason(tmp_path / "missing_%04d.pfm") is None
    with staged_input(source, tmp_path / "out.mkv") as (readable, staged):
        assert readable == source and staged is None


def test_an_error_after_staging_names_the_input_as_given(tmp_path, model, capsys):
    source = pfm_sequence(tmp_path / "shots", plates(4, duplicates=()))
    out = tmp_path / "new" / "f_%04d.png"  # PNG cannot hold floats; its folder does not exist yet
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{source} holds floating-point (scene-linear) samples" in err and "staged" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shots"]


def test_an_interrupted_run_on_staged_images_goes_on_from_what_it_kept(tmp_path, model, monkeypatch):
    """The staging goes whatever happens; the next run stages again and its resume key still matches."""
    import nlvfi.image_sequence as image_sequence_module

    source = tiff_sequence(tmp_path / "plates", plates(10, duplicates=(4,)), half=True)
    out = tmp_path / "o" / "%03d.tif"
    (tmp_path / "o").mkdir()

    def interrupted(video, target, staging, progress=True):
        raise KeyboardInterrupt

    monkeypatch.setattr(image_sequence_module, "export_float_tiff_sequence", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repair_video(source, out, checkpoint=model, progress=False)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [".03d.tif.nlvfi.mkv.nlvfi-resume"]  # no staging left
    monkeypatch.undo()
    report = repair_video(source, out, checkpoint=model, progress=False)
    assert report["resume"]["measurements_reused"] and report["resume"]["runs_reused"] == 1
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [f"{n:03d}.tif" for n in range(10)]


@pytest.mark.parametrize("kind", ["pfm", "half-tiff"])
def test_floating_point_input_comes_back_as_pfm_images_in_its_unit_untouched_samples_bit_identical(tmp_path, model, kind):
    """PFM in, PFM out: the images a PFM pipeline reads, grey or RGB, in the input's unit."""
    frames = plates(8, duplicates=(4,), channels=1 if kind == "pfm" else 3)
    if kind == "pfm":
        source, first, scale = pfm_sequence(tmp_path / "shots", frames), 1001, 0.5
        originals = [read_pfm(tmp_path / "shots" / f"shot.{first + n:04d}.pfm").samples for n in range(8)]
    else:
        source, first, scale = tiff_sequence(tmp_path / "shots", frames, half=True), 0, 1.0
        originals = [read_tiff(tmp_path / "shots" / f"plate_{n:04d}.tif")[1] for n in range(8)]  # half widened
    report = repair_video(source, tmp_path / "out" / "f_%04d.pfm", checkpoint=model, progress=False)
    sequence = report["image_sequence"]
    layout = "grey float" if kind == "pfm" else "RGB float (from half, widened exactly)"
    assert (sequence["pfm_samples"], sequence["pfm_scale"], sequence["read_back_identical"]) == (layout, scale, 8)
    assert "Written as 8 PFM images" in summary_text(report)
    for n in range(8):
        back = read_pfm(tmp_path / "out" / f"f_{first + n:04d}.pfm")
        assert back.scale == scale and back.samples.shape == originals[n].shape
        assert np.array_equal(bits(back.samples), bits(originals[n])) == (n != 4), n


def test_pfm_images_are_only_for_floating_point_input_without_alpha(tmp_path, model, capsys):
    from PIL import Image

    (tmp_path / "png").mkdir()
    for index, image in enumerate(scene(4)):
        Image.fromarray(image).save(tmp_path / "png" / f"p_{index:04d}.png")
    rgba = tiff_sequence(tmp_path / "rgba", [np.concatenate([f, np.full(f.shape[:2] + (1,), 0.5, np.float32)], axis=2)
                                             for f in plates(4, duplicates=())], half=True)  # fmt: skip
    cases = [(tmp_path / "png" / "p_%04d.png", "PFM images hold scene-linear floating-point light"),
             (rgba, "has alpha, which PFM images cannot hold")]  # fmt: skip
    for source, said in cases:
        assert cli.main(["repair", str(source), "-o", str(tmp_path / "out" / "f_%04d.pfm"), "--checkpoint", str(model), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["png", "rgba"]
