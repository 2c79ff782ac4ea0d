"""Flying-layers synthetic triplets (nlvfi.data.synthetic): determinism, ground truth, buckets, I/O."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

pytest.importorskip("skimage")  # the textures are scikit-image's bundled photographs

from nlvfi.data.synthetic import (  # noqa: E402
    MOTION_BUCKETS,
    FlyingLayers,
    FlyingLayersScene,
    bucket_range,
    dump_triplets,
)
from nlvfi.warping import backward_warp  # noqa: E402

KEYS_3 = ("prev", "middle", "next")
KEYS_2 = ("flow_forward", "flow_backward")
KEYS_1 = ("depth_prev", "depth_middle", "depth_next")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Scenes are many small tensor ops: on a busy 2-core machine, two intra-op threads make them
    ~10x slower (DataLoader workers use one thread each anyway). Results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _interior(labels: torch.Tensor, k: int = 5) -> torch.Tensor:
    """(H, W) bool: the label is the same over the k x k window (away from every mask edge)."""
    x = labels[None, None].float()  # (1, 1, H, W)
    high = F.max_pool2d(x, k, 1, k // 2)
    low = -F.max_pool2d(-x, k, 1, k // 2)
    return (high == low)[0, 0]


def _visible_in_both(scene, s0: float, s1: float) -> torch.Tensor:
    """Pixels of frame s0 whose surface is visible, away from edges, at s1 and inside the frame."""
    a, b = scene.render(s0), scene.render(s1)
    flow = scene.flow(s0, s1)  # (2, H, W)
    height, width = scene.size
    tx = torch.arange(width).view(1, width) + flow[0]  # (H, W)
    ty = torch.arange(height).view(height, 1) + flow[1]
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    ix, iy = tx.round().clamp(0, width - 1).long(), ty.round().clamp(0, height - 1).long()
    same = b["labels"][iy, ix] == a["labels"]  # not occluded at s1
    return inside & same & _interior(a["labels"]) & _interior(b["labels"])[iy, ix]


def _photometric_error(scene, s0: float, s1: float, shift: float = 0.0) -> tuple[float, int]:
    """Mean |frame_s0 - backward_warp(frame_s1, flow(s0, s1) + shift)| on pixels visible in both."""
    flow = scene.flow(s0, s1) + torch.tensor([shift, 0.0]).view(2, 1, 1)  # (2, H, W)
    warped = backward_warp(scene.render(s1)["frame"][None], flow[None])[0]  # (3, H, W)
    valid = _visible_in_both(scene, s0, s1)
    error = (warped - scene.render(s0)["frame"]).abs().mean(0)[valid]
    return error.mean().item(), int(valid.sum())


# ---- determinism ------------------------------------------------------------------------------


def test_same_seed_and_index_give_bitwise_identical_samples():
    a = FlyingLayers(4, motion="mixed", size=(64, 64), seed=7)
    b = FlyingLayers(4, motion="mixed", size=(64, 64), seed=7)
    first = a[2]
    torch.manual_seed(123)  # global RNG state must not matter
    np.random.seed(123)
    _ = a[1]  # nor what was generated before
    for sample in (a[2], b[2]):
        for key, value in first.items():
            if torch.is_tensor(value):
                assert torch.equal(value, sample[key]), key
            else:
                assert value == sample[key]


def test_different_index_or_seed_gives_a_different_sample():
    a = FlyingLayers(3, motion="large", size=(64, 64), seed=0)
    b = FlyingLayers(3, motion="large", size=(64, 64), seed=1)
    assert not torch.equal(a[0]["prev"], a[1]["prev"])
    assert not torch.equal(a[0]["prev"], b[0]["prev"])
    assert a[0]["motion"] != a[1]["motion"]


# ---- shapes, dtypes, ranges ---------------------------------------------------------------------


def test_every_key_has_its_shape_dtype_and_range():
    data = FlyingLayers(3, motion=["small", "extreme"], size=(48, 80), seed=3, t=0.3)
    assert len(data) == 3
    for index in range(3):
        item = data[index]
        assert set(item) == set(KEYS_3 + KEYS_2 + KEYS_1 + ("t", "motion", "bucket"))
        for key in KEYS_3:
            assert item[key].shape == (3, 48, 80) and item[key].dtype == torch.float32, key
            assert item[key].min() >= 0 and item[key].max() <= 1, key
        for key in KEYS_2:
            assert item[key].shape == (2, 48, 80) and item[key].dtype == torch.float32, key
            assert torch.isfinite(item[key]).all(), key
        for key in KEYS_1:
            assert item[key].shape == (1, 48, 80) and item[key].dtype == torch.float32, key
            assert item[key].min() > 0, key
        assert item["t"].shape == () and item["t"].dtype == torch.float32 and item["t"].item() == pytest.approx(0.3)
        assert item["motion"].shape == () and item["motion"].dtype == torch.float32
        assert item["bucket"] == ("small", "extreme")[index % 2]
        flow = item["flow_forward"]
        assert item["motion"].item() == pytest.approx(torch.hypot(flow[0], flow[1]).mean().item(), rel=1e-5)
    assert data[-1]["bucket"] == data[2]["bucket"]
    with pytest.raises(IndexError):
        data[3]


def test_mixed_cycles_through_all_buckets():
    data = FlyingLayers(8, motion="mixed", size=(32, 32))
    assert [data.bucket(i) for i in range(8)] == list(MOTION_BUCKETS) * 2


# ---- ground truth -------------------------------------------------------------------------------


@pytest.mark.parametrize("motion, seed", [("small", 0), ("medium", 1), ("large", 2), ("extreme", 3)])
def test_flows_warp_next_onto_prev_and_prev_onto_next(motion, seed):
    scene = FlyingLayersScene(seed=seed, motion=motion, size=(96, 96), num_layers=(3, 4))
    for s0, s1 in ((0.0, 1.0), (1.0, 0.0)):  # flow_forward, then flow_backward
        error, count = _photometric_error(scene, s0, s1)
        assert count > 0.15 * 96 * 96  # enough surface visible in both frames to judge
        # what is left is double bilinear interpolation of sharp photographs, about 0.01;
        # a flow wrong by 1 px costs several times more, so the check can fail
        assert error < 0.02, (s0, s1, error)
        assert error < 0.5 * _photometric_error(scene, s0, s1, shift=1.0)[0]


@pytest.mark.parametrize("motion", ["small", "extreme"])
def test_forward_and_backward_flows_are_exact_inverses(motion):
    scene = FlyingLayersScene(seed=5, motion=motion, size=(96, 96))
    forward, backward = scene.flow_forward, scene.flow_backward  # (2, H, W) each
    back_again = backward_warp(backward[None], forward[None])[0]  # backward flow at x + F(x)
    # the backward flow is affine inside a layer, so bilinear sampling of it is exact there
    valid = _visible_in_both(scene, 0.0, 1.0)
    assert valid.sum() > 0
    assert (forward + back_again)[:, valid].abs().max() < 1e-3


def test_flows_follow_each_layers_affine_motion():
    """Against the motion model written out: M_s(u) = c + sT + exp(sℓ) R(sθ) (u - c)."""
    scene = FlyingLayersScene(seed=11, motion="large", size=(64, 64), num_layers=3)

    def pose(layer, s, u):  # u (N, 2) -> (N, 2), float64
        angle, scale = s * layer.rotation, math.exp(s * layer.log_scale)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return layer.centre + s * layer.translation + scale * (u - layer.centre) @ rot.T

    ys, xs = np.mgrid[0:64, 0:64]
    pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)  # (N, 2)
    for s1 in (0.5, 1.0):
        flow = scene.flow(0.0, s1).numpy().reshape(2, -1).T  # (N, 2)
        labels = scene.render(0.0)["labels"].numpy().ravel()  # (N,)
        for index, layer in enumerate(scene.layers):
            mine = labels == index
            expected = pose(layer, s1, pixels[mine]) - pixels[mine]
            np.testing.assert_allclose(flow[mine], expected, atol=1e-3)


def test_middle_frame_is_rendered_at_the_mid_pose():
    data = FlyingLayers(1, motion="medium", size=(96, 96), seed=4, t=0.5)
    item = data[0]
    scene = data.scene(0)
    torch.testing.assert_close(item["middle"], scene.render(0.5)["frame"], rtol=0, atol=0)
    # prev, warped with the flow from the middle back to prev, gives the middle frame
    error, count = _photometric_error(scene, 0.5, 0.0)
    assert count > 0.15 * 96 * 96 and error < 0.02
    assert error < 0.5 * _photometric_error(scene, 0.5, 0.0, shift=1.0)[0]
    # and neither endpoint does: the middle really is in between
    for other in ("prev", "next"):
        assert (item[other] - item["middle"]).abs().mean() > 2 * error


# ---- occlusion by depth -------------------------------------------------------------------------


def test_nearer_layer_is_visible_and_its_depth_is_reported():
    overlaps = 0
    for seed in range(4):
        scene = FlyingLayersScene(seed=seed, motion="medium", size=(64, 64), num_layers=(4, 5))
        depths = [layer.depth for layer in scene.layers]
        assert all(near < far for far, near in zip(depths, depths[1:]))  # far to near, background first
        for s in (0.0, 1.0):
            out = scene.render(s)
            layers = [scene.layer_rgba(index, s) for index in range(len(scene.layers))]  # rgb, alpha
            # slow, obvious reference: "over" compositing far to near, and the nearest alpha >= 0.5
            composite = torch.zeros(3, 64, 64)
            expected = torch.zeros(64, 64, dtype=torch.long)
            for index, (rgb, alpha) in enumerate(layers):
                composite = alpha * rgb + (1 - alpha) * composite
                expected[alpha[0] >= 0.5] = index
            torch.testing.assert_close(out["frame"], composite, rtol=0, atol=1e-5)
            assert torch.equal(out["labels"], expected)
            torch.testing.assert_close(out["depth"][0], torch.tensor(depths, dtype=torch.float32)[expected])
            # where two foreground layers both fully cover a pixel, the nearer one is what we see
            for far in range(1, len(layers)):
                for near in range(far + 1, len(layers)):
                    both = (layers[far][1][0] == 1) & (layers[near][1][0] == 1)
                    for nearer in range(near + 1, len(layers)):  # and nothing nearer still
                        both &= layers[nearer][1][0] == 0
                    if not both.any():
                        continue
                    overlaps += 1
                    torch.testing.assert_close(out["frame"][:, both], layers[near][0][:, both], rtol=0, atol=1e-6)
                    assert (out["depth"][0, both] == depths[near]).all()
                    assert depths[near] < depths[far]
    assert overlaps > 0  # the scenes did exercise overlapping layers


# ---- motion buckets -----------------------------------------------------------------------------


@pytest.mark.parametrize("motion", list(MOTION_BUCKETS))
def test_measured_motion_falls_in_its_bucket(motion):
    low, high = MOTION_BUCKETS[motion]
    for index in range(8):
        scene = FlyingLayersScene(seed=(0, index), motion=motion, size=(256, 256))
        assert low <= scene.motion < high, (index, scene.motion)
        flow = scene.flow_forward
        assert torch.hypot(flow[0], flow[1]).mean().item() == pytest.approx(scene.motion, rel=1e-5)


def test_buckets_scale_with_the_frame_size():
    assert bucket_range("large", (64, 96)) == (4.0, 12.0)  # min side 64 = 256 / 4
    for index in range(3):
        scene = FlyingLayersScene(seed=(1, index), motion="large", size=(64, 96))
        assert 4.0 <= scene.motion < 12.0


# ---- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_samples=0), "num_samples must be an int >= 1"),
        (dict(num_samples=4, motion="huge"), "unknown motion preset 'huge'"),
        (dict(num_samples=4, motion=["small", "fast"]), "unknown motion preset 'fast'"),
        (dict(num_samples=4, motion=[]), "motion list is empty"),
        (dict(num_samples=4, size=(16, 64)), "too small"),
        (dict(num_samples=4, t=0.0), r"t must be in \(0, 1\)"),
        (dict(num_samples=4, t=1.5), r"t must be in \(0, 1\)"),
        (dict(num_samples=4, seed=-1), "seed must be an int >= 0"),
        (dict(num_samples=4, num_layers=(3, 2)), "num_layers"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FlyingLayers(**kwargs)


def test_scene_rejects_bad_arguments_and_times():
    with pytest.raises(ValueError, match="unknown motion preset"):
        FlyingLayersScene(motion="fast")
    with pytest.raises(ValueError, match="too small"):
        FlyingLayersScene(size=8)
    scene = FlyingLayersScene(seed=0, motion="small", size=32)
    with pytest.raises(ValueError, match=r"time s must be in \[0, 1\]"):
        scene.render(1.5)


# ---- writing to disk ----------------------------------------------------------------------------


def test_dump_triplets_writes_every_file_and_refuses_to_overwrite(tmp_path):
    data = FlyingLayers(3, motion="medium", size=(40, 48), seed=9, t=0.25)
    folders = dump_triplets(data, tmp_path, start=1, count=2, progress=False)
    assert [f.name for f in folders] == ["00001", "00002"]
    assert not (tmp_path / "00000").exists()
    folder = tmp_path / "00002"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["im1.png", "im2.png", "im3.png", "flow_forward.npy", "flow_backward.npy", "depth.npz", "meta.json"]
    )  # and no temp files left behind
    item = data[2]
    for name, key in (("im1.png", "prev"), ("im2.png", "middle"), ("im3.png", "next")):
        pixels = np.asarray(Image.open(folder / name))  # (H, W, 3) uint8
        expected = (item[key] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(pixels, expected)
    for key in KEYS_2:
        np.testing.assert_array_equal(np.load(folder / f"{key}.npy"), item[key].numpy())
    with np.load(folder / "depth.npz") as depth:
        for name in ("prev", "middle", "next"):
            np.testing.assert_array_equal(depth[name], item[f"depth_{name}"].numpy())
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == 9 and meta["index"] == 2 and meta["bucket"] == "medium"
    assert meta["t"] == pytest.approx(0.25) and meta["motion"] == pytest.approx(item["motion"].item())

    with pytest.raises(FileExistsError, match="overwrite=True"):
        dump_triplets(data, tmp_path, progress=False)  # 00001 and 00002 are taken
    assert not (tmp_path / "00000").exists()  # refused before writing anything
    dump_triplets(data, tmp_path, progress=False, overwrite=True)
    assert (tmp_path / "00000" / "meta.json").is_file()
    with pytest.raises(ValueError, match="count"):
        dump_triplets(data, tmp_path, start=2, count=5, progress=False)
