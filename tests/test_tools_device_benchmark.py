"""benchmarks/tools_device.py: the clip it enlarges, a tool run in its process, and how its
report judges a budget. The benchmark itself runs on a CUDA machine
(``bash scripts/gpu_tools_check.sh``; results/tools_cuda.md); here it runs on the CPU, small."""

import pytest
import torch

from nlvfi.videoio import read_video_rgb

from project_scripts import load_script

tools_device = load_script("benchmarks/tools_device.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def test_the_enlarged_clip_holds_its_copies(tmp_path):
    path = tmp_path / "big.mkv"
    assert tools_device.enlarged_clip(path, "96x64", frames=8, copies=(5, 6)) == [5, 6]
    frames, _ = read_video_rgb(path)
    assert len(frames) == 8 and frames[0].shape == (64, 96, 3)
    assert (frames[5] == frames[4]).all() and (frames[6] == frames[4]).all()
    assert not (frames[3] == frames[4]).all() and not (frames[7] == frames[4]).all()


def test_budget_rows_run_each_tool_and_keep_its_refusal(tmp_path):
    rows = tools_device.budget_rows("cpu", "96x64", tmp_path, [0.0001, None], [None])
    refused, repaired, video = rows
    assert refused["status"] == 2 and "budget" in refused["refused"] and not refused["written"]
    assert repaired["status"] == 0 and repaired["replaced"] and "whole frames" in repaired["plan"]
    assert video["tool"] == "interpolate --factor 2" and video["replaced"] and video["plan"].startswith("whole frames")
    assert repaired["peak"] is None  # the CPU has no per-call peak


def test_the_report_judges_the_budget_by_what_was_reserved():
    gib = 1024**3
    row = {"tool": "repair", "resolution": "3840x2160", "plan": "whole frames, up to 1 per call", "replaced": True, "seconds": 5.0}
    rows = [
        {**row, "budget": 16.0, "peak": (int(12.6 * gib), int(16.7 * gib))},  # allocated within, reserved not
        {**row, "budget": 16.0, "peak": (int(12.6 * gib), int(14.3 * gib))},
        {**row, "budget": 3.0, "status": 2, "refused": "a frame needs about 15.3 GB", "written": False},
    ]
    lines = tools_device.table_budget(rows)
    assert lines[-4].endswith("| **no** |") and lines[-3].endswith("| yes |")
    assert "refused (exit 2): a frame needs about 15.3 GB | nothing written" in lines[-2]


def test_a_forward_row_on_the_cpu_times_it_and_gives_the_estimate():
    from nlvfi.generator import build_generator

    generator = build_generator("tiny").eval()
    row = tools_device.forward_row(generator, torch.device("cpu"), "64x48", 2, None, repeats=1)
    assert row["estimate"] == tools_device.memory_needed(generator, 48, 64, 2) and row["fps"] > 0 and row["peak"] is None
    tiled = tools_device.forward_row(generator, torch.device("cpu"), "96x64", 1, 32, repeats=1)
    assert tiled["estimate"] == tools_device.memory_needed_tiled(generator, 64, 96, 32, 1)
