"""benchmarks/fades.py: the transitions it makes and what it scores. The benchmark itself is run
by hand (its docstring says how); the clip measured here is small and synthetic."""

import numpy as np
import pytest

from nlvfi.interpolate import DEFAULT_CHECKPOINT

from project_scripts import load_script

fades = load_script("benchmarks/fades.py")


def moving_texture(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """A still smooth random texture with a bright 12x12 square crossing it, 1 px right per frame,
    as a fixed camera sees a scene: (H, W, 3) uint8 frames."""
    rng = np.random.default_rng(0)
    texture = rng.integers(40, 216, (height, width, 3)).astype(np.float64)
    for _ in range(3):
        texture = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) / 3
    frames = []
    for i in range(count):
        frame = texture.copy()
        left = i % (width - 12)
        frame[18:30, left : left + 12] = 230
        frames.append(frame.round().astype(np.uint8))
    return frames


def test_fade_to_black_has_its_ramp_its_hold_and_its_way_back():
    frames = moving_texture(60)
    clip, inside = fades.with_transition(frames, "fade-black")
    lead, span, hold = fades.LEAD, fades.SPAN, fades.HOLD
    assert len(clip) == 2 * lead + 2 * span + hold and inside == set(range(lead, lead + 2 * span + hold))
    means = [frame.mean() for frame in clip]
    assert all(a > b for a, b in zip(means[lead - 1 : lead + span], means[lead : lead + span + 1]))  # darker each frame
    assert all(not clip[i].any() for i in range(lead + span, lead + span + hold))  # the black frames
    assert fades.repeats(clip) == set(range(lead + span + 1, lead + span + hold))
    np.testing.assert_array_equal(clip[0], frames[0])
    np.testing.assert_array_equal(clip[-1], frames[2 * lead + 2 * span + hold - 1])  # the clip goes on where it was


def test_fade_to_white_and_dissolve():
    frames = moving_texture(60)
    white, inside = fades.with_transition(frames, "fade-white")
    assert (white[fades.LEAD + fades.SPAN] == 255).all() and len(inside) == 2 * fades.SPAN + 1
    dissolve, inside = fades.with_transition(frames, "dissolve")
    middle = fades.LEAD + fades.SPAN // 2 - 1  # weight 8/17 of the second half
    expected = (9 * frames[middle].astype(float) + 8 * frames[30 + fades.SPAN // 2 - 1].astype(float)) / 17
    assert np.abs(dissolve[middle] - expected).max() <= 0.5
    assert len(dissolve) == 2 * fades.LEAD + fades.SPAN and not fades.repeats(dissolve)


def test_bad_transitions_are_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        fades.with_transition(moving_texture(60), "wipe")
    with pytest.raises(ValueError, match="needs at least 52 frames, got 40"):
        fades.with_transition(moving_texture(40), "fade-black")


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="the shipped checkpoint is not in this checkout")
def test_one_file_is_measured_with_and_without_fades(tmp_path, one_thread):
    result = fades.measure("texture", "fade-black", "exact", 0, moving_texture(60), 10.0, tmp_path)
    inside = result["scores"]["inside"]
    assert result["copies_inside"] == len(inside["nlvfi"]) == len(inside["nlvfi --no-fade"]) == len(inside["DIS flow"]) > 0
    assert result["faded_runs"] > 0 and (result["precision"], result["recall"]) == (1.0, 1.0)
    assert np.mean(inside["left in"]) < np.mean(inside["nlvfi"])
    table = fades.format_table([result], ["--clips", "texture"], 1.0)
    assert "| texture | fade-black | exact (FFV1) | 1.00 / 1.00 | 0 | 0 |" in table
    assert list(tmp_path.iterdir()) == []  # the stuttered and repaired files are removed
