"""An input's ICC profile: read off its first frame, named, and said kept or not kept.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). An ICC
profile says which colours a picture's RGB numbers are (macOS screenshots and screen recordings
are Display P3, photographs often Adobe RGB); shown without it, as sRGB, a P3 picture's colours
come out duller. FFmpeg hands the profile of a PNG, APNG, JPEG or WebP on as frame side data
(``ICC_PROFILE``). The run's first frame's profile is what the report names; a PNG image
or TIFF image sequence written carries it (:mod:`nlvfi.image_sequence`), an animated PNG or WebP written from
one carries the input's own chunk (:mod:`nlvfi.apng_output`, :mod:`nlvfi.webp_output`), an MP4
or MOV a colour box of type 'prof' (:mod:`nlvfi.mov_colour`); the other outputs (Matroska, AVI,
...) have no place the tools write it in, and the report and summary say so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .side_data import frame_side_data


def icc_profile(frame) -> bytes | None:
    """The ICC profile a decoded ``frame`` carries (its ``ICC_PROFILE`` side data), or None."""
    for entry in frame_side_data(frame):
        if entry.type.name == "ICC_PROFILE" and entry.data:
            return entry.data
    return None


def profile_description(profile: bytes) -> str | None:
    """The profile's own name (its ``desc`` tag: ICC v2 text description, ASCII; or v4 localised
    Unicode, the first record), or None where it has none that reads."""
    try:
        count = int.from_bytes(profile[128:132], "big")
        for index in range(min(count, 200)):
            entry = profile[132 + 12 * index : 144 + 12 * index]
            if entry[:4] != b"desc":
                continue
            offset, size = int.from_bytes(entry[4:8], "big"), int.from_bytes(entry[8:12], "big")
            tag = profile[offset : offset + size]
            if tag[:4] == b"desc":
                length = int.from_bytes(tag[8:12], "big")
                return tag[12 : 12 + length].rstrip(b"\0").decode("ascii").strip() or None
            if tag[:4] == b"mluc":
                length, start = int.from_bytes(tag[20:24], "big"), int.from_bytes(tag[24:28], "big")
                return tag[start : start + length].decode("utf-16-be").rstrip("\0").strip() or None
    except (UnicodeDecodeError, ValueError):
        return None
    return None


def profile_summary(profile: bytes | None, varies: bool = False) -> dict | None:
    """The report's ``icc_profile`` for the input's first frame's ``profile``: its name, size and
    SHA-1, and whether a later frame carries another (``varies``); None where it has none."""
    if profile is None:
        return None
    return {"description": profile_description(profile), "bytes": len(profile), "sha1": hashlib.sha1(profile).hexdigest(), "varies": varies}


def profile_outcome(summary: dict | None, kept_in: str | None, output_kind: str) -> dict | None:
    """``summary`` (:func:`profile_summary`) with where the output keeps it (``kept_in``), or why not."""
    if summary is None:
        return None
    if summary["varies"]:
        return {**summary, "kept": False, "lost": "its frames carry different profiles, which no output here keeps frame by frame"}
    if kept_in:
        return {**summary, "kept": True, "kept_in": kept_in}
    return {**summary, "kept": False, "lost": f"{output_kind} written here holds no ICC profile"}


def profile_text(outcome: dict | None) -> str | None:
    """The summary's sentence on the input's ICC profile, where there is one."""
    if outcome is None:
        return None
    name = f'"{outcome["description"]}"' if outcome["description"] else "without a name"
    if outcome["kept"]:
        return f"The input's ICC profile ({name}, {outcome['bytes']} bytes) is kept in {outcome['kept_in']}."
    effect = (
        "an sRGB profile, so most viewers show the output the same"
        if "srgb" in (outcome["description"] or "").lower()
        else "viewers that manage colour show the output as sRGB"
    )
    return (
        f"ICC profile not kept: the input's frames carry one ({name}, {outcome['bytes']} bytes), and {outcome['lost']}: {effect} "
        "(.mp4, .mov and numbered PNG or TIFF images, frames/%04d.png, keep it)."
    )


def profile_place(report: dict, output: str, written_in: str | None = None) -> tuple[str | None, str]:
    """``(kept_in, output_kind)`` for :func:`profile_outcome` from a repair report or an
    up-conversion summary and its ``-o``: where the output keeps the input's profile, if it
    does, and what the output is. ``written_in``: where the video writer put it, read back
    (``VideoWriter.icc_outcome``: MP4 / MOV)."""
    sequence = report.get("image_sequence")
    if sequence is not None:
        kept = "every image written (a PNG's iCCP chunk, a TIFF's tag 34675; read back)" if sequence.get("icc_profile_written") else None
        return kept, "OpenEXR or PFM images"
    if report.get("apng"):
        kept = "ICC profile" in report["apng"].get("chunks_kept", [])
        return ("the animated PNG (the input's iCCP chunk, byte for byte)" if kept else None), "the animated PNG"
    if report.get("webp"):
        kept = "ICC profile" in report["webp"].get("metadata_kept", [])
        return ("the WebP (the input's ICCP chunk, byte for byte)" if kept else None), "the WebP"
    if report.get("gif"):
        return None, "a GIF"
    return written_in, f"a {Path(output).suffix or 'video'} video"
