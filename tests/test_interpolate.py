"""`nlvfi interpolate`: an image pair, a CSV batch, video x2/x4; batched generation; memory;
tiles (--tile, automatic when a frame does not fit the budget) and --compile.

Untrained tiny generator saved in a temporary folder; the images and clips are made here.
"""

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from PIL import Image

import nlvfi
from nlvfi import cli
from nlvfi import interpolate as interp
from nlvfi.interpolate import frames_per_call, generate, load_model, main, memory_needed, read_batch_csv
from nlvfi.tiling import tiled_forward
from nlvfi.videoio import VideoError, VideoReader, frame_content, probe, write_video

H, W = 40, 56


pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


@pytest.fixture(autouse=True)
def plan_as_for_glibc_as_it_comes(monkeypatch):
    """An earlier test's CLI may have kept the freed memory in this process (nlvfi.acceleration),
    which the CPU's plan asks about; tests of that case say so themselves."""
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)


def image(seed, h=H, w=W):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def pair(tmp_path):
    Image.fromarray(image(0)).save(tmp_path / "a.png")
    Image.fromarray(image(1)).save(tmp_path / "b.png")
    return tmp_path / "a.png", tmp_path / "b.png"


def test_pair_writes_a_frame_of_the_same_size(tmp_path, pair, model, capsys):
    out = tmp_path / "mid.png"
    assert main([str(pair[0]), str(pair[1]), "-o", str(out), "--t", "0.25", "--checkpoint", str(model)]) == 0
    assert "t = 0.25" in capsys.readouterr().out
    assert np.asarray(Image.open(out)).shape == (H, W, 3)


def test_pair_matches_the_generator(tmp_path, pair, model):
    out = tmp_path / "mid.png"
    main([str(pair[0]), str(pair[1]), "-o", str(out), "--t", "0.3", "--checkpoint", str(model)])
    generator = nlvfi.load_generator(model).eval()
    prev, next = (torch.from_numpy(image(s)).permute(2, 0, 1)[None].float() / 255 for s in (0, 1))
    with torch.inference_mode():
        expected = (generator(prev, next, t=0.3).frame[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(np.asarray(Image.open(out)).astype(float) - expected).max() <= 1


def test_pair_with_the_flow_scale_and_static_blending_matches_the_generator(tmp_path, pair, model):
    out = tmp_path / "mid.png"
    argv = [str(pair[0]), str(pair[1]), "-o", str(out), "--t", "0.3", "--checkpoint", str(model)]
    assert main(argv + ["--flow-scale", "auto", "--static-motion", "0.5"]) == 0
    generator = nlvfi.load_generator(model).eval()
    prev, next = (torch.from_numpy(image(s)).permute(2, 0, 1)[None].float() / 255 for s in (0, 1))
    with torch.inference_mode():
        frame = generator(prev, next, t=0.3, flow_scale=2, static_motion=0.5).frame  # 56x40: auto is 2
    expected = (frame[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(np.asarray(Image.open(out)).astype(float) - expected).max() <= 1


def test_a_grey_and_an_rgba_image_give_an_rgba_frame_with_the_blended_alpha(tmp_path, model):
    Image.fromarray(image(0)[..., 0]).save(tmp_path / "gray.png")  # opaque
    Image.fromarray(np.dstack([image(1), np.full((H, W), 128, np.uint8)])).save(tmp_path / "alpha.png")
    command = [str(tmp_path / "gray.png"), str(tmp_path / "alpha.png"), "-o", str(tmp_path / "m.png"), "--t", "0.25", "--checkpoint", str(model)]
    assert main(command) == 0
    with Image.open(tmp_path / "m.png") as out:  # colour (one of the two is), alpha (one of the two has it)
        assert out.mode == "RGBA"
        assert np.unique(np.asarray(out)[..., 3]).tolist() == [round(0.75 * 255 + 0.25 * 128)]  # (1 - t) 255 + t 128
    assert main([*command[:3], str(tmp_path / "m.jpg"), *command[4:]]) == 0
    assert Image.open(tmp_path / "m.jpg").mode == "RGB"  # JPEG holds no alpha


def test_images_keep_grey_depth_and_alpha_where_the_format_holds_them(tmp_path, model):
    rng = np.random.default_rng(3)
    grey = [rng.integers(0, 256, (H, W), dtype=np.uint8) for _ in range(2)]
    sprites = [np.dstack([image(s), rng.integers(0, 256, (H, W), dtype=np.uint8)]) for s in (0, 1)]
    for name, arrays, mode in (("grey", grey, "L"), ("sprite", sprites, "RGBA")):
        for n, array in enumerate(arrays):
            Image.fromarray(array).save(tmp_path / f"{name}{n}.png")
        out = tmp_path / f"{name}-mid.png"
        assert main([str(tmp_path / f"{name}0.png"), str(tmp_path / f"{name}1.png"), "-o", str(out), "--checkpoint", str(model)]) == 0
        with Image.open(out) as written:
            assert written.mode == mode
            if mode == "RGBA":
                blended = (arrays[0][..., 3].astype(float) + arrays[1][..., 3]) / 2
                assert np.abs(np.asarray(written)[..., 3] - blended).max() <= 0.5 + 1e-9
    # 16-bit colour with alpha (a render's PNG): PIL reads it as 8 bits; FFmpeg reads and writes it whole
    deep = [np.dstack([grey16(s), grey16(s + 5), grey16(s + 9), grey16(s + 13)]) for s in (0, 1)]  # (H, W, 4) uint16
    for n, array in enumerate(deep):
        (tmp_path / f"deep{n}.png").write_bytes(nlvfi.io.png_bytes(array[..., :3], array[..., 3]))
    picture = nlvfi.io.read_picture(tmp_path / "deep0.png")
    assert picture.kind == nlvfi.io.ImageKind(grey=False, deep=True, alpha=True)
    assert np.array_equal(np.round(picture.frame[0].permute(1, 2, 0).numpy() * 65535), deep[0][..., :3])  # every level
    assert np.array_equal(np.round(picture.alpha * 65535), deep[0][..., 3])
    out = tmp_path / "deep-mid.png"
    assert main([str(tmp_path / "deep0.png"), str(tmp_path / "deep1.png"), "-o", str(out), "--t", "0.5", "--checkpoint", str(model)]) == 0
    written = nlvfi.io.read_picture(out)
    assert written.kind == picture.kind
    assert np.abs(written.alpha * 65535 - (deep[0][..., 3].astype(float) + deep[1][..., 3]) / 2).max() <= 0.5 + 1e-6


def test_a_16_bit_grey_pair_with_alpha_gives_16_bit_grey_with_alpha(tmp_path, model):
    # (a scan's or a mask's PNG): before, the frame came out as 16-bit RGBA, the grey three times
    for n in range(2):
        (tmp_path / f"ga{n}.png").write_bytes(nlvfi.io.grey_alpha_png_bytes(grey16(n), grey16(n + 7)))
    picture = nlvfi.io.read_picture(tmp_path / "ga0.png")
    assert picture.kind == nlvfi.io.ImageKind(grey=True, deep=True, alpha=True)
    assert np.array_equal(np.round(picture.alpha * 65535), grey16(7))  # every level of both
    assert np.array_equal(np.round(picture.frame[0, 0].numpy() * 65535), grey16(0))
    out = tmp_path / "mid.png"
    assert main([str(tmp_path / "ga0.png"), str(tmp_path / "ga1.png"), "-o", str(out), "--checkpoint", str(model)]) == 0
    head = out.read_bytes()[:26]
    assert (head[24], head[25]) == (16, 4)  # IHDR: 16 bits, grey + alpha
    written = nlvfi.io.read_picture(out)
    assert written.kind == picture.kind
    assert np.abs(written.alpha * 65535 - (grey16(7).astype(float) + grey16(8)) / 2).max() <= 0.5 + 1e-6


def grey16(seed, h=H, w=W):
    return np.random.default_rng(seed).integers(0, 65536, (h, w), dtype=np.uint16)


def test_16_bit_grey_pair_gives_a_16_bit_grey_frame_at_the_inputs_scale(tmp_path, model):
    Image.fromarray(grey16(0)).save(tmp_path / "a.png")  # mode I;16
    Image.fromarray(grey16(1).astype(np.int32)).save(tmp_path / "b.tif")  # mode I, 16-bit values
    generator = nlvfi.load_generator(model).eval()
    prev, next = (torch.from_numpy(grey16(s) / 65535).float().expand(1, 3, H, W) for s in (0, 1))  # (1, 3, H, W)
    with torch.inference_mode():
        expected = generator(prev, next, t=0.5).frame[0].mean(0).numpy()  # (H, W), grey = channel mean
    for name in ("m.png", "m.tif"):
        assert main([str(tmp_path / "a.png"), str(tmp_path / "b.tif"), "-o", str(tmp_path / name), "--checkpoint", str(model)]) == 0
        with Image.open(tmp_path / name) as out:
            assert out.mode == "I;16"
            assert np.abs(np.asarray(out).astype(float) - expected * 65535).max() <= 2
    assert main([str(tmp_path / "a.png"), str(tmp_path / "b.tif"), "-o", str(tmp_path / "m.bmp"), "--checkpoint", str(model)]) == 0
    written = np.asarray(Image.open(tmp_path / "m.bmp")).astype(float)  # (H, W): BMP holds 8 bits only, grey still
    assert np.abs(written - expected * 255).max() <= 1.5


@pytest.mark.parametrize(
    "name, array, message",
    [  # a float TIFF or PFM holds scene-linear light, as OpenEXR does (tests/test_float_frames.py, tests/test_pfm.py)
        ("a.spider", np.full((H, W), 0.5, np.float32), r"a.spider is a 32-bit float image \(PIL mode F\) of unknown full scale"),
        ("a.tif", np.full((H, W), 70000, np.int32), r"a.tif holds 32-bit integers \(70000 to 70000\), beyond 16 bits"),
    ],
    ids=["float", "int32"],
)
def test_images_of_unknown_scale_are_refused_in_one_line(tmp_path, pair, model, capsys, name, array, message):
    Image.fromarray(array).save(tmp_path / name, format="SPIDER" if name.endswith(".spider") else None)
    assert main([str(tmp_path / name), str(pair[1]), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "m.png").exists()


def test_odd_sizes_are_handled(tmp_path, model):
    for name, seed in (("a", 0), ("b", 1)):
        Image.fromarray(image(seed, 33, 47)).save(tmp_path / f"{name}.png")
    assert main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model)]) == 0
    assert np.asarray(Image.open(tmp_path / "m.png")).shape == (33, 47, 3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["{a}", "{dir}/nope.png", "-o", "{dir}/m.png"], "no such image"),
        (["{a}", "{b}", "-o", "{a}"], "is the input"),
        (["{a}", "{b}", "-o", "{dir}/m.png", "--t", "1.5"], r"t must lie in \[0, 1\]"),
        (["{a}", "{b}", "-o", "{dir}/m.png", "--flow-scale", "4"], r"--flow-scale must be auto, 1 or 2, got '4'"),
        (["{a}", "{b}", "-o", "{dir}/m.png", "--static-motion", "-2"], r"--static-motion must be a number of pixels >= 0"),
        (["{a}", "{b}", "-o", "{dir}/m.txt"], "must be an image"),
        (["{a}", "{b}"], "missing -o"),
        (["{a}", "{small}", "-o", "{dir}/m.png"], "must have the same size"),
        (["{a}", "{b}", "-o", "{dir}/m.png", "--checkpoint", "{dir}/none.safetensors"], "checkpoint not found"),
        (["{a}", "{b}", "-o", "{dir}/m.png", "--checkpoint", "{a}"], "not a safetensors file"),
        (["{a}", "-o", "{dir}/v.mkv"], "is an image"),
        ([], "give PREV NEXT"),
    ],
)
def test_bad_input_one_line_error(tmp_path, pair, model, capsys, args, message):
    Image.fromarray(image(2, 20, 20)).save(tmp_path / "small.png")
    before = pair[0].read_bytes()
    values = {"a": pair[0], "b": pair[1], "dir": tmp_path, "small": tmp_path / "small.png"}
    argv = [a.format(**values) for a in args]
    if "--checkpoint" not in argv:
        argv += ["--checkpoint", str(model)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nlvfi interpolate: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "m.png").exists() and pair[0].read_bytes() == before


