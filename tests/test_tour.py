"""The main job runs on the bundled real triplet and writes its figure and numbers."""

import json

import pytest
import torch

from nlvfi.cli import main


def test_tour_writes_figure_numbers_and_frame(tmp_path, capsys):
    assert main(["tour", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "tour.json").read_text())
    assert metrics["frame_size"] == [576, 768]
    assert metrics["weights"].startswith("untrained")
    # averaging two real frames 4 frames apart is far from perfect: the numbers are real
    assert 15 < metrics["psnr_db"]["average_of_the_two_frames"] < 40
    assert (tmp_path / "tour.png").stat().st_size > 100_000
    assert (tmp_path / "generated_middle.png").is_file()
    assert "PSNR vs the true middle frame" in capsys.readouterr().out


def test_tour_with_a_missing_checkpoint_fails_clearly(tmp_path, capsys):
    assert main(["tour", "--checkpoint", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert not (tmp_path / "tour.png").exists()


def test_tour_with_a_small_checkpoint(tmp_path):
    """small pads to 32 while attention cells stay 16 px: the figure must use each correctly."""
    import nlvfi

    checkpoint = tmp_path / "small.safetensors"
    nlvfi.save_generator(nlvfi.build_generator("small"), checkpoint)
    assert main(["tour", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "tour.json").read_text())["model"] == "small"


def test_tour_refuses_a_device_it_cannot_run_on():
    # the same check as interpolate and repair (tour.pick_device): found by QA for those two
    from nlvfi.tour import pick_device

    with pytest.raises(ValueError, match="--device meta: nlvfi cannot run on meta devices"):
        pick_device("meta")
    assert pick_device("cpu") == torch.device("cpu")
