"""Streaming video input and output with PyAV: what a real repair tool must add to the method.

Method: METHOD.md §4, last paragraph ("frame sizes ..., audio and timestamps") and step 4
(¶0235–0236: keep every other frame, re-encode at the original frame rate).
Notebook: notebooks/10_video_repair.ipynb

Reading (:class:`VideoReader`) decodes one frame at a time, so a video longer than memory
works. Every frame keeps its presentation timestamp (``pts``, in the stream's time base), so
variable frame rate survives; a frame without a timestamp, or with one that does not increase,
gets the previous one plus one nominal frame duration (counted in ``timestamps_fixed``).
Audio and subtitle packets are handed out as they are demuxed, for copying through untouched
(remux: no decode, no re-encode). The video read is the first stream not marked as a picture,
a one-picture track before it passed over (:func:`main_video_stream`).

Writing (:class:`VideoWriter`) picks the codec (:func:`choose_encoder`):

* the input is **losslessly coded** (FFV1, PNG, raw video, HuffYUV, UtVideo, ... — see
  ``LOSSLESS_CODECS`` — or H.264 in its lossless mode, :func:`h264_is_lossless`): the output
  is lossless too, in the input's own pixel format, so every frame that is not replaced
  decodes to exactly the same bytes. FFV1 where the container takes it (.mkv, .mp4, .avi,
  .nut), else H.264 in lossless mode (libx264 / libx264rgb, qp 0), else PNG (.mov), else VP9
  in lossless mode (.webm; 4:2:0, 4:4:4 or RGB, no alpha); a pixel format no lossless codec of
  that container can hold is refused;
* otherwise H.264 (libx264) at ``crf`` 16, preset ``medium``: visually lossless for almost all
  content, the input's 4:2:0 / 4:2:2 / 4:4:4 layout kept where x264 has it (4:4:4 when a side
  is odd: 4:2:0 needs even sizes). Input deeper than 8 bits (a phone's 10-bit HDR clip, ProRes)
  goes to HEVC (libx265, ``DEEP_LOSSY_CODEC``) at crf 16 in .mp4 / .mov (tagged ``hvc1``, as
  Apple's players need) / .mkv / .nut, its 10 / 12 bits kept: H.264 at 10 bits plays almost
  nowhere. ``codec`` / ``crf`` override; ``preset`` sets x264's / x265's speed (``X264_PRESETS``:
  on 10-bit frames at 1920x1080, 2 cores, x265 at crf 16 encoded 3.7 frames/s at ``medium`` and
  5.5 at ``fast``, 0.5 dB lower; x264 7.1 and 10.7, 0.1 dB lower; results/deep_codec_presets_1080p.md),
  and is refused for every other encoder.
  In .avi instead (:func:`avi_lossy_encoder`), AVI's own codecs at quantiser 1, 8-bit: MPEG-4
  Part 2 (``mpeg4``) for 4:2:0 and grey input, Motion JPEG in 4:2:2 or 4:4:4 for the rest. AVI keeps
  only the order of the frames: FFmpeg reads H.264 from it one frame late (0.04 s at 25
  frames/s, whatever the profile, B-frames or not), and x264's B-frames with their times
  swapped (frame 8 at 0.36 s, frame 9 at 0.32 s: the repair's verification refused the file).
  Both read back on time. On 60 frames of vtest, mpeg4 gave 42.4 dB mean (42.1 at least)
  against x264 crf 16's 41.7 (40.7), in twice the bytes; on FFmpeg's 4:4:4 test pattern (128x96,
  50 frames), mpeg4 in 4:2:0 gave 23.5 dB, Motion JPEG 4:4:4 47.2 (x264 4:4:4: 43.9), in 18
  times x264's bytes.
  ``--codec libx264`` into .avi is encoded without B-frames, and still read one frame late.
  Into .nut too, x264 goes without B-frames: their decode times start before 0, and the NUT
  muxer, which cannot store that, moved every stream two frames later (0.08 s at 25 frames/s).
  In MPEG-TS (.ts, and .m2ts / .mts in the 192-byte packets of Blu-ray and AVCHD cameras), as in
  .mp4: x264, x265 for deeper input, and lossless input as H.264 in its lossless mode (no FFV1 in
  a TS). Its muxer lists almost no codecs and writes any stream it does not know as private data,
  which reads back as nothing (FLAC, PCM and ALAC audio tried), so what it holds is listed here
  (``TS_VIDEO_ENCODERS``, ``TS_AUDIO_CODECS``, ``TS_SUBTITLE_CODECS``: DVB only) and other audio is
  refused, other subtitles named. It stores no time before 0: x264's first decode time lies two
  frames before the first frame's, so every stream moves alike by that (80 ms at 25 frames/s), as
  the report says.
  In .flv (old web video), x264 without B-frames: FLV stores no decode time before 0, and
  x264's first B-frame delay moved every stream 80 ms; audio it holds is listed
  (``FLV_AUDIO_CODECS``: AAC, MP3, AC-3, Opus, FLAC, each read back in step), as a trial of its
  muxer with PCM aborts the whole process. No lossless codec but H.264's lossless mode. In .wmv
  / .asf (Windows Media), WMV2 at quantiser 1 (Windows plays it without codecs; x264 there read
  back a frame late), lossless input as FFV1, FLAC audio refused (``ASF_UNTIMED_AUDIO``: it came
  back 523 ms off the video).
  In .webm (VP8 / VP9 / AV1 only), VP9 at crf 10 (``DEFAULT_CRF_BY_CODEC``), constant quality;
  input deeper than 8 bits (without alpha, even sizes) goes to AV1 at 10 bits instead
  (``DEEP_WEBM_CODEC``: VP9 here is 8-bit only).
  A ``crf`` the chosen encoder would not use (lossless output, mpeg4, mjpeg) or off its scale
  is refused, not dropped.

Interlaced video (two fields per frame, half a frame apart) is refused before anything is
generated from it, saying how to deinterlace it (:func:`check_progressive`), unless
``--deinterlace`` asks for it to be deinterlaced as it is read (:class:`VideoReader`,
nlvfi.deinterlace).

Audio streams are copied as they are (AAC from MPEG-TS loses the ADTS header of each frame in
.mkv, .mp4 and .mov, whose muxers store the stream's settings once instead: the same coded
audio, :func:`nlvfi.verification.aac_payload`; .wmv keeps the headers under the tag of AAC with
ADTS headers, :func:`add_copied_audio`); a container that cannot hold one (AAC in .webm,
Opus or FLAC in .mov, any audio that starts before 0 in .avi) is refused with a one-line error
before anything is decoded, naming the containers that do hold it (:func:`check_audio_fits`).
Subtitle streams are copied as they are where the container holds them (SubRip, ASS, WebVTT,
DVD / PGS pictures in .mkv; mov_text in .mp4 and .mov; DVB in MPEG-TS; :func:`subtitles_that_fit`);
a text subtitle it does not hold as it is goes to its own text codec (SubRip into .mp4 / .mov
as timed text, timed text into .mkv as ASS, SubRip into .webm as WebVTT: nlvfi.subtitles); the
rest (pictures into .mp4, any into .avi / .nut, text into MPEG-TS) is named, with the muxer's
reason. The repair keeps every frame's time, so a subtitle stays in
step. Matroska attachments (the fonts of ASS subtitles) are copied into .mkv and named where the
container holds none. Cover art (a picture marked as attached to the file) goes into .mp4 as such
and into .mkv as an attachment, byte for byte (nlvfi.pictures); elsewhere it is named. Other
streams (data, a picture stored as an unmarked track, a second video) are not copied; the reports
name them. Closed captions carried inside the video (ATSC A/53: the EIA-608 / CEA-708 bytes of
broadcast TV, its recordings and DVDs, in H.264 / HEVC SEI or MPEG-2 user data; nlvfi.captions)
go back into the video where the encoder writes them (``CAPTION_ENCODERS``: x264, x265, MPEG-2):
each untouched frame keeps its bytes, and a generated frame that replaces one carries that
frame's (:meth:`VideoWriter.frame_from_rgb`), since they belong to its time, not its picture;
elsewhere the reports say they are lost (``closed_captions``); the verification checks every
frame's bytes.

The container follows the output file's extension (``CONTAINERS``). A display matrix on the
input's frames (a phone's portrait clip is stored landscape, turned 90 degrees) goes onto the
output stream (:func:`display_matrix`), in .mp4, .mov, .mkv and .webm alike (AVI, NUT and
MPEG-TS have no place for it: the report says so, ``display``). A picture whose pixels are not
square (a DVD's 720x480 shown 16:9 has 32:27 pixels: :func:`pixel_aspect_of`) gives its pixel
aspect to the encoder: H.264, HEVC, MPEG-2 and MPEG-4 Part 2 keep it in their headers, MP4 and
MOV in the file's, Matroska and WebM in the track's display size, AVI in its OpenDML video
properties and NUT in its stream header, written into the finished file (nlvfi.matroska_display,
nlvfi.avi_display, nlvfi.nut_display: their muxers read a field PyAV 18 does not set); where one
cannot be written, the report says so (``pixel_aspect``). The colour tags
go onto the output stream too (nlvfi.colour: Y'CbCr matrix, primaries, transfer function,
range), and a generated frame is converted to Y'CbCr with the same matrix and range as the input frames around it; an HDR10
clip's mastering display and light levels go to x265, the default for 10-bit input. The file's
tags (title, creation_time, location, comment, ...), its chapters, and each copied stream's tags
(language, track name, timecode) and disposition come along too, as ``ffmpeg -c copy`` keeps
them (nlvfi.tags). The reports say what the written file holds of each, read back.

Pixel formats: grayscale, alpha and 10/12/16-bit frames are converted to RGB for the model (8-bit
-> ``rgb24``, deeper -> ``rgb48le``; 8-bit planar Y'CbCr such as yuv420p by :func:`yuv_to_rgb`,
the exact matrix rounded, because swscale's default path leaves it about a grey level dark) and
generated frames are converted back to the output's format; an alpha plane of a generated frame
is the time-weighted blend of its two neighbours' alpha (the model is RGB).
A lossy output codec without alpha drops it (reported). A generated frame goes to a chroma-
subsampled format (4:2:0, 4:2:2) with 2x2 / 2x1 box averaging of its chroma
(``CHROMA_DOWNSAMPLING``), not swscale's default bilinear filter: the written frame then decodes
closer to what the model made (module constant's comment).
"""

from __future__ import annotations

import errno
import functools
import itertools
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .deinterlace import FLAGGED_FRAMES, Deinterlacer, Interlacing, interlacing_from
from .captions import CAPTION_ENCODERS, X265_CAPTIONS, carry_side_data, closed_captions
from .icc import icc_profile, profile_summary
from .side_data import frame_side_data
from .colour import (
    MATRIX_RGB,
    MATRIX_UNSPECIFIED,
    RANGE_LIMITED,
    RANGE_UNSPECIFIED,
    ColourTags,
    HdrMetadata,
    colour_outcome,
    matrix_group,
    output_colour,
)
from .float_frames import alpha_of as float_alpha
from .float_frames import (
    display_rgb, exr_is_lossless, first_file, float_samples, float_to_float, frame_from_display, is_float_format, tiff_float_layout,
)  # fmt: skip
from .input_rate import declared_rate_of, ntsc_rate, opener_options
from .avi_display import write_display_aspect
from .matroska_display import write_display_size
from .mov_colour import write_hdr_boxes, write_icc_profile
from .nut_display import write_sample_aspect
from .kept_encoding import KeptEncoding, KeptEncodingMismatch, PacketLog
from .pictures import AS_ATTACHMENT, AS_STREAM, Picture, attached_pictures, is_attached_picture, picture_place, stream_label
from .subtitles import SubtitleConverter, conversion_target
from .tags import carried_metadata, carry_tags, metadata_outcome

# --------------------------------------------------------------------------------------------
# What we know about codecs and containers

#: decoders whose output is bit-exact with what was encoded
LOSSLESS_CODECS = frozenset(
    {
        "ffv1", "png", "apng", "rawvideo", "huffyuv", "ffvhuff", "utvideo", "magicyuv", "lagarith",
        "qtrle", "zlib", "zmbv", "tiff", "bmp", "targa", "pam", "ppm", "pgm", "pgmyuv", "pbm",
        "r210", "r10k", "v210", "v308", "v408", "v410", "y41p", "yuv4", "ayuv", "sgi", "qoi",
        # paletted and screen / game capture: GIF (LZW of its palette), RLE, Flash screen video,
        # TechSmith, Fraps, Canopus Lossless; and still formats an image sequence may use
        "gif", "msrle", "flashsv", "flashsv2", "tscc", "fraps", "cllc", "dpx", "pcx", "xwd", "sunrast",
    }
)

#: output extension -> libavformat muxer
CONTAINERS = {
    ".mkv": "matroska",
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".avi": "avi",
    ".nut": "nut",
    ".webm": "webm",
    ".ts": "mpegts",
    ".m2ts": "m2ts",  # MPEG-TS in 192-byte packets, as Blu-ray and AVCHD cameras write it
    ".mts": "m2ts",
    ".flv": "flv",
    ".wmv": "asf",
    ".asf": "asf",
}
#: containers written by another libavformat muxer with options: name -> (muxer, options)
MUXER_FORMATS = {"m2ts": ("mpegts", {"mpegts_m2ts_mode": "1"})}
#: MPEG-TS: its muxer lists almost no codecs, and writes any other stream it is given as private
#: data, which reads back as no audio at all (FLAC, PCM, ALAC tried): the codecs it holds, by
#: name, as FFmpeg reads them back (tried: each copied into a .ts and read back whole)
TS_MUXERS = frozenset({"mpegts", "m2ts"})
TS_VIDEO_ENCODERS = frozenset({"libx264", "libx264rgb", "libx265", "mpeg2video"})
_TS_AUDIO = frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus", "dts"})
TS_AUDIO_CODECS = {"mpegts": _TS_AUDIO, "m2ts": _TS_AUDIO | {"pcm_bluray"}}  # Blu-ray's LPCM: only in 192-byte packets
TS_SUBTITLE_CODECS = frozenset({"dvb_subtitle", "dvb_teletext"})
#: FLV: the audio it holds, by name, each tried (a copy into a repaired .flv read back in step);
#: not judged by a trial of its muxer, which aborts the whole process on PCM (FFmpeg 8)
FLV_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "opus", "flac"})
#: ASF (.wmv): audio its muxer takes but does not keep in step: FLAC came back 523 ms off the video
ASF_UNTIMED_AUDIO = frozenset({"flac"})

