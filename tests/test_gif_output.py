"""nlvfi.gif_output: ``nlvfi repair in.gif -o out.gif`` writes a GIF back, its untouched frames
identical to the input's (as FFmpeg and Pillow decode them), its times and loop count kept.

Before, ``-o out.gif`` was refused ("cannot tell the container"): a stuttering GIF could only
come out as a video."""

import io
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from nlvfi import cli
from nlvfi.gif_output import nearest_colours
from nlvfi.gif_writer import gif_bytes, gif_loop_count, packed_colours
from nlvfi.repair import repair_video, summary_text

from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def ffmpeg_gif(path: Path, frames: list[np.ndarray], delays: list[int], loop: int = 0) -> Path:
    """A GIF of (H, W, 3) uint8 frames written by FFmpeg's encoder in its fixed 3-3-2 palette
    (``rgb8``), frame i shown for ``delays[i]`` hundredths of a second; duplicates stay frames."""
    options = {"loop": str(loop), "final_delay": str(delays[-1])}
    with av.open(str(path), "w", format="gif", options=options) as container:
        stream = container.add_stream("gif", rate=100)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.time_base = "rgb8", Fraction(1, 100)
        tick = 0
        for rgb, delay in zip(frames, delays):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="rgb8")
            frame.pts, frame.time_base, tick = tick, Fraction(1, 100), tick + delay
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """FFmpeg's view: (H, W, 4) B, G, R, A frames and their times in hundredths of a second."""
    with av.open(str(path)) as container:
        frames = [(frame.to_ndarray(), round(frame.time * 100)) for frame in container.decode(video=0)]
    return [f for f, _ in frames], [t for _, t in frames]


def pillow_frames(path: Path) -> list[np.ndarray]:
    """Pillow's view (as a browser composes them): (H, W, 4) R, G, B, A frames."""
    with Image.open(path) as image:
        out = []
        for index in range(image.n_frames):
            image.seek(index)
            out.append(np.asarray(image.convert("RGBA")).copy())
    return out


def visible_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same alpha everywhere and the same colour wherever a pixel shows."""
    shown = a[..., 3] > 0
    return np.array_equal(a[..., 3], b[..., 3]) and np.array_equal(a[shown][:, :3], b[shown][:, :3])


def stuttering_gif(folder: Path, loop: int = 0) -> Path:
    frames = stutter(scene(12, 48, 64), [4, 8, 9])  # frame 4 copies 3; 8 and 9 copy 7
    return ffmpeg_gif(folder / "in.gif", frames, [10, 10, 10, 10, 10, 7, 7, 10, 10, 10, 10, 25], loop)


def test_a_stuttering_gif_comes_back_as_a_gif_its_untouched_frames_and_times_kept(tmp_path, model):
    source = stuttering_gif(tmp_path)
    before = source.read_bytes()
    report = repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)
    assert source.read_bytes() == before
    assert [r["frame"] for r in report["replaced"]] == [4, 8, 9]
    frames_in, times_in = decoded(source)
    frames_out, times_out = decoded(tmp_path / "out.gif")
    assert times_out == times_in == [0, 10, 20, 30, 40, 50, 57, 64, 74, 84, 94, 104]
    for index, (a, b) in enumerate(zip(frames_in, frames_out)):
        assert np.array_equal(a, b) == (index not in (4, 8, 9)), index
    gif = report["gif"]
    assert (gif["frames"], gif["untouched_frames_identical"], gif["untouched_frames_not_exact"]) == (12, 9, 0)
    assert gif["new_frames_by_neighbours_colours"] == 3 and gif["mapped_psnr_db"]["min"] > 20
    assert (gif["loop"], gif["last_delay_cs"], gif["transparency"]) == (0, 25, False)
    assert gif_loop_count(tmp_path / "out.gif") == 0
    pillow = pillow_frames(tmp_path / "out.gif")  # a second decoder agrees on every frame
    assert all(visible_equal(a[..., [2, 1, 0, 3]], b) for a, b in zip(frames_out, pillow))
    with Image.open(tmp_path / "out.gif") as image:  # the last frame's delay, as a browser reads it
        image.seek(11)
        assert image.info["duration"] == 250
    text = summary_text(report)
    assert "Written as a GIF (" in text and "the 9 untouched frames identical to the input's" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.gif", "out.gif"]  # no intermediate, staging or resume left
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.gif").stat().st_mode & 0o777 == 0o666 & ~umask  # not the staging file's 0600


def test_new_frames_take_the_colours_of_the_frames_beside_them(tmp_path, model):
    source = stuttering_gif(tmp_path)
    repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)
    frames, _ = decoded(tmp_path / "out.gif")
    for index, (before, after) in {4: (3, 5), 8: (7, 10), 9: (7, 10)}.items():
        allowed = np.union1d(packed_colours(frames[before]).ravel(), packed_colours(frames[after]).ravel())
        assert np.isin(packed_colours(frames[index]), allowed).all(), index


@pytest.mark.parametrize("loop, kept", [(-1, -1), (3, 3)])
def test_the_loop_count_is_kept(tmp_path, model, loop, kept):
    source = stuttering_gif(tmp_path, loop)
    assert gif_loop_count(source) == kept
    repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)
    assert gif_loop_count(tmp_path / "out.gif") == kept


def sticker_frames(n: int = 6) -> list[np.ndarray]:
    """(H, W, 4) RGBA frames of a textured square moving over a transparent background; frame 1
    is opaque all over (a background flash), so frame 2's transparency must not show it."""
    texture = scene(n, 48, 64)
    frames = []
    for index in range(n):
        rgba = np.zeros((48, 64, 4), np.uint8)
        left = 4 + 6 * index
        rgba[10:34, left : left + 20, :3] = texture[index][10:34, left : left + 20]
        rgba[10:34, left : left + 20, 3] = 255
        if index == 1:
            rgba[..., :3], rgba[..., 3] = texture[index], 255
        frames.append(rgba)
    return frames


