"""The trainer: both phases run, resume is exact, DDP matches one process, bad input fails early."""

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import nlvfi
from nlvfi.cli import main as cli_main
from nlvfi.train import STATE_FILE, Trainer, main
from nlvfi.train_config import TrainConfig, load_train_config

ROOT = Path(__file__).resolve().parent.parent


def _config(out_dir, **optim) -> TrainConfig:
    """A seconds-long recipe: tiny model, 32x32 synthetic crops."""
    raw = {
        "model": {"size": "tiny", "discriminator_size": "tiny"},
        "data": {"crop_size": 32, "synthetic_samples": 16, "synthetic_motion": ["small", "medium"],
                 "val_synthetic_samples": 2, "val_video_triplets": 0},
        "optim": {"batch_size": 2, "pretrain_steps": 3, "gan_steps": 3, **optim},
        "run": {"out_dir": str(out_dir), "seed": 3, "device": "cpu", "validate_every": 100, "checkpoint_every": 100},
    }  # fmt: skip
    return TrainConfig.from_dict(raw)


def _state(out_dir):
    return torch.load(Path(out_dir) / STATE_FILE, weights_only=True)


def test_ci_config_trains_all_phases_and_writes_everything(tmp_path):
    config = load_train_config(ROOT / "configs" / "ci.toml")
    config.run.out_dir = str(tmp_path / "run")
    validation = Trainer(config, quiet=True).fit()
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert len(rows) == config.total_steps
    assert [r["phase"] for r in rows] == ["flow"] * 4 + ["pretrain"] * 12 + ["gan"] * 8
    gan_rows = [r for r in rows if r["phase"] == "gan"]
    assert all(r["loss_d"] and r["d_real"] and r["loss_adv"] for r in gan_rows)
    assert all(float(r["samples_per_s"]) > 0 for r in rows)
    assert "synthetic" in validation and 5 < validation["synthetic"]["psnr"] < 60
    assert (tmp_path / "run" / "validation.csv").read_text().count("synthetic") == 3  # steps 10, 20, 24
    generator = nlvfi.load_generator(tmp_path / "run" / "generator_last.safetensors")
    assert generator.config.name == "tiny"
    assert (tmp_path / "run" / "best.pt").is_file()


def test_training_lowers_the_pixel_loss(tmp_path):
    config = _config(tmp_path / "run", pretrain_steps=30, gan_steps=0, lr_generator=2e-3)
    config.data.synthetic_motion = ["small"]
    Trainer(config, quiet=True).fit()
    losses = [float(r["loss_pixel"]) for r in csv.DictReader(open(tmp_path / "run" / "log.csv"))]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5


def test_resume_continues_bitwise(tmp_path):
    straight = _config(tmp_path / "straight")
    Trainer(straight, quiet=True).fit()
    halves = _config(tmp_path / "halves")
    Trainer(halves, stop_after=3, quiet=True).fit()  # stops at the phase boundary
    assert _state(tmp_path / "halves")["step"] == 3
    Trainer(halves, resume=True, quiet=True).fit()
    a, b = _state(tmp_path / "straight"), _state(tmp_path / "halves")
    assert a["step"] == b["step"] == 6
    for part in ("generator", "discriminator"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["opt_g"]["state"][0]["exp_avg"].equal(b["opt_g"]["state"][0]["exp_avg"])
    log = list(csv.DictReader(open(tmp_path / "halves" / "log.csv")))
    assert [int(r["step"]) for r in log] == list(range(1, 7))


def test_flow_phase_trains_only_the_flow_module_and_resumes_bitwise(tmp_path):
    straight = _config(tmp_path / "straight", flow_pretrain_steps=3, pretrain_steps=1, gan_steps=1)
    trainer = Trainer(straight, stop_after=3, quiet=True)
    initial = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.fit()
    after_flow = trainer.generator.state_dict()
    changed = {k.split(".")[0] for k in initial if not torch.equal(initial[k], after_flow[k])}
    assert changed == {"flow"}  # the rest of the generator is untouched in phase 0
    Trainer(straight, resume=True, quiet=True).fit()
    rows = list(csv.DictReader(open(tmp_path / "straight" / "log.csv")))
    assert [r["phase"] for r in rows] == ["flow"] * 3 + ["pretrain", "gan"]
    assert all(float(r["loss_flow"]) > 0 and r["loss_pixel"] == "" for r in rows[:3])
    once = _config(tmp_path / "once", flow_pretrain_steps=3, pretrain_steps=1, gan_steps=1)
    Trainer(once, quiet=True).fit()
    a, b = _state(tmp_path / "straight"), _state(tmp_path / "once")
    assert all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])


