"""Checking a written video against its input before it replaces the output file.

Method: METHOD.md §4 step 4 (¶0226–0230: the repaired frames are put in place and the video keeps
its frame rate) and §4's last paragraph (keep every timestamp, the audio, and the untouched
frames' content). Used by ``nlvfi repair`` (each input frame has one output frame; the replaced
ones are not compared) and by ``nlvfi interpolate --factor F`` (each input frame i is output frame
F i, with F - 1 generated frames before it). Notebook: notebooks/10_video_repair.ipynb

Input and output are decoded side by side, streaming (two frames in memory). A broken promise is
a :class:`nlvfi.videoio.VideoError` naming what broke:

- the output's frame count: N for repair, F (N - 1) + 1 for up-conversion;
- every frame's time: an input frame keeps its time, a generated frame j of F - 1 sits at
  ``prev + j (next - prev) / F``, each within half a tick of the output's time base (rounding
  to the output's time base moves a time by at most that). A muxer that shifts every stream alike
  (Matroska given video that starts before 0, NUT given audio that does) is allowed: the first
  frame gives the shift, every later frame and audio packet must share it;
- each audio stream, and each subtitle stream copied: the same packets, byte for byte, and each
  packet's time within half a tick (of the coarser of the two time bases) of its input time plus
  that shift. AAC is compared without its ADTS headers (:func:`aac_payload`): MPEG-TS carries
  each AAC frame behind a 7-byte header of its own, which the Matroska, MP4 and MOV muxers take
  off (the stream's settings go once into the file's header instead), and the MPEG-TS muxer puts
  on; the coded audio itself is the same bytes; each subtitle stream converted to the container's text codec (nlvfi.subtitles):
  the same lines on screen at every moment, to the millisecond;
- Matroska attachments copied (the fonts of ASS subtitles): each there, byte for byte; so are the
  attached pictures copied (cover art, nlvfi.pictures);
- the input frames' content: bit-identical when the output is lossless; otherwise the PSNR
  against the input is measured and reported (minimum and mean), not judged;
- closed captions carried in the video (``nlvfi.captions.closed_captions``), where the encoder
  writes them (``captions``): every input frame's bytes on its output frame, a replaced frame's
  too (the bytes belong to the frame's time). Counted either way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .float_frames import is_float_format, same_samples
from .pictures import picture_digests
from .subtitles import on_screen, subtitle_events
from .captions import closed_captions
from .videoio import PixelTraits, VideoError, VideoReader, frame_content, frame_to_rgb24, open_input, repacked_layout


#: ADTS: a 12-bit sync word of ones opens each header (ISO/IEC 14496-3, 1.A.2.2)
ADTS_SYNC = 0xFFF


def aac_payload(data: bytes) -> bytes:
    """An AAC packet without its ADTS header: ``data`` from the 7th byte on (the 9th when the
    header carries a CRC), where ``data`` is exactly one ADTS frame (the sync word, and the
    frame length field equal to its size) of one raw data block; any other packet as it is.

    MPEG-TS stores AAC as ADTS frames; Matroska, MP4 and MOV store the raw frames and the
    stream's settings once (FFmpeg's muxers convert either way), so a copied AAC stream is the
    same audio with or without these headers (module doc)."""
    if len(data) < 7 or (data[0] << 4 | data[1] >> 4) != ADTS_SYNC:
        return data
    frame_length = (data[3] & 0x03) << 11 | data[4] << 3 | data[5] >> 5
    raw_blocks = data[6] & 0x03  # number of raw data blocks in the frame, minus one
    header = 7 if data[1] & 0x01 else 9  # protection_absent 0: a 16-bit CRC follows the header
    if frame_length != len(data) or raw_blocks != 0 or len(data) <= header:
        return data
    return data[header:]


def packet_digest(path: Path, kind: str = "audio") -> dict[int, tuple[int, str, list[float], float]]:
    """Per stream of ``kind`` ("audio" or "subtitle"), by order of those streams: (packet count,
    sha1 of the payloads, each packet's time in seconds (those with a timestamp), the stream's
    tick in seconds). AAC payloads are digested without ADTS headers (:func:`aac_payload`)."""
    counts: dict[int, int] = {}
    digests: dict[int, "hashlib._Hash"] = {}
    times: dict[int, list[float]] = {}
    ticks: dict[int, float] = {}
    with open_input(path) as container:  # also numbered images, from their first number
        streams = container.streams.audio if kind == "audio" else container.streams.subtitles
        order = {s.index: n for n, s in enumerate(streams)}
        aac = {s.index for s in streams if s.codec_context.name == "aac"}
        for stream in streams:
            n = order[stream.index]
            counts[n], digests[n], times[n], ticks[n] = 0, hashlib.sha1(), [], float(stream.time_base)
        if order:
            for packet in container.demux(list(streams)):
                if packet.size:
                    n = order[packet.stream.index]
                    counts[n] += 1
                    payload = bytes(packet)
                    digests[n].update(aac_payload(payload) if packet.stream.index in aac else payload)
                    if packet.pts is not None:
                        times[n].append(float(packet.pts * packet.stream.time_base))
    return {n: (counts[n], digests[n].hexdigest(), times[n], ticks[n]) for n in counts}


def attachment_digest(path: Path) -> list[tuple[str, str, str]]:
    """(name, MIME type, sha1 of the bytes) of each attachment of ``path`` (Matroska), in order."""
    with open_input(path) as container:
        return [
            (s.name, s.mimetype, hashlib.sha1(bytes(s.data)).hexdigest()) for s in container.streams if s.type == "attachment"
        ]


def packet_time_error(times_in: list[float], times_out: list[float], offset: float) -> float | None:
    """Largest |output time - input time - offset| over a stream's packets, in seconds; None when
    the two streams do not time the same packets (one lacks timestamps)."""
    if len(times_in) != len(times_out):
        return None
    if not times_in:
        return 0.0
    return float(np.max(np.abs(np.asarray(times_out) - np.asarray(times_in) - offset)))


def _check_copied(kind: str, inputs: dict, outputs: dict, offset: float, tolerance: float, muxer: str) -> float:
    """VideoError unless output stream n of ``kind`` holds input stream n's packets (digests from
    :func:`packet_digest`), each at its input time plus ``offset``; the largest time error (s)."""
    worst = 0.0
    for n, (count, digest, times, tick) in inputs.items():
        count_got, digest_got, times_got, tick_got = outputs.get(n, (0, "", [], tick))
        if (count_got, digest_got) != (count, digest):
            raise VideoError(
                f"verification failed: {kind} stream {n} has {count_got} packets in the output, {count} in the input"
                + (" (same count, different bytes)" if count_got == count else "")
                + f"; the {muxer} muxer did not keep them unchanged"
                + ("" if muxer == "matroska" else f" (write .mkv, which copies any {kind} as it is)")
            )
        error = packet_time_error(times, times_got, offset)
        if error is not None:  # a packet's time, rounded to either time base, moves by half a tick
            if error > max(tick, tick_got) / 2 + tolerance:
                raise VideoError(
                    f"verification failed: {kind} stream {n} is off by up to {error * 1000:.1f} ms against the video "
                    f"in the output: the {muxer} file does not keep the two in step (write .mkv, which keeps every time)"
                )
            worst = max(worst, error)
    return worst


def _check_converted(source: Path, written: Path, position_in: int, position_out: int, offset: float, muxer: str) -> float:
    """VideoError unless the converted subtitle stream shows the same lines as the input stream
    at every moment (nlvfi.subtitles.on_screen: words, starts and ends to the millisecond, the
    video's shift ``offset`` taken off the output's; timed text cuts overlapping lines into
    pieces, so the lines themselves are not compared); the largest start error (s), 0 or 0.001."""
    shown_in = on_screen(subtitle_events(source, position_in))
    shown_out = on_screen(subtitle_events(written, position_out), offset)
    if len(shown_in) != len(shown_out) or any(a[2] != b[2] for a, b in zip(shown_in, shown_out)):
        first = next((n for n, (a, b) in enumerate(zip(shown_in, shown_out)) if a[2] != b[2]), min(len(shown_in), len(shown_out)))
        at = (shown_in[first] if first < len(shown_in) else shown_out[first])[0]
        raise VideoError(
            f"verification failed: subtitle stream {position_in} converted into the {muxer} file does not show the input's "
            f"lines from {at:.3f} s on ({len(shown_out)} stretches of text, {len(shown_in)} in the input)"
        )
    worst = 0.0
    for (start, end, _), (start_out, end_out, _) in zip(shown_in, shown_out):
        error = max(abs(start_out - start), abs(end_out - end))
        if error > 0.0015:  # both count in milliseconds: one of rounding
            raise VideoError(
                f"verification failed: a subtitle line shown from {start:.3f} s to {end:.3f} s is shown from "
                f"{start_out:.3f} s to {end_out:.3f} s in the {muxer} file"
            )
        worst = max(worst, error)
    return worst


def _same_content(a, b, traits: PixelTraits) -> bool:
    """Whether two decoded frames hold the same pixels (in their own layout where both share it)."""
    if a.format.name == b.format.name:
        return np.array_equal(frame_content(a), frame_content(b))
    if is_float_format(a.format.name) and is_float_format(b.format.name):  # e.g. float grey kept as three planes
        return same_samples(a, b)
    fmt = traits.alpha_format if traits.has_alpha else traits.work_format
    if np.array_equal(a.to_ndarray(format=fmt), b.to_ndarray(format=fmt)):
        return True
    # the same samples in another layout (packed 4:2:2 written planar, ...: repacked_layout),
    # compared there, as swscale's conversions of the two layouts to RGB round differently
    return b.format.name == repacked_layout(a.format.name) and np.array_equal(
        frame_content(a.reformat(format=b.format.name)), frame_content(b)
    )


def _psnr(a, b) -> float:
    """PSNR (dB) of two decoded frames in 8-bit RGB; 99 for identical ones."""
    x, y = frame_to_rgb24(a).astype(np.float32), frame_to_rgb24(b).astype(np.float32)
    mse = float(np.mean((x - y) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def verify_output(
    source: Path,
    written: Path,
    traits: PixelTraits,
    lossless: bool,
    frames_in: int | None = None,
    replaced: Collection[int] = (),
    factor: int = 1,
    progress: bool = False,
    muxer: str = "output",
    subtitles: Sequence[int] | None = None,
    attachments: bool = False,
    converted_subtitles: Sequence[int] = (),
    pictures: Sequence[str] = (),
    captions: bool = False,
    deinterlace: bool = False,
) -> dict:
    """Decode ``source`` and ``written`` side by side; VideoError on any broken promise (module doc).

    Args:
        traits: the input's pixel traits (the layout two frames are compared in).
        lossless: whether the output was written losslessly (then the input frames must come
            back bit-identical; else their PSNR is reported).
        frames_in: the input's frame count when known (the progress bar's length).
        replaced: input frame indices whose content was replaced (repair): only their time is checked.
        factor: output frames per input gap (1: repair; F: ``nlvfi interpolate --factor F``).
        muxer: the output container's name, for the messages.
        subtitles: which of the input's subtitle streams (by their order) were copied, in order
            (``VideoWriter.subtitle_positions``); None: all of them.
        converted_subtitles: which were converted to the container's text codec
            (``VideoWriter.converted_positions``, nlvfi.subtitles): each output line must have
            its input line's words, start and duration.
        attachments: the input's attachments were copied: check that the output holds each, byte for byte.
        pictures: SHA-1 of each attached picture copied (``VideoWriter.pictures``, nlvfi.pictures),
            in order: the output's attached pictures must be exactly those.
        captions: the encoder writes closed captions: each input frame's must come back on its
            output frame.
        deinterlace: the input was deinterlaced as it was read (nlvfi.deinterlace): its untouched
            frames are compared deinterlaced the same way.
    Returns:
        frames, output_time_base, max_timestamp_error_s, timestamp_offset_s, audio_streams_identical,
        max_audio_timestamp_error_s, subtitle_streams_identical, max_subtitle_timestamp_error_s, seconds, and untouched_frames_bit_identical (lossless) or
        untouched_frames_psnr_db {min, mean} (lossy).
    """
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    started = time.perf_counter()
    worst_time = 0.0
    identical = 0
    psnrs: list[float] = []
    offset: float | None = None
    captioned = captions_kept = 0  # input frames carrying closed captions; those whose output frame has the same
    with VideoReader(source, deinterlace=deinterlace) as original, VideoReader(written) as result:
        tolerance = float(result.info.time_base) / 2 + 1e-6
        inputs, outputs = iter(original), iter(result)

        def check_time(b, expected: float, what: str) -> None:
            nonlocal offset, worst_time
            if offset is None:  # a muxer may shift every stream alike (module doc)
                offset = b.time - expected if abs(b.time - expected) > tolerance else 0.0
            error = abs(b.time - expected - offset)
            worst_time = max(worst_time, error)
            if error > tolerance:
                raise VideoError(
                    f"verification failed: {what} is at {b.time:.6f} s in the output, expected {expected:.6f} s"
                    + (f" (all streams shifted by {offset:+.6f} s)" if offset else "")
                )

        previous = None
        total = None if frames_in is None else factor * (frames_in - 1) + 1
        bar = tqdm(total=total, desc="verifying", unit="frame", disable=not progress)
        for a in inputs:
            if previous is not None:
                for j in range(1, factor):  # generated frames between previous and a
                    b = next(outputs, None)
                    if b is None:
                        break
                    check_time(b, previous.time + j * (a.time - previous.time) / factor, f"generated frame {b.index}")
                    bar.update(1)
            b = next(outputs, None)
            if b is None:
                break
            check_time(b, a.time, f"frame {a.index}" if factor == 1 else f"input frame {a.index} (output frame {b.index})")
            bar.update(1)
            previous = a
            said = closed_captions(a.frame)
            if said is not None:
                captioned += 1
                same = closed_captions(b.frame) == said
                captions_kept += same
                if captions and not same:
                    raise VideoError(f"verification failed: frame {a.index}'s closed captions are not on its output frame")
            if a.index in replaced:
                continue
            if lossless:
                if not _same_content(a.frame, b.frame, traits):
                    raise VideoError(f"verification failed: untouched frame {a.index} is not bit-identical in the lossless output")
                identical += 1
            else:
                psnrs.append(_psnr(a.frame, b.frame))
        bar.close()
        for _ in inputs:  # drain whichever is longer, so that the counts are complete
            pass
        for _ in outputs:
            pass
        count_in, count_out = original.count, result.count
        time_base_out = result.info.time_base
    expected_count = factor * (count_in - 1) + 1 if count_in else 0
    if count_out != expected_count:
        expected = f"the input {count_in}" if factor == 1 else f"{expected_count} for the input's {count_in} at x{factor}"
        raise VideoError(f"verification failed: the output has {count_out} frames, {expected}")
    audio_in = packet_digest(source, "audio")
    worst_audio_time = _check_copied("audio", audio_in, packet_digest(written, "audio"), offset or 0.0, tolerance, muxer)
    subtitles_in = packet_digest(source, "subtitle")
    copied = sorted(subtitles_in) if subtitles is None else list(subtitles)
    order = sorted(set(copied) | set(converted_subtitles))  # output subtitle stream m is input stream order[m]
    subtitles_out = packet_digest(written, "subtitle")
    subtitles_in = {order.index(n): subtitles_in[n] for n in copied}
    worst_subtitle_time = _check_copied(
        "subtitle", subtitles_in, {m: subtitles_out[m] for m in subtitles_in if m in subtitles_out}, offset or 0.0, tolerance, muxer
    )
    for n in converted_subtitles:
        worst_subtitle_time = max(worst_subtitle_time, _check_converted(source, written, n, order.index(n), offset or 0.0, muxer))
    if attachments and attachment_digest(written) != attachment_digest(source):
        raise VideoError(f"verification failed: the {muxer} file does not hold the input's attachments unchanged")
    if picture_digests(written) != list(pictures):
        raise VideoError(f"verification failed: the {muxer} file does not hold the input's attached pictures (cover art) unchanged")
    report = {
        "frames": count_out,
        "output_time_base": str(time_base_out),
        "max_timestamp_error_s": round(worst_time, 6),
        "timestamp_offset_s": round(offset or 0.0, 6),
        "audio_streams_identical": len(audio_in),
        "max_audio_timestamp_error_s": round(worst_audio_time, 6),
        "subtitle_streams_identical": len(subtitles_in),
        "subtitle_streams_converted": len(converted_subtitles),
        "max_subtitle_timestamp_error_s": round(worst_subtitle_time, 6),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if captioned:
        report["closed_captions"] = {"input_frames": captioned, "kept": captions_kept}
    if lossless:
        report["untouched_frames_bit_identical"] = identical
    else:
        report["untouched_frames_psnr_db"] = {
            "min": round(min(psnrs), 2) if psnrs else None,
            "mean": round(float(np.mean(psnrs)), 2) if psnrs else None,
        }
    return report
