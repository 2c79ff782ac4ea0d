"""The display aspect written into a finished AVI (nlvfi.avi_display): FFV1 has no field for a
pixel aspect, and the AVI muxer writes its video properties from one PyAV does not set."""

import shutil
import struct
from fractions import Fraction

import av
import numpy as np

from nlvfi.avi_display import VPRP_SIZE, chunks, inside, write_display_aspect
from nlvfi.videoio import probe, read_video_rgb, write_video

W, H = 64, 48


def frames(n=5):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(n)]


def square_avi(path, audio=True):
    """An FFV1 .avi with sound as the tools' writer left it: the pixel aspect given to the encoder only."""
    sound = (np.random.default_rng(1).integers(-2000, 2000, (1, 8000)).astype(np.int16), 16000) if audio else None
    return write_video(path, frames(), 10, codec="ffv1", pix_fmt="bgr0", audio=sound)


def movi_start(data):
    return data.index(b"movi") - 8


def test_an_ffv1_avi_is_shown_in_its_shape_and_movi_and_its_index_stay_where_they_were(tmp_path):
    before = square_avi(tmp_path / "square.avi")
    assert probe(before).pixel_aspect is None
    after = tmp_path / "shaped.avi"
    shutil.copyfile(before, after)
    assert write_display_aspect(after, W, H, Fraction(16, 15))
    info = probe(after)
    assert info.pixel_aspect == Fraction(16, 15) and info.display_aspect == Fraction(16 * W, 15 * H)
    old, new = before.read_bytes(), after.read_bytes()
    assert len(new) == len(old) and movi_start(new) == movi_start(old) and new[movi_start(old) :] == old[movi_start(old) :]
    riff = chunks(new, 0, len(new))  # every chunk's size adds up again
    assert len(riff) == 1 and riff[0].end == len(new)
    header = next(c for c in inside(new, riff[0]) if c.kind == b"hdrl")
    vprp = [c for s in inside(new, header) if s.kind == b"strl" for c in inside(new, s) if c.code == b"vprp"]
    assert len(vprp) == 1 and vprp[0].size == VPRP_SIZE
    assert struct.unpack_from("<HH", new, vprp[0].start + 8 + 20) == (45, 64)  # 4:3 shown: 64x48 at 16:15 is 64:45
    pictures, times = read_video_rgb(after)
    assert times == read_video_rgb(before)[1] and all(np.array_equal(a, b) for a, b in zip(pictures, frames(), strict=True))
    with av.open(str(before)) as a, av.open(str(after)) as b:
        assert [p.to_ndarray().tobytes() for p in a.decode(audio=0)] == [p.to_ndarray().tobytes() for p in b.decode(audio=0)]
    assert write_display_aspect(after, W, H, Fraction(8, 9))  # written again: the chunk replaced in place
    assert probe(after).pixel_aspect == Fraction(8, 9) and len(after.read_bytes()) == len(old)


def test_an_avi_without_room_or_of_another_size_is_left_as_it_was(tmp_path):
    path = square_avi(tmp_path / "square.avi", audio=False)
    data = bytearray(path.read_bytes())
    junk = data.index(b"JUNK", movi_start(bytes(data)) - 1100)  # the padding before movi
    data[junk : junk + 4] = b"FILL"  # a chunk readers skip, but not JUNK to give bytes
    path.write_bytes(bytes(data))
    assert not write_display_aspect(path, W, H, Fraction(16, 15)) and path.read_bytes() == bytes(data)
    other = square_avi(tmp_path / "other.avi", audio=False)
    assert not write_display_aspect(other, W + 2, H, Fraction(16, 15))  # no video stream of that size
    assert not write_display_aspect(tmp_path / "missing.avi", W, H, Fraction(16, 15))


def test_write_video_gives_an_ffv1_avi_its_shape(tmp_path):
    path = write_video(tmp_path / "a.avi", frames(), 10, codec="ffv1", pix_fmt="bgr0", pixel_aspect=Fraction(32, 27))
    assert probe(path).pixel_aspect == Fraction(32, 27)
