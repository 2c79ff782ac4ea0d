"""Interrupting ``nlvfi repair`` and running it again (nlvfi.resume): the kept work is used only
when it is the same work, and the result is the file an uninterrupted run writes."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from test_repair import decoded, scene, stutter

from nlvfi import repair as repair_module
from nlvfi.repair import repair_video
from nlvfi.resume import ResumeStore, folder_for, input_fingerprint
from nlvfi.videoio import write_video

DUPLICATES = [4, 8, 12, 16, 20]  # five runs of one


@pytest.fixture
def source(tmp_path):
    return write_video(tmp_path / "in.mkv", stutter(scene(24, 48, 64), DUPLICATES), 10)


@pytest.fixture
def generated(monkeypatch):
    """Frames that go through the generator (whole-frame calls), counted."""
    calls = []
    forward = repair_module.forward_frames

    def counting(generator, prev, next, times, *args, **kwargs):
        calls.append(len(times))
        return forward(generator, prev, next, times, *args, **kwargs)

    monkeypatch.setattr(repair_module, "forward_frames", counting)
    return calls


def interrupt_after_runs(monkeypatch, runs: int) -> None:
    """Ctrl-C right after the ``runs``-th generated run is kept."""
    save = ResumeStore.save_run
    saved = []

    def save_then_stop(self, *args, **kwargs):
        save(self, *args, **kwargs)
        saved.append(1)
        if len(saved) == runs:
            raise KeyboardInterrupt

    monkeypatch.setattr(ResumeStore, "save_run", save_then_stop)


def interrupted_repair(source, out, model, monkeypatch, runs: int):
    """Repair ``source`` into ``out`` (one run per generator call, one view) and Ctrl-C it after
    ``runs`` runs are kept; the KeyboardInterrupt's ExceptionInfo."""
    with monkeypatch.context() as patch:
        interrupt_after_runs(patch, runs)
        with pytest.raises(KeyboardInterrupt) as stopped:
            repair_video(source, out, checkpoint=model, batch_size=1, views=1, progress=False)
    return stopped


def test_a_resumed_run_skips_the_kept_work_and_writes_the_same_file(tmp_path, source, model, monkeypatch, generated):
    out = tmp_path / "out.mkv"
    stopped = interrupted_repair(source, out, model, monkeypatch, 2)
    kept = folder_for(out)
    assert not out.exists() and sorted(p.name for p in kept.iterdir()) == [
        "encoded.bin", "encoded.json", "key.json", "measure.npz", "run-00000004.npz", "run-00000008.npz",
    ]  # frames 0-7 were written (FFV1: a packet each, at once); run 8 was being generated (nlvfi.kept_encoding)
    assert stopped.value.resume_note == (
        f"the measurements, 2 generated run(s) and the first 8 encoded frames are kept in {kept}; "
        "run the same command again to go on from there"
    )
    assert sum(generated) == 2
    report = repair_video(source, out, checkpoint=model, batch_size=1, views=1, progress=False)
    assert report["resume"] == {
        "folder": str(kept), "measurements_reused": True, "frames_measured_before": 0, "runs_reused": 2, "note": None,
        "taken_over_from": None, "encoded_frames_reused": 8, "encoded_frames_note": None,
    }  # fmt: skip
    assert sum(generated) == 2 + 3  # only the three runs not kept went through the generator
    assert not kept.exists() and report["frames_replaced"] == 5
    assert report["model"]["runs_by_flow_scale"] == {"2": 5}  # the kept runs counted as if generated now
    assert "Resumed an interrupted run: its measurements and 2 of 5 repaired runs were read back" in repair_module.summary_text(report)
    fresh = repair_video(source, tmp_path / "fresh.mkv", checkpoint=model, batch_size=1, views=1, progress=False, resume=False)
    assert fresh["resume"] == "off (--no-resume)" and not folder_for(tmp_path / "fresh.mkv").exists()
    assert fresh["model"]["flow_prior"] == report["model"]["flow_prior"]
    resumed, uninterrupted = decoded(out), decoded(tmp_path / "fresh.mkv")
    assert len(resumed) == len(uninterrupted) == 24
    for (time_a, content_a, _), (time_b, content_b, _) in zip(resumed, uninterrupted):
        assert time_a == time_b and np.array_equal(content_a, content_b)  # lossless output: bit for bit


