"""The generator end to end: sizes, gradients, determinism, bad inputs (METHOD.md §2)."""

import pytest
import torch

import nlvfi


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return nlvfi.build_generator("tiny").eval()


def test_odd_sizes_give_same_size_output(generator):
    prev, next = torch.rand(2, 3, 67, 93), torch.rand(2, 3, 67, 93)
    out = generator(prev, next, t=0.5, return_intermediates=True)
    assert out.frame.shape == (2, 3, 67, 93)
    assert all(f.shape == (2, 2, 67, 93) for f in out.flows + out.projected_flows)
    assert all(d.shape == (2, 1, 67, 93) and (d > 0).all() for d in out.depths)
    assert all(k.shape == (2, 16, 67, 93) for k in out.kernels)
    assert out.nonlocal_features.shape == (2, 16, 67, 93)
    assert out.attention.shape == (2, 5 * 6, 5 * 6)  # padded to 80 x 96, 1/16 of that
    assert 0.0 <= out.frame.min() and out.frame.max() <= 1.0


def test_minimal_output_has_only_the_frame(generator):
    out = generator(torch.rand(1, 3, 20, 30), torch.rand(1, 3, 20, 30))
    assert out.frame.shape == (1, 3, 20, 30)
    assert out.flows is None and out.attention is None


def test_identical_frames_give_that_frame_back_untrained(generator):
    frame = torch.rand(1, 3, 32, 48)
    out = generator(frame, frame, t=0.5)
    # the blend of two identically warped copies is the frame; the residual head starts tiny
    torch.testing.assert_close(out.frame, frame, atol=0.05, rtol=0)


def test_every_parameter_receives_a_gradient_from_one_loss():
    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny").train()
    with torch.no_grad():  # at its initial 0 the attention scale would block its convs' gradients
        generator.nonlocal_branch.attention.gamma.fill_(0.1)
    prev, next, target = torch.rand(3, 2, 3, 48, 64).unbind(0)
    loss = nlvfi.losses.charbonnier(generator(prev, next).frame, target)
    loss.backward()
    dead = [name for name, p in generator.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, f"no gradient reached: {dead}"


def test_same_seed_gives_bitwise_identical_output():
    outputs = []
    for _ in range(2):
        torch.manual_seed(123)
        generator = nlvfi.build_generator("tiny").eval()
        g = torch.Generator().manual_seed(7)
        prev, next = torch.rand(1, 3, 40, 56, generator=g), torch.rand(1, 3, 40, 56, generator=g)
        outputs.append(generator(prev, next, t=0.3).frame)
    assert torch.equal(outputs[0], outputs[1])


def test_time_moves_the_output_between_the_frames():
    """Untrained but with a zero flow, t blends linearly from prev (t=0) to next (t=1)."""
    torch.manual_seed(0)
    generator = nlvfi.build_generator("tiny").eval()
    prev, next = torch.zeros(1, 3, 32, 32), torch.ones(1, 3, 32, 32)
    means = [generator(prev, next, t=t).frame.mean().item() for t in (0.0, 0.25, 0.5, 1.0)]
    assert means == sorted(means)
    assert means[0] < 0.05 and means[-1] > 0.95
    batched = generator(prev.expand(2, -1, -1, -1), next.expand(2, -1, -1, -1), t=torch.tensor([0.0, 1.0]))
    assert batched.frame[0].mean() < 0.05 and batched.frame[1].mean() > 0.95


@pytest.mark.parametrize(
    "prev, next, t, error, message",
    [
        (torch.rand(1, 4, 16, 16), torch.rand(1, 4, 16, 16), 0.5, ValueError, "3 channels"),
        (torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16), 0.5, ValueError, "3 channels"),
        (torch.rand(3, 16, 16), torch.rand(3, 16, 16), 0.5, ValueError, r"shape \(B, 3, H, W\)"),
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 20), 0.5, ValueError, "differ in shape"),
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), 1.5, ValueError, r"t must lie in \[0, 1\]"),
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), -0.1, ValueError, r"t must lie in \[0, 1\]"),
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), float("nan"), ValueError, r"t must lie in \[0, 1\]"),
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), "half", TypeError, "t must be a number"),
        (torch.randint(0, 255, (1, 3, 16, 16), dtype=torch.uint8),) * 2 + (0.5, TypeError, "float RGB"),
        (torch.full((1, 3, 16, 16), float("nan")), torch.rand(1, 3, 16, 16), 0.5, ValueError, "NaN"),
    ],
)
def test_bad_inputs_give_clear_errors(generator, prev, next, t, error, message):
    with pytest.raises(error, match=message):
        generator(prev, next, t=t)


def test_not_a_tensor_is_refused(generator):
    with pytest.raises(TypeError, match="torch.Tensor"):
        generator([[0.0]], torch.rand(1, 3, 8, 8))


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="tiny, small, full"):
        nlvfi.build_generator("huge")
