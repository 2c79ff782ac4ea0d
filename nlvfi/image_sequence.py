"""Writing a repaired video as numbered PNG or TIFF images: ``nlvfi repair IN -o frames/%04d.png``.

Method: METHOD.md §4 step 4 (¶0214–0239) puts the new frames in place; issue 4 asks that a
losslessly coded input (a PNG sequence among them) come out lossless, its untouched frames
bit-identical. A PNG sequence read in could only come out as a video (FFV1 in .mkv); people who
work on numbered images (compositing, animation, scientific capture) want them back as images.

How: the repair is written as usual, lossless whatever the input (FFV1 in a hidden .mkv beside
the images, ``SequenceTarget.intermediate``, checked frame by frame against the input by
``nlvfi.verification``), then each of its frames becomes one PNG (:func:`png_frame`), first in
a hidden staging folder, each file read back and compared with the frame it was made from, and
only at the very end renamed into place (:func:`move_into_place`): an interrupted or failed run
leaves no image of the new sequence. Going through the intermediate keeps one writer, one
verification and one resume path (an interrupted run goes on from
``.PATTERN.nlvfi.mkv.nlvfi-resume/``, the pattern without its ``%``).

What a PNG holds: RGB, grey, with or without alpha, 8 or 16 bits. An input in RGB or grey keeps
its samples exactly (a PNG sequence in gives the same pixels out); Y'CbCr video is converted to
RGB with its own matrix and range (``nlvfi.videoio.frame_to_rgb``, as the model reads it), 16-bit
above 8 bits. Audio, subtitles and timestamps have no place in an image sequence: the report
names what was left out and, for a variable frame rate, lists every frame's time.
A pattern ending in ``.tif`` writes TIFF images (deflate, lossless) of the same samples
(:func:`image_format`: the PNG layouts, little-endian), for pipelines built on TIFF.
Floating-point (scene-linear) input, which a PNG would clip at 1.0, is written as OpenEXR
images (``.exr``, :func:`export_exr_sequence`), floating-point TIFF images (``.tif``,
:func:`export_float_tiff_sequence`) or portable float maps (``.pfm``, :func:`export_pfm_sequence`:
grey or RGB float, half widened exactly, in the unit of a PFM input; no alpha), its samples kept
bit for bit. The input's ICC profile (its first frame's, :mod:`nlvfi.icc`) goes into every PNG
written as an iCCP chunk, and into every TIFF as tag 34675, read back and compared; EXR and PFM
images hold none (the report says so).

Files are numbered like the input's images (an input sequence starting at 1 gives 1, 2, ...);
a video's frames from 0, as the report counts them. A name that already exists is refused before
any work: writing over some old images of a longer sequence would leave the rest behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .icc import profile_description
from .png_chunks import iccp_profile, with_icc_profile
from .tiff_tags import tiff_icc, with_tiff_icc
from .float_frames import exr_file_bytes, float_samples, is_float_format, same_samples, tiff_file_bytes
from .pfm import pfm_file_bytes, read_pfm
from .videoio import (
    PixelTraits,
    VideoError,
    VideoReader,
    frame_alpha,
    frame_content,
    frame_to_rgb,
    is_image_pattern,
    pattern_names,
    pixel_traits,
    probe,
    refuse_encoder_options,
    rgb_to_frame,
    sequence_first_number,
    sequence_numbers,
)

#: Extensions of image files: an output name with a number field and one of them is a sequence
#: (written as PNG or TIFF, OpenEXR for floating-point input; the others are refused); with any other extension it is a file's own name.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".dpx", ".gif", ".pfm")
#: image sequences written for floating-point input: OpenEXR, floating-point TIFF, or PFM
FLOAT_IMAGE_SUFFIXES = (".exr", ".tif", ".tiff", ".pfm")
#: of those, the ones that hold floating-point samples only (a display-referred input is refused)
FLOAT_ONLY_SUFFIXES = (".exr", ".pfm")


def is_sequence(path: str | os.PathLike) -> bool:
    """Whether an output ``path`` asks for numbered images: a ``%`` in its file name (as
    frames/%04d.png; :func:`sequence_target` checks the pattern) and an image extension.
    "take 50%.mkv" or "clip%d.mkv" is a video's name."""
    path = Path(path)
    return "%" in path.name and path.suffix.lower() in IMAGE_SUFFIXES


def input_first_number(source: Path) -> int:
    """The number of the first image of an input sequence (0 for a video, or none found)."""
    return (sequence_first_number(source) or 0) if is_image_pattern(source) else 0


