"""Writing a repaired animated PNG as an animated PNG: ``nlvfi repair in.png -o out.png``.

Method: METHOD.md §4 step 4 (¶0214–0239) puts the new frames in place and keeps the frame rate;
issue 4 asks that the frame count, every time and, for lossless input, the untouched frames be
kept. FFmpeg reads an APNG (sticker sets, emoji, UI animations) as a lossless video, so it was
repaired, but only into a video: ``-o out.png`` was refused as "a container it cannot tell".

How: as for a GIF (:mod:`nlvfi.gif_output`), the repair is written as usual, lossless (FFV1 in a
hidden .mkv beside the APNG, ``ApngTarget.intermediate``, checked frame by frame against the
input by ``nlvfi.verification``); its frames then go through FFmpeg's APNG encoder (every frame
its own, the changed rectangle only, prediction ``mixed``) into a hidden staging file, which is
read back through FFmpeg frame by frame and only at the very end renamed onto ``-o``. An
interrupted or failed run leaves no APNG, and the next one goes on from the intermediate's
resume folder. A repair that replaces no frame copies the input byte for byte instead.

What is kept, and how:

- **Every frame's delay, exactly.** An APNG gives each frame a fraction of a second (two 16-bit
  numbers); FFmpeg rounds them to its 1/100000 s ticks, and its muxer would write the rounded
  ticks back as other fractions (1/30 s came back as 1000/30003 and 1667/50000). So the delays
  are read from the input's own ``fcTL`` chunks and written into each frame's ``fcTL`` as they
  were (an up-conversion divides each by ``--factor``, exactly, the last frame's kept); FFmpeg
  reads the repaired file's times as it read the input's, tick for tick (checked).
- **The pixels**, as FFmpeg composes them (blending, disposal), in the pixel format it decodes
  the input to (8 or 16 bits; RGB, RGBA, grey, grey and alpha), a palette file in its own palette,
  its new frames in the palette's nearest colours (:mod:`nlvfi.apng_palette`): lossless, the
  untouched frames identical (checked on the read-back).
- **The play count** (``acTL``), and the input's colour and text chunks byte for byte (ICC
  profile, sRGB, gamma, chromaticities, cICP, HDR levels, pixel size, text, EXIF, time), in their
  order, in place of what FFmpeg's encoder would write (:data:`CARRIED_CHUNKS`).

APNG output takes APNG input only (other videos: .mp4, .webm), and no ``--codec`` / ``--crf`` /
``--preset``. An up-conversion whose delays do not split into exact APNG fractions (16 bits)
above 10 ms (browsers show a frame of 10 ms or less for 100 ms) is refused in one line.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .apng_blend import BLEND_REFUSED, plane_rows, renumbered, source_blended
from .apng_palette import exact_indices, input_palette, nearest_indices, pal8_palette
from .checkpoint import staged_copy, staged_from
from .png_chunks import PNG_SIGNATURE, chunk, png_chunks
from .videoio import VideoError, VideoReader, frame_content, is_image_pattern, pixel_traits, probe, refuse_encoder_options
from .webp_output import BROWSER_MIN_MS

#: the suffixes an APNG output may have (``.png`` for APNG input: what sticker tools write)
APNG_SUFFIXES = (".apng", ".png")
#: ancillary chunks carried from the input byte for byte, by name: colour (iCCP, sRGB, gAMA,
#: cHRM, cICP, mDCV/mDCv, cLLI/cLLi), pixel size (pHYs), text (tEXt, zTXt, iTXt), EXIF (eXIf) and
#: the time of last change (tIME). None of them depends on the colour type (unlike sBIT, bKGD,
#: tRNS, hIST and sPLT, which are left out where FFmpeg decodes a palette file to RGB).
CARRIED_CHUNKS = {
    b"iCCP": "ICC profile", b"sRGB": "sRGB", b"gAMA": "gamma", b"cHRM": "chromaticities", b"cICP": "cICP",
    b"mDCV": "mastering display", b"mDCv": "mastering display", b"cLLI": "light levels", b"cLLi": "light levels",
    b"pHYs": "pixel size", b"tEXt": "text", b"zTXt": "text", b"iTXt": "text", b"eXIf": "EXIF", b"tIME": "time",
}  # fmt: skip
#: pixel formats FFmpeg's APNG encoder writes as they are; others are written as RGBA or RGB
ENCODER_FORMATS = ("rgb24", "rgba", "rgb48be", "rgba64be", "gray", "ya8", "gray16be", "ya16be")
#: an APNG delay's numerator and denominator are 16-bit
MAX_DELAY_TERM = 0xFFFF


def is_apng(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a PNG with an acTL chunk before its image data (an animated PNG),
    walking the chunk headers only; False for anything else (a still PNG, another file, none)."""
    try:
        with open(path, "rb") as file:
            if file.read(8) != PNG_SIGNATURE:
                return False
            while len(header := file.read(8)) == 8:
                name = header[4:8]
                if name == b"acTL":
                    return True
                if name in (b"IDAT", b"IEND"):
                    return False
                file.seek(int.from_bytes(header[:4], "big") + 4, os.SEEK_CUR)
    except OSError:
        return False
    return False


