"""Real triplets from video: decoding, triplet rules, the dataset, fetching the OpenCV clips.

The clips are tiny synthetic videos encoded here with PyAV (no download): 64x48, 10 frames/s,
a square moving right (frames 0-9), a static stretch (9-14), a scene cut (14 -> 15), then a
square moving down on another background (15-29).
"""

import os
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from nlvfi.data import video
from nlvfi.data.video import (
    VideoTriplets,
    extract_triplets,
    fetch_main,
    fetch_opencv_clips,
    read_video,
    read_video_frames,
)

W, H, N = 64, 48, 30
SEGMENTS = ((0, 9), (15, 29))  # frames with uniform motion; 9-14 static, cut between 14 and 15
BOUNDARY = 24  # round(30 * 0.8): frames 24-29 are held out


def synthetic_frames() -> np.ndarray:
    """(30, 48, 64, 3) uint8: moving square, static stretch, scene cut, another moving square."""
    frames = []
    for i in range(N):
        if i < 15:
            img = np.full((H, W, 3), 60, np.uint8)
            x = 4 + 3 * min(i, 9)  # moves 3 px/frame until frame 9, then stays
            img[10:20, x : x + 10] = 230
        else:
            img = np.full((H, W, 3), 170, np.uint8)
            img[:, :, 2] = 2 * np.arange(W, dtype=np.uint8)[None]
            y = 2 + 2 * (i - 15)  # moves 2 px/frame down
            img[y : y + 10, 40:50] = 20
        frames.append(img)
    return np.stack(frames)


