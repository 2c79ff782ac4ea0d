"""Colour tags and HDR metadata: how a stream's samples are to be shown, kept from input to output.

Method: METHOD.md §4, last paragraph (what a real tool keeps besides the frames). A generated
frame is made in RGB (the model's space) and written in the output's Y'CbCr: it must be
converted with the matrix and range the frames around it were coded with, or it shifts in hue
between them; and the output stream must say how to show its samples, as the input did
(:class:`ColourTags`, :func:`output_colour`). An HDR10 clip's mastering display and light
levels (:class:`HdrMetadata`) go to x265. :func:`colour_outcome` reads the written file back
and says what it kept. Used by :class:`nlvfi.videoio.VideoWriter`.
Notebook: notebooks/10_video_repair.ipynb
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from .side_data import frame_side_data

#: AVColorSpace (the Y'CbCr matrix) and AVColorRange values used by name below (ITU-T H.273)
MATRIX_RGB, MATRIX_UNSPECIFIED, MATRIX_BT601 = 0, 2, 6  # 6: SMPTE 170M, swscale's default matrix
RANGE_UNSPECIFIED, RANGE_LIMITED, RANGE_FULL = 0, 1, 2


@dataclass(frozen=True)
class ColourTags:
    """How a stream's samples are to be shown as colours (ITU-T H.273, as FFmpeg names them):
    the Y'CbCr matrix (``AVColorSpace``), the primaries, the transfer function and the range
    (limited, Y' 16-235; or full, 0-255). The defaults, 2 / 2 / 2 / 0, say "unspecified".

    A player converts Y'CbCr to RGB with the matrix and range the stream is tagged with (an
    untagged one by a guess, commonly BT.601 below 720 lines and BT.709 above). So the output
    keeps the input's tags (:func:`output_colour`) and a generated frame is converted to Y'CbCr
    with the same matrix and range as the frames around it (:func:`rgb_to_frame`): before, a
    BT.709 clip came out untagged, and each generated frame was converted with BT.601 between
    BT.709 neighbours, a hue shift of 10 grey levels on saturated colours.
    """

    matrix: int = MATRIX_UNSPECIFIED
    primaries: int = 2
    transfer: int = 2
    range: int = RANGE_UNSPECIFIED

    @classmethod
    def of(cls, source) -> "ColourTags":
        """The tags of a codec context or a decoded frame."""
        return cls(int(source.colorspace), int(source.color_primaries), int(source.color_trc), int(source.color_range))

    def apply(self, target) -> None:
        """Tag a codec context or a frame with these values."""
        target.colorspace = self.matrix
        target.color_primaries = self.primaries
        target.color_trc = self.transfer
        target.color_range = self.range

    def as_dict(self) -> dict[str, str]:
        """FFmpeg's names of the four values, as the report gives them (``"bt709"``, ``"limited"``, ...)."""
        from av.video.reformatter import ColorPrimaries, ColorTrc

        def name(enum, value: int) -> str:
            try:
                return enum(value).name.lower()
            except ValueError:
                return str(value)

        return {
            "matrix": MATRIX_NAMES.get(self.matrix, str(self.matrix)),
            "primaries": name(ColorPrimaries, self.primaries),
            "transfer": name(ColorTrc, self.transfer),
            "range": RANGE_NAMES.get(self.range, str(self.range)),
        }

    def describe(self) -> str:
        """``"bt709 matrix, bt709 primaries, bt709 transfer, limited range"``"""
        return ", ".join(f"{value} {key}" for key, value in self.as_dict().items())


#: libavutil's names of the matrices (av_color_space_name)
MATRIX_NAMES = {
    0: "gbr", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
    9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp",
}
RANGE_NAMES = {RANGE_UNSPECIFIED: "unspecified", RANGE_LIMITED: "limited", RANGE_FULL: "full"}


#: encoders whose decoders read one matrix and range whatever the tags say: (matrix, range).
#: FFmpeg's Motion JPEG decoder gives every frame BT.601 (bt470bg), full range (JFIF).
FIXED_COLOUR = {"mjpeg": (5, RANGE_FULL)}


