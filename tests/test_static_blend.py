"""Static blending (nlvfi/static_blend.py): still pixels take the plain blend of the two frames."""

import pytest
import torch

import nlvfi
from nlvfi.interpolate import Plan, forward_frames
from nlvfi.self_ensemble import self_ensemble
from nlvfi.static_blend import (
    OUTSIDE_AGREEMENT,
    OUTSIDE_WEIGHT,
    TIE_NUDGE,
    WINDOW,
    average_outside_frame,
    blend_static,
    break_rounding_ties,
    check_static_motion,
    static_mask,
)
from nlvfi.videoio import tensor_to_rgb
from nlvfi.tiling import tiled_forward


def flows_with_a_moving_square(size=40, speed=3.0):
    """Projected flows (1, 2, size, size): zero except a 10 x 10 square moving ``speed`` px."""
    to_prev = torch.zeros(1, 2, size, size)
    to_prev[:, 0, 15:25, 15:25] = speed
    return to_prev, -to_prev


def test_mask_marks_pixels_whose_neighbourhood_is_still():
    to_prev, to_next = flows_with_a_moving_square()
    still = static_mask(to_prev, to_next, 0.5)  # (1, 1, 40, 40)
    assert still.shape == (1, 1, 40, 40) and still.dtype == torch.bool
    assert still[0, 0, 0, 0] and still[0, 0, 39, 39]  # far from the square
    assert not still[0, 0, 15:25, 15:25].any()  # the square itself
    # the 9 x 9 window reaches 4 px out: a pixel 2 px off the square's edge sees 3 columns x 9
    # rows of 3 px motion, a mean of 1 px, so it stays with the generator
    assert not still[0, 0, 20, 13] and still[0, 0, 20, 15 - WINDOW // 2 - 1]


def test_static_pixels_take_the_blend_and_moving_ones_keep_the_frame():
    torch.manual_seed(0)
    prev, next, frame = torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 40)
    times = torch.full((1, 1, 1, 1), 0.25)
    to_prev, to_next = flows_with_a_moving_square()
    out = blend_static(frame, prev, next, times, to_prev, to_next, 0.5)
    still = static_mask(to_prev, to_next, 0.5).expand_as(frame)
    torch.testing.assert_close(out[still], (0.75 * prev + 0.25 * next)[still], atol=0, rtol=0)
    assert torch.equal(out[~still], frame[~still]) and (~still).sum() > 0
    assert torch.equal(blend_static(frame, prev, next, times, to_prev, to_next, 0.0), frame)  # 0: off


def test_generator_with_static_motion_returns_the_blend_of_a_still_pair():
    # Two identical frames: every flow is ~0, so every pixel is still and the frame is the
    # blend itself; without the option the untrained generator's kernels and synthesis change it.
    torch.manual_seed(1)
    generator = nlvfi.build_generator("tiny").eval()
    frame = torch.rand(1, 3, 48, 64)
    with torch.inference_mode():
        blended = generator(frame, frame.clone(), t=0.3, static_motion=0.5).frame
        plain = generator(frame, frame.clone(), t=0.3).frame
    torch.testing.assert_close(blended, frame, atol=1e-6, rtol=0)
    assert (plain - frame).abs().max() > 1e-3


def test_tiles_blend_their_still_pixels_from_their_own_flow():
    # A still pair in 4 overlapping tiles: each tile's flow is ~0, so each tile, and the
    # overlap-weighted frame, is the blend; forward_frames passes a tiled plan's threshold on.
    torch.manual_seed(2)
    generator = nlvfi.build_generator("tiny").eval()
    frame = torch.rand(1, 3, 96, 128)
    with torch.inference_mode():
        blended = tiled_forward(generator, frame, frame.clone(), 0.3, tile=64, overlap=32, static_motion=0.5)
        plain = tiled_forward(generator, frame, frame.clone(), 0.3, tile=64, overlap=32)
    torch.testing.assert_close(blended, frame, atol=1e-6, rtol=0)
    assert (plain - frame).abs().max() > 1e-3
    plan = Plan(per_call=1, tile=64, overlap=32, static_motion=0.5)
    torch.testing.assert_close(forward_frames(generator, frame, frame.clone(), torch.tensor([0.3]), plan), blended, atol=0, rtol=0)


def test_rounding_ties_are_written_as_the_level_nearer_the_neighbourhood():
    # A flat grey 101 seen as a 100/102 checkerboard, then as 101: the blend at t = 1/2 is
    # 100.5 / 101.5, every value a tie. Round-half-to-even writes 100 and 102 (off by one
    # everywhere); sent towards the 3x3 mean (101) both are written 101.
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2  # (16, 16)
    prev = ((100 + 2 * checker) / 255).expand(1, 3, 16, 16)
    next = torch.full((1, 3, 16, 16), 101 / 255)
    still = torch.zeros(1, 2, 16, 16)
    frame = blend_static(torch.rand(1, 3, 16, 16), prev, next, torch.full((1, 1, 1, 1), 0.5), still, still, 0.5)
    assert (tensor_to_rgb(frame[0]) == 101).all()
    assert set(tensor_to_rgb((0.5 * prev + 0.5 * next)[0]).ravel().tolist()) == {100, 102}  # plain rounding
    assert ((frame - 0.5 * (prev + next)).abs() * 255 - TIE_NUDGE).abs().max() < 1e-4  # moved by the nudge only