@dataclass(frozen=True)
class SequenceTarget:
    """Where a repair writes its images.

    Attributes:
        folder: the folder of the images.
        pattern: the file name with its one number field, as ``%04d.png``.
        first_number: the number of frame 0's file.
    """

    folder: Path
    pattern: str
    first_number: int
    through: str = ".mkv"  # the intermediate video's container: .nut (raw video) for floating point with alpha
    grey: bool = False  # floating-point grey input: its EXR images are grey again (the intermediate FFV1 holds no float grey)
    pfm_scale: float = 1.0  # the unit of PFM images written (a PFM input's, nlvfi.staged_images)
    icc_profile: bytes | None = None  # the input's ICC profile, which PNG images carry (nlvfi.icc)

    def name(self, index: int) -> str:
        """The file name of frame ``index`` (0-based)."""
        return self.pattern % (self.first_number + index)

    @property
    def intermediate(self) -> Path:
        """The lossless video the repair writes first (hidden, beside the images)."""
        return self.folder / f".{self.plain}.nlvfi{self.through}"

    @property
    def plain(self) -> str:
        """The pattern without its ``%`` (a ``%`` in a file name makes FFmpeg read numbered images)."""
        return self.pattern.replace("%", "")

    def existing(self) -> list[Path]:
        """Files already in the folder whose names the pattern makes."""
        return [self.folder / (self.pattern % number) for number in sorted(sequence_numbers(self.folder / self.pattern))]


def sequence_target(output: str | os.PathLike, source: str | os.PathLike) -> SequenceTarget:
    """Check an image-sequence output before any work; ValueError (one line) for a pattern with no
    or several number fields, a format other than PNG and TIFF (OpenEXR too for floating-point
    input, :func:`sequence_output`), or a name that exists already."""
    output, source = Path(output), Path(source)
    if pattern_names(output.name) is None:
        raise ValueError(f"{output}: an image sequence needs one number field in its file name, such as {output.parent / 'frame_%04d.png'}")
    if output.suffix.lower() not in (".png", *FLOAT_IMAGE_SUFFIXES):
        raise ValueError(
            f"{output}: an image sequence is written as PNG or TIFF (OpenEXR and PFM too for floating-point input); end the pattern in "
            f".png or .tif, such as {output.parent / 'frame_%04d.png'}"
        )
    target = SequenceTarget(output.parent, output.name, input_first_number(source))
    existing = target.existing()
    if existing:
        raise ValueError(
            f"{existing[0]} already exists ({len(existing)} file(s) of the pattern {output.name} in {target.folder}): "
            "an image sequence is written only into free names, so no old image is left among the new ones; "
            "remove them or choose another pattern"
        )
    return target


def sequence_output(output: Path, source: Path, codec: str | None, crf: int | None, preset: str | None):
    """``(target, path, codec)`` for a tool about to write ``output``: for numbered images
    (:func:`is_sequence`) their :func:`sequence_target`, the intermediate video to write first and
    FFV1; else ``(None, output, codec)``. ValueError for an encoder asked of images."""
    if not is_sequence(output):
        return None, output, codec
    pix_fmt = probe(source).pix_fmt
    floating = is_float_format(pix_fmt)
    if floating and output.suffix.lower() not in FLOAT_IMAGE_SUFFIXES:
        held = "PNG images cannot hold without clipping them at 1.0" if output.suffix.lower() == ".png" else "an image sequence holds as OpenEXR, float TIFF or PFM only"
        raise ValueError(
            f"{source} holds floating-point (scene-linear) samples, which {held}; write OpenEXR images "
            f"({output.parent / 'frame_%04d.exr'}), float TIFF images (.tif), PFM images (.pfm) or a video such as OUT.mkv "
            "(all keep them exactly, nlvfi.float_frames)"
        )
    if not floating and output.suffix.lower() in FLOAT_ONLY_SUFFIXES:
        kind = "OpenEXR images hold" if output.suffix.lower() == ".exr" else "PFM images hold"
        raise ValueError(
            f"{output}: {kind} scene-linear floating-point light, which {source} does not; "
            f"write PNG or TIFF images ({output.parent / 'frame_%04d.png'})"
        )
    if floating and output.suffix.lower() == ".pfm" and pixel_traits(pix_fmt).has_alpha:
        raise ValueError(
            f"{source} has alpha, which PFM images cannot hold; write OpenEXR images ({output.parent / 'frame_%04d.exr'}) "
            "or float TIFF images (.tif), which keep it"
        )
    target = sequence_target(output, source)
    refuse_encoder_options(codec, crf, preset, "an image sequence: it is written as lossless images")
    if floating and pixel_traits(pix_fmt).is_gray and not pixel_traits(pix_fmt).has_alpha:
        target = replace(target, grey=True)
    if floating and pixel_traits(pix_fmt).has_alpha:  # FFV1 holds no floating point with alpha: raw video in NUT
        target = replace(target, through=".nut")
        return target, target.intermediate, "rawvideo"
    return target, target.intermediate, "ffv1"