def pillow_gif(path: Path, frames: list[np.ndarray]) -> Path:
    """A GIF Pillow writes, as sticker makers do: each frame in at most 255 colours and index 255
    transparent (declared for every frame, so FFmpeg and browsers both clear to transparent),
    cleared after it is shown (disposal 2)."""
    images = []
    for rgba in frames:
        image = Image.fromarray(np.ascontiguousarray(rgba[..., :3])).quantize(255, dither=Image.Dither.NONE)
        indices = np.asarray(image).copy()
        indices[rgba[..., 3] == 0] = 255
        palette = image.getpalette()[: 255 * 3] + [0, 0, 0] * (256 - len(image.getpalette()[: 255 * 3]) // 3)
        images.append(Image.fromarray(indices, "P"))
        images[-1].putpalette(palette)
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, loop=0, disposal=2, transparency=255, optimize=False)
    return path


def test_transparency_is_kept_even_where_an_opaque_frame_comes_before(tmp_path, model, capsys):
    """FFmpeg's encoder leaves an opaque frame in place: the transparent pixels of the next one
    would show it. Every frame is cleared after it is shown instead (GIF disposal 2). (An
    up-conversion: a repair with nothing to replace copies the GIF instead of writing it.)"""
    source = pillow_gif(tmp_path / "sticker.gif", sticker_frames())
    out = tmp_path / "smooth.gif"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "the 6 input frames identical to the input's" in capsys.readouterr().out
    frames_in, times_in = decoded(source)
    frames_out, times_out = decoded(out)
    assert times_out[::2] == times_in and (frames_in[1][..., 3] == 255).all() and (frames_in[2][..., 3] == 0).any()
    assert all(np.array_equal(a, b) for a, b in zip(frames_in, frames_out[::2]))
    assert all(visible_equal(a[..., [2, 1, 0, 3]], b) for a, b in zip(frames_out, pillow_frames(out)))


