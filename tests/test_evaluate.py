"""The evaluation command: every method on every set, one table, files written."""

import json
import subprocess
import sys

import pytest
import torch

import nlvfi
from nlvfi import baselines
from nlvfi.evaluate import evaluate, main, markdown_table, synthetic_sets


def test_baselines_rank_as_expected_on_synthetic_motion():
    sets = synthetic_sets(3, size=64, buckets=("medium",))
    rows = evaluate({"repeat previous": baselines.repeat_previous, "average": baselines.average}, sets, progress=False)
    psnr = {r["method"]: r["psnr"] for r in rows}
    assert psnr["average"] > psnr["repeat previous"]  # averaging halves the misalignment error
    assert all(r["n"] == 3 and 0 < r["ssim"] <= 1 for r in rows)
    table = markdown_table(rows)
    assert "synthetic medium (3)" in table and "**" in table


def test_average_baseline_follows_t():
    prev, next = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert baselines.average(prev, next, 0.25).mean().item() == pytest.approx(0.25)


@pytest.mark.skipif(not baselines.dis_available(), reason="opencv-python-headless not installed")
def test_dis_baseline_recovers_a_translation():
    frame = torch.rand(1, 3, 64, 64)
    frame = torch.nn.functional.avg_pool2d(frame, 5, stride=1, padding=2)  # smooth texture
    moved = torch.roll(frame, shifts=4, dims=3)
    middle = torch.roll(frame, shifts=2, dims=3)
    flow = baselines.dis_flow(frame, moved)
    assert flow[0, 0, 16:-16, 16:-16].median().item() == pytest.approx(4.0, abs=0.5)
    interpolated = baselines.dis_interpolate(frame, moved, 0.5)
    error = (interpolated - middle)[..., 16:-16, 16:-16].abs().mean()
    assert error < (baselines.average(frame, moved) - middle)[..., 16:-16, 16:-16].abs().mean()


@pytest.mark.skipif(not baselines.minterpolate_available(), reason="PyAV without minterpolate")
def test_minterpolate_keeps_a_still_frame_and_shapes():
    still = torch.rand(1, 3, 37, 50)
    out = baselines.minterpolate(still, still)
    assert out.shape == still.shape
    torch.testing.assert_close(out, still, atol=3 / 255, rtol=0)  # 8-bit and yuv444p round trips
    torch.testing.assert_close(baselines.minterpolate(still, still, t=1 / 3), still, atol=3 / 255, rtol=0)
    with pytest.raises(ValueError, match="t = i/N"):
        baselines.minterpolate(still, still, t=0.123)


@pytest.mark.skipif(not baselines.minterpolate_available(), reason="PyAV without minterpolate")
def test_minterpolate_compensates_motion():
    """On a medium synthetic move, motion compensation beats plain averaging by over 2 dB."""
    from nlvfi.data.synthetic import FlyingLayers
    from nlvfi.metrics import psnr

    item = FlyingLayers(1, motion="medium", size=128, seed=0)[0]
    prev, middle, next = (item[k][None] for k in ("prev", "middle", "next"))
    assert psnr(baselines.minterpolate(prev, next), middle) > psnr(baselines.average(prev, next), middle) + 2


def test_command_writes_table_csv_and_json(tmp_path, capsys):
    checkpoint = tmp_path / "g.safetensors"
    nlvfi.save_generator(nlvfi.build_generator("tiny"), checkpoint)
    out = tmp_path / "eval"
    argv = ["--checkpoint", f"mine={checkpoint}", "--synthetic-samples", "2", "--synthetic-size", "64", "--no-dis", "--out", str(out)]
    assert main(argv) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in rows} == {"repeat previous", "average", "mine"}
    assert len(rows) == 3 * 4  # three methods x four motion buckets
    assert "structural_similarity" in (out / "table.md").read_text()
    assert (out / "results.csv").read_text().startswith("set,method,n,psnr")


def test_ensemble_adds_one_method_per_number_of_views(tmp_path):
    checkpoint = tmp_path / "g.safetensors"
    torch.manual_seed(0)
    nlvfi.save_generator(nlvfi.build_generator("tiny"), checkpoint)
    out = tmp_path / "eval"
    argv = ["--checkpoint", f"mine={checkpoint}", "--ensemble", "1", "4", "--synthetic-samples", "2",
            "--synthetic-size", "64", "--no-dis", "--out", str(out)]
    assert main(argv) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in rows} == {"repeat previous", "average", "mine", "mine, 4 views"}
    one = {r["set"]: r["psnr"] for r in rows if r["method"] == "mine"}
    four = {r["set"]: r["psnr"] for r in rows if r["method"] == "mine, 4 views"}
    assert one.keys() == four.keys() and one != four  # an untrained model is not mirror-symmetric


def test_module_runs_as_a_script():
    done = subprocess.run([sys.executable, "-m", "nlvfi.evaluate", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "held-out" in done.stdout


def test_an_interrupted_evaluation_goes_on_from_the_kept_sets(tmp_path, capsys, monkeypatch):
    from nlvfi import evaluate as evaluate_module

    checkpoint = tmp_path / "g.safetensors"
    torch.manual_seed(0)
    nlvfi.save_generator(nlvfi.build_generator("tiny"), checkpoint)
    out = tmp_path / "eval"
    argv = ["--checkpoint", f"mine={checkpoint}", "--synthetic-samples", "2", "--synthetic-size", "64", "--no-dis", "--out", str(out)]
    measured = []
    ssim = evaluate_module.ssim

    def ssim_then_stop(frame, middle):  # Ctrl-C in the second set
        measured.append(1)
        if len(measured) == 3 * 2 + 1:
            raise KeyboardInterrupt
        return ssim(frame, middle)

    with monkeypatch.context() as patch:
        patch.setattr(evaluate_module, "ssim", ssim_then_stop)
        assert main(argv) == 130
    assert f"1 of 4 sets are kept in {out / 'partial.json'}; run the same command again" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["partial.json"]
    measured.clear()
    monkeypatch.setattr(evaluate_module, "ssim", lambda frame, middle: measured.append(1) or ssim(frame, middle))
    assert main(argv) == 0
    assert "resuming: 1 of 4 sets kept in" in capsys.readouterr().out
    assert len(measured) == 3 * 2 * 3  # three sets measured, not four
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "results.json", "table.md"]
    resumed = json.loads((out / "results.json").read_text())
    assert main([*argv[:-1], str(tmp_path / "fresh"), "--no-resume"]) == 0
    fresh = json.loads((tmp_path / "fresh" / "results.json").read_text())
    assert [(r["set"], r["method"], r["psnr"], r["ssim"]) for r in resumed] == [(r["set"], r["method"], r["psnr"], r["ssim"]) for r in fresh]
    (out / "partial.json").write_text(json.dumps({"key": {"other": 1}, "sets": {"synthetic small": []}}))
    assert main(argv) == 0
    assert "was kept for other checkpoints, videos or settings: measuring every set" in capsys.readouterr().out
    assert not (out / "partial.json").exists()