DEFAULT_LOSSY_CODEC = "libx264"
DEFAULT_CRF = 16
#: lossy input deeper than 8 bits (a phone's 10-bit HDR clip, ProRes): HEVC, which phones, TVs,
#: Macs and browsers with HEVC play at 10 bits in these containers; H.264 at 10 bits (High 10,
#: x264's choice) plays almost nowhere (no hardware decoder, not QuickTime). x265 at crf 16, preset
#: medium, matched x264 at crf 16 on 60 frames of vtest as 10-bit 4:2:0 (47.5 dB mean PSNR of the
#: 10-bit samples, 45.7 at least, 0.67 MB; x264: 47.2-47.3, 45.0, 0.62-0.63 MB over three runs: the
#: wheel's x264 does not write the same bytes twice, see tests/test_kept_encoding.py) at half its speed
#: (benchmarks/deep_codec.py, results/deep_codec.md)
DEEP_LOSSY_CODEC = "libx265"
#: lossy input with alpha where no lossless encoder of the container keeps it (.mov holds no FFV1):
#: ProRes 4444 (4444 XQ above 10 bits), which keeps alpha; x264 and this x265 keep none
ALPHA_LOSSY_CODEC = "prores_ks"
DEEP_LOSSY_CONTAINERS = frozenset({"mp4", "mov", "matroska", "nut", "mpegts", "m2ts"})
QUIET_X265 = {"x265-params": "log-level=error"}  # x265 prints some 25 lines to stderr otherwise
#: .webm takes only VP8 / VP9 / AV1 video: VP9 there, at crf 10, which matched x264's crf 16 on
#: 60 frames of vtest (41.2 dB mean, 40.0 at least, 1.02 MB; x264: 41.7, 40.7, 1.08 MB)
DEFAULT_LOSSY_CODEC_BY_CONTAINER = {"webm": "libvpx-vp9", "asf": "wmv2"}
#: VP9 here is 8-bit only, so deeper input without alpha goes to AV1 in .webm (SVT-AV1, 10-bit
#: 4:2:0; read back by dav1d): on benchmarks/deep_codec.py's 60 frames
#: of vtest at 10 bits, crf 16 and SVT's preset 6 gave 47.93 dB mean (46.45 at least) in 0.67 MB
#: at 74.8 frames/s on 2 cores, against x265 crf 16's 47.51 (45.67), 0.67 MB, 51.3 frames/s
#: (results/deep_codec.md). VP9 would be 8-bit 4:2:0 for any deep input; alpha and odd sizes stay with it.
DEEP_WEBM_CODEC = "libsvtav1"
#: SVT's own preset number (not --preset's x264 names), and 4:2:0 chroma sited left, as H.264 and
#: HEVC (the usual 10-bit inputs) site it: AV1's default "unknown" makes FFmpeg place the chroma
#: elsewhere when converting to RGB (a test pattern read 35.2 dB against its input, 46.9 with it).
SVT_AV1_QUALITY = {"svtav1-params": "preset=6:chroma-sample-position=left"}
DEFAULT_CRF_BY_CODEC = {"libvpx-vp9": 10, "libsvtav1": 16}
VP9_CONSTANT_QUALITY = {"b": "0", "row-mt": "1", "cpu-used": "4"}  # b 0: crf alone sets the quality
FF_QP2LAMBDA = 118  # libavcodec's lambda per quantiser step (global_quality = q x this)
FINEST_QUANTISER = {"flags": "+qscale", "global_quality": str(1 * FF_QP2LAMBDA), "qmin": "1"}  # mpeg4 / mjpeg at q 1
#: libavcodec's own quantiser-scale encoders: chosen with --codec they are written at quantiser 1
#: (``FINEST_QUANTISER``), as AVI's defaults are; left alone they make 200 kb/s (``--codec mpeg4``
#: into .mkv, 40 frames of vtest at 720x480 from H.264 crf 18: the untouched frames came back at
#: 28.2 dB at least, 0.08 MB; at quantiser 1 at 43.1 dB at least, mean 43.8, 1.1 MB)
QUANTISER_CODECS = frozenset(
    {"mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "msmpeg4", "msmpeg4v2", "wmv1", "wmv2", "h263", "h263p", "flv"}
)
#: encoders that code a constant frame rate from a fixed list, read from their time base (MPEG-1 / -2:
#: 23.976, 24, 25, 29.97, 30, 50, 59.94, 60 frames/s, and for MPEG-2 some fractions of them, such as
#: 10 or 12.5): they count in the input's frame slots, as AVI does, from its first frame
#: (:func:`slot_pts_step`, :func:`slot_origin`); given the
#: input's tick (1/90000 s) they did not open at all
SLOT_ENCODERS = frozenset({"mpeg1video", "mpeg2video"})
#: encoders whose time base has a largest denominator: MPEG-4 Part 2 codes it in 16 bits. Given a
#: finer tick (:func:`counts_in_slots`, :func:`encoder_time_base`), ``--codec mpeg4`` was refused for
#: every input in 1/90000 s (MPEG-TS, most phones' MP4s), and the default .avi codec for x4 of a
#: 29.97 frames/s MP4 (1001/120000 s)
TIME_BASE_DENOMINATOR_MAX = {"mpeg4": 65535}
#: FFmpeg's DNxHD encoder (``--codec dnxhd``, for editing systems) opens in its default DNxHD profile
#: only at 1280x720 / 1920x1080 / 1440x1080 and one of their fixed bit rates, which nothing sets:
#: it refused every video. Its DNxHR profiles take any frame size from 256x120 up (a 384x288 and
#: a 383x287 frame opened, 100x50 did not), at the highest quality of the pixel format chosen
DNXHR_PROFILE_BY_FORMAT = {"yuv422p": "dnxhr_hq", "yuv422p10le": "dnxhr_hqx", "yuv444p10le": "dnxhr_444", "gbrp10le": "dnxhr_444"}
DEFAULT_PRESET = "medium"
#: containers that keep no decode time before the first frame's (NUT, FLV: every stream moved
#: by x264's first B-frame delay, 80 ms at 25 frames/s) or no order apart from it (AVI, ASF):
#: x264 and x265 go without B-frames there (module doc)
NO_B_FRAME_CONTAINERS = frozenset({"avi", "nut", "flv", "asf"})
#: FLV's H.264, by default: 8-bit 4:2:0, what its players decode (Flash's High profile; flv.js through
#: a browser's Media Source); 10-bit or 4:2:2 / 4:4:4 input came out as x264 High 10 / 4:2:2 / 4:4:4
FLV_PLAYABLE = ("yuv420p", "FLV's players, Flash and flv.js in a browser, decode 8-bit 4:2:0 H.264 only; --codec libx264 keeps the input's")
#: x264's and x265's presets, fastest first: each trades encoding time for size at the same crf
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
CRF_RANGES = {"libx264": (0, 51), "libx264rgb": (0, 51), "libx265": (0, 51), "libvpx": (4, 63), "libvpx-vp9": (0, 63), "libsvtav1": (1, 63)}
_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1"}


class VideoError(ValueError):
    """A video that cannot be read or written; the message is one line and says why."""


def open_muxer(target, container: str, options: dict | None = None):
    """``av.open(target, "w")`` with the libavformat muxer of ``container`` (``CONTAINERS``
    values; ``MUXER_FORMATS`` gives the muxer and options of those that are not one by name)."""
    import av

    muxer, own = MUXER_FORMATS.get(container, (container, {}))
    return av.open(target, "w", format=muxer, options={**own, **(options or {})})


def container_codecs(container: str, listed) -> frozenset[str]:
    """The encoders whose video ``container`` holds: those its muxer lists (``listed``), except
    MPEG-TS, whose muxer lists almost none (``TS_VIDEO_ENCODERS``)."""
    return TS_VIDEO_ENCODERS if container in TS_MUXERS else frozenset(listed)


def container_for(path: str | os.PathLike) -> str:
    """The muxer for an output path, from its extension; VideoError for an unknown one."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        known = ", ".join(CONTAINERS)
        from PIL import Image

        images = ""
        if suffix in Image.registered_extensions() or suffix in (".exr", ".dpx"):  # one image where a video was meant
            images = f"; or numbered images, with a pattern such as {Path(path).parent / 'frame_%04d.png'} (.exr or .tif for floating-point input)"
        raise VideoError(f"cannot tell the container of {Path(path).name!r} from its extension; use one of {known}{images}")
    return CONTAINERS[suffix]


@dataclass(frozen=True)
class PixelTraits:
    """What matters about a pixel format: bit depth (largest component), alpha, grey."""

    name: str
    bit_depth: int
    has_alpha: bool
    is_gray: bool

    @property
    def is_float(self) -> bool:
        """Floating-point samples (OpenEXR's half / float: nlvfi.float_frames)."""
        return is_float_format(self.name)

    @property
    def work_format(self) -> str:
        """RGB format the model's frames are read in: ``rgb24`` (8-bit) or ``rgb48le``."""
        return "rgb24" if self.bit_depth <= 8 else "rgb48le"

    @property
    def alpha_format(self) -> str:
        return "rgba" if self.bit_depth <= 8 else "rgba64le"

    @property
    def is_yuv(self) -> bool:
        """Y'CbCr samples (yuv420p, yuvj422p, nv12, yuva444p10le, ...): the format a colour matrix
        and a range apply to."""
        import av

        fmt = av.VideoFormat(self.name)
        return not (fmt.is_rgb or fmt.has_palette or self.is_gray or self.name.startswith("xyz"))


def pixel_traits(pix_fmt: str) -> PixelTraits:
    import av

    fmt = av.VideoFormat(pix_fmt)
    components = fmt.components
    has_alpha = any(c.is_alpha for c in components)
    colour = [c for c in components if not c.is_alpha]
    is_gray = len(colour) == 1 and not fmt.has_palette
    if fmt.has_palette:  # pal8: 8-bit RGBA palette
        return PixelTraits(pix_fmt, 8, True, False)
    return PixelTraits(pix_fmt, max(c.bits for c in components), has_alpha, is_gray)


def first_frame(path: str | os.PathLike):
    """The first decoded frame of ``path``'s video (:func:`main_video_stream`), or None."""
    path = Path(path)
    with open_input(path) as container:
        stream = main_video_stream(container, path)
        decoder = video_decoder(stream)
        try:
            for packet in container.demux(stream):
                for frame in decoder.decode(packet):
                    return frame
        except Exception:  # noqa: BLE001 - callers only look at what a readable frame carries
            return None
    return None


def is_intra(frame) -> bool:
    """Whether the decoder reports a decoded frame (av.VideoFrame) as intra-coded, an I-frame: every
    frame of FFV1, Motion JPEG or ProRes; the first of each group of pictures of MPEG-2 or H.264."""
    return int(frame.pict_type) == 1  # AVPictureType AV_PICTURE_TYPE_I


def pixel_aspect_of_file(path: str | os.PathLike) -> Fraction | None:
    """:func:`pixel_aspect_of` the main video stream of ``path``."""
    path = Path(path)
    with open_input(path) as container:
        return pixel_aspect_of(main_video_stream(container, path))


# --------------------------------------------------------------------------------------------
# Reading


@dataclass
class VideoInfo:
    """What :func:`probe` learns from a file's header (nothing is decoded, but a VP8 / VP9 stream with alpha's first frame, :func:`_decoded_pix_fmt`)."""

    path: Path
    container: str
    codec: str
    pix_fmt: str
    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None
    announced_frames: int
    announced_end: float | None
    audio_codecs: list[str] = field(default_factory=list)
    stream_index: int = 0  # the video stream read, in the file's stream order (:func:`main_video_stream`)
    streams_not_copied: list[str] = field(default_factory=list)  # the others, but audio, subtitles, attachments, covers: "data (bin_data)", ...
    lossless_h264: bool = False  # H.264 in its lossless mode (:func:`h264_is_lossless`)
    lossless_exr: bool = False  # OpenEXR with lossless compression (nlvfi.float_frames.exr_is_lossless)
    colour: "ColourTags" = field(default_factory=lambda: ColourTags())  # as the header gives them
    field_order: int = 0  # AVFieldOrder: 0 unknown, 1 progressive, 2-5 interlaced (:func:`check_progressive`)
    pixel_aspect: Fraction | None = None  # a pixel's width over its height where not square (:func:`pixel_aspect_of`)
    rate_assumed: bool = False  # a raw stream without timing: ``rate`` is FFmpeg's default (:func:`frame_rate_of`)
    rate_given: bool = False  # no timing of its own, read at the rate the user gave (``--input-rate``, nlvfi.input_rate)
    alpha_not_decoded: bool = False  # VP8 / VP9 alpha in WebM / Matroska, left out without a libvpx decoder (:func:`_alpha_not_decoded`)
    lossy_source: bool = False  # lossless frames staged from a lossy coding (:data:`LOSSY_SOURCE_TAG`): written as lossy input is

    @property
    def display_aspect(self) -> Fraction | None:
        """The picture's shape as shown, width over height, where its pixels are not square."""
        return None if self.pixel_aspect is None else self.pixel_aspect * Fraction(self.width, self.height)

    @property
    def lossless(self) -> bool:
        return not self.lossy_source and (self.codec in LOSSLESS_CODECS or self.lossless_h264 or self.lossless_exr)

    @property
    def traits(self) -> PixelTraits:
        return pixel_traits(self.pix_fmt)

    def describe(self, staged_from: str | None = None) -> str:
        """One line on the video; ``staged_from`` names what the input was where the run reads
        its lossless staging (nlvfi.staged_images: "half-float TIFF images", "animated WebP", ...)."""
        how = " (assumed)" if self.rate_assumed else " (given: --input-rate)" if self.rate_given else ""
        rate = f"{float(self.rate):.3f} frames/s{how}" if self.rate else "unknown rate"
        kind = "lossless" if self.lossless else "lossy frames staged losslessly" if self.lossy_source else "lossy"
        audio = f", audio: {', '.join(self.audio_codecs)}" if self.audio_codecs else ", no audio"
        shown = f" shown {ratio_text(self.display_aspect)} (pixels {ratio_text(self.pixel_aspect)})" if self.pixel_aspect else ""
        codec = f"{staged_from} staged as {self.codec}" if staged_from else self.codec
        return f"{self.width}x{self.height}{shown} {codec} ({kind}, {self.pix_fmt}), {rate}, time base {self.time_base}{audio}"


def is_image_pattern(path: str | os.PathLike) -> bool:
    """Whether an input ``path`` names numbered images (``frames/%04d.png``): a file name with one
    number field (:func:`pattern_names`) that is not itself a file. Any other ``%`` is a
    character of a file name ("50% slower.mp4")."""
    path = Path(path)
    return pattern_names(path.name) is not None and not path.is_file()



#: The one number field of an image-sequence pattern (``%d``, ``%04d``).
PATTERN_FIELD = re.compile(r"%(\d*)d")
#: Numbers FFmpeg's image2 reader tries for the first image by itself (its ``start_number_range``).
FIRST_NUMBERS_TRIED = range(5)


def pattern_names(name: str) -> re.Pattern | None:
    """A regex for the file names a pattern such as ``frame_%04d.png`` makes (any number of
    digits, as image2 reads ``%04d`` for 12345 too), its number as group 1; None for a name that
    is not a pattern of one number field."""
    parts = PATTERN_FIELD.split(name)
    if len(parts) != 3 or "%" in parts[0] + parts[2]:
        return None
    return re.compile(re.escape(parts[0]) + r"(\d+)" + re.escape(parts[2]))


def sequence_first_number(path: str | os.PathLike) -> int | None:
    """The number of the first image of an image sequence ``path`` (``frames/%04d.png``): the
    first of 0-4 that exists, as image2 looks, else the smallest number of any file the pattern
    makes (a film's frames often start at 1001); None when there is none."""
    path = Path(path)
    try:
        for number in FIRST_NUMBERS_TRIED:
            if (path.parent / (path.name % number)).is_file():
                return number
    except (TypeError, ValueError):  # not a pattern of one number field
        return None
    return min(sequence_numbers(path), default=None)


def sequence_numbers(path: str | os.PathLike) -> list[int]:
    """The numbers of the files an image-sequence pattern ``path`` makes that exist, in any order
    (only names of the pattern's own width: ``%04d`` takes 0012.png, not 12.png)."""
    path = Path(path)
    names = pattern_names(path.name)
    if names is None or not path.parent.is_dir():
        return []
    numbers = []
    for entry in path.parent.iterdir():
        match = names.fullmatch(entry.name)
        if match and entry.name == path.name % int(match.group(1)) and entry.is_file():
            numbers.append(int(match.group(1)))
    return numbers


def _check_exists(path: Path) -> None:
    if is_image_pattern(path):
        if sequence_first_number(path) is None:
            raise FileNotFoundError(f"no such image sequence: {path} (no file of that pattern)")
    elif path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder, not a video; give a video file, or numbered images as a pattern such as {path / 'frame_%04d.png'}"
        )
    elif not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")


def open_input(path: str | os.PathLike):
    """``av.open`` with one-line errors: FileNotFoundError, or VideoError 'not a readable video'."""
    import av

    path = Path(path)
    _check_exists(path)
    declared = opener_options(path)  # --input-rate: FFmpeg's framerate option (nlvfi.input_rate)
    try:
        if is_image_pattern(path):  # from its first number, which image2 finds itself only up to 4
            options = {"start_number": str(sequence_first_number(path)), **declared}
            container = av.open(str(path), format="image2", options=options)
            told = None if declared or not container.streams.video else _header_rate(container.streams.video[0], images=True)
            if told is not None and told != container.streams.video[0].average_rate:
                container.close()  # the images' headers give their rate (EXR, DPX): time the frames by it, as they are read
                container = av.open(str(path), format="image2", options={**options, "framerate": f"{told.numerator}/{told.denominator}"})
        else:
            container = av.open(str(path))
            if declared and container.format.flags & NO_TIMESTAMPS_FLAG:  # a raw stream: its demuxer takes the rate
                container.close()
                container = av.open(str(path), options=declared)
    except av.EOFError:
        raise VideoError(f"{path} is not a readable video: it ends before any frame (empty or cut short)") from None
    except av.FFmpegError as error:
        raise VideoError(f"{path} is not a readable video: {error}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} is not a readable video: it has no video stream")
    return container


#: the stream tag of a lossless staging whose frames come from a lossy coding (nlvfi.animated_webp:
#: an animated WebP's VP8 frames); its value names that coding. Such input is written as lossy
#: input is (a lossy encoder at high quality for .mp4, ...), not losslessly: a lossless FFV1 in
#: .mp4 would be many times the input's size, and few players read it
LOSSY_SOURCE_TAG = "NLVFI_LOSSY_SOURCE"


def announced_end(container, stream) -> float | None:
    """Latest end time (seconds) the header announces for ``stream``; None when unknown.

    Only what a complete file must reach. An MP4's frame count is its samples, edit list or not
    (one cut with ``-c copy`` counts 20 frames and shows 17 over 1.75 s): there it counts only
    when no duration is given. A container duration is read from 0 or from the start time,
    whichever ends first (Matroska's counts from 0: a clip of 2 s starting at 5 s says 7 s,
    not 12)."""
    start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
    candidates = []
    if stream.duration and stream.time_base:
        candidates.append(start + float(stream.duration * stream.time_base))
    if stream.frames and stream.average_rate and not (candidates and "mp4" in container.format.name.split(",")):
        candidates.append(start + stream.frames / float(stream.average_rate))
    if len(container.streams) == 1 and container.duration:
        candidates.append(container.duration / 1e6 + min(0.0, (container.start_time or 0) / 1e6))
    return max(candidates) if candidates else None


#: packets read, at most, to tell a one-picture video stream from the main one (:func:`main_video_stream`)
STREAM_SNIFF_PACKETS = 256


def main_video_stream(container, path: Path):
    """The video stream to read: the first one not marked as an attached picture (cover art).

    Where several remain, the first that shows a second packet within the file's first
    ``STREAM_SNIFF_PACKETS`` packets (read through a second handle on ``path``, so ``container``
    stays at its start): a cover or still stored as a one-frame video track (Matroska cannot mark
    one as a picture; MP4 keeps an unmarked one first) would otherwise be read as a one-frame
    video and refused. None has two: the first.
    """
    streams = [s for s in container.streams.video if not is_attached_picture(s)] or list(container.streams.video)
    if len(streams) == 1:
        return streams[0]
    with open_input(path) as sniffed:
        counts = {s.index: 0 for s in streams}
        for number, packet in enumerate(sniffed.demux([sniffed.streams[i] for i in counts]), start=1):
            if packet.size:
                counts[packet.stream.index] += 1
            if number >= STREAM_SNIFF_PACKETS or min(counts.values()) >= 2:
                break
    return next((s for s in streams if counts[s.index] >= 2), streams[0])


def _carried_timecode(data, video) -> bool:
    """Whether ``data`` is a MOV / MP4 timecode track whose timecode the video stream's tags hold
    too: those tags are carried (nlvfi.tags.carry_tags), and from them the MOV / MP4 muxer writes the
    track anew (Matroska keeps the tag), so it is not a stream left behind."""
    timecode = data.metadata.get("timecode")
    return data.type == "data" and timecode is not None and video.metadata.get("timecode") == timecode


def _check_float_tiff(path: Path) -> None:
    """VideoError in one line for floating-point TIFF images FFmpeg misreads (half, as 16-bit
    integers: a repaired frame would blend the bits of the halves) or does not read (grey)."""
    layout = tiff_float_layout(first_file(path))
    if layout is None:
        return
    bits, samples = layout
    if bits == 16:
        raise VideoError(
            f"{path} holds half-float TIFF images, which FFmpeg reads as 16-bit integers; read them through "
            "nlvfi.staged_images.staged_input, as nlvfi repair and interpolate do (kept exactly)"
        )
    if samples < 3:
        raise VideoError(
            f"{path} holds grey floating-point TIFF images, which FFmpeg does not read; read them through "
            "nlvfi.staged_images.staged_input, as nlvfi repair and interpolate do (kept exactly)"
        )


def _info(path: Path, container) -> VideoInfo:
    stream = main_video_stream(container, path)
    context = stream.codec_context
    if context.name == "tiff":
        _check_float_tiff(path)
    if context.name == "pfm":  # FFmpeg's decoder keeps the rows in file order, which PFM stores bottom first (nlvfi.pfm)
        raise VideoError(
            f"{path} holds PFM images, which FFmpeg reads upside down; read them through "
            "nlvfi.staged_images.staged_input, as nlvfi repair and interpolate do (kept exactly)"
        )
    if not context.width or not context.height or context.format is None:
        if context.name == "webp":  # FFmpeg 9's ffmpeg decoded one, PyAV's FFmpeg 8.1 did not
            raise VideoError(
                f"{path} is an animated WebP, which the FFmpeg inside PyAV here does not decode; read it through "
                "nlvfi.staged_images.staged_input, as nlvfi repair and interpolate do (libwebp's frames, kept exactly)"
            )
        raise VideoError(f"{path} is not a readable video: its video stream has no picture size or pixel format")
    rate, rate_assumed = frame_rate_of(container, stream)
    declared = declared_rate_of(path)  # --input-rate (nlvfi.input_rate): the demuxer timed the frames by it
    if declared is not None:
        rate, rate_assumed = declared, False
    return VideoInfo(
        path=path,
        container=container.format.name,
        codec=context.name,
        pix_fmt=_decoded_pix_fmt(path, stream),
        width=context.width,
        height=context.height,
        time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 25),
        rate=rate,
        rate_assumed=rate_assumed,
        rate_given=declared is not None,
        alpha_not_decoded=_alpha_not_decoded(stream),
        announced_frames=int(stream.frames or 0),
        announced_end=announced_end(container, stream),
        audio_codecs=[s.codec_context.codec.canonical_name for s in container.streams.audio],  # "mp3", not the decoder's "mp3float"
        streams_not_copied=[
            stream_label(s)
            for s in container.streams
            if s.index != stream.index and s.type not in ("audio", "subtitle", "attachment") and not is_attached_picture(s)
            and not _carried_timecode(s, stream)
        ],  # fmt: skip
        stream_index=stream.index,
        lossless_h264=context.name == "h264" and h264_is_lossless(context.extradata),
        lossless_exr=context.name == "exr" and exr_is_lossless(first_file(path)),
        colour=ColourTags.of(context),
        field_order=int(context.field_order or 0),
        pixel_aspect=pixel_aspect_of(stream),
        lossy_source=bool(stream.metadata.get(LOSSY_SOURCE_TAG)),
    )


