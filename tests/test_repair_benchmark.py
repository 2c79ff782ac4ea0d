"""benchmarks/repair_quality.py: finding ffmpeg and reading mpdecimate's decisions, its columns,
and resuming an interrupted run. The benchmark itself is run by hand (its docstring says how);
no timing here."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from project_scripts import load_script

repair_quality = load_script("benchmarks/repair_quality.py")

# Lines as ffmpeg 9.0's mpdecimate writes them at -loglevel debug (keeps, drops, the option echo).
MPDECIMATE_LOG = """\
[Parsed_mpdecimate_0 @ 0x560d6646c640] max_drop_count:0 hi:768 lo:320 frac:0.330000
[Parsed_mpdecimate_0 @ 0x7f1024001680] keep pts:0 pts_time:0 drop_count:-1 keep_count:0
[Parsed_mpdecimate_0 @ 0x7f1024001680] 1520>=hi keep pts:100 pts_time:0.1 drop_count:-2 keep_count:0
[Parsed_mpdecimate_0 @ 0x7f98a8001680] lo:0<142 lo:0<35 lo:0<35 drop pts:500 pts_time:0.5 drop_count:1 keep_count:-1
[Parsed_mpdecimate_0 @ 0x7f98a8001680] lo:0<142 lo:0<35 lo:0<35 drop pts:1100 pts_time:1.1 drop_count:1 keep_count:-1
[Parsed_mpdecimate_0 @ 0x7f98a8001680] lo:0<142 lo:0<35 lo:0<35 drop pts:1200 pts_time:1.2 drop_count:2 keep_count:-1
"""

def test_mpdecimate_drops_map_to_the_nearest_frames():
    times = [i / 10 + 0.0004 for i in range(20)]  # 10 frames/s, a millisecond time base's rounding
    assert repair_quality.mpdecimate_dropped(MPDECIMATE_LOG, times) == {5, 11, 12}
    assert repair_quality.mpdecimate_dropped("no drops at all", times) == set()


def test_an_explicit_ffmpeg_that_is_not_executable_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="not an executable"):
        repair_quality.find_ffmpeg(str(tmp_path / "no-such-ffmpeg"))


def test_without_ffmpeg_anywhere_the_rows_say_not_available(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    assert repair_quality.find_ffmpeg(None) is None
    assert repair_quality.ffmpeg_rows(None, Path("x.mkv"), [], set(), 10.0, []) == {"available": False}


def test_ffmpeg_on_path_is_preferred_to_the_bundled_one(monkeypatch, tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert repair_quality.find_ffmpeg(None) == str(fake)


def test_the_nlvfi_column_is_what_the_tool_writes(model):
    """The benchmark keeps every mirrored view of a run: their mean is the tool's --ensemble
    frame (nlvfi.interpolate.forward_frames), the first alone the one-view column."""
    import torch

    import nlvfi
    from nlvfi.interpolate import Plan, generate

    generator = nlvfi.load_generator(model).eval()
    noise = torch.Generator().manual_seed(0)
    before, after = torch.rand(1, 3, 32, 48, generator=noise), torch.rand(1, 3, 32, 48, generator=noise)
    times = [1 / 3, 2 / 3]
    views = repair_quality.repair_frames(generator, before, after, times, 4)
    assert len(views) == 4 and views[0].shape == (2, 3, 32, 48)
    tool = generate(generator, before, after, times, plan=Plan(per_call=8, views=4))
    assert torch.allclose(torch.stack(views).mean(0), tool, atol=1e-5)
    assert torch.allclose(views[0], generate(generator, before, after, times), atol=1e-6)


def test_with_a_flow_prior_the_nlvfi_column_is_still_what_the_tool_writes(model):
    """The tool passes each run's flow guesses (nlvfi.flow_prior) to forward_frames, which
    mirrors them with the frames; the benchmark's views must do the same."""
    import torch

    import nlvfi
    from nlvfi.interpolate import Plan, generate

    generator = nlvfi.load_generator(model).eval()
    noise = torch.Generator().manual_seed(1)
    before, after = torch.rand(1, 3, 32, 48, generator=noise), torch.rand(1, 3, 32, 48, generator=noise)
    prior = (4 * torch.randn(1, 2, 32, 48, generator=noise), 4 * torch.randn(1, 2, 32, 48, generator=noise))
    times = [0.25, 0.5, 0.75]
    views = repair_quality.repair_frames(generator, before, after, times, 4, prior)
    tool = generate(generator, before, after, times, plan=Plan(per_call=8, views=4), initial_flow=prior)
    assert torch.allclose(torch.stack(views).mean(0), tool, atol=1e-5)
    without = generate(generator, before, after, times, plan=Plan(per_call=8, views=4))
    assert not torch.allclose(tool, without, atol=1e-3)  # the guesses reached the flow estimator


