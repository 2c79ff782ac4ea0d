"""nlvfi.bench: each measurement in its own process, the forward passes as the tools run them
(weights channels-last, on the CPU the freed memory kept) unless --layout contiguous /
--system-allocator. No timing is asserted."""

import json
import platform
import subprocess
import sys

import pytest

from nlvfi import bench, build_generator
from nlvfi.acceleration import channels_last_for_inference

GLIBC_LINUX = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC_LINUX, reason="the freed memory is kept with glibc's malloc on Linux only")
@pytest.mark.parametrize("allocator, kept, layout", [("kept", True, "channels-last"), ("system", False, "contiguous")])
def test_a_forward_worker_runs_as_the_tools_or_as_a_library_caller(allocator, kept, layout):
    done = subprocess.run(
        [sys.executable, "-m", "nlvfi.bench", "--worker", "forward", "tiny", "64x48", "cpu", "1", allocator, layout],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["freed_memory_kept"] is kept and result["ms"] > 0 and result["peak_mb"] >= result["model_rss_mb"] > 0
    assert result["layout"] == layout
    if layout == "channels-last":  # every sub-network's convolutions but the flow estimator's (nlvfi.acceleration)
        generator = channels_last_for_inference(build_generator("tiny"))
        flow = {id(weight) for weight in generator.flow.parameters()}
        laid_out = [weight for weight in generator.parameters() if weight.dim() == 4 and id(weight) not in flow]
        assert result["channels_last_weights"] == sum(not weight.is_contiguous() for weight in laid_out) > 0
    else:
        assert result["channels_last_weights"] == 0


def test_the_report_says_which_allocator_the_cpu_ran_with(monkeypatch):
    asked = []

    def worker(args, timeout, script=None):
        asked.append(args)
        return {"ms": 100.0, "peak_mb": 300.0, "model_rss_mb": 250.0}

    monkeypatch.setattr(bench, "_run_worker", worker)
    kept = bench.run(["tiny"], ["64x48"], "cpu", 1, attention=False, timeout=60)
    system = bench.run(["tiny"], ["64x48"], "cpu", 1, attention=False, timeout=60, keep_memory=False, layout="contiguous")
    assert [args[-2:] for args in asked] == [["kept", "channels-last"], ["system", "contiguous"]]
    assert "Freed memory kept for the next pass, as the tools run" in kept and "| tiny | 64x48 | 100.0 | 10.00 | 300 | 50 |" in kept
    assert "Weights channels-last but for the flow estimator, as the tools" in kept and kept.endswith("--repeats 1`\n")
    assert "glibc's allocator as it comes (--system-allocator)" in system and "contiguous layout (--layout contiguous)" in system
    assert system.endswith("--repeats 1 --system-allocator --layout contiguous`\n")
