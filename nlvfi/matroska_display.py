"""A Matroska / WebM file's display size, written into its header after the muxer has finished:
how the output keeps the shape of a picture whose pixels are not square.

Method: none; METHOD.md §4, last paragraph (what a real tool keeps besides the frames). A PAL DV
tape's 720x576 is shown 4:3, so its pixels are 16:15; a DVD's 720x480 shown 16:9 has 32:27
pixels. H.264, HEVC and MPEG-2 keep that in their own headers, but FFV1 (the archivists' codec
for digitised tape, usually in .mkv), VP9 and AV1 have no field for it, so only the container can
say it. FFmpeg's Matroska muxer writes a track's DisplayWidth / DisplayHeight from the stream's
sample aspect ratio (``AVStream.sample_aspect_ratio``), a field PyAV 18 never sets (it fills only
the codec parameters), so the file said DisplayUnit 4, "unknown", and players showed square
pixels. :func:`write_display_size` writes what ``ffmpeg -c copy`` writes: in .mkv the display
aspect ratio, reduced, with DisplayUnit 3 (exact); in .webm, whose specification knows only
pixels, the width in whole pixels, rounded as FFmpeg rounds it, over the height.

Matroska is EBML: each element is an ID (1-4 bytes, its length marked by the leading zero bits of
its first byte), a size (a variable-length integer alike, with the marker bit removed) and the
data; master elements hold elements. The Segment holds level-1 elements: SeekHead (the positions
of the others, counted from the Segment's data), Info, Tracks, Tags, then the Clusters, whose
positions the Cues give. A CRC-32 element may come first in a level-1 element: the IEEE CRC of the
rest of its data, little-endian (``zlib.crc32``).

The new Tracks element is a few bytes longer. FFmpeg reserves room for the SeekHead at the start
of the Segment and leaves what it does not use as a Void element; the Void gives up those bytes,
the level-1 elements between it and Tracks move by as many bytes, and the SeekHead's positions of
them are rewritten with them (in the same number of bytes) with its CRC. Nothing after that span
moves: no Cluster, Cue or Tag changes its offset, so the edit is a few hundred bytes written in
place. Where the header has no such Void, or is not laid out as expected, nothing is changed.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, replace
from fractions import Fraction

EBML_HEADER = 0x1A45DFA3
DOC_TYPE = 0x4282
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_POSITION = 0x53AC
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_TYPE = 0x83
VIDEO = 0xE0
PIXEL_WIDTH = 0xB0
PIXEL_HEIGHT = 0xBA
DISPLAY_WIDTH = 0x54B0
DISPLAY_HEIGHT = 0x54BA
DISPLAY_UNIT = 0x54B2
CLUSTER = 0x1F43B675
VOID = 0xEC
CRC_32 = 0xBF

#: TrackType of a video track
VIDEO_TRACK = 1
#: DisplayUnit: DisplayWidth / DisplayHeight are a display aspect ratio (Matroska, not WebM)
DISPLAY_ASPECT_RATIO = 3
#: av_reduce's limit in FFmpeg's muxer: a ratio whose terms exceed it is written in pixels
MAX_RATIO_TERM = 1024 * 1024
#: the most bytes of level-1 elements moved (a header this large holds attachments, not FFmpeg's few hundred bytes)
MAX_MOVED = 1 << 20


@dataclass(frozen=True)
class Element:
    """One EBML element: its ID, where it starts, the bytes of its ID and size, and its data's size."""

    id: int
    start: int
    header: int
    size: int
    size_length: int

    @property
    def data_start(self) -> int:
        return self.start + self.header

    @property
    def end(self) -> int:
        return self.data_start + self.size


def read_vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    """A variable-length integer at ``data[at]``: ``(value, length)``. IDs keep their marker bit
    (``keep_marker``); sizes do not. ValueError where it is not one."""
    if at >= len(data) or data[at] == 0:
        raise ValueError(f"no EBML number at byte {at}")
    length = 9 - data[at].bit_length()
    if at + length > len(data):
        raise ValueError(f"EBML number at byte {at} runs past the data")
    value = int.from_bytes(data[at : at + length], "big")
    return (value if keep_marker else value & ((1 << (7 * length)) - 1)), length


