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


def test_contrast_normalize_centres_scales_and_keeps_flat_regions_small():
    from nlvfi.flow import contrast_normalize

    torch.manual_seed(0)
    features = torch.rand(2, 8, 12, 16) + 3.0  # mostly positive, like leaky-ReLU features
    features[..., :4, :4] = 3.5  # a flat patch
    normalized = contrast_normalize(features)
    assert normalized.shape == features.shape
    torch.testing.assert_close(contrast_normalize(features - 3.0), normalized, atol=1e-5, rtol=1e-4)  # offset-free
    torch.testing.assert_close(contrast_normalize(7.0 * features), normalized, atol=1e-5, rtol=1e-4)  # scale-free
    energy = normalized.pow(2).mean(dim=1)  # (2, 12, 16); below 1 everywhere
    assert energy.max() < 1
    flat, rest = energy[:, :4, :4].mean(), energy[:, 4:, 4:].mean()
    assert flat < rest / 2  # the flat patch stays weak: its noise is not blown up


def test_normalized_cost_peaks_at_the_true_displacement():
    """Random features and the same features moved by (dy, dx) = (1, -2): the cost volume of
    the normalised features is largest at that displacement for every interior pixel."""
    from nlvfi.flow import contrast_normalize

    torch.manual_seed(1)
    features = torch.rand(1, 16, 20, 24)
    moved = torch.roll(features, shifts=(1, -2), dims=(2, 3))  # moved(x) = features(x - (1, -2))
    cost = cost_volume(contrast_normalize(features), contrast_normalize(moved), 3)  # (1, 49, 20, 24)
    best = cost[0, :, 4:-4, 4:-4].argmax(dim=0)  # (12, 16)
    expected = (1 + 3) * 7 + (-2 + 3)  # channel (dy + d) * (2d + 1) + (dx + d)
    assert (best == expected).all()
