"""The flow prior: guesses of a run's motion from the frames just outside it (nlvfi/flow_prior.py)."""

import numpy as np
import pytest
import torch

import nlvfi
from nlvfi.duplicates import detect_duplicates
from nlvfi.flow_prior import constant_velocity_prior, interval_scales, mirror_flow
from nlvfi.interpolate import DEFAULT_CHECKPOINT, load_model
from nlvfi.self_ensemble import mirrored_views
from nlvfi.videoio import read_video_rgb, rgb_to_tensor
from test_duplicates import motion, with_duplicates

STUTTER_TRUTH = DEFAULT_CHECKPOINT.parents[1] / "data" / "stutter" / "vtest_stutter_truth.mkv"


def test_mirror_flow_flips_the_field_and_negates_the_mirrored_component():
    flow = torch.zeros(1, 2, 4, 6)
    flow[0, 0, 1, 0], flow[0, 1, 1, 0] = 3.0, 2.0  # one pixel at row 1, column 0 moves (3, 2)
    left_right = mirror_flow(flow, (-1,))
    assert left_right[0, :, 1, 5].tolist() == [-3.0, 2.0]  # now at column 5, moving left
    up_down = mirror_flow(flow, (-2,))
    assert up_down[0, :, 2, 0].tolist() == [3.0, -2.0]  # row 1 of 4 -> row 2, moving up
    assert mirror_flow(flow, (-2, -1))[0, :, 2, 5].tolist() == [-3.0, -2.0]
    assert torch.equal(mirror_flow(mirror_flow(flow, (-2, -1)), (-2, -1)), flow)
    assert mirror_flow(flow, ()) is flow


class ConstantFlow(torch.nn.Module):
    """A stand-in flow estimator: every pixel moves (dx, 0) from the first frame to the second."""

    def __init__(self, dx: float):
        super().__init__()
        self.dx = dx
        self.scales = []  # the flow scale of each call

    def forward(self, first, second, initial=None, scale=1):
        self.scales.append(scale)
        there = torch.zeros(first.shape[0], 2, *first.shape[-2:])
        there[:, 0] = self.dx
        return there, -there


def test_constant_velocity_prior_scales_the_outside_motion_with_sign_and_span():
    generator = nlvfi.build_generator("tiny").eval()
    generator.flow = ConstantFlow(2.0)  # 2 px per frame interval, to the right
    frames = [torch.rand(1, 3, 20, 30) for _ in range(4)]  # odd size: padded for the flow, cropped back
    forward, backward = constant_velocity_prior(generator, frames[1], frames[2], frames[0], frames[3], 3.0, 4.0)
    assert forward.shape == backward.shape == (1, 2, 20, 30)
    # prev -> next spans 3 outside intervals: 3 x 2 px to the right; next -> prev 4 x 2 px to the left
    assert torch.all(forward[:, 0] == 6.0) and torch.all(forward[:, 1] == 0)
    assert torch.all(backward[:, 0] == -8.0) and torch.all(backward[:, 1] == 0)
    # a missing outside frame leaves its direction at zero; both missing: no prior
    only_after = constant_velocity_prior(generator, frames[1], frames[2], None, frames[3], 3.0, 4.0)
    assert torch.all(only_after[0] == 0) and torch.all(only_after[1][:, 0] == -8.0)
    only_before = constant_velocity_prior(generator, frames[1], frames[2], frames[0], None, 3.0, 4.0)
    assert torch.all(only_before[0][:, 0] == 6.0) and torch.all(only_before[1] == 0)
    assert constant_velocity_prior(generator, frames[1], frames[2]) is None
    # guesses shorter than min_motion are dropped: 0.5 px x 3 = 1.5 px < 2 px, x 4 = 2 px kept
    generator.flow = ConstantFlow(0.5)
    short, long = constant_velocity_prior(generator, frames[1], frames[2], frames[0], frames[3], 3.0, 4.0, min_motion=2.0)
    assert torch.all(short == 0) and torch.all(long[:, 0] == -2.0)
    kept, _ = constant_velocity_prior(generator, frames[1], frames[2], frames[0], frames[3], 3.0, 4.0, min_motion=0)
    assert torch.all(kept[:, 0] == 1.5)


