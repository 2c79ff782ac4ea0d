"""benchmarks/cpu_training.py: what it measures and prints. The benchmark itself is run by hand
(its docstring says how); here the CI recipe trains two steps a phase."""

import platform
import sys

import pytest

from nlvfi.train_config import load_train_config
from project_scripts import ROOT, load_script

cpu_training = load_script("benchmarks/cpu_training.py")
GLIBC_LINUX = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_each_phase_is_cut_to_the_steps_asked_and_validated_once_at_the_end(tmp_path):
    config = cpu_training.shortened(load_train_config(ROOT / "configs" / "cpu.toml"), 7, 50, tmp_path)
    assert (config.optim.flow_pretrain_steps, config.optim.pretrain_steps, config.optim.gan_steps) == (7, 7, 7)
    assert config.data.synthetic_samples == 50 and config.run.out_dir == str(tmp_path) and config.run.device == "cpu"
    assert config.run.validate_every > config.total_steps and config.run.checkpoint_every > config.total_steps
    without_flow = load_train_config(ROOT / "configs" / "ci.toml")
    without_flow.optim.flow_pretrain_steps = 0
    assert cpu_training.shortened(without_flow, 7, 50, tmp_path).optim.flow_pretrain_steps == 0  # no phase is added


def test_a_phases_speed_is_the_median_of_its_steps_after_the_first_ones(tmp_path):
    log = tmp_path / "log.csv"
    rows = [("flow", 100.0), ("flow", 10.0), ("flow", 12.0), ("pretrain", 1.0), ("pretrain", 3.0), ("pretrain", 5.0), ("pretrain", 4.0)]
    log.write_text("step,phase,samples_per_s\n" + "".join(f"{i},{phase},{speed}\n" for i, (phase, speed) in enumerate(rows, 1)))
    assert cpu_training.phase_speeds(log, 1) == {"flow": 11.0, "pretrain": 4.0}
    assert cpu_training.phase_speeds(log, 5) == {"flow": 12.0, "pretrain": 3.5}  # none left: all of the phase's steps


@pytest.mark.skipif(not GLIBC_LINUX, reason="the freed memory is kept with glibc's malloc on Linux only")
def test_a_run_is_measured_in_a_fresh_process_with_its_speeds_time_memory_and_weights(tmp_path):
    config = ROOT / "configs" / "ci.toml"
    run = cpu_training.measure_run(config, 2, 8, "kept", tmp_path / "run", skip=0)
    assert run["allocator"] == "kept" and set(run["speeds"]) == {"flow", "pretrain", "gan"}
    assert all(speed > 0 for speed in run["speeds"].values()) and run["wall"] > 0 and run["validation"] > 0
    assert 0 <= run["kernel"] <= 1 and run["peak_rss"] > 100 << 20 and len(run["digest"]) == 64


def test_the_table_gives_each_allocators_medians_against_the_systems():
    def run(allocator, wall, digest):
        speeds = {"flow": wall, "pretrain": 2 * wall, "gan": 3 * wall}
        return {"allocator": allocator, "wall": wall, "validation": 1.0, "kernel": 0.2, "peak_rss": 2e9, "speeds": speeds, "digest": digest}

    runs = [run("system", 10.0, "a"), run("system", 12.0, "a"), run("kept", 6.0, "a"), run("kept", 9.0, "a")]
    table = cpu_training.format_table(cpu_training.summarise(runs), 40, 400, "configs/cpu.toml", 60.0, "python benchmarks/cpu_training.py")
    assert "`python benchmarks/cpu_training.py`" in table and "each phase cut to 40 steps on 400 synthetic scenes" in table
    assert "| system | 2 | 11.00 | 22.00 | 33.00 | 11.0 | 1.00 | 1.0 | 20% | 2.00 | - |" in table
    assert "| kept | 2 | 7.50 | 15.00 | 22.50 | 7.5 | 0.68 | 1.0 | 20% | 2.00 | identical |" in table
    runs[-1]["digest"] = "b"  # one kept run trained other weights
    assert "| kept | 2 | 7.50 | 15.00 | 22.50 | 7.5 | 0.68 | 1.0 | 20% | 2.00 | differ |" in cpu_training.format_table(
        cpu_training.summarise(runs), 40, 400, "configs/cpu.toml", 60.0, "python benchmarks/cpu_training.py"
    )
