"""The PWC-Net cost volume against a slow, obvious loop."""

import torch

from nlvfi.correlation import cost_volume


def _slow_cost_volume(f1, f2, d):
    batch, channels, height, width = f1.shape
    out = torch.zeros(batch, (2 * d + 1) ** 2, height, width, dtype=f1.dtype)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                for dy in range(-d, d + 1):
                    for dx in range(-d, d + 1):
                        k = (dy + d) * (2 * d + 1) + (dx + d)
                        y2, x2 = y + dy, x + dx
                        if 0 <= y2 < height and 0 <= x2 < width:
                            out[b, k, y, x] = (f1[b, :, y, x] * f2[b, :, y2, x2]).sum() / channels
    return out


def test_cost_volume_equals_slow_loop_on_random_input():
    torch.manual_seed(0)
    f1 = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    f2 = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    torch.testing.assert_close(cost_volume(f1, f2, 2), _slow_cost_volume(f1, f2, 2))


def test_cost_volume_peaks_at_the_true_displacement():
    torch.manual_seed(1)
    f1 = torch.randn(1, 64, 12, 12)
    f2 = torch.roll(f1, shifts=(1, -2), dims=(2, 3))  # content moves 1 down, 2 left
    cost = cost_volume(f1, f2, 3)[0, :, 4:8, 4:8]  # centre, away from the wrap-around
    best = cost.argmax(dim=0)
    assert (best == (1 + 3) * 7 + (-2 + 3)).all()
