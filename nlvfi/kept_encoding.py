"""Keeping the encoded frames of an interrupted run, so that running it again does not encode them again.

Method: METHOD.md §4 step 4 (¶0235–0236: replace the copy, keep every other frame, re-encode at
the original frame rate), under the ground rule that a long job can be interrupted and resumed (``nlvfi.resume`` keeps the
measurements and the generated frames). Every frame of a repair is re-encoded, not only the
repaired ones, and for a long video the encoder is the slow part: at 1080p on 2 cores x264 at
preset medium encodes 7.1 frames/s and x265 3.7 (results/deep_codec_presets_1080p.md), so a
ten-minute 30 frames/s clip spends 40-80 minutes in it. Before this module an interrupt lost all
of that, and the same command encoded the whole video again.

How (one file of packets, ``encoded.bin``, and its seal, ``encoded.json``, in the resume folder):

1. While a run writes, every packet the video encoder gives is also appended to ``encoded.bin``
   (:class:`PacketLog`): a 29-byte header (pts, dts and duration in the writer's time base, a
   key-frame flag, the size) and the packet's bytes, in the order the encoder gave them (decode
   order).
2. On an interrupt nothing waits for the encoder: its lookahead holds 40-60 frames, and flushing
   x265 at 4K would keep Ctrl-C waiting for a minute. The part kept is the longest start of the
   log, in decode order, whose packets are exactly the first n frames of the video in
   presentation order (:func:`decodable_prefix`). A packet refers only to frames decoded before
   it, so those n frames decode on their own. The seal (written to a temporary name and renamed)
   records n, how many packets and bytes that is, the encoder's extradata (H.264's SPS/PPS, ...)
   and what those n frames depend on: the encoder (codec, pixel format, options, time base,
   container) and how each of them was made (``frames``: the repaired runs among them, their
   times and outside frames).
3. A run of the same command (``nlvfi.resume``'s key: same input, model and inference settings)
   whose encoder and first n frames are described the same way reads the log back
   (:func:`load_kept_encoding`) and muxes those packets in place of encoding its first n frames,
   then encodes from frame n on. A new encoder starts with a key frame (an IDR), so the stream
   goes on from there as a new coded sequence; its extradata must equal the kept one byte for
   byte, and its first packet's dts must come after the last kept one, or
   :class:`KeptEncodingMismatch` is raised and the caller encodes everything again.
   Checked (ad hoc, 200 frames at 25 frames/s and at variable rate, interrupted after 150 frames
   were written): x264 in .mp4, .mkv, .mov and .nut, x265 in .mp4 and .mkv, FFV1, VP9 in .webm,
   mpeg4 in .avi and MJPEG in .mkv all decoded to 200 frames at every input time, with the same
   extradata and increasing dts across the seam; x264 had given packets for 109 of the 150 frames
   written, x265 for 121, the intra-only coders for all 150.

The frames before the seam keep the first run's encoding: they are the same frames, coded by the
same encoder with the same settings, and a rate-controlled coder (x264 and x265 at a crf) codes a
frame from its neighbours, so the file is not bit-identical to an uninterrupted run's, only as
good (the tests compare it with the source). A lossless file decodes bit for bit the same.

Disk use: about the size of the output video, while the run lasts (the folder is deleted when it
succeeds). Logging stops, and the run goes on, while the disk has less free than the store's
reserve (``nlvfi.resume.RESERVE_BYTES``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

LOG_NAME = "encoded.bin"
SEAL_NAME = "encoded.json"
FORMAT = 1
_HEADER = struct.Struct("<qqqBI")  # pts, dts, duration (writer time base; _NONE for none), flags, size
_NONE = -(1 << 63)
_KEY_FRAME = 1
_SPACE_CHECK_BYTES = 64 << 20  # the free space is looked at again after this many bytes logged
RECENT_DIGESTS = 2048  # the SHA-1 state after each of this many last packets is held, for the seal


class KeptEncodingMismatch(Exception):
    """The kept packets cannot go before this run's encoding (module doc, step 3): encode all again."""


def decodable_prefix(packet_pts: list[int], frame_pts: list[int]) -> int:
    """How many packets, from the first, hold exactly the first frames in presentation order.

    ``packet_pts``: each logged packet's pts, in decode order; ``frame_pts``: the pts of the
    frames given to the encoder, increasing. The answer n is the largest with the first n
    packets' pts equal, as a set, to ``frame_pts[:n]`` (0 if none): the pts are distinct and each
    is one of the frames', so that holds exactly when the largest of the first n is ``frame_pts[n - 1]``.
    """
    best, largest = 0, None
    for count, pts in enumerate(packet_pts[: len(frame_pts)], start=1):
        largest = pts if largest is None else max(largest, pts)
        if largest == frame_pts[count - 1]:
            best = count
    return best


