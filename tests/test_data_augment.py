"""Triplet augmentation: crops, flips and temporal reversal keep frames, flows and depths consistent."""

import numpy as np
import pytest
import torch

from nlvfi.data.augment import (
    augment_triplet,
    center_crop,
    flip_horizontal,
    flip_vertical,
    prepare_sample,
    random_crop,
    reverse_time,
)
from nlvfi.warping import backward_warp

H, W = 24, 32


def shifted_sample(dx: int = 3, dy: int = -2, seed: int = 0) -> dict:
    """next = prev moved by (dx, dy) (wrapping), so next(x + (dx, dy)) == prev(x) everywhere."""
    gen = torch.Generator().manual_seed(seed)
    prev = torch.rand(3, H, W, generator=gen)
    next = torch.roll(prev, shifts=(dy, dx), dims=(1, 2))  # content moves right by dx, down by dy
    flow_forward = torch.tensor([float(dx), float(dy)]).view(2, 1, 1).expand(2, H, W).clone()
    return {
        "prev": prev,
        "middle": torch.roll(prev, shifts=(dy // 2, dx // 2), dims=(1, 2)),
        "next": next,
        "t": torch.tensor(0.5),
        "flow_forward": flow_forward,  # (2, H, W) on prev's grid
        "flow_backward": -flow_forward,  # (2, H, W) on next's grid
        "depth_prev": torch.rand(1, H, W, generator=gen),
        "depth_middle": torch.rand(1, H, W, generator=gen),
        "depth_next": torch.rand(1, H, W, generator=gen),
        "motion": 3.6,
        "source": "synthetic",
    }


def row_sheared_sample(seed: int = 0) -> dict:
    """Every row y moves right by its own integer s(y): a flow that varies along y."""
    gen = torch.Generator().manual_seed(seed)
    prev = torch.rand(3, H, W, generator=gen)
    shifts = torch.randint(-4, 5, (H,), generator=gen)
    next = torch.stack([torch.roll(prev[:, y], int(shifts[y]), dims=1) for y in range(H)], dim=1)  # (3, H, W)
    flow_forward = torch.zeros(2, H, W)
    flow_forward[0] = shifts.view(H, 1).float()
    return {"prev": prev, "middle": prev.clone(), "next": next, "t": torch.tensor(0.5),
            "flow_forward": flow_forward, "flow_backward": -flow_forward}


def column_sheared_sample(seed: int = 0) -> dict:
    """Every column x moves down by its own integer s(x): a flow that varies along x."""
    sample = row_sheared_sample(seed)
    out = {key: value.transpose(1, 2).flip(0) if key.startswith("flow") else value.transpose(1, 2)
           for key, value in sample.items() if key != "t"}  # swap the axes and the (dx, dy) channels
    out["t"] = sample["t"]
    return out


def assert_warp_consistent(sample: dict) -> None:
    """next(x + flow_forward(x)) == prev(x) and prev(x + flow_backward(x)) == next(x) where in bounds."""
    for source, target, flow_key in (("prev", "next", "flow_forward"), ("next", "prev", "flow_backward")):
        flow = sample[flow_key]  # (2, h, w)
        height, width = flow.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        tx, ty = xs + flow[0], ys + flow[1]
        inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)  # (h, w)
        assert inside.float().mean() > 0.3
        warped = backward_warp(sample[target][None], flow[None])[0]  # (3, h, w)
        torch.testing.assert_close(warped[:, inside], sample[source][:, inside])


def assert_samples_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
        else:
            assert a[key] == b[key]


@pytest.mark.parametrize("op", [flip_horizontal, flip_vertical, reverse_time])
def test_each_operation_applied_twice_is_the_identity(op):
    sample = shifted_sample()
    assert_samples_equal(op(op(sample)), sample)


def test_horizontal_flip_mirrors_flow_and_negates_dx_only():
    flow = torch.zeros(2, 4, 5)
    flow[:, 1, 0] = torch.tensor([2.0, -1.0])  # one vector at row 1, column 0
    out = flip_horizontal({"prev": torch.zeros(3, 4, 5), "flow_forward": flow})["flow_forward"]
    expected = torch.zeros(2, 4, 5)
    expected[:, 1, 4] = torch.tensor([-2.0, -1.0])  # moved to the last column, dx negated
    torch.testing.assert_close(out, expected)


def test_vertical_flip_mirrors_flow_and_negates_dy_only():
    flow = torch.zeros(2, 4, 5)
    flow[:, 0, 3] = torch.tensor([2.0, -1.0])
    out = flip_vertical({"prev": torch.zeros(3, 4, 5), "flow_backward": flow})["flow_backward"]
    expected = torch.zeros(2, 4, 5)
    expected[:, 3, 3] = torch.tensor([2.0, 1.0])  # moved to the last row, dy negated
    torch.testing.assert_close(out, expected)


def test_reversal_swaps_frames_depths_flows_and_maps_t_to_one_minus_t():
    sample = shifted_sample()
    sample["t"] = torch.tensor(0.25)
    out = reverse_time(sample)
    for a, b in (("prev", "next"), ("depth_prev", "depth_next"), ("flow_forward", "flow_backward")):
        assert out[a] is sample[b] and out[b] is sample[a]
    assert out["middle"] is sample["middle"] and out["depth_middle"] is sample["depth_middle"]
    assert out["t"].item() == 0.75 and out["t"].dtype == torch.float32
    assert out["motion"] == 3.6 and out["source"] == "synthetic"


def test_reversal_without_the_partner_key_is_refused():
    with pytest.raises(ValueError, match="'depth_next' to go with 'depth_prev'"):
        reverse_time({"prev": torch.zeros(3, 2, 2), "next": torch.zeros(3, 2, 2), "depth_prev": torch.zeros(1, 2, 2)})


@pytest.mark.parametrize("make", [shifted_sample, row_sheared_sample, column_sheared_sample])
def test_flows_stay_true_after_any_augmentation(make):
    assert_warp_consistent(make())  # the synthetic sample itself is consistent
    seen = set()
    for seed in range(24):
        rng = np.random.default_rng(seed)
        out = augment_triplet(make(seed=seed), (16, 20), rng)
        seen.add(tuple(out["prev"].shape))
        assert_warp_consistent(out)
    assert seen == {(3, 16, 20)}


def test_all_flip_and_reversal_combinations_occur_and_are_reproducible():
    sample = shifted_sample()
    outcomes = set()
    for seed in range(40):
        a = augment_triplet(sample, None, np.random.default_rng(seed))
        assert_samples_equal(a, augment_triplet(sample, None, np.random.default_rng(seed)))
        # the constant flow (3, -2) shows the flips by its signs, the swap of flows the reversal
        reversed_ = torch.equal(a["depth_prev"].flatten().sort().values, sample["depth_next"].flatten().sort().values)
        outcomes.add((float(a["flow_forward"][0, 0, 0]), float(a["flow_forward"][1, 0, 0]), reversed_, a["t"].item()))
    assert {(dx, dy) for dx, dy, _, _ in outcomes} == {(3.0, -2.0), (-3.0, -2.0), (3.0, 2.0), (-3.0, 2.0)}
    assert {(reversed_, t) for _, _, reversed_, t in outcomes} == {(False, 0.5), (True, 0.5)}


def test_options_off_leave_only_the_crop():
    sample = shifted_sample()
    out = augment_triplet(sample, None, np.random.default_rng(3), flips=False, temporal_reversal=False)
    assert_samples_equal(out, sample)


def test_crop_takes_one_window_for_every_map():
    sample = shifted_sample()
    sample["prev"] = torch.arange(H * W, dtype=torch.float32).view(1, H, W).expand(3, H, W).clone()
    out = random_crop(sample, (10, 7), np.random.default_rng(5))
    top, left = divmod(int(out["prev"][0, 0, 0]), W)  # the window's corner, read off the ramp
    for key in ("prev", "middle", "next", "flow_forward", "flow_backward", "depth_prev", "depth_middle", "depth_next"):
        assert out[key].shape[-2:] == (10, 7)
        torch.testing.assert_close(out[key], sample[key][:, top : top + 10, left : left + 7])
    assert out["t"] is sample["t"] and out["motion"] == 3.6


@pytest.mark.parametrize("size, shape", [(8, (8, 8)), ((5, 11), (5, 11)), ((H, W), (H, W))])
def test_crop_sizes(size, shape):
    rng = np.random.default_rng(0)
    assert random_crop(shifted_sample(), size, rng)["next"].shape == (3, *shape)
    assert augment_triplet(shifted_sample(), size, rng)["depth_next"].shape == (1, *shape)


def test_center_crop_is_centred():
    sample = {"prev": torch.arange(30.0).view(1, 5, 6)}
    torch.testing.assert_close(center_crop(sample, (3, 2))["prev"], sample["prev"][:, 1:4, 2:4])


@pytest.mark.parametrize("size", [(H + 1, W), (H, W + 1), 100])
def test_crop_larger_than_the_image_is_refused(size):
    with pytest.raises(ValueError, match=f"larger than the image {H}x{W}"):
        augment_triplet(shifted_sample(), size, np.random.default_rng(0))


def test_maps_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        random_crop({"prev": torch.zeros(3, 8, 8), "next": torch.zeros(3, 8, 9)}, 4, np.random.default_rng(0))


def test_prepare_sample_converts_uint8_and_is_deterministic_per_seed_epoch_index():
    gen = torch.Generator().manual_seed(0)
    sample = {key: torch.randint(0, 256, (3, 12, 16), generator=gen, dtype=torch.uint8) for key in ("prev", "middle", "next")}
    sample["t"] = torch.tensor(0.5)
    plain = prepare_sample(sample, None, False, seed=0, epoch=0, index=0)
    assert plain["prev"].dtype == torch.float32 and plain["prev"].is_contiguous()
    torch.testing.assert_close(plain["next"], sample["next"].float() / 255)
    a = prepare_sample(sample, 8, True, seed=1, epoch=2, index=3)
    b = prepare_sample(sample, 8, True, seed=1, epoch=2, index=3)
    assert_samples_equal(a, b)
    others = [prepare_sample(sample, 8, True, seed=1, epoch=epoch, index=3) for epoch in range(3, 8)]
    assert any(not torch.equal(a["prev"], other["prev"]) for other in others)
    assert center_crop(sample, 8)["prev"].shape == prepare_sample(sample, 8, False, 0, 0, 0)["prev"].shape
