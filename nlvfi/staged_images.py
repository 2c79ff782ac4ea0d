"""Numbered floating-point images that FFmpeg misreads, read exactly and staged as OpenEXR.

Method: none; METHOD.md §4, last paragraph (what a real tool must add), and issue 4: a losslessly
coded input gives a lossless output with its untouched frames bit-identical, and frames of
unusual formats are converted or refused clearly.

The tools read video and numbered images through FFmpeg, which gets three kinds of numbered
floating-point images wrong:

* half-float TIFF: read as 16-bit integers (a repaired frame blended the bit patterns of the halves);
* grey floating-point TIFF: not read at all;
* PFM (:mod:`nlvfi.pfm`): read upside down, as FFmpeg keeps the file's row order, bottom first.

They used to be refused in one line. Now each image is read exactly (``tifffile``, nlvfi.pfm),
written as a lossless OpenEXR image (ZIPS, as :func:`nlvfi.float_frames.exr_file_bytes` writes
it: half stays half, float stays float, grey stays grey, and grey + alpha becomes RGBA with the
grey in R, G and B), read back through FFmpeg and compared sample for sample. The images go into
a hidden folder beside the output (``.OUT.nlvfi-staged/``), with the input's numbers and file
times. The run then reads that sequence as it reads any EXR plates, so untouched frames come out
bit-identical to the input's samples. The folder is removed when the run ends, whether it
succeeds or fails.

An animated WebP, which the FFmpeg here does not decode at all, is staged the same way by
:mod:`nlvfi.animated_webp` (its frames as libwebp composes them, as lossless FFV1 in one hidden
Matroska file); :func:`staged_input` and :func:`staging_text` serve both.

The cost is one pass over the images before the run (with a progress bar) and their size again
in disk space while it runs. An interrupted run stages again on the next try. The staged files
have the same names, sizes and times, so the resume folder still matches (:mod:`nlvfi.resume`).
PFM images of one sequence must share one unit (the header's scale): EXR has no place for it,
so the report records it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from .animated_webp import is_animated_webp, stage_animated_webp, staged_webp_text
from .float_frames import exr_file_bytes, float_frame, same_samples, tiff_float_layout
from .io import float_tiff_samples
from .pfm import is_pfm, read_pfm
from .videoio import VideoError, is_image_pattern, sequence_first_number

#: EXR pixel formats of the staged images, by samples a pixel (grey + alpha goes as RGBA)
_STAGED_FORMATS = {1: "grayf32le", 2: "gbrapf32le", 3: "gbrpf32le", 4: "gbrapf32le"}


def staging_reason(source: str | os.PathLike) -> str | None:
    """Why the input ``source`` must be staged (module doc): numbered images in "PFM", "half-float
    TIFF" or "grey floating-point TIFF", or a file in "animated WebP" (nlvfi.animated_webp); None
    for anything else (a video, other images, a missing file)."""
    source = Path(source)
    if source.is_file() and is_animated_webp(source):
        return "animated WebP"
    if not is_image_pattern(source):
        return None
    number = sequence_first_number(source)
    if number is None:
        return None
    first = source.parent / (source.name % number)
    if is_pfm(first):
        return "PFM"
    layout = tiff_float_layout(first)
    if layout is None:
        return None
    bits, samples = layout
    if bits == 16:
        return "half-float TIFF"
    return "grey floating-point TIFF" if samples < 3 else None


def _input_files(source: Path) -> list[Path]:
    """The images of ``source`` as FFmpeg's image2 reader takes them: from the first number up,
    until a number is missing."""
    number = sequence_first_number(source)
    files = []
    while number is not None and (source.parent / (source.name % number)).is_file():
        files.append(source.parent / (source.name % number))
        number += 1
    return files


def _samples(path: Path) -> tuple[np.ndarray, bool, float | None]:
    """((H, W, C) float32 samples, stored as half, PFM scale or None) of one image; VideoError in one line."""
    try:
        if is_pfm(path):
            image = read_pfm(path)
            return image.samples, False, image.scale
        read = float_tiff_samples(path)
    except (ValueError, OSError) as error:
        raise VideoError(str(error).splitlines()[0]) from None
    if read is None:
        raise VideoError(f"{path} is not a floating-point TIFF, as the first image of its sequence is")
    return read[0], read[1], None


def staged_folder(beside: str | os.PathLike) -> Path:
    """Where the images of a run writing ``beside`` are staged: ``.NAME.nlvfi-staged`` in its folder
    (the name without ``%``), or in the system's temporary folder where that folder does not exist."""
    beside = Path(beside)
    name = f".{beside.name.replace('%', '')}.nlvfi-staged"
    if beside.parent.is_dir():
        return beside.parent / name
    digest = hashlib.sha1(str(beside.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"nlvfi-staged-{digest}"


def stage_float_images(source: Path, folder: Path, reason: str, progress: bool = True) -> dict:
    """Write every image of ``source`` as a lossless EXR into ``folder`` (module doc); return what
    was staged. VideoError in one line for an image that cannot be read (naming how far it got),
    one of another size, layout or unit than the first, or one that does not read back exactly."""
    import av

    files = _input_files(source)
    first_shape, first_half, first_scale = None, None, None
    written = 0
    for path in tqdm(files, desc=f"reading {reason} images", unit="image", disable=not progress):
        try:
            samples, half, scale = _samples(path)
        except VideoError as error:
            raise VideoError(f"{error} (image {written + 1} of {len(files)}; {written} read before it)") from None
        if first_shape is None:
            first_shape, first_half, first_scale = samples.shape, half, scale
        elif samples.shape != first_shape or half != first_half:
            said = lambda shape, h: f"{shape[1]}x{shape[0]}, {shape[2]} sample(s) a pixel, {'half' if h else 'float'}"  # noqa: E731
            raise VideoError(f"{path.name} is {said(samples.shape, half)}; the first image of {source.name} is {said(first_shape, first_half)}")
        elif scale != first_scale:
            raise VideoError(f"{path.name} holds samples in PFM scale {scale:g}, the first image of {source.name} in {first_scale:g}; bring them to one unit")
        channels = samples.shape[2]
        if channels == 2:  # grey + alpha: EXR as FFmpeg writes it holds it as RGBA, the grey in R, G, B
            samples = np.concatenate([samples[..., :1].repeat(3, axis=2), samples[..., 1:]], axis=2)
        frame = float_frame(samples, _STAGED_FORMATS[channels])
        staged = folder / (Path(path.name).stem + ".exr")
        staged.write_bytes(exr_file_bytes(frame, half=half))
        with av.open(str(staged)) as container:
            back = next(container.decode(video=0))
        if not same_samples(frame, back):
            raise VideoError(f"{path.name} did not read back exactly once staged as OpenEXR (format {back.format.name})")
        stat = path.stat()
        os.utime(staged, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the input's times: the resume key stays the same
        written += 1
    if not written:
        raise VideoError(f"{source}: no image to read")
    return {"reason": reason, "described": f"{reason} images", "images": written, "as": "OpenEXR, ZIPS (lossless), read back sample for sample",
            "half": bool(first_half), **({"pfm_scale": first_scale} if first_scale is not None else {})}  # fmt: skip


@contextmanager
def staged_input(source: str | os.PathLike, beside: str | os.PathLike, progress: bool = True) -> Iterator[tuple[Path, dict | None]]:
    """(the path to read, what was staged or None) for an input ``source`` of a run writing
    ``beside`` (module doc): numbered images FFmpeg misreads are staged as EXR, an animated WebP
    as FFV1 (nlvfi.animated_webp), for the run's length; anything else is read as it is."""
    source = Path(source)
    reason = staging_reason(source)
    if reason is None:
        yield source, None
        return
    folder = staged_folder(beside)
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted run's: staged again, the same
    folder.mkdir(parents=True)
    try:
        started = time.perf_counter()
        if reason == "animated WebP":
            readable = folder / (source.stem + ".mkv")
            staged = stage_animated_webp(source, readable, progress)
        else:
            readable = folder / (Path(source.name).stem + ".exr")
            staged = stage_float_images(source, folder, reason, progress)
        yield readable, {**staged, "seconds": round(time.perf_counter() - started, 2)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def staging_text(staged: dict) -> str:
    """The summary's sentence on a staged input (:func:`stage_float_images`'s dict, or
    :func:`nlvfi.animated_webp.stage_animated_webp`'s)."""
    if staged["reason"] == "animated WebP":
        return staged_webp_text(staged)
    unit = f", in PFM scale {staged['pfm_scale']:g}" if "pfm_scale" in staged else ""
    return (
        f"Its {staged['images']} images were read exactly ({staged['reason']}, which FFmpeg misreads{unit}) and staged as "
        f"lossless OpenEXR for the run, in {staged['seconds']:.1f} s (nlvfi.staged_images)."
    )


def reads_staged_images(function):
    """Decorate a tool ``function(source, output, ...)`` returning a report (a dict) so that it
    reads numbered images FFmpeg misreads through :func:`staged_input`; the report names the
    input as given and says what was staged: ``function`` takes an ``input_staged`` keyword
    (None, or this dict with ``from``: the input as given) for its report."""

    @functools.wraps(function)
    def wrapped(source, output, *args, **kwargs):
        with staged_input(source, output, kwargs.get("progress", True)) as (readable, staged):
            if staged is None:
                return function(readable, output, *args, **kwargs)
            try:
                return function(readable, output, *args, input_staged={"from": str(source), **staged}, **kwargs)
            except Exception as error:  # a one-line error names the input as given, not its staging
                if error.args and isinstance(error.args[0], str):
                    error.args = (error.args[0].replace(str(readable), str(source)), *error.args[1:])
                raise

    return wrapped
