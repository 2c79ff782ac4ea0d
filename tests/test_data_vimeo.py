"""Vimeo-90K triplets, read from a tiny tree in the real layout built here (a few 64x48 PNGs)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nlvfi.data.vimeo import VimeoTriplets, read_sequence_list

W, H = 64, 48
TRAIN = ("00001/0001", "00001/0002", "00002/0001")
TEST = ("00003/0007",)


def frame_pixels(sequence: str, number: int) -> np.ndarray:
    """(H, W, 3) uint8, different for every sequence and frame."""
    seed = int(sequence.replace("/", "")) * 10 + number
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture
def root(tmp_path) -> Path:
    for sequence in TRAIN + TEST:
        folder = tmp_path / "sequences" / sequence
        folder.mkdir(parents=True)
        for number in (1, 2, 3):
            Image.fromarray(frame_pixels(sequence, number)).save(folder / f"im{number}.png")
    (tmp_path / "tri_trainlist.txt").write_text("\n".join(TRAIN) + "\n\n")  # trailing blank lines, as shipped
    (tmp_path / "tri_testlist.txt").write_text("\n" + "\n".join(TEST) + "\n")
    return tmp_path


def as_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(2, 0, 1).float() / 255  # (3, H, W)


def test_list_file_ignores_blank_lines(root):
    assert read_sequence_list(root / "tri_trainlist.txt") == list(TRAIN)


@pytest.mark.parametrize("split, sequences", [("train", TRAIN), ("test", TEST)])
def test_items_are_the_listed_frames(root, split, sequences):
    data = VimeoTriplets(root, split=split)
    assert len(data) == len(sequences)
    for index, sequence in enumerate(sequences):
        item = data[index]
        assert set(item) == {"prev", "middle", "next", "t", "gap", "source"}
        for key, number in (("prev", 1), ("middle", 2), ("next", 3)):
            assert item[key].dtype == torch.float32 and item[key].shape == (3, H, W)
            torch.testing.assert_close(item[key], as_tensor(frame_pixels(sequence, number)))
        assert item["t"].shape == () and item["t"].item() == 0.5
        assert item["gap"] == 1 and item["source"] == f"vimeo/{sequence}"


def test_crop_and_deterministic_augmentation(root):
    centred = VimeoTriplets(root, crop_size=(16, 32))[0]
    torch.testing.assert_close(centred["prev"], as_tensor(frame_pixels(TRAIN[0], 1))[:, 16:32, 16:48])
    data = VimeoTriplets(root, crop_size=24, augment=True, seed=7)
    first = data[1]
    assert first["next"].shape == (3, 24, 24)
    torch.testing.assert_close(data[1]["next"], first["next"], rtol=0, atol=0)
    changed = []
    for epoch in range(1, 6):
        data.set_epoch(epoch)
        changed.append(not torch.equal(data[1]["next"], first["next"]))
    assert any(changed)
    with pytest.raises(ValueError, match="crop 64x64 .HxW. is larger than the image 48x64 of .*im1.png"):
        VimeoTriplets(root, crop_size=64)  # refused up front, not at the first item


def test_missing_root_sequences_and_list_name_the_path(tmp_path, root):
    with pytest.raises(FileNotFoundError, match="no Vimeo-90K folder: .*nowhere"):
        VimeoTriplets(tmp_path / "nowhere")
    (root / "tri_testlist.txt").unlink()
    with pytest.raises(FileNotFoundError, match="no Vimeo-90K list file: .*tri_testlist.txt"):
        VimeoTriplets(root, split="test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no sequences folder .*empty/sequences"):
        VimeoTriplets(empty)


def test_missing_image_names_the_file(root):
    (root / "sequences" / "00001" / "0002" / "im2.png").unlink()
    data = VimeoTriplets(root)
    data[0]  # the others still load
    with pytest.raises(FileNotFoundError, match="missing Vimeo-90K frame: .*00001/0002/im2.png"):
        data[1]


def test_empty_list_and_unknown_split(root):
    (root / "tri_trainlist.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="lists no sequence"):
        VimeoTriplets(root)
    with pytest.raises(ValueError, match="split must be one of"):
        VimeoTriplets(root, split="eval")
