"""Self-attention of the non-local branch (METHOD.md §2.2 step 3)."""

import torch

from nlvfi.attention import SelfAttention
from nlvfi.config import ModelConfig
from nlvfi.nonlocal_features import NonLocalBranch


def _attention(seed=0, gamma=0.7):
    torch.manual_seed(seed)
    block = SelfAttention(channels=16, key_channels=2, value_channels=8)
    with torch.no_grad():
        block.gamma.fill_(gamma)
    return block


def test_weight_rows_sum_to_one():
    _, weights = _attention()(torch.randn(3, 16, 5, 7), return_weights=True)
    assert weights.shape == (3, 35, 35)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 35))
    assert (weights >= 0).all()


def test_block_is_identity_with_residual_scale_at_zero():
    block = SelfAttention(16, 2, 8)  # gamma starts at 0, as in SAGAN
    assert block.gamma.item() == 0.0
    x = torch.randn(2, 16, 6, 6)
    for explicit in (False, True):
        torch.testing.assert_close(block(x, return_weights=explicit)[0], x)


def test_memory_efficient_path_equals_explicit_path():
    block = _attention()
    x = torch.randn(2, 16, 9, 11)
    explicit, _ = block(x, return_weights=True)
    efficient, weights = block(x)
    assert weights is None
    torch.testing.assert_close(efficient, explicit, atol=1e-5, rtol=1e-5)


def test_attention_reaches_the_whole_map():
    """One position's output depends on a far corner: the receptive field is global."""
    block = _attention()
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    y, _ = block(x)
    y[0, :, 0, 0].sum().backward()
    assert x.grad[0, :, 7, 7].abs().sum() > 0


def test_nonlocal_branch_shapes():
    branch = NonLocalBranch(ModelConfig.tiny())
    features, weights = branch(torch.rand(2, 6, 64, 96), return_attention=True)
    assert features.shape == (2, 16, 64, 96)
    assert weights.shape == (2, 4 * 6, 4 * 6)  # 1/16 of 64 x 96


_MEMORY_PROBE = """
import resource, torch
from nlvfi.attention import SelfAttention
block = SelfAttention(32, 8, 16).eval()
x = torch.randn(1, 32, 100, 120)  # N = 12,000 positions: the weight matrix alone is 576 MB
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.inference_mode():
    block(x, return_weights={explicit})
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def _extra_memory_mb(explicit: bool) -> float:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE.format(explicit=explicit)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def test_memory_efficient_path_never_stores_the_weight_matrix():
    """Peak memory, not time: the default path must stay far below one N x N float matrix."""
    weight_matrix_mb = 12_000**2 * 4 / 2**20
    assert _extra_memory_mb(explicit=True) > 0.9 * weight_matrix_mb  # the probe can see the matrix
    assert _extra_memory_mb(explicit=False) < 0.1 * weight_matrix_mb