#: libavformat's AVFMT_NOTIMESTAMPS: a demuxer of raw elementary streams, whose file has no timing of its own
NO_TIMESTAMPS_FLAG = 0x80


#: The decoders that read a VP8 / VP9 stream's alpha: libvpx's. WebM stores the alpha as a
#: second picture in each block's additions (Matroska's ALPHA_MODE tag says so), and FFmpeg's
#: own vp8 / vp9 decoders leave it out (their frames are yuv420p); libvpx's decode both pictures
#: into one yuva420p frame.
ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


def _carries_vpx_alpha(stream) -> bool:
    """Whether a VP8 / VP9 stream is tagged as carrying alpha that its own decoder leaves out."""
    context = stream.codec_context
    tagged = any(key.lower() == "alpha_mode" and str(value) == "1" for key, value in stream.metadata.items())
    return context.name in ALPHA_DECODERS and tagged and not pixel_traits(context.format.name).has_alpha


def alpha_decoder_name(stream) -> str | None:
    """libvpx's decoder for a VP8 / VP9 stream with alpha (:data:`ALPHA_DECODERS`), where the
    FFmpeg here has it; None for any other stream."""
    import av

    if not _carries_vpx_alpha(stream):
        return None
    name = ALPHA_DECODERS[stream.codec_context.name]
    try:
        av.Codec(name, "r")
    except (ValueError, av.FFmpegError):  # UnknownCodecError: an FFmpeg built without libvpx; the alpha is left out, and said so
        return None
    return name


def video_decoder(stream):
    """The codec context that decodes ``stream``'s packets: its own, or for a VP8 / VP9 stream
    with alpha a libvpx decoder of its own (:func:`alpha_decoder_name`), which takes the same
    packets, each with its alpha picture in its side data."""
    name = alpha_decoder_name(stream)
    if name is None:
        return stream.codec_context
    import av

    decoder = av.CodecContext.create(name, "r")
    decoder.thread_type = "AUTO"
    return decoder


def _decoded_pix_fmt(path: Path, stream) -> str:
    """The pixel format of ``stream``'s decoded frames: its header's, but for a VP8 / VP9 stream
    with alpha read by libvpx (:func:`video_decoder`), whose first frame tells (yuva420p)."""
    if alpha_decoder_name(stream) is not None:
        first = first_frame(path)
        if first is not None:
            return first.format.name
    return stream.codec_context.format.name


def _alpha_not_decoded(stream) -> bool:
    """Whether a VP8 / VP9 stream's alpha (:func:`_carries_vpx_alpha`) is left out: the FFmpeg
    here has no libvpx decoder to read it (:func:`alpha_decoder_name`). The frames then come
    without it (yuv420p), and so does the output (the summaries say so)."""
    return _carries_vpx_alpha(stream) and alpha_decoder_name(stream) is None


#: what the summaries say of :func:`_alpha_not_decoded`
ALPHA_NOT_DECODED_TEXT = (
    "The input's VP9 / VP8 alpha (a second picture inside the WebM, ALPHA_MODE) is not read: the FFmpeg here has no "
    "libvpx decoder, which alone reads it, so the output has no alpha; ffmpeg -c:v libvpx-vp9 -i IN -c:v ffv1 OUT.mkv "
    "makes a copy that keeps it"
)


def _header_rate(stream, images: bool = False) -> Fraction | None:
    """The frame rate a stream's codec header gives (an H.264 / HEVC parameter set's timing, an
    MPEG-2 sequence header, an OpenEXR or DPX image's own field), or None. ``images``: numbered
    images, whose field is a decimal (a DPX's 29.97): an NTSC rate rounded means the exact one
    (nlvfi.input_rate.parse_rate)."""
    told = stream.codec_context.framerate
    if told and told.numerator > 0 and told.denominator > 0:
        rate = Fraction(told.numerator, told.denominator)
        return ntsc_rate(rate) if images else rate
    return None


def frame_rate_of(container, stream) -> tuple[Fraction | None, bool]:
    """(the video's frame rate, whether it is assumed rather than read from the file).

    A container's rate where it has one (the average rate, else the one FFmpeg guesses). A raw
    elementary stream (.h264, .hevc, .m2v, .mjpeg: a demuxer flagged ``NO_TIMESTAMPS_FLAG``, as
    FFmpeg flags an image sequence too) has none: its demuxer gives its own default, 25
    frames/s, as the average rate. The codec's header says the rate where it has one (an
    H.264 / HEVC parameter set's timing, an MPEG-2 sequence header), and FFmpeg's parser times
    the frames by it: a raw H.264 stream at 10 frames/s was written at 25, 2.5 times too fast,
    where ``ffmpeg -i`` plays and converts it at 10. Where the header has none either (Motion
    JPEG; H.264 without timing, as some cameras write it; numbered images whose files hold no rate:
    PNG, TIFF, but not OpenEXR's or DPX's frame-rate fields, by which :func:`open_input` times
    such a sequence's frames; it was read at 25 while its rate said 24), 25 is an assumption,
    and the tools say so (:func:`assumed_rate_text`), unless the user gives the rate
    (``--input-rate``, nlvfi.input_rate: :func:`_info` takes it)."""
    raw = bool(container.format.flags & NO_TIMESTAMPS_FLAG)
    if raw:
        told = _header_rate(stream, images=container.format.name == "image2")
        if told is not None:
            return told, False
    rate = Fraction(stream.average_rate) if stream.average_rate else (Fraction(stream.guessed_rate) if stream.guessed_rate else None)
    return rate, raw


def assumed_rate_text(source: str | os.PathLike, codec: str, rate: Fraction | str | None) -> str:
    """What the summaries say of a frame rate the input ``source`` does not carry
    (:func:`frame_rate_of`): the rate it was read at, and how to give the right one
    (``--input-rate``, nlvfi.input_rate)."""
    source = Path(source)
    read_at = f"{float(Fraction(rate)):g} frames/s" if rate else "FFmpeg's default rate"
    if is_image_pattern(source):  # numbered images: no timing at all
        return f"Frame rate assumed: an image sequence has no timing, so it was read at {read_at}; give its rate with --input-rate, e.g. --input-rate 24"
    return (
        f"Frame rate assumed: the input is a raw {codec} stream with no timing, so it was read at {read_at}; "
        f"if it was recorded at another rate, give that with --input-rate, e.g. --input-rate 30"
    )


def pixel_aspect_of(stream) -> Fraction | None:
    """A video stream's sample (pixel) aspect ratio, a pixel's width over its height, where it is
    not square: a DVD's 720x480 shown 16:9 has 32:27 pixels, HDV's 1440x1080 4:3. The
    container's value first (Matroska and MP4 can say it apart from the codec), else the codec's
    (an H.264 or MPEG-2 header); None where neither says or it is 1:1."""
    for ratio in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if ratio and ratio.numerator > 0 and ratio.denominator > 0:
            ratio = Fraction(ratio.numerator, ratio.denominator)
            return None if ratio == 1 else ratio
    return None


def ratio_text(ratio: Fraction) -> str:
    """``32:27`` for Fraction(32, 27)."""
    return f"{ratio.numerator}:{ratio.denominator}"


#: H.264 profiles whose sequence parameter set carries chroma format, bit depths and the
#: lossless flag (ITU-T H.264 §7.3.2.1.1: profile_idc 100, 110, 122, 244, 44, 83, 86, 118, 128, ...)
_H264_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def h264_is_lossless(extradata: bytes | None) -> bool:
    """True when the first sequence parameter set in an H.264 stream's ``extradata`` (avcC, as in
    .mp4 / .mov / .mkv, or Annex B start codes) sets ``qpprime_y_zero_transform_bypass_flag``:
    macroblocks at QP 0 skip the transform, and x264 sets it exactly when it encodes losslessly
    (``-qp 0``). False when there is no parameter set to read (then the stream counts as lossy,
    as before).

    ITU-T H.264 §7.3.2.1.1: profile_idc u(8), constraint flags u(8), level_idc u(8),
    seq_parameter_set_id ue(v); for the high profiles chroma_format_idc ue(v) (3: then
    separate_colour_plane_flag u(1)), bit_depth_luma_minus8 ue(v), bit_depth_chroma_minus8 ue(v),
    qpprime_y_zero_transform_bypass_flag u(1).
    """
    if not extradata:
        return False
    data = bytes(extradata)
    if data[0] == 1 and len(data) > 8:  # avcC: 5 header bytes, SPS count, then length-prefixed SPS
        if data[5] & 0x1F == 0:
            return False
        length = int.from_bytes(data[6:8], "big")
        nal = data[8 : 8 + length]
    else:  # Annex B: find the first NAL unit of type 7
        nal = b""
        for part in re.split(b"\x00\x00\x01", data):
            if part and part[0] & 0x1F == 7:
                nal = part.rstrip(b"\x00")
                break
    if len(nal) < 4 or nal[0] & 0x1F != 7:
        return False
    payload = re.sub(b"\x00\x00\x03", b"\x00\x00", nal[1:])  # drop emulation prevention bytes
    bits = "".join(f"{byte:08b}" for byte in payload[:32])
    position = 24  # after profile_idc, constraint flags, level_idc

    def unsigned_exp_golomb() -> int:
        nonlocal position
        zeros = 0
        while position + zeros < len(bits) and bits[position + zeros] == "0":
            zeros += 1
        value = int(bits[position + zeros : position + 2 * zeros + 1], 2) - 1
        position += 2 * zeros + 1
        return value

    try:
        unsigned_exp_golomb()  # seq_parameter_set_id
        if payload[0] not in _H264_HIGH_PROFILES:
            return False
        if unsigned_exp_golomb() == 3:  # chroma_format_idc 4:4:4
            position += 1  # separate_colour_plane_flag
        unsigned_exp_golomb()  # bit_depth_luma_minus8
        unsigned_exp_golomb()  # bit_depth_chroma_minus8
        return bits[position] == "1"
    except (ValueError, IndexError):
        return False


def interlacing_of(info: VideoInfo) -> Interlacing | None:
    """How ``info``'s video is interlaced (nlvfi.deinterlace): the header's field order and the
    first decoded frame's flag; None where neither says it is."""
    first = first_frame(info.path)  # None where it does not decode: refused, saying why, where it is read
    return interlacing_from(info.field_order, bool(first is not None and first.interlaced_frame))


def interlaced_frame_error(path: Path, index: int) -> VideoError:
    """The error for frame ``index`` of a video whose header and first frame said progressive,
    found interlaced as it is written without ``--deinterlace``."""
    return VideoError(
        f"{path}: frame {index} is interlaced, though its header and first frame are not; nlvfi makes whole progressive frames, "
        "which would comb between the fields, so give --deinterlace to deinterlace the frames flagged interlaced as they are read"
    )


def check_progressive(info: VideoInfo, deinterlace: bool = False) -> Interlacing | None:
    """Refuse interlaced video (VideoError, one line) before a frame is generated from it, unless
    ``deinterlace``: then return how it is interlaced, for :class:`VideoReader` to deinterlace it
    (None for progressive video).

    Each frame of interlaced video holds two fields taken half a frame apart, woven line by line.
    The generator makes whole progressive frames: from two woven frames it would make a frame
    whose fields do not move as the input's do, and the writer would store it, and the untouched
    frames, as progressive, so a player would not deinterlace them (the field order was lost:
    every moving edge combed). Deinterlacing first (FFmpeg's bwdif, one frame per frame,
    ``--deinterlace``) gives video the tool handles. Duplicate detection (``--detect-only``)
    works on interlaced video.
    """
    interlacing = interlacing_of(info)
    if interlacing is not None and not deinterlace:
        name = info.path.name
        raise VideoError(
            f"{info.path} is interlaced ({interlacing.order}); nlvfi makes whole progressive frames, which would comb between the fields, "
            f"so give --deinterlace to deinterlace it as it is read (FFmpeg's bwdif, one frame per frame), "
            f"or deinterlace it first, e.g. ffmpeg -i {name} -vf bwdif=mode=send_frame -c:a copy progressive.mkv"
        )
    return interlacing


def probe(path: str | os.PathLike) -> VideoInfo:
    """Header facts about the main video stream of ``path`` (:func:`main_video_stream`; see :class:`VideoInfo`)."""
    path = Path(path)
    with open_input(path) as container:
        return _info(path, container)


@dataclass
class DecodedFrame:
    """One decoded frame: its index in the stream, timestamp (pts in ``time_base``), seconds."""

    index: int
    pts: int
    time: float
    frame: object  # av.VideoFrame
    second_field: object = None  # av.VideoFrame: an interlaced frame's second field, half a frame later (nlvfi.deinterlace)


@dataclass
class CopiedPacket:
    """A demuxed audio or subtitle packet, to be copied into the output unchanged."""

    packet: object  # av.Packet
    stream_index: int


def av_error(name: str) -> type:
    """PyAV's exception class ``name`` (``av.error.PatchWelcomeError``, ...)."""
    import av.error

    return getattr(av.error, name)


class VideoReader:
    """Decode the first video stream of ``path`` frame by frame (a context manager).

    Iterating yields :class:`DecodedFrame`; :meth:`items` also yields the audio packets, in file
    order. Errors are one-line VideoErrors: 'not a readable video' before the first frame,
    'corrupt or truncated: decoding failed after N frames' part-way. ``deinterlace``: an
    interlaced video's frames come deinterlaced, one for one, on their own times
    (nlvfi.deinterlace; ``interlacing`` says how its header or first frame say it is interlaced,
    None for progressive video, whose frames flagged interlaced further on are deinterlaced too;
    :attr:`deinterlaced`);
    with ``fields`` too, each with its second field deinterlaced (``DecodedFrame.second_field``).
    """

    def __init__(self, path: str | os.PathLike, deinterlace: bool = False, fields: bool = False):
        self.path = Path(path)
        self.container = open_input(self.path)
        try:
            self.info = _info(self.path, self.container)
        except Exception:
            self.container.close()
            raise
        self.stream = self.container.streams[self.info.stream_index]
        # A losslessly coded file promises exact frames, so its decoder's errors (FFV1's slice
        # CRCs, a PNG's) mean damage, though the decoder conceals it and goes on: they are
        # caught from FFmpeg's log (:meth:`_decode`), which needs each packet decoded before
        # the next (slice threads only). A lossy decoder's errors are left alone: H.264 logs
        # some on sound files cut mid-stream, and its frames are re-encoded anyway.
        self._check_errors = self.info.codec in LOSSLESS_CODECS
        self.stream.thread_type = "SLICE" if self._check_errors else "AUTO"
        self.decoder = video_decoder(self.stream)  # the stream's own, or libvpx's for VP8 / VP9 alpha
        self.count = 0  # frames decoded so far
        self.timestamps_fixed = 0
        self._last_pts: int | None = None
        rate = self.info.rate
        self._step = max(1, round(1 / (rate * self.info.time_base))) if rate else 1
        self.interlacing = interlacing_of(self.info) if deinterlace else None
        self._deinterlacer = None
        if deinterlace:  # where the header and first frame say progressive, any later frame flagged interlaced
            self._deinterlacer = Deinterlacer(self.interlacing or FLAGGED_FRAMES, self.info.time_base, fields)
        # progressive so far: frames go round bwdif until one is flagged interlaced, so a progressive
        # video's never pass its format conversions (a palette PNG's came back in other colours)
        self._progressive_so_far = deinterlace and self.interlacing is None

    @property
    def deinterlaced(self) -> tuple[Interlacing | None, int]:
        """``(how, frames)``: how the frames read so far were deinterlaced, and how many of them
        bwdif deinterlaced; ``(None, 0)`` where none was (progressive video, or no ``deinterlace``)."""
        if self._deinterlacer is None or not self._deinterlacer.deinterlaced:
            return None, 0
        return self._deinterlacer.interlacing, self._deinterlacer.deinterlaced

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def _decoded(self, frame) -> DecodedFrame:
        pts = frame.pts
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = 0 if self._last_pts is None else self._last_pts + self._step
            self.timestamps_fixed += 1
        self._last_pts = pts
        item = DecodedFrame(self.count, int(pts), float(pts * self.info.time_base), frame)
        self.count += 1
        return item

    def _fail(self, error) -> VideoError:
        if is_image_pattern(self.path) and self.count > 0 and getattr(error, "errno", None) == errno.ENOENT:
            first = sequence_first_number(self.path) or 0
            missing = self.path.parent / (self.path.name % (first + self.count))
            return VideoError(
                f"{self.path}: the image sequence has a gap: {missing.name} is missing after {self.count} frames "
                "(number the files without gaps)"
            )
        if self.count == 0:
            return VideoError(f"{self.path} is not a readable video: no frame could be decoded ({error})")
        if isinstance(error, av_error("PatchWelcomeError")):  # a feature FFmpeg's decoder lacks, not damage
            return VideoError(
                f"{self.path}: FFmpeg's {self.info.codec} decoder cannot decode it past frame {self.count}: it uses what that "
                f"decoder does not implement ({error})"
            )
        return VideoError(f"{self.path} is corrupt or truncated: decoding failed after {self.count} frames ({error})")

    def items(self, copied: bool = True) -> Iterator[DecodedFrame | CopiedPacket]:
        """The video's frames, and (``copied``) the audio and subtitle packets, in file order."""
        import av

        streams = [self.stream] + (list(self.container.streams.audio) + list(self.container.streams.subtitles) if copied else [])
        try:
            for packet in self.container.demux(streams):
                if packet.stream.type in ("audio", "subtitle"):
                    if packet.size and (packet.dts if packet.stream.type == "audio" else packet.pts) is not None:
                        yield CopiedPacket(packet, packet.stream.index)
                    continue
                for frame in self._decode(packet):
                    item = self._decoded(frame)
                    self._progressive_so_far = self._progressive_so_far and not frame.interlaced_frame
                    yield from ([item] if self._deinterlacer is None or self._progressive_so_far else self._deinterlacer.push(item))
            if self._deinterlacer is not None:
                yield from self._deinterlacer.flush()
        except av.FFmpegError as error:
            raise self._fail(error) from None

    def _decode(self, packet) -> list:
        """The frames of one video packet; a VideoError if a lossless decoder reports damage (see __init__)."""
        if not self._check_errors:
            return self.decoder.decode(packet)
        import av.logging

        level = av.logging.get_level()
        av.logging.set_level(av.logging.ERROR)
        try:
            with av.logging.Capture(local=False) as logs:
                frames = self.decoder.decode(packet)
        finally:
            av.logging.set_level(level)
        errors = [message.strip() for severity, _, message in logs if severity <= av.logging.ERROR and message.strip()]
        if errors:
            raise VideoError(
                f"{self.path} is corrupt: its {self.info.codec} decoder reports damage after {self.count} "
                f"good frames ({errors[0]})"
            )
        return frames

    def __iter__(self) -> Iterator[DecodedFrame]:
        return (item for item in self.items(copied=False))

    def check_complete(self) -> None:
        """After decoding everything: VideoError when the header announces clearly more, or when
        numbered images go on after a missing number (image2 stops at some gaps without an error:
        it looks for the last image in steps of 1, 2, 4, ... from the first)."""
        if is_image_pattern(self.path) and self.count > 0:
            numbers = sequence_numbers(self.path)  # the first is the smallest (sequence_first_number)
            first = min(numbers, default=0)
            after = [number for number in numbers if number >= first + self.count]
            if after:
                missing = self.path.name % (first + self.count)
                raise VideoError(
                    f"{self.path}: the image sequence has a gap: {missing} is missing after {self.count} frames, "
                    f"and {len(after)} image(s) come after it (number the files without gaps)"
                )
        announced = self.info.announced_end
        if announced is None or self.count == 0 or self._last_pts is None:
            return
        interval = 1 / float(self.info.rate) if self.info.rate else 0.0
        end = float(self._last_pts * self.info.time_base) + interval
        if interval > 0 and announced - end > max(2 * interval, 0.02 * announced):
            raise VideoError(
                f"{self.path} is corrupt or truncated: decoded {self.count} frames covering {end:.2f} s, "
                f"but its header announces {announced:.2f} s"
            )


