"""Closed captions carried inside the video, kept through a repair.

Method: METHOD.md §4, last paragraph (a real tool keeps what the input holds besides its
pictures). Broadcast TV, its recordings and DVDs carry their captions in the video itself:
ATSC A/53 "GA94" user data with EIA-608 / CEA-708 byte pairs, in H.264 / HEVC SEI messages or
MPEG-2 picture user data, a few bytes for each frame's time. FFmpeg's decoders give each decoded
frame its own bytes (:func:`closed_captions`), and x264, x265 (when told) and the MPEG-2 encoder
write a frame's bytes back into the bitstream (``CAPTION_ENCODERS``). A frame made from pixels
alone has none, so a generated frame that takes a decoded frame's place carries that frame's
(:func:`carry_side_data`): the bytes belong to the frame's time, not its picture, and without them
each replaced frame cut a character pair out of the captions. :func:`with_captions` writes such a
file for the tests and benchmarks (no captioned clip is shipped), and :func:`caption_lines` reads
back the words a caption decoder shows (FFmpeg's EIA-608 decoder).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from .colour import ColourTags
from .side_data import frame_side_data

#: encoders that write the closed captions a frame carries (ATSC A/53: the EIA-608 / CEA-708 bytes that
#: broadcast TV, its recordings and DVDs carry inside the video) into their own bitstream: H.264 and
#: HEVC as SEI messages, MPEG-2 as user data. x265 only when told (``X265_CAPTIONS``). Each was given
#: frames carrying captions and read back with every frame's bytes; FFV1, VP9, AV1 (SVT) and MPEG-4
#: Part 2 wrote none
CAPTION_ENCODERS = frozenset({"libx264", "libx264rgb", "libx265", "mpeg2video"})
X265_CAPTIONS = {"a53cc": "1"}


def closed_captions(frame) -> bytes | None:
    """The closed captions a decoded frame carries (FFmpeg's ``AV_FRAME_DATA_A53_CC``: the ATSC
    A/53 cc_data triplets, 3 bytes for each EIA-608 / CEA-708 byte pair of this frame's time), or
    None. The decoders of H.264, HEVC and MPEG-2 export them from the video's SEI / user data."""
    import av

    for data in frame_side_data(frame):
        if data.type == av.sidedata.sidedata.Type.A53_CC:
            return bytes(data)
    return None


def carry_side_data(carrier, frame):
    """``frame``'s pixels (an av.VideoFrame) in a new frame that carries ``carrier``'s side data (a
    decoded frame's closed captions, :func:`closed_captions`), tagged as ``frame`` is; ``carrier``
    is left as it is. PyAV cannot attach side data to a frame, but a converted frame keeps the
    side data of the one it was converted from: ``carrier`` converted to ``frame``'s format (twice
    where it is in that format already, as a conversion to the same format is the frame itself),
    then its planes overwritten row by row (the two frames' rows may be padded differently)."""
    out = carrier.reformat(format=frame.format.name, width=frame.width, height=frame.height)
    if out is carrier:  # never write into the carrier, nor into a buffer its decoder refers to
        other = "gray" if carrier.format.name != "gray" else "rgb24"
        out = carrier.reformat(format=other).reformat(format=frame.format.name, width=frame.width, height=frame.height)
    for source, target in zip(frame.planes, out.planes):
        rows = np.frombuffer(source, dtype=np.uint8)  # (height x line size,)
        into = np.frombuffer(target, dtype=np.uint8)  # writable: the frame's own buffer
        width = min(source.line_size, target.line_size)  # at least one row of samples
        for row in range(source.height):
            start, to = row * source.line_size, row * target.line_size
            count = min(width, len(rows) - start, len(into) - to)
            into[to : to + count] = rows[start : start + count]
    ColourTags.of(frame).apply(out)
    return out


def a53_sei(cc_data: bytes) -> bytes:
    """An H.264 SEI NAL unit (no start code, no length) of ITU-T T.35 user data holding ATSC A/53
    captions: country 0xB5, provider 0x0031, "GA94", type 3, then ``cc_data`` (3-byte triplets,
    at most 31) between the em_data and marker bytes. Its bytes hold no 00 00 pair, so it needs
    no emulation prevention."""
    if len(cc_data) % 3 or not 0 < len(cc_data) // 3 < 32:
        raise ValueError(f"cc_data must be 1-31 triplets of 3 bytes, got {len(cc_data)} bytes")
    payload = bytes([0xB5, 0x00, 0x31]) + b"GA94" + bytes([0x03, 0x40 | len(cc_data) // 3, 0xFF]) + cc_data + bytes([0xFF])
    return bytes([0x06, 0x04, len(payload)]) + payload + bytes([0x80])


def with_captions(source: str | Path, target: str | Path, cc_data_at: Callable[[int], bytes]) -> Path:
    """Copy ``source``'s H.264 video (in .mkv / .mp4 / .mov: NAL units behind length fields) and
    its audio into ``target``, each coded frame carrying ``cc_data_at(i)``'s captions (i: the
    frame's place in display order, from its time and the stream's rate), as a recorder of
    broadcast TV writes them: an SEI NAL unit put before the frame's own. Nothing is re-encoded."""
    import av

    with av.open(str(source)) as inputs, av.open(str(target), "w") as output:
        video = inputs.streams.video[0]
        if video.codec_context.name != "h264" or not video.codec_context.extradata:
            raise ValueError(f"{source}: captions are written into H.264 with its parameter sets in the header only")
        length_size = (video.codec_context.extradata[4] & 3) + 1  # avcC: each NAL unit behind 1-4 length bytes
        rate = video.average_rate or video.guessed_rate
        first = None
        streams = {video.index: output.add_stream_from_template(video)}
        streams.update({audio.index: output.add_stream_from_template(audio) for audio in inputs.streams.audio})
        for packet in inputs.demux(list(inputs.streams.video[:1]) + list(inputs.streams.audio)):
            if packet.size == 0:
                continue
            data = bytes(packet)
            if packet.stream.index == video.index:
                first = packet.pts if first is None else min(first, packet.pts)
                index = round((packet.pts - first) * packet.time_base * rate)
                sei = a53_sei(cc_data_at(index))
                data = len(sei).to_bytes(length_size, "big") + sei + data
            copied = av.Packet(data)
            copied.pts, copied.dts, copied.time_base, copied.is_keyframe = packet.pts, packet.dts, packet.time_base, packet.is_keyframe
            copied.stream = streams[packet.stream.index]
            output.mux(copied)
    return Path(target)


def caption_lines(path: str | Path) -> list[str]:
    """The caption lines FFmpeg's EIA-608 decoder (``cc_dec``) makes of a video's closed
    captions, frame by frame in display order, as a player shows them (ASS text, its override
    tags such as ``{\\an7}`` taken off)."""
    import re

    import av

    from .videoio import VideoReader  # (videoio imports this module)

    decoder = av.CodecContext.create("cc_dec", "r")
    lines = []
    with VideoReader(path) as reader:
        for item in reader:
            data = closed_captions(item.frame)
            if data is None:
                continue
            packet = av.Packet(data)
            packet.pts, packet.time_base = round(item.time * 1000), Fraction(1, 1000)
            for subtitle in decoder.decode(packet):
                dialogue = bytes(subtitle.ass).decode("utf-8", "replace").split(",", 8)[-1]  # ASS: the 9th field on
                lines.append(re.sub(r"\{[^}]*\}", "", dialogue))
    return lines
