"""The VGG-13 style relativistic discriminator."""

import pytest
import torch
from torch import nn

import nlvfi


def test_any_input_size_gives_one_score_per_image():
    torch.manual_seed(0)
    discriminator = nlvfi.build_discriminator("tiny")
    for size in ((64, 64), (96, 128), (67, 93)):
        assert discriminator(torch.rand(2, 3, *size)).shape == (2,)


def test_vgg13_layout_ten_convolutions_in_five_stages():
    discriminator = nlvfi.build_discriminator("full")
    convs = [m for m in discriminator.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == 10
    assert [c.out_channels for c in convs[1::2]] == [64, 128, 256, 512, 512]
    assert all(c.stride == (2, 2) for c in convs[1::2])


def test_gradients_reach_every_discriminator_parameter():
    discriminator = nlvfi.build_discriminator("tiny")
    real, fake = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    nlvfi.losses.ragan_discriminator_loss(discriminator(real), discriminator(fake)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in discriminator.parameters())


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="unknown discriminator size"):
        nlvfi.build_discriminator("xl")
