"""Real training triplets from video clips: fetch the clips, decode them, pick (k-d, k, k+d).

The clips are the three example videos of Debian's ``opencv-doc`` package
(``/usr/share/doc/opencv-doc/examples/data/``): ``vtest.avi`` (768x576, 795 frames, pedestrians,
static camera), ``tree.avi`` (320x240, cinepak, a swaying tree) and ``Megamind.avi`` (720x528,
270 frames, film trailer with scene cuts). ``python data/fetch.py`` (or ``nlvfi data fetch``)
copies them into ``data/opencv/``.

A triplet is three frames (k-d, k, k+d) of one clip: the model sees frames k-d and k+d and must
produce frame k; d is the *gap* (1, 2, 4: the larger, the larger the motion). Rules, all on the
mean absolute difference (MAD) of two RGB frames on the 0-255 scale:

* **time split**: the last ``holdout_fraction`` (20%) of every clip, by frame index, is held out.
  With N frames and ``b = round(N * (1 - holdout_fraction))``, a training triplet has all three
  frames in [0, b) and an evaluation triplet all three in [b, N): none straddles the boundary,
  so no evaluation frame is ever seen in training.
* **static**: MAD(frame k-d, frame k+d) < ``static_threshold`` (1.0) -> skipped (nothing moves,
  the triplet teaches only copying).
* **scene cut**: an adjacent pair (i, i+1) is a cut when MAD(i, i+1) > max(``cut_threshold``,
  ``cut_factor`` x median adjacent MAD of the clip) = max(30, 6 x median). A triplet whose span
  k-d .. k+d contains a cut is skipped: its middle frame is not between its end frames.
  (Typical adjacent MADs: vtest 2.0, Megamind 2.2 with cuts at 32-43, tree 6.5 with max 21.)
* **repeated frame**: an adjacent pair with MAD < ``duplicate_threshold`` (0.1) inside the span
  is a frame shown twice (a dropped or padded frame); the motion is not uniform -> skipped.
* **uneven timing**: when frame times are known and the middle frame is off the temporal
  midpoint by more than ``max_t_offset`` (0.05) of the span -> skipped. The kept triplets carry
  their true ``t``; it is exactly 0.5 for constant frame-rate clips. (``tree.avi`` stores
  444 frame slots of which 376 are empty "repeat the previous frame" entries: it decodes to 68
  distinct frames at uneven times.)

**Off-centre triplets** (``spans``, optional): for a span s, every (k, k+j, k+s) with 0 < j < s
(centred ones already given by ``gaps`` left out), the model sees frames k and k+s and must
produce frame k+j at t = j/s: arbitrary-time supervision on real footage, the geometry of a
repaired run of s-1 duplicates (``nlvfi repair``). The same rules apply (the timing rule
against j/s).

Flow convention of nlvfi: see ``nlvfi/warping.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..checkpoint import atomic_write
from ..videoio import announced_end
from .augment import crop_shape, prepare_sample

OPENCV_CLIPS = ("vtest.avi", "tree.avi", "Megamind.avi")
OPENCV_DOC_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_DOC_PACKAGE = "opencv-doc"
DEFAULT_DEST = "data/opencv"

SPLITS = ("train", "eval", "all")


# --------------------------------------------------------------------------------------------
# Fetching the OpenCV example clips


def _fetch_instructions(dest: Path) -> str:
    names = ", ".join(OPENCV_CLIPS)
    return (
        f"To get them: on Debian/Ubuntu run `apt-get update && apt-get download {OPENCV_DOC_PACKAGE} && "
        f"dpkg -x {OPENCV_DOC_PACKAGE}_*.deb x` and copy {names} from "
        f"x{OPENCV_DOC_DATA} into {dest}; or `apt-get install {OPENCV_DOC_PACKAGE}` (they land in "
        f"{OPENCV_DOC_DATA}, unless the system excludes /usr/share/doc, as slim Docker images do); "
        f"or copy the three files into {dest} from any OpenCV source tree (samples/data/)."
    )


def _copy_clips(source: Path, dest: Path) -> None:
    for name in OPENCV_CLIPS:
        target = dest / name
        if not target.is_file():
            atomic_write(target, lambda tmp, name=name: shutil.copyfile(source / name, tmp))


def _download_with_apt(dest: Path) -> None:
    """``apt-get download opencv-doc`` + ``dpkg -x`` in a temporary folder, copy the clips to ``dest``."""
    with tempfile.TemporaryDirectory(prefix="nlvfi-opencv-doc-") as tmp:
        command = ["apt-get", "download", OPENCV_DOC_PACKAGE]  # about 96 MB
        result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=1800)
        debs = sorted(Path(tmp).glob(f"{OPENCV_DOC_PACKAGE}_*.deb"))
        if result.returncode != 0 or not debs:
            raise RuntimeError(
                f"`apt-get download {OPENCV_DOC_PACKAGE}` failed (exit {result.returncode}): "
                f"{result.stderr.strip()[-500:]}\nIf apt says it cannot locate the package, run "
                f"`apt-get update` first. {_fetch_instructions(dest)}"
            )
        extracted = Path(tmp) / "x"
        result = subprocess.run(["dpkg", "-x", str(debs[-1]), str(extracted)], capture_output=True, text=True, timeout=1800)
        source = extracted / OPENCV_DOC_DATA.relative_to("/")
        missing = [name for name in OPENCV_CLIPS if not (source / name).is_file()]
        if result.returncode != 0 or missing:
            raise RuntimeError(
                f"`dpkg -x {debs[-1].name}` did not give {', '.join(missing) or 'the clips'} "
                f"(exit {result.returncode}): {result.stderr.strip()[-500:]}\n{_fetch_instructions(dest)}"
            )
        _copy_clips(source, dest)


def fetch_opencv_clips(dest: str | os.PathLike = DEFAULT_DEST, source_dir: str | os.PathLike = OPENCV_DOC_DATA) -> list[Path]:
    """Make sure ``dest`` holds vtest.avi, tree.avi and Megamind.avi; return their paths.

    Idempotent: clips already in ``dest`` are kept. Otherwise they are copied from
    ``source_dir`` (the installed ``opencv-doc`` package) if it has them, else obtained with
    ``apt-get download opencv-doc`` + ``dpkg -x`` in a temporary folder (no root needed to
    extract; apt-get prints a harmless warning about the ``_apt`` user when run as root).
    Neither possible -> RuntimeError saying what to do.
    """
    dest = Path(dest)
    paths = [dest / name for name in OPENCV_CLIPS]
    if all(path.is_file() for path in paths):
        return paths
    dest.mkdir(parents=True, exist_ok=True)
    source = Path(source_dir)
    if all((source / name).is_file() for name in OPENCV_CLIPS):
        _copy_clips(source, dest)
    elif shutil.which("apt-get") and shutil.which("dpkg"):
        _download_with_apt(dest)
    else:
        missing = ", ".join(path.name for path in paths if not path.is_file())
        raise RuntimeError(
            f"{missing} not in {dest}, {source} does not have them, and there is no apt-get/dpkg "
            f"to download the {OPENCV_DOC_PACKAGE} package. {_fetch_instructions(dest)}"
        )
    return paths


def fetch_main(
    argv: Sequence[str] | None = None, default_dest: str | os.PathLike = DEFAULT_DEST, prog: str = "nlvfi data fetch"
) -> int:
    """``nlvfi data fetch [--dest data/opencv]`` / ``python data/fetch.py``: 0 on success, 2 on error."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Fetch OpenCV's example clips (vtest, tree, Megamind) for real triplets."
    )
    parser.add_argument("--dest", default=str(default_dest), help=f"folder for the clips (default {default_dest})")
    args = parser.parse_args(argv)
    try:
        paths = fetch_opencv_clips(args.dest)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        print(f"nlvfi data fetch: error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


# --------------------------------------------------------------------------------------------
# Decoding


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) shrunk so the longer side is at most ``max_side`` (never enlarged)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_video(path: str | os.PathLike, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode every frame of the first video stream with PyAV.

    Args:
        path: a video file.
        max_side: shrink (area averaging) so the longer side is at most this many pixels.
    Returns:
        frames (N, H, W, 3) uint8 RGB, times (N,) float64 seconds (presentation times; index /
        frame rate when the file has none).
    Raises:
        FileNotFoundError: no such file.
        ValueError: "... is not a readable video" (not a video, no video stream, no decodable
            frame), or a corrupt/truncated file: decoding failed part-way (the message says
            after how many frames), or fewer frames than the header announces.
    """
    import av  # PyAV; imported here so nlvfi.data works without it until a video is read

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise ValueError(f"{path} is not a readable video: {error}") from None
    with container:
        if not container.streams.video:
            raise ValueError(f"{path} is not a readable video: it has no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0) or None
        capacity = max(int(stream.frames or 0), 16)
        buffer = None
        times: list[float | None] = []
        try:
            for frame in container.decode(stream):
                width, height = _scaled_size(frame.width, frame.height, max_side)
                if buffer is None:
                    buffer = np.empty((capacity, height, width, 3), dtype=np.uint8)  # (N, H, W, 3)
                elif len(times) == len(buffer):
                    grown = np.empty((2 * len(buffer), *buffer.shape[1:]), dtype=np.uint8)
                    grown[: len(buffer)] = buffer
                    buffer = grown
                # the same output size for every frame, even if the stream changes size part-way
                rgb = frame.reformat(
                    width=buffer.shape[2], height=buffer.shape[1], format="rgb24", interpolation="AREA"
                ).to_ndarray()  # (H, W, 3)
                buffer[len(times)] = rgb
                times.append(frame.time)
        except av.FFmpegError as error:
            if not times:
                raise ValueError(f"{path} is not a readable video: no frame could be decoded ({error})") from None
            raise ValueError(
                f"{path} is corrupt or truncated: decoding failed after {len(times)} frames ({error})"
            ) from None
        if not times:
            raise ValueError(f"{path} is not a readable video: it holds no decodable frame")
        count = len(times)
        frames = buffer if count == len(buffer) else buffer[:count].copy()  # (N, H, W, 3), no spare capacity
        if any(t is None for t in times) or np.any(np.diff(np.array(times, dtype=np.float64)) <= 0):
            times_s = np.arange(count, dtype=np.float64) / (rate or 1.0)
        else:
            times_s = np.array(times, dtype=np.float64)
        interval = 1.0 / rate if rate else float(np.median(np.diff(times_s))) if count > 1 else 0.0
        announced = announced_end(container, stream)
        decoded_end = times_s[-1] + interval
        if announced is not None and interval > 0 and announced - decoded_end > max(2 * interval, 0.02 * announced):
            raise ValueError(
                f"{path} is corrupt or truncated: decoded {count} frames covering {decoded_end:.2f} s, "
                f"but its header announces {announced:.2f} s"
            )
    return frames, times_s


def read_video_frames(path: str | os.PathLike, max_side: int | None = None) -> np.ndarray:
    """Every frame of ``path`` as (N, H, W, 3) uint8 RGB; see :func:`read_video` for errors."""
    return read_video(path, max_side)[0]


# --------------------------------------------------------------------------------------------
# Picking triplets


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two (H, W, 3) uint8 frames, on the 0-255 scale."""
    difference = np.maximum(a, b)  # |a - b| in uint8 without overflow: max - min
    difference -= np.minimum(a, b)
    return float(difference.sum(dtype=np.uint64)) / difference.size


def adjacent_differences(frames: np.ndarray) -> np.ndarray:
    """(N-1,) MAD between frames i and i+1 of (N, H, W, 3) uint8 ``frames``."""
    return np.array([frame_difference(frames[i], frames[i + 1]) for i in range(len(frames) - 1)])


def split_boundary(count: int, holdout_fraction: float) -> int:
    """First held-out frame index: frames [0, b) train, [b, count) evaluation."""
    if not 0.0 <= holdout_fraction <= 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1], got {holdout_fraction}")
    return int(round(count * (1.0 - holdout_fraction)))


