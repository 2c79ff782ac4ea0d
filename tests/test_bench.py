"""nlvfi.bench: each measurement in its own process, the CPU's forward passes as the tools run
them (the freed memory kept) unless --system-allocator. No timing is asserted."""

import json
import platform
import subprocess
import sys

import pytest

from nlvfi import bench

GLIBC_LINUX = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC_LINUX, reason="the freed memory is kept with glibc's malloc on Linux only")
@pytest.mark.parametrize("allocator, kept", [("kept", True), ("system", False)])
def test_a_forward_worker_runs_as_the_tools_or_as_a_library_caller(allocator, kept):
    done = subprocess.run(
        [sys.executable, "-m", "nlvfi.bench", "--worker", "forward", "tiny", "64x48", "cpu", "1", allocator],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["freed_memory_kept"] is kept and result["ms"] > 0 and result["peak_mb"] >= result["model_rss_mb"] > 0


def test_the_report_says_which_allocator_the_cpu_ran_with(monkeypatch):
    asked = []

    def worker(args, timeout, script=None):
        asked.append(args)
        return {"ms": 100.0, "peak_mb": 300.0, "model_rss_mb": 250.0}

    monkeypatch.setattr(bench, "_run_worker", worker)
    kept = bench.run(["tiny"], ["64x48"], "cpu", 1, attention=False, timeout=60)
    system = bench.run(["tiny"], ["64x48"], "cpu", 1, attention=False, timeout=60, keep_memory=False)
    assert [args[-1] for args in asked] == ["kept", "system"]
    assert "Freed memory kept for the next pass, as the tools run" in kept and "| tiny | 64x48 | 100.0 | 10.00 | 300 | 50 |" in kept
    assert "glibc's allocator as it comes (--system-allocator)" in system and system.endswith("--repeats 1 --system-allocator`\n")