def test_only_ties_of_8_bit_frames_move():
    torch.manual_seed(3)
    prev = torch.randint(0, 256, (1, 3, 20, 20)) / 255
    next = torch.randint(0, 256, (1, 3, 20, 20)) / 255
    blend = 0.5 * prev + 0.5 * next
    broken = break_rounding_ties(blend, prev, next)
    tie = (prev * 255 + next * 255).round() % 2 == 1  # odd sums: halfway
    assert torch.equal(broken[~tie], blend[~tie]) and tie.float().mean() > 0.3
    assert (broken[tie] != blend[tie]).float().mean() > 0.9  # a flat neighbourhood leaves a few as they are
    deep = torch.randint(0, 65536, (1, 3, 20, 20)) / 65535  # 16-bit frames: blended exactly
    assert torch.equal(break_rounding_ties(0.5 * deep + 0.5 * deep.flip(-1), deep, deep.flip(-1)), 0.5 * deep + 0.5 * deep.flip(-1))


def test_outside_frame_is_averaged_in_where_it_shows_the_same_picture():
    # The same noisy grey seen twice (other noise), except a 12 x 12 patch 20 levels brighter in
    # the outside frame (a light, an object): the noise averages in; the patch, and the pixels
    # whose 9x9 window holds enough of it, do not.
    torch.manual_seed(4)
    frame = (128 + torch.randn(1, 3, 48, 48)) / 255  # noise of 1 level: a window's mean difference stays well under 1
    outside = (128 + torch.randn(1, 3, 48, 48)) / 255
    outside[..., 18:30, 18:30] += 20 / 255
    averaged = average_outside_frame(frame, outside)
    torch.testing.assert_close(averaged[..., :8, :8], ((1 - OUTSIDE_WEIGHT) * frame + OUTSIDE_WEIGHT * outside)[..., :8, :8])
    assert torch.equal(averaged[..., 18:30, 18:30], frame[..., 18:30, 18:30])
    # column 15's window (columns 11-19) holds 2 x 9 patch pixels: a mean of 20 x 18 / 81 = 4.4 levels
    assert torch.equal(averaged[..., 24, 15], frame[..., 24, 15]) and WINDOW == 9
    assert averaged.shape == frame.shape and averaged.dtype == torch.float32
    assert torch.equal(average_outside_frame(frame, None), frame)  # no outside frame: the frame itself


def test_outside_frame_must_agree_in_every_channel():
    # A change of 2 levels in red only, everywhere: the window mean shows it, so nothing is
    # averaged in; half a level (within OUTSIDE_AGREEMENT) everywhere is averaged in.
    frame = torch.full((1, 3, 20, 20), 100 / 255)
    redder = frame.clone()
    redder[:, 0] += 2 / 255
    assert torch.equal(average_outside_frame(frame, redder), frame)
    assert OUTSIDE_AGREEMENT > 0.5
    close = frame + 0.5 / 255
    torch.testing.assert_close(average_outside_frame(frame, close), frame + OUTSIDE_WEIGHT * 0.5 / 255)
    with pytest.raises(ValueError, match="the outside frame has shape"):
        average_outside_frame(frame, frame[..., :10])


def test_still_pixels_blend_the_still_pair_and_ties_follow_the_real_frames():
    # Every pixel still: the frame is the blend of still_pair, not of prev and next; the
    # generator, tiles and the mirrored views all pass it on, each view mirrored like its frames.
    torch.manual_seed(5)
    generator = nlvfi.build_generator("tiny").eval()
    prev = torch.rand(1, 3, 96, 128)
    still_pair = (prev * 0.9, prev * 0.8)
    expected = 0.7 * still_pair[0] + 0.3 * still_pair[1]
    with torch.inference_mode():
        whole = generator(prev, prev.clone(), t=0.3, static_motion=0.5, still_pair=still_pair).frame
        tiles = tiled_forward(generator, prev, prev.clone(), 0.3, tile=64, overlap=32, static_motion=0.5, still_pair=still_pair)
    torch.testing.assert_close(whole, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(tiles, expected, atol=1e-6, rtol=0)
    for plan in (Plan(per_call=1, static_motion=0.5, views=4), Plan(per_call=1, tile=64, overlap=32, static_motion=0.5, views=2)):
        made = forward_frames(generator, prev, prev.clone(), torch.tensor([0.3]), plan, still_pair=still_pair)
        torch.testing.assert_close(made, expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="still_pair must be two frames"):
        generator(prev, prev, t=0.3, static_motion=0.5, still_pair=(prev, prev[..., :64]))
    # without static blending the pair is not used at all
    plain = forward_frames(generator, prev, prev.clone(), torch.tensor([0.3]), Plan(per_call=1))
    assert torch.equal(forward_frames(generator, prev, prev.clone(), torch.tensor([0.3]), Plan(per_call=1), still_pair=still_pair), plain)
    # mirrored views get the pair mirrored: a left-right gradient pair stays a gradient
    gradient = torch.linspace(0, 1, 128).expand(1, 3, 96, 128)
    views = self_ensemble(lambda a, b, still_pair: still_pair[0], prev, prev, 4, still_pair=(gradient, gradient))
    torch.testing.assert_close(views, gradient)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "1"])
def test_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError, match="--static-motion must be a number of pixels >= 0"):
        check_static_motion(bad)
    assert check_static_motion(0) == 0.0 and check_static_motion(2) == 2.0
