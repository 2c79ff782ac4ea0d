"""The study command: variants differ only where they should, the GAN run branches exactly,
and the tables, claims and figures come out of one call."""

import csv

import pytest
import torch

pytest.importorskip("cv2")

import nlvfi  # noqa: E402
from nlvfi.study import VARIANTS, claims, main, motion_bucket, paired_gain, sharpness_ratio, variant_config, verdict  # noqa: E402
from nlvfi.train_config import TrainConfig  # noqa: E402

RECIPE = {
    "model": {"size": "tiny", "discriminator_size": "tiny"},
    "data": {"crop_size": 32, "synthetic_samples": 16, "synthetic_motion": ["small", "large"],
             "val_synthetic_samples": 2, "val_video_triplets": 0},
    "optim": {"batch_size": 2, "flow_pretrain_steps": 1, "pretrain_steps": 2, "gan_steps": 2},
    "run": {"out_dir": "unused", "device": "cpu", "validate_every": 100, "checkpoint_every": 100},
}  # fmt: skip


def test_variants_share_the_budget_and_differ_where_they_should(tmp_path):
    recipe = TrainConfig.from_dict(RECIPE)
    local, pixel, gan = (variant_config(recipe, v, 1, tmp_path) for v in VARIANTS)
    assert local.total_steps == pixel.total_steps == gan.total_steps == 5
    assert (local.model.use_nonlocal, pixel.model.use_nonlocal, gan.model.use_nonlocal) == (False, True, True)
    assert (pixel.optim.gan_steps, gan.optim.gan_steps) == (0, 2)
    assert {c.run.seed for c in (local, pixel, gan)} == {1}
    assert len({c.run.out_dir for c in (local, pixel, gan)}) == 3
    assert recipe.optim.gan_steps == 2 and recipe.model.use_nonlocal  # the recipe itself is untouched
    small = nlvfi.build_generator(local.model.generator_config())
    assert small.nonlocal_branch is None and small.config.use_nonlocal is False


def test_helpers():
    assert [motion_bucket(m) for m in (0.5, 4.0, 4.1, 20, 48, 100)] == ["small", "small", "medium", "large", "large", "extreme"]
    image = torch.rand(1, 3, 32, 32)
    assert sharpness_ratio(image, image) == pytest.approx(1.0)
    blurred = torch.nn.functional.avg_pool2d(image, 3, stride=1, padding=1)
    assert sharpness_ratio(blurred, image) < 0.5
    assert verdict({0: 0.2, 1: 0.1}) == "holds" and verdict({0: -0.2, 1: 0.0}) == "does not hold"
    assert verdict({0: 0.2, 1: -0.1}).startswith("inconclusive") and verdict({}) == "not measured"
    assert verdict({0: 0.2, 1: 0.1}, noise=0.5).startswith("within seed noise")  # smaller than a rerun's difference
    assert verdict({0: 0.2, 1: 0.1}, noise=0.1) == "holds"
    rows = [
        {"method": f"{name} / seed {seed}", "set": "synthetic large", "index": i, "bucket": "large", "psnr": value + i, "sharpness": 1.0}
        for seed in (0, 1) for i in range(3) for name, value in (("+ non-local", 21.0 + seed), ("local only", 20.0))
    ]  # fmt: skip
    gain = paired_gain(rows, "+ non-local", "local only", lambda r: True)
    assert gain == {"per_seed": {0: 1.0, 1: 2.0}, "mean": 1.5, "n": 3}
    large = [c for c in claims(rows) if c["subset"] == "synthetic large"][0]
    assert large["verdict"] == "holds" and large["per_seed"] == "+1.0000 +2.0000"


def test_study_retrains_branches_exactly_and_writes_everything(tmp_path, capsys):
    config = tmp_path / "recipe.toml"
    config.write_text(
        "\n".join(
            f"[{section}]\n" + "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in values.items())
            for section, values in RECIPE.items()
        ).replace("True", "true").replace("False", "false")
    )
    out, figures, checkpoints, runs = (tmp_path / n for n in ("results", "figures", "checkpoints", "runs"))
    argv = ["--retrain", "--config", str(config), "--checkpoints", str(checkpoints), "--runs", str(runs), "--videos",
            "--synthetic-samples", "2", "--synthetic-size", "64", "--out", str(out), "--figures", str(figures), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "non-local helps on large motion" in printed
    for seed in (0, 1):
        for variant in VARIANTS:
            assert (checkpoints / f"{variant.slug}-seed{seed}.safetensors").is_file()
        pixel = list(csv.DictReader(open(runs / f"nonlocal-seed{seed}" / "log.csv")))
        gan = list(csv.DictReader(open(runs / f"nonlocal_gan-seed{seed}" / "log.csv")))
        assert [r["phase"] for r in pixel] == ["flow", "pretrain", "pretrain", "pretrain", "pretrain"]
        assert [r["phase"] for r in gan] == ["flow", "pretrain", "pretrain", "gan", "gan"]
        assert [r["loss_g"] for r in pixel[:3]] == [r["loss_g"] for r in gan[:3]]  # one run until the branch
        assert pixel[3]["loss_g"] != gan[3]["loss_g"]
    for name in ("sets", "buckets", "sharpness", "claims"):
        assert (out / f"{name}.md").is_file()
    for name in ("sets", "buckets", "claims", "triplets"):  # sets.csv holds the sharpness too
        assert (out / f"{name}.csv").is_file()
    rows = list(csv.DictReader(open(out / "triplets.csv")))
    methods = {r["method"] for r in rows}
    assert {"average", "repeat previous", "DIS flow", "local only / seed 1", "+ non-local + GAN / seed 0"} <= methods
    assert len(rows) == 4 * 2 * len(methods)  # 4 buckets x 2 scenes x every method
    for figure in ("psnr_vs_motion.png", "large_motion_crops.png", "attention.png"):
        assert (figures / figure).stat().st_size > 10_000
    # evaluating again (no --retrain) gives the same tables: fixed seeds, no training
    sets_md = (out / "sets.md").read_text()
    assert main(argv[1:]) == 0
    assert (out / "sets.md").read_text() == sets_md


def test_missing_checkpoints_are_a_clear_error(tmp_path, capsys):
    assert main(["--checkpoints", str(tmp_path), "--videos", "--synthetic-samples", "1", "--quiet"]) == 2
    assert "ablation checkpoint(s) missing" in capsys.readouterr().err