def test_dis_teacher_gives_real_crops_flow_targets():
    """A crop without true flow gets DIS flows both ways; here a texture shifted by 2 px."""
    pytest.importorskip("cv2")
    from nlvfi.data.synthetic import FlyingLayers
    from nlvfi.train import TrainingSample

    texture = FlyingLayers(1, motion="small", size=96, seed=0)[0]["prev"]  # (3, 96, 96)
    prev, next = texture[:, 8:72, 8:72], texture[:, 8:72, 6:70]  # next = prev moved 2 px right

    class RealCrops(torch.utils.data.Dataset):  # what VideoTriplets gives: frames, no truth
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return {"prev": prev, "middle": prev, "next": next}

    plain, taught = TrainingSample(RealCrops())[0], TrainingSample(RealCrops(), flow_teacher="dis")[0]
    assert plain["has_flow"] == 0 and plain["has_depth"] == 0 and not plain["flow_forward"].any()
    assert taught["has_flow"] == 1 and taught["has_depth"] == 0
    inner = (slice(None), slice(16, 48), slice(16, 48))
    assert abs(taught["flow_forward"][inner][0].median() - 2) < 0.5  # dx = +2
    assert abs(taught["flow_backward"][inner][0].median() + 2) < 0.5  # dx = -2


def test_flow_phase_config_errors(tmp_path):
    with pytest.raises(ValueError, match="flow_teacher must be"):
        TrainConfig.from_dict({"data": {"flow_teacher": "raft"}})
    with pytest.raises(ValueError, match="flow_pretrain_steps needs flow targets"):
        TrainConfig.from_dict({"data": {"synthetic_samples": 0, "videos": ["a.avi"]}, "optim": {"flow_pretrain_steps": 5}})
    with pytest.raises(ValueError, match="flow_pretrain_steps must be >= 0"):
        TrainConfig.from_dict({"optim": {"flow_pretrain_steps": -1}})


@pytest.mark.parametrize("downscales", [[], [0, 2], [1, 1], [1.5]])
def test_bad_video_downscales_are_refused(downscales):
    with pytest.raises(ValueError, match=r"\[data\] video_downscales must"):
        TrainConfig.from_dict({"data": {"videos": ["a.avi"], "video_downscales": downscales}})


def test_resume_drops_log_rows_past_the_checkpoint(tmp_path):
    """A run killed between checkpoints logged steps that resume will train again."""
    run = tmp_path / "run"
    config = _config(run)
    Trainer(config, stop_after=2, quiet=True).fit()
    with open(run / "log.csv", "a") as f:  # what a run killed at step 4 would have left
        f.write("3,pretrain,9,9,,,,,,,,,1\n4,pretrain,9,9,,,,,,,,,1\n")
    Trainer(config, resume=True, quiet=True).fit()
    steps = [int(r["step"]) for r in csv.DictReader(open(run / "log.csv"))]
    assert steps == list(range(1, 7))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_step_matches_one_process(tmp_path):
    """2 gloo processes x batch 2 == 1 process x batch 4, and both ranks agree exactly.

    One flow-only step (phase 0, gradients averaged by hand) then one pixel-loss step."""
    config_text = (ROOT / "configs" / "ci.toml").read_text()
    config_text = config_text.replace("flow_pretrain_steps = 4", "flow_pretrain_steps = 1")
    config_text = config_text.replace("\npretrain_steps = 12", "\npretrain_steps = 1").replace("gan_steps = 8", "gan_steps = 0")
    ddp_config = tmp_path / "ddp.toml"
    ddp_config.write_text(config_text)
    single_config = tmp_path / "single.toml"
    single_config.write_text(config_text.replace("batch_size = 2", "batch_size = 4"))
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os, sys, torch\n"
        "import torch.distributed as dist\n"
        "from nlvfi.train import Trainer\n"
        "from nlvfi.train_config import load_train_config\n"
        "config = load_train_config(sys.argv[1]); config.run.out_dir = sys.argv[2]\n"
        "dist.init_process_group('gloo')\n"
        "trainer = Trainer(config, quiet=True); trainer.fit()\n"
        "torch.save(trainer.generator.state_dict(), f'{sys.argv[2]}/rank{dist.get_rank()}.pt')\n"
        "dist.destroy_process_group()\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
               str(probe), str(ddp_config), str(tmp_path / "ddp")]  # fmt: skip
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    assert main(["--config", str(single_config), "--out-dir", str(tmp_path / "single"), "--quiet"]) == 0
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt", weights_only=True)
    single = _state(tmp_path / "single")["generator"]
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    for k in rank0:
        # Adam's first steps divide by sqrt(v): float summation order (gloo vs one batch) shows
        # up at ~1e-5 of a 1e-3 step on near-zero gradients
        torch.testing.assert_close(rank0[k], single[k], atol=1e-4, rtol=1e-4)
    assert any(not torch.equal(rank0[k], nlvfi.build_generator("tiny").state_dict()[k]) for k in rank0)


