"""benchmarks/cpu_memory.py: what it measures and prints. The benchmark itself is run by hand
(its docstring says how); here one tiny call in fresh processes."""

import json
import platform
import sys

import pytest
import torch

from nlvfi.interpolate import FLOW_2X_FACTOR, KEPT_HEAP_FACTOR
from project_scripts import load_script

cpu_memory = load_script("benchmarks/cpu_memory.py")
GLIBC_LINUX = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_the_pair_is_one_smooth_texture_moved_a_few_pixels():
    prev, next = cpu_memory.moving_pair(64, 48, 2, shift=3)
    assert prev.shape == next.shape == (2, 3, 48, 64) and 0 <= float(prev.min()) and float(prev.max()) <= 1
    assert torch.equal(prev[:, :, 3:, 3:], next[:, :, :-3, :-3])  # the same texture, 3 px right and down
    assert not torch.equal(prev, next) and not torch.equal(prev[0], prev[1])


def test_the_estimates_are_the_planners_with_and_without_the_kept_heap():
    system, kept = cpu_memory.estimates("small", 1920, 1080, 0, 2)
    assert kept == pytest.approx(system * KEPT_HEAP_FACTOR["small"]) and system > 2 * 3500  # MB, two frames
    tiled, _ = cpu_memory.estimates("small", 1920, 1080, 512, 1)
    assert tiled < system / 2
    system, kept = cpu_memory.estimates("full", 640, 480, 0, 1)  # the flow at 2x there (flow scale auto)
    live = cpu_memory.memory_needed(cpu_memory.build_generator("full"), 480, 640) / 2**20
    assert system == pytest.approx(live * FLOW_2X_FACTOR["full"]) and kept == pytest.approx(system)  # the larger allowance


@pytest.mark.skipif(not GLIBC_LINUX, reason="the freed memory is kept with glibc's malloc on Linux only")
def test_each_allocator_is_measured_in_a_fresh_process_and_tabled(tmp_path, capsys):
    runs = tmp_path / "runs.json"
    argv = ["--sizes", "tiny", "--resolutions", "64x48", "--repeats", "1", "--calls", "1", "--runs", str(runs), "--out", str(tmp_path / "t.md")]
    assert cpu_memory.main(argv) == 0
    measured = json.loads(runs.read_text())
    assert [run["allocator"] for run in measured] == ["system", "kept"]
    assert all(run["peak_mb"] > 0 and run["seconds"] > 0 and run["wall"] > 0 and run["resolution"] == "64x48" for run in measured)
    table = (tmp_path / "t.md").read_text()
    assert "| tiny | 64x48 | whole frames | 1 |" in table and table in capsys.readouterr().out
    assert cpu_memory.main(["--from-runs", str(runs)]) == 0  # the same table again, nothing measured
    again = capsys.readouterr().out
    assert again.strip().splitlines()[-1] == table.strip().splitlines()[-1]


def test_the_table_gives_every_processs_peak_and_the_worst_against_each_estimate():
    def run(allocator, peak, resolution="1920x1080", tile=0):
        return {"size": "full", "resolution": resolution, "tile": tile, "batch": 1, "allocator": allocator, "peak_mb": peak, "seconds": 1.0}

    system, kept = cpu_memory.estimates("full", 1920, 1080, 0, 1)
    runs = [run("system", 5500.0), run("kept", 7400.0), run("system", 5700.0), run("kept", 10500.0), run("kept", 900.0, "640x480", 256)]
    table = cpu_memory.format_table(cpu_memory.summarise(runs), 2, 60.0, "python benchmarks/cpu_memory.py")
    assert "`python benchmarks/cpu_memory.py`" in table and "2 calls in a row" in table
    row = (
        f"| full | 1920x1080 | whole frames | 1 | {system:,.0f} | 5,500 / 5,700 | {5700 / system:.2f} | {kept:,.0f} | "
        f"7,400 / 10,500 | {10500 / kept:.2f} | {10500 / 5700:.2f} |"
    )
    assert row in table
    assert "| full | 640x480 | tiles of 256 px | 1 |" in table and "| - | - |" in table  # no system run there


@pytest.mark.skipif(not GLIBC_LINUX, reason="the freed memory is kept with glibc's malloc on Linux only")
def test_all_allocators_include_the_kept_memory_given_back(tmp_path, capsys):
    runs = tmp_path / "runs.json"
    argv = ["--allocator", "all", "--sizes", "tiny", "--resolutions", "64x48", "--repeats", "1", "--calls", "1", "--runs", str(runs)]
    assert cpu_memory.main(argv) == 0
    measured = json.loads(runs.read_text())
    assert [run["allocator"] for run in measured] == ["system", "kept", "given back"]
    assert all(run["peak_mb"] > 0 and run["seconds"] > 0 for run in measured)
    out = capsys.readouterr().out
    assert "The kept memory given back" in out and "| s a call, given back |" in out


def test_the_given_back_table_sets_each_peak_against_the_estimate_as_glibc_comes():
    def run(allocator, peak, seconds, tile=0):
        return {"size": "full", "resolution": "1920x1080", "tile": tile, "batch": 1, "allocator": allocator, "peak_mb": peak, "seconds": seconds}

    system, _ = cpu_memory.estimates("full", 1920, 1080, 0, 1)
    tiled, _ = cpu_memory.estimates("full", 1920, 1080, 512, 1)
    runs = [run("system", 5800.0, 71.0), run("kept", 9800.0, 50.0), run("given back", 5500.0, 69.0), run("given back", 5600.0, 70.5),
            run("given back", 2000.0, 140.0, 512)]  # fmt: skip
    table = cpu_memory.format_table(cpu_memory.summarise(runs), 2, 60.0, "python benchmarks/cpu_memory.py --allocator all")
    assert f"| full | 1920x1080 | whole frames | 1 | {system:,.0f} | 5,500 / 5,600 | {5600 / system:.2f} | 71.0 | 50.0 | 69.0 / 70.5 |" in table
    assert f"| full | 1920x1080 | tiles of 512 px | 1 | {tiled:,.0f} | 2,000 | {2000 / tiled:.2f} | - | - | 140.0 |" in table
    without = cpu_memory.format_table(cpu_memory.summarise(runs[:2]), 2, 60.0, "python benchmarks/cpu_memory.py")
    assert "given back" not in without  # the second table only with given-back runs
