"""Reading what a decoded frame carries beside its pixels (FFmpeg's frame side data): a phone
video's display matrix, HDR10 mastering metadata, closed captions.

Method: none; METHOD.md §4, last paragraph: what a real tool must keep around the method.

PyAV 18 names FFmpeg's side-data types in an enum that ends at ``VIDEO_HINT`` (27). The FFmpeg
inside it attaches newer ones: EXIF (31) on every TIFF it decodes, and on JPEGs and PNGs that
carry it. Reading a frame's side data built every entry's type, so one unknown type made the
whole read raise ("31 is not a valid Type"): a 16-bit TIFF sequence was refused after the whole
first pass, when the repair looked for closed captions. Here a type PyAV does not know reads as a
member of its own, ``UNKNOWN_31``, and the entries PyAV knows read as before.
"""

from __future__ import annotations

import functools


@functools.cache
def _name_unknown_types() -> None:
    """Give PyAV's side-data type enum a ``_missing_`` that makes a member of an unknown value
    (once; the enum's known members are untouched)."""
    from av.sidedata.sidedata import Type

    if "_missing_" in Type.__dict__:  # a PyAV that handles them itself
        return

    def _missing_(cls, value):
        if not isinstance(value, int):
            return None
        member = object.__new__(cls)
        member._name_, member._value_ = f"UNKNOWN_{value}", value
        return member

    Type._missing_ = classmethod(_missing_)


def frame_side_data(frame) -> list:
    """Every side-data entry of a decoded ``frame`` (each with its ``type`` and bytes), new
    FFmpeg types included (module doc)."""
    _name_unknown_types()
    return list(getattr(frame, "side_data", ()))
