"""Depth-aware flow projection (METHOD.md §2.3)."""

import torch

from nlvfi.projection import fill_holes, project_flow


def test_constant_translation_with_uniform_depth_projects_to_minus_t_flow():
    flow = torch.zeros(1, 2, 20, 24)
    flow[:, 0] = 4.0
    flow[:, 1] = -2.0
    for t in (0.25, 0.5, 0.8):
        projected, filled = project_flow(flow, torch.ones(1, 1, 20, 24), t)
        interior = projected[..., 4:-4, 6:-6]
        torch.testing.assert_close(interior[:, 0], torch.full_like(interior[:, 0], -t * 4.0))
        torch.testing.assert_close(interior[:, 1], torch.full_like(interior[:, 1], t * 2.0))
        assert filled[..., 4:-4, 6:-6].all()


def test_per_sample_times():
    flow = torch.ones(2, 2, 16, 16) * 2.0
    projected, _ = project_flow(flow, torch.ones(2, 1, 16, 16), torch.tensor([0.25, 0.75]))
    assert projected[0, :, 8, 8].tolist() == [-0.5, -0.5]
    assert projected[1, :, 8, 8].tolist() == [-1.5, -1.5]


def _two_layers():
    """Background (far, static) and a 4x4 square (near, moving 6 px right) that covers it at t."""
    flow = torch.zeros(1, 2, 16, 24)
    depth = torch.full((1, 1, 16, 24), 100.0)
    flow[..., 6:10, 4:8] = torch.tensor([6.0, 0.0]).view(1, 2, 1, 1)
    depth[..., 6:10, 4:8] = 1.0
    return flow, depth


def test_the_nearer_objects_flow_wins_where_layers_overlap():
    flow, depth = _two_layers()
    projected, _ = project_flow(flow, 1e-6 + 1.0 / depth, 0.5)
    # at t = 0.5 the square lands on columns 7..10, on top of static background pixels there
    overlap = projected[0, 0, 6:10, 8:10]  # landed on by both the square and the background
    assert torch.allclose(overlap, torch.full_like(overlap, -3.0), atol=0.05), overlap
    # with the depths swapped, the (now nearer) background wins the same pixels
    projected_swapped, _ = project_flow(flow, 1e-6 + 1.0 / (101.0 - depth), 0.5)
    assert projected_swapped[0, 0, 6:10, 8:10].abs().max() < 0.05


def test_no_unfilled_holes_where_neighbours_exist():
    flow = torch.zeros(1, 2, 12, 12)
    flow[:, 0] = 5.0  # everything moves right: the left columns at t receive nothing
    projected, filled = project_flow(flow, torch.ones(1, 1, 12, 12), 0.6)
    assert not filled[..., :3].all()  # there really were holes
    torch.testing.assert_close(projected[:, 0], torch.full((1, 12, 12), -3.0))


def test_fill_holes_averages_the_first_filled_pixel_in_four_directions():
    flow = torch.arange(2 * 5 * 6, dtype=torch.float32).view(1, 2, 5, 6)
    filled = torch.ones(1, 5, 6, dtype=torch.bool)
    filled[0, 2, 1:4] = False  # a horizontal hole
    filled[0, 1:4, 2] = False  # crossed by a vertical one
    out = fill_holes(flow, filled)
    # hole (2, 2): left (2, 0) = 12, right (2, 4) = 16, up (0, 2) = 2, down (4, 2) = 26
    assert out[0, 0, 2, 2].item() == (12 + 16 + 2 + 26) / 4
    assert torch.equal(out[0, :, filled[0]], flow[0, :, filled[0]])
    empty = fill_holes(flow, torch.zeros(1, 5, 6, dtype=torch.bool))
    assert torch.equal(empty, torch.zeros_like(flow))


def test_projection_is_differentiable_wrt_flow_and_depth():
    torch.manual_seed(0)
    flow = (torch.randn(1, 2, 10, 10) * 2).requires_grad_()
    depth = (torch.rand(1, 1, 10, 10) + 0.5).requires_grad_()
    projected, _ = project_flow(flow, 1e-6 + 1.0 / depth, 0.5)
    (projected**2).sum().backward()
    assert flow.grad.abs().sum() > 0
    assert depth.grad.abs().sum() > 0
