"""Tags, dispositions and chapters: what a file and its streams say about their content, kept.

Method: METHOD.md §4, last paragraph (what a real tool keeps besides the frames). ``ffmpeg -c
copy`` keeps the file's tags (title, creation_time, location, comment ...), its chapters, and
each stream's tags (language, track name, timecode) and disposition (default, commentary ...);
a stream the tool writes, or adds from a template, has none of them, so the writer carries them
(:func:`carried_metadata`, :func:`carry_tags`) and :func:`metadata_outcome` reads the written
file back and names what the container had no place for. Used by :class:`nlvfi.videoio.VideoWriter`.
Notebook: notebooks/10_video_repair.ipynb
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from .pictures import is_attached_picture

#: tags a muxer or encoder writes about itself or the bytes it wrote, not about the content: not
#: carried from the input (compared lowercased, a Matroska language suffix such as "-eng" removed)
MUXER_TAGS = frozenset({
    "major_brand", "minor_version", "compatible_brands", "encoder", "vendor_id", "duration", "bps", "number_of_frames",
    "number_of_bytes", "_statistics_writing_app", "_statistics_writing_date_utc", "_statistics_tags", "software",
    "alpha_mode",  # Matroska's "this VP8 / VP9 track carries alpha": the muxer's to write, for the stream it writes
})
DEFAULT_DISPOSITION = 1  # AV_DISPOSITION_DEFAULT
#: track names FFmpeg's MP4 / MOV muxer gives a track that has none: not the input's own
DEFAULT_HANDLER_NAMES = frozenset({"VideoHandler", "SoundHandler", "SubtitleHandler", "DataHandler"})


def _tag_name(key: str) -> str:
    """``key`` lowercased, without a Matroska / MP4 language suffix ("LOCATION-eng" -> "location")."""
    return re.sub(r"-[a-z]{3}$", "", key.lower())


def carried_metadata(metadata: dict) -> dict[str, str]:
    """The tags of a file or stream that describe its content (title, creation_time, location,
    language, handler_name, comment, ...): ``MUXER_TAGS``, the language "und" and FFmpeg's own
    track names (``DEFAULT_HANDLER_NAMES``) left out, and a tag repeated with a language suffix
    ("location-eng" beside "location") kept once."""
    names = {_tag_name(key) for key in metadata if key.lower() == _tag_name(key)}
    return {
        key: value for key, value in metadata.items()
        if _tag_name(key) not in MUXER_TAGS and (key.lower() == _tag_name(key) or _tag_name(key) not in names)
        and not (_tag_name(key) == "language" and value == "und")  # "undetermined": what a muxer writes for no language
        and not (_tag_name(key) == "handler_name" and value in DEFAULT_HANDLER_NAMES)
    }


def carry_tags(source, target) -> None:
    """Give an output stream the input stream's tags (``carried_metadata``: language, title, ...)
    and disposition (default, forced, hearing impaired, ...). ``ffmpeg -c copy`` keeps both; a
    stream added from a template has neither."""
    target.metadata.update(carried_metadata(source.metadata))
    target.disposition = source.disposition


def metadata_outcome(source: str | os.PathLike, written: str | os.PathLike, streams: Sequence[tuple[int, int]]) -> dict:
    """Which tags of ``source`` the ``written`` file holds: the file's (``carried_metadata``) and
    those of each (input, output) stream index pair of ``streams`` (with its disposition), read
    back. A tag counts as kept when a tag of that name (any case, any language suffix) has the
    same value; Matroska stores names upper case, MP4 keeps a fixed set of names, AVI a few INFO
    fields, so some are lost by the container. A stream's creation_time equal to the file's
    counts as kept with it (MP4 repeats the date per track; Matroska has one per file); the
    "default" flag is compared only where the input has several streams of that kind (MP4 marks
    the first of each kind default, AVI marks none). ``not_kept`` names the others ("location",
    "audio 1: language"), and the chapters when they did not come back as they were (start,
    end, title: the writer copies them, and every frame keeps its time; AVI holds none)."""
    import av

    def lost(tags_in: dict, tags_out: dict) -> list[str]:
        found = {(_tag_name(k), v) for k, v in tags_out.items()}
        return sorted({_tag_name(k) for k, v in carried_metadata(tags_in).items() if (_tag_name(k), v) not in found})

    from .videoio import open_input  # here: videoio imports this module

    with open_input(source) as original, av.open(str(written)) as copy:  # the input may be numbered images
        missing = lost(original.metadata, copy.metadata)
        carried = len(carried_metadata(original.metadata))
        chapters_in, chapters_out = _chapter_list(original), _chapter_list(copy)
        if chapters_in and chapters_out != chapters_in:
            missing.append(f"chapters ({len(chapters_in)} in the input, {len(chapters_out)} kept as they were)")
        date = original.metadata.get("creation_time")
        for index_in, index_out in streams:
            stream_in, stream_out = original.streams[index_in], copy.streams[index_out]
            name = f"{stream_in.type} {index_in}"
            tags = stream_in.metadata
            if date is not None and "creation_time" not in missing and tags.get("creation_time") == date:
                tags = {k: v for k, v in tags.items() if k != "creation_time"}  # MP4 repeats the file's date per track; Matroska has one
            missing += [f"{name}: {tag}" for tag in lost(tags, stream_out.metadata)]
            carried += len(carried_metadata(stream_in.metadata))
            flags_in, flags_out = int(stream_in.disposition), int(stream_out.disposition)
            if sum(s.type == stream_in.type and not is_attached_picture(s) for s in original.streams) == 1:  # "default" chooses among several
                flags_in, flags_out = flags_in & ~DEFAULT_DISPOSITION, flags_out & ~DEFAULT_DISPOSITION
            if flags_in != flags_out:
                written_as = stream_out.disposition.name or "none"
                missing.append(f"{name}: disposition {stream_in.disposition.name or 'none'} (written as {written_as})")
    return {"tags": carried, "chapters": len(chapters_in), "not_kept": missing}


def _chapter_list(container) -> list[tuple[float, float, str]]:
    """(start s, end s, title) of each chapter, to the millisecond (what every container keeps)."""
    return [
        (round(float(c["start"] * c["time_base"]), 3), round(float(c["end"] * c["time_base"]), 3), c["metadata"].get("title", ""))
        for c in container.chapters()
    ]