def test_batch_csv_loads_the_model_once(tmp_path, pair, model, monkeypatch, capsys):
    (tmp_path / "pairs.csv").write_text("prev,next,out\n# a comment\na.png,b.png,out/ab.png\n\nb.png,a.png,out/ba.png,0.75\n")
    calls = []
    original = interp.load_generator
    monkeypatch.setattr(interp, "load_generator", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert main(["--batch", str(tmp_path / "pairs.csv"), "--checkpoint", str(model), "--quiet"]) == 0
    assert calls == [1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ab.png", "ba.png"]
    assert "wrote 2 frames" in capsys.readouterr().out


def test_batched_pairs_equal_one_by_one(tmp_path, pair, model):
    generator = nlvfi.load_generator(model).eval()
    jobs = [interp.PairJob(pair[0], pair[1], tmp_path / f"{i}.png", t) for i, t in enumerate((0.2, 0.5, 0.8))]
    interp.interpolate_images(jobs, generator, batch_size=3)
    together = [np.asarray(Image.open(j.out)) for j in jobs]
    interp.interpolate_images(jobs, generator, batch_size=1)
    alone = [np.asarray(Image.open(j.out)) for j in jobs]
    assert all(np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(together, alone))


def test_batch_csv_is_checked_before_anything_runs(tmp_path, pair):
    (tmp_path / "bad.csv").write_text("a.png,b.png,out/1.png\na.png,missing.png,out/2.png\n")
    with pytest.raises(FileNotFoundError, match=r"bad.csv:2: no such image"):
        read_batch_csv(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("a.png,b.png\n")
    with pytest.raises(ValueError, match="expected prev,next,out"):
        read_batch_csv(tmp_path / "cols.csv")
    (tmp_path / "t.csv").write_text("a.png,b.png,o.png,2\n")
    with pytest.raises(ValueError, match=r"t.csv:1: t must lie"):
        read_batch_csv(tmp_path / "t.csv")
    (tmp_path / "empty.csv").write_text("# nothing\n")
    with pytest.raises(ValueError, match="lists no pairs"):
        read_batch_csv(tmp_path / "empty.csv")
    assert not (tmp_path / "out").exists()


def test_outputs_that_cannot_be_written_are_refused_before_the_model_runs(tmp_path, pair, model, capsys):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    source = write_video(tmp_path / "in.mkv", clip_frames(3), 10)
    for argv, message in (
        ([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "notes.txt" / "m.png")], "cannot write the output .*notes.txt is not a folder"),
        ([str(source), "-o", str(tmp_path / "notes.txt" / "v.mkv"), "--factor", "2"], "cannot write the output .*notes.txt is not a folder"),
    ):
        assert main([*argv, "--checkpoint", str(model), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and re.search(message, err), err
    (tmp_path / "bad.csv").write_text("a.png,b.png,out/1.png\na.png,b.png,out/2.png\nb.png,a.png,notes.txt/3.png\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: cannot write the output .*notes.txt is not a folder"):
        read_batch_csv(tmp_path / "bad.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "bad.csv", "in.mkv", "notes.txt"]


def test_batch_csv_with_a_byte_order_mark_reads_the_first_path(tmp_path, pair):
    (tmp_path / "bom.csv").write_text("\ufeffa.png,b.png,out/1.png\n", encoding="utf-8")  # as Excel writes "CSV UTF-8"
    assert [job.prev for job in read_batch_csv(tmp_path / "bom.csv")] == [pair[0]]
    (tmp_path / "header.csv").write_text("\ufeffprev,next,out\na.png,b.png,out/1.png\n", encoding="utf-8")
    assert [job.line for job in read_batch_csv(tmp_path / "header.csv")] == [2]


def test_batch_csv_refuses_two_lines_writing_one_file_before_loading_the_model(tmp_path, pair, capsys):
    (tmp_path / "same.csv").write_text("a.png,b.png,out/x.png\nb.png,a.png,out/x.png\n")
    with pytest.raises(ValueError, match=r"same.csv:2: output .*x.png is also the output of line 1"):
        read_batch_csv(tmp_path / "same.csv")
    (tmp_path / "spelt.csv").write_text("a.png,b.png,out/x.png\n# two ways to name one file\nb.png,a.png,out/../out/./x.png\n")
    with pytest.raises(ValueError, match=r"spelt.csv:3: output .*x.png is also the output of line 1"):
        read_batch_csv(tmp_path / "spelt.csv")
    argv = ["--batch", str(tmp_path / "spelt.csv"), "--checkpoint", str(tmp_path / "none.safetensors")]
    assert main(argv) == 2  # the CSV is refused, not the (missing) checkpoint: no model work was done
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "spelt.csv:3: output" in err and "line 1" in err, err
    assert not (tmp_path / "out").exists()


def test_batch_csv_refuses_an_output_that_another_line_reads(tmp_path, pair, capsys):
    (tmp_path / "c.png").write_bytes(pair[0].read_bytes())
    (tmp_path / "chain.csv").write_text("a.png,b.png,out/m.png\nb.png,c.png,a.png\n")  # line 2 would overwrite line 1's input
    with pytest.raises(ValueError, match=r"chain.csv:2: output .*a.png is an input of line 1; an input is never overwritten"):
        read_batch_csv(tmp_path / "chain.csv")
    before = pair[0].read_bytes()
    assert main(["--batch", str(tmp_path / "chain.csv"), "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert pair[0].read_bytes() == before and not (tmp_path / "out").exists()


def test_batch_csv_that_is_not_utf8_is_refused_in_one_line(tmp_path, pair, capsys):
    (tmp_path / "ansi.csv").write_bytes("a.png,b.png,out/1.png\na.png,b.png,out/caf\u00e9.png\n".encode("cp1252"))  # as Excel's "CSV" writes it
    with pytest.raises(ValueError, match=r"ansi.csv:2: not UTF-8 text \(byte 0xe9\); save the CSV as UTF-8"):
        read_batch_csv(tmp_path / "ansi.csv")
    assert main(["--batch", str(tmp_path / "ansi.csv"), "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_generate_batches_times_like_single_calls(model):
    generator = nlvfi.load_generator(model).eval()
    prev, next = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    together = generate(generator, prev, next, [0.25, 0.5, 0.75])  # (3, 3, 24, 40)
    assert together.shape == (3, 3, 24, 40)
    for i, t in enumerate((0.25, 0.5, 0.75)):
        alone = generate(generator, prev, next, [t], max_batch=1)
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-4, rtol=1e-4)
    split = generate(generator, prev, next, [0.25, 0.5, 0.75], max_batch=2)
    torch.testing.assert_close(split, together, atol=1e-4, rtol=1e-4)


def test_memory_estimate_and_refusal(model):
    generator = nlvfi.load_generator(model)
    assert memory_needed(generator, 1080, 1920, 2) == 2 * memory_needed(generator, 1080, 1920, 1)
    assert memory_needed(generator, 1080, 1920) > 3 * 1024**3  # ~3 GB for the tiny model, as measured
    assert frames_per_call(generator, 48, 64, 10 * memory_needed(generator, 48, 64), torch.device("cpu")) == 10
    with pytest.raises(VideoError, match=r"a 7680x4320 frame needs about \d+\.\d GB for the tiny model on cpu"):
        frames_per_call(generator, 4320, 7680, 8 * 1024**3, torch.device("cpu"))


def test_load_model_errors(tmp_path):
    with pytest.raises(ValueError, match="checkpoint not found"):
        load_model(tmp_path / "none.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a safetensors file"):
        load_model(tmp_path / "junk.safetensors")


@pytest.mark.parametrize(
    "device, message",
    [
        ("meta", r"--device meta: nlvfi cannot run on meta devices; use auto, cpu, cuda, cuda:N or mps"),
        ("gpu", r"--device gpu: not a device name; use auto, cpu, cuda, cuda:N or mps"),
        ("cuda:x", r"--device cuda:x: not a device name"),
    ],
    ids=["meta", "gpu", "cuda:x"],
)
def test_a_device_that_cannot_run_the_model_is_refused_naming_the_device(tmp_path, pair, model, capsys, device, message):
    assert main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model), "--device", device]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert "checkpoint" not in err and "corrupt" not in err and not (tmp_path / "m.png").exists()


def test_a_cuda_index_beyond_the_gpus_present_is_refused(model, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"--device cuda:2: this machine has 2 CUDA GPUs \(cuda:0 to cuda:1\)"):
        load_model(model, "cuda:2")


# --------------------------------------------------------------------------------------------
# Tiles and torch.compile (--tile, --overlap, --compile)


def test_tile_flag_gives_the_tiled_result(tmp_path, pair, model):
    out = tmp_path / "mid.png"
    assert main([str(pair[0]), str(pair[1]), "-o", str(out), "--tile", "32", "--overlap", "16", "--checkpoint", str(model)]) == 0
    generator = nlvfi.load_generator(model).eval()
    prev, next = (torch.from_numpy(image(s)).permute(2, 0, 1)[None].float() / 255 for s in (0, 1))
    with torch.inference_mode():
        expected = tiled_forward(generator, prev, next, 0.5, 32, 16)[0].permute(1, 2, 0).numpy() * 255
        whole = generator(prev, next, t=0.5).frame[0].permute(1, 2, 0).numpy() * 255
    written = np.asarray(Image.open(out)).astype(float)
    assert np.abs(written - expected.round()).max() <= 1
    assert np.abs(expected - whole).max() > 1  # 32-px tiles do change this untrained model's output


def test_frames_too_large_for_the_budget_are_tiled_automatically(tmp_path, model, monkeypatch):
    for name, seed in (("a", 0), ("b", 1)):
        Image.fromarray(image(seed, 288, 400)).save(tmp_path / f"{name}.png")
    generator = nlvfi.load_generator(model)
    budget = 0.15 * 1024**3  # whole: ~187 MB by the estimate; tiles of 256 px: ~142 MB
    assert memory_needed(generator, 288, 400) > budget >= interp.memory_needed_tiled(generator, 288, 400, 256)
    plan = interp.plan_inference(generator, 288, 400, int(budget), torch.device("cpu"))
    assert (plan.tile, plan.overlap) == (256, 128)
    calls = []
    original = interp.tiled_forward
    monkeypatch.setattr(interp, "tiled_forward", lambda *a, **k: calls.append(a[4:]) or original(*a, **k))
    argv = [str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model)]
    assert main(argv + ["--max-memory-gb", "0.15"]) == 0
    assert calls == [(256, 128, 0.0, None, 1, None)]  # tile, overlap, static blending, flow guesses, flow scale, still pair: off / 1x in `interpolate` by default
    assert np.asarray(Image.open(tmp_path / "m.png")).shape == (288, 400, 3)
    calls.clear()
    assert main(argv + ["--max-memory-gb", "0.15", "--tile", "0"]) == 2  # tiles turned off: refused
    assert main(argv) == 0 and calls == []  # the default budget fits the whole frame


@pytest.mark.parametrize(
    "height, width, requested, expected",
    [(576, 768, "auto", 2), (48, 64, "auto", 2), (577, 768, "auto", 1), (1080, 1920, "auto", 1), (1080, 1920, 2, 2), (48, 64, 1, 1)],
)
def test_flow_scale_auto_is_2_up_to_768x576(height, width, requested, expected):
    assert interp.flow_scale_for(height, width, requested) == expected


def test_flow_scale_auto_without_a_prior_is_1_and_an_asked_scale_stays():
    assert interp.flow_scale_for(288, 384, "auto", has_prior=False) == 1
    assert interp.flow_scale_for(288, 384, 2, has_prior=False) == 2


def test_plan_carries_the_flow_scale_and_static_blending_for_whole_frames_and_tiles(model):
    generator = nlvfi.load_generator(model)
    cpu = torch.device("cpu")
    plan = interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu, flow_scale="auto", static_motion=0.5)
    assert (plan.flow_scale, plan.static_motion) == (2, 0.5) and "flow on 2x enlarged frames" in plan.describe()
    assert (interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu).flow_scale) == 1  # the library default: as trained
    tiled = interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu, tile=128, flow_scale=2, static_motion=0.5)
    assert (tiled.tile, tiled.flow_scale, tiled.static_motion) == (128, 2, 0.5) and "flow on 2x" in tiled.describe()
    auto = interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu, tile=128, flow_scale="auto")
    assert auto.flow_scale == 2  # auto decides by the frame's size, tiled or not
    with pytest.raises(ValueError, match="--flow-scale must be auto, 1 or 2, got 3"):
        interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu, tile=128, flow_scale=3)
    with pytest.raises(ValueError, match="--static-motion must be a number of pixels >= 0"):
        interp.plan_inference(generator, 288, 384, 8 * 1024**3, cpu, static_motion=-1.0)