@dataclass
class KeptEncoding:
    """A sealed log read back (:func:`load_kept_encoding`): its first ``frames`` frames' packets.

    ``packets`` packets (as many as ``frames``) in ``path``'s first ``bytes`` bytes, coded in the
    writer's ``time_base``; ``extradata``: the encoder's; ``packet_pts``: each packet's pts, in
    decode order; ``last_dts``: the dts of the last one (None when the coder gives none);
    ``digest``: the SHA-1 of those bytes, as a hashlib object a log going on after them continues.
    """

    path: Path
    frames: int
    packets: int
    bytes: int
    extradata: bytes
    time_base: Fraction
    packet_pts: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # where each packet starts in the file, then the end
    last_dts: int | None = None
    digest: object = None

    def read(self) -> Iterator[tuple[int | None, int | None, int | None, bool, bytes]]:
        """(pts, dts, duration, key frame, bytes) of each kept packet, in decode order."""
        with open(self.path, "rb") as f:
            for _ in range(self.packets):
                pts, dts, duration, flags, size = _HEADER.unpack(f.read(_HEADER.size))
                yield _or_none(pts), _or_none(dts), _or_none(duration), bool(flags & _KEY_FRAME), f.read(size)


def _or_none(value: int) -> int | None:
    return None if value == _NONE else value


def _seal_of(folder: Path) -> dict | None:
    try:
        seal = json.loads((folder / SEAL_NAME).read_text())
    except (OSError, ValueError):
        return None
    return seal if isinstance(seal, dict) and seal.get("nlvfi_encoded") == FORMAT else None


def sealed_frames(folder: Path) -> int:
    """How many encoded frames the seal in ``folder`` holds (0: none)."""
    seal = _seal_of(Path(folder))
    return int(seal.get("frames", 0)) if seal is not None else 0