def test_the_kept_work_follows_a_new_output_name_and_another_runs_is_left_alone(tmp_path, source, model, monkeypatch, generated):
    first, renamed = tmp_path / "out.mkv", tmp_path / "renamed.mp4"
    interrupted_repair(source, first, model, monkeypatch, 2)
    other_settings = repair_video(source, renamed, checkpoint=model, batch_size=1, views=2, progress=False)
    assert other_settings["resume"]["taken_over_from"] is None and other_settings["resume"]["runs_reused"] == 0
    assert folder_for(first).is_dir() and not folder_for(renamed).exists()  # not the same work: left as it was
    renamed.unlink()
    before = sum(generated)
    report = repair_video(source, renamed, checkpoint=model, batch_size=1, views=1, progress=False)
    assert report["resume"]["taken_over_from"] == str(folder_for(first))
    assert report["resume"]["note"] == f"took over the kept work of an interrupted run from {folder_for(first)}"
    assert (report["resume"]["measurements_reused"], report["resume"]["runs_reused"], sum(generated) - before) == (True, 2, 3)
    assert f"read back from {folder_for(renamed)} (kept as {folder_for(first)} by a run writing another name)." in repair_module.summary_text(report)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "renamed.mp4"]  # neither folder is left behind


def measuring_counted(patch, stop_at: int | None = None) -> list:
    """Count the pairs the first pass measures; Ctrl-C at the ``stop_at``-th."""
    calls = []
    measure = repair_module.pair_differences

    def counting(*args):
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return measure(*args)

    patch.setattr(repair_module, "pair_differences", counting)
    return calls


@pytest.mark.parametrize("tampered", [False, True])
def test_an_interrupt_while_measuring_keeps_the_pairs_measured_and_the_next_run_measures_the_rest(
    tmp_path, source, model, monkeypatch, tampered
):
    out = tmp_path / "out.mkv"
    with monkeypatch.context() as patch:
        measuring_counted(patch, stop_at=10)  # pair (9, 10): frames 0-9 are measured
        with pytest.raises(KeyboardInterrupt) as stopped:
            repair_video(source, out, checkpoint=model, batch_size=1, views=1, progress=False)
    kept = folder_for(out)
    assert sorted(p.name for p in kept.iterdir()) == ["key.json", "measure.npz"]
    assert stopped.value.resume_note == (
        f"the measurements of the first 10 frames are kept in {kept}; run the same command again to go on from there"
    )
    if tampered:  # not the same frames: the pairs from the first that differs are measured again
        with np.load(kept / "measure.npz") as data:
            arrays = {name: data[name] for name in data.files}
        arrays["pts"][6] += 1
        np.savez(kept / "measure.npz", **arrays)
    with monkeypatch.context() as patch:
        calls = measuring_counted(patch)
        report = repair_video(source, out, checkpoint=model, batch_size=1, views=1, progress=False)
    assert len(calls) == (23 - 5 if tampered else 23 - 9)  # 24 frames, 23 pairs: only the ones not kept
    assert (report["resume"]["measurements_reused"], report["resume"]["frames_measured_before"]) == (False, 6 if tampered else 10)
    assert "its measurements of the first" in repair_module.summary_text(report)
    fresh = repair_video(source, tmp_path / "fresh.mkv", checkpoint=model, batch_size=1, views=1, progress=False, resume=False)
    assert report["detection"]["adjacent_mad"] == fresh["detection"]["adjacent_mad"]
    assert report["detection"]["adjacent_peak"] == fresh["detection"]["adjacent_peak"]
    assert report["detection"]["duplicates"] == fresh["detection"]["duplicates"] == DUPLICATES
    assert not kept.exists()


def test_detect_only_with_a_report_keeps_its_measurements_beside_the_report(tmp_path, source, monkeypatch, capsys):
    report_path = tmp_path / "d.json"
    command = [str(source), "--detect-only", "--report", str(report_path), "--quiet"]
    with monkeypatch.context() as patch:
        measuring_counted(patch, stop_at=10)
        assert repair_module.main(command) == 130
    kept = folder_for(report_path)
    assert f"the measurements of the first 10 frames are kept in {kept}" in capsys.readouterr().err
    assert not report_path.exists() and sorted(p.name for p in kept.iterdir()) == ["key.json", "measure.npz"]
    with monkeypatch.context() as patch:
        calls = measuring_counted(patch)
        assert repair_module.main(command) == 0
    assert len(calls) == 23 - 9 and "frames 0-9 measured by an interrupted run" in capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert report["detection"]["duplicates"] == DUPLICATES and report["resume"]["frames_measured_before"] == 10
    assert not kept.exists()
    with monkeypatch.context() as patch:  # without a report, nothing is kept
        measuring_counted(patch, stop_at=10)
        assert repair_module.main([str(source), "--detect-only", "--quiet"]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "in.mkv"]


