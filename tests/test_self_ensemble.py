"""Self-ensemble (nlvfi.self_ensemble): mirrored views of a pair, mirrored back and averaged;
through the tools with --ensemble (nlvfi interpolate, nlvfi repair)."""

import numpy as np
import pytest
import torch
from PIL import Image

import nlvfi
from nlvfi.interpolate import Plan, forward_frames, main, plan_inference
from nlvfi.self_ensemble import check_views, self_ensemble
from nlvfi.tiling import tiled_forward

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def frames(seed, shape=(2, 3, 24, 40)):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=generator)


def average(prev, next):
    return (prev + next) / 2


def test_one_view_is_the_forward_pass_itself():
    prev, next = frames(0), frames(1)
    calls = []

    def forward(a, b):
        calls.append(a)
        return a * 0.3 + b * 0.7

    assert torch.equal(self_ensemble(forward, prev, next, views=1), prev * 0.3 + next * 0.7)
    assert len(calls) == 1 and calls[0] is prev


@pytest.mark.parametrize("views", [2, 4])
def test_a_mirror_symmetric_forward_is_unchanged(views):
    """Averaging two frames commutes with flips, so every view gives the same frame."""
    prev, next = frames(0), frames(1)
    assert torch.allclose(self_ensemble(average, prev, next, views), average(prev, next), atol=1e-6)


def test_each_view_is_mirrored_back_before_the_mean():
    """A forward pass that adds a left-to-right ramp: the left-right view adds the mirrored ramp,
    so two views add the ramp's mean; four views also cancel an up-down ramp."""
    prev, next = frames(0), frames(1)
    width, height = prev.shape[-1], prev.shape[-2]
    across = torch.linspace(0, 1, width)  # (W,)
    down = torch.linspace(0, 1, height)[:, None]  # (H, 1)
    seen = []

    def biased(a, b):
        seen.append(a)
        return average(a, b) + across + 2 * down

    two = self_ensemble(biased, prev, next, 2)
    assert torch.allclose(two, average(prev, next) + 0.5 + 2 * down, atol=1e-6)
    assert torch.equal(seen[1], prev.flip(-1))
    seen.clear()
    four = self_ensemble(biased, prev, next, 4)
    assert torch.allclose(four, average(prev, next) + 0.5 + 1.0, atol=1e-6)
    assert [torch.equal(s, prev.flip(f)) for s, f in zip(seen[1:], ((-1,), (-2,), (-2, -1)))] == [True] * 3


@pytest.mark.parametrize("views", [0, 3, 8, -1])
def test_only_one_two_or_four_views(views):
    with pytest.raises(ValueError, match="--ensemble must be one of 1, 2, 4"):
        check_views(views)
    with pytest.raises(ValueError, match="--ensemble"):
        self_ensemble(average, frames(0), frames(1), views)


def mean_of_mirrored_generator(generator, prev, next, t, forward=None):
    forward = forward or (lambda a, b: generator(a, b, t=t).frame)
    outputs = [forward(prev, next)]
    for flip in ((-1,), (-2,), (-2, -1)):
        outputs.append(forward(prev.flip(flip), next.flip(flip)).flip(flip))
    return torch.stack(outputs).mean(0)


def test_forward_frames_follows_the_plan_whole_and_tiled(model):
    generator = nlvfi.load_generator(model).eval()
    prev, next = frames(2, (1, 3, 40, 56)), frames(3, (1, 3, 40, 56))
    t = torch.tensor([0.3])
    with torch.inference_mode():
        whole = forward_frames(generator, prev, next, t, Plan(per_call=1, views=4))
        assert torch.allclose(whole, mean_of_mirrored_generator(generator, prev, next, t), atol=1e-5)
        one = forward_frames(generator, prev, next, t, Plan(per_call=1, views=1))
        assert (whole - one).abs().max() > 1e-3  # an untrained model is far from mirror-symmetric
        tiled = forward_frames(generator, prev, next, t, Plan(per_call=1, tile=32, overlap=16, views=4))
        expected = mean_of_mirrored_generator(
            generator, prev, next, t, lambda a, b: tiled_forward(generator, a, b, t, 32, 16)
        )
        assert torch.allclose(tiled, expected, atol=1e-5)


def test_plan_carries_the_views_and_says_so(model):
    generator = nlvfi.load_generator(model).eval()
    plan = plan_inference(generator, 40, 56, 1024**3, torch.device("cpu"), views=2)
    assert plan.views == 2 and "mean of 2 mirrored views" in plan.describe()
    assert "mirrored" not in plan_inference(generator, 40, 56, 1024**3, torch.device("cpu")).describe()
    with pytest.raises(ValueError, match="--ensemble"):
        plan_inference(generator, 40, 56, 1024**3, torch.device("cpu"), views=3)


def test_interpolate_ensemble_flag(tmp_path, model, capsys):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    assert main([a, b, "-o", str(tmp_path / "four.png"), "--ensemble", "4", "--checkpoint", str(model)]) == 0
    assert main([a, b, "-o", str(tmp_path / "one.png"), "--checkpoint", str(model)]) == 0  # default: one view
    generator = nlvfi.load_generator(model).eval()
    prev, next = (torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1)[None].float() / 255 for p in (a, b))
    with torch.inference_mode():
        expected = mean_of_mirrored_generator(generator, prev, next, 0.5)[0].permute(1, 2, 0).numpy() * 255
        single = generator(prev, next, t=0.5).frame[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(np.asarray(Image.open(tmp_path / "four.png")).astype(float) - expected.round()).max() <= 1
    assert np.abs(np.asarray(Image.open(tmp_path / "one.png")).astype(float) - single.round()).max() <= 1
    capsys.readouterr()
    assert main([a, b, "-o", str(tmp_path / "bad.png"), "--ensemble", "3", "--checkpoint", str(model)]) == 2
    assert "--ensemble: invalid choice: 3" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()
