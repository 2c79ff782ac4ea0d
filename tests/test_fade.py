"""nlvfi.fade: fitting a fade between two frames, and carrying both frames to the time of the new one."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nlvfi.fade import Fade, fit_fade, match_brightness, robust_line
from nlvfi.interpolate import DEFAULT_CHECKPOINT, through_fades
from nlvfi.io import read_frame, write_frame
from nlvfi.metrics import psnr
from nlvfi.repair import main, repair_video
from nlvfi.videoio import read_video_rgb, rgb_to_tensor, write_video

STUTTER = Path(__file__).resolve().parent.parent / "data" / "stutter"


@pytest.fixture(scope="module")
def real_frames() -> list[np.ndarray]:
    """The bundled clip's 40 real frames (its copies replaced by their originals), 384x288 RGB."""
    truth = json.loads((STUTTER / "vtest_stutter.json").read_text())
    stuttered, _ = read_video_rgb(STUTTER / truth["clip"])
    originals, _ = read_video_rgb(STUTTER / "vtest_stutter_truth.mkv")
    replaced = dict(zip(truth["duplicates"], originals))
    return [replaced.get(index, frame) for index, frame in enumerate(stuttered)]


def as_tensor(frame: np.ndarray) -> torch.Tensor:
    return rgb_to_tensor(frame)  # (1, 3, H, W) in [0, 1]


def faded(frame: np.ndarray, weight: float, colour=(0, 0, 0)) -> np.ndarray:
    """(1 - weight) * frame + weight * colour, rounded to 8 bits as an editor writes a fade."""
    mixed = (1 - weight) * frame.astype(np.float64) + weight * np.array(colour, dtype=np.float64)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def test_robust_line_ignores_outliers():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, 2000)
    y = 0.8 * x + 0.05 + rng.normal(0, 0.002, x.shape)
    y[:300] = rng.uniform(0, 1, 300)  # 15% of the pixels belong to something that moved
    gain, offset = robust_line(x, y)
    assert gain == pytest.approx(0.8, abs=0.01) and offset == pytest.approx(0.05, abs=0.005)


@pytest.mark.parametrize(
    "weight, colour",
    [(0.12, (0, 0, 0)), (0.3, (0, 0, 0)), (0.2, (255, 255, 255)), (0.25, (40, 20, 200))],
    ids=["to-black", "to-black-fast", "to-white", "to-a-colour"],
)
def test_a_fade_between_two_real_frames_is_fitted_despite_the_motion(real_frames, weight, colour):
    # frames 20 and 22 of vtest: people walk between them; the second is faded towards a colour
    prev, next = real_frames[20], faded(real_frames[22], weight, colour)
    fade = fit_fade(as_tensor(prev), as_tensor(next))
    assert fade is not None
    for channel in range(3):
        assert fade.gain[channel] == pytest.approx(1 - weight, abs=0.01)
        assert 255 * fade.offset[channel] == pytest.approx(weight * colour[channel], abs=1.5)
    assert fade.left < 0.6 and fade.change >= 1.0


@pytest.mark.parametrize(
    "case",
    ["same frame", "motion only", "motion over three frames", "black first frame", "dissolve", "a faint fade"],
)
def test_no_fade_is_found_where_the_change_is_not_a_global_one(real_frames, case):
    frames = {
        "same frame": (real_frames[10], real_frames[10]),
        "motion only": (real_frames[10], real_frames[11]),
        "motion over three frames": (real_frames[10], real_frames[13]),
        "black first frame": (np.zeros_like(real_frames[10]), faded(real_frames[11], 0.9)),
        "dissolve": (real_frames[5], np.clip(0.5 * real_frames[6] + 0.5 * real_frames[30][:, ::-1], 0, 255).astype(np.uint8)),
        "a faint fade": (real_frames[10], faded(real_frames[11], 0.003)),  # under a grey level on average
    }[case]
    assert fit_fade(*(as_tensor(frame) for frame in frames)) is None


def test_no_fade_between_any_real_frames_of_the_bundled_clip(real_frames):
    # the clip's pairs a run of 1-3 copies interpolates across: 2-4 frames apart
    for gap in (2, 3, 4):
        for i in range(len(real_frames) - gap):
            assert fit_fade(as_tensor(real_frames[i]), as_tensor(real_frames[i + gap])) is None, (i, gap)


