"""Animated WebP read by libwebp and staged as a lossless video: ``nlvfi repair clip.webp``.

Method: none; METHOD.md §4, last paragraph (what a real tool must add), and issue 4: the tools
take "any input", convert unusual formats or refuse them clearly, and keep every frame's time.

Animated WebP is how many sites and chat apps now send short loops, and it stutters as GIFs do.
The FFmpeg inside PyAV here (8.1) does not decode it: its WebP decoder reads one still picture,
and the tools used to refuse an animated one in one line. libwebp, through Pillow, reads it
exactly as browsers do: its WebPAnimDecoder composes each frame onto the canvas (blending,
disposal, sub-frame rectangles) and gives whole RGBA or RGB pictures with their times in
milliseconds.

So an animated WebP input is staged, as numbered images FFmpeg misreads are
(:mod:`nlvfi.staged_images`): each frame as libwebp gives it is encoded in one pass (with a
progress bar) as lossless FFV1 in a Matroska file in a hidden folder beside the output, every
frame at its own time (time base 1/1000 s: a WebP's times are whole milliseconds) and every
frame's duration, the last one's too, as its packet's. The file is then read back through FFmpeg
and checked frame by frame (a SHA-1 of the pixels, the start time and duration). The run reads
that file as it reads any FFV1 video, so its untouched frames come out identical to libwebp's
pictures, and the report says what was staged. Where the WebP's frames are lossy (VP8), the file
says so in a tag (``nlvfi.videoio.LOSSY_SOURCE_TAG``), and the tools write it as they write lossy
input: ``-o out.mp4`` gets H.264 at high quality, not a lossless FFV1 many times the WebP's size.

What is kept: every pixel of every composed frame (RGB, or RGBA where the file says it holds
alpha and some pixel is not opaque: most encoders flag every animation as holding alpha, so an
opaque one is staged as RGB after a first pass over its alpha), every frame's start and duration, and, in the report, the loop count. The ICC
profile, EXIF and XMP chunks are not in the staged video (so not in a video output; the report
names the ones the file holds); a WebP output carries them over byte for byte
(:func:`metadata_chunks`, :mod:`nlvfi.webp_output`). A frame shown for 0 ms has no
time of its own in a video (its start would equal the next frame's) and is refused in one line.

The cost: the whole file is read into memory (libwebp decodes from a buffer; WebPs are small),
one pass over the frames, and their size again in disk space while the run lasts. The staged file
is bit-exact from run to run (no random Matroska IDs, no encoder version string) and takes the
input's times, so an interrupted run's resume folder still matches it (:mod:`nlvfi.resume`).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .videoio import LOSSY_SOURCE_TAG, VideoError

#: a WebP's time base: frame times are whole milliseconds
WEBP_TICK = Fraction(1, 1000)
#: the VP8X chunk's flag for an animation (WebP container specification, "Extended file format")
ANIMATION_FLAG = 0x02
#: FFV1's pixel formats for libwebp's pictures: RGB as bgr0, RGBA as bgra (8 bits, packed, exact)
STAGED_FORMATS = {"RGB": "bgr0", "RGBA": "bgra"}
#: metadata chunks a WebP may hold, by their four letters: a WebP output carries them over, the
#: staged video (and so a video output) does not
METADATA_CHUNKS = {b"ICCP": "ICC profile", b"EXIF": "EXIF", b"XMP ": "XMP"}


def is_animated_webp(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file whose first bytes say animated WebP: RIFF, WEBP, a VP8X chunk
    with the animation flag. False for anything else (a still WebP, another file, no file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(21)
    except OSError:
        return False
    return len(head) == 21 and head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X" and bool(head[20] & ANIMATION_FLAG)


def top_level_chunks(data: bytes):
    """Yield ``(four letters, payload)`` of every whole chunk after a WebP file's RIFF header, in
    order (a chunk of odd size is padded to even)."""
    at = 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if at + 8 + size > len(data):
            return
        yield data[at : at + 4], data[at + 8 : at + 8 + size]
        at += 8 + size + (size & 1)


def anmf_frames(path: str | os.PathLike) -> list[tuple[int, bool]]:
    """``(duration ms, lossy)`` of every frame as the file's ANMF chunks give them, read without
    decoding (WebP container specification: an ANMF payload holds a 24-bit duration at byte 12,
    then the frame's chunks from byte 16: an optional ALPH, then VP8 (lossy) or VP8L (lossless))."""
    frames = []
    for fourcc, payload in top_level_chunks(Path(path).read_bytes()):
        if fourcc == b"ANMF" and len(payload) >= 20:
            inner = payload[16:20] if payload[16:20] != b"ALPH" else payload[24 + _padded(payload[20:24]) : 28 + _padded(payload[20:24])]
            frames.append((int.from_bytes(payload[12:15], "little"), inner == b"VP8 "))
    return frames


def metadata_chunks(path: str | os.PathLike) -> dict[bytes, bytes]:
    """The payloads of the ICC profile, EXIF and XMP chunks of the WebP ``path`` (the first of
    each), by their four letters, byte for byte: what a WebP output carries over."""
    found: dict[bytes, bytes] = {}
    for fourcc, payload in top_level_chunks(Path(path).read_bytes()):
        if fourcc in METADATA_CHUNKS and fourcc not in found:
            found[fourcc] = payload
    return found


def cut_short(data: bytes) -> str | None:
    """How far a WebP file's bytes ``data`` go where they end before its RIFF header says (libwebp
    then reads none of it): "it ends inside frame K (K - 1 whole frames before it) ..."; None
    where they do not."""
    declared = int.from_bytes(data[4:8], "little") + 8 if len(data) >= 8 else None
    if declared is None or len(data) >= declared:
        return None
    whole, at = 0, 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if at + 8 + size > len(data):
            break
        whole += data[at : at + 4] == b"ANMF"
        at += 8 + size + (size & 1)
    return f"it ends inside frame {whole + 1} ({whole} whole frame(s) before it), {len(data)} of its {declared} bytes"


def _padded(size: bytes) -> int:
    """A chunk's payload length as stored, padded to even, from its four size bytes."""
    value = int.from_bytes(size, "little")
    return value + (value & 1)


def _open_webp(path: Path):
    """Pillow's reader on ``path``; VideoError in one line where libwebp cannot parse it."""
    from PIL import Image

    try:
        image = Image.open(path)
        image.seek(0)
    except Image.DecompressionBombError as error:
        raise VideoError(f"{path}: {str(error).splitlines()[0]}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        short = cut_short(path.read_bytes())
        if short is not None:
            raise VideoError(f"{path} is cut short: {short}") from None
        raise VideoError(f"{path} is an animated WebP that libwebp cannot read: {str(error).splitlines()[0] or type(error).__name__}") from None
    if image.format != "WEBP" or image.mode not in STAGED_FORMATS:
        image.close()
        raise VideoError(f"{path} is not an animated WebP libwebp reads as RGB or RGBA")
    return image


def webp_frames(path: str | os.PathLike):
    """Yield ``(picture (H, W, 3 or 4) uint8, start ms, duration ms)`` for every frame of the
    animated WebP ``path``, composed by libwebp. VideoError in one line for a frame that does not
    decode (naming how far it got) or one shown for 0 ms."""
    path = Path(path)
    image = _open_webp(path)
    with image:
        count = image.n_frames
        for index in range(count):
            try:
                image.seek(index)
                image.load()
            except (OSError, EOFError, ValueError) as error:
                raise VideoError(
                    f"{path} is damaged: frame {index + 1} of {count} does not decode ({str(error).splitlines()[0]}); "
                    f"{index} frame(s) read before it"
                ) from None
            start, duration = int(image.info["timestamp"]), int(image.info["duration"])
            if duration <= 0:
                raise VideoError(
                    f"{path}: frame {index + 1} of {count} is shown for {duration} ms, which has no time of its own in a video "
                    "(players differ on how long to show it); give it a duration, e.g. with img2webp -d"
                )
            yield np.asarray(image), start, duration


def webp_info(path: str | os.PathLike) -> dict:
    """What an animated WebP says of itself without decoding its frames: frames, canvas size,
    mode (RGB, or RGBA where its header says it holds alpha), loop count (0: for ever) and the
    metadata chunks it holds (which the staging leaves out)."""
    path = Path(path)
    with _open_webp(path) as image:
        return {
            "frames": image.n_frames,
            "width": image.width,
            "height": image.height,
            "mode": image.mode,
            "loop": int(image.info.get("loop", 0)),
            "metadata": [METADATA_CHUNKS[fourcc] for fourcc in metadata_chunks(path)],
        }


def all_opaque(path: str | os.PathLike, frames: int, progress: bool = True) -> bool:
    """Whether every pixel of every frame of the RGBA animated WebP ``path`` is opaque. Most
    encoders (libwebp's WebPAnimEncoder, as Pillow calls it) flag any animation as holding
    alpha; such a file is staged as RGB, so that its repair to .mp4 does not carry an alpha
    plane of 255s (or is not refused for it)."""
    pictures = tqdm(webp_frames(path), total=frames, desc="checking WebP alpha", unit="frame", disable=not progress)
    return all(bool((picture[..., 3] == 255).all()) for picture, _, _ in pictures)


def _frame_digest(picture: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(picture).tobytes()).hexdigest()


def stage_animated_webp(source: str | os.PathLike, staged: str | os.PathLike, progress: bool = True) -> dict:
    """Write every frame of the animated WebP ``source`` into the FFV1 Matroska file ``staged``
    at its own time, read it back and check it (module doc); return what was staged. VideoError
    in one line for a frame that does not decode, one shown for 0 ms, or a file that does not
    read back exactly."""
    import av

    source, staged = Path(source), Path(staged)
    info = webp_info(source)
    mode, width, height = info["mode"], info["width"], info["height"]
    opaque = mode == "RGBA" and all_opaque(source, info["frames"], progress)
    if opaque:
        mode = "RGB"
    written: list[tuple[str, int, int]] = []  # (SHA-1 of the pixels, start ms, duration ms), frame by frame
    chunks = anmf_frames(source)
    durations = Counter(duration for duration, _ in chunks if duration > 0)
    frame_ms = durations.most_common(1)[0][0] if durations else 1000
    options = {"level": "3", "slicecrc": "1", "flags": "+bitexact"}
    if min(width, height) < 16:  # FFV1 splits a frame into slices that do not fit a smaller side (nlvfi.videoio)
        options["slices"] = "1"
    with av.open(str(staged), "w", format="matroska", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("ffv1", rate=Fraction(1000, frame_ms))  # the rate the report gives: the commonest time
        stream.width, stream.height, stream.pix_fmt = width, height, STAGED_FORMATS[mode]
        stream.time_base = stream.codec_context.time_base = WEBP_TICK
        stream.options = options
        if any(lossy for _, lossy in chunks):
            stream.metadata[LOSSY_SOURCE_TAG] = "VP8"  # written as lossy input is, not losslessly (nlvfi.videoio)
        frames = webp_frames(source)
        for picture, start, duration in tqdm(frames, total=info["frames"], desc="reading animated WebP", unit="frame", disable=not progress):
            if opaque:
                picture = picture[..., :3]  # (H, W, 3): the alpha was 255 everywhere
            frame = av.VideoFrame.from_ndarray(picture, format="rgba" if mode == "RGBA" else "rgb24")  # (H, W, 4 or 3)
            frame.pts, frame.time_base = start, WEBP_TICK
            for packet in stream.encode(frame):  # FFV1 codes every frame alone: one packet each, at once
                packet.duration = duration  # the encoder times a packet by a frame rate; the WebP gives each its own
                container.mux(packet)
            written.append((_frame_digest(picture), start, duration))
        for packet in stream.encode():
            container.mux(packet)
    if len(written) < 2:
        raise VideoError(f"{source} has {len(written)} frame: nothing to repair or interpolate (a video needs at least two)")
    _check_staged(source, staged, written, mode)
    stat = source.stat()
    os.utime(staged, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the input's times: the resume key stays the same
    return {
        "reason": "animated WebP",
        "described": "animated WebP",
        "frames": len(written),
        "as": "FFV1 in Matroska (lossless), read back frame for frame with every time",
        "mode": "RGBA, every pixel opaque: staged as RGB" if opaque else mode,
        "loop": info["loop"],
        "frame_ms": frame_ms,
        "variable_timing": len({duration for _, _, duration in written}) > 1,
        "lossy_frames": sum(lossy for _, lossy in chunks),
        "metadata": info["metadata"],
    }


def staged_icc_profile(input_staged: dict | None) -> bytes | None:
    """The ICC profile of an animated WebP input (its ICCP chunk, which the staged video does not
    carry, so no frame of the run does), or None: what :mod:`nlvfi.icc` reports and a PNG image
    sequence written carries."""
    if input_staged is None or input_staged.get("reason") != "animated WebP":
        return None
    return metadata_chunks(input_staged["from"]).get(b"ICCP")


def _check_staged(source: Path, staged: Path, written: list[tuple[str, int, int]], mode: str) -> None:
    """VideoError unless ``staged`` reads back through FFmpeg as ``written``: the same pixels,
    start and duration, frame by frame."""
    import av

    read: list[tuple[str, int, int]] = []
    with av.open(str(staged)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if not packet.size:
                continue
            tick = Fraction(stream.time_base) / WEBP_TICK
            for frame in packet.decode():
                picture = frame.to_ndarray(format="rgba" if mode == "RGBA" else "rgb24")  # (H, W, 4 or 3)
                read.append((_frame_digest(picture), int(packet.pts * tick), int((packet.duration or 0) * tick)))
    if read != written:
        first = next((i for i, (a, b) in enumerate(zip(read, written)) if a != b), min(len(read), len(written)))
        raise VideoError(f"{source}: its staging did not read back exactly (frame {first + 1}; {len(read)} read, {len(written)} written)")


def staged_webp_text(staged: dict) -> str:
    """The summary's sentence on an animated WebP input (:func:`stage_animated_webp`'s dict)."""
    timing = "variable frame times" if staged["variable_timing"] else f"{staged['frame_ms']} ms a frame"
    coding = f"{staged['lossy_frames']} lossy (VP8)" if staged["lossy_frames"] else "lossless (VP8L)"
    loop = "loops for ever" if staged["loop"] == 0 else f"loop count {staged['loop']}"
    held = " and ".join(staged["metadata"])
    images = ", and the ICC profile into PNG images" if "ICC profile" in staged["metadata"] else ""
    left = f"; its {held} goes into a WebP output{images}, not into a video" if held else ""
    return (
        f"Its {staged['frames']} frames ({coding}, {staged['mode']}, {timing}, {loop}) were decoded by libwebp (animated WebP, which the "
        f"FFmpeg here does not decode) and staged as lossless FFV1 for the run, in {staged['seconds']:.1f} s (nlvfi.animated_webp){left}."
    )
