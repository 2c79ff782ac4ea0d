"""Reading what a decoded frame carries beside its pixels (FFmpeg's frame side data): a phone
video's display matrix, HDR10 mastering metadata, closed captions.

Method: none; METHOD.md §4, last paragraph: what a real tool must keep around the method.

PyAV 18 names FFmpeg's side-data types in an enum that ends at ``VIDEO_HINT`` (27). The FFmpeg
inside it attaches newer ones: EXIF (31) on every TIFF it decodes, and on JPEGs and PNGs that
carry it. Reading a frame's side data built every entry's type, so one unknown type made the
whole read raise ("31 is not a valid Type"): a 16-bit TIFF sequence was refused after the whole
first pass, when the repair looked for closed captions. Here a type PyAV does not know reads as a
member of its own, ``UNKNOWN_31``, and the entries PyAV knows read as before.

PyAV 18.1 frees a side-data entry's metadata twice: its ``SideData`` wraps the entry's
AVDictionary in a ``Dictionary`` that frees it when it goes, and the frame frees it again. Any
entry with metadata crashed the process (a segmentation fault at a garbage collection some time
later): the ICC profile FFmpeg's PNG decoder attaches to every frame of a PNG or APNG holding an
iCCP chunk names the profile there, and the repair of such an APNG died mid-run. So every
``Dictionary`` that holds entries is given one reference that is never returned
(:func:`_never_freed`): it stays, a few dozen bytes a frame and only for such frames, never frees
what the frame owns, not even at exit (a list holding them crashed when Python cleared it). The
entries are handed on as :class:`SideDataEntry` copies (type and bytes).
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass



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


def _never_freed(wrapper) -> None:
    """Add a reference to ``wrapper`` that nothing returns, so that it is never deallocated (module doc)."""
    import ctypes

    ctypes.pythonapi.Py_IncRef(ctypes.py_object(wrapper))


@dataclass(frozen=True)
class SideDataEntry:
    """One side-data entry, copied off its frame: PyAV's ``type`` and the entry's bytes."""

    type: object  # av.sidedata.sidedata.Type
    data: bytes

    def __bytes__(self) -> bytes:
        return self.data


def frame_side_data(frame) -> list[SideDataEntry]:
    """Every side-data entry of a decoded ``frame``, new FFmpeg types included, each copied into a
    :class:`SideDataEntry` (module doc)."""
    _name_unknown_types()
    entries = list(getattr(frame, "side_data", ()))
    for entry in entries:  # its metadata wrapper is reachable only as a referent (a C attribute)
        for wrapper in gc.get_referents(entry):
            if type(wrapper).__name__ == "Dictionary" and len(wrapper):
                _never_freed(wrapper)
    return [SideDataEntry(entry.type, bytes(entry)) for entry in entries]