def test_a_gif_with_nothing_to_replace_is_copied_byte_for_byte(tmp_path, model, capsys):
    """Before, it was written again: other bytes, and FFmpeg's reading of it, not the file's."""
    source = pillow_gif(tmp_path / "sticker.gif", sticker_frames())
    before = source.read_bytes()
    out = tmp_path / "out.gif"
    assert cli.main(["repair", str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    assert out.read_bytes() == before == source.read_bytes()
    assert "No frame replaced, so the GIF " in capsys.readouterr().out
    report = repair_video(source, tmp_path / "again.gif", checkpoint=model, progress=False)
    assert report["gif"]["copied"] and report["gif"]["frames"] == 6 and report["gif"]["bytes"] == len(before)
    assert report["encoder"]["codec"] == "copy" and report["verification"]["byte_for_byte_copy"]  # no frame coded on the way
    assert "is the input copied byte for byte (SHA-256 checked; 6 frames, looping for ever)" in summary_text(report)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.gif", "out.gif", "sticker.gif"]


def test_a_stuttering_sticker_is_repaired_with_its_transparency(tmp_path, model):
    frames = sticker_frames(8)
    frames[1] = frames[0]  # no background flash here: only the square moves
    frames = stutter(frames, [5])
    rgb = [f[..., :3].copy() for f in frames]
    path = tmp_path / "sticker.gif"
    with av.open(str(path), "w", format="gif", options={"loop": "0"}) as container:  # FFmpeg keeps the copy a frame
        stream = container.add_stream("gif", rate=100)
        stream.height, stream.width, stream.pix_fmt, stream.time_base = 48, 64, "pal8", Fraction(1, 100)
        for index, (colour, rgba) in enumerate(zip(rgb, frames)):
            picture = Image.fromarray(colour).quantize(255, dither=Image.Dither.NONE)
            indices = np.asarray(picture).astype(np.uint8) + 1
            indices[rgba[..., 3] == 0] = 0
            palette = np.zeros((256, 4), np.uint8)  # A, R, G, B rows; entry 0 transparent
            rgb_palette = np.asarray(picture.getpalette()[: 255 * 3], np.uint8).reshape(-1, 3)
            palette[1 : 1 + len(rgb_palette), 0], palette[1 : 1 + len(rgb_palette), 1:] = 255, rgb_palette
            palette[1 + len(rgb_palette) :] = palette[1]
            frame = av.VideoFrame.from_ndarray((indices, palette), format="pal8")
            frame.pts, frame.time_base = index * 8, Fraction(1, 100)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    report = repair_video(path, tmp_path / "out.gif", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [5]
    frames_in, _ = decoded(path)
    frames_out, _ = decoded(tmp_path / "out.gif")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [True] * 5 + [False] + [True] * 2
    new = frames_out[5]
    assert set(np.unique(new[..., 3])) <= {0, 255} and (new[..., 3] == 0).mean() > 0.5  # still a sticker


def test_a_gif_is_written_for_gif_input_only_and_nothing_is_left(tmp_path, model, capsys):
    from nlvfi.videoio import write_video

    video = tmp_path / "clip.mkv"
    write_video(video, stutter(scene(8, 48, 64), [4]), rate=10, codec="ffv1", pix_fmt="bgr0")
    code = cli.main(["repair", str(video), "-o", str(tmp_path / "out.gif"), "--checkpoint", str(model), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code != 0 and "a GIF is written for GIF input only" in error and "ffv1" in error and len(error.splitlines()) == 1
    source = stuttering_gif(tmp_path)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "out.gif"), "--crf", "18", "--checkpoint", str(model), "--quiet"]) != 0
    assert "--crf cannot apply to a GIF" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "in.gif"]


def test_an_interrupted_gif_run_leaves_nothing_at_out(tmp_path, model, monkeypatch):
    import nlvfi.gif_output as gif_output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    source = stuttering_gif(tmp_path)
    monkeypatch.setattr(gif_output, "export_gif", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.gif" and not p.name.endswith(".nlvfi-resume")]
    monkeypatch.undo()
    report = repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)  # the next try goes on
    assert report["gif"]["frames"] == 12 and report["resume"]["runs_reused"] == 2


def test_the_cli_prints_the_gif_sentence(tmp_path, model, capsys):
    source = stuttering_gif(tmp_path)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "out.gif"), "--checkpoint", str(model)]) == 0
    out = capsys.readouterr().out
    assert "Written as a GIF" in out and "3 in the colours of the frames beside them" in out


def blocks(data: bytes) -> list[tuple]:
    """A GIF's frames as (disposal, transparent flag, delay, (left, top, width, height), local table)."""
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    frames, control = [], None
    while data[position] != 0x3B:
        if data[position] == 0x21:
            label, position = data[position + 1], position + 2
            if label == 0xF9:
                control = ((data[position + 1] >> 2) & 7, data[position + 1] & 1, int.from_bytes(data[position + 2 : position + 4], "little"))
            while data[position]:
                position += data[position] + 1
            position += 1
        else:
            box = tuple(int.from_bytes(data[position + 1 + 2 * i : position + 3 + 2 * i], "little") for i in range(4))
            flags = data[position + 9]
            frames.append((*control, box, bool(flags & 0x80)))
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            while data[position]:
                position += data[position] + 1
            position += 1
    return frames


def test_an_opaque_gif_writes_only_what_changed_and_a_transparent_one_whole_frames_cleared_after():
    still = np.full((6, 8), 0xFF102030, np.uint32)
    moved = still.copy()
    moved[2:4, 3:5] = 0xFF405060
    opaque = gif_bytes([still, moved, moved], [5, 7, 9], 0)
    # after the first frame, the box of what changed, its unchanged pixels in a spare "transparent" entry
    assert blocks(opaque) == [(1, 0, 5, (0, 0, 8, 6), False), (1, 1, 7, (3, 2, 2, 2), False), (1, 1, 9, (0, 0, 1, 1), False)]
    with Image.open(io.BytesIO(opaque)) as image:
        shown = []
        for index in range(3):
            image.seek(index)
            shown.append(np.asarray(image.convert("RGBA")))
    assert tuple(shown[2][2, 3]) == (0x40, 0x50, 0x60, 255) and tuple(shown[2][0, 0]) == (0x10, 0x20, 0x30, 255)
    holed = moved.copy()
    holed[0, 0] = 0x00FFFFFF
    clear = gif_bytes([still, holed], [5, 7], -1, 0x00FFFFFF)
    assert blocks(clear) == [(2, 1, 5, (0, 0, 8, 6), False), (2, 1, 7, (0, 0, 8, 6), False)]
    assert b"NETSCAPE2.0" not in clear and b"NETSCAPE2.0" in opaque
    with Image.open(io.BytesIO(clear)) as image:
        image.seek(1)
        back = np.asarray(image.convert("RGBA"))
    assert back[0, 0, 3] == 0 and tuple(back[2, 3]) == (0x40, 0x50, 0x60, 255) and tuple(back[5, 7]) == (0x10, 0x20, 0x30, 255)