def output_colour(source: ColourTags, source_pix_fmt: str, output_pix_fmt: str, codec: str | None = None) -> ColourTags:
    """The colour tags of the output stream, written by ``codec`` in ``output_pix_fmt``, of an
    input tagged ``source`` in ``source_pix_fmt`` (:class:`ColourTags`).

    The primaries and the transfer function describe the colours themselves and are kept. The
    matrix and the range describe the samples:

    * Y'CbCr out of Y'CbCr in: the input's matrix and range (an unspecified matrix stays
      unspecified: the tool reads it as BT.601, swscale's default, and writes it the same way),
      but full range for a ``yuvj*`` output and limited for a ``yuvj*`` input written in
      another format (the conversion moves the samples to 16-235);
    * Y'CbCr out of RGB or grey in (a PNG sequence re-encoded with x264): BT.601 and limited
      range, the conversion swscale makes, tagged so that no player has to guess;
    * RGB or grey out: the input's tags, the matrix ``rgb`` for RGB out of Y'CbCr;
    * a codec whose decoder reads one matrix and range whatever the tags (``FIXED_COLOUR``:
      Motion JPEG, BT.601 full range) gets those, and the frames are converted to them.
    """
    from .videoio import pixel_traits  # videoio imports this module: at call time

    out_traits, in_traits = pixel_traits(output_pix_fmt), pixel_traits(source_pix_fmt)
    if codec in FIXED_COLOUR and out_traits.is_yuv:
        matrix, range_ = FIXED_COLOUR[codec]
        return ColourTags(matrix, source.primaries, source.transfer, range_)
    if out_traits.is_yuv:
        if in_traits.is_yuv:
            matrix = source.matrix
            if output_pix_fmt.startswith("yuvj"):
                range_ = RANGE_FULL
            elif source_pix_fmt.startswith("yuvj"):
                range_ = RANGE_LIMITED
            else:
                range_ = source.range
        else:
            matrix, range_ = MATRIX_BT601, RANGE_LIMITED
        return ColourTags(matrix, source.primaries, source.transfer, range_)
    if in_traits.is_yuv and not out_traits.is_gray:
        return ColourTags(MATRIX_RGB, source.primaries, source.transfer, RANGE_UNSPECIFIED)
    return source


@dataclass(frozen=True)
class HdrMetadata:
    """The HDR10 static metadata a frame carries, in the units x265 and HEVC's SEI store it:
    the mastering display (SMPTE ST 2086: its R, G, B primaries and white point, x and y in
    0.00002 steps; its least and greatest luminance in 0.0001 cd/m² steps) and the content light
    levels (CTA-861.3: MaxCLL, MaxFALL in cd/m²). A player tone-maps PQ video to its own screen
    with them; without them it guesses (commonly a 1000 cd/m² master)."""

    primaries: tuple[int, ...] | None = None  # (Rx, Ry, Gx, Gy, Bx, By)
    white_point: tuple[int, int] | None = None
    luminance: tuple[int, int] | None = None  # (min, max)
    light_level: tuple[int, int] | None = None  # (MaxCLL, MaxFALL)

    @classmethod
    def of(cls, frame) -> "HdrMetadata | None":
        """What ``frame``'s side data holds (FFmpeg's AVMasteringDisplayMetadata: 11 rationals
        and two flags; AVContentLightMetadata: two unsigned), or None."""
        import av

        found = {}
        for data in frame_side_data(frame):
            raw = bytes(data)
            if data.type == av.sidedata.sidedata.Type.MASTERING_DISPLAY_METADATA and len(raw) >= 88:
                values = np.frombuffer(raw[:88], dtype=np.int32)
                ratio = [values[2 * i] / values[2 * i + 1] if values[2 * i + 1] else 0.0 for i in range(10)]
                if values[20]:  # has_primaries
                    found["primaries"] = tuple(int(round(r * 50000)) for r in ratio[:6])
                    found["white_point"] = (int(round(ratio[6] * 50000)), int(round(ratio[7] * 50000)))
                if values[21]:  # has_luminance
                    found["luminance"] = (int(round(ratio[8] * 10000)), int(round(ratio[9] * 10000)))
            elif data.type == av.sidedata.sidedata.Type.CONTENT_LIGHT_LEVEL and len(raw) >= 8:
                levels = tuple(int(v) for v in np.frombuffer(raw[:8], dtype=np.uint32))
                if any(levels):  # 0, 0: unknown (CTA-861.3), which SVT-AV1 does not write
                    found["light_level"] = levels
        return cls(**found) if found else None

    def on_av1_grid(self) -> "HdrMetadata":
        """These values as AV1's metadata holds them: the greatest luminance in 1/256 cd/m² and the
        least in 1/16384 cd/m² (chromaticities, in 1/65536, come back as they were)."""
        if self.luminance is None:
            return self
        least, greatest = self.luminance
        return replace(
            self, luminance=(round(round(least / 10000 * 16384) / 16384 * 10000), round(round(greatest / 10000 * 256) / 256 * 10000))
        )

    def x265_params(self) -> str:
        """x265's ``master-display`` (G, B, R, white point, max, min luminance) and ``max-cll``."""
        params = []
        if self.primaries is not None and self.luminance is not None:
            rx, ry, gx, gy, bx, by = self.primaries
            params.append(
                f"master-display=G({gx},{gy})B({bx},{by})R({rx},{ry})WP({self.white_point[0]},{self.white_point[1]})"
                f"L({self.luminance[1]},{self.luminance[0]})"
            )
        if self.light_level is not None:
            params.append(f"max-cll={self.light_level[0]},{self.light_level[1]}")
        return ":".join(params)

    def svtav1_params(self) -> str:
        """SVT-AV1's ``mastering-display`` (G, B, R, white point x and y; max, min luminance in
        cd/m²) and ``content-light``. AV1's metadata holds chromaticities in 1/65536 steps and the
        least luminance in 1/16384 cd/m², finer than HEVC's 0.00002 and 0.0001: the values read
        back in these units as they were (a test decodes them through libdav1d)."""
        params = []
        if self.primaries is not None and self.luminance is not None:
            rx, ry, gx, gy, bx, by = (v / 50000 for v in self.primaries)
            wx, wy = (v / 50000 for v in self.white_point)
            params.append(
                f"mastering-display=G({gx:.5f},{gy:.5f})B({bx:.5f},{by:.5f})R({rx:.5f},{ry:.5f})WP({wx:.5f},{wy:.5f})"
                f"L({self.luminance[1] / 10000:.4f},{self.luminance[0] / 10000:.4f})"
            )
        if self.light_level is not None:
            params.append(f"content-light={self.light_level[0]},{self.light_level[1]}")
        return ":".join(params)

    def describe(self) -> str:
        parts = []
        if self.luminance is not None:
            parts.append(f"mastered at {self.luminance[1] / 10000:g} cd/m²")
        if self.light_level is not None:
            parts.append(f"MaxCLL {self.light_level[0]}, MaxFALL {self.light_level[1]}")
        return ", ".join(parts) or "mastering primaries"