def test_forward_frames_pass_the_plans_options_to_the_generator(model):
    generator = nlvfi.load_generator(model).eval()
    torch.manual_seed(3)
    prev, next = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    t = torch.tensor([0.5])
    plan = interp.Plan(per_call=1, flow_scale=2, static_motion=0.5)
    with torch.inference_mode():
        expected = generator(prev, next, t=t, flow_scale=2, static_motion=0.5).frame
        assert torch.equal(interp.forward_frames(generator, prev, next, t, plan), expected)
        assert not torch.equal(interp.forward_frames(generator, prev, next, t, interp.Plan(per_call=1)), expected)


def test_plan_refuses_what_fits_neither_whole_nor_tiled(model, monkeypatch):
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)  # glibc as it comes (an earlier test's CLI may have kept it)
    generator = nlvfi.load_generator(model)
    with pytest.raises(VideoError, match=r"3840x2160 frame needs about 12.5 GB for the tiny model on cpu \(in tiles of 256 px about 2.6 GB\)"):
        interp.plan_inference(generator, 2160, 3840, 1024**3, torch.device("cpu"))
    with pytest.raises(VideoError, match="in tiles of 1024 px needs about"):
        interp.plan_inference(generator, 2160, 3840, 1024**3, torch.device("cpu"), tile=1024)
    plan = interp.plan_inference(generator, 2160, 3840, 8 * 1024**3, torch.device("cuda"))  # planned, not run: no GPU needed
    assert plan.tile == 1024 and plan.per_call == 1 and "tiles of 1024 px" in plan.describe()
    assert interp.plan_inference(generator, 2160, 3840, 8 * 1024**3, torch.device("cpu")).tile == interp.CPU_TILE  # faster there


