"""Vimeo-90K triplets: the standard frame interpolation benchmark, read from its folder layout.

The triplet release (Xue et al., "Video Enhancement with Task-Oriented Flow", 2019) unpacks to

    root/tri_trainlist.txt            lines like ``00001/0001`` (51,312 of them)
    root/tri_testlist.txt             (3,782)
    root/sequences/00001/0001/im1.png im2.png im3.png     448x256 RGB

im1 and im3 are the inputs, im2 the true middle frame (t = 0.5). The data set is not
downloaded by nlvfi (its licence asks for a manual download); point ``root`` at the unpacked
folder. Flow convention of nlvfi: see ``nlvfi/warping.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .augment import crop_shape, prepare_sample

LIST_FILES = {"train": "tri_trainlist.txt", "test": "tri_testlist.txt"}
FRAME_NAMES = ("im1.png", "im2.png", "im3.png")  # prev, middle, next


def read_sequence_list(path: str | os.PathLike) -> list[str]:
    """Sequence ids (``"00001/0001"``) listed in a Vimeo list file; blank lines ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Vimeo-90K list file: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _read_png(path: Path) -> torch.Tensor:
    """(3, H, W) uint8 RGB."""
    if not path.is_file():
        raise FileNotFoundError(f"missing Vimeo-90K frame: {path}")
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))  # (H, W, 3)
    except OSError as error:
        raise ValueError(f"{path} is not a readable image: {error}") from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)  # (3, H, W)


class VimeoTriplets(Dataset):
    """Vimeo-90K triplets as nlvfi samples.

    Args:
        root: the unpacked ``vimeo_triplet`` folder (holds ``sequences/`` and the list files).
        split: ``"train"`` (tri_trainlist.txt) or ``"test"`` (tri_testlist.txt).
        crop_size: int or (height, width); random with ``augment``, centred without.
        augment: random crop, flips, temporal reversal from (seed, epoch, index).
        seed: augmentation seed.
    Items:
        {"prev", "middle", "next": (3, H, W) float32 in [0, 1], "t": () float32 0.5, "gap": 1,
        "source": "vimeo/<sequence id>"}.
    Raises:
        FileNotFoundError naming the missing root, sequences folder, list file or (on access)
        frame; ValueError for an empty list.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        crop_size: int | tuple[int, int] | None = None,
        augment: bool = False,
        seed: int = 0,
    ):
        if split not in LIST_FILES:
            raise ValueError(f"split must be one of {tuple(LIST_FILES)}, got {split!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"no Vimeo-90K folder: {self.root}")
        if not (self.root / "sequences").is_dir():
            raise FileNotFoundError(f"no sequences folder in the Vimeo-90K root: {self.root / 'sequences'}")
        list_file = self.root / LIST_FILES[split]
        self.sequences = read_sequence_list(list_file)
        if not self.sequences:
            raise ValueError(f"Vimeo-90K list {list_file} lists no sequence")
        self.split, self.crop_size, self.augment, self.seed, self.epoch = split, crop_size, augment, seed, 0
        if crop_size is not None:  # fail now, not in the middle of an epoch (448x256 in the release)
            height, width = crop_shape(crop_size)
            first = self.frame_paths(0)[0]
            if not first.is_file():
                raise FileNotFoundError(f"missing Vimeo-90K frame: {first}")
            with Image.open(first) as image:
                image_width, image_height = image.size
            if height > image_height or width > image_width:
                raise ValueError(f"crop {height}x{width} (HxW) is larger than the image {image_height}x{image_width} of {first}")

    def __len__(self) -> int:
        return len(self.sequences)

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation of every item for this epoch."""
        self.epoch = int(epoch)

    def frame_paths(self, index: int) -> tuple[Path, Path, Path]:
        """Paths of im1, im2, im3 of sequence ``index``."""
        folder = self.root / "sequences" / self.sequences[index]
        return tuple(folder / name for name in FRAME_NAMES)

    def __getitem__(self, index: int) -> dict:
        prev, middle, next = (_read_png(path) for path in self.frame_paths(index))  # (3, H, W) uint8 each
        if not prev.shape == middle.shape == next.shape:
            raise ValueError(
                f"frames of Vimeo-90K sequence {self.sequences[index]} differ in size: "
                f"{tuple(prev.shape)}, {tuple(middle.shape)}, {tuple(next.shape)}"
            )
        sample = {
            "prev": prev,
            "middle": middle,
            "next": next,
            "t": torch.tensor(0.5, dtype=torch.float32),
            "gap": 1,
            "source": f"vimeo/{self.sequences[index]}",
        }
        return prepare_sample(sample, self.crop_size, self.augment, self.seed, self.epoch, index)