@pytest.mark.parametrize("change", ["views", "input", "model"])
def test_kept_work_of_another_input_model_or_setting_is_discarded(tmp_path, source, model, monkeypatch, change):
    out = tmp_path / "out.mkv"
    interrupted_repair(source, out, model, monkeypatch, 1)
    kwargs = {"checkpoint": model, "batch_size": 1, "views": 1, "progress": False}
    if change == "views":
        kwargs["views"] = 2
    elif change == "input":  # same name, same size, other pictures: the fingerprint tells
        write_video(source, stutter(scene(24, 48, 64)[::-1], DUPLICATES), 10)
    else:
        import torch

        import nlvfi

        torch.manual_seed(1)
        nlvfi.save_generator(nlvfi.build_generator("tiny"), tmp_path / "other.safetensors")
        kwargs["checkpoint"] = tmp_path / "other.safetensors"
    report = repair_video(source, out, **kwargs)
    key = {"views": "inference", "input": "input", "model": "generator_sha256"}[change]
    assert report["resume"]["note"] == f"discarded the kept work of an earlier run ({key} changed)"
    assert report["resume"]["runs_reused"] == 0 and report["resume"]["measurements_reused"] is False
    assert not folder_for(out).exists()


def test_another_threshold_reuses_the_measurements_and_the_runs_it_still_finds(tmp_path, source, model, monkeypatch):
    out = tmp_path / "out.mkv"
    interrupted_repair(source, out, model, monkeypatch, 2)
    report = repair_video(source, out, threshold=1.0, checkpoint=model, batch_size=1, views=1, progress=False)
    assert report["detection"]["threshold"]["mode"] == "fixed"
    assert report["resume"]["measurements_reused"] is True and report["resume"]["runs_reused"] == 2


def test_a_damaged_kept_run_is_made_again(tmp_path, source, model, monkeypatch, generated):
    out = tmp_path / "out.mkv"
    interrupted_repair(source, out, model, monkeypatch, 2)
    damaged = folder_for(out) / "run-00000008.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])  # a truncated copy
    report = repair_video(source, out, checkpoint=model, batch_size=1, views=1, progress=False)
    assert report["resume"]["runs_reused"] == 1 and sum(generated) == 2 + 4


def test_a_failure_other_than_an_interrupt_keeps_nothing(tmp_path, source, model, monkeypatch):
    save = ResumeStore.save_run

    def disk_full_after_one(self, first, *args):
        if first > 4:
            raise OSError(28, "No space left on device")
        save(self, first, *args)

    monkeypatch.setattr(ResumeStore, "save_run", disk_full_after_one)
    with pytest.raises(OSError):
        repair_video(source, tmp_path / "out.mkv", checkpoint=model, batch_size=1, views=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_a_folder_that_is_not_ours_is_refused_and_left_alone(tmp_path, source, model, capsys):
    folder = folder_for(tmp_path / "out.mkv")
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"out.mkv.nlvfi-resume exists and is not a folder nlvfi repair kept"):
        repair_video(source, tmp_path / "out.mkv", checkpoint=model, progress=False)
    assert (folder / "notes.txt").read_text() == "mine\n"
    assert repair_module.main([str(source), "-o", str(tmp_path / "out.mkv"), "--checkpoint", str(model), "--quiet", "--no-resume"]) == 0
    assert "Repaired " in capsys.readouterr().out and (folder / "notes.txt").exists()


def test_store_reads_back_only_what_matches(tmp_path):
    store = ResumeStore(tmp_path / "kept", {"input": 1})
    frames = np.arange(2 * 4 * 6 * 3, dtype=np.uint16).reshape(2, 4, 6, 3)  # (k, H, W, 3)
    identity = {"first": 3, "times": [0.333333333, 0.666666667]}
    store.save_run(3, frames, identity, {"flow_scale": 1})
    got, meta = store.load_run(3, identity, (2, 4, 6, 3), np.dtype(np.uint16))
    assert np.array_equal(got, frames) and meta == {"flow_scale": 1} and store.resumed_runs == 1
    assert store.load_run(3, {**identity, "times": [0.25, 0.5]}, (2, 4, 6, 3), np.dtype(np.uint16)) is None
    assert store.load_run(3, identity, (2, 4, 6, 3), np.dtype(np.uint8)) is None  # 8-bit now: made again
    assert store.load_run(5, identity, (2, 4, 6, 3), np.dtype(np.uint16)) is None
    assert json.loads((tmp_path / "kept" / "key.json").read_text())["key"]["input"] == 1
    assert ResumeStore(tmp_path / "kept", {"input": 1}).note == ""  # same key: kept
    assert ResumeStore(tmp_path / "kept", {"input": 2}).note == "discarded the kept work of an earlier run (input changed)"
    assert not (tmp_path / "kept").exists()


