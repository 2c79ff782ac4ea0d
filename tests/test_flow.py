"""The bidirectional flow estimator (nlvfi/flow.py, METHOD.md §2.1)."""

import pytest
import torch
import torch.nn.functional as F

import nlvfi
from nlvfi.flow import BidirectionalFlow


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_both_directions_from_one_pyramid_equal_two_separate_estimates(size):
    # forward() runs the pyramid once and swaps its halves for the backward direction; that
    # must give exactly what estimating each direction from its own pyramids gives.
    torch.manual_seed(0)
    flow = nlvfi.build_generator(size).flow.eval()
    prev, next = torch.rand(2, 3, 64, 96), torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        forward_flow, backward_flow = flow(prev, next)  # (2, 2, 64, 96) each
        expected_forward = flow.estimate(prev, next)
        expected_backward = flow.estimate(next, prev)
    assert forward_flow.shape == backward_flow.shape == (2, 2, 64, 96)
    torch.testing.assert_close(forward_flow, expected_forward, atol=1e-5, rtol=0)
    torch.testing.assert_close(backward_flow, expected_backward, atol=1e-5, rtol=0)


def test_swapped_frames_swap_the_two_flows():
    torch.manual_seed(1)
    flow = BidirectionalFlow(nlvfi.ModelConfig.tiny()).eval()
    prev, next = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        forward_flow, backward_flow = flow(prev, next)
        swapped_forward, swapped_backward = flow(next, prev)
    torch.testing.assert_close(swapped_forward, backward_flow, atol=1e-5, rtol=0)
    torch.testing.assert_close(swapped_backward, forward_flow, atol=1e-5, rtol=0)
    assert forward_flow.abs().max() > 0  # a zero flow would pass the swap trivially


def test_flow_on_enlarged_frames_is_the_enlarged_estimate_brought_back():
    # scale=2: the estimate of the bicubic-enlarged frames (guesses enlarged too, in their
    # pixels), area-shrunk and halved; the shapes stay those of the input.
    torch.manual_seed(2)
    flow = BidirectionalFlow(nlvfi.ModelConfig.tiny()).eval()
    prev, next = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    guess = (torch.full((1, 2, 32, 48), 3.0), torch.full((1, 2, 32, 48), -3.0))
    big = lambda x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)  # noqa: E731
    with torch.no_grad():
        forward_flow, backward_flow = flow(prev, next, guess, scale=2)
        big_forward, big_backward = flow(big(prev), big(next), tuple(torch.full((1, 2, 64, 96), 6.0 * s) for s in (1, -1)))
    assert forward_flow.shape == backward_flow.shape == (1, 2, 32, 48)
    torch.testing.assert_close(forward_flow, F.avg_pool2d(big_forward, 2) / 2, atol=1e-5, rtol=0)
    torch.testing.assert_close(backward_flow, F.avg_pool2d(big_backward, 2) / 2, atol=1e-5, rtol=0)
    with torch.no_grad():
        assert not torch.allclose(forward_flow, flow(prev, next, guess)[0])  # scale 1 is a different estimate


@pytest.mark.parametrize("scale", [0, 1.5, -2])
def test_bad_flow_scale_is_refused(scale):
    flow = BidirectionalFlow(nlvfi.ModelConfig.tiny()).eval()
    with pytest.raises(ValueError, match="flow scale must be a whole number >= 1"):
        flow(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), scale=scale)
