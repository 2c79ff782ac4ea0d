"""Tiled inference (nlvfi.tiling): the layout, the blending weights, exactness where it is
promised (non-local branch, a single tile, a per-pixel stand-in), the measured difference from
the untiled pass with a real generator, and the errors for bad arguments.
"""

import pytest
import torch
from torch import nn

import nlvfi
from nlvfi.interpolate import DEFAULT_CHECKPOINT
from nlvfi.flow_prior import constant_velocity_prior
from nlvfi.tiling import axis_weights, check_tile, plan_tiles, tile_starts, tiled_forward, tiled_prior

H, W = 256, 320


pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def textured_pair(shift=(2, -3), seed=3):
    """A smooth random texture and the same texture moved by ``shift`` (dy, dx): (1, 3, H, W) each."""
    g = torch.Generator().manual_seed(seed)
    base = nn.functional.avg_pool2d(torch.rand(1, 3, H + 40, W + 40, generator=g), 9, 1, 4)
    base = ((base - base.mean()) / base.std() * 0.2 + 0.5).clamp(0, 1)
    dy, dx = shift
    return base[..., 20 : 20 + H, 20 : 20 + W], base[..., 20 + dy : 20 + dy + H, 20 + dx : 20 + dx + W]


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    g = nlvfi.build_generator("tiny").eval()
    with torch.no_grad():  # at its initial 0 the attention would not reach the output at all
        g.nonlocal_branch.attention.gamma.fill_(1.0)
    return g


# --------------------------------------------------------------------------------------------
# Layout and weights


@pytest.mark.parametrize("length, tile, overlap, stride", [(320, 128, 64, 16), (2176, 512, 128, 32), (3840, 512, 128, 32), (96, 64, 0, 32), (64, 128, 64, 16)])
def test_tiles_are_aligned_cover_the_frame_and_overlap_enough(length, tile, overlap, stride):
    starts = tile_starts(length, tile, overlap, stride)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(s % stride == 0 for s in starts)
    assert all(b - a >= stride and a + size - b >= overlap for a, b in zip(starts, starts[1:]))
    covered = torch.zeros(length, dtype=torch.int64)
    for s in starts:
        covered[s : s + size] += 1
    assert (covered >= 1).all()


def test_layout_covers_every_pixel_and_weights_sum_to_one():
    layout = plan_tiles(250, 317, stride=16, tile=128, overlap=64)  # padded to 256 x 320
    assert (layout.height, layout.width) == (256, 320)
    total = torch.zeros(layout.height, layout.width, dtype=torch.float64)
    count = torch.zeros(layout.height, layout.width, dtype=torch.int64)
    for (y0, y1, x0, x1), weight in zip(layout.boxes(), layout.weights()):
        assert weight.shape == (y1 - y0, x1 - x0) and (weight >= 0).all()
        total[y0:y1, x0:x1] += weight
        count[y0:y1, x0:x1] += 1
    assert (count >= 1).all()
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-6, rtol=0)


def test_weights_favour_the_tile_whose_interior_a_pixel_is_in():
    starts = tile_starts(320, 128, 64, 16)  # [0, 64, 128, 192]
    w = axis_weights(starts, 128, 320)
    assert starts == [0, 64, 128, 192]
    assert w[0][0] == 1 and w[-1][-1] == 1  # the frame's own edges are kept
    assert w[1][0] == 0 and w[0][64] == 1  # the outer quarter of a shared strip is discarded
    assert all(torch.all(x[1:] >= x[:-1]) for x in (w[1][:64],))  # rises over the shared strip


@pytest.mark.parametrize(
    "tile, overlap, message",
    [
        (100, 32, "multiple of the network stride 16"),
        (0, 0, "multiple of the network stride 16"),
        (128, 128, r"overlap \(128\) must be smaller than the tile \(128\)"),
        (128, 200, "must be smaller than the tile"),
        (128, -1, "overlap must be >= 0"),
        (128, 120, "tile - overlap must be at least the network stride 16"),
        (128.0, 64, "integer number of pixels"),
        (128, 64.5, "integer number of pixels"),
    ],
)
def test_bad_tile_arguments_raise_clear_errors(generator, tile, overlap, message):
    with pytest.raises(ValueError, match=message):
        check_tile(tile, overlap, 16)
    with pytest.raises(ValueError, match=message):
        tiled_forward(generator, torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), 0.5, tile, overlap)


def test_bad_frames_raise_the_generators_errors(generator):
    with pytest.raises(ValueError, match="3 channels"):
        tiled_forward(generator, torch.rand(1, 4, 64, 64), torch.rand(1, 4, 64, 64), 0.5, 32, 16)
    with pytest.raises(ValueError, match="differ in shape"):
        tiled_forward(generator, torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 48), 0.5, 32, 16)