def matrix_group(matrix: int) -> int:
    """Matrices that are one and the same conversion: BT.470BG and SMPTE 170M are BT.601, as is
    an unspecified one (swscale's default); SMPTE 2020 NCL / CL have one Y'CbCr matrix."""
    return {MATRIX_UNSPECIFIED: MATRIX_BT601, 5: MATRIX_BT601, 10: 9}.get(matrix, matrix)


def colour_outcome(
    source: ColourTags, intended: ColourTags, written: str | os.PathLike, container: str, codec: str, hdr: HdrMetadata | None = None
) -> dict:
    """What became of the colour tags: the input's, the written file's (read back), and whether
    the file says what the writer gave it (``intended``, :func:`output_colour`; an unspecified
    range of Y'CbCr counts as limited, which is how it is read). Matroska, MP4, MOV and WebM
    store the tags; AVI and NUT do not, and keep them only where the codec's own bitstream does
    (H.264 and VP9 do, FFV1 and MPEG-4 Part 2 as FFmpeg writes them do not). Where they are lost,
    ``lost`` says so in a sentence (the summaries print it).

    ``hdr``: the HDR10 metadata of the input's first frame (:class:`HdrMetadata`); the written
    file's first frame must carry the same (x265 and SVT-AV1 write it; for other encoders an MP4
    or MOV holds it in its 'mdcv' and 'clli' boxes, nlvfi.mov_colour), else ``lost`` says so."""
    from .videoio import first_frame, probe  # videoio imports this module: at call time

    info = probe(written)
    found = info.colour

    def read_as(tags: ColourTags) -> ColourTags:
        limited = tags.range == RANGE_UNSPECIFIED and info.traits.is_yuv
        return ColourTags(tags.matrix, tags.primaries, tags.transfer, RANGE_LIMITED if limited else tags.range)

    outcome = {"input": source.as_dict(), "output": found.as_dict(), "kept": read_as(found) == read_as(intended)}
    if not outcome["kept"]:
        says, meant = read_as(found).as_dict(), read_as(intended).as_dict()
        differ = [key for key in says if says[key] != meant[key]]
        outcome["lost"] = (
            f"the {container} file ({codec}) says {', '.join(f'{says[k]} {k}' for k in differ)} where its frames are "
            f"{', '.join(f'{meant[k]} {k}' for k in differ)}, so players may show other colours; .mkv, .mp4, .mov and .webm keep the tags"
        )
    if hdr is not None:
        back = HdrMetadata.of(first_frame(written))
        kept = back == hdr or (codec == "libsvtav1" and back == hdr.on_av1_grid())  # 1234.5678 cd/m² is 1234.5664 in AV1
        outcome["hdr_metadata"] = {"input": hdr.describe(), "kept": kept}
        if not kept:
            loss = (
                f"the HDR10 metadata ({hdr.describe()}): {codec} does not write it, libx265 (the default for 10-bit input) "
                "and libsvtav1 (.webm's) do, and .mp4 and .mov hold it for any codec"
            )
            outcome["lost"] = f"{outcome['lost']}; and {loss}" if "lost" in outcome else loss
    return outcome
