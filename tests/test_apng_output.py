"""nlvfi.apng_output: ``nlvfi repair in.png -o out.png`` writes an animated PNG back, its untouched
frames identical to the input's, every delay exactly as the input's fcTL chunks give it, its play
count and colour and text chunks kept.

Before, ``-o out.png`` was refused ("cannot tell the container"), and ``nlvfi interpolate in.png``
took an animated PNG for a still image."""

import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageCms

from nlvfi import cli
from nlvfi.apng_blend import BLEND_REFUSED, filtered, plane_rows, renumbered, source_blended
from nlvfi.apng_output import apng_info, ffmpeg_times, is_apng, set_delay
from nlvfi.png_chunks import PNG_SIGNATURE, chunk, png_chunks
from nlvfi.repair import repair_video, summary_text
from nlvfi.videoio import write_video

from test_gif_output import sticker_frames, visible_equal
from test_repair import scene, stutter

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

#: (delay_num, delay_den) of the 12 frames of :func:`stuttering_apng`: 1/30 s, which FFmpeg's ticks
#: (1/100000 s) cannot hold, 50 ms as 5/100, and a long last frame
DELAYS = [(1, 30)] * 5 + [(5, 100)] * 2 + [(1, 30)] * 4 + [(1, 2)]


def apng(path: Path, frames: list[np.ndarray], delays: list[tuple[int, int]], plays: int = 0, pix_fmt: str = "rgb24",
         head: tuple = (), tail: tuple = (), given: str | None = None, blend_over: bool = False) -> Path:  # fmt: skip
    """An APNG of ``frames`` ((H, W, C) arrays in ``pix_fmt``, or in ``given`` where PyAV has no
    array for it: ya8) written by FFmpeg's encoder (a copy stays a frame), frame i shown
    ``delays[i]``, with no ancillary chunks but ``head`` after IHDR and ``tail`` before IEND,
    ``(name, payload)``. 16-bit frames with alpha that the encoder blends over the frame before
    are coded again to blend source (nlvfi.apng_blend), so that FFmpeg decodes them, unless
    ``blend_over``."""
    muxed = path.with_suffix(".muxed")
    coded = {}
    with av.open(str(muxed), "w", format="apng", options={"plays": str(plays)}) as container:
        stream = container.add_stream("apng", rate=1)
        stream.height, stream.width = (frames[0][0] if pix_fmt == "pal8" else frames[0]).shape[:2]
        stream.pix_fmt, stream.time_base = pix_fmt, Fraction(1, 1)
        for index, picture in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(picture, format=given or pix_fmt)  # pal8: (indices, (256, 4) A, R, G, B rows)
            frame = frame.reformat(format=pix_fmt)
            frame.pts, frame.time_base = index, Fraction(1, 1)
            if pix_fmt in BLEND_REFUSED:
                coded[index] = plane_rows(frame, BLEND_REFUSED[pix_fmt])
            for packet in list(stream.encode(frame)) + (list(stream.encode()) if index == len(frames) - 1 else []):
                set_delay(packet, delays[int(packet.pts)])
                again = None if blend_over or pix_fmt not in BLEND_REFUSED else source_blended(bytes(packet), coded[int(packet.pts)], BLEND_REFUSED[pix_fmt])
                container.mux(packet if again is None else packet_like(packet, again))
    data = muxed.read_bytes()
    muxed.unlink()
    kept = []
    for name, payload, _ in png_chunks(data):
        if name == b"IEND":
            kept += list(tail)
        if name[:1].isupper() or name in (b"acTL", b"fcTL", b"fdAT", b"tRNS"):  # not FFmpeg's pHYs: only ``head`` and ``tail``
            kept.append((name, payload))
        if name == b"IHDR":
            kept += list(head)
    path.write_bytes(data[:8] + b"".join(chunk(n, p) for n, p in renumbered(kept)))
    return path


def packet_like(packet, data: bytes):
    """A new packet of ``data`` with ``packet``'s stream and times."""
    new = av.Packet(data)
    new.stream, new.time_base, new.pts, new.dts = packet.stream, packet.time_base, packet.pts, packet.dts
    return new