def test_to_time_follows_a_linear_fade_of_a_still_frame(real_frames):
    picture = real_frames[0]
    prev, next = as_tensor(faded(picture, 0.2)), as_tensor(faded(picture, 0.6))
    fade = fit_fade(prev, next)
    assert fade is not None
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    first, second = fade.to_time(prev, next, t)  # (4, 3, H, W) each
    for i, time in enumerate(t.tolist()):
        expected = as_tensor(faded(picture, 0.2 + 0.4 * time))[0]  # the fade's own frame at that time
        assert (first[i] - expected).abs().mean() < 1.0 / 255
        assert (second[i] - expected).abs().mean() < 1.5 / 255  # next carried back: its rounding, amplified 1 / 0.4 x
    torch.testing.assert_close(first[0], prev[0])  # t = 0 leaves the first frame alone


def test_match_brightness_brings_an_outside_frame_to_its_neighbour(real_frames):
    outside, near = as_tensor(real_frames[8]), as_tensor(faded(real_frames[9], 0.15))
    matched = match_brightness(outside, near)
    assert abs(float(matched.mean() - near.mean())) < 1.0 / 255 < abs(float(outside.mean() - near.mean()))
    still = as_tensor(real_frames[9])
    assert match_brightness(still, as_tensor(real_frames[10])) is still  # no fade: the frame itself
    assert match_brightness(None, near) is None


def test_through_fades_leaves_pairs_without_a_fade_untouched(real_frames):
    prev, next = as_tensor(real_frames[3]), as_tensor(real_frames[4])
    t = torch.tensor([0.25, 0.5, 0.75])
    out = through_fades(prev, next, t)
    assert out[0] is prev and out[1] is next and out[2] is t


def test_through_fades_makes_one_pair_per_time_and_maps_each_batch_entry_alone(real_frames):
    plain = as_tensor(real_frames[3]), as_tensor(real_frames[5])
    fading = as_tensor(real_frames[3]), as_tensor(faded(real_frames[5], 0.3))
    t = torch.tensor([0.25, 0.75])
    prev, next, times, _, still = through_fades(*fading, t, still_pair=fading)
    assert prev.shape == (2, 3, 288, 384) and next.shape == prev.shape and still[0].shape == prev.shape
    assert prev[1].mean() < prev[0].mean() < fading[0].mean()  # darker the later the time
    torch.testing.assert_close(still[0], prev)
    # a batch of two different pairs: the one without a fade goes in as it was
    prev, next, _, _, _ = through_fades(torch.cat([plain[0], fading[0]]), torch.cat([plain[1], fading[1]]), t)
    torch.testing.assert_close(prev[0], plain[0][0])
    torch.testing.assert_close(next[0], plain[1][0])
    assert not torch.equal(prev[1], fading[0][0])


def test_fade_to_dict_reads_in_grey_levels():
    fade = Fade((0.9, 0.9, 0.9), (0.1, 0.0, 0.0), 12.345678, 0.1234567)
    assert fade.to_dict() == {"gain": [0.9, 0.9, 0.9], "offset": [25.5, 0.0, 0.0], "change": 12.346, "left": 0.123}


# --------------------------------------------------------------------------------------------
# The repair of a stutter inside a fade, with the shipped checkpoint