def test_on_the_cpu_large_frames_go_in_tiles_even_where_whole_frames_fit(model, monkeypatch):
    """With glibc's malloc as it comes, the tiny model's 512-px tiles ran as fast as whole frames at
    2560x1440 on the CPU and 1.5x as fast at 3840x2160, whole frames the faster at 1920x1080
    (results/cpu_memory_given_back.md); the GPU keeps whole frames, and --tile 0 or N wins."""
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)
    generator = nlvfi.load_generator(model)
    cpu, cuda, plenty = torch.device("cpu"), torch.device("cuda"), 1 << 45
    assert interp.plan_inference(generator, 1440, 2560, plenty, cpu).tile == 512
    assert interp.plan_inference(generator, 2160, 3840, plenty, cpu).tile == 512
    assert interp.plan_inference(generator, 1440, 2559, plenty, cpu).tile is None  # below the size measured
    assert interp.plan_inference(generator, 1080, 1920, plenty, cpu).tile is None  # whole frames the faster there
    assert interp.plan_inference(generator, 720, 1280, plenty, cpu).tile is None
    assert interp.plan_inference(generator, 2160, 3840, plenty, cuda).tile is None
    assert interp.plan_inference(generator, 2160, 3840, plenty, cpu, tile=0).tile is None
    assert interp.plan_inference(generator, 2160, 3840, plenty, cpu, tile=1024).tile == 1024
    budget = interp.memory_needed_tiled(generator, 2160, 3840, 384) + 1  # 512 does not fit: a smaller tile
    assert interp.plan_inference(generator, 2160, 3840, budget, cpu).tile == 384


def test_with_freed_memory_kept_the_cpu_plans_whole_frames_where_they_fit(model, monkeypatch):
    """results/cpu_tiles.md: with the memory each call frees kept (as the tools ask), whole frames
    are the faster on the CPU, 1.85x at 1920x1080 and 1.68x at 3840x2160; tiles only where they do not fit."""
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: True)
    generator = nlvfi.load_generator(model)
    cpu, plenty = torch.device("cpu"), 1 << 45
    assert interp.plan_inference(generator, 1080, 1920, plenty, cpu).tile is None
    assert interp.plan_inference(generator, 2160, 3840, plenty, cpu).tile is None
    given = []
    monkeypatch.setattr(interp, "give_back_freed_cpu_memory", lambda: given.append(1) or True)
    tight = interp.memory_needed(generator, 2160, 3840, 1, cpu) - 1  # a whole 4K frame does not fit kept: kept tiles
    plan = interp.plan_inference(generator, 2160, 3840, tight, cpu)
    assert not plan.gave_back and plan.tile == max(interp.AUTO_TILES) and given == []