def stuttering_apng(folder: Path, **kwargs) -> Path:
    frames = stutter(scene(12, 48, 64), [4, 8, 9])  # frame 4 copies 3; 8 and 9 copy 7
    return apng(folder / "in.png", frames, DELAYS, **kwargs)


def ffmpeg_view(path: Path, pix_fmt: str = "rgb24") -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format=pix_fmt) for frame in container.decode(video=0)]


def pillow_durations(path: Path) -> tuple[list[float], int]:
    """(every frame's duration in ms, the loop count) as Pillow (libpng's chunk reader) reads them."""
    with Image.open(path) as image:
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(float(image.info["duration"]))
        return durations, image.info["loop"]


def pillow_frames(path: Path) -> list[np.ndarray]:
    """Every frame as Pillow's own APNG reader composes it (blending, disposal), (H, W, 4) RGBA."""
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGBA")).copy())
        return frames


def photo_chunks():
    """A real ICC profile and a text chunk before the frames; a text chunk and EXIF after them."""
    exif = Image.Exif()
    exif[0x0110] = "nlvfi test camera"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    head = ((b"iCCP", b"sRGB profile\0\0" + zlib.compress(icc)), (b"tEXt", b"Title\0a stuttering sticker"))
    tail = ((b"tEXt", b"Comment\0written last"), (b"eXIf", exif.tobytes()[6:]))  # the TIFF block, without "Exif\0\0"
    return head, tail


def test_an_animation_is_told_from_a_still_png_and_other_files(tmp_path):
    assert is_apng(stuttering_apng(tmp_path))
    Image.fromarray(scene(1, 16, 16)[0]).save(tmp_path / "still.png")
    (tmp_path / "text.png").write_text("not a PNG")
    assert not any(is_apng(tmp_path / name) for name in ("still.png", "text.png", "missing.png"))


def test_a_stuttering_apng_comes_back_as_an_apng_every_delay_and_chunk_kept(tmp_path, model):
    head, tail = photo_chunks()
    source = stuttering_apng(tmp_path, plays=3, head=head, tail=tail)
    before = source.read_bytes()
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    out = tmp_path / "out.png"
    assert source.read_bytes() == before
    assert [r["frame"] for r in report["replaced"]] == [4, 8, 9]
    frames_in, frames_out = ffmpeg_view(source), ffmpeg_view(out)
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [i not in (4, 8, 9) for i in range(12)]
    assert apng_info(out).delays == tuple(DELAYS)  # 1/30 s stays 1/30 s (FFmpeg's muxer wrote 1000/30003)
    assert pillow_durations(out) == pillow_durations(source) and pillow_durations(out)[1] == 3
    assert ffmpeg_times(out) == ffmpeg_times(source)
    info = apng_info(out)
    assert (info.carried, info.trailing) == (head, tail)  # byte for byte, in their places; no pHYs of FFmpeg's encoder
    with Image.open(out) as image:  # the profile as libpng's chunk reader hands it on (the profile's bytes hold its creation time)
        assert image.info["icc_profile"] == zlib.decompress(head[0][1].split(b"\0\0", 1)[1])
    assert report["apng"]["chunks_kept"] == ["ICC profile", "text", "EXIF"] and report["apng"]["times_as_input"]
    text = summary_text(report)
    assert "Written as an animated PNG (" in text and "playing 3 time(s), its ICC profile, text, EXIF chunks kept" in text
    assert "the untouched frames identical to the input's, every frame's delay as the input gave it" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no staging, intermediate or resume left


