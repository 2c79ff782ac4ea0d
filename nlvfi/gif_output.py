"""Writing a repaired GIF as a GIF: ``nlvfi repair in.gif -o out.gif``.

Method: METHOD.md §4 step 4 (¶0214–0239) puts the new frames in place and keeps the frame rate;
issue 4 asks that a losslessly coded input come out lossless, its untouched frames
bit-identical. A stuttering GIF could only come out as a video (FFV1 in .mkv), which a chat, a
forum or a README does not show; people who fix a GIF want a GIF back.

How: as for numbered images (``nlvfi.image_sequence``), the repair is written as usual, lossless
(FFV1 in a hidden .mkv beside the GIF, ``GifTarget.intermediate``, checked frame by frame against
the input by ``nlvfi.verification``); then its frames become one GIF (``nlvfi.gif_writer``) in a
hidden staging file, which is read back through FFmpeg frame by frame and only at the very end
renamed onto ``-o``: an interrupted or failed run leaves no GIF, and the next one goes on from the
intermediate's resume folder. Both passes over the intermediate stream it, so a GIF longer than
memory works. A repair that replaces no frame copies the input GIF byte for byte instead
(:func:`copy_gif`).

What a GIF holds, and how each is kept:

- **256 colours a frame.** A frame the input GIF showed holds at most that many, so it is written
  in its own colours and reads back bit-identical. A new frame holds blends; its pixels take the
  nearest colour (squared R, G, B distance; no dithering, which flickers from frame to frame) of
  the shown frames on either side of its run (:func:`neighbours_palette`), so the repaired stretch
  looks like the rest; where those two hold more than 256 colours together, the new frame gets a
  palette of its own by median cut (Pillow). The report gives the PSNR of the mapped frames
  against the generator's.
- **One transparent colour, no partial alpha.** A pixel of alpha below 128 is transparent
  (a new frame's blended alpha is cut there).
- **Time in hundredths of a second.** A GIF input's times are whole hundredths as FFmpeg reads
  them (a delay of 0 it reads as 10, as browsers show it); each frame's time is written back as it
  was read, the last frame's delay too.
- **The loop count** (``nlvfi.gif_writer.gif_loop_count``): the input's is kept; a GIF without
  one plays once, and so does its repair.

GIF output takes GIF input only: any other video holds more colours than a GIF, and its frame times
are rarely whole hundredths; it is refused in one line before any work (write .mp4 or .webm).
FFmpeg is the reader: where it reads a GIF otherwise than browsers do (it clears an opaque frame
that declares no transparent colour to the background colour, browsers to transparent) the repair
keeps what FFmpeg read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .checkpoint import staged_copy, staged_from
from .gif_writer import GifEncoder, gif_loop_count, packed_colours, unpacked
from .videoio import VideoError, VideoReader, probe, refuse_encoder_options

#: a GIF's time base: delays are whole hundredths of a second
GIF_TICK = Fraction(1, 100)
#: a pixel whose alpha is below this is transparent (GIF holds no partial alpha)
TRANSPARENT_BELOW = 128
#: the packed colour FFmpeg's GIF decoder gives transparent pixels (white, alpha 0)
FFMPEG_TRANSPARENT = 0x00FFFFFF


@dataclass(frozen=True)
class GifTarget:
    """Where a repair writes its GIF.

    Attributes:
        path: the GIF asked for (``-o``).
        loop: the input's loop count (0: for ever; -1: no NETSCAPE2.0 extension, play once).
        last_delay: the input's last frame's delay, in hundredths of a second (None: not known).
    """

    path: Path
    loop: int
    last_delay: int | None

    @property
    def intermediate(self) -> Path:
        """The lossless video the repair writes first (hidden, beside the GIF)."""
        return self.path.parent / f".{self.path.name}.nlvfi.mkv"


def gif_delays(path: str | os.PathLike) -> list[int]:
    """Every frame's delay in hundredths of a second, as FFmpeg's demuxer reads the GIF (the
    last one as its packet's duration)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [round(Fraction(packet.duration or 0) * stream.time_base / GIF_TICK) for packet in container.demux(stream) if packet.size]


#: browsers show a GIF delay under this (hundredths of a second) as 10: a faster GIF plays slower
BROWSER_MIN_DELAY = 2


def gif_output(output: Path, source: Path, codec: str | None, crf: int | None, preset: str | None, factor: int = 1):
    """``(target, path, codec)`` for a tool about to write ``output``: for a ``.gif`` its
    :class:`GifTarget`, the intermediate video to write first and FFV1; else ``(None, output,
    codec)``. ValueError (one line) for input that is not a GIF, an encoder asked of a GIF, or
    (``factor`` > 1: ``interpolate --factor``) a delay that does not split into ``factor`` whole
    hundredths of at least :data:`BROWSER_MIN_DELAY`."""
    if Path(output).suffix.lower() != ".gif":
        return None, output, codec
    info = probe(source)
    if info.codec != "gif":
        raise ValueError(
            f"{output}: a GIF is written for GIF input only ({source} is {info.codec} {info.pix_fmt}: a GIF holds 256 colours "
            "a frame and times in hundredths of a second); write OUT.mp4 or OUT.webm, which keep it, and make a GIF from that"
        )
    refuse_encoder_options(codec, crf, preset, "a GIF: it is written with the input's colours, losslessly")
    delays = gif_delays(source)
    if factor > 1:
        split = [delay for delay in delays[:-1] if delay % factor or delay // factor < BROWSER_MIN_DELAY]
        if split:
            raise ValueError(
                f"{output}: {source} shows a frame for {split[0] / 100:.2f} s, which does not split into {factor} whole hundredths "
                f"of a second of at least {BROWSER_MIN_DELAY / 100:.2f} s (a GIF's times; browsers show shorter ones as 0.10 s); "
                f"write OUT.mp4 or OUT.webm, which hold any time"
            )
    target = GifTarget(Path(output), gif_loop_count(source), delays[-1] if delays else None)
    return target, target.intermediate, "ffv1"


def fits_a_table(packed: np.ndarray) -> bool:
    """Whether a frame (packed colours) holds 256 colours at most, as one GIF image can."""
    return len(np.unique(packed)) <= 256


def binary_alpha(bgra: np.ndarray, transparent: int) -> np.ndarray:
    """``bgra`` with every pixel of alpha below :data:`TRANSPARENT_BELOW` set to ``transparent``
    (a packed colour of alpha 0) and every other made opaque: what a GIF can show."""
    packed = packed_colours(bgra).copy()
    see_through = bgra[..., 3] < TRANSPARENT_BELOW
    packed[~see_through] |= np.uint32(0xFF000000)
    packed[see_through] = transparent
    return packed


def nearest_colours(packed: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each of ``packed``'s opaque colours replaced by the nearest of ``palette``'s opaque ones
    (squared distance in R, G, B), its transparent pixels by the palette's transparent colour."""
    colours, where = np.unique(packed, return_inverse=True)
    opaque_palette = palette[unpacked(palette)[:, 3] == 255]
    transparent_palette = palette[unpacked(palette)[:, 3] == 0]
    chosen = np.empty_like(colours)
    options = unpacked(opaque_palette)[:, :3].astype(np.int32)  # (P, 3)
    for start in range(0, len(colours), 4096):  # (4096, P, 3) int32 distances: 12 MB at most
        block = colours[start : start + 4096]
        rgb = unpacked(block)[:, :3].astype(np.int32)  # (n, 3)
        distance = ((rgb[:, None, :] - options[None, :, :]) ** 2).sum(-1)  # (n, P)
        picked = opaque_palette[distance.argmin(1)]
        see_through = unpacked(block)[:, 3] == 0
        if see_through.any():
            picked[see_through] = transparent_palette[0]
        chosen[start : start + 4096] = picked
    return chosen[where.reshape(packed.shape)]


def median_cut(packed: np.ndarray, transparent: int | None) -> np.ndarray:
    """``packed`` reduced to at most 256 colours (255 and the transparent one where it has
    transparent pixels) by PIL's median cut, without dithering."""
    from PIL import Image

    bgra = unpacked(packed)
    see_through = bgra[..., 3] == 0
    opaque = ~see_through
    colours = 255 if see_through.any() else 256
    rgb = np.ascontiguousarray(bgra[..., 2::-1])  # (H, W, 3) R, G, B
    quantized = Image.fromarray(rgb).quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    mapped = np.asarray(quantized.convert("RGB"))  # (H, W, 3)
    out = np.empty_like(packed)
    out[opaque] = packed_colours(np.concatenate([mapped[..., ::-1], np.full((*mapped.shape[:2], 1), 255, np.uint8)], -1))[opaque]
    if see_through.any():
        out[see_through] = transparent
    return out


def neighbours_palette(before: np.ndarray | None, after: np.ndarray | None) -> np.ndarray | None:
    """The colours of the shown frames on either side of a run of new frames (packed), or None
    if together they hold more than 256."""
    shown = [frame for frame in (before, after) if frame is not None]
    if not shown:
        return None
    colours = np.unique(np.concatenate([frame.ravel() for frame in shown]))
    return colours if len(colours) <= 256 else None


def holds(palette: np.ndarray | None, frame: np.ndarray, transparent: int) -> bool:
    """Whether ``frame`` can be drawn in ``palette``'s colours: it has an opaque colour, and the
    transparent one where ``frame`` has transparent pixels."""
    if palette is None or not (unpacked(palette)[:, 3] == 255).any():
        return False
    return transparent in palette or not (frame == transparent).any()


def psnr_of(mapped: np.ndarray, made: np.ndarray) -> float:
    """PSNR (dB, 0-255) of a mapped frame's R, G, B against the generator's frame, over the
    pixels shown in both (inf where they are the same)."""
    a, b = unpacked(mapped), unpacked(made)
    both = (a[..., 3] == 255) & (b[..., 3] >= TRANSPARENT_BELOW)
    if not both.any():
        return float("inf")
    error = np.mean((a[..., :3][both].astype(np.float64) - b[..., :3][both]) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


@dataclass
class Scan:
    """What the first pass over the intermediate finds: every frame's time (hundredths of a
    second), the colour of its transparent pixels, and the colours the shown frames hold."""

    ticks: list[int] = field(default_factory=list)
    transparent: int | None = None
    colours: np.ndarray | None = field(default_factory=lambda: np.empty(0, np.uint32))  # None: over 256


def gif_frames(video: Path):
    """(index, packed (H, W) uint32 colours, time in hundredths of a second) of each frame of the
    intermediate; VideoError where a time is not a whole hundredth (not a GIF's)."""
    with VideoReader(video) as reader:
        for item in reader:
            frame = item.frame if item.frame.format.name == "bgra" else item.frame.reformat(format="bgra")
            tick = Fraction(item.frame.pts) * item.frame.time_base / GIF_TICK
            if abs(tick - round(tick)) > Fraction(1, 1000):
                raise VideoError(f"frame {item.index} is at {float(tick) / 100:.4f} s, not a whole hundredth of a second, which a GIF cannot hold")
            yield item.index, packed_colours(frame.to_ndarray()).copy(), round(tick)


def scan(video: Path, generated: set[int], progress: bool = True) -> Scan:
    """The first pass (:class:`Scan`). The transparent colour is the one FFmpeg gives the
    transparent pixels of the shown frames (one colour for a whole GIF); where only new frames
    have any (their alpha is blended), FFmpeg's white of alpha 0."""
    found, shown_values, blended = Scan(), set(), False
    for index, frame, tick in tqdm(gif_frames(video), desc="reading for GIF", unit="frame", disable=not progress):
        found.ticks.append(tick)
        see_through = unpacked(frame)[..., 3] < TRANSPARENT_BELOW  # (H, W)
        if index in generated:
            blended = blended or bool(see_through.any())
            continue
        if see_through.any():
            shown_values.update(int(v) & 0x00FFFFFF for v in np.unique(frame[see_through]))
        if found.colours is not None:
            opaque = frame[~see_through] | np.uint32(0xFF000000)
            found.colours = np.union1d(found.colours, opaque).astype(np.uint32)
            if len(found.colours) > 256:
                found.colours = None
    if shown_values or blended:
        found.transparent = min(shown_values) if shown_values else FFMPEG_TRANSPARENT
    if found.colours is not None and found.transparent is not None:
        found.colours = np.union1d(found.colours, [found.transparent]).astype(np.uint32)
        if len(found.colours) > 256:
            found.colours = None
    return found


class Tally:
    """How the frames were written, for the report."""

    def __init__(self):
        self.exact = self.not_exact = self.by_neighbours = self.by_gif_colours = self.by_median_cut = 0
        self.psnr: list[float] = []
        self.digests: list[str] = []
        self.see_through = False

    def written(self, frame: np.ndarray, transparent: int) -> np.ndarray:
        self.digests.append(hashlib.sha1(frame.tobytes()).hexdigest())
        self.see_through = self.see_through or bool((frame == transparent).any())
        return frame


def export_gif(video: Path, target: GifTarget, generated: set[int], staging: Path, progress: bool = True) -> dict:
    """Write the frames of ``video`` (the repair's lossless intermediate) as one GIF at
    ``staging``: frames not in ``generated`` in their own colours, the ``generated`` ones mapped
    as the module docstring says; read it back through FFmpeg and compare every frame and time
    with what was written. Two passes over ``video`` (:func:`scan`, then the writing), each
    holding a run of new frames and the shown frames beside it. Returns the report's ``gif``;
    VideoError where the GIF does not read back so."""
    import av

    found = scan(video, generated, progress)
    transparent = found.transparent if found.transparent is not None else FFMPEG_TRANSPARENT
    delays = [later - earlier for earlier, later in zip(found.ticks, found.ticks[1:])]
    delays.append(target.last_delay if target.last_delay is not None else (delays[-1] if delays else 10))
    tally = Tally()
    last_shown: np.ndarray | None = None  # the last untouched frame, as written
    waiting: list[tuple[int, np.ndarray, np.ndarray]] = []  # a run of new frames: (index, shown, as made)
    with open(staging, "wb") as file:
        encoder = None

        def write(index: int, frame: np.ndarray) -> None:
            nonlocal encoder
            if encoder is None:
                height, width = frame.shape
                encoder = GifEncoder(file, width, height, found.colours, found.transparent, target.loop)
            encoder.add(tally.written(frame, transparent), delays[index])

        def flush(after: np.ndarray | None) -> None:
            palette = neighbours_palette(last_shown, after)
            for index, frame, made in waiting:
                if holds(palette, frame, transparent):
                    mapped = nearest_colours(frame, palette)
                    tally.by_neighbours += 1
                elif holds(found.colours, frame, transparent):  # in the GIF's one table (it has one)
                    mapped = nearest_colours(frame, found.colours)
                    tally.by_gif_colours += 1
                else:  # a table of its own: the GIF has one per frame
                    mapped = median_cut(frame, transparent)
                    tally.by_median_cut += 1
                tally.psnr.append(psnr_of(mapped, made))
                write(index, mapped)
            waiting.clear()

        for index, frame, _ in tqdm(gif_frames(video), total=len(found.ticks), desc="writing GIF", unit="frame", disable=not progress):
            shown = binary_alpha(unpacked(frame), transparent)  # (H, W) packed, alpha 0 or 255
            if index in generated:
                waiting.append((index, shown, frame))
                continue
            if not np.array_equal(shown, frame) or not fits_a_table(shown):  # not what a GIF decoder gives
                shown = shown if fits_a_table(shown) else median_cut(shown, transparent)
                tally.not_exact += 1
            else:
                tally.exact += 1
            flush(shown)
            write(index, shown)
            last_shown = shown
        flush(None)
        if encoder is not None:
            encoder.close()
    read_back = 0
    with av.open(str(staging)) as container:
        for index, picture in enumerate(container.decode(video=0)):
            if index >= len(tally.digests):
                raise VideoError(f"the GIF read back with more frames than the {len(tally.digests)} written")
            tick = round(Fraction(picture.pts) * picture.time_base / GIF_TICK)
            if tick != found.ticks[index]:
                raise VideoError(f"the GIF read back frame {index} at {tick / 100:.2f} s, not {found.ticks[index] / 100:.2f} s")
            if hashlib.sha1(packed_colours(picture.to_ndarray()).tobytes()).hexdigest() != tally.digests[index]:
                raise VideoError(f"frame {index} of the GIF did not read back as written")
            read_back += 1
    if read_back != len(tally.digests):
        raise VideoError(f"the GIF read back with {read_back} frames, not the {len(tally.digests)} written")
    finite = [value for value in tally.psnr if np.isfinite(value)]
    return {
        "file": str(target.path),
        "frames": read_back,
        "untouched_frames_identical": tally.exact,
        "untouched_frames_not_exact": tally.not_exact,
        "new_frames_by_neighbours_colours": tally.by_neighbours,
        "new_frames_by_gif_colours": tally.by_gif_colours,
        "new_frames_by_median_cut": tally.by_median_cut,
        "mapped_psnr_db": {"min": round(min(finite), 2), "mean": round(float(np.mean(finite)), 2)} if finite else None,
        "palette": "one for all frames" if found.colours is not None else "one per frame",
        "transparency": tally.see_through,
        "loop": target.loop,
        "last_delay_cs": delays[-1],
        "read_back_identical": read_back,
        "times_kept": True,
        "bytes": staging.stat().st_size,
    }


def stage_gif(video: Path, target: GifTarget, generated: set[int], progress: bool = True) -> tuple[Path, dict]:
    """:func:`export_gif` into a new hidden file beside the GIF: (that file, its result); on an
    error or an interrupt both it and ``video`` (the intermediate) are deleted (:func:`nlvfi.checkpoint.staged_from`)."""
    return staged_from(video, target.path, ".nlvfi-staging.gif", lambda staging: export_gif(video, target, generated, staging, progress))


def copy_gif(original: Path, target: GifTarget) -> tuple[Path, dict]:
    """The input GIF ``original`` copied byte for byte into a new hidden file beside the GIF, for a
    repair that replaces no frame: (that file, the report's ``gif``). Writing it again would change
    its bytes (palettes, frame rectangles, disposal) and could change how browsers show it, where
    they and FFmpeg read a GIF differently (module doc). The copy is read back and compared."""
    staging, size = staged_copy(original, target.path, ".nlvfi-staging.gif")
    return staging, {
        "file": str(target.path), "frames": len(gif_delays(original)), "copied": True, "loop": target.loop,
        "last_delay_cs": target.last_delay, "times_kept": True, "bytes": size, "input_bytes": size,
    }  # fmt: skip


def gif_text(gif: dict, kept: str = "untouched") -> str:
    """The summary's sentence on a GIF output; ``kept`` names the frames taken from the input
    ("untouched" in a repair, "input" in an up-conversion)."""
    loop = {0: "looping for ever", -1: "playing once"}.get(gif["loop"], f"looping {gif['loop']} more times")
    if gif.get("copied"):
        return f"No frame replaced, so the GIF {gif['file']} is the input copied byte for byte (SHA-256 checked; {gif['frames']} frames, {loop})."
    text = (
        f"Written as a GIF ({gif['file']}, {gif['frames']} frames, {loop}, {gif['bytes'] / 1e6:.2f} MB), read back frame for frame: "
        f"the {gif['untouched_frames_identical']} {kept} frames identical to the input's"
    )
    ways = [
        (gif["new_frames_by_neighbours_colours"], "in the colours of the frames beside them"),
        (gif["new_frames_by_gif_colours"], "in the GIF's colours"),
        (gif["new_frames_by_median_cut"], "in a palette of their own (median cut)"),
    ]
    new = sum(count for count, _ in ways)
    if new:
        psnr = gif["mapped_psnr_db"]
        mapped = f" (PSNR >= {psnr['min']} dB against the generator's frames, mean {psnr['mean']})" if psnr else ""
        text += f", the {new} new frames drawn in at most 256 colours: " + ", ".join(f"{count} {how}" for count, how in ways if count) + mapped
    text += "; every frame's time kept in hundredths of a second."
    if gif["untouched_frames_not_exact"]:
        text += f" {gif['untouched_frames_not_exact']} untouched frames held more than a GIF can and were reduced."
    return text