# --------------------------------------------------------------------------------------------
# Pixels: frames <-> RGB arrays <-> model tensors


def frame_to_rgb(frame, traits: PixelTraits) -> np.ndarray:
    """(H, W, 3) RGB of a decoded frame, as the model sees it: uint8 for 8-bit formats, uint16
    for deeper ones. 8-bit planar Y'CbCr goes through :func:`yuv_to_rgb` (rounded, unbiased),
    the rest through swscale."""
    if traits.is_float:  # scene-linear: through the tone curve, exactly read (nlvfi.float_frames)
        return display_rgb(frame, np.uint16)
    return _rgb8(frame) if traits.work_format == "rgb24" else frame.to_ndarray(format=traits.work_format)


def _rgb8(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB: :func:`yuv_to_rgb` where it applies, else swscale's rgb24."""
    rgb = yuv_to_rgb(frame)
    return rgb if rgb is not None else frame.to_ndarray(format="rgb24")


def frame_to_rgb24(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB through swscale's default conversion: what duplicate detection
    measures, on the 0-255 scale. Its constants (``nlvfi.duplicates``) were chosen on this
    conversion; its rounding offset (see :func:`yuv_to_rgb`) cancels in a difference of two
    frames. The model's frames come from :func:`frame_to_rgb`. Floating-point frames go through
    the model's tone curve (nlvfi.float_frames): swscale clips them at 1.0."""
    if is_float_format(frame.format.name):
        return display_rgb(frame, np.uint8)
    return frame.to_ndarray(format="rgb24")


#: (Kr, Kb) of Y' = Kr R' + (1 - Kr - Kb) G' + Kb B', by the frame's AVColorSpace tag; an
#: unspecified tag (2) is BT.601, as swscale takes it. Other tags go through swscale.
LUMA_WEIGHTS = {
    1: (0.2126, 0.0722),  # BT.709
    2: (0.299, 0.114),  # unspecified
    4: (0.30, 0.11),  # FCC
    5: (0.299, 0.114),  # BT.470BG (BT.601 625)
    6: (0.299, 0.114),  # SMPTE 170M (BT.601 525)
    7: (0.212, 0.087),  # SMPTE 240M
    9: (0.2627, 0.0593),  # BT.2020 non-constant luminance
}
_PLANAR_YUV8 = re.compile(r"yuv(j?)(444|422|420|440|411|410)p")
_JPEG_RANGE = 2  # AVCOL_RANGE_JPEG: full range


def yuv_to_rgb(frame) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of an 8-bit planar Y'CbCr frame (yuv420p, yuvj420p, yuv422p, ...), or
    None for any other pixel format or colorspace tag (the caller uses swscale).

    Why not swscale: its default YUV -> RGB path (``frame.to_ndarray(format="rgb24")``) does not
    round. On yuv420p it returns R, G, B 0.8-1.3 grey levels darker than the exact conversion
    (vtest's held-out lawn, ``still-heldout`` of ``benchmarks/repair_quality.py``, at crf 18), so
    a frame the model made from it came out about 0.85 grey levels darker in luma than the frame
    it replaces (``nlvfi repair`` on the bundled clip, mean over the 10 repaired frames). The
    flags that make it round (``ACCURATE_RND | FULL_CHR_H_INT``) also change how it places the
    chroma of a decoded H.264 frame: 1.2 dB further from the original there. This is the ITU-R
    BT.601 / 709 / 2020 matrix of the frame's colorspace tag and range (``yuvj*`` or a JPEG-range
    tag: full range; else limited, Y' 16-235 and Cb, Cr 16-240), each chroma sample repeated over
    the luma pixels it covers (as swscale's default path does), rounded. Deeper formats keep
    swscale (its 10-bit path interpolates the chroma; it is 0.4 grey levels dark as well).

    Shapes: frame (H, W) 8-bit planar Y'CbCr -> (H, W, 3) uint8
    """
    match = _PLANAR_YUV8.fullmatch(frame.format.name)
    weights = LUMA_WEIGHTS.get(int(frame.colorspace))
    if match is None or weights is None:
        return None
    height, width = frame.height, frame.width

    def plane(index: int) -> np.ndarray:  # (H, W) float32 samples of one plane, chroma repeated
        p = frame.planes[index]
        samples = np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)[:, : p.width].astype(np.float32)
        rows, cols = -(-height // p.height), -(-width // p.width)  # luma pixels per sample, each way
        return np.repeat(np.repeat(samples, rows, axis=0), cols, axis=1)[:height, :width]

    if match.group(1) or int(frame.color_range) == _JPEG_RANGE:  # full range
        y, cb, cr = plane(0) / 255, (plane(1) - 128) / 255, (plane(2) - 128) / 255
    else:
        y, cb, cr = (plane(0) - 16) / 219, (plane(1) - 128) / 224, (plane(2) - 128) / 224
    kr, kb = weights
    red = y + 2 * (1 - kr) * cr
    blue = y + 2 * (1 - kb) * cb
    green = (y - kr * red - kb * blue) / (1 - kr - kb)
    rgb = np.stack([red, green, blue], axis=-1)  # (H, W, 3), [0, 1] but for out-of-gamut values
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def display_matrix(frame) -> list[int] | None:
    """The 3x3 display matrix a decoded frame carries (a phone video's rotation: FFmpeg's
    ``AV_PKT_DATA_DISPLAYMATRIX``, 9 int32), or None. The frames themselves stay as coded; the
    writer gives its stream the matrix of the first frame (:meth:`VideoWriter.write`), so the
    output is shown turned as the input was."""
    import av

    for data in frame_side_data(frame):
        if data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            values = np.frombuffer(bytes(data), dtype=np.int32)
            return [int(v) for v in values[:9]] if values.size >= 9 else None
    return None


def frame_alpha(frame, traits: PixelTraits) -> np.ndarray | None:
    """(H, W) alpha plane (uint8 or uint16) when the format has one, else None."""
    if not traits.has_alpha:
        return None
    if traits.is_float:
        return float_alpha(frame)
    return frame.to_ndarray(format=traits.alpha_format)[..., 3]


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8/uint16 -> (1, 3, H, W) float32 in [0, 1]."""
    scale = 255.0 if rgb.dtype == np.uint8 else 65535.0
    return torch.from_numpy(rgb.astype(np.float32) / scale).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)


def tensor_to_rgb(frame: torch.Tensor, dtype=np.uint8) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8 or uint16 (rounded)."""
    scale = 255.0 if dtype == np.uint8 else 65535.0
    array = (frame.detach().float().clamp(0, 1) * scale).round().permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
    return array.astype(dtype)


#: swscale filter for RGB -> output pixel format (it only matters where chroma is subsampled).
#: Box averaging ("AREA") rather than the default bilinear: an RGB frame decoded from yuv420p,
#: converted back and decoded again (both ways by ``yuv_to_rgb``), keeps 53.4 dB PSNR instead
#: of 47.3 dB (the 10 true frames of data/stutter/, by tests/test_videoio.py; 45.8 vs 44.0 read
#: through swscale). The repaired frames of that clip lost 0.24 dB in the writing with the
#: default (30.95 dB in float, 30.71 written; stage-2 weights, read through swscale), 0.16 with it.
CHROMA_DOWNSAMPLING = "AREA"


def to_pixel_format(frame, pix_fmt: str, colour: ColourTags | None = None):
    """``frame`` (an av.VideoFrame) in ``pix_fmt``, its chroma box-averaged where subsampled.

    ``colour``: the output stream's tags (nlvfi.colour.output_colour). A conversion to Y'CbCr then
    uses its matrix and range (swscale's default would be BT.601, limited), and the new frame is
    tagged with it. A frame already in ``pix_fmt`` is returned as it is, tags and all (its samples
    are what the input holds; the encoders take the stream's tags), unless ``colour`` gives its
    Y'CbCr another matrix or range (:func:`samples_change`: ``--codec mjpeg`` of limited-range
    yuv420p, whose frames went to Motion JPEG's full range unconverted and came back at 29.7 dB)."""
    if frame.format.name != pix_fmt and is_float_format(frame.format.name) and is_float_format(pix_fmt):
        return float_to_float(frame, pix_fmt)  # swscale writes no half, and clips
    if frame.format.name != pix_fmt or samples_change(frame, colour):
        options = {}
        source = pixel_traits(frame.format.name)
        if (
            colour is not None and source.is_yuv and not source.has_alpha and pixel_traits(pix_fmt).is_yuv
            and matrix_group(int(frame.colorspace)) != matrix_group(colour.matrix)
        ):  # another matrix (Motion JPEG's BT.601 out of BT.709): through exact RGB, swscale's Y'CbCr path is 3 levels off
            import av

            rgb = frame_to_rgb(frame, source)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24" if rgb.dtype == np.uint8 else "rgb48le")
        if colour is not None and pixel_traits(pix_fmt).is_yuv:
            if colour.matrix not in (MATRIX_UNSPECIFIED, MATRIX_RGB):
                options["dst_colorspace"] = colour.matrix
            if colour.range != RANGE_UNSPECIFIED:
                options["dst_color_range"] = colour.range
        frame = frame.reformat(format=pix_fmt, interpolation=CHROMA_DOWNSAMPLING, **options)
        if colour is not None:
            colour.apply(frame)
    return frame


def samples_change(frame, colour: ColourTags | None) -> bool:
    """Whether a Y'CbCr ``frame`` written with the output tags ``colour`` needs new samples: another
    matrix (:func:`nlvfi.colour.matrix_group`) or another range (unspecified counts as limited,
    as it is read). False without ``colour`` or for RGB and grey."""
    if colour is None or not pixel_traits(frame.format.name).is_yuv:
        return False

    def read_as(range_: int) -> int:
        return RANGE_LIMITED if range_ == RANGE_UNSPECIFIED else range_

    matrix = colour.matrix not in (MATRIX_UNSPECIFIED, MATRIX_RGB) and matrix_group(int(frame.colorspace)) != matrix_group(colour.matrix)
    return matrix or read_as(int(frame.color_range)) != read_as(colour.range)


def rgb_to_frame(rgb: np.ndarray, pix_fmt: str, alpha: np.ndarray | None = None, colour: ColourTags | None = None):
    """An (H, W, 3) RGB array (and optional (H, W) alpha) as an av.VideoFrame in ``pix_fmt``,
    converted with the matrix and range of ``colour`` (:func:`to_pixel_format`)."""
    import av

    deep = rgb.dtype == np.uint16
    if alpha is not None:
        array = np.concatenate([rgb, alpha[..., None].astype(rgb.dtype)], axis=2)  # (H, W, 4)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgba64le" if deep else "rgba")
    else:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb48le" if deep else "rgb24")
    converted = to_pixel_format(frame, pix_fmt, colour)
    if alpha is not None and converted is not frame:
        put_alpha(converted, alpha)
    return converted


def put_alpha(frame, alpha: np.ndarray) -> None:
    """Write ``alpha`` ((H, W) uint8 or uint16, full range) into ``frame``'s alpha samples, scaled
    to their depth and rounded, where they are a plane of their own (yuva420p, yuva444p10le, ...)
    or every other sample of grey (ya8, ya16be); other layouts are left as converted.

    swscale's conversion from RGBA into those formats moves 127 of the 256 8-bit alpha values
    (128-254) up by one, so a generated frame's alpha was a level off its neighbours' (a sticker
    at 200 everywhere had 201 in its new frames); gbrap and the packed RGBA formats keep it."""
    fmt = frame.format
    component = next((c for c in fmt.components if c.is_alpha), None)
    if component is None:
        return
    sharing = sum(c.plane == component.plane for c in fmt.components)  # 1: a plane of its own; 2: ya
    if sharing > 2 or (sharing == 2 and not fmt.name.startswith("ya")):
        return
    source_max = 65535 if alpha.dtype == np.uint16 else 255
    target_max = (1 << component.bits) - 1
    values = alpha if source_max == target_max else np.rint(alpha.astype(np.float64) * (target_max / source_max))
    wide = component.bits > 8
    dtype = np.dtype(">u2" if fmt.name.endswith("be") else "<u2") if wide else np.dtype(np.uint8)
    plane = frame.planes[component.plane]
    rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // dtype.itemsize)  # writable: the frame's own
    height, width = alpha.shape
    samples = rows[:height, 1 : 2 * width : 2] if sharing == 2 else rows[:height, :width]
    samples[...] = values.astype(dtype)


def frame_content(frame) -> np.ndarray:
    """The decoded pixels of a frame as an array, for exact comparisons of two frames.

    The frame's own layout where PyAV has it (yuv420p, gray, bgra, 10-bit ...), else a
    conversion to 16-bit RGBA (deterministic: equal frames give equal arrays). Floating-point
    samples as their bits (nlvfi.float_frames: NaN equals itself, -0 does not equal 0). A palette
    frame (pal8), which PyAV gives as (indices, palette), as the two one after the other: as a
    tuple, two equal frames compared unequal.
    """
    if is_float_format(frame.format.name):
        return float_samples(frame, raw=True)
    try:
        content = frame.to_ndarray()
    except Exception:  # noqa: BLE001 - PyAV raises ValueError, AssertionError (odd 4:2:0 sizes), ...
        return frame.to_ndarray(format="rgba64le")
    if isinstance(content, tuple):
        return np.concatenate([np.ascontiguousarray(part).reshape(-1) for part in content])
    return content


# --------------------------------------------------------------------------------------------
# Writing


@dataclass
class EncoderChoice:
    """The output codec, its pixel format and options, and why they were chosen."""

    codec: str
    pix_fmt: str
    options: dict
    lossless: bool
    reason: str
    alpha_dropped: bool = False
    narrowed: str | None = None  # why it holds fewer bits or less colour than its encoder could (FLV_PLAYABLE)

    def describe(self) -> str:
        options = " ".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.codec} {self.pix_fmt}{' ' + options if options else ''} ({'lossless' if self.lossless else 'lossy'})"


def refuse_encoder_options(codec: str | None, crf: int | None, preset: str | None, output: str) -> None:
    """ValueError in one line where ``--codec``, ``--crf`` or ``--preset`` was given for an
    ``output`` that takes none ("a GIF: it is written ...")."""
    asked = [name for name, value in (("--codec", codec), ("--crf", crf), ("--preset", preset)) if value is not None]
    if asked:
        raise ValueError(f"{' and '.join(asked)} cannot apply to {output}")


def depth_note(input_pix_fmt: str, output_pix_fmt: str, because: str | None = None) -> str | None:
    """A sentence when the output keeps fewer bits per sample than the input, else None
    (``because``: why, where not that its encoder takes no deeper format)."""
    before, after = pixel_traits(input_pix_fmt).bit_depth, pixel_traits(output_pix_fmt).bit_depth
    why = because or "the output's encoder here takes no deeper format"
    return f"The {before}-bit input was written at {after} bits ({why})" if after < before else None


def encoder_notes(input_pix_fmt: str, output_pix_fmt: str, codec: str = "ffv1", because: str | None = None) -> list[str]:
    """The sentences the summaries print when the output keeps fewer bits (:func:`depth_note`) or
    less colour resolution (:func:`chroma_note`) than the input (``because``: why, where not its
    encoder: :attr:`EncoderChoice.narrowed`), and on floating-point samples (:func:`float_note`;
    ``codec``: the output's encoder)."""
    notes = (
        float_note(input_pix_fmt, output_pix_fmt, codec), depth_note(input_pix_fmt, output_pix_fmt, because),
        chroma_note(input_pix_fmt, output_pix_fmt, because),
    )  # fmt: skip
    return [note for note in notes if note]


def float_note(input_pix_fmt: str, output_pix_fmt: str, codec: str = "ffv1") -> str | None:
    """A sentence when the output holds floating-point samples (FFV1 version 4, experimental in
    FFmpeg 8; raw video, uncompressed), or when a floating-point input was written as integers
    (clipped to [0, 1], nlvfi.float_frames); else None."""
    if is_float_format(output_pix_fmt):
        if codec == "rawvideo":
            return "The floating-point samples and their alpha are stored uncompressed (FFV1 holds no floating point with alpha)"
        return FFV1_FLOAT_CAVEAT
    if is_float_format(input_pix_fmt):
        return (
            "The floating-point (scene-linear) input was written as integers: values above 1.0 were clipped and no "
            "transfer curve applied (the default, FFV1 in .mkv, keeps them)"
        )
    return None


def chroma_note(input_pix_fmt: str, output_pix_fmt: str, because: str | None = None) -> str | None:
    """A sentence when the output keeps less colour resolution than the input (:func:`coarser_chroma`:
    a 4:2:2 ProRes into .webm, whose 10-bit AV1 here takes 4:2:0 only), else None (``because``:
    why, where not that its encoder takes no finer layout)."""
    coarser = coarser_chroma(input_pix_fmt, output_pix_fmt)
    if coarser is None:
        return None
    why = because or "the output's encoder here takes no finer layout"
    return f"The input's {coarser[0]} chroma was written as {coarser[1]} ({why})"


def _formats_taken(codec: str, pix_fmt: str) -> list[str]:
    """The formats ``codec`` takes of ``pix_fmt`` and its exact alternatives: raw video lists none
    and takes any."""
    if codec == "rawvideo":
        return list(_EXACT_ALTERNATIVES.get(pix_fmt, [pix_fmt]))
    return _supported_formats(codec)


def _supported_formats(codec: str) -> list[str]:
    import av

    try:
        formats = av.codec.Codec(codec, "w").video_formats
    except (av.FFmpegError, ValueError):  # UnknownCodecError, whose text is the name alone
        raise VideoError(_unknown_encoder_text(codec)) from None
    return [f.name for f in formats] if formats else []


def video_encoders() -> list[str]:
    """The names of the video encoders this FFmpeg has (what ``--codec`` takes), sorted."""
    import av

    names = []
    for name in av.codecs_available:
        try:
            if av.codec.Codec(name, "w").type == "video":
                names.append(name)
        except (av.FFmpegError, ValueError):  # a decoder only
            continue
    return sorted(names)


def _unknown_encoder_text(codec: str) -> str:
    """One line for a ``--codec`` this FFmpeg has no encoder of, naming the nearest that it has
    (a typing slip such as libx246)."""
    import difflib

    near = difflib.get_close_matches(codec, video_encoders(), n=3)
    return f"unknown video encoder {codec!r}" + (f"; did you mean {', '.join(near[:-1]) + ' or ' if len(near) > 1 else ''}{near[-1]}?" if near else " (this FFmpeg has none by that name)")


#: packed, semi-planar, 1-bit and big-endian layouts FFV1 does not take, and one it does that
#: holds the same samples: swscale converts each there and back bit for bit (tests/test_videoio.py).
#: An uncompressed capture (UYVY / YUY2 4:2:2 in .avi or .mov) had been refused as lossless input
#: no lossless encoder takes.
_REPACKED = {
    "uyvy422": "yuv422p", "yuyv422": "yuv422p", "yvyu422": "yuv422p",
    "y210le": "yuv422p10le", "y212le": "yuv422p12le", "xv30le": "yuv444p10le", "xv36le": "yuv444p12le",
    "nv24": "yuv444p", "nv42": "yuv444p", "p010le": "yuv420p10le", "p210le": "yuv422p10le", "p410le": "yuv444p10le", "p416le": "yuv444p16le",
    "vuya": "yuva444p", "vuyx": "yuv444p", "ayuv64le": "yuva444p16le",
    "monow": "gray", "monob": "gray", "rgb8": "bgr0", "bgr8": "bgr0", "rgb4_byte": "bgr0", "bgr4_byte": "bgr0",
    "x2rgb10le": "gbrp10le", "x2bgr10le": "gbrp10le",
    "yuv420p10be": "yuv420p10le", "yuv422p10be": "yuv422p10le", "yuv444p10be": "yuv444p10le",
    "yuv444p16be": "yuv444p16le", "yuva444p16be": "yuva444p16le", "gbrap12be": "gbrap12le", "gbrap16be": "gbrap16le",
}  # fmt: skip


def repacked_layout(pix_fmt: str) -> str | None:
    """The layout a lossless output holds ``pix_fmt``'s samples in, where it is one FFV1 does not
    take (``_REPACKED``); None otherwise."""
    return _REPACKED.get(pix_fmt)


#: formats the input may be converted to without changing any pixel value, in order of preference
_EXACT_ALTERNATIVES = {
    "rgb24": ["bgr0", "gbrp", "bgr24", "rgb24"],
    "bgr24": ["bgr0", "gbrp", "rgb24", "bgr24"],
    "rgb0": ["bgr0", "gbrp"],
    "0rgb": ["bgr0", "gbrp"],
    "0bgr": ["bgr0", "gbrp"],
    "bgr0": ["bgr0", "gbrp", "rgb24"],
    "gbrp": ["gbrp", "bgr0", "rgb24"],
    "rgba": ["bgra", "gbrap", "rgba", "argb"],
    "argb": ["bgra", "gbrap", "rgba", "argb"],
    "abgr": ["bgra", "gbrap", "rgba", "argb"],
    "bgra": ["bgra", "gbrap", "rgba", "argb"],
    "gbrap": ["gbrap", "bgra", "rgba"],
    "pal8": ["bgra", "rgba", "pal8"],
    "rgb48le": ["rgb48le", "gbrp16le", "rgb48be"],
    "rgb48be": ["rgb48le", "gbrp16le", "rgb48be"],
    "rgba64le": ["rgba64le", "gbrap16le", "rgba64be"],
    "rgba64be": ["rgba64le", "gbrap16le", "rgba64be"],
    "gray16be": ["gray16le", "gray16be"],
    "gray16le": ["gray16le", "gray16be"],
    "ya8": ["ya8", "bgra", "rgba"],
    "ya16be": ["rgba64le", "gbrap16le"],  # grey in three equal channels: exact (FFV1 holds no ya16)
    "ya16le": ["rgba64le", "gbrap16le"],
    **{name: [layout] for name, layout in _REPACKED.items()},
    # floating point (nlvfi.float_frames): FFV1 holds gbrpf16le, gbrpf32le, grayf16le, yaf16le;
    # a float grey frame is exact as three equal planes
    # (FFV1 of grayf16le and yaf16le does not read back as written, FFmpeg 8: not used)
    "grayf32le": ["grayf32le", "gbrpf32le"],
    "grayf32be": ["grayf32le", "gbrpf32le"],
    "gbrpf32be": ["gbrpf32le"],
    "gbrpf16be": ["gbrpf16le", "gbrpf32le"],
    "grayf16be": ["gbrpf16le", "gbrpf32le"],
    "grayf16le": ["gbrpf16le", "gbrpf32le"],
    "yaf16le": ["gbrapf16le", "gbrapf32le"],
    "yaf16be": ["gbrapf16le", "gbrapf32le"],
    "yaf32le": ["gbrapf32le"],
    "yaf32be": ["gbrapf32le"],
    "gbrapf16be": ["gbrapf16le", "gbrapf32le"],
    "gbrapf32be": ["gbrapf32le"],
    "rgbaf16le": ["gbrapf16le", "gbrapf32le"],
    "rgbaf16be": ["gbrapf16le", "gbrapf32le"],
    "rgbaf32le": ["gbrapf32le"],
    "rgbaf32be": ["gbrapf32le"],
    "rgbf32le": ["gbrpf32le"],
    "rgbf32be": ["gbrpf32le"],
    "rgbf16le": ["gbrpf16le", "gbrpf32le"],
    "rgbf16be": ["gbrpf16le", "gbrpf32le"],
    "yuvj420p": ["yuvj420p", "yuv420p"],
    "yuvj422p": ["yuvj422p", "yuv422p"],
    "yuvj444p": ["yuvj444p", "yuv444p"],
}

#: lossless encoders in order of preference, with the options that make them lossless
_LOSSLESS_ENCODERS = (
    ("ffv1", {"level": "3", "slicecrc": "1"}),
    ("libx264", {"qp": "0", "preset": "medium"}),
    ("libx264rgb", {"qp": "0", "preset": "medium"}),
    ("png", {}),
    ("libvpx-vp9", {"lossless": "1", "row-mt": "1", "cpu-used": "4"}),  # .webm takes none of the above
)
#: FFV1 holds floating-point samples (gbrpf16le, gbrpf32le, grayf16le, yaf16le) from its version 4,
#: which FFmpeg 8 writes only when told to write experimental bitstreams (nlvfi.float_frames)
FFV1_FLOAT_OPTIONS = {"level": "4", "strict": "experimental"}
FFV1_FLOAT_CAVEAT = (
    "The floating-point samples are kept by FFV1 version 4, which FFmpeg 8 writes as experimental: FFmpeg before 8 "
    "cannot read the output, and a later one may not; keep the input"
)
#: FFV1 at level 3 splits a frame into slices and refuses to open on a 1-px-wide frame; below
#: this side (px) it gets one slice, which opens on every size (checked 1x1 to 16x16, 1x64, 64x1)
FFV1_SLICED_MIN_SIDE = 16
#: libx265 aborts the whole process (glibc "corrupted size vs. prev_size", or a segfault) on some
#: frames smaller than its 64-px coding tree unit both ways: 4:2:0 at crf 18, widths 16-128 and
#: heights 16-66 tried, it crashed on widths 34-48 with heights 16-34 (17 of 399 sizes), never
#: where either side was 64 or more; nothing can clean up after an abort, so frames smaller than
#: 64x64 are refused
X265_MIN_SIDE = 64


def _lossless_choice(info: VideoInfo, container: str, supported_codecs, odd: bool) -> EncoderChoice | None:
    """The first of ``_LOSSLESS_ENCODERS`` that the container holds and that takes the input's
    format or an exact alternative (``_EXACT_ALTERNATIVES``), with why; None if none does. Raw
    video, last, only for floating point in .nut (FFV1 holds no float with alpha)."""
    traits = info.traits
    encoders = _LOSSLESS_ENCODERS + ((("rawvideo", {}),) if traits.is_float and container == "nut" else ())
    for name, options in encoders:
        if name not in supported_codecs or (name == "libvpx-vp9" and container != "webm"):  # VP9 in .mov: few players
            continue
        supported = _formats_taken(name, info.pix_fmt)
        if odd and name.startswith("libx264"):  # x264 needs even sizes for 4:2:0 / 4:2:2
            supported = [f for f in supported if not ("420" in f or "422" in f or f.startswith("nv"))]
        if name == "libvpx-vp9":  # it lists alpha formats, but does not open on them in lossless mode
            supported = [f for f in supported if not pixel_traits(f).has_alpha]
        for pix_fmt in _EXACT_ALTERNATIVES.get(info.pix_fmt, [info.pix_fmt]):
            if pix_fmt not in supported or (traits.has_alpha and not pixel_traits(pix_fmt).has_alpha):
                continue
            options = dict(options)
            if name.startswith("libx264") and container in NO_B_FRAME_CONTAINERS:  # FLV: no FFV1 (module doc)
                options["bf"] = "0"
            if name == "ffv1" and min(info.width, info.height) < FFV1_SLICED_MIN_SIDE:
                options["slices"] = "1"
            if name == "ffv1" and is_float_format(pix_fmt):
                options.update(FFV1_FLOAT_OPTIONS)
            if info.lossless:
                why = f"the input is losslessly coded ({info.codec}): lossless {name} keeps every untouched frame bit-identical"
            elif traits.is_float:
                why = (
                    f"the input holds floating-point samples ({info.codec}, {info.pix_fmt}, lossy compression), which no "
                    f"lossy encoder here keeps (above 1.0 they would clip): lossless {name} keeps every untouched frame as decoded"
                )
            else:
                why = (
                    f"the input is lossy ({info.codec}) but carries alpha, which no lossy encoder of the {container} container "
                    f"here keeps: lossless {name} keeps it, and every untouched frame as decoded (--codec re-encodes lossily, "
                    "without alpha; .webm keeps it in VP9)"
                )
            if options.get("level") == FFV1_FLOAT_OPTIONS["level"]:
                why += f" ({FFV1_FLOAT_CAVEAT[0].lower()}{FFV1_FLOAT_CAVEAT[1:]})"
            if name == "rawvideo":
                why += " (uncompressed: FFV1 holds no floating point with alpha)"
            return EncoderChoice(name, pix_fmt, options, True, why)
    return None


def _lossy_pix_fmt(codec: str, traits: PixelTraits, width: int, height: int, supported: list[str]) -> str:
    odd = width % 2 or height % 2
    if traits.name in supported and not (odd and ("420" in traits.name or "422" in traits.name or traits.name.startswith("nv"))):
        return traits.name
    deep = traits.bit_depth > 8
    if odd:  # 4:2:0 and 4:2:2 need even sizes
        wishes = (["yuv444p10le", "gbrp10le"] if deep else []) + ["yuv444p", "gbrp", "bgr0", "rgb24"]
    else:
        wishes = (["yuv420p10le", "yuv444p10le"] if deep else []) + ["yuv420p", "yuv444p", "bgr0", "rgb24", "gbrp"]
    if traits.has_alpha:
        wishes = (["yuva444p", "gbrap", "bgra", "rgba"] if odd else ["yuva420p", "yuva444p", "bgra", "rgba"]) + wishes
        # ProRes 4444 (ALPHA_LOSSY_CODEC) takes alpha at 10 bits only: deep input first, 8-bit after the 8-bit forms
        wishes = ["yuva444p12le", "yuva444p10le"] + wishes if deep else wishes[:4] + ["yuva444p10le"] + wishes[4:]
    if traits.is_gray:
        wishes = (["gray10le"] if deep else []) + ["gray"] + wishes
    for wish in wishes:
        if wish in supported:
            return wish
    if supported:
        return supported[0]
    raise VideoError(f"encoder {codec} has no known pixel format")


def avi_lossy_encoder(traits: PixelTraits) -> tuple[str, str]:
    """(codec, pixel format) of a lossy re-encode into AVI (module doc), 8-bit and without alpha
    either way: MPEG-4 Part 2 in 4:2:0 for 4:2:0 and grey input, what almost all lossy video is;
    Motion JPEG in 4:2:2 or 4:4:4 otherwise, so that a 4:2:2 camera file or a 4:4:4 / RGB one
    keeps its colour resolution."""
    name = traits.name
    if "420" in name or name in {"nv12", "nv21"} or traits.is_gray:
        return "mpeg4", "yuv420p"
    return "mjpeg", "yuvj422p" if "422" in name else "yuvj444p"


def choose_encoder(
    info: VideoInfo,
    container: str,
    supported_codecs: set[str] | frozenset[str],
    codec: str | None = None,
    crf: int | None = None,
    preset: str | None = None,
) -> EncoderChoice:
    """Pick codec, pixel format and options for re-encoding ``info``'s video (module doc).

    A ``crf`` the chosen encoder would not use (a lossless output, a quantiser codec such as
    mpeg4) or outside its scale (``CRF_RANGES``) is a VideoError, not silently dropped; so is a
    ``preset`` that is not one of ``X264_PRESETS``, or given for an encoder other than x264 / x265
    (x264 in its lossless mode takes one: it sets the time spent, not the quality)."""
    if preset is not None and preset not in X264_PRESETS:
        raise VideoError(f"--preset {preset!r} is not one of x264's / x265's presets: {', '.join(X264_PRESETS)}")
    choice = _encoder_for(info, container, supported_codecs, codec, crf)
    for flag, value in (("crf", crf), ("preset", preset)):
        if value is not None and flag not in choice.options:
            why = (
                " (the input is losslessly coded, so the output is too; pass --codec libx264 to re-encode it lossily)"
                if choice.lossless and codec is None
                else ""
            )
            raise VideoError(f"--{flag} {value} does not apply: the output would be written with {choice.codec}, which takes no {flag}{why}")
    if preset is not None:
        choice.options["preset"] = preset
    if crf is None:
        return choice
    low, high = CRF_RANGES.get(choice.codec, (0, 63))
    if not low <= crf <= high:
        raise VideoError(f"--crf {crf} is outside {choice.codec}'s scale, {low} (best) to {high}")
    return choice


def _encoder_for(
    info: VideoInfo,
    container: str,
    supported_codecs: set[str] | frozenset[str],
    codec: str | None,
    crf: int | None,
) -> EncoderChoice:
    """:func:`choose_encoder` before its checks of ``crf``."""
    traits = info.traits
    odd = info.width % 2 or info.height % 2
    floating = codec is None and traits.is_float  # no lossy encoder here keeps a float sample (nlvfi.float_frames)
    # lossy input with alpha: x264 / x265 here drop or refuse it; only .webm (VP9) and .avi keep the old way
    alpha = codec is None and traits.has_alpha and not info.lossless and container not in ("webm", "avi", "asf")
    if codec is None and (info.lossless or floating or alpha):
        found = _lossless_choice(info, container, supported_codecs, odd)
        if found is not None:
            return found
        if floating:
            holders = "OpenEXR images (-o DIR/%04d.exr) or .nut (uncompressed)"
            if not traits.has_alpha and container not in ("matroska", "mp4", "mov"):
                holders = ".mkv (FFV1), " + holders
            raise VideoError(
                f"the input holds floating-point (scene-linear) samples ({info.codec}, {info.pix_fmt}), which no encoder of the "
                f"{container} container keeps{' with their alpha (FFV1 holds float without alpha)' if traits.has_alpha else ''}; "
                f"write {holders}, or pass --codec to re-encode them lossily, clipped to [0, 1] (nlvfi.float_frames)"
            )
        if info.lossless:
            raise VideoError(
                f"the input is losslessly coded ({info.codec}, {info.pix_fmt}) but no lossless encoder of the "
                f"{container} container takes {info.pix_fmt}; write .mkv instead (FFV1), or pass --codec to re-encode lossily"
            )
    if codec is None and container == "avi":
        name, pix_fmt = avi_lossy_encoder(traits)
        dropped = traits.has_alpha
        return EncoderChoice(
            name, pix_fmt, dict(FINEST_QUANTISER), False,
            f"the input is lossy ({info.codec}): re-encoded with {name} at quantiser 1 (AVI reads H.264 back a frame late)",
            alpha_dropped=dropped,
        )
    name = codec or DEFAULT_LOSSY_CODEC_BY_CONTAINER.get(container, DEFAULT_LOSSY_CODEC)
    alpha_prores = alpha and ALPHA_LOSSY_CODEC in supported_codecs  # x264 / x265 here keep no alpha: ProRes 4444 does
    if alpha_prores:
        name = ALPHA_LOSSY_CODEC
    deep_default = (
        codec is None and traits.bit_depth > 8 and container in DEEP_LOSSY_CONTAINERS and not alpha
        and DEEP_LOSSY_CODEC in supported_codecs and min(info.width, info.height) >= X265_MIN_SIDE
    )
    if deep_default:
        name = DEEP_LOSSY_CODEC
    deep_webm = (
        codec is None and traits.bit_depth > 8 and container == "webm" and DEEP_WEBM_CODEC in supported_codecs
        and not traits.has_alpha and not odd
    )  # fmt: skip
    if deep_webm:
        name = DEEP_WEBM_CODEC
    supported = _formats_taken(name, info.pix_fmt)
    if name not in supported_codecs:
        raise VideoError(f"the {container} container cannot hold {name} video; choose another --codec or output extension")
    if name == "libx265" and max(info.width, info.height) < X265_MIN_SIDE:
        raise VideoError(
            f"libx265 crashes on frames smaller than {X265_MIN_SIDE}x{X265_MIN_SIDE} (this video is {info.width}x{info.height}); "
            "choose --codec libx264"
        )
    if codec is not None and name in {"ffv1", "png", "huffyuv", "ffvhuff", "utvideo", "qtrle", "rawvideo"}:
        for pix_fmt in _EXACT_ALTERNATIVES.get(info.pix_fmt, [info.pix_fmt]):
            if pix_fmt in supported:
                floating = name == "ffv1" and is_float_format(pix_fmt)
                return EncoderChoice(
                    name, pix_fmt, dict(FFV1_FLOAT_OPTIONS) if floating else {}, True,
                    f"--codec {name} (lossless)" + (f" ({FFV1_FLOAT_CAVEAT[0].lower()}{FFV1_FLOAT_CAVEAT[1:]})" if floating else ""),
                )  # fmt: skip
    pix_fmt = _lossy_pix_fmt(name, traits, info.width, info.height, supported)
    narrowed = None
    if codec is None and container == "flv" and name == "libx264" and pix_fmt != FLV_PLAYABLE[0] and FLV_PLAYABLE[0] in supported and not odd:
        pix_fmt, narrowed = FLV_PLAYABLE  # (x264 takes 10-bit and 4:2:2 / 4:4:4; --codec libx264 keeps them)
    options = {}
    if name in QUANTISER_CODECS:
        options.update(FINEST_QUANTISER)
    if name in _CRF_CODECS:
        options["crf"] = str(DEFAULT_CRF_BY_CODEC.get(name, DEFAULT_CRF) if crf is None else int(crf))
    if name == "libvpx-vp9":
        options.update(VP9_CONSTANT_QUALITY)
    if name == "libsvtav1":
        options.update(SVT_AV1_QUALITY)
    if alpha_prores:
        options["profile"] = "4444xq" if traits.bit_depth > 10 else "4444"
    if name == "dnxhd" and pix_fmt in DNXHR_PROFILE_BY_FORMAT:
        options["profile"] = DNXHR_PROFILE_BY_FORMAT[pix_fmt]
    if name in {"libx264", "libx264rgb", "libx265"}:
        options["preset"] = DEFAULT_PRESET
    if name == "libx265":
        options.update(QUIET_X265)
        options.update(X265_CAPTIONS)
    if container in NO_B_FRAME_CONTAINERS and name in {"libx264", "libx264rgb"}:
        options["bf"] = "0"  # no B-frames: AVI cannot keep their order, NUT and FLV moved every stream (module doc)
    if container in NO_B_FRAME_CONTAINERS and name == "libx265":
        options["x265-params"] += ":bframes=0"  # as for x264: NUT moved every stream 0.2 s
    reason = (
        f"--codec {name}" + (" at quantiser 1" if name in QUANTISER_CODECS else "")
        + (f" (profile {options['profile']})" if "profile" in options else "") if codec
        else f"the input is lossy ({info.codec}) and {traits.bit_depth}-bit: re-encoded with {name} (HEVC) at high quality, "
        f"which plays where 10-bit H.264 does not"
        if deep_default
        else f"the input is lossy ({info.codec}) and {traits.bit_depth}-bit: re-encoded with {name} (AV1, 10-bit) at high quality, "
        "as .webm's VP9 here is 8-bit only"
        if deep_webm
        else f"the input is lossy ({info.codec}) and carries alpha: re-encoded with {name} (ProRes {options['profile']}), "
        "which keeps it, at its profile's quality"
        if alpha_prores
        else f"the input is lossy ({info.codec}): re-encoded with {name} at {'quantiser 1' if name in QUANTISER_CODECS else 'high quality'}"
    )
    dropped = traits.has_alpha and not pixel_traits(pix_fmt).has_alpha
    return EncoderChoice(name, pix_fmt, options, False, reason, alpha_dropped=dropped, narrowed=narrowed)


def chroma_layout(pix_fmt: str) -> str:
    """"4:4:4" (RGB and 4:4:4 Y'CbCr: colour at every pixel), "4:2:2", "4:2:0" or "4:1:1" of a
    pixel format, from its chroma planes' subsampling; "grey" without colour."""
    import av

    if pix_fmt == "pal8":  # one plane of indices into a palette of colours: colour at every pixel
        return "4:4:4"
    layout = av.VideoFormat(pix_fmt, 64, 64)  # a size its subsampling divides
    if len(layout.components) < 3 or pixel_traits(pix_fmt).is_gray:
        return "grey"
    chroma = layout.components[1]
    across, down = layout.width // max(chroma.width, 1), layout.height // max(chroma.height, 1)
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (4, 1): "4:1:1"}.get((across, down), f"1/{across}x1/{down}")


def coarser_chroma(input_fmt: str, output_fmt: str) -> tuple[str, str] | None:
    """(the input's chroma layout, the output's) when the output keeps less colour resolution
    than the input (4:2:2 ProRes into .webm's 4:2:0 AV1), else None."""
    rank = {"4:4:4": 4, "4:2:2": 2, "4:2:0": 1, "4:1:1": 1}
    before, after = chroma_layout(input_fmt), chroma_layout(output_fmt)
    if before in rank and after in rank and rank[after] < rank[before]:
        return before, after
    return None


class VideoWriter:
    """Write a video stream (and copies of the input's audio streams) to ``path``.

    Args:
        path: the file to write (usually a temporary name: the format is given explicitly).
        container: muxer name (``CONTAINERS`` values).
        info: the input's VideoInfo (size, time base, frame rate, pixel format).
        codec, crf, preset: override the codec choice (see :func:`choose_encoder`).
        audio_from: the input container whose audio streams are copied, and its subtitle
            streams that the output container can hold (:func:`subtitles_that_fit`; None: none).
        time_base, rate: of the output video (default: the input's).
        pts_step: every ``pts`` given to :meth:`write` is a multiple of this; the stream counts
            in steps of it (time base x ``pts_step``). Default: for AVI, which stores one slot per
            tick of its time base, and MPEG-1 / -2 (``SLOT_ENCODERS``), the step of the input's
            own timestamps, for MPEG-1 / -2 counted from the first (:func:`slot_origin`; the
            packets are given back the input's ticks as they are muxed) (:func:`slot_pts_step`:
            an mkv's 1/1000 s made a 25 frames/s AVI hold 40 slots a frame), or a frame's
            duration where the input's rate is rounded to its ticks (29.97 frames/s in
            milliseconds: a ``Fraction``; each ``pts`` then within a quarter of a slot of one);
            1 elsewhere. The tools write the input's timestamps, or (``--factor``) sums of
            multiples of them, so that step divides every one.
    Frames go in with :meth:`write` (any pixel format; converted when needed) in presentation
    order with increasing ``pts``; audio and subtitle packets with :meth:`mux_copied`.

    Resuming (``nlvfi.kept_encoding``): :meth:`keep_packets` logs every encoded video packet;
    :meth:`reuse` takes the first frames' packets from an interrupted run's log instead of
    encoding them (``frames_reused``).

    Audio that starts before 0 (AAC's priming: an MP4 keeps its first 1024-2112 samples before 0
    and skips them by an edit list; Opus's pre-skip alike): Matroska's muxer by default shifts
    every stream later until nothing is negative (an MP4 + AAC with the video at 0 came out with
    the video at +21 ms). A Matroska block's time is a signed offset from its cluster's, so a
    cluster starting at 0 holds audio down to -32.7 s: where the video starts at 0 or later and
    no audio before -10 s (:func:`keeps_times_in_matroska`), the writer turns that shift off and
    every packet keeps the input's time, as ``ffmpeg -c copy`` writes it. (It cannot write
    Matroska's CodecDelay too, which tells a decoder to drop the priming: PyAV 18 does not
    expose the codec parameter it comes from. A player decodes the priming samples before 0.)
    Otherwise the shift stays, and the repair report gives it (``timestamp_offset_s``). MP4 and
    MOV place a stream that starts later than 0 by an edit list in the movie's timescale, which
    the writer sets so that every stream's start is exact (:func:`movie_timescale`). AVI has
    no timestamps to shift, only slots: its muxer moved the video a whole frame (the first frame
    of an MP4 + AAC at 25 frames/s came out at 0.04 s) and the audio by the priming, so audio that
    starts before 0 is refused there (VideoError), before anything is written, and so is video that
    starts after 0 (:func:`check_avi_start`).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        container: str,
        info: VideoInfo,
        codec: str | None = None,
        crf: int | None = None,
        audio_from=None,
        time_base: Fraction | None = None,
        rate: Fraction | None = None,
        pts_step: int | None = None,
        preset: str | None = None,
    ):
        import av

        self.path = Path(path)
        self.muxer = container
        check_avi_start(container, info.path)
        self.choice = choose_encoder(info, container, muxer_codecs(container), codec, crf, preset)
        self.time_base, self.pts_step, origin = output_time_base(container, self.choice.codec, info, time_base, pts_step)
        # the frame slots' origin (slot_origin), in the ticks the tools give pts in: the input's, or its x factor
        self.tick = time_base or info.time_base
        self.pts_origin = int(origin * info.time_base / self.tick)
        self._whole_step = Fraction(self.pts_step).denominator == 1  # else a rate rounded to the ticks (slot_pts_step)
        # packets are given the input's ticks back (_place) where the slots start off them or last no whole number of them
        self.placed = bool(self.pts_origin) or (not self._whole_step and container != "avi")
        stream_time_base = self.tick if self.placed else self.time_base
        self._slot_ticks: dict[int, int] = {}  # slot -> the pts the tools gave it (recent ones: _place)
        options = {}
        if audio_from is not None and audio_from.streams.audio:
            check_audio_fits(container, info.path)
            if container in MATROSKA_MUXERS and keeps_times_in_matroska(*stream_starts(info.path)):
                options["avoid_negative_ts"] = "disabled"  # audio priming stays before 0 (class doc)
        if container in MOV_MUXERS:  # where each stream starts, to the input's own tick (class doc)
            copied = [] if audio_from is None else [*audio_from.streams.audio, *audio_from.streams.subtitles]
            options["movie_timescale"] = str(movie_timescale([stream_time_base, *(s.time_base for s in copied)]))
        try:
            self.output = open_muxer(str(self.path), container, options)
        except av.FFmpegError as error:
            raise VideoError(f"cannot write {container} to {self.path.parent}: {error}") from None
        try:
            rate = rate or info.rate
            self.stream = self.output.add_stream(self.choice.codec, rate=rate) if rate else self.output.add_stream(self.choice.codec)
            self.stream.time_base = stream_time_base
            self.colour = configure_encoder(self.stream.codec_context, info, self.choice, self.time_base, rate)
            self.encoder_time_base = encoder_time_base(self.choice.codec, self.time_base)  # the frames' slots: self.time_base
            if self.choice.codec == "libx265" and container in {"mp4", "mov"}:
                self.stream.codec_context.codec_tag = "hvc1"  # Apple's players take HEVC tagged hvc1 only (FFmpeg's default: hev1)
            self.info = info
            self.audio: dict[int, object] = {}
            for source in (audio_from.streams.audio if audio_from is not None else ()):  # checked above
                self.audio[source.index] = add_copied_audio(self.output, container, source)
                carry_tags(source, self.audio[source.index])
            if audio_from is not None:  # the file's tags (title, date, place ...) and the video stream's (language ...)
                self.output.metadata.update(carried_metadata(audio_from.metadata))
                carry_tags(audio_from.streams[info.stream_index], self.stream)
                chapters = audio_from.chapters()  # the frames keep their times, so the chapters stay true
                if chapters:
                    self.output.set_chapters(chapters)
            self.subtitles: dict[int, object] = {}  # input stream index -> output stream (copied)
            self.subtitle_positions: list[int] = []  # which of the input's subtitle streams (by order) those are
            self.converters: dict[int, object] = {}  # input stream index -> SubtitleConverter (nlvfi.subtitles)
            self.converted_positions: list[int] = []  # which of the input's subtitle streams (by order) those are
            self.conversions: list[str] = []  # "subtitle (subrip) -> mov_text"
            self.streams_left: list[str] = []  # subtitles and attachments not copied, and why: "subtitle (subrip): ..."
            fits = subtitles_that_fit(container, audio_from) if audio_from is not None else {}
            for position, source in enumerate(audio_from.streams.subtitles if audio_from is not None else ()):
                name = source.codec_context.codec.canonical_name if source.codec_context is not None else "unknown codec"
                if fits[source.index] is None:
                    self.subtitles[source.index] = self.output.add_stream_from_template(source)
                    carry_tags(source, self.subtitles[source.index])
                    self.subtitle_positions.append(position)
                    continue
                target = conversion_target(container, source)
                if target is not None:
                    try:
                        converter = SubtitleConverter(source, self.output, target)
                    except (ValueError, av.FFmpegError) as error:
                        self.streams_left.append(f"subtitle ({name}): not converted to {target} ({error})")
                        continue
                    carry_tags(source, converter.stream)
                    self.converters[source.index] = converter
                    self.converted_positions.append(position)
                    self.conversions.append(f"subtitle ({name}) -> {target}")
                    continue
                self.streams_left.append(f"subtitle ({name}): the {container} container cannot hold it ({fits[source.index]})")
            self.attachments: list[str] = []  # names of the input's attachments copied (Matroska: fonts for ASS subtitles)
            for source in (audio_from.streams if audio_from is not None else ()):
                if source.type != "attachment":
                    continue
                if container == "matroska":
                    self.output.add_attachment(source.name, source.mimetype, bytes(source.data))
                    self.attachments.append(source.name)
                else:
                    self.streams_left.append(f"attachment ({source.name}): the {container} container holds no attachments")
            self.pictures: list[Picture] = []  # the input's attached pictures copied (cover art; nlvfi.pictures)
            self.pictures_copied: list[str] = []  # how, for the reports: "video (mjpeg, attached picture) as attachment cover.jpg"
            self._picture_streams: list[tuple[object, Picture]] = []  # (output stream, picture): muxed at close
            for picture in attached_pictures(audio_from) if audio_from is not None else ():
                why = picture_place(container, picture)
                if why is not None:
                    self.streams_left.append(f"{picture.label}: {why}")
                    continue
                if container in AS_STREAM:
                    stream = self.output.add_stream_from_template(audio_from.streams[picture.index])
                    stream.disposition = av.stream.Disposition.attached_pic
                    self._picture_streams.append((stream, picture))
                elif container in AS_ATTACHMENT:
                    self.output.add_attachment(picture.name, picture.mimetype, picture.data)
                self.pictures.append(picture)
                self.pictures_copied.append(picture.label + (f" as attachment {picture.name}" if container in AS_ATTACHMENT else ""))
        except BaseException:
            self.output.close()
            raise
        self.hdr: HdrMetadata | None = None  # the first frame's HDR10 metadata, once it is written
        self.icc: bytes | None = None  # the first frame's ICC profile (nlvfi.icc), once it is written
        self.icc_varies = False  # whether a later frame carries another profile
        self.icc_written = False  # whether it went into the finished file's header (nlvfi.mov_colour)
        self.rotation: float | None = None  # the first frame's display rotation (degrees) where it has a matrix
        copied = {**self.audio, **self.subtitles, **{index: c.stream for index, c in self.converters.items()}}
        self._pairs = [(info.stream_index, self.stream.index)] + [(index, copied[index].index) for index in sorted(copied)]
        self.frames_written = 0
        self.carries_captions = self.choice.codec in CAPTION_ENCODERS  # closed captions (:func:`closed_captions`)
        self._last_pts: int | None = None
        self._log: PacketLog | None = None
        self._kept: KeptEncoding | None = None
        self._kept_packets: Iterator | None = None
        self._next_kept: tuple | None = None  # a kept packet read, not muxed yet
        self._seam_checked = False
        self._extradata_checked = False
        self._closed_extradata: bytes | None = None
        self.frames_reused = 0  # frames whose packets came from the kept ones
        # audio and subtitle packets given before the first frame: held until that frame has set the
        # stream's display matrix, HDR metadata and colour tags, since the first mux writes the header
        self._held: list[CopiedPacket] = []

    @property
    def identity(self) -> dict:
        """What this writer's encoded packets depend on (``nlvfi.kept_encoding``, step 2): the
        container, codec, pixel format, options, time base and pts step."""
        return {
            "muxer": self.muxer, "codec": self.choice.codec, "pix_fmt": self.choice.pix_fmt, "options": dict(self.choice.options),
            "time_base": str(self.time_base), "pts_step": str(self.pts_step), "pts_origin": self.pts_origin,
        }  # fmt: skip

    @property
    def extradata(self) -> bytes:
        """The video encoder's extradata (H.264's SPS/PPS ...; empty for some coders, or before it
        opens), as it was when the file was closed once it is."""
        if self._closed_extradata is not None:
            return self._closed_extradata
        return bytes(self.stream.codec_context.extradata or b"")

    def keep_packets(self, log: PacketLog) -> None:
        """Append every encoded video packet to ``log`` too (and tell it each frame written)."""
        self._log = log

    def reuse(self, kept: KeptEncoding) -> None:
        """Take the first ``kept.frames`` frames' packets from ``kept`` instead of encoding them
        (``nlvfi.kept_encoding``, step 3); :class:`KeptEncodingMismatch` when they cannot go first."""
        if kept.time_base != self.time_base:
            raise KeptEncodingMismatch(f"they are in time base {kept.time_base}, this run's is {self.time_base}")
        self._kept = kept
        self._kept_packets = kept.read()

    def _mux_kept(self, pts: int, last: bool) -> None:
        """Mux the kept packets up to the frame at ``pts`` (their dts at most it), or all that are
        left (``last``). They are in the log already."""
        import av

        while True:
            if self._next_kept is None:
                self._next_kept = next(self._kept_packets, None)
                if self._next_kept is None:
                    return
            packet_pts, dts, duration, key, data = self._next_kept
            if not last and (dts if dts is not None else packet_pts) > pts:
                return
            packet = av.Packet(data)
            packet.pts, packet.dts = packet_pts, dts
            if duration is not None:
                packet.duration = duration
            packet.time_base = self.time_base
            packet.is_keyframe = key
            packet.stream = self.stream
            self._place(packet)
            try:
                self.output.mux(packet)
            except (av.FFmpegError, ValueError) as error:
                raise KeptEncodingMismatch(f"the {self.muxer} muxer refused a kept packet ({error})") from None
            self._next_kept = None
            if not self._extradata_checked:  # the first mux opened the encoder (if nothing had before)
                self._extradata_checked = True
                if self.extradata != self._kept.extradata:
                    raise KeptEncodingMismatch("this run's encoder gives another extradata (coded sequence header)")

    def _mux_video(self, packet) -> None:
        """Mux a packet the encoder gave, after the kept ones (its dts must follow theirs), and log it."""
        if self._kept is not None and not self._seam_checked:
            self._seam_checked = True
            last = self._kept.last_dts
            if last is not None and packet.dts is not None and packet.dts <= last:
                raise KeptEncodingMismatch(f"the encoder's first dts {packet.dts} is not after the kept packets' last, {last}")
        if self._log is not None:
            self._log.add(packet.pts, packet.dts, packet.duration, packet.is_keyframe, bytes(packet))
        packet.time_base = self.time_base  # slots counted in it, whatever the encoder's own (encoder_time_base)
        self._place(packet)
        if self._kept is None:
            self.output.mux(packet)
            return
        import av

        try:
            self.output.mux(packet)
        except (av.FFmpegError, ValueError) as error:  # after kept packets: encode all again (once; a real fault fails then)
            raise KeptEncodingMismatch(f"the {self.muxer} muxer refused the encoder's packets after the kept ones ({error})") from None

    def _place(self, packet) -> None:
        """Give a video packet, coded in frame slots counted from the slots' origin
        (:func:`slot_origin`), the input's own ticks (each slot's time rounded to them, as the
        input's were: :func:`slot_pts_step`); nothing to do where the stream counts in slots."""
        if not self.placed:
            return
        for name in ("pts", "dts"):
            value = getattr(packet, name)
            if value is not None:
                setattr(packet, name, self._slot_ticks.get(value, self.pts_origin + round(value * self.pts_step)))
        if packet.duration:
            packet.duration = round(packet.duration * self.pts_step)
        packet.time_base = self.tick

    def write(self, frame, pts: int) -> None:
        """Encode one frame at timestamp ``pts`` (in the ticks the writer was given: the input's
        time base, or ``time_base``)."""
        import av

        if self.frames_written == 0:  # the stream's display matrix goes in before its first frame
            matrix = display_matrix(frame)
            if matrix is not None:
                self.stream.set_display_matrix(matrix)
                self.rotation = float(frame.rotation)
            self.hdr = HdrMetadata.of(frame)
            self.icc = icc_profile(frame)
            key, params_of = HDR_ENCODER_PARAMS.get(self.choice.codec, (None, None))
            hdr_params = params_of(self.hdr) if self.hdr is not None and params_of is not None else ""
            if hdr_params:
                options = dict(self.stream.options)
                options[key] = f"{options[key]}:{hdr_params}" if options.get(key) else hdr_params  # before the encoder opens
                self.stream.options = options
                self.choice.options[key] = options[key]  # the reports give what the encoder got
            tags = ColourTags.of(frame)
            if frame.format.name == self.info.pix_fmt and tags != self.info.colour and tags != ColourTags():
                # the frames' tags where the header had others (or none): the frames are what is shown
                self.colour = output_colour(tags, self.info.pix_fmt, self.choice.pix_fmt, self.choice.codec)
                self.colour.apply(self.stream.codec_context)
        elif self.icc is not None and not self.icc_varies:  # a new frame carries none; an input frame should carry the first's
            later = icc_profile(frame)
            self.icc_varies = later is not None and later != self.icc
        if self._held:  # (only before the first frame)
            self._mux_held()
        slots = (pts - self.pts_origin) / Fraction(self.pts_step)
        # a step of no whole number of ticks: the tools' times are rounded to the tick, and sums of them (--factor)
        if abs(slots - round(slots)) > (0 if self._whole_step else Fraction(1, 4)):
            counted = f"{self.pts_origin} plus " if self.pts_origin else ""
            raise VideoError(f"pts {pts} is not {counted}a multiple of the writer's pts step {self.pts_step}")
        if self.placed:
            self._slot_ticks[round(slots)] = int(pts)
            if len(self._slot_ticks) > 256:  # the encoder's packets come a few frames behind at most
                del self._slot_ticks[next(iter(self._slot_ticks))]
        pts = round(slots)
        if self._last_pts is not None and pts <= self._last_pts:
            raise VideoError(f"timestamps must increase: pts {pts} after {self._last_pts}")
        if self._kept is not None and self.frames_written < self._kept.frames:  # coded by an interrupted run
            self._mux_kept(pts, last=self.frames_written == self._kept.frames - 1)
            self.frames_reused = self.frames_written + 1
        else:
            converted = to_pixel_format(frame, self.choice.pix_fmt, self.colour)
            if self.carries_captions and converted is not frame and closed_captions(converted) is None and closed_captions(frame) is not None:
                converted = carry_side_data(frame, converted)  # converted through RGB: a new frame, without them
            frame = converted
            frame.pts = int(pts)
            frame.time_base = self.encoder_time_base  # (the slots', where the encoder cannot take them: encoder_time_base)
            frame.pict_type = av.video.frame.PictureType.NONE  # let the encoder choose frame types
            try:
                for packet in self.stream.encode(frame):
                    self._mux_video(packet)
            except av.FFmpegError as error:
                raise VideoError(f"encoding frame {self.frames_written} with {self.choice.codec} failed: {error}") from None
        if self._log is not None:
            self._log.frame_written(pts)
        self._last_pts = int(pts)
        self.frames_written += 1

    def read_back(self) -> dict:
        """After :meth:`close`: what the written file holds of the input's colour tags and HDR
        metadata (``colour``, nlvfi.colour.colour_outcome) and of its tags, dispositions and
        chapters (``metadata``, nlvfi.tags.metadata_outcome), read from the file."""
        return {
            "colour": colour_outcome(self.info.colour, self.colour, self.path, self.muxer, self.choice.codec, self.hdr),
            "icc_profile": profile_summary(self.icc, self.icc_varies),  # the input's; where it is kept is the caller's to say
            "icc_profile_bytes": None if self.icc_varies else self.icc,  # one profile for every image, or none
            "icc_profile_written": self.icc_outcome(),
            "metadata": metadata_outcome(self.info.path, self.path, self._pairs),  # stream indices: the stream objects are gone
            "display": self.display_outcome(),
            "pixel_aspect": self.pixel_aspect_outcome(),
        }

    def icc_outcome(self) -> str | None:
        """After :meth:`close`: where the written file holds the input's ICC profile, read back
        off its first frame as a decoder gives it (MP4 / MOV: :mod:`nlvfi.mov_colour`); None where it
        does not."""
        if not self.icc_written:
            return None
        import av

        with av.open(str(self.path)) as container:
            first = next(container.decode(container.streams.video[0]), None)
        if first is None or icc_profile(first) != self.icc:
            return None
        return f"the {self.muxer.upper()} file's colour box ('colr' of type 'prof', read back)"

    def pixel_aspect_outcome(self) -> dict | None:
        """After :meth:`close`: whether the written file shows the picture in the input's shape
        where its pixels are not square (:func:`pixel_aspect_of`); None where they are square.

        The writer gives the encoder the input's pixel aspect; H.264, HEVC, MPEG-2 and MPEG-4
        Part 2 put it in their own headers, and the MP4 / MOV muxers in the file's (``pasp``),
        so those keep it. Matroska and WebM get it in the track's display size, written into the
        finished file (:mod:`nlvfi.matroska_display`): exact in .mkv; in .webm the display width
        is whole pixels, so the pixel aspect read back is the nearest that width gives
        (``rounded``), as FFmpeg writes it; AVI in its OpenDML video properties
        (:mod:`nlvfi.avi_display`); NUT in its stream header (:mod:`nlvfi.nut_display`), where
        both terms are under 128. Where it is not written, ``lost`` says so for the summaries."""
        wanted = self.info.pixel_aspect
        if wanted is None:
            return None
        written = pixel_aspect_of_file(self.path)
        width, height = self.info.width, self.info.height
        shown_width = (2 * width * wanted.numerator + wanted.denominator) // (2 * wanted.denominator)  # FFmpeg's rounding
        rounded = self.muxer == "webm" and written != wanted and written == Fraction(shown_width, width)
        outcome = {
            "pixel_aspect": ratio_text(wanted),
            "display_aspect": ratio_text(self.info.display_aspect),
            "written": "1:1" if written is None else ratio_text(written),
            "kept": written == wanted or rounded,
        }
        if rounded:
            outcome["rounded"] = f"WebM holds the display size in whole pixels: {width}x{height} is shown {shown_width}x{height}"
        if not outcome["kept"]:
            shown = (written or Fraction(1)) * Fraction(width, height)
            outcome["lost"] = (
                f"the input's pixels are {ratio_text(wanted)}, so its {width}x{height} is shown "
                f"{ratio_text(self.info.display_aspect)}; the {self.muxer} file with {self.choice.codec} says "
                f"{outcome['written']}, so players show it {ratio_text(shown)}; .mkv, .mp4, .mov and .avi keep it with any codec, "
                ".ts with H.264 or HEVC (--codec libx264"
                + (", with --crf 0 for a lossless output)" if self.choice.lossless else ")")
            )
        return outcome

    def display_outcome(self) -> dict | None:
        """After :meth:`close`: whether the written file shows its frames turned as the input's
        first frame says (its display matrix, :func:`display_matrix`); None where that has none.
        ``lost``: a sentence for the summaries where the container has no place for it (AVI, NUT
        and MPEG-TS as FFmpeg writes them; Matroska and WebM, MP4 and MOV keep it)."""
        if self.rotation is None:
            return None
        written = first_frame(self.path)
        kept = written is not None and float(written.rotation) == self.rotation
        outcome = {"rotation_degrees": self.rotation, "kept": kept}
        if not kept:
            outcome["lost"] = (
                f"the input is shown turned {self.rotation:g} degrees (a display matrix, as phones store portrait clips); "
                f"the {self.muxer} file has no place for it, so players show it unturned; .mp4, .mov, .mkv and .webm keep it"
            )
        return outcome

    def captions_outcome(self, input_frames: int) -> dict | None:
        """The reports' ``closed_captions``: None where no input frame carries any
        (:func:`closed_captions`; ``input_frames`` counts those that do); else that count, whether
        this writer's encoder writes them (``CAPTION_ENCODERS``) and, where it does not, what is
        lost and how to keep them."""
        if not input_frames:
            return None
        outcome = {"input_frames": input_frames, "kept": self.carries_captions}
        if not self.carries_captions:
            outcome["lost"] = (
                f"the input's closed captions (in {input_frames} frames, inside the video) have no place in {self.choice.codec}; "
                "--codec libx264 keeps them (with --crf 0 for a lossless output)"
            )
        return outcome

    def frame_from_rgb(self, rgb: np.ndarray, alpha: np.ndarray | None = None, replaces=None):
        """A generated (H, W, 3) RGB frame (and its alpha) as a frame for :meth:`write`: in the
        output's pixel format, converted with its colour matrix and range (:func:`rgb_to_frame`).
        ``replaces``: the decoded frame it takes the place of (repair), whose closed captions it
        carries where the encoder writes them (the caption bytes belong to the frame's time, not its
        picture: without them every replaced frame cut a character pair out of the captions).
        A floating-point input's frame is made in its own format first (nlvfi.float_frames), and
        goes to the output's as its untouched frames do."""
        if self.info.traits.is_float:
            frame = to_pixel_format(frame_from_display(rgb, self.info.pix_fmt, alpha), self.choice.pix_fmt, self.colour)
        else:
            frame = rgb_to_frame(rgb, self.choice.pix_fmt, alpha, self.colour)
        if replaces is not None and self.carries_captions and closed_captions(replaces) is not None:
            frame = carry_side_data(replaces, frame)
        return frame

    def mux_copied(self, item: CopiedPacket) -> None:
        """Copy an audio or subtitle packet into its stream, or convert a subtitle packet
        (``converters``: a text subtitle the container takes in another codec, nlvfi.subtitles);
        a subtitle stream that does not fit the container either way (``streams_left``) is skipped.
        Before the first frame is written, the packet is held until it is: the first mux writes the
        file's header, and the first frame still has to put its display matrix (a phone clip's
        rotation), HDR metadata and colour tags on the video stream (a clip with audio ahead of its
        first decoded frame, as a decoder's delay makes it, came out unturned)."""
        if self.frames_written == 0:
            self._held.append(item)
            return
        self._mux_copied_now(item)

    def _mux_held(self) -> None:
        """Mux the packets :meth:`mux_copied` held before the first frame, in their order."""
        held, self._held = self._held, []
        for item in held:
            self._mux_copied_now(item)

    def _mux_copied_now(self, item: CopiedPacket) -> None:
        converter = self.converters.get(item.stream_index)
        if converter is not None:
            for packet in converter.convert(item.packet):
                self.output.mux(packet)
            return
        stream = self.audio.get(item.stream_index) or self.subtitles.get(item.stream_index)
        if stream is not None:
            item.packet.stream = stream
            self.output.mux(item.packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        import av

        try:
            self._mux_held()  # (no frame was written)
            for packet in self.stream.encode():
                self._mux_video(packet)
            for converter in self.converters.values():  # timed text holds its last pieces until the end
                for packet in converter.flush():
                    self.output.mux(packet)
            for stream, picture in self._picture_streams:  # a picture's one packet: its image file's bytes
                packet = av.Packet(picture.data)
                packet.stream, packet.pts, packet.dts = stream, 0, 0
                self.output.mux(packet)
        except av.FFmpegError as error:
            raise VideoError(f"finishing the {self.choice.codec} stream failed: {error}") from None
        finally:
            self._closed_extradata = self.extradata
            self.output.close()
        if self.info.pixel_aspect is not None:  # where the muxer reads it from a field PyAV does not set
            write_display_shape(self.path, self.muxer, self.info.width, self.info.height, self.info.pixel_aspect)
        if self.muxer in MOV_MUXERS and self.icc is not None and not self.icc_varies:  # the muxer would need side data PyAV cannot attach
            self.icc_written = write_icc_profile(self.path, self.icc, self.info.width, self.info.height)
        if self.muxer in MOV_MUXERS and self.hdr is not None and self.choice.codec not in HDR_ENCODER_PARAMS:  # where the codec has no place for it
            write_hdr_boxes(self.path, self.hdr, self.info.width, self.info.height)

    def abort(self) -> None:
        if self._closed_extradata is None:
            try:
                self._closed_extradata = self.extradata
            except Exception:  # noqa: BLE001 - only a resumed run would need it
                self._closed_extradata = b""
        try:
            self.output.close()
        except Exception:  # noqa: BLE001 - the file is deleted anyway
            pass


#: the encoders that write HDR10 metadata into their bitstream: the option that takes it, and its value
HDR_ENCODER_PARAMS = {"libx265": ("x265-params", HdrMetadata.x265_params), "libsvtav1": ("svtav1-params", HdrMetadata.svtav1_params)}
MATROSKA_MUXERS = frozenset({"matroska", "webm"})
MOV_MUXERS = frozenset({"mp4", "mov"})


def write_display_shape(path: Path, muxer: str, width: int, height: int, pixel_aspect: Fraction) -> bool:
    """Write a finished file's display shape where its muxer takes it from the stream's sample
    aspect ratio, which PyAV 18 does not set: Matroska / WebM (:mod:`nlvfi.matroska_display`),
    AVI (:mod:`nlvfi.avi_display`), NUT (:mod:`nlvfi.nut_display`). False where not written (a
    header not laid out for it; a NUT aspect with a term of 128 or more)."""
    if muxer in MATROSKA_MUXERS:
        return write_display_size(path, width, height, pixel_aspect)
    if muxer == "avi":
        return write_display_aspect(path, width, height, pixel_aspect)
    if muxer == "nut":
        return write_sample_aspect(path, width, height, pixel_aspect)
    return False


#: the largest movie timescale :func:`movie_timescale` picks (a 32-bit field, as the muxer writes it)
MAX_MOVIE_TIMESCALE = 2**31 - 1


def movie_timescale(ticks) -> int:
    """The MP4 / MOV movie timescale that places every stream's start exactly: the least common
    multiple of the denominators of ``ticks`` (the streams' time bases, Fractions), or their
    largest where that multiple passes ``MAX_MOVIE_TIMESCALE``.

    An MP4 stores where a track starts as an edit list in the movie's timescale, 1/1000 s
    unless the muxer is told otherwise. Audio from MPEG-TS starts at a 90 kHz tick (1.576778 s
    in one recording) and was written 0.77 ms early, 34 samples; in 1/90000 it is exact."""
    denominators = [Fraction(tick).denominator for tick in ticks if tick]
    if not denominators:
        return 1000
    multiple = math.lcm(*denominators)
    return multiple if multiple <= MAX_MOVIE_TIMESCALE else max(denominators)
MATROSKA_EARLIEST_AUDIO_S = -10.0  # a block's offset from its cluster is 16-bit milliseconds (-32.768 s); with room


def stream_starts(path: str | os.PathLike, video_packets: int = 64, max_packets: int = 4096) -> tuple[float | None, float | None]:
    """(the earliest time of the first ``video_packets`` video packets, the earliest first time
    of any audio stream), in seconds, from the file's first packets (no decoding; None where none
    was found in ``max_packets``). Several video packets, not one: in decode order a frame shown
    before the first (an open GOP's leading B-frame) comes after it."""
    with open_input(Path(path)) as container:
        video = main_video_stream(container, Path(path))
        audio = list(container.streams.audio)
        video_times: list[float] = []
        audio_firsts: dict[int, float] = {}
        for count, packet in enumerate(container.demux([video, *audio])):
            if packet.pts is not None:
                time_s = float(packet.pts * packet.stream.time_base)
                if packet.stream.index == video.index:
                    video_times.append(time_s)
                else:
                    audio_firsts.setdefault(packet.stream.index, time_s)
            if (len(video_times) >= video_packets and len(audio_firsts) == len(audio)) or count >= max_packets:
                break
        return (min(video_times) if video_times else None), (min(audio_firsts.values()) if audio_firsts else None)


def check_avi_start(container: str, path: str | os.PathLike) -> None:
    """VideoError when the output is AVI and the input's video starts later than 0 s (an MPEG-TS
    recording, an MP4 whose edit list starts it late); nothing is decoded, so the tools call it
    before their first pass. AVI has slots, not times: its muxer wrote the first frame at 0 and
    the second where it belonged (an MPEG-TS from 0.04 s at 25 frames/s: frames at 0 and 0.08 s),
    and the verification refused the file after the work."""
    if container != "avi":
        return
    video_start = stream_starts(path)[0]
    if video_start is not None and video_start > 1e-6:
        raise VideoError(
            f"the avi container cannot hold video that starts after 0 s (this input's first frame is at {video_start:.3f} s); "
            f"it would move the first frame; {_holders_advice(path, container)}"
        )


def muxer_codecs(container: str) -> frozenset[str]:
    """The codec names the ``container`` muxer lists (as ``OutputContainer.supported_codecs``)."""
    import io

    with open_muxer(io.BytesIO(), container) as trial:
        return container_codecs(container, trial.supported_codecs)


def check_audio_fits(container: str, path: str | os.PathLike) -> None:
    """VideoError when the ``container`` muxer cannot hold the audio streams of the file at
    ``path`` as they are; nothing is decoded, so the tools call it before their first pass.

    Two things are checked: AVI and audio that starts before 0 (an encoder's priming: AAC,
    Opus, AC-3; :class:`VideoWriter`), and whether the muxer writes a header with those streams,
    tried in memory: MOV lists Opus and FLAC among its codecs, but refuses them when it writes
    the header ("opus only supported in MP4"), which would come after the whole first pass.
    The refusal names the containers that do hold it (:func:`audio_refusal` on each): "write
    .mkv instead" was said of Blu-ray's LPCM, which Matroska does not take either."""
    if container == "avi":  # (None without audio)
        audio_start = stream_starts(path)[1]
        if audio_start is not None and audio_start < 0:
            raise VideoError(
                f"the avi container cannot hold audio that starts before 0 s (this input's starts at {audio_start:.3f} s: "
                f"its encoder's priming); it would move the video; {_holders_advice(path, container)}"
            )
    with open_input(Path(path)) as source:
        for stream in source.streams.audio:
            reason = audio_refusal(container, stream)
            if reason is not None:
                name = stream.codec_context.codec.canonical_name  # "mp3", not the decoder's "mp3float"
                raise VideoError(f"the {container} container cannot hold the input's {name} audio ({reason}); {_holders_advice(path, container)}")


def _first_extensions() -> list[tuple[str, str]]:
    """(extension, container) for each container of ``CONTAINERS``, by its first extension."""
    seen: dict[str, str] = {}
    for ext, container in CONTAINERS.items():
        seen.setdefault(container, ext)
    return [(ext, container) for container, ext in seen.items()]


def containers_holding(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(extension, container) of each container the tools write that passes both checks made
    before any decoding, :func:`check_avi_start` and :func:`check_audio_fits`, for the file at
    ``path``: where its video and audio start, and every audio stream copied as it is.

    A refusal advises only these. Each check named the others by its own test alone, so a Windows
    Media file (WMV 8 video from 0.046 s, WMA audio) was sent round in a circle: ".avi cannot hold
    video that starts after 0 s; write .mkv, .mp4 or .mov", and each of those "cannot hold the
    input's wmav2 audio; write .avi or .nut". Only .nut takes it."""
    video_start, audio_start = stream_starts(path)
    avi_moves = (video_start is not None and video_start > 1e-6) or (audio_start is not None and audio_start < 0)
    with open_input(Path(path)) as source:
        audio = list(source.streams.audio)
        return [
            (ext, container) for ext, container in _first_extensions()
            if not (container == "avi" and avi_moves) and all(audio_refusal(container, stream) is None for stream in audio)
        ]  # fmt: skip


HOLDERS_NAMED = 4  # a refusal names at most this many containers, in the order of CONTAINERS


def _holders_advice(path: str | os.PathLike, refused: str) -> str:
    """"write .mkv, .mp4 or .mov instead": the containers other than ``refused`` that hold the
    file at ``path`` (:func:`containers_holding`), or what to do where none does."""
    holders = [ext for ext, container in containers_holding(path) if container != refused][:HOLDERS_NAMED]
    if len(holders) > 1:
        return f"write {', '.join(holders[:-1])} or {holders[-1]} instead"
    if holders:
        return f"write {holders[0]} instead"
    return "no container this tool writes holds it as it is: convert the audio first (FLAC in .mkv keeps it exactly)"


def audio_refusal(container: str, stream) -> str | None:
    """Why the ``container`` muxer cannot hold the audio ``stream`` (of an open input) as it is,
    or None when it writes a header holding a copy of it (tried in memory). MPEG-TS is judged by
    ``TS_AUDIO_CODECS``: its muxer takes any stream, and writes what it does not know as data."""
    import io

    import av

    name = stream.codec_context.codec.canonical_name
    if container in TS_MUXERS:
        holds = TS_AUDIO_CODECS[container]
        return None if name in holds else f"MPEG-TS{' in 192-byte packets' if container == 'm2ts' else ''} holds {', '.join(sorted(holds))}"
    if container == "flv":
        return None if name in FLV_AUDIO_CODECS else f"FLV holds {', '.join(sorted(FLV_AUDIO_CODECS))}"
    if container == "asf" and name in ASF_UNTIMED_AUDIO:
        return f"ASF does not keep {name} in step with the video"
    trial = open_muxer(io.BytesIO(), container)
    try:
        try:
            add_copied_audio(trial, container, stream)
        except (ValueError, av.FFmpegError) as error:
            return str(error)
        return _header_refusal(trial)
    finally:
        _close_trial(trial)


#: WAVE_FORMAT_MPEG_HEAAC: the only tag under which the ASF muxer writes AAC that carries ADTS headers
ASF_ADTS_TAG = "\x10\x16\x00\x00"


def add_copied_audio(output, container: str, source):
    """A stream of ``output`` (a ``container`` muxer) for copies of the audio stream ``source``.
    AAC as ADTS frames (an MPEG-TS's, with no settings stored apart) goes into ASF under the tag
    of AAC with ADTS headers, 0x1610, which the ASF muxer asks for ("ADTS is only supported with
    codec tag 0x1610"; it was refused into .wmv); FFmpeg reads it back as the same AAC."""
    stream = output.add_stream_from_template(source)
    if container == "asf" and source.codec_context.name == "aac" and not source.codec_context.extradata:
        stream.codec_context.codec_tag = ASF_ADTS_TAG
    return stream


def _header_refusal(trial) -> str | None:
    """Start writing the header of ``trial`` (an output in memory); the muxer's reason when it
    refuses (:func:`_refusal`), else None."""
    return _refusal(trial.start_encoding)


def _refusal(attempt, first: bool = False) -> str | None:
    """Call ``attempt`` (no arguments); when FFmpeg refuses, its reason from its log (FFmpeg's error
    alone says "Invalid argument"): the last line it logged, or with ``first`` the first (an
    encoder's reason, before any list of what it takes), else None.

    Only the lines logged after a mark of its own count. PyAV holds back a line logged again and
    again and sends "... (repeated 2 more times)" with the next different line, which can be the
    first of this capture: after three muxer trials of Opus in MOV, an MPEG-2 encoder that did not
    open on the video was refused for "opus only supported in MP4". The mark (at FATAL, which
    PyAV does not count among the errors it appends to an exception) takes that line's place."""
    import av
    import av.logging

    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)  # a muxer or encoder says why in its log, not in the error
    mark = f"nlvfi log mark {next(_LOG_MARKS)}"
    try:
        with av.logging.Capture(local=False) as logs:
            av.logging.log(av.logging.FATAL, "nlvfi", mark)
            try:
                attempt()
                return None
            except av.FFmpegError as error:
                failed = error
    finally:
        av.logging.set_level(level)
    ours = logs[[message for _, _, message in logs].index(mark) + 1 :]
    said = [message.strip() for severity, _, message in ours if severity <= av.logging.ERROR and message.strip()]
    return (said[0] if first else said[-1]) if said else _last_logged(failed)


_LOG_MARKS = itertools.count()  # each mark differs from the last, so it is never held back as a repeat


def _close_trial(trial) -> None:
    try:
        trial.close()
    except Exception:  # noqa: BLE001 - a trial in memory; its trailer does not matter
        pass


def subtitles_that_fit(container: str, source) -> dict[int, str | None]:
    """For each subtitle stream of the open input ``source``: None when the ``container`` muxer
    writes a header holding a copy of it (tried in memory, one stream at a time), else why not.
    Subtitles are copied where they fit and named in the report where they do not (unlike
    audio, which is refused: a video without its sound is broken, one without its subtitles is
    not): Matroska takes SubRip, ASS, WebVTT, DVD and PGS pictures; MP4 and MOV take mov_text."""
    import io

    import av

    fits: dict[int, str | None] = {}
    for stream in source.streams.subtitles:
        name = stream.codec_context.codec.canonical_name  # "subrip", not the decoder's "srt"
        if container in TS_MUXERS and name not in TS_SUBTITLE_CODECS:  # else written as data
            fits[stream.index] = f"MPEG-TS holds only DVB subtitles, not {name}"
            continue
        trial = open_muxer(io.BytesIO(), container)
        try:
            try:
                trial.add_stream_from_template(stream)
                fits[stream.index] = _header_refusal(trial)
            except (ValueError, av.FFmpegError) as error:
                fits[stream.index] = str(error)
        finally:
            _close_trial(trial)
    return fits


def _last_logged(error: Exception) -> str:
    """The log line PyAV appends to an FFmpeg error ("...; last error log: [mov] opus only
    supported in MP4."), without the component; the whole message when there is none."""
    text = str(error)
    if "last error log: " not in text:
        return text
    return text.split("last error log: ")[-1].split("] ", 1)[-1].strip()


def keeps_times_in_matroska(video_start: float | None, audio_start: float | None) -> bool:
    """Whether Matroska can store these streams with every timestamp as it is (the muxer's
    shift turned off; :class:`VideoWriter`): the video from 0 or later, and audio that starts
    before 0 by less than ``MATROSKA_EARLIEST_AUDIO_S`` (none before 0: nothing to keep)."""
    if video_start is None or audio_start is None or video_start < 0:
        return False
    return MATROSKA_EARLIEST_AUDIO_S <= audio_start < 0


def output_time_base(
    container: str, codec: str, info: VideoInfo, time_base: Fraction | None = None, pts_step: int | None = None
) -> tuple[Fraction, int | Fraction, int]:
    """(time base, pts step, origin) of the video a :class:`VideoWriter` writes with ``codec``
    into ``container``: ``time_base`` (default the input's) x the step; the step, unless given,
    is :func:`slot_pts_step` of the input's own timestamps (demuxed, not decoded), counted from
    the origin, :func:`slot_origin` of them in the input's ticks (0 where the step is given)."""
    origin = 0
    if pts_step is None:
        tick = time_base or info.time_base
        pts = demuxed_pts(info.path) if counts_in_slots(container, codec, tick) else []
        origin = slot_origin(container, codec, pts, tick)
        pts_step = slot_pts_step(container, codec, [p - origin for p in pts], info.rate and 1 / (info.rate * info.time_base), tick)
    return (time_base or info.time_base) * pts_step, pts_step, origin


def counts_in_slots(container: str, codec: str, tick: Fraction | None = None) -> bool:
    """Whether a :class:`VideoWriter` counts in the input's frame slots (:func:`slot_pts_step`)
    rather than in its ticks ``tick``: into AVI, which stores one slot per tick of its time base;
    with MPEG-1 / -2 (``SLOT_ENCODERS``), which code a frame rate from their time base; and with an
    encoder whose time base cannot be that fine (``TIME_BASE_DENOMINATOR_MAX``: MPEG-4 Part 2 given
    1/90000 s)."""
    limit = TIME_BASE_DENOMINATOR_MAX.get(codec)
    return container == "avi" or codec in SLOT_ENCODERS or (limit is not None and tick is not None and tick.denominator > limit)


def encoder_time_base(codec: str, time_base: Fraction) -> Fraction:
    """The time base ``codec``'s encoder is opened with for a stream counting in ``time_base``:
    that one, or for an encoder with a largest denominator (``TIME_BASE_DENOMINATOR_MAX``) that
    it is under, the nearest fraction that fits. The encoder is given the frames' slot numbers
    and its packets are muxed in ``time_base``, exactly; only the times written inside its
    bitstream are off. x4 of 29.97 frames/s, 1001/120000 s, is coded as 342/40999 s (2.4e-8
    off); a variable rate in 1/90000 s, slots of one tick, as 1/65535 s. FFmpeg's MPEG-4 encoder
    writes no fixed frame rate (``fixed_vop_rate`` 0) and the containers' times are what decoders show."""
    limit = TIME_BASE_DENOMINATOR_MAX.get(codec)
    if limit is None or time_base.denominator <= limit:
        return time_base
    return max(time_base.limit_denominator(limit), Fraction(1, limit))


def slot_origin(container: str, codec: str, pts: Sequence[int], tick: Fraction | None = None) -> int:
    """Where a writer that counts in frame slots (:func:`counts_in_slots`: MPEG-1 / -2, MPEG-4
    given too fine a ``tick``) starts counting them, in the input's ticks: the first timestamp of
    ``pts``; 0 for AVI (whose video starts at 0: :func:`check_avi_start`) and for anything that
    counts in ticks. MPEG-1 / -2 code their frame rate from
    their time base. Counted from 0, a 25 frames/s MPEG program stream whose first frame is at
    0.54 s (its muxer's 0.5 s preload and a frame's decode delay) has 0.02 s as the largest step
    all its times are multiples of, and was coded as 50 frames/s; a 29.97 frames/s MPEG-TS
    starting at 1.4 s had 1/30000 s, and MPEG-2 refused it. Counted from the first frame, the
    step is one frame."""
    if container == "avi" or not counts_in_slots(container, codec, tick) or not pts:
        return 0
    return int(min(pts))


def configure_encoder(context, info: VideoInfo, choice: EncoderChoice, time_base: Fraction, rate: Fraction | None) -> ColourTags:
    """Set an encoder's ``context`` (an av CodecContext, not opened yet) as :class:`VideoWriter`
    writes ``info``'s video with ``choice``: size, pixel format, time base and rate, pixel aspect
    (:meth:`VideoWriter.pixel_aspect_outcome` reads back what was kept), colour tags and options.
    The output's colour tags (nlvfi.colour.output_colour), applied."""
    if choice.codec == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # errors only: SVT-AV1 prints some 20 lines to stderr otherwise
    context.width, context.height, context.pix_fmt = info.width, info.height, choice.pix_fmt
    context.time_base = encoder_time_base(choice.codec, time_base)  # frames go in as slots of time_base
    if rate:
        context.framerate = rate
    if info.pixel_aspect is not None:
        context.sample_aspect_ratio = info.pixel_aspect
    colour = output_colour(info.colour, info.pix_fmt, choice.pix_fmt, choice.codec)
    colour.apply(context)
    context.options = dict(choice.options)
    return colour


def check_encoder(
    info: VideoInfo,
    container: str,
    codec: str | None = None,
    crf: int | None = None,
    preset: str | None = None,
    time_base: Fraction | None = None,
    rate: Fraction | None = None,
) -> EncoderChoice:
    """The encoder a :class:`VideoWriter` would choose (:func:`choose_encoder`), opened once on
    this video's size, pixel format, pixel aspect, time base and options and closed again; a
    VideoError of one line with FFmpeg's reason when it does not open. The tools call it before
    their first pass: an encoder that cannot take the video (MPEG-2 at a rate it has no code for,
    H.263 at a size it has none for, DNxHD without one of its profiles) failed at the first frame written, after
    the whole measuring pass. ``time_base``, ``rate``: the output's, as given to the writer."""
    import av

    choice = choose_encoder(info, container, muxer_codecs(container), codec, crf, preset)
    time_base, _, _ = output_time_base(container, choice.codec, info, time_base)
    rate = rate or info.rate
    trial = av.CodecContext.create(choice.codec, "w")
    configure_encoder(trial, info, choice, time_base, rate)  # as the writer does (Motion JPEG needs its full range)
    reason = _refusal(trial.open, first=True)  # closed when garbage-collected
    if reason is not None:
        slots = (
            " (it codes a constant rate of a fixed list only: 24, 25, 30, 50, 60, their 1000/1001, some fractions)"
            if choice.codec in SLOT_ENCODERS
            else ""
        )
        raise VideoError(
            f"{choice.codec} cannot encode this video ({info.width}x{info.height}, {choice.pix_fmt}, "
            f"{f'{float(rate):.3f} frames/s' if rate else 'unknown rate'}): {reason.rstrip('.:')}{slots}; choose another --codec"
        )
    return choice


def slot_pts_step(
    container: str, codec: str, pts: Sequence[int], frame: Fraction | None = None, tick: Fraction | None = None
) -> int | Fraction:
    """The step the writer counts in (``VideoWriter``'s ``pts_step``): where it counts in frame
    slots (:func:`counts_in_slots` of the writer's ``tick``: AVI, MPEG-1 / -2, MPEG-4 given
    1/90000 s), the largest step every timestamp of ``pts`` is a multiple of (their greatest
    common divisor: a constant-rate input's frame slot); 1 for anything else, which stores each
    timestamp as it is.

    Where the timestamps are a frame duration ``frame`` (in ticks; from the input's declared
    rate) that is no whole number of ticks, rounded to the tick, the step is ``frame`` itself: a
    29.97 frames/s .mkv counts milliseconds, 0, 33, 67, 100 ..., whose greatest common divisor
    is 1 ms. That made a 1000 frames/s AVI holding a frame in one slot of 33 (the rest empty),
    and MPEG-2, which has no code for 1000 frames/s, was refused. Every timestamp must lie within
    half a tick of a multiple of ``frame``, gaps included."""
    if not counts_in_slots(container, codec, tick) or not pts:
        return 1
    step = max(1, math.gcd(*(int(p) for p in pts)))
    if frame and frame.denominator != 1 and frame > step and all(abs(p - round(p / frame) * frame) <= Fraction(1, 2) for p in pts):
        return frame
    return step


def demuxed_pts(path: str | os.PathLike) -> list[int]:
    """The timestamps of the first video stream's packets (no decoding: cheap), for
    :func:`slot_pts_step` when the frames themselves are read later. Read once per file as it is
    now (its size and time of change): the tools ask before their first pass and again as they
    start writing."""
    path = Path(path)
    if not path.is_file():  # numbered images (frames/%04d.png): read each time
        return list(_demuxed_pts.__wrapped__(str(path), 0, 0))
    stat = path.stat()
    return list(_demuxed_pts(str(path.resolve()), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _demuxed_pts(path: str, size: int, changed_ns: int) -> tuple[int, ...]:
    """:func:`demuxed_pts` of ``path`` as it is at ``size`` and ``changed_ns`` (the cache's key)."""
    with open_input(Path(path)) as container:
        video = main_video_stream(container, Path(path))
        return tuple(int(packet.pts) for packet in container.demux(video) if packet.pts is not None)


def write_video(
    path: str | os.PathLike,
    frames: list[np.ndarray],
    rate: int | Fraction = 10,
    codec: str = "ffv1",
    pix_fmt: str = "bgr0",
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    options: dict | None = None,
    audio: tuple[np.ndarray, int] | None = None,
    audio_codec: str = "pcm_s16le",
    colour: ColourTags | None = None,
    pixel_aspect: Fraction | None = None,
    field_order: int | None = None,
) -> Path:
    """Encode (H, W, 3) RGB (or (H, W, 4) RGBA) frames, uint8 or uint16, into a small video: for
    tests, notebooks and scripts (the whole clip is in memory; the repair tool streams instead).

    ``pts`` (in ``time_base``, default 1/rate) gives a variable frame rate; ``audio`` is
    ``(samples (channels, n) int16, sample_rate)``, encoded with ``audio_codec``; ``colour``
    tags the stream and converts the frames with its matrix and range (:func:`to_pixel_format`);
    ``pixel_aspect`` (32:27 for a DVD's 720x480 shown 16:9) goes to the encoder, and so into the
    file where the codec or container holds it (:meth:`VideoWriter.pixel_aspect_outcome`);
    ``field_order`` (FFmpeg's AVFieldOrder: 2 top field first, 3 bottom field first) marks woven
    frames interlaced, in the header (FFV1, Matroska); x264 in its interlaced mode flags each
    frame too, bottom field first whatever this says (FFmpeg's wrapper takes the frame's flag,
    which PyAV cannot set).
    """
    import av

    path = Path(path)
    rate = Fraction(rate)
    time_base = time_base or 1 / rate
    with av.open(str(path), "w") as container:
        muxer = container.format.name
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if options:
            stream.options = dict(options)
        if colour is not None:
            colour.apply(stream.codec_context)
        if pixel_aspect is not None:
            stream.codec_context.sample_aspect_ratio = Fraction(pixel_aspect)
        if field_order is not None:
            stream.codec_context.field_order = field_order
        sound = None
        if audio is not None:
            samples, sample_rate = audio
            layout = "mono" if samples.shape[0] == 1 else "stereo"
            sound = container.add_stream(audio_codec, rate=sample_rate, layout=layout)
            if audio_codec in ("wmav1", "wmav2"):
                sound.bit_rate = 128000  # Windows Media Audio does not open without one
        for index, image in enumerate(frames):
            deep = image.dtype == np.uint16
            given = ("rgba64le" if deep else "rgba") if image.shape[2] == 4 else ("rgb48le" if deep else "rgb24")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=given)
            if colour is not None:
                frame = to_pixel_format(frame, pix_fmt, colour)
            frame.pts = index if pts is None else int(pts[index])
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            samples = np.ascontiguousarray(samples.astype(np.int16))
            chunk = sound.codec_context.frame_size or 1024
            for start in range(0, samples.shape[1], chunk):
                piece = np.ascontiguousarray(samples[:, start : start + chunk].T.reshape(1, -1))  # packed s16: (1, n*channels)
                frame = av.AudioFrame.from_ndarray(piece, format="s16", layout=layout)
                frame.sample_rate, frame.pts = sample_rate, start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    if pixel_aspect is not None:  # as VideoWriter.close
        write_display_shape(path, muxer, frames[0].shape[1], frames[0].shape[0], Fraction(pixel_aspect))
    return path


def read_video_rgb(path: str | os.PathLike) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of a (small) video as (H, W, 3) uint8 RGB, and its time in seconds: 8-bit
    planar Y'CbCr as the model sees it (:func:`yuv_to_rgb`), anything else through swscale."""
    with VideoReader(path) as reader:
        items = [(_rgb8(item.frame), item.time) for item in reader]
    return [rgb for rgb, _ in items], [t for _, t in items]


def check_writable(path: str | os.PathLike, name: str = "output") -> None:
    """Refuse, before any work, a file the run could not write at its end.

    The tools write ``path`` last, through a temporary file beside it (``checkpoint.atomic_write``,
    ``VideoWriter``), creating missing folders on the way; a folder that cannot take a new file
    (read-only, a full quota of inodes, a path through a file, ``/proc``) used to show only then,
    after the whole first pass and every generated frame. Here a probe file is made and removed
    in the nearest folder of ``path`` that exists. ValueError, one line, naming ``name``.
    """
    path = Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # missing folders are made at the end
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write the {name} {path}: {folder} is not a folder")
    try:
        handle, probe_path = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"cannot write the {name} {path}: no new file can be made in {folder} ({reason})") from None
    os.close(handle)
    os.unlink(probe_path)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (resolved paths, or samefile for links)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