def test_a_stuttering_sticker_keeps_its_alpha_and_a_16_bit_apng_its_depth(tmp_path, model):
    sticker = apng(tmp_path / "sticker.png", stutter(sticker_frames(8), [5]), [(1, 12)] * 8, pix_fmt="rgba")
    report = repair_video(sticker, tmp_path / "sticker_out.apng", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [5] and report["apng"]["coding"].startswith("lossless PNG, rgba")
    frames_in, frames_out = ffmpeg_view(sticker, "rgba"), ffmpeg_view(tmp_path / "sticker_out.apng", "rgba")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [True] * 5 + [False] + [True] * 2
    assert (frames_out[5][..., 3] < 128).mean() > 0.5  # still a sticker
    assert all(visible_equal(a, b) for a, b in zip(frames_out, pillow_frames(tmp_path / "sticker_out.apng")))  # Pillow composes it alike
    deep = [frame.astype(np.uint16) * 257 + np.uint16(index) for index, frame in enumerate(scene(10, 48, 64))]  # low bits vary
    deep = stutter([frame.byteswap() for frame in deep], [6])  # rgb48be: big-endian samples
    source = apng(tmp_path / "deep.png", deep, [(1, 25)] * 10, pix_fmt="rgb48be")
    report = repair_video(source, tmp_path / "deep_out.png", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [6] and report["apng"]["coding"].startswith("lossless PNG, rgb48be")
    frames_in, frames_out = ffmpeg_view(source, "rgb48le"), ffmpeg_view(tmp_path / "deep_out.png", "rgb48le")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [i != 6 for i in range(10)]
    assert (frames_in[3] % 257).any()  # the 16 bits are really used, and came back


@pytest.mark.parametrize("pix_fmt", ["gray", "gray16be", "ya8"])
def test_a_grey_apng_comes_back_grey_its_new_frames_alpha_as_its_neighbours(tmp_path, model, pix_fmt):
    grey = [frame[..., 1] for frame in scene(10, 48, 64)]
    frames, given = {
        "gray": (grey, None),
        "gray16be": ([(g.astype(np.uint16) * 257 + i).byteswap() for i, g in enumerate(grey)], None),  # low bits vary
        "ya8": ([np.dstack([g, g, g, np.full_like(g, 190)]) for g in grey], "rgba"),  # a half-transparent grey sticker
    }[pix_fmt]
    source = apng(tmp_path / "in.png", stutter(frames, [6]), [(1, 25)] * 10, pix_fmt=pix_fmt, given=given)
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [6] and report["apng"]["coding"].startswith(f"lossless PNG, {pix_fmt} ")
    view = "rgba64le"  # every one of the three, exactly
    frames_in, frames_out = ffmpeg_view(source, view), ffmpeg_view(tmp_path / "out.png", view)
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [i != 6 for i in range(10)]
    assert all(np.array_equal(f[..., 0], f[..., 1]) for f in frames_out)  # grey
    # swscale's RGBA -> ya8 conversion put 128-254 a level up: the new frame's alpha was 191 beside 190
    assert np.array_equal(frames_out[6][..., 3], frames_in[5][..., 3])


def test_a_16_bit_rgba_apng_ffmpeg_cannot_decode_is_not_called_corrupt(tmp_path, model, capsys):
    # FFmpeg's encoder writes a copied RGBA frame as one transparent pixel blended over the one
    # before; its decoder blends over only 8-bit RGBA and grey: 16 bits is "not yet implemented"
    frames = [frame.astype(np.uint16) * 257 for frame in stutter(scene(6, 48, 64, channels=4), [3])]  # alpha 180
    source = apng(tmp_path / "deep.png", frames, [(1, 12)] * 6, pix_fmt="rgba64be", given="rgba64le", blend_over=True)
    assert cli.main(["repair", str(source), "-o", str(tmp_path / "out.png"), "--checkpoint", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "FFmpeg's apng decoder cannot decode it past frame 3: it uses what that decoder does not implement" in err
    assert "corrupt" not in err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("pix_fmt", ["rgba64be", "ya16be"])
def test_a_16_bit_apng_with_alpha_comes_back_where_ffmpeg_blended_its_frames_over(tmp_path, model, pix_fmt):
    # FFmpeg's encoder blends a frame over the one before where that codes smaller (an unchanged
    # pixel inside the changed rectangle as transparent zeros; a copy as one transparent pixel);
    # its decoder does not blend 16-bit ones, so the read-back failed after the whole run.
    deep = [frame.astype(np.uint16) * 257 + np.uint16(i) for i, frame in enumerate(scene(8, 48, 64, channels=4))]  # low bits vary
    if pix_fmt == "ya16be":
        deep = [np.dstack([f[..., 1]] * 3 + [f[..., 3]]) for f in deep]
    frames = stutter(deep, [3, 7])  # 3 copies 2 (replaced); 7 copies 6, left at the end: two identical frames out
    source = apng(tmp_path / "in.png", frames, [(1, 12)] * 8, pix_fmt=pix_fmt, given="rgba64le")
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    assert [r["frame"] for r in report["replaced"]] == [3] and report["apng"]["coding"].startswith(f"lossless PNG, {pix_fmt} ")
    frames_in, frames_out = ffmpeg_view(source, "rgba64le"), ffmpeg_view(tmp_path / "out.png", "rgba64le")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out, strict=True)] == [i != 3 for i in range(8)]
    assert np.array_equal(frames_out[6], frames_out[7]) and (frames_out[5] % 257).any()  # 16 bits kept
    chunks = list(png_chunks((tmp_path / "out.png").read_bytes()))
    numbers = [int.from_bytes(p[:4], "big") for n, p, _ in chunks if n in (b"fcTL", b"fdAT")]
    assert numbers == list(range(len(numbers)))  # the sequence numbers the specification asks for
    assert all(p[25] == 0 for n, p, _ in chunks if n == b"fcTL")  # every frame blends source


@pytest.mark.parametrize("height", [13, 150])  # one block of rows, and three (FILTER_ROWS: 64)
def test_png_filtering_decodes_back_through_ffmpeg(tmp_path, height):
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 3, (height, 11, 4)), axis=1).astype(np.uint16) * 300  # sub / Paeth win here
    for image in (rng.integers(0, 65536, (height, 11, 4), dtype=np.uint16), smooth, np.cumsum(smooth, axis=0).astype(np.uint16)):
        rows = image.astype(">u2").view(np.uint8).reshape(height, 11 * 8)  # rgba64be
        data = filtered(rows, 8)
        assert len(data) == height * (1 + 11 * 8) and set(data[:: 1 + 11 * 8]) <= {0, 1, 2, 3, 4}
        header = chunk(b"IHDR", (11).to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, 6, 0, 0, 0]))
        path = tmp_path / "still.png"
        path.write_bytes(PNG_SIGNATURE + header + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
        with av.open(str(path)) as container:
            decoded = next(container.decode(video=0)).to_ndarray(format="rgba64le")
        assert np.array_equal(decoded, image)
    assert set(filtered(smooth.astype(">u2").view(np.uint8).reshape(height, 88), 8)[::89]) - {0, 2}  # not only none and up


def palette_sticker(count: int = 8) -> tuple[list, np.ndarray]:
    """``(frames, palette)``: pal8 frames of a square of 60 colours moving over a transparent
    background, for an APNG of colour type 3; ``palette`` (N, 4) RGBA, entry 0 transparent."""
    rgba = np.zeros((61, 4), np.uint8)
    rgba[1:, :3] = np.stack([np.linspace(20, 240, 60), np.linspace(200, 40, 60), np.full(60, 120)], axis=1).astype(np.uint8)
    rgba[1:, 3] = 255
    rows = np.zeros((256, 4), np.uint8)
    rows[:61] = rgba[:, [3, 0, 1, 2]]  # PyAV's pal8 rows: A, R, G, B
    frames = []
    for index in range(count):
        indices = np.zeros((48, 64), np.uint8)
        left = 4 + 5 * index
        indices[10:34, left : left + 20] = 1 + (np.add.outer(np.arange(24), np.arange(20)) + 3 * index) % 60
        frames.append((indices, rows))
    return frames, rgba


def test_a_palette_sticker_stays_in_its_palette_its_new_frame_in_the_nearest_colours(tmp_path, model):
    frames, rgba = palette_sticker()
    frames[5] = frames[4]
    source = apng(tmp_path / "sticker.png", frames, [(1, 12)] * 8, pix_fmt="pal8")
    assert apng_info(source).palette is not None
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    out = tmp_path / "out.png"
    assert [r["frame"] for r in report["replaced"]] == [5]
    header = dict((name, payload) for name, payload, _ in png_chunks(out.read_bytes()))
    assert header[b"IHDR"][9] == 3 and b"tRNS" in header  # colour type 3, its alpha kept
    frames_in, frames_out = ffmpeg_view(source, "rgba"), ffmpeg_view(out, "rgba")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [True] * 5 + [False] + [True] * 2
    palette_colours = {tuple(colour) for colour in rgba}
    assert {tuple(colour) for colour in frames_out[5].reshape(-1, 4)} <= palette_colours  # the new frame in the palette
    palette = report["apng"]["palette"]
    assert palette["colours"] == 256 and palette["new_frames_mapped"] == 1 and palette["mapped_psnr_db"]["min"] > 15  # FFmpeg's PLTE: 256
    assert report["apng"]["coding"].startswith("lossless PNG, pal8: the input's palette of 256 colours")
    assert report["apng"]["bytes"] < 1.5 * report["apng"]["input_bytes"]
    assert "the 1 new frames drawn in the palette's nearest colours (PSNR >= " in summary_text(report)


def with_palette_of(path: Path, colours: int) -> Path:
    """``path`` with PLTE cut to ``colours`` entries and tRNS to its last entry that is not opaque,
    as palette tools (pngquant, apngasm) write them, where FFmpeg's encoder writes out to 256."""
    out = bytearray(PNG_SIGNATURE)
    for name, payload, _ in png_chunks(path.read_bytes()):
        if name == b"PLTE":
            payload = payload[: 3 * colours]
        if name == b"tRNS":
            payload = payload[:colours].rstrip(b"\xff")
        out += chunk(name, payload)
    path.write_bytes(bytes(out))
    return path


def test_a_palette_sticker_keeps_its_palettes_own_length(tmp_path, model):
    # FFmpeg's encoder writes PLTE and tRNS out to 256 entries: 840 bytes more on this sticker of 61 colours
    frames, rgba = palette_sticker()
    frames[5] = frames[4]
    source = with_palette_of(apng(tmp_path / "sticker.png", frames, [(1, 12)] * 8, pix_fmt="pal8"), len(rgba))
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    assert report["apng"]["palette"]["colours"] == 61 and [r["frame"] for r in report["replaced"]] == [5]
    chunks = dict((name, payload) for name, payload, _ in png_chunks((tmp_path / "out.png").read_bytes()))
    assert len(chunks[b"PLTE"]) == 3 * 61 and chunks[b"tRNS"] == b"\x00"  # entry 0 transparent, the rest opaque
    frames_in, frames_out = ffmpeg_view(source, "rgba"), ffmpeg_view(tmp_path / "out.png", "rgba")
    assert [np.array_equal(a, b) for a, b in zip(frames_in, frames_out)] == [i != 5 for i in range(8)]
    assert all(visible_equal(a, b) for a, b in zip(frames_out, pillow_frames(tmp_path / "out.png")))  # libpng's reader too


def test_a_palette_apng_whose_frames_leave_its_palette_is_written_as_rgba(tmp_path):
    """A frame taken from the input with a colour the palette lacks (FFmpeg blended a partly
    transparent frame over another) cannot go back into the palette: RGBA, and the report says why."""
    from nlvfi.apng_output import ApngInfo, ApngTarget, export_apng

    frames, rgba = palette_sticker(3)
    shown = [rgba[indices] for indices, _ in frames]  # (H, W, 4) RGBA
    shown[1] = shown[1].copy()
    shown[1][0, 0] = (1, 2, 3, 128)  # not a palette colour
    video = tmp_path / "run.mkv"
    write_video(video, shown, rate=10, codec="ffv1", pix_fmt="bgra")  # RGBA arrays in, as FFV1 holds them
    info = ApngInfo(((1, 10),) * 3, 0, (), (), True, rgba.tobytes())
    result = export_apng(video, ApngTarget(tmp_path / "out.png", info, info.delays, "pal8", 0), tmp_path / "out.png", progress=False)
    assert result["palette_not_kept"].startswith("frame 1 as FFmpeg composes it holds a colour the input's palette does not")
    assert result["coding"].startswith("lossless PNG, rgba") and "palette" not in result
    assert all(np.array_equal(a, b) for a, b in zip(ffmpeg_view(tmp_path / "out.png", "rgba"), shown))


def test_an_apng_with_nothing_to_replace_is_copied_byte_for_byte(tmp_path, model, capsys):
    source = apng(tmp_path / "in.png", scene(8, 48, 64), [(1, 20)] * 8, plays=2)
    out = tmp_path / "out.png"
    assert cli.main(["repair", str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"]) == 0
    assert out.read_bytes() == source.read_bytes()
    assert "No frame replaced, so the animated PNG " in capsys.readouterr().out
    report = repair_video(source, tmp_path / "again.png", checkpoint=model, progress=False)
    assert report["apng"]["copied"] and report["encoder"]["codec"] == "copy"  # no frame coded on the way


def test_an_apng_doubles_in_rate_as_an_apng_every_delay_halved_exactly(tmp_path, model, capsys):
    source = stuttering_apng(tmp_path)
    out = tmp_path / "smooth.apng"
    assert cli.main(["interpolate", str(source), "-o", str(out), "--factor", "2", "--checkpoint", str(model), "--quiet"]) == 0
    assert "Written as an animated PNG (" in capsys.readouterr().out
    delays = apng_info(out).delays
    assert len(delays) == 23 and delays[:10] == ((1, 60),) * 10 and delays[10:14] == ((1, 40),) * 4 and delays[-1] == (1, 2)
    frames_in, frames_out = ffmpeg_view(source), ffmpeg_view(out)
    assert all(np.array_equal(a, b) for a, b in zip(frames_in, frames_out[::2]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "smooth.apng"]


def _default_image_apart(path: Path) -> Path:
    """An APNG whose IDAT image comes before any fcTL: a still for readers without APNG, not a frame."""
    data = stuttering_apng(path.parent).read_bytes()
    chunks = list(png_chunks(data))
    idat = next(payload for name, payload, _ in chunks if name == b"IDAT")
    out = bytearray(data[:8])
    for name, payload, _ in chunks:
        if name == b"acTL":
            out += chunk(name, payload) + chunk(b"IDAT", idat)  # the default image, before the first fcTL
        elif name == b"IDAT":
            out += chunk(b"fdAT", (0).to_bytes(4, "big") + payload)
        else:
            out += chunk(name, payload)
    path.write_bytes(bytes(out))
    return path


def test_bad_requests_are_refused_in_one_line_with_nothing_at_out(tmp_path, model, capsys):
    video = tmp_path / "clip.mkv"
    write_video(video, stutter(scene(8, 48, 64), [4]), rate=10, codec="ffv1", pix_fmt="bgr0")
    source = stuttering_apng(tmp_path)
    fast = apng(tmp_path / "fast.png", scene(4, 48, 64), [(1, 25)] * 4)  # 40 ms: 10 ms frames at x4
    apart = _default_image_apart(tmp_path / "apart.png")
    still = tmp_path / "still.png"
    Image.fromarray(scene(1, 48, 64)[0]).save(still)  # what FFmpeg's muxer makes of a one-frame APNG too
    cases = [
        (["repair", str(video), "-o", str(tmp_path / "out.apng")], "an animated PNG is written for APNG input only"),
        (["repair", str(source), "-o", str(tmp_path / "out.png"), "--crf", "18"], "--crf cannot apply to an animated PNG"),
        (["interpolate", str(fast), "-o", str(tmp_path / "x4.png"), "--factor", "4"], "does not split into 4 exact APNG delays"),
        (["repair", str(apart), "-o", str(tmp_path / "out.png")], "has a still image that is not one of its frames"),
        (["repair", str(video), "-o", str(tmp_path / "out.png")], "cannot tell the container of"),  # a video to one .png
        (["repair", str(still), "-o", str(tmp_path / "out.png")], "is a still PNG image (1 frame), not an animated one"),
    ]
    for arguments, said in cases:
        assert cli.main(arguments + ["--checkpoint", str(model), "--quiet"]) != 0, arguments
        error = capsys.readouterr().err.strip()
        assert said in error and len(error.splitlines()) == 1, error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["apart.png", "clip.mkv", "fast.png", "in.png", "still.png"]


def test_an_interrupted_apng_run_leaves_nothing_at_out_and_the_next_goes_on(tmp_path, model, monkeypatch):
    import nlvfi.apng_output as apng_output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    source = stuttering_apng(tmp_path)
    monkeypatch.setattr(apng_output, "export_apng", interrupted)
    with pytest.raises(KeyboardInterrupt):
        repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.png" and not p.name.endswith(".nlvfi-resume")]
    monkeypatch.undo()
    report = repair_video(source, tmp_path / "out.png", checkpoint=model, progress=False)
    assert report["apng"]["frames"] == 12 and report["resume"]["runs_reused"] == 2
