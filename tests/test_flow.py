"""The bidirectional flow estimator (nlvfi/flow.py, METHOD.md §2.1)."""

import pytest
import torch

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