def png_format(traits: PixelTraits) -> str:
    """The PNG pixel format that holds a frame of ``traits`` without loss of depth or alpha."""
    deep = traits.bit_depth > 8
    if traits.is_gray:
        return ("ya16be" if deep else "ya8") if traits.has_alpha else ("gray16be" if deep else "gray")
    return ("rgba64be" if deep else "rgba") if traits.has_alpha else ("rgb48be" if deep else "rgb24")


def image_format(traits: PixelTraits, codec: str) -> str:
    """:func:`png_format` for FFmpeg's ``png`` encoder, or the same layout little-endian for its
    ``tiff`` encoder (which takes rgb24, rgb48le, rgba, rgba64le, gray, gray16le, ya8, ya16le)."""
    fmt = png_format(traits)
    return fmt[:-2] + "le" if codec == "tiff" and fmt.endswith("be") else fmt


def png_frame(frame, traits: PixelTraits):
    """A decoded frame as an av.VideoFrame in :func:`png_format`: RGB and grey formats repacked
    (their samples kept), Y'CbCr converted with the frame's own matrix and range
    (``nlvfi.videoio.frame_to_rgb``), alpha carried."""
    fmt = png_format(traits)
    if traits.is_yuv:
        frame = rgb_to_frame(frame_to_rgb(frame, traits), "rgb24" if traits.bit_depth <= 8 else "rgb48le", frame_alpha(frame, traits))
    return frame if frame.format.name == fmt else frame.reformat(format=fmt)


def export_sequence(video: Path, target: SequenceTarget, staging: Path, progress: bool = True) -> dict:
    """Write every frame of ``video`` as a PNG named by ``target`` into ``staging``, read each file
    back and compare it with the frame it was made from. Returns the report's ``image_sequence``
    (without its ``folder``/``pattern``, which the caller knows); VideoError if a file does not
    read back the same. A pattern ending in ``.exr`` (floating-point input) writes OpenEXR
    images instead (:func:`export_exr_sequence`), one ending in ``.tif`` floating-point TIFF
    images (:func:`export_float_tiff_sequence`)."""
    import av

    if target.pattern.lower().endswith(".exr"):
        return export_exr_sequence(video, target, staging, progress)
    if target.pattern.lower().endswith(".pfm"):
        return export_pfm_sequence(video, target, staging, progress)
    codec = "tiff" if target.pattern.lower().endswith((".tif", ".tiff")) else "png"
    if codec == "tiff" and is_float_format(probe(video).pix_fmt):
        return export_float_tiff_sequence(video, target, staging, progress)
    digests: list[str] = []
    encoder = None
    with VideoReader(video) as reader:
        traits = reader.info.traits
        fmt = image_format(traits, codec)
        bar = tqdm(desc="writing images", unit="image", disable=not progress)
        for item in reader:
            image = png_frame(item.frame, traits)  # (H, W) in png_format
            if image.format.name != fmt:
                image = image.reformat(format=fmt)  # TIFF: the same samples, little-endian
            if encoder is None:
                encoder = av.CodecContext.create(codec, "w")
                encoder.width, encoder.height, encoder.pix_fmt = image.width, image.height, fmt
                encoder.time_base = Fraction(1, 1)
                if codec == "tiff":
                    encoder.options = {"compression_algo": "deflate"}  # lossless; FFmpeg's default is PackBits
            image.pts = None
            data = b"".join(bytes(packet) for packet in encoder.encode(image))
            (staging / target.name(item.index)).write_bytes(with_profile(data, codec, target.icc_profile))
            digests.append(hashlib.sha1(frame_content(image).tobytes()).hexdigest())
            bar.update(1)
        bar.close()
    for index, digest in enumerate(tqdm(digests, desc="checking images", unit="image", disable=not progress)):
        path = staging / target.name(index)
        with av.open(str(path)) as container:
            back = next(container.decode(video=0))
        if back.format.name != fmt or hashlib.sha1(frame_content(back).tobytes()).hexdigest() != digest:
            raise VideoError(f"{path.name} did not read back as the frame written (format {back.format.name})")
        check_profile(path, codec, target.icc_profile)
    return {
        "files": len(digests), "first_number": target.first_number, f"{codec}_pix_fmt": fmt, "read_back_identical": len(digests),
        "icc_profile_written": target.icc_profile is not None,
    }  # fmt: skip