def test_interval_scales_follow_the_timestamps():
    times = [0.0, 0.1, 0.4, 0.45]  # variable frame rate: intervals 0.1, 0.3, 0.05
    assert interval_scales(times, 0, 1, 2, 3) == pytest.approx((3.0, 6.0))
    assert interval_scales(times, None, 1, 2, None) == (1.0, 1.0)


def test_outside_frames_are_real_frames_on_the_same_side_of_every_cut():
    diffs = with_duplicates(motion(40, 2.0, 0.2), [5, 10, 11, 13, 30])
    diffs[28] = 80.0  # a cut between frames 28 and 29
    diffs[31] = 80.0  # and between 31 and 32
    detection = detect_duplicates(diffs)
    runs = {run.first: run for run in detection.repairable}
    assert detection.outside_frames(runs[5]) == (3, 7)
    # 10-11 is followed by 12, then 13 is a copy: no frame after; 13's pair (12, 14): 11 is a copy
    assert detection.outside_frames(runs[10]) == (8, None)
    assert detection.outside_frames(runs[13]) == (None, 15)
    assert detection.outside_frames(runs[30]) == (None, None)  # 28 | 29 and 31 | 32: other scenes
    assert {28, 31} <= set(detection.cuts)


def test_a_zero_guess_is_no_guess():
    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny").eval()
    prev, next = torch.rand(2, 3, 30, 44), torch.rand(2, 3, 30, 44)
    zero = torch.zeros(2, 2, 30, 44)
    with torch.no_grad():
        plain = generator(prev, next, t=0.3).frame
        guessed = generator(prev, next, t=0.3, initial_flow=(zero, zero)).frame
    torch.testing.assert_close(guessed, plain, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="initial_flow"):
        generator(prev, next, initial_flow=(zero[:1], zero))


def test_mirrored_views_mirror_the_guesses_with_the_frames():
    prev, next = torch.rand(1, 3, 8, 10), torch.rand(1, 3, 8, 10)
    guesses = (torch.randn(1, 2, 8, 10), torch.randn(1, 2, 8, 10))
    seen = []

    def forward(a, b, flows):
        seen.append((a, flows))
        return a

    list(mirrored_views(forward, prev, next, 4, guesses))
    for (frame, flows), flip in zip(seen, ((), (-1,), (-2,), (-2, -1))):
        assert torch.equal(frame, prev.flip(flip) if flip else prev)
        for got, guess in zip(flows, guesses):
            assert torch.equal(got, mirror_flow(guess, flip))


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT.is_file() and STUTTER_TRUTH.is_file()), reason="needs the shipped checkpoint and clip")
def test_a_good_guess_lets_the_trained_estimator_follow_a_motion_beyond_its_search():
    """A real frame (vtest) slid 24 px: the shipped estimator from zero flow misses most of it;
    given the true motion as its guess it ends far closer (measured 20.2 -> 11.8 px EPE)."""
    generator, _ = load_model(None, "cpu")
    frames, _ = read_video_rgb(STUTTER_TRUTH)
    image = rgb_to_tensor(frames[0])  # (1, 3, 288, 384)
    shift = 24
    first, second = image[..., 100:228, 40:296], image[..., 100:228, 40 + shift : 296 + shift]  # (1, 3, 128, 256)
    true = torch.zeros(1, 2, 128, 256)
    true[:, 0] = -shift  # content moves left by `shift` from the first crop to the second

    def end_point_error(flow):
        inner = flow[..., 16:-16, 16 + shift : -16] - true[..., 16:-16, 16 + shift : -16]
        return float(inner.norm(dim=1).mean())

    with torch.inference_mode():
        from_zero, _ = generator.flow(first, second)
        from_guess, _ = generator.flow(first, second, (true, -true))
    assert end_point_error(from_guess) < 0.75 * end_point_error(from_zero), (end_point_error(from_guess), end_point_error(from_zero))
    assert np.isfinite(end_point_error(from_guess))


def test_the_outside_flows_are_estimated_at_the_repairs_flow_scale():
    generator = nlvfi.build_generator("tiny").eval()
    generator.flow = ConstantFlow(3.0)
    frames = [torch.rand(1, 3, 32, 32) for _ in range(4)]
    with torch.inference_mode():
        constant_velocity_prior(generator, frames[1], frames[2], frames[0], frames[3], flow_scale=2)
        constant_velocity_prior(generator, frames[1], frames[2], frames[0], frames[3])
    assert generator.flow.scales == [2, 1]
