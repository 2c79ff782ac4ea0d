"""benchmarks/repair_quality.py: finding ffmpeg and reading mpdecimate's decisions. The benchmark
itself is run by hand (its docstring says how); no timing here."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("repair_quality_benchmark", ROOT / "benchmarks" / "repair_quality.py")
repair_quality = importlib.util.module_from_spec(spec)
spec.loader.exec_module(repair_quality)

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