def test_an_mpdecimate_that_keeps_too_few_frames_for_minterpolate_is_reported_not_fatal(tmp_path):
    # near-still clips: mpdecimate keeps 1-3 of 60 frames and minterpolate writes an empty file
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"-f null"*) echo "[mpdecimate] drop pts:100 pts_time:0.1 drop_count:1" >&2 ;;\n'
        '  *) for last; do :; done; : > "$last" ;; esac\n'
    )
    fake.chmod(0o755)
    row = repair_quality.ffmpeg_rows(str(fake), tmp_path / "in.mkv", [None, None], {1}, 10.0, [0.0, 0.1])
    assert row["available"] and (row["precision"], row["recall"], row["written"]) == (1.0, 1.0, 0)
    table = repair_quality.format_table([fake_row("still", "exact", ffmpeg=row)], "model", "cpu", 1.0)
    assert "| still | exact (FFV1) | 1.00 / 1.00 | no frame written (mpdecimate kept too few) |" in table


def fake_row(clip, encoding, **changes):
    """A row as ``evaluate`` returns it, with made-up numbers (for the bookkeeping tests)."""
    methods = ("left in", "average", "DIS flow", "minterpolate", "nlvfi 1 view", "nlvfi")
    row = {
        "clip": clip, "encoding": "exact (FFV1)" if encoding == "exact" else f"H.264 crf {encoding}", "size": "8x8",
        "frames": 10, "duplicates": 2, "precision": 1.0, "recall": 1.0, "fixed_precision": 1.0, "fixed_recall": 1.0,
        "threshold": 0.1, "real_replaced": 0, "repaired": 2, "views": 4, "flow_prior": True, "flow_scale": 2,
        "static_motion": 0.5, "psnr": dict.fromkeys(methods, 30.0), "detect_s": 0.1, "model_s_per_frame": 1.0,
        "ffmpeg": {"available": False}, "real_adjacent_mad": 1.0,
    }  # fmt: skip
    return {**row, **changes}


def test_an_interrupted_run_goes_on_where_it_stopped(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(repair_quality, "load_model", lambda checkpoint, device: (torch.nn.Linear(1, 1), "model"))
    monkeypatch.setattr(repair_quality, "load_frames", lambda name, data, frames, max_side: ([], 10.0))
    monkeypatch.setattr(repair_quality, "find_ffmpeg", lambda explicit: None)
    measured = []

    def evaluate(name, encoding, *args):
        if measured and fail:
            raise KeyboardInterrupt
        measured.append((name, encoding))
        return fake_row(name, encoding)

    monkeypatch.setattr(repair_quality, "evaluate", evaluate)
    out = tmp_path / "table.md"
    argv = ["--clips", "still,tree", "--encodings", "exact", "--device", "cpu", "--out", str(out)]
    fail = True
    with pytest.raises(KeyboardInterrupt):
        repair_quality.main(argv)
    assert measured == [("still", "exact")] and not out.exists()
    assert len(out.with_suffix(".jsonl").read_text().splitlines()) == 1
    fail = False
    assert repair_quality.main(argv) == 0
    assert measured == [("still", "exact"), ("tree", "exact")]  # the first row was not measured again
    assert "| still | 8x8 | exact (FFV1) |" in out.read_text() and "| tree | 8x8 | exact (FFV1) |" in out.read_text()
    assert not out.with_suffix(".jsonl").exists()  # complete: the next run measures afresh
    out.with_suffix(".jsonl").write_text(
        json.dumps({"options": {"seed": 99}, "name": "still", "encoding_arg": "exact", "row": fake_row("still", "exact")}) + "\n"
    )
    assert repair_quality.main(argv) == 0
    assert measured[2:] == [("still", "exact"), ("tree", "exact")]  # other options: nothing reused


def test_every_float_method_is_scored_as_the_8_bit_frame_it_would_be_written_as():
    """A blend at t = 0.5 has half grey levels; the written frame rounds them, and so must the score."""
    import torch

    from nlvfi.metrics import psnr

    before = torch.zeros(1, 3, 4, 6)
    after = torch.full((1, 3, 4, 6), 1 / 255)
    blend = 0.5 * before + 0.5 * after  # every value half a grey level
    written = repair_quality.as_written(blend)
    assert written.shape == blend.shape
    assert torch.equal(written * 255, (written * 255).round())  # on the 8-bit grid
    assert torch.equal(written, before)  # 0.5 rounds to the even level, 0 (tensor_to_rgb)
    assert psnr(written, blend) < float("inf") and psnr(repair_quality.as_written(after), after) == float("inf")
