"""Backward warping and the adaptive warping layer (METHOD.md §2.4)."""

import pytest
import torch

from nlvfi.warping import adaptive_warp, backward_warp, bilinear_kernel


def test_zero_flow_backward_warp_is_identity():
    image = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(backward_warp(image, torch.zeros(2, 2, 16, 16)), image)


def test_backward_warp_matches_hand_computed_subpixel_shift():
    image = torch.arange(20.0).view(1, 1, 4, 5)  # value = 5 * row + col
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 0.25  # sample a quarter pixel to the right
    flow[:, 1] = 0.5  # and half a pixel down
    out = backward_warp(image, flow)
    # inside the image, bilinear sampling of a linear ramp is exact: 5 * (r + 0.5) + (c + 0.25)
    expected = torch.tensor([[5 * (r + 0.5) + c + 0.25 for c in range(4)] for r in range(3)])
    torch.testing.assert_close(out[0, 0, :3, :4], expected)
    # one hand-computed value with explicit weights at (r=1, c=2): neighbours 7, 8, 12, 13
    by_hand = 0.75 * 0.5 * 7 + 0.25 * 0.5 * 8 + 0.75 * 0.5 * 12 + 0.25 * 0.5 * 13
    assert out[0, 0, 1, 2].item() == pytest.approx(by_hand)


def test_delta_kernel_with_zero_flow_is_identity():
    image = torch.rand(2, 3, 9, 11)
    kernel = torch.zeros(2, 16, 9, 11)
    kernel[:, 5] = 1.0  # window row 1, col 1: the pixel at floor(target) itself
    torch.testing.assert_close(adaptive_warp(image, torch.zeros(2, 2, 9, 11), kernel), image)


def test_integer_shift_flow_equals_shifted_image():
    image = torch.rand(1, 3, 10, 12)
    flow = torch.zeros(1, 2, 10, 12)
    flow[:, 0] = 3.0  # sample 3 columns to the right
    flow[:, 1] = -2.0  # and 2 rows up
    out = adaptive_warp(image, flow, bilinear_kernel(1, 10, 12))
    torch.testing.assert_close(out[..., 2:, :9], image[..., :8, 3:])
    # targets that fall outside the image keep the input pixel (public design)
    torch.testing.assert_close(out[..., :2, :], image[..., :2, :])


def test_bilinear_kernel_makes_adaptive_warp_equal_backward_warp():
    torch.manual_seed(0)
    image = torch.rand(2, 4, 12, 14)
    flow = torch.randn(2, 2, 12, 14) * 0.8  # small flows: targets stay inside away from the border
    inside = slice(2, -2)
    expected = backward_warp(image, flow)[..., inside, inside]
    out = adaptive_warp(image, flow, bilinear_kernel(2, 12, 14))[..., inside, inside]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def _slow_adaptive_warp(image, flow, kernel):
    """The public design's loop, one output pixel at a time."""
    _, channels, height, width = image.shape
    out = image.clone()
    for y in range(height):
        for x in range(width):
            px, py = x + flow[0, 0, y, x].item(), y + flow[0, 1, y, x].item()
            if not (0 <= px <= width - 1 and 0 <= py <= height - 1):
                continue
            x0, y0 = int(px // 1), int(py // 1)
            a, b = px - x0, py - y0
            quad = torch.zeros(2, 2, channels)
            for i in range(4):
                for j in range(4):
                    r = min(max(y0 - 1 + i, 0), height - 1)
                    c = min(max(x0 - 1 + j, 0), width - 1)
                    quad[i // 2, j // 2] += kernel[0, 4 * i + j, y, x] * image[0, :, r, c]
            out[0, :, y, x] = (1 - a) * (1 - b) * quad[0, 0] + a * (1 - b) * quad[0, 1] + (1 - a) * b * quad[1, 0] + a * b * quad[1, 1]
    return out


def test_adaptive_warp_equals_slow_loop_on_random_input():
    torch.manual_seed(1)
    image = torch.rand(1, 2, 7, 8, dtype=torch.float64)
    flow = torch.randn(1, 2, 7, 8, dtype=torch.float64) * 2.5
    kernel = torch.randn(1, 16, 7, 8, dtype=torch.float64)
    torch.testing.assert_close(adaptive_warp(image, flow, kernel), _slow_adaptive_warp(image, flow, kernel))


def test_adaptive_warp_gradients_reach_kernels_and_flows():
    torch.manual_seed(2)
    image = torch.rand(1, 3, 8, 8)
    flow = (torch.rand(1, 2, 8, 8) * 0.6 + 0.2).requires_grad_()  # fractional targets inside
    kernel = torch.rand(1, 16, 8, 8, requires_grad=True)
    adaptive_warp(image, flow, kernel).sum().backward()
    assert kernel.grad is not None and kernel.grad.abs().sum() > 0
    assert flow.grad is not None and flow.grad.abs().sum() > 0


def test_adaptive_warp_rejects_wrong_kernel_shape():
    with pytest.raises(ValueError, match="kernel must be"):
        adaptive_warp(torch.rand(1, 3, 5, 5), torch.zeros(1, 2, 5, 5), torch.zeros(1, 9, 5, 5))