def load_kept_encoding(folder: Path, encoder: dict, frames_identity: Callable[[int], dict]) -> tuple[KeptEncoding | None, str]:
    """The kept packets in ``folder`` if they fit this run, and why not otherwise ("" when none are kept).

    ``encoder``: this run's encoder, described as :class:`PacketLog` was given it;
    ``frames_identity(n)``: how this run makes its first n frames (module doc, step 2). The log
    is checked against its seal: the packet count, the bytes, and a SHA-1 of them.
    """
    seal = _seal_of(folder)
    damaged = "the kept encoded frames were not used: their file is damaged"
    if seal is None:
        return None, ""
    try:
        frames, packets, total = int(seal["frames"]), int(seal["packets"]), int(seal["bytes"])
        extradata, time_base = bytes.fromhex(seal["extradata"]), Fraction(seal["time_base"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, damaged
    if frames < 1:
        return None, ""
    if seal.get("encoder") != json.loads(json.dumps(encoder)):
        return None, "the kept encoded frames were not used: another encoder, container or setting"
    if seal.get("frames_identity") != json.loads(json.dumps(frames_identity(frames))):
        return None, "the kept encoded frames were not used: this run repairs or times those frames differently"
    path = folder / LOG_NAME
    digest, packet_pts, offsets, last_dts = hashlib.sha1(), [], [0], None
    try:
        with open(path, "rb") as f:
            for _ in range(packets):
                header = f.read(_HEADER.size)
                pts, dts, _, _, size = _HEADER.unpack(header)
                data = f.read(size)
                if len(data) != size:
                    raise ValueError("short")
                digest.update(header)
                digest.update(data)
                packet_pts.append(pts)
                offsets.append(offsets[-1] + len(header) + size)
                last_dts = _or_none(dts)
            if f.tell() != total:
                raise ValueError("size")
    except (OSError, ValueError, struct.error):
        return None, damaged
    if digest.hexdigest() != seal.get("sha1") or packets != frames:
        return None, damaged
    return KeptEncoding(path, frames, packets, total, extradata, time_base, packet_pts, offsets, last_dts, digest), ""


class PacketLog:
    """The log of a run's encoded video packets (module doc, steps 1-2).

    Args:
        folder: the resume folder (created by the caller); the log is ``folder/encoded.bin``.
        encoder: what the packets depend on, JSON-serialisable (module doc, step 2).
        reserve_bytes: logging stops while the disk has less free than this.
        kept: the kept packets this run starts from: the log goes on after them (what the
            interrupted run logged after them is cut off); None: a new log.
    Attributes:
        full: logging stopped because the disk was nearly full.
        sealed_frames: the frames the seal in the folder holds (0: none).
    """

    def __init__(self, folder: Path, encoder: dict, reserve_bytes: int, kept: KeptEncoding | None = None):
        self.folder = Path(folder)
        self.encoder = json.loads(json.dumps(encoder))
        self.reserve_bytes = reserve_bytes
        self.full = False
        self.sealed_frames = kept.frames if kept is not None else 0
        self._packet_pts: list[int] = list(kept.packet_pts) if kept is not None else []  # decode order
        self._offsets: list[int] = list(kept.offsets) if kept is not None else [0]  # where packet i starts; then the end
        self._frame_pts: list[int] = []  # presentation order
        self._unchecked = 0  # bytes logged since the free space was last looked at
        self._digest = kept.digest.copy() if kept is not None else hashlib.sha1()  # of everything logged
        self._recent: deque = deque([(len(self._packet_pts), self._digest.copy())], maxlen=RECENT_DIGESTS)  # (packets, SHA-1 then)
        if kept is None:
            (self.folder / SEAL_NAME).unlink(missing_ok=True)  # an older seal describes another log
            self._file = open(self.folder / LOG_NAME, "wb")
        else:
            self._file = open(self.folder / LOG_NAME, "r+b")
            self._file.truncate(kept.bytes)
            self._file.seek(kept.bytes)

    def frame_written(self, pts: int) -> None:
        """A frame went to the encoder, or was taken from the kept packets, at ``pts``."""
        self._frame_pts.append(int(pts))

    def add(self, pts: int | None, dts: int | None, duration: int | None, key: bool, data: bytes) -> None:
        """Append one packet the encoder gave (decode order); nothing once the disk is nearly full."""
        if self.full or self._file is None:
            return
        if len(self._offsets) == 1 or self._unchecked >= _SPACE_CHECK_BYTES:
            if shutil.disk_usage(self.folder).free < self.reserve_bytes + _SPACE_CHECK_BYTES:
                self.full = True
                return
            self._unchecked = 0
        header = _HEADER.pack(*(_NONE if v is None else int(v) for v in (pts, dts, duration)), _KEY_FRAME if key else 0, len(data))
        self._file.write(header)
        self._file.write(data)
        self._digest.update(header)
        self._digest.update(data)
        self._packet_pts.append(_NONE if pts is None else int(pts))
        self._offsets.append(self._offsets[-1] + len(header) + len(data))
        self._unchecked += len(header) + len(data)
        self._recent.append((len(self._packet_pts), self._digest.copy()))

    def seal(self, extradata: bytes | None, time_base: Fraction, frames_identity: Callable[[int], dict]) -> int:
        """Record the decodable start of the log (module doc, step 2); return its frame count.

        An earlier seal that holds more frames stays (a resumed run stopped again before it had
        gone past them). ``frames_identity(n)``: how the first n frames were made.
        """
        if self._file is None:
            return self.sealed_frames
        self._file.flush()
        os.fsync(self._file.fileno())
        frames = decodable_prefix(self._packet_pts, self._frame_pts)
        if frames <= self.sealed_frames:
            return self.sealed_frames
        size = self._offsets[frames]
        digest = next((state for count, state in self._recent if count == frames), None)  # the sealed part only
        if digest is None:  # cut further back than RECENT_DIGESTS packets: read that part again
            digest = hashlib.sha1()
            with open(self.folder / LOG_NAME, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk[: max(0, size - f.tell() + len(chunk))])
                    if f.tell() >= size:
                        break
        seal = {
            "nlvfi_encoded": FORMAT, "frames": frames, "packets": frames, "bytes": size, "sha1": digest.hexdigest(),
            "extradata": bytes(extradata or b"").hex(), "time_base": str(time_base), "encoder": self.encoder,
            "frames_identity": frames_identity(frames),
        }  # fmt: skip
        fd, tmp = tempfile.mkstemp(prefix=f".{SEAL_NAME}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(seal))
            os.replace(tmp, self.folder / SEAL_NAME)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.sealed_frames = frames
        return frames

    def close(self) -> None:
        """Close the log; cut it to the sealed packets, or delete it when none are sealed."""
        if self._file is None:
            return
        if self.sealed_frames:
            self._file.truncate(self._offsets[self.sealed_frames])  # what comes after is never read
        self._file.close()
        self._file = None
        if not self.sealed_frames:
            (self.folder / LOG_NAME).unlink(missing_ok=True)


def close_log(log: PacketLog | None, writer, error: BaseException | None, frames_identity: Callable[[int], dict]) -> None:
    """Close ``log`` at the end of a run's writing; on an interrupt (``error`` a KeyboardInterrupt:
    Ctrl-C, SIGTERM) seal it first with ``writer``'s extradata and time base (module doc, step 2)."""
    if log is None:
        return
    try:
        if isinstance(error, KeyboardInterrupt):
            log.seal(writer.extradata, writer.time_base, frames_identity)
    except Exception:  # noqa: BLE001 - keeping is a help; the interrupt is what the user must see
        pass
    finally:
        log.close()