def delay_of(num: int, den: int) -> Fraction:
    """An fcTL delay in seconds (APNG specification: a denominator of 0 means 100)."""
    return Fraction(num, den or 100)


@dataclass(frozen=True)
class ApngInfo:
    """What an APNG's chunks say, read without decoding.

    Attributes:
        delays: every frame's ``(delay_num, delay_den)`` as its fcTL gives it.
        plays: the acTL play count (0: for ever).
        carried: the :data:`CARRIED_CHUNKS` it holds, ``(name, payload)``, before its first frame.
        trailing: those after its last frame's data (text and EXIF may sit there).
        default_image_shown: whether the IDAT image is the first frame (an fcTL comes before it).
        palette: a palette APNG's RGBA colours, 4 bytes each (:func:`nlvfi.apng_palette.input_palette`); None for others.
    """

    delays: tuple[tuple[int, int], ...]
    plays: int
    carried: tuple[tuple[bytes, bytes], ...]
    trailing: tuple[tuple[bytes, bytes], ...]
    default_image_shown: bool
    palette: bytes | None = None

    @property
    def carried_names(self) -> list[str]:
        """The carried chunks by name, once each, in order."""
        names = [CARRIED_CHUNKS[name] for name, _ in self.carried + self.trailing]
        return list(dict.fromkeys(names))


