"""Writing a repaired animated WebP as an animated WebP: ``nlvfi repair in.webp -o out.webp``.

Method: METHOD.md §4 step 4 (¶0214–0239) puts the new frames in place and keeps the frame rate;
issue 4 asks that the frame count, every time and the untouched frames be kept. An animated WebP
is read through libwebp and staged as lossless FFV1 (:mod:`nlvfi.animated_webp`); without this
module its repair could only come out as a video, where people who fix a WebP want a WebP back.

How: as for a GIF (:mod:`nlvfi.gif_output`), the repair is written as usual, lossless (FFV1 in a
hidden .mkv beside the WebP, ``WebpTarget.intermediate``, checked frame by frame against the
staged input by ``nlvfi.verification``); then its frames become one animated WebP
(:class:`nlvfi.webp_writer.WebpEncoder`: every frame its own, lossless) in a hidden staging file,
which is read back through libwebp frame by frame (pixels, start, duration) and only at the very
end renamed onto ``-o``: an interrupted or failed run leaves no WebP, and the next one goes on
from the intermediate's resume folder. The pass over the intermediate streams it. A repair that
replaces no frame copies the input WebP byte for byte instead (:func:`copy_webp`).

What is kept: every frame's start and duration in milliseconds (the last frame's too), the loop
count, RGB or RGBA as staged, the input's ICC profile, EXIF and XMP chunks byte for byte (a
wide-gamut or print profile shown without its ICC profile changes colour; read back and
compared), and the coding, as issue 4 asks of any output: a WebP whose frames
are all lossless (VP8L) comes out lossless, its untouched frames exactly as libwebp decoded the
input's (read back digest for digest); one with lossy (VP8) frames is coded lossy again at
quality :data:`LOSSY_QUALITY`, and the report gives every frame's PSNR against the repair's
frames as read back. Coding a lossy WebP losslessly made it 13 times larger (vtest, x2); at
quality 95 a vtest frame read back at 38.8 dB (90: 37.3 dB at 0.74 times the bytes, 100:
39.4 dB at 1.29 times; VP8 is 4:2:0). WebP output takes animated WebP input only (other videos:
.mp4, .webm), and takes no ``--codec`` / ``--crf`` / ``--preset``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .animated_webp import METADATA_CHUNKS, WEBP_TICK, anmf_frames, metadata_chunks, webp_frames
from .checkpoint import staged_copy, staged_from
from .videoio import VideoError, VideoReader, refuse_encoder_options
from .webp_writer import WebpEncoder


@dataclass(frozen=True)
class WebpTarget:
    """Where a repair writes its animated WebP.

    Attributes:
        path: the WebP asked for (``-o``).
        loop: the input's loop count (0: for ever).
        last_ms: the input's last frame's duration in milliseconds.
        input_bytes: the input's size, for the report.
        quality: None: lossless (the input's frames all are); else the lossy quality.
        metadata: the input's ICCP, EXIF and XMP chunks, ``(four letters, payload)``, to carry over.
    """

    path: Path
    loop: int
    last_ms: int
    input_bytes: int
    quality: int | None = None
    metadata: tuple[tuple[bytes, bytes], ...] = ()

    @property
    def metadata_names(self) -> list[str]:
        """The metadata carried over, by name (ICC profile, EXIF, XMP)."""
        return [METADATA_CHUNKS[fourcc] for fourcc, _ in self.metadata]

    @property
    def intermediate(self) -> Path:
        """The lossless video the run writes first (hidden, beside the WebP)."""
        return self.path.parent / f".{self.path.name}.nlvfi.mkv"


#: libwebp's quality (0-100) for a WebP whose input had lossy frames (module doc)
LOSSY_QUALITY = 95
#: the shortest frame an up-conversion may write, in ms: Chromium (DeferredImageDecoder::
#: FrameDurationAtIndex) and Firefox (FrameTimeout::FromRawMilliseconds) show a frame of any
#: format lasting 10 ms or less for 100 ms, so a 20 ms WebP doubled to 10 ms would play 10x slower
BROWSER_MIN_MS = 11


def staged_durations(video: str | os.PathLike) -> list[int]:
    """Every frame's duration in milliseconds in the FFV1 staging of an animated WebP (its
    packets' durations, read without decoding)."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        tick = Fraction(stream.time_base) / WEBP_TICK
        return [int(packet.duration * tick) for packet in container.demux(stream) if packet.size]


def webp_output(output: Path, source: Path, codec: str | None, crf: int | None, preset: str | None, factor: int = 1, input_staged: dict | None = None):
    """``(target, path, codec)`` for a tool about to write ``output`` from ``source``: for a
    ``.webp`` its :class:`WebpTarget`, the intermediate video to write first and FFV1; else
    ``(None, output, codec)``. ``input_staged``: what :mod:`nlvfi.staged_images` staged (the
    input must be an animated WebP, and ``source`` its staging). ValueError (one line) for other
    input, an encoder asked of a WebP, or (``factor`` > 1: ``interpolate --factor``) a frame
    duration that does not split into ``factor`` whole milliseconds of at least
    :data:`BROWSER_MIN_MS`."""
    if Path(output).suffix.lower() != ".webp":
        return None, output, codec
    if input_staged is None or input_staged.get("reason") != "animated WebP":
        raise ValueError(
            f"{output}: an animated WebP is written for animated WebP input only (its frames come out as libwebp decoded the input's, "
            "losslessly); write OUT.mp4 or OUT.webm for other input"
        )
    refuse_encoder_options(codec, crf, preset, f"an animated WebP: it is coded as the input was (lossless, or VP8 at quality {LOSSY_QUALITY})")
    durations = staged_durations(source)
    if factor > 1:
        split = [duration for duration in durations[:-1] if duration % factor or duration // factor < BROWSER_MIN_MS]
        if split:
            raise ValueError(
                f"{output}: {input_staged['from']} shows a frame for {split[0]} ms, which does not split into {factor} whole "
                f"milliseconds of at least {BROWSER_MIN_MS} ms (a WebP's times; browsers show a frame of 10 ms or less for 100 ms); "
                "write OUT.mp4 or OUT.webm, which hold any time"
            )
    quality = LOSSY_QUALITY if input_staged.get("lossy_frames") else None
    original = Path(input_staged["from"])
    metadata = tuple(metadata_chunks(original).items())
    target = WebpTarget(Path(output), int(input_staged["loop"]), durations[-1], original.stat().st_size, quality, metadata)
    return target, target.intermediate, "ffv1"


def webp_pictures(video: Path):
    """(index, (H, W, 4) RGBA or (H, W, 3) RGB uint8 picture, start in ms) of each frame of the
    intermediate; VideoError where a time is not a whole millisecond (not a WebP's)."""
    with VideoReader(video) as reader:
        for item in reader:
            alpha = "a" in item.frame.format.name  # bgra: staged RGBA; bgr0: RGB
            start = Fraction(item.frame.pts) * item.frame.time_base / WEBP_TICK
            if start.denominator != 1:
                raise VideoError(f"frame {item.index} starts at {float(start):.3f} ms, not a whole millisecond, which a WebP cannot hold")
            yield item.index, item.frame.to_ndarray(format="rgba" if alpha else "rgb24"), int(start)


def export_webp(video: Path, target: WebpTarget, staging: Path, progress: bool = True) -> dict:
    """Write the frames of ``video`` (the run's lossless intermediate) as one animated WebP at
    ``staging`` (:class:`nlvfi.webp_writer.WebpEncoder`), read it back through libwebp and compare
    every frame's start and duration with what was written, its pixels (the same where lossless,
    else their PSNR against a second pass over ``video`` read alongside) and its metadata chunks
    with the input's. Returns the report's ``webp``; VideoError where it does not read back so."""
    written: list[tuple[str, int, int]] = []  # (SHA-1 of the pixels, start ms, duration ms)
    boxed = 0  # frames written as less than the whole canvas
    with open(staging, "wb") as file:
        encoder, held = None, None  # held: a frame waiting for the next one's start, which ends it

        def write(picture: np.ndarray, start: int, duration: int) -> None:
            nonlocal encoder, boxed
            if encoder is None:
                alpha = picture.shape[2] == 4
                encoder = WebpEncoder(file, picture.shape[1], picture.shape[0], alpha, target.loop, target.quality, dict(target.metadata))
            _, _, width, height = encoder.add(picture, duration)
            boxed += (width, height) != (picture.shape[1], picture.shape[0])
            written.append((hashlib.sha1(picture.tobytes()).hexdigest(), start, duration))

        for _, picture, start in tqdm(webp_pictures(video), desc="writing WebP", unit="frame", disable=not progress):
            if held is not None:
                write(held[0], held[1], start - held[1])
            held = (picture, start)
        if held is not None:
            write(held[0], held[1], target.last_ms)
        if encoder is not None:
            encoder.close()
    read: list[tuple[str, int, int]] = []
    values: list[float] = []  # lossy: each frame's PSNR against the run's, read in the same pass
    made = webp_pictures(video) if target.quality is not None else None
    for picture, start, duration in webp_frames(staging):
        read.append((hashlib.sha1(np.ascontiguousarray(picture).tobytes()).hexdigest(), start, duration))
        reference = next(made, None) if made is not None else None
        if reference is not None:
            values.append(psnr_db(picture, reference[1]))
    if target.quality is None:
        expected, got = written, read
    else:  # lossy: the pixels are compared by PSNR
        expected, got = [item[1:] for item in written], [item[1:] for item in read]
    expected = [(*item[:-2], item[-2] - written[0][1], item[-1]) for item in expected]  # a WebP starts at 0
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        raise VideoError(f"the WebP did not read back as written (frame {first}; {len(read)} frames read, {len(written)} written)")
    if metadata_chunks(staging) != dict(target.metadata):
        raise VideoError("the WebP's ICC profile, EXIF or XMP did not read back as the input's")
    finite = [value for value in values if np.isfinite(value)]
    psnr = {"min": round(min(finite), 2), "mean": round(float(np.mean(finite)), 2), "frames_identical": len(values) - len(finite)} if finite else None
    return {
        "file": str(target.path),
        "frames": len(read),
        "frames_as_changed_boxes": boxed,
        "coding": "lossless (VP8L)" if target.quality is None else f"lossy (VP8, quality {target.quality}, alpha lossless)",
        "lossless": target.quality is None,
        "read_back_psnr_db": psnr,
        "alpha": bool(encoder is not None and encoder.alpha),
        "loop": target.loop,
        "metadata_kept": target.metadata_names,
        "last_duration_ms": target.last_ms,
        "frames_read_back": len(read),
        "times_kept": True,
        "bytes": staging.stat().st_size,
        "input_bytes": target.input_bytes,
    }


def psnr_db(picture: np.ndarray, reference: np.ndarray) -> float:
    """PSNR (dB, 0-255 samples) of ``picture`` against ``reference``, both (H, W, C) uint8; inf where they are equal."""
    error = float(np.mean((picture.astype(np.float64) - reference) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def stage_webp(video: Path, target: WebpTarget, progress: bool = True) -> tuple[Path, dict]:
    """:func:`export_webp` into a new hidden file beside the WebP: (that file, its result); on an
    error or an interrupt both it and ``video`` (the intermediate) are deleted (:func:`nlvfi.checkpoint.staged_from`)."""
    return staged_from(video, target.path, ".nlvfi-staging.webp", lambda staging: export_webp(video, target, staging, progress))


def copy_webp(original: Path, target: WebpTarget) -> tuple[Path, dict]:
    """The input WebP ``original`` copied byte for byte into a new hidden file beside the WebP, for
    a repair that replaces no frame: (that file, the report's ``webp``). Coding it again would
    only lose quality (a lossy one) or change its bytes. The copy is read back and compared."""
    staging, size = staged_copy(original, target.path, ".nlvfi-staging.webp")
    return staging, {
        "file": str(target.path), "frames": len(anmf_frames(original)), "copied": True,
        "coding": "the input's, copied byte for byte (SHA-256 checked)", "lossless": target.quality is None, "loop": target.loop,
        "metadata_kept": target.metadata_names, "times_kept": True, "bytes": size, "input_bytes": size,
    }  # fmt: skip


def webp_text(webp: dict, kept: str = "untouched") -> str:
    """The summary's sentence on an animated WebP output; ``kept`` names the frames taken from the
    input ("untouched" in a repair, "input" in an up-conversion)."""
    loop = "looping for ever" if webp["loop"] == 0 else f"loop count {webp['loop']}"
    if webp.get("metadata_kept"):
        loop += f", its {' and '.join(webp['metadata_kept'])} kept"
    if webp.get("copied"):
        return f"No frame replaced, so the animated WebP {webp['file']} is the input copied byte for byte (SHA-256 checked; {webp['frames']} frames, {loop})."
    if webp["lossless"] or webp["read_back_psnr_db"] is None:  # lossy, but every frame came back the same
        pixels = f"the {kept} frames identical to the input's as libwebp decodes it"
    else:
        psnr = webp["read_back_psnr_db"]
        pixels = f"every frame at PSNR >= {psnr['min']} dB (mean {psnr['mean']}) against the run's frames, as the input had lossy frames"
    return (
        f"Written as an animated WebP ({webp['file']}, {webp['frames']} frames, {loop}, {webp['coding']}, {webp['bytes'] / 1e6:.2f} MB "
        f"against the input's {webp['input_bytes'] / 1e6:.2f} MB), read back through libwebp frame for frame: {pixels}, "
        "every frame's start and duration kept in milliseconds."
    )