@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_a_kept_cpu_heap_is_planned_with_its_growth(size, monkeypatch):
    """results/cpu_memory.md: with the freed memory kept, a call's peak on the CPU grew past the
    live memory the estimates were measured with; the CPU's plan counts it (KEPT_HEAP_FACTOR), other
    devices and a process that does not keep the memory are planned as before."""
    generator = nlvfi.build_generator(size)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    live, live_tiled = memory_needed(generator, 1080, 1920), interp.memory_needed_tiled(generator, 1080, 1920, 512)
    factor = interp.KEPT_HEAP_FACTOR[size]
    assert factor > 1
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)
    assert memory_needed(generator, 1080, 1920, 1, cpu) == live and interp.memory_needed_tiled(generator, 1080, 1920, 512, device=cpu) == live_tiled
    assert interp.plan_inference(generator, 1080, 1920, live, cpu, tile=0).per_call == 1
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: True)
    assert memory_needed(generator, 1080, 1920, 1, cpu) == int(live * factor)
    assert memory_needed(generator, 1080, 1920, 2, cpu) == int(2 * live * factor)
    assert memory_needed(generator, 1080, 1920, 1, cpu, kept=False) == live  # the estimate with it given back
    assert interp.memory_needed_tiled(generator, 1080, 1920, 512, device=cpu) == int(live_tiled * factor)
    assert memory_needed(generator, 1080, 1920, 1, cuda) == live and memory_needed(generator, 1080, 1920) == live
    assert frames_per_call(generator, 1080, 1920, 3 * int(live * factor), cpu) == 3
    plan = interp.plan_inference(generator, 1080, 1920, int(live * factor), cpu)
    assert plan.tile is None and not plan.gave_back  # it fits kept


@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_where_nothing_fits_the_kept_heap_the_cpu_gives_it_back_instead_of_refusing(size, monkeypatch):
    """Kept tiles first: through ``nlvfi repair`` at 1920x1080 they were faster than whole frames
    with the memory given back (``full``, 9 GB: 61-62 s against 87-98 s; results/cpu_memory_given_back.md).
    Where not even the smallest tile fits with the kept heap's growth, the plan gives the kept memory
    back and runs as without it (tiles that fit so, or whole frames) instead of refusing; a
    refusal then names the least it needs given back."""
    generator = nlvfi.build_generator(size)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    live, factor = memory_needed(generator, 1080, 1920), interp.KEPT_HEAP_FACTOR[size]
    smallest = min(interp.AUTO_TILES)
    least_kept = interp.memory_needed_tiled(generator, 1080, 1920, smallest, device=cpu, kept=True)
    least = interp.memory_needed_tiled(generator, 1080, 1920, smallest, device=cpu, kept=False)
    assert least < least_kept
    given = []
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: True)
    monkeypatch.setattr(interp, "give_back_freed_cpu_memory", lambda: given.append(1) or True)
    plan = interp.plan_inference(generator, 1080, 1920, live + (int(live * factor) - live) // 2, cpu)  # whole fits only given back
    assert not plan.gave_back and plan.tile is not None and given == []  # kept, in tiles
    assert interp.memory_needed_tiled(generator, 1080, 1920, plan.tile, device=cpu, kept=True) <= live + (int(live * factor) - live) // 2
    forced = interp.plan_inference(generator, 1080, 1920, live, cpu, tile=0)  # whole frames asked for: they fit only given back
    assert forced.gave_back and forced.tile is None and forced.per_call == 1 and given == [1]
    assert "the memory each call frees goes back to the system" in forced.describe()
    budget = (least + least_kept) // 2  # no tile fits kept
    plan = interp.plan_inference(generator, 1080, 1920, budget, cpu)
    assert plan.gave_back and plan.tile is not None and given == [1, 1]
    assert interp.memory_needed_tiled(generator, 1080, 1920, plan.tile, device=cpu, kept=False) <= budget
    assert not interp.plan_inference(generator, 1080, 1920, budget, cuda).gave_back and len(given) == 2  # the GPU: as before
    message = rf"1920x1080 frame needs about {interp.format_bytes(live)} for the {size} model on cpu \(in tiles of {smallest} px about"
    with pytest.raises(VideoError, match=message):  # the least it needs: as given back
        interp.plan_inference(generator, 1080, 1920, least - 1, cpu)
    with pytest.raises(VideoError, match=rf"needs about {interp.format_bytes(live)} for the {size} model on cpu, more than"):
        interp.plan_inference(generator, 1080, 1920, live - 1, cpu, tile=0)
    assert len(given) == 2  # nothing is given back for a plan refused
    monkeypatch.setattr(interp, "give_back_freed_cpu_memory", lambda: False)  # the C library refused: the kept refusal
    with pytest.raises(VideoError, match=rf"in tiles of {smallest} px about {interp.format_bytes(least_kept)}"):
        interp.plan_inference(generator, 1080, 1920, budget, cpu)


def test_small_and_full_keep_whole_frames_on_the_cpu_without_kept_memory(monkeypatch):
    """The CPU's 512-px tiles without kept memory were measured faster for the tiny model only;
    ``small`` at 1920x1080 took 8.9-9.8 s a call whole and 12.7 s in 512-px tiles, the kept memory
    given back (results/cpu_memory_given_back.md)."""
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)
    cpu, plenty = torch.device("cpu"), 1 << 45
    for size in ("small", "full"):
        generator = nlvfi.build_generator(size)
        assert interp.plan_inference(generator, 1080, 1920, plenty, cpu).tile is None
        assert interp.plan_inference(generator, 2160, 3840, plenty, cpu).tile is None
    assert interp.plan_inference(nlvfi.build_generator("tiny"), 2160, 3840, plenty, cpu).tile == interp.CPU_TILE


@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_the_flow_at_2x_is_planned_with_its_own_allowance_on_any_device(size, monkeypatch):
    """results/cpu_memory.md: at 640x480, where ``--flow-scale auto`` estimates the flow at 2x, the
    full model's call peaked at up to 2.08x the estimate with glibc's allocator as it comes (2.33x
    kept); FLOW_2X_FACTOR covers it, and on a kept CPU heap the larger allowance applies, not both."""
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: False)
    generator = nlvfi.build_generator(size)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    live, flow = memory_needed(generator, 480, 640), interp.FLOW_2X_FACTOR[size]
    assert flow > 1
    for device in (cpu, cuda, None):
        assert memory_needed(generator, 480, 640, 1, device, 2) == int(live * flow)
        assert memory_needed(generator, 480, 640, 1, device, 1) == live
    budget = live + (int(live * flow) - live) // 2  # fits at 1x, not at 2x
    assert interp.plan_inference(generator, 480, 640, budget, cpu, flow_scale=1).tile is None
    assert interp.plan_inference(generator, 480, 640, budget, cpu, flow_scale="auto").tile is not None  # 2x at 640x480
    assert interp.plan_inference(generator, 480, 640, budget, cuda, flow_scale=2).tile is not None
    monkeypatch.setattr(interp, "freed_cpu_memory_kept", lambda: True)
    both = max(flow, interp.KEPT_HEAP_FACTOR[size])
    assert memory_needed(generator, 480, 640, 1, cpu, 2) == int(live * both)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tile", "100"], r"tile must be a positive multiple of the network stride 16, got 100 \(the tiny model\)"),
        (["--tile", "32", "--overlap", "32"], r"--overlap \(32\) must be smaller than --tile \(32\)"),
        (["--tile", "32", "--overlap", "24"], "tile - overlap must be at least the network stride 16"),
        (["--tile", "-5"], "--tile must be a size in px"),
        (["--overlap", "-1"], "--overlap must be >= 0"),
    ],
)
def test_bad_tile_flags_one_line_error(tmp_path, pair, model, capsys, flags, message):
    assert main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "m.png").exists()