def test_wrong_nonlocal_features_shape_is_refused(generator):
    prev = torch.rand(1, 3, 40, 56)
    with pytest.raises(ValueError, match=r"nonlocal_features must have shape \(1, 16, 48, 64\)"):
        generator(prev, prev, nonlocal_features=torch.zeros(1, 16, 40, 56))


# --------------------------------------------------------------------------------------------
# Exactness


class PerPixel(nn.Module):
    """A stand-in generator whose output at a pixel depends only on that pixel of its inputs
    and of the (real, whole-frame) non-local features: tiling must not change it at all."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, inner.config

    def pad(self, frames):
        return self.inner.pad(frames)

    def nonlocal_features(self, prev, next):
        return self.inner.nonlocal_features(prev, next)

    def forward(self, prev, next, t=0.5, nonlocal_features=None):
        height, width = prev.shape[-2:]
        if nonlocal_features is None:
            nonlocal_features = self.nonlocal_features(prev, next)
        t = torch.as_tensor(t).reshape(-1, 1, 1, 1)
        blend = (1 - t) * self.pad(prev) + t * self.pad(next)  # (B, 3, H', W')
        frame = blend * torch.sigmoid(nonlocal_features[:, :3])  # (B, 3, H', W')
        return nlvfi.GeneratorOutput(frame=frame[..., :height, :width])


def test_tiling_is_exact_for_a_per_pixel_model_with_whole_frame_attention(generator):
    stand_in = PerPixel(generator)
    prev, next = textured_pair()
    prev, next = prev[..., :250, :317], next[..., :250, :317]  # padding included
    with torch.inference_mode():
        whole = stand_in(prev, next, 0.3).frame
        tiled = tiled_forward(stand_in, prev, next, 0.3, tile=128, overlap=64)
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)


def test_attention_cut_to_a_tile_differs_which_is_why_features_come_from_the_whole_frame(generator):
    prev, next = textured_pair()
    with torch.inference_mode():
        whole = generator.nonlocal_features(prev, next)[..., :128, :128]  # (1, 16, 128, 128)
        cut = generator.nonlocal_features(prev[..., :128, :128], next[..., :128, :128])
    assert (whole - cut).abs().max() > 1e-2


def test_one_tile_larger_than_the_frame_is_the_untiled_pass_bit_for_bit(generator):
    prev, next = textured_pair()
    with torch.inference_mode():
        assert torch.equal(tiled_forward(generator, prev, next, 0.5, 512, 64), generator(prev, next, t=0.5).frame)


def test_the_flow_scale_reaches_every_tile(generator):
    prev, next = textured_pair()
    with torch.inference_mode():
        enlarged = generator(prev, next, t=0.5, flow_scale=2).frame
        assert torch.equal(tiled_forward(generator, prev, next, 0.5, 512, 64, flow_scale=2), enlarged)
        tiled = tiled_forward(generator, prev, next, 0.5, 128, 64, flow_scale=2)
        at_1x = tiled_forward(generator, prev, next, 0.5, 128, 64)
    # measured: 2x vs 1x differ by a mean 0.00077 (whole frames); tiled 2x vs whole 2x, 0.000094
    assert (tiled - enlarged).abs().mean() < 2e-4 < (at_1x - enlarged).abs().mean()


def test_a_generator_without_the_nonlocal_branch_is_tiled_too():
    if "use_nonlocal" not in nlvfi.ModelConfig.__dataclass_fields__:
        pytest.skip("this ModelConfig has no use_nonlocal switch")
    torch.manual_seed(0)
    local = nlvfi.Generator(nlvfi.ModelConfig(name="local", use_nonlocal=False)).eval()
    prev, next = (x[..., :96, :128] for x in textured_pair())
    with torch.inference_mode():
        assert torch.equal(tiled_forward(local, prev, next, 0.5, 128, 64), local(prev, next).frame)
        assert tiled_forward(local, prev, next, 0.5, 64, 32).shape == (1, 3, 96, 128)


def test_one_pair_at_several_times_equals_separate_calls(generator):
    prev, next = (x[..., :96, :128] for x in textured_pair())
    with torch.inference_mode():
        together = tiled_forward(generator, prev, next, torch.tensor([0.25, 0.75]), 64, 32)  # (2, 3, 96, 128)
        alone = [tiled_forward(generator, prev, next, t, 64, 32) for t in (0.25, 0.75)]
    assert together.shape == (2, 3, 96, 128)
    torch.testing.assert_close(together, torch.cat(alone), atol=1e-5, rtol=0)


# Measured on this machine (torch 2.13 CPU), 256x320, frames of one texture moved by (2, -3) px;
# |tiled - untiled| over all pixels and channels:
#   untrained tiny generator above (its flow is ~0.08 px long, so tiles barely matter):
#     tiles 128, overlap 64:  mean 0.00018, 99th percentile 0.00082, max 0.0019
#     tiles 256, overlap 128: mean 0.000036, 99th percentile 0.00018, max 0.0004
#   the shipped checkpoint (its flow finds the move: mean (3.3, -2.2) px):
#     tiles 128, overlap 64:  mean 0.0027, 99th percentile 0.014, max 0.14
#     tiles 256, overlap 128: mean 0.00054, 99th percentile 0.0040, max 0.13
# The flow sees far beyond a 128-px tile (at its coarsest level such a tile is 8 cells wide and
# the search window alone spans 7), so small tiles differ most; the bounds are the measured
# values with ~2x headroom.
@pytest.mark.parametrize("tile, overlap, mean, p99", [(128, 64, 4e-4, 2e-3), (256, 128, 8e-5, 4e-4)])
def test_tiled_equals_untiled_within_the_measured_tolerance(generator, tile, overlap, mean, p99):
    prev, next = textured_pair()
    with torch.inference_mode():
        whole = generator(prev, next, t=0.5).frame
        tiled = tiled_forward(generator, prev, next, 0.5, tile, overlap)
    difference = (tiled - whole).abs()
    assert tiled.shape == whole.shape == (1, 3, H, W)
    assert difference.mean() < mean and difference.flatten().quantile(0.99) < p99
    assert 0 <= tiled.min() and tiled.max() <= 1


# With the flow on frames enlarged 2x (each tile enlarged), the shipped checkpoint, same pair:
#     tiles 128, overlap 64:  mean 0.00063, 99th percentile 0.0036, max 0.089
#     tiles 256, overlap 128: mean 0.00015, 99th percentile 0.00094, max 0.080
@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint")
@pytest.mark.parametrize(
    "tile, overlap, flow_scale, mean, p99",
    [(128, 64, 1, 6e-3, 3e-2), (256, 128, 1, 1.2e-3, 8e-3), (128, 64, 2, 1.3e-3, 7e-3), (256, 128, 2, 3e-4, 2e-3)],
)
def test_tiled_equals_untiled_with_the_trained_model(tile, overlap, flow_scale, mean, p99):
    trained = nlvfi.load_generator(DEFAULT_CHECKPOINT).eval()
    prev, next = textured_pair()
    with torch.inference_mode():
        whole = trained(prev, next, t=0.5, flow_scale=flow_scale).frame
        tiled = tiled_forward(trained, prev, next, 0.5, tile, overlap, flow_scale=flow_scale)
    difference = (tiled - whole).abs()
    assert difference.mean() < mean and difference.flatten().quantile(0.99) < p99


# --------------------------------------------------------------------------------------------
# Flow guesses (nlvfi.flow_prior) in tiles


class Recorder(nn.Module):
    """A stand-in generator that returns the blend and records the flow guesses of every call."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config, self.guesses = inner, inner.config, []

    def pad(self, frames):
        return self.inner.pad(frames)

    def nonlocal_features(self, prev, next):
        return self.inner.nonlocal_features(prev, next)

    def forward(self, prev, next, t=0.5, nonlocal_features=None, initial_flow=None):
        self.guesses.append(initial_flow)
        t = torch.as_tensor(t).reshape(-1, 1, 1, 1)
        return nlvfi.GeneratorOutput(frame=(1 - t) * prev + t * next)


