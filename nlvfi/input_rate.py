"""The frame rate of an input that has no timing of its own, as the user gives it (``--input-rate``).

Method: none; METHOD.md §4, last paragraph: what a real tool must add around the method. The
repair keeps every timestamp of its input; an input without timestamps (numbered images, a raw
Motion JPEG stream, a raw H.264 stream whose parameter sets carry no timing) is read at FFmpeg's
default, 25 frames/s, and written at it. A 24 frames/s film scan came out 4% fast, and a
10 frames/s camera's MJPEG 2.5 times too fast, with its audio (kept apart) no longer in step.
Until now the tools only said so and sent the user to ffmpeg to make a timed copy first.

``nlvfi repair`` / ``nlvfi interpolate --factor`` take ``--input-rate RATE``: every reader of
the input then opens it with FFmpeg's own ``framerate`` option of the image2 and raw demuxers
(``ffmpeg -framerate RATE -i IN``), so frame i is at i / RATE and the output carries that
timing. While a rate is declared for a path (:func:`declared_input_rate`), ``nlvfi.videoio.open_input``
passes it for that path; the first, second and verifying passes, the audio and subtitle
readers and the resume fingerprint all see the same timing.

An input that carries its own timing (any container; a raw stream whose header gives its rate) is
refused with ``--input-rate``: its timestamps are what the tool keeps, and a rate laid over them
would move frames that the file places (a variable rate) or contradict what the file says.
Numbered images are the exception: OpenEXR and DPX files may hold a frame-rate field, which
``nlvfi.videoio.open_input`` times them by, but writers fill it with their own default (FFmpeg's
EXR encoder writes 25), and ``ffmpeg -framerate`` overrides it too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from fractions import Fraction

#: Rates the user declared (:func:`declared_input_rate`), by the input's absolute path.
_DECLARED: dict[str, Fraction] = {}

#: Highest rate taken: beyond the fastest cameras' (some 100000 frames/s), the text is a mistake
MAX_RATE = Fraction(1_000_000)

_RATE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:[/:]\s*(\d+(?:\.\d+)?)\s*)?$")


def parse_rate(text: str | Fraction | int | float) -> Fraction:
    """A frame rate from ``24``, ``12.5``, ``30000/1001`` (or ``30000:1001``).

    A decimal that is an NTSC rate rounded to two or three decimals (``23.976``, ``29.97``,
    ``59.94``, ``119.88``: within 0.005 of n x 1000/1001 for a whole n) means that exact rate,
    as it does on every camera's and editor's label; any other decimal is taken as written.
    Raises ValueError for anything that is not a positive finite rate up to ``MAX_RATE``."""
    if isinstance(text, Fraction):
        rate = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        rate = Fraction(str(text)) if isinstance(text, float) else Fraction(text)
    elif isinstance(text, str):
        match = _RATE_TEXT.match(text)
        if not match or (match.group(2) is not None and "." in match.group(2)):
            raise ValueError(f"a frame rate is a number such as 24, 29.97 or 30000/1001, got {text!r}")
        numerator, denominator = Fraction(match.group(1)), Fraction(match.group(2) or 1)
        if denominator == 0:
            raise ValueError(f"a frame rate's denominator cannot be 0, got {text!r}")
        rate = numerator / denominator
        if match.group(2) is None and "." in match.group(1):
            rate = ntsc_rate(rate)
    else:
        raise ValueError(f"a frame rate is a number such as 24, 29.97 or 30000/1001, got {text!r}")
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"a frame rate must be above 0 and at most {MAX_RATE} frames/s, got {text!r}")
    return rate


def ntsc_rate(rate: Fraction) -> Fraction:
    """n x 1000/1001 where ``rate`` (a decimal) is that rate rounded, else ``rate``."""
    whole = round(rate * Fraction(1001, 1000))
    exact = Fraction(whole * 1000, 1001)
    return exact if whole > 0 and rate != whole and abs(rate - exact) < Fraction(5, 1000) else rate


def rate_text(rate: Fraction) -> str:
    """``24``, ``30000/1001``: as FFmpeg's option takes it, and as the report writes it."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def given_rate_text(rate: Fraction | str) -> str:
    """What the summaries say of a rate given with ``--input-rate``."""
    rate = Fraction(rate)
    return f"Frame rate given: the input was read at {float(rate):g} frames/s (--input-rate {rate_text(rate)})"


