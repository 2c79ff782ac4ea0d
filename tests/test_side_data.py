"""nlvfi.side_data: a frame's side data read without crashing the process.

PyAV 18.1 frees the metadata of a side-data entry twice (its wrapper and the frame each free it):
reading the side data of a frame of a PNG or APNG holding an ICC profile (which FFmpeg's decoder
names in that metadata) ended in a segmentation fault at a later garbage collection or at exit.
The check runs in a child process, so that a crash fails this test and not the whole run."""

import subprocess
import sys
import textwrap

from PIL import Image, ImageCms

from test_repair import scene

CHILD = textwrap.dedent(
    """
    import gc, sys
    import av
    from nlvfi.side_data import frame_side_data

    with av.open(sys.argv[1]) as container:
        frames = list(container.decode(video=0))
    entries = [frame_side_data(frame) for frame in frames]
    del frames  # the frames go first, then whatever still refers to their side data
    gc.collect()
    print([entry.type.name for entry in entries[0]], len(bytes(entries[0][0])))
    """
)


def test_reading_an_icc_profile_off_png_frames_does_not_crash_the_process(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    frames = [Image.fromarray(frame) for frame in scene(3, 24, 32)]
    path = tmp_path / "profiled.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, icc_profile=profile)
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == f"['ICC_PROFILE'] {len(profile)}"