def test_each_tile_starts_from_its_slice_of_the_flow_guesses(generator):
    stand_in = Recorder(generator)
    prev, next = (x[..., :100, :130] for x in textured_pair())  # padded to 112 x 144
    guesses = tuple(torch.randn(1, 2, 100, 130, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
    with torch.inference_mode():
        tiled_forward(stand_in, prev, next, torch.tensor([0.25, 0.75]), 64, 32, initial_flow=guesses)
    layout = plan_tiles(100, 130, generator.config.stride, 64, 32)
    assert len(stand_in.guesses) == len(layout) == 12  # 3 rows x 4 columns
    for (y0, y1, x0, x1), received in zip(layout.boxes(), stand_in.guesses):
        for flow, whole in zip(received, guesses):
            assert flow.shape == (2, 2, 64, 64)  # one pair at two times: the guesses follow the frames
            assert torch.equal(flow[1], generator.pad(whole)[0, :, y0:y1, x0:x1])


def test_flow_guesses_of_the_wrong_shape_are_refused(generator):
    prev, next = textured_pair()
    with pytest.raises(ValueError, match=r"initial_flow must be two flows of shape \(1, 2, 256, 320\)"):
        tiled_forward(generator, prev, next, 0.5, 128, 64, initial_flow=(torch.zeros(1, 2, 256, 320),) * 3)


def moving_texture(velocity=(1, 3), seed=3):
    """Frames -1, 0, 2, 3 of a texture moving ``velocity`` (dy, dx) px per frame: the frames just
    outside a pair with one duplicate between them, (1, 3, H, W) each."""
    g = torch.Generator().manual_seed(seed)
    base = nn.functional.avg_pool2d(torch.rand(1, 3, H + 60, W + 60, generator=g), 9, 1, 4)
    base = ((base - base.mean()) / base.std() * 0.2 + 0.5).clamp(0, 1)
    dy, dx = velocity
    return [base[..., 30 + k * dy : 30 + k * dy + H, 30 + k * dx : 30 + k * dx + W] for k in (-1, 0, 2, 3)]


def test_tiled_prior_without_outside_frames_is_none(generator):
    prev, next = textured_pair()
    assert tiled_prior(generator, prev, next, None, None, tile=128, overlap=64) is None


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint")
def test_tiled_prior_in_one_tile_is_the_whole_frame_prior_bit_for_bit():
    trained = nlvfi.load_generator(DEFAULT_CHECKPOINT).eval()
    before, prev, next, after = (x[..., :250, :317] for x in moving_texture())  # padding included
    with torch.inference_mode():
        whole = constant_velocity_prior(trained, prev, next, before, after, 2.0, 2.0)
        tiled = tiled_prior(trained, prev, next, before, after, 2.0, 2.0, tile=512, overlap=64)
        one_side = tiled_prior(trained, prev, next, None, after, 1.0, 2.0, tile=512, overlap=64)
    assert whole[0].norm(dim=1).mean() > 2  # the guesses are long enough to pass flow_prior.MIN_MOTION
    assert all(torch.equal(a, b) for a, b in zip(tiled, whole))
    assert not one_side[0].any() and torch.equal(one_side[1], whole[1])  # no frame before: no forward guess


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint")
def test_tiled_prior_at_2x_in_one_tile_is_the_whole_frame_prior_at_2x_bit_for_bit():
    trained = nlvfi.load_generator(DEFAULT_CHECKPOINT).eval()
    before, prev, next, after = (x[..., :250, :317] for x in moving_texture())
    with torch.inference_mode():
        whole = constant_velocity_prior(trained, prev, next, before, after, 2.0, 2.0, flow_scale=2)
        tiled = tiled_prior(trained, prev, next, before, after, 2.0, 2.0, tile=512, overlap=64, flow_scale=2)
        at_1x = constant_velocity_prior(trained, prev, next, before, after, 2.0, 2.0)
    assert all(torch.equal(a, b) for a, b in zip(tiled, whole))
    assert (whole[0] - at_1x[0]).abs().mean() > 0.1  # measured 0.98 px: the scale reached the estimator


# Measured (torch 2.13 CPU, shipped checkpoint), the texture moving (1, 3) px a frame, a pair two
# frames apart: the whole-frame forward guess averages (-4.40, -1.28) px; |tiled - whole| per
# component, forward / backward: tiles 128, overlap 64: mean 0.062 / 0.056 px, 99th percentile
# 0.28 / 0.24; tiles 256, overlap 128: mean 0.013 / 0.012, 99th percentile 0.045 / 0.051 (the
# max, ~2 px, is where a tile drops a guess just under MIN_MOTION the whole frame keeps). Bounds:
# the measured values with ~2x headroom.
@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint")
@pytest.mark.parametrize("tile, overlap, mean, p99", [(128, 64, 0.12, 0.56), (256, 128, 0.026, 0.1)])
def test_tiled_prior_matches_the_whole_frame_prior_within_the_measured_tolerance(tile, overlap, mean, p99):
    trained = nlvfi.load_generator(DEFAULT_CHECKPOINT).eval()
    before, prev, next, after = moving_texture()
    with torch.inference_mode():
        whole = constant_velocity_prior(trained, prev, next, before, after, 2.0, 2.0)
        tiled = tiled_prior(trained, prev, next, before, after, 2.0, 2.0, tile=tile, overlap=overlap)
    for a, b in zip(tiled, whole):
        difference = (a - b).abs()
        assert a.shape == (1, 2, H, W)
        assert difference.mean() < mean and difference.flatten().quantile(0.99) < p99