def test_batch_csv_with_tiles(tmp_path, pair, model):
    (tmp_path / "pairs.csv").write_text("a.png,b.png,out/1.png,0.25\nb.png,a.png,out/2.png\n")
    assert main(["--batch", str(tmp_path / "pairs.csv"), "--tile", "32", "--overlap", "16", "--checkpoint", str(model), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1.png", "2.png"]


def test_compile_failure_warns_and_runs_eagerly(tmp_path, pair, model, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(RuntimeWarning, match="torch.compile failed, running without it: RuntimeError: no C\\+\\+ compiler"):
        assert main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--compile", "--checkpoint", str(model)]) == 0
    assert np.asarray(Image.open(tmp_path / "m.png")).shape == (H, W, 3)


def test_compile_failing_at_the_first_call_falls_back_to_eager(model, monkeypatch):
    generator = nlvfi.load_generator(model).eval()
    prev, next = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    with torch.inference_mode():
        expected = generator(prev, next).frame

    def fails_when_called(*args, **kwargs):
        raise RuntimeError("inductor: backend compiler failed")

    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: fails_when_called)
    interp.compile_generator(generator)
    with pytest.warns(RuntimeWarning, match="backend compiler failed"), torch.inference_mode():
        torch.testing.assert_close(generator(prev, next).frame, expected)
    with pytest.raises(ValueError, match="3 channels"):  # bad inputs still say what is wrong
        generator(torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8))


def test_compiled_generator_gives_the_same_frames(model):
    generator = nlvfi.load_generator(model).eval()
    prev, next = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    with torch.inference_mode():
        expected = generator(prev, next, t=0.3).frame
    interp.compile_generator(generator, backend="eager")  # dynamo tracing without inductor's C++ build: fast
    with torch.inference_mode():
        torch.testing.assert_close(generator(prev, next, t=0.3).frame, expected)


# --------------------------------------------------------------------------------------------
# Video frame-rate up-conversion


def clip_frames(n=5):
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    phase = np.array([0.0, 0.1, 0.2])  # per colour channel
    return [
        (128 + 100 * np.sin((x[..., None] - 4 * i) / 6 + y[..., None] * phase)).clip(0, 255).astype(np.uint8)
        for i in range(n)
    ]  # (H, W, 3) each


@pytest.mark.parametrize("factor", [2, 4])
def test_video_factor_keeps_originals_and_times(tmp_path, model, factor):
    frames = clip_frames(5)
    rate = 8000
    audio = ((np.sin(np.arange(rate) / 7) * 6000).astype(np.int16)[None], rate)
    source = write_video(tmp_path / "in.mkv", frames, 10, pts=[0, 1, 2, 4, 5], audio=audio)  # one gap twice as long
    out = tmp_path / f"x{factor}.mkv"
    assert main([str(source), "-o", str(out), "--factor", str(factor), "--checkpoint", str(model), "--quiet"]) == 0
    with VideoReader(source) as reader:
        originals = [(item.time, frame_content(item.frame)) for item in reader]
    with VideoReader(out) as reader:
        result = [(item.time, frame_content(item.frame)) for item in reader]
    assert len(result) == factor * (len(frames) - 1) + 1
    for i, (time, content) in enumerate(originals):
        assert result[factor * i][0] == pytest.approx(time) and np.array_equal(result[factor * i][1], content)
    in_times = [t for t, _ in originals]
    expected = [a + j * (b - a) / factor for a, b in zip(in_times, in_times[1:]) for j in range(factor)] + [in_times[-1]]
    assert [t for t, _ in result] == pytest.approx(expected, abs=1e-3)

    def audio_bytes(path):
        import av

        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(audio=0) if p.size]

    assert audio_bytes(out) == audio_bytes(source)


@pytest.mark.parametrize("factor", [2, 4])
def test_video_factor_into_mpeg2_counts_frame_slots_from_the_first_frame(tmp_path, model, factor):
    # a 29.97 frames/s recording whose first frame is 1.41 s in: MPEG-2 refused it (nlvfi.videoio.slot_origin)
    import av
    from test_repair import off_grid_recording
    from nlvfi.videoio import read_video_rgb

    source = off_grid_recording(tmp_path / "in.ts", Fraction(30000, 1001), 126000)
    out = tmp_path / f"x{factor}.ts"
    assert main([str(source), "-o", str(out), "--factor", str(factor), "--codec", "mpeg2video", "--checkpoint", str(model), "--quiet"]) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.framerate == Fraction(30000 * factor, 1001)
    in_times, out_times = read_video_rgb(source)[1], read_video_rgb(out)[1]
    expected = [a + j * (b - a) / factor for a, b in zip(in_times, in_times[1:]) for j in range(factor)] + [in_times[-1]]
    assert out_times == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("factor, ext", [(2, "avi"), (2, "ts"), (4, "mkv"), (4, "avi")])
def test_video_factor_of_a_rate_rounded_to_milliseconds_counts_in_its_frames(tmp_path, model, factor, ext):
    # 29.97 frames/s in an .mkv's milliseconds: x2 into .avi was a 2000 frames/s file, MPEG-2 was refused;
    # the x4 frames' times are sums of rounded ones, up to 2 ticks of 1/4000 s off a slot's
    import av
    from nlvfi.videoio import read_video_rgb

    source = write_video(tmp_path / "in.mkv", clip_frames(6), Fraction(30000, 1001), codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / f"x{factor}.{ext}"
    codec = [] if ext == "avi" else ["--codec", "mpeg2video"]
    assert main([str(source), "-o", str(out), "--factor", str(factor), *codec, "--checkpoint", str(model), "--quiet"]) == 0
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.average_rate if ext == "avi" else video.codec_context.framerate) == Fraction(30000 * factor, 1001)
    in_times, out_times = read_video_rgb(source)[1], read_video_rgb(out)[1]
    offset = out_times[0] - in_times[0]  # MPEG-TS moves every stream by MPEG-2's decode delay, a slot
    expected = [a + j * (b - a) / factor for a, b in zip(in_times, in_times[1:]) for j in range(factor)] + [in_times[-1]]
    assert [t - offset for t in out_times] == pytest.approx(expected, abs=0.001 if ext == "avi" else 0.0006)  # half a ms: the .mkv


def test_video_factor_four_of_ntsc_into_avi_counts_in_its_frames(tmp_path, model):
    # x4 of 29.97 frames/s is 1001/120000 s a slot, a time base MPEG-4 Part 2 (.avi's codec) cannot
    # code: from an .mp4 (1/30000 s) it was refused, from an .mkv written at 600 frames/s, 5 slots
    # a frame. The encoder codes 342/40999 s and the AVI counts the exact slots
    import av
    from nlvfi.videoio import read_video_rgb

    source = write_video(tmp_path / "in.mp4", clip_frames(5), Fraction(30000, 1001), codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / "x4.avi"
    assert main([str(source), "-o", str(out), "--factor", "4", "--checkpoint", str(model), "--quiet"]) == 0
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.name, video.time_base, video.frames) == ("mpeg4", Fraction(1001, 120000), 17)
    in_times, out_times = read_video_rgb(source)[1], read_video_rgb(out)[1]
    expected = [a + j * (b - a) / 4 for a, b in zip(in_times, in_times[1:]) for j in range(4)] + [in_times[-1]]
    assert out_times == pytest.approx(expected, abs=1e-9)