def encode(path: Path, frames: np.ndarray, codec: str = "ffv1", pix_fmt: str = "bgr0", rate: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate(path: Path, frame: int, offset: int) -> Path:
    """A copy of the AVI ``path`` cut ``offset`` bytes after the start of ``frame``'s packet data.

    offset 5: part of the packet is left (the decoder may fail on it); offset -8: cut just
    before the packet's 8-byte chunk header, a clean end after frame - 1 (a broken download).
    """
    with av.open(str(path)) as container:
        positions = [packet.pos for packet in container.demux(video=0) if packet.size]
    out = path.with_name(f"truncated-{path.name}")
    out.write_bytes(path.read_bytes()[: positions[frame] + offset])
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """Lossless (ffv1, bgr0) synthetic clip: decodes to exactly synthetic_frames()."""
    return encode(tmp_path_factory.mktemp("clips") / "clip.mkv", synthetic_frames())


def expected_triplets(split: str, gaps=(1, 2, 4)) -> list[tuple[int, int, int, int]]:
    """The documented rules on the synthetic clip: whole triplet inside one moving segment, and on its side of the split."""
    out = []
    for d in gaps:
        for k in range(d, N - d):
            first, last = k - d, k + d
            inside = any(lo <= first and last <= hi for lo, hi in SEGMENTS)
            side = {"train": last < BOUNDARY, "eval": first >= BOUNDARY, "all": True}[split]
            if inside and side:
                out.append((first, k, last, d))
    return out


# ---------------------------------------------------------------------------------- decoding


def test_lossless_clip_decodes_exactly_with_times(clip):
    frames, times = read_video(clip)
    assert frames.dtype == np.uint8 and frames.shape == (N, H, W, 3)
    np.testing.assert_array_equal(frames, synthetic_frames())
    np.testing.assert_allclose(times, np.arange(N) / 10)
    np.testing.assert_array_equal(read_video_frames(clip), frames)


def test_max_side_shrinks_keeping_the_aspect_ratio(clip):
    assert read_video_frames(clip, max_side=32).shape == (N, 24, 32, 3)
    assert read_video_frames(clip, max_side=1000).shape == (N, H, W, 3)  # never enlarged


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video: .*nothing.avi"):
        read_video_frames(tmp_path / "nothing.avi")


def test_a_text_file_is_not_a_video(tmp_path):
    fake = tmp_path / "notes.avi"
    fake.write_text("these are not frames\n" * 20)
    with pytest.raises(ValueError, match="notes.avi is not a readable video"):
        read_video_frames(fake)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "beep.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(ValueError, match="beep.wav is not a readable video: it has no video stream"):
        read_video_frames(path)


def test_truncated_file_failing_part_way_says_how_many_frames_decoded(tmp_path):
    whole = encode(tmp_path / "lossless.avi", synthetic_frames())  # ffv1 in AVI: the decoder errors out
    with pytest.raises(ValueError, match=r"truncated-lossless.avi is corrupt or truncated: decoding failed after 15 frames"):
        read_video_frames(truncate(whole, 15, 5))


def test_silently_truncated_file_is_caught_by_its_header(tmp_path):
    whole = encode(tmp_path / "lossy.avi", synthetic_frames(), codec="mpeg4", pix_fmt="yuv420p")
    assert len(read_video_frames(whole)) == N
    with pytest.raises(ValueError, match=r"corrupt or truncated: decoded 15 frames covering 1.50 s, but its header announces 3.00 s"):
        read_video_frames(truncate(whole, 15, -8))  # mpeg4 decodes what is left without an error


# ---------------------------------------------------------------------------------- triplet rules


@pytest.mark.parametrize("split", ["train", "eval", "all"])
def test_triplets_follow_the_rules(clip, split):
    assert extract_triplets(read_video_frames(clip), split=split) == expected_triplets(split)


def test_train_and_eval_never_share_a_frame(clip):
    frames = read_video_frames(clip)
    train = {i for triplet in extract_triplets(frames, split="train") for i in triplet[:3]}
    held_out = {i for triplet in extract_triplets(frames, split="eval") for i in triplet[:3]}
    assert max(train) < BOUNDARY <= min(held_out)
    assert extract_triplets(frames, split="eval", holdout_fraction=0.0) == []


def test_each_rule_removes_its_own_triplets(clip):
    frames = read_video_frames(clip)
    default = set(extract_triplets(frames, split="all"))
    across_cut, with_repeat, static = (14, 15, 16, 1), (8, 9, 10, 1), (10, 11, 12, 1)
    assert not {across_cut, with_repeat, static} & default
    no_cut = set(extract_triplets(frames, split="all", cut_threshold=1e9))
    # only spans starting at frame 14 come back: earlier starts also hold repeated frames
    assert no_cut - default == {(14, 15, 16, 1), (14, 16, 18, 2), (14, 18, 22, 4)}
    no_repeat = set(extract_triplets(frames, split="all", duplicate_threshold=-1))
    assert with_repeat in no_repeat and static not in no_repeat  # ends identical: still static
    no_static = set(extract_triplets(frames, split="all", duplicate_threshold=-1, static_threshold=-1))
    assert static in no_static


def test_scene_cut_threshold_is_relative_to_the_clip(clip):
    frames = read_video_frames(clip)
    adjacent = video.adjacent_differences(frames)  # (29,)
    assert video.cut_level(adjacent) == 30.0  # median 1.6-3.3: the floor of 30 applies
    assert adjacent[14] > 30.0  # the cut
    assert video.cut_level(np.full(5, 10.0)) == 60.0  # busy clip: 6 x median


def test_uneven_frame_times_skip_off_centre_middles_and_give_true_t(clip):
    frames = read_video_frames(clip)
    times = np.arange(N) / 10
    times[4] += 0.05  # frame 4 shown late
    triplets = extract_triplets(frames, split="all", times=times)
    assert (3, 4, 5, 1) not in triplets and (5, 6, 7, 1) in triplets
    assert all(abs(video.triplet_time(times, a, k, b) - 0.5) <= 0.05 for a, k, b, _ in triplets)
    assert video.triplet_time(times, 3, 4, 5) == pytest.approx(0.75)


def expected_off_centre(split: str, spans, gaps=(1, 2, 4)) -> list[tuple[int, int, int, int]]:
    """(k, k+j, k+s, s) inside one moving segment and on its side of the split; centred ones of a gap left out."""
    out = []
    for s in spans:
        for first in range(N - s):
            last = first + s
            inside = any(lo <= first and last <= hi for lo, hi in SEGMENTS)
            side = {"train": last < BOUNDARY, "eval": first >= BOUNDARY, "all": True}[split]
            if inside and side:
                out += [(first, first + j, last, s) for j in range(1, s) if not (2 * j == s and j in gaps)]
    return out


@pytest.mark.parametrize("split", ["train", "eval"])
def test_off_centre_triplets_follow_the_same_rules_after_the_centred_ones(clip, split):
    frames = read_video_frames(clip)
    triplets = extract_triplets(frames, split=split, spans=(3, 4))
    assert triplets == expected_triplets(split) + expected_off_centre(split, (3, 4))
    if split == "train":
        assert (0, 1, 3, 3) in triplets and (0, 2, 4, 4) not in triplets  # (0, 2, 4) is gap 2's
        assert (8, 9, 11, 3) not in triplets  # frames 9-14 are static: a repeated frame inside


def test_off_centre_triplets_carry_their_time(clip):
    data = VideoTriplets(clip, split="train", gaps=(1,), spans=(3,))
    times = {data.triplet(i)[1:4]: float(data[i]["t"]) for i in range(len(data))}
    assert times[(0, 1, 3)] == pytest.approx(1 / 3) and times[(0, 2, 3)] == pytest.approx(2 / 3)
    assert times[(0, 1, 2)] == 0.5
    uneven = np.arange(N) / 10
    uneven[1] += 0.03  # shown late: t = 0.4 instead of 1/3, off by more than 0.05
    kept = extract_triplets(read_video_frames(clip), split="all", gaps=(), times=uneven, spans=(3,))
    assert (0, 1, 3, 3) not in kept and (0, 2, 3, 3) in kept
    assert video.triplet_time(None, 0, 1, 3) == pytest.approx(1 / 3)


def test_bad_arguments(clip):
    frames = read_video_frames(clip)
    with pytest.raises(ValueError, match="split must be one of"):
        extract_triplets(frames, split="test")
    with pytest.raises(ValueError, match="gaps must be positive integers"):
        extract_triplets(frames, gaps=(0, 2))
    with pytest.raises(ValueError, match="spans must be integers >= 2"):
        extract_triplets(frames, spans=(1,))
    assert extract_triplets(frames[:2]) == []


# ---------------------------------------------------------------------------------- the dataset


def test_dataset_items(clip):
    data = VideoTriplets(clip, split="train")
    assert len(data) == len(expected_triplets("train"))
    frames = synthetic_frames()
    for index in (0, len(data) - 1):
        item = data[index]
        assert set(item) == {"prev", "middle", "next", "t", "gap", "source"}
        _, first, middle, last, gap = data.triplet(index)
        for key, i in (("prev", first), ("middle", middle), ("next", last)):
            assert item[key].shape == (3, H, W) and item[key].dtype == torch.float32
            torch.testing.assert_close(item[key], torch.from_numpy(frames[i]).permute(2, 0, 1).float() / 255)
        assert item["t"].shape == () and item["t"].dtype == torch.float32 and item["t"].item() == 0.5
        assert item["gap"] == gap and item["source"] == "clip.mkv"


def test_dataset_crops_augments_deterministically_and_collates(clip, tmp_path):
    other = encode(tmp_path / "other.mkv", synthetic_frames()[::-1].copy())
    data = VideoTriplets([clip, other], split="train", gaps=(1, 2), crop_size=(16, 24), augment=True, seed=3)
    assert {data.triplet(i)[0] for i in range(len(data))} == {"clip.mkv", "other.mkv"}
    first = data[5]
    assert first["prev"].shape == (3, 16, 24) and first["prev"].dtype == torch.float32
    torch.testing.assert_close(data[5]["prev"], first["prev"], rtol=0, atol=0)  # same (seed, epoch, index)
    changed = []
    for epoch in range(1, 6):
        data.set_epoch(epoch)
        changed.append(not torch.equal(data[5]["prev"], first["prev"]))
    assert any(changed)
    data.set_epoch(0)
    torch.testing.assert_close(data[5]["prev"], first["prev"], rtol=0, atol=0)
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch["prev"].shape == (4, 3, 16, 24) and batch["t"].shape == (4,) and len(batch["source"]) == 4
    plain = VideoTriplets(clip, split="eval", crop_size=16)
    item = plain[0]
    _, first_frame, _, _, _ = plain.triplet(0)
    centre = torch.from_numpy(synthetic_frames()[first_frame]).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(item["prev"], centre[:, 16:32, 24:40])  # centred crop


def test_dataset_cache_is_reused_and_keyed_by_file_state(clip, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    clip_copy = tmp_path / "copy.mkv"
    clip_copy.write_bytes(clip.read_bytes())
    fresh = VideoTriplets(clip_copy, max_side=32, cache_dir=cache)
    assert len(list(cache.glob("copy-*.npy"))) == 2  # frames + times
    monkeypatch.setattr(video, "read_video", lambda *a, **k: pytest.fail("decoded again despite the cache"))
    cached = VideoTriplets(clip_copy, max_side=32, cache_dir=cache)
    assert isinstance(cached.clips[0][1], np.memmap)
    assert len(cached) == len(fresh)
    torch.testing.assert_close(cached[3]["middle"], fresh[3]["middle"])
    monkeypatch.undo()
    stat = clip_copy.stat()
    os.utime(clip_copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the clip "changed"
    VideoTriplets(clip_copy, max_side=32, cache_dir=cache)
    assert len(list(cache.glob("copy-*.npy"))) == 4


def test_crop_larger_than_a_clip_is_refused_up_front(clip):
    with pytest.raises(ValueError, match=r"crop 32x40 \(HxW\) is larger than clip.mkv \(24x32 after max_side=32\)"):
        VideoTriplets(clip, crop_size=(32, 40), max_side=32)


def test_downscales_add_each_clip_shrunk_under_the_same_split(clip):
    data = VideoTriplets(clip, split="train", gaps=(1, 2), downscales=(1, 2))
    assert [name for name, _, _ in data.clips] == ["clip.mkv", "clip.mkv@1/2"]
    np.testing.assert_array_equal(data.clips[1][1], read_video_frames(clip, max_side=32))  # (N, 24, 32, 3), area averaged
    whole = VideoTriplets(clip, split="train", gaps=(1, 2))
    by_size = {name: [data.triplet(i)[1:] for i in range(len(data)) if data.triplet(i)[0] == name] for name, _, _ in data.clips}
    assert by_size["clip.mkv"] == [whole.triplet(i)[1:] for i in range(len(whole))]
    assert by_size["clip.mkv@1/2"] and all(last < BOUNDARY for _, _, last, _ in by_size["clip.mkv@1/2"])
    shrunk = data[len(data) - 1]
    assert shrunk["source"] == "clip.mkv@1/2" and shrunk["prev"].shape == (3, 24, 32)
    held_out = VideoTriplets(clip, split="eval", gaps=(1, 2), downscales=(2,))
    assert len(held_out) and all(held_out.triplet(i)[1] >= BOUNDARY for i in range(len(held_out)))
    assert [name for name, _, _ in held_out.clips] == ["clip.mkv@1/2"]


def test_a_downscale_below_the_crop_skips_that_size_and_says_so(clip):
    data = VideoTriplets(clip, split="train", crop_size=(32, 40), downscales=(1, 2))
    assert data.skipped == ["clip.mkv@1/2 (24x32)"]
    assert len(data) == len(VideoTriplets(clip, split="train", crop_size=(32, 40)))


@pytest.mark.parametrize("downscales", [(), (0,), (1, 1), (2.0,)])
def test_bad_downscales(clip, downscales):
    with pytest.raises(ValueError, match="downscales must"):
        VideoTriplets(clip, downscales=downscales)


def test_no_usable_triplet_names_the_clips(tmp_path):
    still = encode(tmp_path / "still.mkv", np.repeat(synthetic_frames()[:1], 12, axis=0))
    with pytest.raises(ValueError, match="no usable train triplets .* in .*still.mkv"):
        VideoTriplets(still)
    with pytest.raises(ValueError, match="split must be one of"):
        VideoTriplets(still, split="test")


# ---------------------------------------------------------------------------------- fetching


def fake_clip_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in video.OPENCV_CLIPS:
        (folder / name).write_bytes(name.encode())
    return folder


def test_fetch_copies_from_the_installed_package_once(tmp_path):
    source = fake_clip_folder(tmp_path / "doc")
    dest = tmp_path / "data" / "opencv"
    paths = fetch_opencv_clips(dest, source_dir=source)
    assert paths == [dest / name for name in ("vtest.avi", "tree.avi", "Megamind.avi")]
    assert [p.read_bytes() for p in paths] == [p.name.encode() for p in paths]
    for name in video.OPENCV_CLIPS:
        (source / name).unlink()
    assert fetch_opencv_clips(dest, source_dir=source) == paths  # present: nothing to do
    assert fetch_main(["--dest", str(dest)]) == 0


def write_tool(bin_dir: Path, name: str, script: str) -> None:
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)


def test_fetch_downloads_the_package_with_apt(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_tool(bin_dir, "apt-get", 'test "$1 $2" = "download opencv-doc" && echo deb > opencv-doc_4.6.0_all.deb\n')
    data = "$3/usr/share/doc/opencv-doc/examples/data"  # dpkg -x DEB DIR
    write_tool(bin_dir, "dpkg", f'mkdir -p {data} && for f in vtest tree Megamind; do echo $f > {data}/$f.avi; done\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    paths = fetch_opencv_clips(tmp_path / "opencv", source_dir=tmp_path / "not-installed")
    assert [p.read_text() for p in paths] == ["vtest\n", "tree\n", "Megamind\n"]


def test_fetch_reports_a_failing_apt(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_tool(bin_dir, "apt-get", "echo 'E: Unable to locate package opencv-doc' >&2; exit 100\n")
    write_tool(bin_dir, "dpkg", "exit 0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError, match="(?s)Unable to locate package.*apt-get update"):
        fetch_opencv_clips(tmp_path / "opencv", source_dir=tmp_path / "not-installed")


def test_fetch_without_package_or_apt_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(video.shutil, "which", lambda name: None)
    dest = tmp_path / "opencv"
    with pytest.raises(RuntimeError, match=f"(?s)no apt-get/dpkg.*apt-get download opencv-doc.*copy the three files into {dest}"):
        fetch_opencv_clips(dest, source_dir=tmp_path / "not-installed")
    monkeypatch.setattr(video, "fetch_opencv_clips", lambda dest: (_ for _ in ()).throw(RuntimeError("no way")))
    assert fetch_main(["--dest", str(dest)]) == 2
    assert "nlvfi data fetch: error: no way" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- the real clips

REAL = Path(__file__).resolve().parent.parent / "data" / "opencv"


@pytest.mark.parametrize("name", ["vtest.avi", "tree.avi", "Megamind.avi"])
def test_real_opencv_clip_gives_train_and_eval_triplets(name):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} absent (python data/fetch.py)")
    frames, times = read_video(path, max_side=96)
    assert frames.shape[0] == {"vtest.avi": 795, "tree.avi": 68, "Megamind.avi": 270}[name]
    train = extract_triplets(frames, split="train", times=times)
    held_out = extract_triplets(frames, split="eval", times=times)
    assert train and held_out
    assert max(t[2] for t in train) < min(t[0] for t in held_out)