def cut_level(adjacent: np.ndarray, cut_threshold: float = 30.0, cut_factor: float = 6.0) -> float:
    """MAD above which an adjacent pair is a scene cut: max(cut_threshold, cut_factor x median)."""
    median = float(np.median(adjacent)) if len(adjacent) else 0.0
    return max(cut_threshold, cut_factor * median)


def extract_triplets(
    frames: np.ndarray,
    gaps: Sequence[int] = (1, 2, 4),
    split: str = "train",
    holdout_fraction: float = 0.2,
    static_threshold: float = 1.0,
    cut_threshold: float = 30.0,
    cut_factor: float = 6.0,
    duplicate_threshold: float = 0.1,
    times: np.ndarray | None = None,
    max_t_offset: float = 0.05,
    spans: Sequence[int] = (),
) -> list[tuple[int, int, int, int]]:
    """Usable triplets (k-d, k, k+d, d) of one clip, ordered by gap d then k; then the
    off-centre ones (k, k+j, k+s, s) of every span s, ordered by s, k, j (module doc).

    Args:
        frames: (N, H, W, 3) uint8 (a memory map is fine: frames are read pair by pair).
        gaps: the d values.
        split: ``"train"`` (all frames before the boundary), ``"eval"`` (all at or after it),
            ``"all"`` (no split, straddling triplets included).
        holdout_fraction: the held-out tail of the clip.
        static_threshold, cut_threshold, cut_factor, duplicate_threshold, max_t_offset: the
            rules of the module docstring (MAD on the 0-255 scale).
        times: (N,) frame times in seconds, for the uneven-timing rule; None: evenly spaced.
        spans: spans s (>= 2) of the off-centre triplets; () : none.
    Returns:
        list of (k - d, k, k + d, d), then of (k, k + j, k + s, s).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if any(int(d) != d or d < 1 for d in gaps):
        raise ValueError(f"gaps must be positive integers, got {tuple(gaps)}")
    if any(int(s) != s or s < 2 for s in spans):
        raise ValueError(f"spans must be integers >= 2, got {tuple(spans)}")
    count = len(frames)
    if times is not None and len(times) != count:
        raise ValueError(f"times has {len(times)} entries for {count} frames")
    if count < 3:
        return []
    boundary = split_boundary(count, holdout_fraction)
    adjacent = adjacent_differences(frames)  # (N-1,)
    level = cut_level(adjacent, cut_threshold, cut_factor)
    # prefix counts: bad[j] = number of bad adjacent pairs among 0 .. j-1
    bad = np.concatenate(([0], np.cumsum((adjacent > level) | (adjacent < duplicate_threshold))))

    def inside(first: int, last: int) -> bool:  # on the split's side, no cut or repeated frame among pairs first .. last-1
        if (split == "train" and last >= boundary) or (split == "eval" and first < boundary):
            return False
        return bad[last] - bad[first] == 0

    def moving(first: int, last: int) -> bool:
        return frame_difference(frames[first], frames[last]) >= static_threshold

    def on_time(first: int, middle: int, last: int) -> bool:  # the middle frame's time fits its index
        if times is None:
            return True
        span = times[last] - times[first]
        return span > 0 and abs((times[middle] - times[first]) / span - (middle - first) / (last - first)) <= max_t_offset

    triplets = []
    for d in sorted({int(d) for d in gaps}):
        for k in range(d, count - d):
            if inside(k - d, k + d) and on_time(k - d, k, k + d) and moving(k - d, k + d):
                triplets.append((k - d, k, k + d, d))
    centred = {int(d) for d in gaps}
    for s in sorted({int(s) for s in spans}):
        for first in range(0, count - s):
            last = first + s
            if not (inside(first, last) and moving(first, last)):
                continue
            for j in range(1, s):
                if not (2 * j == s and j in centred) and on_time(first, first + j, last):  # centred: gap j's
                    triplets.append((first, first + j, last, s))
    return triplets


def triplet_time(times: np.ndarray | None, first: int, middle: int, last: int) -> float:
    """Where the middle frame sits between the end frames, in [0, 1]; by index without times."""
    if times is None:
        return (middle - first) / (last - first)
    return float((times[middle] - times[first]) / (times[last] - times[first]))


# --------------------------------------------------------------------------------------------
# The dataset


def _cache_key(path: Path, max_side: int | None) -> str:
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{max_side}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a bare name
            np.save(f, array)

    atomic_write(path, write)


def load_clip(path: str | os.PathLike, max_side: int | None = None, cache_dir: str | os.PathLike | None = None):
    """(frames (N, H, W, 3) uint8, times (N,)) of one clip, through the .npy cache if given.

    The cache holds ``<stem>-<key>.npy`` (frames, memory-mapped when loaded) and
    ``<stem>-<key>.times.npy``; the key hashes the resolved path, file size, mtime and
    ``max_side``, so an edited clip or another size is decoded afresh.
    """
    path = Path(path)
    if cache_dir is None:
        return read_video(path, max_side)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    stem = f"{path.stem}-{_cache_key(path, max_side)}"
    frames_file = Path(cache_dir) / f"{stem}.npy"
    times_file = Path(cache_dir) / f"{stem}.times.npy"
    if not (frames_file.is_file() and times_file.is_file()):
        frames, times = read_video(path, max_side)
        _save_npy(times_file, times)
        _save_npy(frames_file, frames)  # written last: its presence means the entry is complete
    return np.load(frames_file, mmap_mode="r"), np.load(times_file)


def check_downscales(downscales: Sequence[int]) -> tuple[int, ...]:
    """``downscales`` as a tuple of distinct integers >= 1, in the given order; else ValueError."""
    factors = tuple(downscales)
    if not factors or any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in factors):
        raise ValueError(f"downscales must be integers >= 1 (1: as decoded), got {list(factors)}")
    if len(set(factors)) != len(factors):
        raise ValueError(f"downscales must not repeat a factor, got {list(factors)}")
    return tuple(int(f) for f in factors)


class VideoTriplets(Dataset):
    """Triplets (k-d, k, k+d) from real video clips, for training or evaluation.

    Args:
        paths: one clip or a list of clips (any format PyAV reads).
        split: ``"train"`` (first 80% of every clip), ``"eval"`` (last 20%), ``"all"``.
        gaps: the frame gaps d.
        spans: spans s of the off-centre triplets (k, k+j, k+s), t = j/s (module doc); () : none.
        crop_size: int or (height, width); random with ``augment``, centred without.
        augment: random crop, flips and temporal reversal (``nlvfi.data.augment``), drawn from
            (seed, epoch, index): the same item of the same epoch is always the same.
        seed: augmentation seed.
        max_side: decode at most this many pixels on the longer side.
        cache_dir: keep decoded clips as .npy files here and memory-map them on later runs.
        holdout_fraction: the held-out tail of every clip.
        downscales: integer factors f: every clip is also used shrunk f times (area averaging
            from the source, longer side ``// f``), its triplets picked afresh by the same
            rules and split (the held-out tail stays held out at every size). (1,): as decoded.
            A factor that makes a clip smaller than ``crop_size`` skips that clip at that size
            (listed in :attr:`skipped`). Why: a repair tool meets small videos, where the same
            motion is fewer pixels and a detail fewer still (``configs/finetune_sizes_cpu.toml``).
    Items:
        {"prev", "middle", "next": (3, H, W) float32 in [0, 1], "t": () float32 (0.5 for centred
        triplets of constant frame-rate clips), "gap": int (d; the span s for off-centre ones),
        "source": clip file name, with ``@1/f`` when shrunk f times}.

    Every clip is decoded once and kept as uint8. With a DataLoader, call :meth:`set_epoch`
    before each epoch (workers must not be persistent for them to see it).
    """

    def __init__(
        self,
        paths: str | os.PathLike | Sequence[str | os.PathLike],
        split: str = "train",
        gaps: Sequence[int] = (1, 2, 4),
        crop_size: int | tuple[int, int] | None = None,
        augment: bool = False,
        seed: int = 0,
        max_side: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        holdout_fraction: float = 0.2,
        spans: Sequence[int] = (),
        downscales: Sequence[int] = (1,),
    ):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [Path(path) for path in paths]
        if not self.paths:
            raise ValueError("VideoTriplets needs at least one clip")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.downscales = check_downscales(downscales)
        self.split, self.gaps, self.spans, self.crop_size = split, tuple(gaps), tuple(spans), crop_size
        self.augment, self.seed, self.epoch = augment, seed, 0
        self.clips: list[tuple[str, np.ndarray, np.ndarray]] = []  # (name, frames (N, H, W, 3), times (N,))
        self.items: list[tuple[int, int, int, int, int]] = []  # (clip, k-d, k, k+d, d)
        self.skipped: list[str] = []  # "name@1/f (HxW)": shrunk below the crop
        for path in self.paths:
            decoded, decoded_times = load_clip(path, max_side, cache_dir)  # (N, H, W, 3), (N,)
            height, width = crop_shape(crop_size) if crop_size is not None else (1, 1)
            if height > decoded.shape[1] or width > decoded.shape[2]:  # fail now, not in the middle of an epoch
                raise ValueError(
                    f"crop {height}x{width} (HxW) is larger than {path.name} "
                    f"({decoded.shape[1]}x{decoded.shape[2]} after max_side={max_side})"
                )
            for factor in self.downscales:
                if factor == 1:
                    self._add_clip(path.name, decoded, decoded_times, holdout_fraction)
                    continue
                name = f"{path.name}@1/{factor}"
                frames, times = load_clip(path, max(decoded.shape[1:3]) // factor, cache_dir)  # (N, H/f, W/f, 3)
                if height > frames.shape[1] or width > frames.shape[2]:
                    self.skipped.append(f"{name} ({frames.shape[1]}x{frames.shape[2]})")
                    continue
                self._add_clip(name, frames, times, holdout_fraction)
        if not self.items:
            names = ", ".join(str(path) for path in self.paths)
            raise ValueError(f"no usable {split} triplets with gaps {self.gaps} in {names}")

    def _add_clip(self, name: str, frames: np.ndarray, times: np.ndarray, holdout_fraction: float) -> None:
        clip = len(self.clips)
        self.clips.append((name, frames, times))
        for first, middle, last, gap in extract_triplets(
            frames, self.gaps, self.split, holdout_fraction=holdout_fraction, times=times, spans=self.spans
        ):
            self.items.append((clip, first, middle, last, gap))

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation of every item for this epoch."""
        self.epoch = int(epoch)

    def triplet(self, index: int) -> tuple[str, int, int, int, int]:
        """(clip name, k-d, k, k+d, d) of item ``index``."""
        clip, first, middle, last, gap = self.items[index]
        return self.clips[clip][0], first, middle, last, gap

    def __getitem__(self, index: int) -> dict:
        clip, first, middle, last, gap = self.items[index]
        name, frames, times = self.clips[clip]

        def image(i):  # (3, H, W) uint8; np.array copies out of a read-only memory map
            return torch.from_numpy(np.array(frames[i])).permute(2, 0, 1)

        sample = {
            "prev": image(first),
            "middle": image(middle),
            "next": image(last),
            "t": torch.tensor(triplet_time(times, first, middle, last), dtype=torch.float32),
            "gap": gap,
            "source": name,
        }
        return prepare_sample(sample, self.crop_size, self.augment, self.seed, self.epoch, index)