# ----------------------------------------------------------------------------- bad input
def _write(path, text):
    path.write_text(text)
    return path


def test_unknown_config_keys_are_refused(tmp_path, capsys):
    bad = _write(tmp_path / "bad.toml", "[optim]\nbatch_sise = 4\n")
    assert cli_main(["train", "--config", str(bad)]) == 2
    assert "unknown key(s) in [optim]: ['batch_sise']" in capsys.readouterr().err
    bad = _write(tmp_path / "bad2.toml", "[optimiser]\nbatch_size = 4\n")
    with pytest.raises(ValueError, match="unknown section"):
        load_train_config(bad)
    bad = _write(tmp_path / "bad3.toml", "[optim]\nbatch_size = 'four'\n")
    with pytest.raises(ValueError, match="batch_size must be int"):
        load_train_config(bad)


def test_missing_data_path_fails_before_training(tmp_path):
    config = _config(tmp_path / "run")
    config.data.videos = [str(tmp_path / "nope.avi")]
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        Trainer(config, quiet=True)
    assert not (tmp_path / "run").exists()


def test_corrupt_video_fails_before_training(tmp_path):
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + os.urandom(2000))
    config = _config(tmp_path / "run")
    config.data.videos = [str(corrupt)]
    with pytest.raises(ValueError, match="corrupt.avi"):
        Trainer(config, quiet=True)
    assert not (tmp_path / "run").exists()


def test_empty_dataset_fails_before_training(tmp_path):
    config = _config(tmp_path / "run")
    config.data.synthetic_samples = 0
    with pytest.raises(ValueError, match="no training data"):
        config.validate()
    config.data.synthetic_samples = 1  # fewer triplets than one batch
    with pytest.raises(ValueError, match="smaller than one batch"):
        Trainer(config, quiet=True)


def test_checkpoint_of_another_model_size_is_refused_and_nothing_overwritten(tmp_path):
    run = tmp_path / "run"
    Trainer(_config(run), stop_after=2, quiet=True).fit()
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    other = _config(run)
    other.model.size = "small"
    with pytest.raises(ValueError, match="trained with the tiny model"):
        Trainer(other, resume=True, quiet=True)
    with pytest.raises(ValueError, match="already holds a run"):
        Trainer(_config(run), quiet=True)
    init = _config(tmp_path / "fresh")
    init.model.size = "small"
    init.model.init = str(run / "generator_last.safetensors")
    with pytest.raises(ValueError, match="is a tiny generator"):
        Trainer(init, quiet=True)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_without_a_run_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no training state"):
        Trainer(_config(tmp_path / "run"), resume=True, quiet=True)


def test_nlvfi_train_keeps_the_memory_each_step_frees_on_the_runs_device(monkeypatch):
    """As the tools do on the CPU (nlvfi.acceleration.keep_freed_cpu_memory decides from the
    device; results/cpu_training.md), asked before the trainer is built."""
    from nlvfi import train

    asked = []

    class Recorded:
        def __init__(self, config, **kwargs):
            asked.append(("trainer", config.run.device))

        def fit(self):
            return {}

    monkeypatch.setattr(train, "keep_freed_cpu_memory", lambda device: asked.append(("keep", device)))
    monkeypatch.setattr(train, "Trainer", Recorded)
    config = str(ROOT / "configs" / "ci.toml")
    assert main(["--config", config]) == 0 and main(["--config", config, "--device", "auto"]) == 0
    assert asked == [("keep", "cpu"), ("trainer", "cpu"), ("keep", "auto"), ("trainer", "auto")]