def test_video_factor_is_verified_before_it_lands(tmp_path, model, monkeypatch, capsys):
    source = write_video(tmp_path / "in.mkv", clip_frames(4), 10)
    out = tmp_path / "x2.mkv"
    assert main([str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    assert "verified: 7 frames at their times (within 0.000 ms), 0 audio stream(s) unchanged, the 4 input frames bit-identical" in capsys.readouterr().out
    write = interp.VideoWriter.write

    def late_in_between(writer, frame, pts):  # an encoder that put every generated frame (odd ones) 5 ms late
        write(writer, frame, pts + 10 * (writer.frames_written % 2))  # time base 1/2000 s

    monkeypatch.setattr(interp.VideoWriter, "write", late_in_between)
    out.unlink()
    assert main([str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 2
    assert "verification failed: generated frame 1 is at 0.055000 s in the output, expected 0.050000 s" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
    assert main([str(source), "-o", str(out), "--checkpoint", str(model), "--quiet", "--no-verify"]) == 0
    assert "not verified (--no-verify)" in capsys.readouterr().out
    assert main([str(source), str(source), "-o", str(tmp_path / "m.png"), "--no-verify", "--checkpoint", str(model)]) == 2
    assert "--no-verify is for a video" in capsys.readouterr().err
    for flags in (["--codec", "libx264"], ["--crf", "20"], ["--preset", "fast"]):  # the images would not use them
        assert main([str(source), str(source), "-o", str(tmp_path / "m.png"), *flags, "--checkpoint", str(model)]) == 2
        assert f"{flags[0]} is for a video" in capsys.readouterr().err


def test_video_factor_takes_the_encoder_preset(tmp_path, model, capsys):
    source = write_video(tmp_path / "in.mp4", clip_frames(3), 10, codec="libx264", pix_fmt="yuv420p", options={"crf": "18"})
    out = tmp_path / "x2.mp4"
    assert main([str(source), "-o", str(out), "--preset", "ultrafast", "--crf", "20", "--checkpoint", str(model), "--quiet"]) == 0
    assert "libx264 yuv420p crf=20 preset=ultrafast (lossy)" in capsys.readouterr().out
    settings = out.read_bytes().split(b"options: ", 1)[1][:2000]  # x264 writes its settings into the stream
    assert b" subme=0 " in settings and b" crf=20.0 " in settings


def test_video_factor_keeps_an_anamorphic_clip_in_shape(tmp_path, model, capsys):
    source = write_video(
        tmp_path / "in.mp4", clip_frames(3), 10, codec="libx264", pix_fmt="yuv420p", pixel_aspect=Fraction(32, 27)
    )  # a DVD's pixels: before, the output had square ones
    width = probe(source).width  # 56: shown 66.4 pixels wide
    for ext, written in (("mkv", Fraction(32, 27)), ("webm", Fraction(66, width)), ("nut", Fraction(32, 27))):  # .nut: x264's own header
        out = tmp_path / f"x2.{ext}"
        assert main([str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"] + ["--factor", "2"]) == 0
        assert probe(out).pixel_aspect == written  # VP9 in .webm: before, square; now 66 whole pixels wide
        assert ("picture shape not kept: the input's pixels are 32:27" in capsys.readouterr().out) is (written is None)


def test_video_factor_into_flv_writes_the_h264_its_players_decode(tmp_path, model, capsys):
    source = write_video(tmp_path / "in.mkv", clip_frames(3), 10, codec="libx264", pix_fmt="yuv420p10le")
    out = tmp_path / "x2.flv"
    assert main([str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert probe(out).pix_fmt == "yuv420p"  # before: x264 High 10, which Flash and flv.js do not play
    assert "the 10-bit input was written at 8 bits (FLV's players, Flash and flv.js in a browser" in capsys.readouterr().out


def test_video_factor_refuses_interlaced_video(tmp_path, model, capsys):
    source = write_video(tmp_path / "tff.mkv", clip_frames(4), 10, codec="libx264", pix_fmt="yuv420p",
                         options={"x264-params": "interlaced=1:tff=1"})
    assert main([str(source), "-o", str(tmp_path / "x2.mkv"), "--checkpoint", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is interlaced (top field first)" in err and "bwdif" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tff.mkv"]


def test_video_factor_into_avi_counts_in_frame_slots(tmp_path, model):
    import av

    source = write_video(tmp_path / "in.mkv", clip_frames(4), 10, pts=[0, 100, 200, 400], time_base=Fraction(1, 1000))
    out = tmp_path / "x2.avi"
    assert main([str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    with av.open(str(out)) as c:  # was 1/2000: 100 slots a frame
        assert c.streams.video[0].time_base == Fraction(1, 20)
    with VideoReader(out) as reader:
        assert [item.time for item in reader] == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4])


def test_video_bad_inputs(tmp_path, model, capsys):
    one = write_video(tmp_path / "one.mkv", clip_frames(1), 10)
    assert main([str(one), "-o", str(tmp_path / "o.mkv"), "--checkpoint", str(model), "--quiet"]) == 2
    assert "has 1 frame; interpolation needs at least 2" in capsys.readouterr().err
    source = write_video(tmp_path / "in.mkv", clip_frames(3), 10)
    assert main([str(source), "-o", str(source), "--checkpoint", str(model)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert main([str(source), "-o", str(tmp_path / "o.mkv"), "--factor", "3"]) == 2  # argparse: choose 2 or 4
    (tmp_path / "text.mkv").write_text("hello\n" * 30)
    assert main([str(tmp_path / "text.mkv"), "-o", str(tmp_path / "o.mkv"), "--checkpoint", str(model)]) == 2
    assert "not a readable video" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "one.mkv", "text.mkv"]


def test_cli_dispatches_interpolate(tmp_path, pair, model):
    assert cli.main(["interpolate", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model)]) == 0
    assert cli.main(["interpolate", "--help"]) == 0


def test_video_with_tiles_says_so(tmp_path, model, capsys):
    source = write_video(tmp_path / "in.mkv", clip_frames(3), 10)
    out = tmp_path / "x2.mkv"
    assert main([str(source), "-o", str(out), "--tile", "32", "--overlap", "16", "--checkpoint", str(model), "--quiet"]) == 0
    assert "tiles of 32 px (16 px overlap)" in capsys.readouterr().out
    with VideoReader(out) as reader:
        assert sum(1 for _ in reader) == 5


def test_batch_goes_on_from_an_interrupted_run_with_skip_existing(tmp_path, pair, model, monkeypatch, capsys):
    lines = "".join(f"a.png,b.png,out/{i}.png,{t}\n" for i, t in enumerate((0.2, 0.4, 0.6, 0.8)))
    (tmp_path / "pairs.csv").write_text(lines)
    command = ["--batch", str(tmp_path / "pairs.csv"), "--batch-size", "1", "--checkpoint", str(model), "--quiet"]
    write = interp.write_picture

    def stop_after_two(frame, path, *args):
        if len(list((tmp_path / "out").glob("*.png"))) == 2:
            raise KeyboardInterrupt
        write(frame, path, *args)

    with monkeypatch.context() as patch:
        patch.setattr(interp, "write_picture", stop_after_two)
        assert main(command) == 130
    assert "the frames written so far are whole; add --skip-existing to go on from them" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png"]
    first = (tmp_path / "out" / "0.png").stat().st_mtime_ns
    assert main([*command, "--skip-existing"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 frames from" in printed and "(2 skipped: their output exists)" in printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png", "2.png", "3.png"]
    assert (tmp_path / "out" / "0.png").stat().st_mtime_ns == first  # not written again
    monkeypatch.setattr(interp, "load_generator", lambda *a, **k: pytest.fail("no line left: no model needed"))
    assert main([*command, "--skip-existing"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 0 frames from" in printed and "(4 skipped: their output exists)" in printed
    assert main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--skip-existing", "--checkpoint", str(model)]) == 2
    assert "--skip-existing is for --batch" in capsys.readouterr().err


def test_video_with_a_picture_track_first_is_up_converted_and_says_what_it_left(tmp_path, model, capsys):
    from test_videoio import with_still_first

    source = with_still_first(tmp_path / "in.mkv", frames=3)
    assert main([str(source), "-o", str(tmp_path / "x2.mkv"), "--checkpoint", str(model), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "3 frames -> 5" in printed and "not copied: video (mjpeg); verified: 5 frames" in printed


def test_video_factor_copies_subtitles_and_checks_them(tmp_path, model, capsys):
    from test_videoio import subtitle_packets, with_subtitles

    source = with_subtitles(write_video(tmp_path / "v.mkv", clip_frames(4), 10), tmp_path / "in.mkv")
    assert main([str(source), "-o", str(tmp_path / "x2.mkv"), "--checkpoint", str(model), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "1 subtitle stream(s) copied" in printed and "1 subtitle stream(s) unchanged" in printed
    assert subtitle_packets(tmp_path / "x2.mkv") == subtitle_packets(source)
    assert main([str(source), "-o", str(tmp_path / "x2.mp4"), "--checkpoint", str(model), "--quiet"]) == 0  # SubRip -> timed text
    printed = capsys.readouterr().out
    assert "converted subtitle (subrip) -> mov_text" in printed and "1 converted line for line" in printed


def test_the_frames_a_tool_keeps_come_off_the_budget(model):
    """``resident`` (a tool's whole frames around each call) is taken from the budget before
    planning: a frame that fits whole without it is tiled with it, frames per call drop, and a
    refusal names the whole need. The H200 measurement behind it: results/tools_cuda.md."""
    generator = nlvfi.load_generator(model)
    cpu = torch.device("cpu")
    one = memory_needed(generator, 288, 400)
    kept = interp.resident_bytes(288, 400, interp.REPAIR_HELD_FRAMES + 8)
    assert kept == 12 * 288 * 400 * 30  # 22 + 8 float32 RGB frames
    budget = one + kept // 2
    assert interp.plan_inference(generator, 288, 400, budget, cpu).tile is None
    tiled = interp.plan_inference(generator, 288, 400, budget, cpu, resident=kept)
    assert tiled.tile is not None and interp.memory_needed_tiled(generator, 288, 400, tiled.tile) + kept <= budget
    budget = 3 * one + kept - 1
    assert interp.plan_inference(generator, 288, 400, budget, cpu).per_call == 3
    assert interp.plan_inference(generator, 288, 400, budget, cpu, resident=kept).per_call == 2
    assert frames_per_call(generator, 288, 400, budget, cpu, kept) == 2
    need = interp.format_bytes(one + kept)
    with pytest.raises(VideoError, match=rf"needs about {need} .*, {interp.format_bytes(kept)} of it the frames the tool keeps"):
        interp.plan_inference(generator, 288, 400, kept, cpu, resident=kept)
    with pytest.raises(VideoError, match="of it the frames the tool keeps"):
        interp.plan_inference(generator, 288, 400, kept, cpu, tile=256, resident=kept)
    with pytest.raises(VideoError, match="of it the frames the tool keeps"):
        frames_per_call(generator, 288, 400, kept, cpu, kept)


def test_pairs_and_videos_plan_with_the_frames_they_keep(tmp_path, pair, model, monkeypatch):
    seen = []

    def stop(*args, resident=0, **kwargs):
        seen.append(resident)
        raise VideoError("planned")

    asked = []  # the CLI asks for expandable CUDA segments with its --device first (nlvfi.acceleration)
    monkeypatch.setattr(interp, "plan_inference", stop)
    monkeypatch.setattr(interp, "expandable_cuda_segments", lambda device: asked.append(device))
    kept = []  # and for the CPU's freed memory kept (nlvfi.acceleration.keep_freed_cpu_memory)
    monkeypatch.setattr(interp, "keep_freed_cpu_memory", lambda device: kept.append(device))
    assert main([str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m.png"), "--checkpoint", str(model), "--device", "cpu"]) == 2
    source = tmp_path / "in.mkv"
    write_video(source, [image(s) for s in range(3)], rate=10)
    for factor in (2, 4):
        assert main([str(source), "-o", str(tmp_path / "x.mkv"), "--factor", str(factor), "--checkpoint", str(model), "--quiet"]) == 2
    held = interp.INTERPOLATE_HELD_FRAMES
    assert seen == [interp.resident_bytes(H, W, held), interp.resident_bytes(H, W, held + 1), interp.resident_bytes(H, W, held + 3)]
    assert not (tmp_path / "m.png").exists() and not (tmp_path / "x.mkv").exists()
    assert asked == kept == ["cpu", "auto", "auto"]


def test_a_refusal_says_which_shorter_max_run_would_fit(model):
    """A repair holds its longest run's frames beside the model (``run_frames``): where the
    smallest tiles would fit with shorter runs, the refusal names the longest --max-run that fits."""
    generator = nlvfi.load_generator(model)
    cpu = torch.device("cpu")
    frame = interp.resident_bytes(288, 400, 1)
    kept = interp.resident_bytes(288, 400, interp.REPAIR_HELD_FRAMES + 8)
    smallest = min(c for c in interp.AUTO_TILES if c % generator.config.stride == 0 and c < 400)
    least = interp.memory_needed_tiled(generator, 288, 400, smallest)
    budget = least + kept - 5 * frame  # fits with 3 run frames held, not with 4
    with pytest.raises(VideoError, match=r"raise --max-memory-gb, lower --max-run to 3 \(runs longer are left as they are\), or downscale"):
        interp.plan_inference(generator, 288, 400, budget, cpu, resident=kept, run_frames=(8, frame))
    with pytest.raises(VideoError, match=r"raise --max-memory-gb, lower --max-run to 3 \(runs"):
        interp.plan_inference(generator, 288, 400, budget, cpu, tile=smallest, resident=kept, run_frames=(8, frame))
    with pytest.raises(VideoError, match=r"raise --max-memory-gb, or downscale"):  # not even runs of 1 would fit
        interp.plan_inference(generator, 288, 400, least + kept - 8 * frame, cpu, resident=kept, run_frames=(8, frame))
    with pytest.raises(VideoError, match=r"raise --max-memory-gb, or downscale"):  # interpolate: no runs
        interp.plan_inference(generator, 288, 400, budget, cpu, resident=kept)
    assert interp.plan_inference(generator, 288, 400, budget, cpu, resident=kept - 5 * frame).tile == smallest


def _ffmpeg_image(path, rgb16: np.ndarray, codec: str, pix_fmt: str):
    """One image file of (H, W, 3|4) uint16 samples through FFmpeg's ``codec`` encoder."""
    import av

    given = "rgba64le" if rgb16.shape[2] == 4 else "rgb48le"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb16), format=given).reformat(format=pix_fmt)
    context = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = frame.width, frame.height, pix_fmt
    path.write_bytes(b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)]))
    return path


@pytest.mark.parametrize(
    "name, codec, pix_fmt, channels, written",
    [("a.tif", "tiff", "rgb48le", 3, "rgb48be"), ("a.tif", "tiff", "rgba64le", 4, "rgba64be"), ("a.dpx", "dpx", "gbrp10le", 3, "rgb48be")],
)
def test_a_16_bit_tiff_or_a_dpx_pair_gives_a_16_bit_frame(tmp_path, model, name, codec, pix_fmt, channels, written):
    # PIL read a 16-bit colour TIFF as 8 bits (the frame came out rgb24), and a DPX not at all
    import av

    rng = np.random.default_rng(0)
    frames = [(rng.integers(0, 65536, (H, W, channels)) // 64 * 64).astype(np.uint16) for _ in range(2)]
    prev, next_ = (_ffmpeg_image(tmp_path / f"{i}{name}", f, codec, pix_fmt) for i, f in enumerate(frames))
    out = tmp_path / "mid.png"
    assert cli.main(["interpolate", str(prev), str(next_), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    with av.open(str(out)) as container:
        assert next(container.decode(video=0)).format.name == written