def test_more_colours_than_one_table_holds_get_a_table_per_frame():
    ramp = (np.arange(200, dtype=np.uint32).reshape(10, 20) | np.uint32(0xFF000000))
    other = ramp + np.uint32(0x100)  # 200 other colours: 400 together
    frames = blocks(gif_bytes([ramp, other], [4, 4]))
    assert [frame[-1] for frame in frames] == [True, True]


def test_nearest_colours_picks_the_closest_opaque_colour_and_keeps_transparency():
    palette = packed_colours(np.array([[[0, 0, 0, 255], [200, 200, 200, 255], [255, 255, 255, 0]]], np.uint8))[0]
    frame = packed_colours(np.array([[[10, 20, 5, 255], [150, 190, 210, 255], [1, 2, 3, 0]]], np.uint8))
    assert np.array_equal(nearest_colours(frame, np.sort(palette)), palette[None, [0, 1, 2]])


def test_a_gif_doubles_in_rate_as_a_gif_its_input_frames_identical(tmp_path, model, capsys):
    source = ffmpeg_gif(tmp_path / "in.gif", scene(6, 48, 64), [10, 10, 8, 10, 10, 20])
    out = tmp_path / "fast.gif"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "the 6 input frames identical to the input's" in capsys.readouterr().out
    frames_in, times_in = decoded(source)
    frames_out, times_out = decoded(out)
    assert times_out == [0, 5, 10, 15, 20, 24, 28, 33, 38, 43, 48]
    assert all(np.array_equal(frames_out[2 * i], frame) for i, frame in enumerate(frames_in))
    with Image.open(out) as image:
        image.seek(10)
        assert image.info["duration"] == 200  # the last frame keeps its delay
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.gif", "in.gif"]


def test_a_gif_whose_delays_do_not_split_is_refused_before_any_work(tmp_path, model, capsys):
    source = ffmpeg_gif(tmp_path / "in.gif", scene(4, 48, 64), [10, 7, 10, 10])
    code = cli.main(["interpolate", str(source), "-o", str(tmp_path / "fast.gif"), "--factor", "2", "--checkpoint", str(model), "--quiet"])
    error = capsys.readouterr().err
    assert code != 0 and "shows a frame for 0.07 s, which does not split into 2 whole hundredths" in error
    code = cli.main(["interpolate", str(source), "-o", str(tmp_path / "fast.gif"), "--factor", "4", "--checkpoint", str(model), "--quiet"])
    assert code != 0 and "at least 0.02 s" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.gif"]


def test_frames_of_many_colours_get_a_table_each_and_new_frames_a_palette_of_their_own(tmp_path, model):
    """Each frame quantized on its own to 200 colours: no table holds two frames' colours, so the
    GIF gets a table per frame and a new frame, whose neighbours hold over 256 together, a
    median-cut palette."""
    frames = []
    for index, rgb in enumerate(stutter(scene(8, 48, 64), [4])):
        shifted = np.clip(rgb.astype(np.int16) + (index % 2) * 3, 0, 255).astype(np.uint8)  # colours of their own
        frames.append(np.asarray(Image.fromarray(shifted).quantize(200, dither=Image.Dither.NONE).convert("RGB")))
    frames[4] = frames[3]
    source = tmp_path / "in.gif"
    source.write_bytes(gif_bytes([packed_colours(np.concatenate([f[..., ::-1], np.full((48, 64, 1), 255, np.uint8)], 2)).copy()
                                  for f in frames], [10] * 8))  # fmt: skip
    report = repair_video(source, tmp_path / "out.gif", checkpoint=model, progress=False)
    gif = report["gif"]
    assert gif["palette"] == "one per frame" and gif["new_frames_by_median_cut"] == 1 and gif["untouched_frames_identical"] == 7
    frames_in, _ = decoded(source)
    frames_out, _ = decoded(tmp_path / "out.gif")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [True] * 4 + [False] + [True] * 3
    assert len(np.unique(packed_colours(frames_out[4]))) <= 256 and gif["mapped_psnr_db"]["min"] > 30
    assert "1 in a palette of their own (median cut)" in summary_text(report)