def _fade_clip(real_frames):
    """The bundled clip's real frames fading to black from frame 8 over 24 frames, with copies at
    6 (before the fade) and 12-13, 19, 24-26 (inside it); black from frame 32 to the end."""
    fading = [faded(frame, min(1.0, max(0.0, (i - 7) / 25))) for i, frame in enumerate(real_frames)]
    copies = {6: 5, 12: 11, 13: 11, 19: 18, 24: 23, 25: 23, 26: 23}
    stuttered = [fading[copies.get(i, i)] for i in range(len(fading))]
    return fading, stuttered, copies


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="the shipped checkpoint is not in this checkout")
def test_copies_inside_a_fade_are_repaired_better_with_the_fade_taken_out(tmp_path, real_frames, one_thread):
    fading, stuttered, copies = _fade_clip(real_frames)
    source = write_video(tmp_path / "fade.mkv", stuttered, 10)
    scores, reports = {}, {}
    for fade in (True, False):
        output = tmp_path / f"out-{fade}.mkv"
        reports[fade] = repair_video(source, output, progress=False, resume=False, fade=fade, views=1)
        written, _ = read_video_rgb(output)
        scores[fade] = {i: psnr(as_tensor(written[i]), as_tensor(fading[i])) for i in copies}
    found = set(reports[True]["detection"]["duplicates"])
    assert set(copies) <= found and found - set(copies) == set(range(33, 40))  # and the black frames held at the end
    fades = reports[True]["model"]["fades"]
    assert fades["used"] and [(run["first"], run["last"]) for run in fades["runs"]] == [(12, 13), (19, 19), (24, 26)]
    assert [round(run["gain"][0], 2) for run in fades["runs"]] == [0.86, 0.86, 0.56]  # (1 - w(after)) / (1 - w(before))
    assert all(abs(offset) < 1.0 for run in fades["runs"] for offset in run["offset"])
    assert reports[False]["model"]["fades"] == {"used": False, "why": "turned off (--no-fade)"}
    inside = [i for i in copies if i != 6]
    with_fade, without = np.mean([scores[True][i] for i in inside]), np.mean([scores[False][i] for i in inside])
    average = np.mean([
        psnr((1 - t) * as_tensor(stuttered[a - 1]) + t * as_tensor(stuttered[b + 1]), as_tensor(fading[i]))
        for a, b in [(12, 13), (19, 19), (24, 26)] for i in range(a, b + 1) for t in [(i - a + 1) / (b - a + 2)]
    ])  # fmt: skip
    assert with_fade > without + 1.0  # measured (one view): 38.26 against 35.48 dB; the average 35.73
    assert with_fade > average + 1.0
    assert scores[True][6] == pytest.approx(scores[False][6], abs=0.05)  # before the fade: as it was


def test_no_fade_flag_reaches_the_report(tmp_path, model, real_frames, capsys):
    _, stuttered, _ = _fade_clip(real_frames[:16])
    source = write_video(tmp_path / "fade.mkv", [frame[:64, :96] for frame in stuttered], 10)
    report = tmp_path / "r.json"
    assert main([str(source), "-o", str(tmp_path / "o.mkv"), "--checkpoint", str(model), "--report", str(report), "--no-fade", "--quiet"]) == 0
    assert json.loads(report.read_text())["model"]["fades"]["used"] is False
    assert main([str(source), "-o", str(tmp_path / "o2.mkv"), "--checkpoint", str(model), "--report", str(report), "--quiet"]) == 0
    fades = json.loads(report.read_text())["model"]["fades"]
    assert fades["used"] is True and [(run["first"], run["last"]) for run in fades["runs"]] == [(12, 13)]
    assert "sit in a fade" in capsys.readouterr().out


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="the shipped checkpoint is not in this checkout")
def test_interpolating_two_images_across_a_fade(tmp_path, real_frames, one_thread):
    # vtest frames 20 and 22, the second 30% of the way to black: the frame between them is
    # frame 21 15% of the way, which `nlvfi interpolate` (the generator as trained) makes
    from nlvfi.interpolate import main as interpolate_main

    prev, next = tmp_path / "prev.png", tmp_path / "next.png"
    write_frame(as_tensor(real_frames[20]), prev)
    write_frame(as_tensor(faded(real_frames[22], 0.3)), next)
    target = as_tensor(faded(real_frames[21], 0.15))
    scores = {}
    for flags in ([], ["--no-fade"]):
        out = tmp_path / f"mid{len(flags)}.png"
        assert interpolate_main([str(prev), str(next), "-o", str(out), *flags]) == 0
        scores[bool(flags)] = psnr(read_frame(out), target)
    assert scores[False] > scores[True] + 3.0  # measured: 33.74 against 24.83 dB (--no-fade)


def test_through_fades_takes_the_callers_fits_and_checks_their_count(real_frames):
    prev, next = as_tensor(real_frames[3]), as_tensor(real_frames[4])  # no fade of their own
    t = torch.tensor([0.5])
    given = Fade((0.5, 0.5, 0.5), (0.0, 0.0, 0.0), 30.0, 0.1)
    mapped, _, _, _, _ = through_fades(prev, next, t, fades=[given])
    torch.testing.assert_close(mapped, prev * 0.75)  # gain_t = 1 + t (gain - 1) at t = 1/2
    assert through_fades(prev, next, t, fades=[None])[0] is prev
    with pytest.raises(ValueError, match="2 fades for 1 pairs"):
        through_fades(prev, next, t, fades=[None, None])
