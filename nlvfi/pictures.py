"""Cover art: the pictures a file carries beside its video, kept through a repair.

Method: METHOD.md §4, last paragraph (what a real tool keeps besides the frames). A downloaded
or exported video often carries a picture: an MP4's cover (yt-dlp's ``--embed-thumbnail``, a
music video, a podcast episode), a Matroska ``cover.jpg``. FFmpeg reads each as a video stream
marked as an *attached picture*: one packet, the image file's own bytes (a Matroska image
attachment too, with its file name and MIME type in the stream's tags). ``ffmpeg -c copy`` keeps
them, so the writer (:class:`nlvfi.videoio.VideoWriter`) does too, byte for byte:

* into .mp4 as a marked picture stream (:data:`AS_STREAM`), as the input had it;
* into .mkv as an attachment named ``cover.jpg`` / ``cover.png`` (the name Matroska players look
  for; a Matroska input's own name is kept), which FFmpeg reads back as the same marked picture.
  Copied as a stream, Matroska would hold it as a second, one-frame video track;
* not into .mov, whose muxer drops a picture stream without a word, nor .avi, .nut or .webm,
  which have no place for one (:func:`picture_place`): those are named in the report.

:func:`picture_digests` reads a file's pictures back, so the verification checks each came
through unchanged. Notebook: notebooks/10_video_repair.ipynb
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

#: image codec -> (MIME type, file extension) of a cover written as a Matroska attachment
IMAGE_FILES = {
    "mjpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "bmp": ("image/bmp", ".bmp"),
    "webp": ("image/webp", ".webp"),
    "gif": ("image/gif", ".gif"),
    "tiff": ("image/tiff", ".tif"),
}
AS_STREAM = frozenset({"mp4"})  # muxers that keep a marked picture stream
AS_ATTACHMENT = frozenset({"matroska"})  # muxers that keep it as an attachment (not webm: it holds none)


def is_attached_picture(stream) -> bool:
    """Whether ``stream`` is a picture attached to the file (cover art), not video to play."""
    import av

    return stream.type == "video" and bool(stream.disposition & av.stream.Disposition.attached_pic)


def stream_label(stream) -> str:
    """How the reports name a stream: "video (mjpeg, attached picture)", "data (bin_data)"."""
    codec = stream.codec_context.name if stream.codec_context is not None else "unknown codec"
    return f"{stream.type} ({codec}{', attached picture' if is_attached_picture(stream) else ''})"


@dataclass(frozen=True)
class Picture:
    """One attached picture of an input: its stream, image codec, bytes, and the file name and
    MIME type it takes as a Matroska attachment."""

    index: int
    codec: str
    data: bytes
    name: str
    mimetype: str
    label: str

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.data).hexdigest()


def attached_pictures(container) -> list[Picture]:
    """The attached pictures of an open input ``container``, in stream order, each with its bytes.

    FFmpeg hands a marked picture's one packet out before any other, so this reads no further
    into the file than the pictures (through a second handle on the same file: ``container``
    stays at its start). A picture whose packet cannot be read has empty ``data``
    (:func:`picture_place` then says so)."""
    import av

    marked = [s for s in container.streams if is_attached_picture(s)]
    if not marked:
        return []
    pictures = []
    with av.open(container.name) as again:
        for stream in marked:
            try:
                packet = next((p for p in again.demux(again.streams[stream.index]) if p.size), None)
            except av.FFmpegError:
                packet = None
            codec = stream.codec_context.name if stream.codec_context is not None else "unknown"
            mimetype, extension = IMAGE_FILES.get(codec, ("application/octet-stream", ".bin"))
            name = stream.metadata.get("filename") or f"cover{'' if not pictures else f'_{len(pictures) + 1}'}{extension}"
            data = b"" if packet is None else bytes(packet)
            pictures.append(Picture(stream.index, codec, data, name, stream.metadata.get("mimetype", mimetype), stream_label(stream)))
    return pictures


def picture_place(muxer: str, picture: Picture) -> str | None:
    """None where the ``muxer`` keeps ``picture``; else why not (a phrase for the report)."""
    if not picture.data:
        return "its picture could not be read from the input"
    if muxer in AS_STREAM:
        return None
    if muxer in AS_ATTACHMENT:
        return None if picture.codec in IMAGE_FILES else f"Matroska players read no {picture.codec} cover"
    if muxer == "mov":
        return "the mov muxer drops attached pictures (write .mp4 or .mkv to keep it)"
    return f"the {muxer} container has no place for an attached picture"


def picture_digests(path: str | os.PathLike) -> list[str]:
    """SHA-1 of each attached picture's bytes in the file at ``path``, in stream order."""
    from .videoio import open_input  # here: videoio imports this module

    with open_input(path) as container:  # also numbered images, from their first number
        return [picture.sha1 for picture in attached_pictures(container)]


def with_picture(video: str | os.PathLike, path: str | os.PathLike, picture: bytes) -> Path:
    """Write ``path``: every stream of ``video`` copied, and ``picture`` (a JPEG or PNG file's
    bytes) attached as its cover, as files carry one: in .mkv an attachment named cover.jpg /
    cover.png, elsewhere a picture stream marked as attached. How the tests and
    ``benchmarks/containers.py`` make such inputs; the repair never writes a file this way."""
    import io

    import av

    path = Path(path)
    with av.open(io.BytesIO(picture)) as image:  # its codec and size, which a picture stream declares
        context = image.streams.video[0].codec_context
        codec, width, height, pix_fmt = context.name, context.width, context.height, context.format.name
    mimetype, extension = IMAGE_FILES[codec]
    with av.open(str(video)) as source, av.open(str(path), "w") as target:
        copies = {s.index: target.add_stream_from_template(s) for s in source.streams}
        cover = None
        if path.suffix == ".mkv":
            target.add_attachment(f"cover{extension}", mimetype, picture)
        else:
            cover = target.add_stream(codec)
            cover.width, cover.height, cover.pix_fmt = width, height, pix_fmt
            cover.disposition = av.stream.Disposition.attached_pic
        for packet in source.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                target.mux(packet)
        if cover is not None:
            packet = av.Packet(picture)
            packet.stream, packet.pts, packet.dts = cover, 0, 0
            target.mux(packet)
    return path
