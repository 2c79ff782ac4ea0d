"""benchmarks/cpu_batch.py: what it measures and prints. The benchmark itself is run by hand (its
docstring says how); the frames here are tiny and synthetic, the model untrained."""

import numpy as np

import nlvfi

from project_scripts import load_script

cpu_batch = load_script("benchmarks/cpu_batch.py")


def test_each_batch_size_is_timed_and_gives_the_frames_of_one_per_call(model):
    generator = nlvfi.load_generator(model)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    samples = [("synthetic", i, [np.roll(base, shift + i, axis=1) for shift in (0, 1, 2)]) for i in range(4)]
    rows = cpu_batch.measure(generator, (128, 96), [1, 2, 4], 1, samples)
    assert [row["batch"] for row in rows] == [1, 2, 4] and all(row["seconds"] > 0 for row in rows)
    assert all(0 <= row["kernel"] <= 1 for row in rows)
    assert all(row["levels"] <= 1 for row in rows)  # a batch does not change a frame (beyond rounding)
    assert all(row["digest"] == rows[0]["digest"] for row in rows if row["levels"] == 0)  # what tells the allocators apart


def test_the_table_compares_every_row_with_one_per_call_under_the_systems_allocator():
    def row(allocator, batch, seconds, digest):
        return {"resolution": "128x96", "plan": "whole frames", "allocator": allocator, "batch": batch, "seconds": seconds,
                "kernel": 0.25, "levels": 0.0, "digest": digest}  # fmt: skip

    rows = [row("system", 1, 2.0, "a"), row("system", 4, 3.0, "b"), row("kept", 1, 1.0, "a"), row("kept", 4, 1.5, "c")]
    table = cpu_batch.format_table(rows, 4, 2, 2, 10.0, "python benchmarks/cpu_batch.py --resolutions 128x96")
    assert "`python benchmarks/cpu_batch.py --resolutions 128x96`" in table
    assert "| 128x96 | whole frames | system | 1 | 2.00 | 1.00 | 25% | 0 | - |" in table
    assert "| 128x96 | whole frames | system | 4 | 3.00 | 1.50 | 25% | 0 | - |" in table
    assert "| 128x96 | whole frames | kept | 1 | 1.00 | 0.50 | 25% | 0 | identical |" in table
    assert "| 128x96 | whole frames | kept | 4 | 1.50 | 0.75 | 25% | 0 | differ |" in table
