"""benchmarks/self_ensemble.py: its view columns are the tool's --ensemble frames (no timing
asserted; the script itself is run by hand, its docstring says how)."""

import pytest
import torch

import nlvfi
from nlvfi.interpolate import Plan, forward_frames
from nlvfi.metrics import psnr

from project_scripts import load_script

benchmark = load_script("benchmarks/self_ensemble.py")

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py


def triplets(count=2):
    generator = torch.Generator().manual_seed(0)
    return [
        {"prev": torch.rand(3, 32, 48, generator=generator), "middle": torch.rand(3, 32, 48, generator=generator),
         "next": torch.rand(3, 32, 48, generator=generator), "t": 0.5}
        for _ in range(count)
    ]


def test_view_columns_are_what_the_tool_computes(model):
    pytest.importorskip("cv2")  # the DIS column
    generator = nlvfi.load_generator(model).eval()
    items = triplets()
    rows = benchmark.measure(generator, {"toy": items}, reversed_too=True, progress=lambda line: None)
    (row,) = rows
    assert row["n"] == 2
    assert list(row)[3:] == ["average", "DIS flow", "1 view", "2 views", "4 views", "8 views (+ reversed)"]
    for views in (1, 2, 4):
        expected = []
        for item in items:
            prev, middle, next = (item[k][None] for k in ("prev", "middle", "next"))
            frame = forward_frames(generator, prev, next, torch.tensor([0.5]), Plan(per_call=1, views=views))
            expected.append(psnr(frame, middle))
        assert row[f"{views} view{'s' if views > 1 else ''}"] == pytest.approx(sum(expected) / 2, abs=1e-4)
    table = benchmark.markdown(rows, "tiny.safetensors", ["--triplets", "2"], 1.0)
    assert "| toy (2) |" in table and "4 views: " in table


def test_missing_clips_are_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--data", str(tmp_path)])
    assert "nlvfi data fetch" in capsys.readouterr().err
