"""Losses against hand computations on fixed numbers (METHOD.md §3)."""

import math

import pytest
import torch

from nlvfi import losses


def test_charbonnier_by_hand():
    pred = torch.tensor([0.0, 0.5, 1.0, 0.2])
    target = torch.tensor([0.0, 0.2, 0.0, 0.2])
    eps = 1e-6
    rho = [eps, math.sqrt(0.09 + eps**2), math.sqrt(1 + eps**2), eps]
    assert losses.charbonnier(pred, target).item() == pytest.approx(sum(rho) / 4, rel=1e-6)
    assert losses.charbonnier(pred, target, reduction="sum").item() == pytest.approx(sum(rho), rel=1e-6)
    assert losses.charbonnier(pred, target, eps=0.5).item() == pytest.approx(
        (0.5 + math.sqrt(0.09 + 0.25) + math.sqrt(1.25) + 0.5) / 4, rel=1e-6
    )


def test_charbonnier_is_smooth_at_zero():
    pred = torch.zeros(3, requires_grad=True)
    losses.charbonnier(pred, torch.zeros(3)).backward()
    assert torch.equal(pred.grad, torch.zeros(3))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_ragan_losses_by_hand():
    c_real = torch.tensor([2.0, 0.0])
    c_fake = torch.tensor([-1.0, 1.0])
    mean_real, mean_fake = 1.0, 0.0
    d_real_fake = [_sigmoid(2.0 - mean_fake), _sigmoid(0.0 - mean_fake)]  # D_Ra(real, fake)
    d_fake_real = [_sigmoid(-1.0 - mean_real), _sigmoid(1.0 - mean_real)]  # D_Ra(fake, real)
    generator = 0.5 * (
        sum(-math.log(1 - d) for d in d_real_fake) / 2 + sum(-math.log(d) for d in d_fake_real) / 2
    )
    discriminator = 0.5 * (
        sum(-math.log(d) for d in d_real_fake) / 2 + sum(-math.log(1 - d) for d in d_fake_real) / 2
    )
    assert losses.ragan_generator_loss(c_real, c_fake).item() == pytest.approx(generator, rel=1e-6)
    assert losses.ragan_discriminator_loss(c_real, c_fake).item() == pytest.approx(discriminator, rel=1e-6)


def test_ragan_losses_mirror_each_other():
    c_real, c_fake = torch.randn(5), torch.randn(5)
    torch.testing.assert_close(
        losses.ragan_generator_loss(c_real, c_fake), losses.ragan_discriminator_loss(c_fake, c_real)
    )


def test_generator_loss_adds_the_weighted_adversarial_term():
    pred, target = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    c_real, c_fake = torch.randn(2), torch.randn(2)
    expected = losses.charbonnier(pred, target) + 5e-3 * losses.ragan_generator_loss(c_real, c_fake)
    torch.testing.assert_close(losses.generator_loss(pred, target, c_real, c_fake, 5e-3), expected)


def test_charbonnier_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        losses.charbonnier(torch.zeros(2, 3), torch.zeros(3, 2))