def element_at(data: bytes, at: int, offset: int = 0) -> Element:
    """The element whose ID starts at ``data[at]``; ``offset``: where ``data`` starts in the file.
    ValueError for an unknown size (all ones: a live stream's, not a finished file's)."""
    element_id, id_length = read_vint(data, at, keep_marker=True)
    size, size_length = read_vint(data, at + id_length, keep_marker=False)
    if size == (1 << (7 * size_length)) - 1:
        raise ValueError(f"element {element_id:#x} at byte {offset + at} has an unknown size")
    return Element(element_id, offset + at, id_length + size_length, size, size_length)


def children(data: bytes, parent: Element, offset: int = 0) -> list[Element]:
    """The elements in ``parent``'s data (``data`` holds it; ``offset``: where ``data`` starts in the file)."""
    found, at, end = [], parent.data_start - offset, parent.end - offset
    while at < end:
        child = element_at(data, at, offset)
        if child.end - offset > end:
            raise ValueError(f"element {child.id:#x} at byte {child.start} runs past its parent")
        found.append(child)
        at = child.end - offset
    return found


def size_bytes(size: int, length: int = 1) -> bytes:
    """``size`` as an EBML size of at least ``length`` bytes (the all-ones value of each length is reserved)."""
    while size >= (1 << (7 * length)) - 1:
        length += 1
    if length > 8:
        raise ValueError(f"size {size} does not fit an EBML size")
    return ((1 << (7 * length)) | size).to_bytes(length, "big")


def element_bytes(element_id: int, data: bytes, size_length: int = 1) -> bytes:
    """A whole element: ID, size (at least ``size_length`` bytes, as the element had), data."""
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size_bytes(len(data), size_length) + data