def test_input_fingerprint_sees_a_change_of_the_same_size(tmp_path):
    video = tmp_path / "v.bin"
    video.write_bytes(bytes(3 << 20))
    before = input_fingerprint(video)
    with open(video, "r+b") as f:  # a byte near the end, in the last MiB
        f.seek((3 << 20) - 10)
        f.write(b"\x01")
    os.utime(video, ns=(before["mtime_ns"], before["mtime_ns"]))  # even with the old time
    assert input_fingerprint(video)["edges_sha1"] != before["edges_sha1"]
    for i in range(3):
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / f"f{i:03d}.png")
    sequence = input_fingerprint(tmp_path / "f%03d.png")
    assert [name for name, _, _ in sequence["files"]] == ["f000.png", "f001.png", "f002.png"]


# --------------------------------------------------------------------------------------------
# nlvfi interpolate --factor


def test_an_interrupted_up_conversion_goes_on_from_the_kept_gaps(tmp_path, model, monkeypatch, capsys):
    from nlvfi import interpolate as interp

    calls = []
    generate = interp.generate

    def counting(*args, **kwargs):
        calls.append(1)
        return generate(*args, **kwargs)

    monkeypatch.setattr(interp, "generate", counting)
    source = write_video(tmp_path / "in.mkv", scene(5, 48, 64), 10)
    out = tmp_path / "x4.mkv"
    command = [str(source), "-o", str(out), "--factor", "4", "--checkpoint", str(model), "--quiet"]
    with monkeypatch.context() as patch:
        interrupt_after_runs(patch, 2)
        assert interp.main(command) == 130
    kept = folder_for(out)
    assert f"2 generated gap(s) and the first 5 encoded frames are kept in {kept}; run the same command again" in capsys.readouterr().err
    assert sorted(p.name for p in kept.iterdir()) == [
        "encoded.bin", "encoded.json", "gap-00000001.npz", "gap-00000002.npz", "key.json",
    ]  # frame 0, gap 1's three and frame 1 were written; gap 2 was made, not written (nlvfi.kept_encoding)
    assert interp.main(command) == 0
    assert f"resumed an interrupted run: 2 gap(s) read back from {kept}, the first 5 frames not encoded again" in capsys.readouterr().out
    assert len(calls) == 2 + 2 and not kept.exists()
    assert interp.main([*command[:2], str(tmp_path / "fresh.mkv"), *command[3:], "--no-resume"]) == 0
    resumed, uninterrupted = decoded(out), decoded(tmp_path / "fresh.mkv")
    assert len(resumed) == len(uninterrupted) == 17
    for (time_a, content_a, _), (time_b, content_b, _) in zip(resumed, uninterrupted):
        assert time_a == time_b and np.array_equal(content_a, content_b)
    assert interp.main([str(source), str(source), "-o", str(tmp_path / "m.png"), "--no-resume", "--checkpoint", str(model)]) == 2
    assert "--no-resume is for a video" in capsys.readouterr().err


def test_nothing_more_is_kept_on_a_nearly_full_disk(tmp_path, model, monkeypatch):
    from nlvfi import interpolate as interp
    from nlvfi import resume as resume_module

    monkeypatch.setattr(resume_module, "RESERVE_BYTES", 1 << 62)  # no disk has that much free
    source = write_video(tmp_path / "in.mkv", scene(4, 48, 64), 10)
    generator, _ = interp.load_model(model, "cpu")
    summary = interp.interpolate_video(source, tmp_path / "x2.mkv", generator, 2, progress=False)
    assert summary["resume"]["gaps_not_kept"] == 3 and summary["frames_out"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "x2.mkv"]


def test_store_keeps_into_a_folder_not_made_yet(tmp_path):
    store = ResumeStore(tmp_path / "new" / "deeper" / "out.mkv.nlvfi-resume", {"input": 1})
    assert store.save_run(0, np.zeros((1, 2, 2, 3), np.uint8), {"first": 0}, {}) is True
    assert store.kept_runs == 1 and store.kept_text().startswith("1 generated run(s) are kept in ")