def apng_info(path: str | os.PathLike) -> ApngInfo:
    """:class:`ApngInfo` of the APNG ``path``; VideoError where it has no acTL chunk."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise VideoError(f"{path} is not a PNG file")
    delays, plays, carried, trailing, header = [], None, [], [], []
    seen_frame_data = seen_fctl_first = False
    for name, payload, _ in png_chunks(data):
        if not seen_frame_data:
            header.append((name, payload))
        if name == b"acTL" and len(payload) == 8:
            plays = int.from_bytes(payload[4:8], "big")
        elif name == b"fcTL" and len(payload) == 26:
            seen_fctl_first = seen_fctl_first or not seen_frame_data
            delays.append((int.from_bytes(payload[20:22], "big"), int.from_bytes(payload[22:24], "big")))
        elif name in (b"IDAT", b"fdAT"):
            seen_frame_data = True
        elif name in CARRIED_CHUNKS:
            (trailing if seen_frame_data else carried).append((name, payload))
    if plays is None:
        raise VideoError(f"{path} is a still PNG, not an animated one (it has no acTL chunk)")
    palette = input_palette(header)
    return ApngInfo(tuple(delays), plays, tuple(carried), tuple(trailing), seen_fctl_first, None if palette is None else palette.tobytes())


def split_delay(num: int, den: int, factor: int) -> tuple[int, int] | None:
    """The delay ``num/den`` divided by ``factor`` as an APNG delay (16-bit terms, in lowest
    terms), or None where it cannot be held exactly or lasts 10 ms or less (:data:`BROWSER_MIN_MS`)."""
    part = delay_of(num, den) / factor
    if part.numerator > MAX_DELAY_TERM or part.denominator > MAX_DELAY_TERM or part * 1000 < BROWSER_MIN_MS:
        return None
    return part.numerator, part.denominator


@dataclass(frozen=True)
class ApngTarget:
    """Where a tool writes its APNG.

    Attributes:
        path: the APNG asked for (``-o``).
        info: the input's :class:`ApngInfo`.
        delays: every output frame's ``(delay_num, delay_den)``.
        pix_fmt: the pixel format the frames are coded in (:data:`ENCODER_FORMATS`, or pal8: the
            input's palette).
        input_bytes: the input's size, for the report.
    """

    path: Path
    info: ApngInfo
    delays: tuple[tuple[int, int], ...]
    pix_fmt: str
    input_bytes: int

    @property
    def intermediate(self) -> Path:
        """The lossless video the run writes first (hidden, beside the APNG)."""
        return self.path.parent / f".{self.path.name}.nlvfi.mkv"


def output_format(pix_fmt: str) -> str:
    """The APNG pixel format for frames FFmpeg decodes as ``pix_fmt`` (a palette: RGBA, as its
    tRNS may hold alpha; 1-bit grey: 8-bit grey; another format with alpha: RGBA; else RGB)."""
    if pix_fmt in ENCODER_FORMATS:
        return pix_fmt
    if pix_fmt in ("monob", "monow"):
        return "gray"
    return "rgba" if pix_fmt == "pal8" or pixel_traits(pix_fmt).has_alpha else "rgb24"


def apng_output(output: Path, source: Path, codec: str | None, crf: int | None, preset: str | None, factor: int = 1):
    """``(target, path, codec)`` for a tool about to write ``output`` from ``source``: for an
    ``.apng``, or a ``.png`` from APNG input, its :class:`ApngTarget`, the intermediate video to
    write first and FFV1; else ``(None, output, codec)``. ValueError (one line) for other input to
    ``.apng``, an encoder asked of an APNG, an input whose first image is not a frame, or
    (``factor`` > 1) a delay that does not split (:func:`split_delay`)."""
    suffix = Path(output).suffix.lower()
    if suffix not in APNG_SUFFIXES:
        return None, output, codec
    info = probe(source) if Path(source).is_file() else None
    if info is None or info.codec != "apng":
        if suffix == ".png" and info is not None and info.codec == "png" and not is_image_pattern(source):
            raise ValueError(f"{source} is a still PNG image (1 frame), not an animated one: nothing to repair or interpolate (it needs at least 2)")
        if suffix == ".png":
            return None, output, codec  # numbered images or a video to a .png: not this module's (the container is refused)
        what = f"{info.codec} {info.pix_fmt}" if info is not None else "not a file"
        raise ValueError(f"{output}: an animated PNG is written for APNG input only ({source} is {what}); write OUT.mp4 or OUT.webm for other input")
    refuse_encoder_options(codec, crf, preset, "an animated PNG: it is written losslessly, as the input was")
    chunks = apng_info(source)
    if not chunks.default_image_shown:
        raise ValueError(
            f"{output}: {source} has a still image that is not one of its frames (shown only where APNG is not read); "
            "write OUT.mkv, which keeps the frames"
        )
    delays = list(chunks.delays)
    if factor > 1:
        split = [split_delay(num, den, factor) for num, den in delays[:-1]]
        bad = next((index for index, part in enumerate(split) if part is None), None)
        if bad is not None:
            shown = float(delay_of(*delays[bad])) * 1000
            raise ValueError(
                f"{output}: {source} shows frame {bad} for {shown:.2f} ms, which does not split into {factor} exact APNG delays "
                f"(16-bit fractions of a second) of at least {BROWSER_MIN_MS} ms (browsers show a frame of 10 ms or less for 100 ms); "
                "write OUT.mp4 or OUT.webm, which hold any time"
            )
        delays = [part for part in split for _ in range(factor)] + delays[-1:]
    pix_fmt = "pal8" if chunks.palette is not None else output_format(info.pix_fmt)  # a palette APNG in its palette (nlvfi.apng_palette)
    target = ApngTarget(Path(output), chunks, tuple(delays), pix_fmt, Path(source).stat().st_size)
    return target, target.intermediate, "ffv1"


def set_delay(packet, delay: tuple[int, int]) -> None:
    """Set the delay in the fcTL chunk that starts an APNG encoder packet, in place (with its CRC):
    a new packet would lose the header FFmpeg's muxer takes from the first one's side data."""
    with memoryview(packet) as data:  # (length, "fcTL", 26 bytes, CRC), then IDAT or fdAT chunks; released at once
        if bytes(data[4:8]) != b"fcTL" or int.from_bytes(data[0:4], "big") != 26:
            raise VideoError("FFmpeg's APNG encoder gave a frame that does not start with an fcTL chunk")
        data[28:32] = struct.pack(">HH", *delay)
        data[34:38] = struct.pack(">I", zlib.crc32(bytes(data[4:34])))


def coded_frame(frame, pix_fmt: str):
    """``frame`` (from the run's intermediate) in the APNG's ``pix_fmt``. Grey with alpha at 16
    bits (``ya16be``) is held there as 16-bit RGBA (FFV1 holds no ya16), and swscale's conversion back
    keeps only some 8 bits of the grey (16-bit grey came back up to 226 levels off, the untouched
    frames no longer the input's): where the three channels are equal, as in every frame decoded
    from grey, the grey and the alpha are copied into the frame as they are."""
    import av

    if pix_fmt != "ya16be" or frame.format.name not in ("gbrap16le", "rgba64le"):
        return frame.reformat(format=pix_fmt)
    rgba = frame.reformat(format="rgba64le").to_ndarray()  # (H, W, 4) uint16: planar to packed, exact
    if not (np.array_equal(rgba[..., 0], rgba[..., 1]) and np.array_equal(rgba[..., 0], rgba[..., 2])):
        return frame.reformat(format=pix_fmt)
    grey = av.VideoFrame(frame.width, frame.height, pix_fmt)
    plane = grey.planes[0]
    rows = np.frombuffer(plane, dtype=">u2").reshape(frame.height, plane.line_size // 2)  # writable: the frame's own
    rows[:, 0 : 2 * frame.width : 2] = rgba[..., 0]
    rows[:, 1 : 2 * frame.width : 2] = rgba[..., 3]
    grey.pts, grey.time_base = frame.pts, frame.time_base
    return grey


def _muxable(packet, target: ApngTarget, coded: dict[int, np.ndarray], pix_fmt: str):
    """An encoder packet with its frame's delay (the packet's pts is its frame's index), and, in a
    16-bit format with alpha, a blend-over frame coded again to blend source (:mod:`nlvfi.apng_blend`):
    then a new packet, which is never the first (the first frame always blends source), so no
    side data is lost."""
    import av

    index = int(packet.pts)
    set_delay(packet, target.delays[index])
    rows = coded.pop(index, None)
    again = None if rows is None else source_blended(bytes(packet), rows, BLEND_REFUSED[pix_fmt])
    if again is None:
        return packet
    replacement = av.Packet(again)
    replacement.stream, replacement.time_base = packet.stream, packet.time_base
    replacement.pts, replacement.dts, replacement.duration = packet.pts, packet.dts, packet.duration
    replacement.is_keyframe = packet.is_keyframe
    return replacement


def _with_input_chunks(data: bytes, info: ApngInfo, colours: int | None = None) -> bytes:
    """The APNG ``data`` FFmpeg muxed with its ancillary chunks replaced by the input's carried
    ones: those before the first frame after IHDR, those after it before IEND. ``colours``: the
    frames are indices into a palette of that many entries (the input's, :mod:`nlvfi.apng_palette`),
    which FFmpeg's encoder writes out to 256 (PLTE 768 bytes, tRNS 256): PLTE is cut to them, and
    tRNS to the last entry that is not opaque, or left out (entries past it are opaque)."""
    head, body = [], []
    for name, payload, _ in png_chunks(data):
        if colours is not None and name == b"PLTE":
            payload = payload[: 3 * colours]
        if colours is not None and name == b"tRNS":
            payload = payload[:colours].rstrip(b"\xff")
            if not payload:
                continue
        if name == b"IHDR":
            head.append((name, payload))
            head.extend(info.carried)
        elif name == b"IEND":
            body.extend(info.trailing)
            body.append((name, payload))
        elif name[0:1].isupper() or name in (b"acTL", b"fcTL", b"fdAT", b"tRNS"):  # critical chunks, the animation's, a palette's alpha
            body.append((name, payload))
    body = renumbered(body)  # a frame coded again (nlvfi.apng_blend) can change the number of fdAT chunks
    return PNG_SIGNATURE + b"".join(chunk(n, p) for n, p in head + body)


def export_apng(
    video: Path, target: ApngTarget, staging: Path, source: Path | None = None, progress: bool = True, generated: frozenset[int] = frozenset(),
) -> dict:  # fmt: skip
    """Write the frames of ``video`` (the run's lossless intermediate) as one APNG at ``staging``
    with the delays, play count and chunks of ``target``, read it back through FFmpeg and compare
    every frame's pixels and delay with what was written, and (``source``: a repair, whose times
    are the input's) FFmpeg's times for it with FFmpeg's for the input. A palette input's frames
    are written in its palette where every frame not in ``generated`` (the run's new ones) fits it
    (:mod:`nlvfi.apng_palette`). Returns the report's ``apng``; VideoError where it does not read
    back so."""
    import av

    palette, why_not = _palette_for(video, target, generated, progress)
    pix_fmt = "pal8" if palette is not None else output_format("rgba" if target.pix_fmt == "pal8" else target.pix_fmt)
    compared = "rgba" if pix_fmt == "pal8" else pix_fmt  # the format frames are compared in
    written: list[str] = []  # SHA-1 of each frame's pixels, as coded
    coded: dict[int, np.ndarray] = {}  # a 16-bit frame with alpha, as coded, until its packet comes (nlvfi.apng_blend)
    mapped: list[float] = []  # a new frame's PSNR in the palette against the generator's
    muxed = staging.with_name(staging.name + ".muxed")
    try:
        with av.open(str(muxed), "w", format="apng", options={"plays": str(target.info.plays)}) as container, VideoReader(video) as reader:
            stream = None
            for item in tqdm(reader, desc="writing APNG", unit="frame", disable=not progress):
                if item.index >= len(target.delays):
                    raise VideoError(f"the run gave more frames than the {len(target.delays)} the APNG's delays were made for")
                if palette is None:
                    frame = coded_frame(item.frame, pix_fmt)
                    pixels = frame_content(frame)  # grey with alpha (ya8), which PyAV has no array for, as 16-bit RGBA
                else:
                    frame, pixels = _in_palette(item.frame.to_ndarray(format="rgba"), palette, item.index in generated, mapped)
                if stream is None:
                    stream = container.add_stream("apng", rate=Fraction(1, 1))
                    stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, pix_fmt
                    stream.time_base = stream.codec_context.time_base = Fraction(1, 1)  # a frame's pts is its index
                    stream.options = {"pred": "mixed"}
                frame.pts, frame.time_base = item.index, Fraction(1, 1)
                written.append(hashlib.sha1(pixels.tobytes()).hexdigest())
                if pix_fmt in BLEND_REFUSED:
                    coded[item.index] = plane_rows(frame, BLEND_REFUSED[pix_fmt])
                for packet in stream.encode(frame):
                    container.mux(_muxable(packet, target, coded, pix_fmt))
            if stream is not None:
                for packet in stream.encode():
                    container.mux(_muxable(packet, target, coded, pix_fmt))
        staging.write_bytes(_with_input_chunks(muxed.read_bytes(), target.info, None if palette is None else len(palette)))
    finally:
        muxed.unlink(missing_ok=True)
    if len(written) != len(target.delays):
        raise VideoError(f"the run gave {len(written)} frames where the APNG's delays were made for {len(target.delays)}")
    result = {**_read_back(staging, target, written, compared, source), "pix_fmt": pix_fmt}
    if palette is not None:
        finite = [value for value in mapped if np.isfinite(value)]
        result["coding"] = f"lossless PNG, pal8: the input's palette of {len(palette)} colours (FFmpeg's APNG encoder, prediction mixed)"
        result["palette"] = {
            "colours": len(palette), "new_frames_mapped": len(mapped),
            "mapped_psnr_db": {"min": round(float(min(finite)), 2), "mean": round(float(np.mean(finite)), 2)} if finite else None,
        }  # fmt: skip
    elif why_not is not None:
        result["coding"] = f"lossless PNG, {pix_fmt} (FFmpeg's APNG encoder, prediction mixed)"
        result["palette_not_kept"] = why_not
    return result


def _palette_for(video: Path, target: ApngTarget, generated: frozenset[int], progress: bool) -> tuple[np.ndarray | None, str | None]:
    """``(palette, None)`` where the input is a palette APNG whose frames the run took from it all
    fit its palette (a first pass over ``video``); ``(None, why not)`` where they do not; ``(None,
    None)`` for other input."""
    if target.info.palette is None:
        return None, None
    palette = np.frombuffer(target.info.palette, np.uint8).reshape(-1, 4)
    with VideoReader(video) as reader:
        for item in tqdm(reader, desc="checking palette", unit="frame", disable=not progress):
            if item.index not in generated and exact_indices(item.frame.to_ndarray(format="rgba"), palette) is None:
                return None, f"frame {item.index} as FFmpeg composes it holds a colour the input's palette does not (a partly transparent frame blended over another)"
    return palette, None


def _in_palette(rgba: np.ndarray, palette: np.ndarray, new: bool, mapped: list[float]):
    """``(pal8 frame, its (H, W, 4) RGBA pixels)`` of the (H, W, 4) ``rgba`` frame: exactly in
    ``palette``, or (``new``: a generated frame) in its nearest colours, their PSNR against
    ``rgba`` added to ``mapped``."""
    import av

    indices = nearest_indices(rgba, palette) if new else exact_indices(rgba, palette)
    pixels = palette[indices]  # (H, W, 4)
    if new:
        error = float(np.mean((pixels.astype(np.float64) - rgba) ** 2))
        mapped.append(float("inf") if error == 0 else 10 * np.log10(255.0**2 / error))
    return av.VideoFrame.from_ndarray((indices, pal8_palette(palette)), format="pal8"), pixels


def ffmpeg_times(path: Path) -> list[int]:
    """Every frame's start as FFmpeg's APNG demuxer reads ``path``, in its ticks."""
    import av

    with av.open(str(path)) as container:
        return [int(packet.pts) for packet in container.demux(video=0) if packet.size]


def _read_back(staging: Path, target: ApngTarget, written: list[str], compared: str, source: Path | None) -> dict:
    """Compare the APNG at ``staging`` with what was written (module doc); the report's ``apng``."""
    import av

    read = []
    with av.open(str(staging)) as container:
        for frame in container.decode(video=0):
            read.append(hashlib.sha1(frame_content(frame.reformat(format=compared)).tobytes()).hexdigest())
    if read != written:
        first = next((i for i, (a, b) in enumerate(zip(read, written)) if a != b), min(len(read), len(written)))
        raise VideoError(f"the APNG did not read back as written (frame {first}; {len(read)} frames read, {len(written)} written)")
    info = apng_info(staging)
    if info.delays != target.delays or info.plays != target.info.plays:
        raise VideoError("the APNG's delays or play count did not read back as written")
    if (info.carried, info.trailing) != (target.info.carried, target.info.trailing):
        raise VideoError("the APNG's colour and text chunks did not read back as the input's")
    same_times = None
    if source is not None:
        same_times = ffmpeg_times(staging) == ffmpeg_times(source)
        if not same_times:
            raise VideoError("FFmpeg reads the APNG's frame times otherwise than the input's")
    return {
        "file": str(target.path),
        "frames": len(read),
        "coding": f"lossless PNG, {compared} (FFmpeg's APNG encoder, prediction mixed)",
        "lossless": True,
        "plays": target.info.plays,
        "chunks_kept": target.info.carried_names,
        "delays_exact": True,
        "times_as_input": same_times,
        "bytes": staging.stat().st_size,
        "input_bytes": target.input_bytes,
    }


def stage_apng(
    video: Path, target: ApngTarget, source: Path | None = None, progress: bool = True, generated: frozenset[int] = frozenset(),
) -> tuple[Path, dict]:  # fmt: skip
    """:func:`export_apng` into a new hidden file beside the APNG: (that file, its result); on an
    error or an interrupt both it and ``video`` (the intermediate) are deleted (:func:`nlvfi.checkpoint.staged_from`)."""
    return staged_from(video, target.path, ".nlvfi-staging.png", lambda staging: export_apng(video, target, staging, source, progress, generated))


def copy_apng(original: Path, target: ApngTarget) -> tuple[Path, dict]:
    """The input APNG copied byte for byte beside the output, for a repair that replaces no frame:
    (that file, the report's ``apng``)."""
    staging, size = staged_copy(original, target.path, ".nlvfi-staging.png")
    return staging, {
        "file": str(target.path), "frames": len(target.delays), "copied": True, "lossless": True, "plays": target.info.plays,
        "chunks_kept": target.info.carried_names, "delays_exact": True, "bytes": size, "input_bytes": size,
    }  # fmt: skip


def apng_text(apng: dict, kept: str = "untouched") -> str:
    """The summary's sentence on an APNG output; ``kept`` names the frames taken from the input
    ("untouched" in a repair, "input" in an up-conversion)."""
    plays = "playing for ever" if apng["plays"] == 0 else f"playing {apng['plays']} time(s)"
    if apng["chunks_kept"]:
        plays += f", its {', '.join(apng['chunks_kept'])} chunks kept"
    if apng.get("copied"):
        return f"No frame replaced, so the animated PNG {apng['file']} is the input copied byte for byte (SHA-256 checked; {apng['frames']} frames, {plays})."
    times = "every frame's delay as the input gave it" if apng["times_as_input"] else "every delay exact"
    palette = apng.get("palette")
    if palette and palette["new_frames_mapped"]:
        psnr = palette["mapped_psnr_db"]
        drawn = f" (PSNR >= {psnr['min']} dB against the generator's, mean {psnr['mean']})" if psnr else " (exactly)"
        times += f", the {palette['new_frames_mapped']} new frames drawn in the palette's nearest colours{drawn}"
    if apng.get("palette_not_kept"):
        times += f"; not in the input's palette: {apng['palette_not_kept']}"
    return (
        f"Written as an animated PNG ({apng['file']}, {apng['frames']} frames, {plays}, {apng['coding']}, {apng['bytes'] / 1e6:.2f} MB "
        f"against the input's {apng['input_bytes'] / 1e6:.2f} MB), read back through FFmpeg frame for frame: the {kept} frames "
        f"identical to the input's, {times}."
    )