def with_profile(data: bytes, codec: str, profile: bytes | None) -> bytes:
    """The PNG or TIFF file ``data`` with the input's ICC ``profile`` (nlvfi.icc) in it: an iCCP
    chunk (:mod:`nlvfi.png_chunks`) or tag 34675 (:mod:`nlvfi.tiff_tags`); as it is without one."""
    if profile is None:
        return data
    if codec == "png":
        return with_icc_profile(data, profile, profile_description(profile) or "ICC profile")
    return with_tiff_icc(data, profile)


def check_profile(path: Path, codec: str, profile: bytes | None) -> None:
    """VideoError unless the image at ``path`` holds ``profile`` (where there is one)."""
    if profile is not None and (iccp_profile if codec == "png" else tiff_icc)(path.read_bytes()) != profile:
        raise VideoError(f"{path.name} did not read back with the ICC profile written")


def export_exr_sequence(video: Path, target: SequenceTarget, staging: Path, progress: bool = True) -> dict:
    """:func:`export_sequence` as OpenEXR images (ZIPS, lossless; half where the video holds
    half, nlvfi.float_frames.exr_file_bytes), each read back and compared sample for sample with
    its frame (:func:`nlvfi.float_frames.same_samples`)."""
    import av

    count, formats = 0, set()
    with VideoReader(video) as reader:
        for item in tqdm(reader, desc="writing images", unit="image", disable=not progress):
            path = staging / target.name(item.index)
            path.write_bytes(exr_file_bytes(item.frame, grey=target.grey))  # grey: three equal planes in the intermediate
            with av.open(str(path)) as container:
                back = next(container.decode(video=0))
            if not same_samples(item.frame, back):
                raise VideoError(f"{path.name} did not read back as the frame written (format {back.format.name})")
            formats.add(back.format.name)
            count += 1
    return {"files": count, "first_number": target.first_number, "exr_pix_fmt": ", ".join(sorted(formats)),
            "exr_compression": "ZIPS (lossless)", "read_back_identical": count}  # fmt: skip


def export_float_tiff_sequence(video: Path, target: SequenceTarget, staging: Path, progress: bool = True) -> dict:
    """:func:`export_sequence` as floating-point TIFF images (deflate, lossless; half where the
    video holds half; grey, grey + alpha, RGB or RGBA as the input was), written with
    ``tifffile``, each read back and compared bit for bit with its frame's samples."""
    import tifffile

    count, layouts = 0, set()
    with VideoReader(video) as reader:
        for item in tqdm(reader, desc="writing images", unit="image", disable=not progress):
            samples = float_samples(item.frame)  # (H, W, C), half widened exactly
            if target.grey:  # three equal planes in the intermediate: grey again
                samples = samples[..., [0, 3]] if samples.shape[2] == 4 else samples[..., :1]
            samples = samples.astype(np.float16 if "f16" in item.frame.format.name else np.float32)
            channels = samples.shape[2]
            path = staging / target.name(item.index)
            path.write_bytes(with_profile(tiff_file_bytes(samples), "tiff", target.icc_profile))
            check_profile(path, "tiff", target.icc_profile)
            back = tifffile.imread(path).reshape(samples.shape)
            if back.dtype != samples.dtype or back.tobytes() != samples.tobytes():
                raise VideoError(f"{path.name} did not read back as the frame written ({back.dtype}, {back.shape})")
            layouts.add(f"{({1: 'grey', 2: 'grey + alpha', 3: 'RGB', 4: 'RGBA'})[channels]} {'half' if samples.dtype == np.float16 else 'float'}")
            count += 1
    return {"files": count, "first_number": target.first_number, "tiff_samples": ", ".join(sorted(layouts)),
            "tiff_compression": "deflate (lossless)", "read_back_identical": count, "icc_profile_written": target.icc_profile is not None}  # fmt: skip