def uint_element(element_id: int, value: int) -> bytes:
    """An unsigned-integer element in as few bytes as hold ``value``."""
    return element_bytes(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def with_crc(body: bytes, had_crc: bool) -> bytes:
    """A level-1 element's data: its children, after a fresh CRC-32 element where it had one."""
    return (element_bytes(CRC_32, zlib.crc32(body).to_bytes(4, "little")) if had_crc else b"") + body


def display_elements(width: int, height: int, pixel_aspect: Fraction, webm: bool) -> bytes:
    """DisplayWidth, DisplayHeight and (Matroska) DisplayUnit for a ``width`` x ``height`` picture
    of ``pixel_aspect`` pixels, as FFmpeg's muxer writes them: WebM in pixels (the width
    ``av_rescale``d, halves rounded up); Matroska the display aspect ratio, reduced, unit 3."""
    ratio = Fraction(width * pixel_aspect.numerator, height * pixel_aspect.denominator)
    if webm or max(ratio.numerator, ratio.denominator) > MAX_RATIO_TERM:
        shown = (2 * width * pixel_aspect.numerator + pixel_aspect.denominator) // (2 * pixel_aspect.denominator)
        return uint_element(DISPLAY_WIDTH, shown) + uint_element(DISPLAY_HEIGHT, height)
    return (
        uint_element(DISPLAY_WIDTH, ratio.numerator)
        + uint_element(DISPLAY_HEIGHT, ratio.denominator)
        + uint_element(DISPLAY_UNIT, DISPLAY_ASPECT_RATIO)
    )


def uint_value(data: bytes, element: Element, offset: int = 0) -> int:
    """An unsigned-integer element's value (``data`` starts at file offset ``offset``)."""
    return int.from_bytes(data[element.data_start - offset : element.end - offset], "big")


def raw(data: bytes, element: Element, offset: int = 0) -> bytes:
    """An element's bytes, ID and size included, as they are (``data`` starts at file offset ``offset``)."""
    return data[element.start - offset : element.end - offset]


def rebuilt(data: bytes, element: Element, new_children: list[bytes]) -> bytes:
    """``element`` with ``new_children`` for data, its size in as many bytes as before where they
    hold it, and a fresh CRC-32 where it had one first."""
    first = children(data, element)[:1]
    had_crc = bool(first) and first[0].id == CRC_32
    return element_bytes(element.id, with_crc(b"".join(new_children), had_crc), element.size_length)


def new_video(data: bytes, video: Element, width: int, height: int, pixel_aspect: Fraction, webm: bool) -> bytes:
    """The Video element with its display size: any DisplayWidth, DisplayHeight or DisplayUnit
    dropped, the new ones after PixelWidth / PixelHeight (where FFmpeg puts them)."""
    kept = [f for f in children(data, video) if f.id not in (DISPLAY_WIDTH, DISPLAY_HEIGHT, DISPLAY_UNIT)]
    at = 1 + max((i for i, f in enumerate(kept) if f.id in (PIXEL_WIDTH, PIXEL_HEIGHT)), default=-1)
    parts = [raw(data, f) for f in kept]
    parts[at:at] = [display_elements(width, height, pixel_aspect, webm)]
    return element_bytes(VIDEO, b"".join(parts), video.size_length)


def new_tracks(data: bytes, tracks: Element, width: int, height: int, pixel_aspect: Fraction, webm: bool) -> bytes:
    """The Tracks element (``data`` starts with it) with the display size in its one video track of
    ``width`` x ``height``. ValueError where there is not exactly one such track."""
    parts, patched = [], 0
    for entry in children(data, tracks):
        if entry.id == CRC_32:
            continue  # rebuilt
        fields = children(data, entry) if entry.id == TRACK_ENTRY else []
        kind = next((uint_value(data, f) for f in fields if f.id == TRACK_TYPE), None)
        video = [f for f in fields if f.id == VIDEO]
        size = {f.id: uint_value(data, f) for f in children(data, video[0]) if f.id in (PIXEL_WIDTH, PIXEL_HEIGHT)} if len(video) == 1 else {}
        if kind != VIDEO_TRACK or size != {PIXEL_WIDTH: width, PIXEL_HEIGHT: height}:
            parts.append(raw(data, entry))
            continue
        new_fields = [new_video(data, f, width, height, pixel_aspect, webm) if f.id == VIDEO else raw(data, f) for f in fields]
        parts.append(element_bytes(TRACK_ENTRY, b"".join(new_fields), entry.size_length))
        patched += 1
    if patched != 1:
        raise ValueError(f"{patched} video tracks of {width}x{height}")
    return rebuilt(data, tracks, parts)


def level1_before_clusters(handle, segment: Element) -> list[Element]:
    """The Segment's level-1 elements before its first Cluster, found by reading their headers alone."""
    elements, at = [], segment.data_start
    while at < segment.end:
        handle.seek(at)
        element = element_at(handle.read(12), 0, at)
        if element.id == CLUSTER:
            break
        elements.append(element)
        at = element.end
    return elements


def read_element(handle, element: Element) -> tuple[bytes, Element]:
    """An element's bytes, and the element counted from the start of them."""
    handle.seek(element.start)
    return handle.read(element.end - element.start), replace(element, start=0)


def moved_seek_head(data: bytes, head: Element, segment_data: int, moved: dict[int, int]) -> bytes:
    """The SeekHead ``head`` (``data`` starts with it) with the position of each element in
    ``moved`` (old file offset -> new) rewritten in as many bytes as before, and its CRC-32.
    ValueError where a new position does not fit them."""
    parts = []
    for seek in children(data, head):
        if seek.id == CRC_32:
            continue  # rebuilt
        if seek.id != SEEK:
            parts.append(raw(data, seek))
            continue
        fields = []
        for field in children(data, seek):
            if field.id == SEEK_POSITION:
                old = segment_data + uint_value(data, field)
                new = moved.get(old, old) - segment_data
                if new < 0 or new.bit_length() > 8 * field.size:
                    raise ValueError(f"SeekPosition {new} does not fit {field.size} bytes")
                fields.append(element_bytes(SEEK_POSITION, new.to_bytes(field.size, "big"), field.size_length))
            else:
                fields.append(raw(data, field))
        parts.append(element_bytes(SEEK, b"".join(fields), seek.size_length))
    return rebuilt(data, head, parts)


def display_size_edits(handle, width: int, height: int, pixel_aspect: Fraction) -> list[tuple[int, bytes]]:
    """The writes, ``(file offset, bytes)``, that put the display size into the file open in
    ``handle``: the span from the Void to Tracks, and each SeekHead outside it. ValueError where
    the file is not laid out for it (module docstring)."""
    handle.seek(0)
    ebml = element_at(handle.read(12), 0)
    handle.seek(0)
    header = handle.read(ebml.end)
    webm = any(header[e.data_start : e.end] == b"webm" for e in children(header, ebml) if e.id == DOC_TYPE)
    segment = element_at(handle.read(12), 0, ebml.end)
    if ebml.id != EBML_HEADER or segment.id != SEGMENT:
        raise ValueError("not a Matroska file")
    level1 = level1_before_clusters(handle, segment)
    tracks = [e for e in level1 if e.id == TRACKS]
    if len(tracks) != 1:
        raise ValueError(f"{len(tracks)} Tracks elements before the first Cluster")
    tracks_data, tracks_local = read_element(handle, tracks[0])
    replacement = new_tracks(tracks_data, tracks_local, width, height, pixel_aspect, webm)
    delta = len(replacement) - len(tracks_data)
    voids = [
        v
        for v in level1
        if v.id == VOID and v.size >= delta and len(size_bytes(v.size - delta, v.size_length)) == v.size_length
    ]  # a Void that gives (or takes) delta bytes and keeps its header's length
    if not voids:
        raise ValueError(f"no Void before the first Cluster to give {delta} bytes")
    void = min(voids, key=lambda v: abs(v.start - tracks[0].start))
    first, last = sorted((level1.index(void), level1.index(tracks[0])))
    span = level1[first : last + 1]
    if span[-1].end - span[0].start > MAX_MOVED:
        raise ValueError(f"{span[-1].end - span[0].start} bytes between the Void and Tracks")
    moved, at = {}, span[0].start
    for element in span:
        moved[element.start] = at
        at += element.end - element.start + (delta if element is tracks[0] else -delta if element is void else 0)
    heads = {}
    for head in (e for e in level1 if e.id == SEEK_HEAD):
        head_data, head_local = read_element(handle, head)
        heads[head.start] = moved_seek_head(head_data, head_local, segment.data_start, moved)
        if len(heads[head.start]) != len(head_data):
            raise ValueError("the SeekHead changed length")
    pieces = []
    for element in span:
        if element is tracks[0]:
            pieces.append(replacement)
        elif element is void:
            pieces.append(element_bytes(VOID, bytes(void.size - delta), void.size_length))
        else:
            pieces.append(heads.get(element.start) or read_element(handle, element)[0])
    edits = [(span[0].start, b"".join(pieces))]
    edits += [(start, data) for start, data in heads.items() if not span[0].start <= start < span[-1].end]
    return edits


def write_display_size(path: str | os.PathLike, width: int, height: int, pixel_aspect: Fraction) -> bool:
    """Write the display size of ``pixel_aspect`` pixels into the video track of ``width`` x
    ``height`` of the finished Matroska / WebM file at ``path``, in place (module docstring).

    True where written; False, with the file unchanged, where its header has no Void to give the
    bytes or is not laid out as FFmpeg lays it out (the read-back then says the shape was lost).
    Only for a file this project is writing: the caller's temporary output, never a user's file."""
    try:
        with open(path, "r+b") as handle:
            edits = display_size_edits(handle, width, height, pixel_aspect)
            for at, data in edits:
                handle.seek(at)
                handle.write(data)
    except (OSError, ValueError):
        return False
    return True