def _key(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))  # a pattern (frames/%04d.png) is no file: no resolve()


def declared_rate_of(path: str | os.PathLike) -> Fraction | None:
    """The rate declared for ``path`` (:func:`declared_input_rate`), or None."""
    return _DECLARED.get(_key(path)) if _DECLARED else None


@contextlib.contextmanager
def declared_input_rate(path: str | os.PathLike, rate: str | Fraction | int | float | None):
    """Within the block, every reader of ``path`` reads it at ``rate`` (module doc); None: as it is.

    The input must have no timing of its own: one that has is refused (VideoError, nothing
    read beyond its header). The same rate declared again inside the block (a tool calling
    another) is a no-op; another rate is a ValueError."""
    if rate is None:
        yield None
        return
    rate = parse_rate(rate)
    key = _key(path)
    if key in _DECLARED:
        if _DECLARED[key] != rate:
            raise ValueError(f"{path} is already read at {rate_text(_DECLARED[key])} frames/s, not {rate_text(rate)}")
        yield rate
        return
    from .videoio import VideoError, is_image_pattern, probe

    info = probe(path)  # as the file itself times it
    if not info.rate_assumed and not is_image_pattern(path):  # numbered images' own rate field (EXR, DPX) may be overridden
        said = f"{float(info.rate):g} frames/s" if info.rate else "its own timestamps"
        where = "its stream header gives" if info.rate and _raw(info.container) else "it carries"
        raise VideoError(
            f"{path} has timing of its own ({where} {said}): --input-rate is for input without any "
            f"(numbered images, a raw stream such as Motion JPEG), and the tools keep this file's timestamps"
        )
    _DECLARED[key] = rate
    try:
        yield rate
    finally:
        _DECLARED.pop(key, None)


def reads_at_input_rate(function):
    """Decorate a tool ``function(source, ...)`` that takes an ``input_rate`` keyword: it runs
    with that rate declared for ``source`` (:func:`declared_input_rate`; None: as it is)."""

    @functools.wraps(function)
    def wrapped(source, *args, **kwargs):
        with declared_input_rate(source, kwargs.get("input_rate")):
            return function(source, *args, **kwargs)

    return wrapped


def rate_argument(text: str) -> Fraction:
    """argparse ``type`` of ``--input-rate``: :func:`parse_rate`, its error as argparse's."""
    import argparse

    try:
        return parse_rate(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_input_rate_argument(parser, prefix: str = "") -> None:
    """``--input-rate RATE`` (module doc)."""
    parser.add_argument(
        "--input-rate", type=rate_argument, default=None, metavar="RATE",
        help=f"{prefix}the frame rate of an input without timing of its own (numbered images, a raw Motion JPEG "
        "stream), e.g. 24, 29.97 (30000/1001) or 30000/1001; default FFmpeg's 25. Refused for input that has its own",
    )  # fmt: skip


def _raw(container: str) -> bool:
    """Whether FFmpeg's demuxer name ``container`` is one of a raw elementary stream's."""
    return container.split(",")[0] in {"h264", "hevc", "mpegvideo", "mjpeg", "m4v", "vc1", "av1", "obu", "rawvideo"}


def opener_options(path: str | os.PathLike) -> dict[str, str]:
    """The demuxer options that read ``path`` at its declared rate ({} where none is declared)."""
    rate = declared_rate_of(path)
    return {} if rate is None else {"framerate": rate_text(rate)}