def export_pfm_sequence(video: Path, target: SequenceTarget, staging: Path, progress: bool = True) -> dict:
    """:func:`export_sequence` as portable float maps (nlvfi.pfm: grey or RGB, 32-bit float, half
    widened exactly, in ``target.pfm_scale``), each read back and compared bit for bit with its
    frame's samples. The input has no alpha (:func:`sequence_output` refuses it)."""
    count, layouts = 0, set()
    with VideoReader(video) as reader:
        for item in tqdm(reader, desc="writing images", unit="image", disable=not progress):
            samples = float_samples(item.frame).astype(np.float32)  # (H, W, C), half widened exactly
            if target.grey:  # three equal planes in the intermediate: grey again
                samples = samples[..., :1]
            path = staging / target.name(item.index)
            path.write_bytes(pfm_file_bytes(samples, target.pfm_scale))
            back = read_pfm(path)
            if back.samples.tobytes() != samples.tobytes() or back.scale != target.pfm_scale:
                raise VideoError(f"{path.name} did not read back as the frame written ({back.samples.shape})")
            half = " (from half, widened exactly)" if "f16" in item.frame.format.name else ""
            layouts.add(f"{'grey' if samples.shape[2] == 1 else 'RGB'} float{half}")
            count += 1
    return {"files": count, "first_number": target.first_number, "pfm_samples": ", ".join(sorted(layouts)),
            "pfm_scale": target.pfm_scale, "read_back_identical": count}  # fmt: skip


def images_text(sequence: dict) -> tuple[str, str]:
    """(what the images are, their format) for the summaries: ("PNG images", "rgb24"),
    ("OpenEXR images", "gbrpf16le, ZIPS (lossless)") or ("float TIFF images", "RGB half,
    deflate (lossless)")."""
    if "exr_pix_fmt" in sequence:
        return "OpenEXR images", f"{sequence['exr_pix_fmt']}, {sequence['exr_compression']}"
    if "tiff_samples" in sequence:
        return "float TIFF images", f"{sequence['tiff_samples']}, {sequence['tiff_compression']}"
    if "pfm_samples" in sequence:
        return "PFM images", f"{sequence['pfm_samples']}, scale {sequence['pfm_scale']:g}"
    if "tiff_pix_fmt" in sequence:
        return "TIFF images", f"{sequence['tiff_pix_fmt']}, deflate (lossless)"
    return "PNG images", sequence["png_pix_fmt"]


def stage_images(video: Path, target: SequenceTarget, progress: bool = True) -> tuple[Path, dict]:
    """:func:`export_sequence` into a new :func:`staging_folder`: (that folder, its result). On an
    error or an interrupt the folder and ``video`` (the intermediate) are deleted: an interrupted
    run goes on from its resume folder, which keeps the generated frames."""
    staging = staging_folder(target)
    try:
        return staging, export_sequence(video, target, staging, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        video.unlink(missing_ok=True)
        raise


def not_held(audio: int, subtitles: int, attached: bool, times: list[float], tick: float, captions: int = 0) -> dict:
    """What the written video held that its images cannot: the report's ``not_held`` (and
    ``frame_times_s``, every frame's time, when they are not evenly spaced: :func:`frame_times_vary`).
    ``captions``: input frames carrying closed captions (nlvfi.captions.closed_captions)."""
    left = [f"{count} {what} stream(s)" for count, what in ((audio, "audio"), (subtitles, "subtitle")) if count]
    if attached:
        left.append("attachments and cover art")
    if captions:
        left.append(f"the closed captions inside the video (in {captions} frames)")
    varies = frame_times_vary(times, tick)
    if varies:
        left.append("the frame times (a variable frame rate; listed in frame_times_s)")
    return {"not_held": left, **({"frame_times_s": [round(t, 6) for t in times]} if varies else {})}


def staging_folder(target: SequenceTarget) -> Path:
    """A new hidden folder beside the images (same file system: the final renames are atomic)."""
    target.folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.plain}.", suffix=".nlvfi-staging", dir=target.folder))


def move_into_place(staging: Path, target: SequenceTarget, count: int) -> None:
    """Rename the ``count`` staged images into ``target.folder``, all or none: an interrupt or
    error midway takes back those already moved. Refuses (VideoError) if a name was taken since
    the run began (:func:`sequence_target` checked them at the start)."""
    taken = [target.folder / target.name(index) for index in range(count) if (target.folder / target.name(index)).exists()]
    if taken:
        raise VideoError(f"{taken[0]} appeared while the repair ran; the new images are not written over it")
    moved: list[Path] = []
    try:
        for index in range(count):
            destination = target.folder / target.name(index)
            os.replace(staging / target.name(index), destination)
            moved.append(destination)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)


def frame_times_vary(times: list[float], tick: float) -> bool:
    """Whether the frames are not evenly spaced in time (a variable frame rate), which an image
    sequence cannot hold: some frame is more than one ``tick`` (the stream's time base, s) from
    where an even spacing puts it, so 29.97 frames/s stored in milliseconds stays even."""
    if len(times) < 3:
        return False
    times = np.asarray(times, dtype=np.float64)
    even = np.linspace(times[0], times[-1], len(times))
    return bool(np.max(np.abs(times - even)) > tick * 1.001 + 1e-9)
