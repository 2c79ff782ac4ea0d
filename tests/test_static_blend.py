"""Static blending (nlvfi/static_blend.py): still pixels take the plain blend of the two frames."""

import pytest
import torch

import nlvfi
from nlvfi.interpolate import Plan, forward_frames
from nlvfi.static_blend import TIE_NUDGE, WINDOW, blend_static, break_rounding_ties, check_static_motion, static_mask
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


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "1"])
def test_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError, match="--static-motion must be a number of pixels >= 0"):
        check_static_motion(bad)
    assert check_static_motion(0) == 0.0 and check_static_motion(2) == 2.0
