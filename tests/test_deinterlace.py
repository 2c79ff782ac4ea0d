"""Interlaced input deinterlaced as it is read (``--deinterlace``, nlvfi.deinterlace)."""

from fractions import Fraction
import json

import numpy as np
import pytest
from test_captions import caption_bytes, captions_by_frame
from test_repair import leftovers, scene

from nlvfi import interpolate as interpolate_module
from nlvfi import repair as repair_module
from nlvfi.captions import closed_captions, with_captions
from nlvfi.deinterlace import Deinterlacer, Interlacing, interlacing_from, without_side_data
from nlvfi.interpolate import gap_places
from nlvfi.repair import field_time, repair_video, run_times
from nlvfi.duplicates import Run
from nlvfi.videoio import VideoError, VideoReader, check_progressive, first_frame, frame_content, probe, write_video

TT, BB = 2, 3  # FFmpeg's AVFieldOrder: top field first, bottom field first


def woven(progressive, top_first=True):
    """Interlaced frames: frame k holds progressive frame 2k in its first field's lines and 2k+1 in the other's."""
    first, second = (slice(0, None, 2), slice(1, None, 2)) if top_first else (slice(1, None, 2), slice(0, None, 2))
    frames = []
    for k in range(len(progressive) // 2):
        frame = np.empty_like(progressive[2 * k])
        frame[first], frame[second] = progressive[2 * k][first], progressive[2 * k + 1][second]
        frames.append(frame)
    return frames


def interlaced_ffv1(path, frames, field_order=TT, rate=10):
    """Lossless frames whose header alone says they are interlaced (as FFV1 stores it)."""
    return write_video(path, frames, rate, pix_fmt="yuv444p", field_order=field_order)


def distance(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def rgb(frame):
    return frame.to_ndarray(format="rgb24")


def test_how_a_video_is_interlaced_comes_from_its_header_or_its_frames():
    assert interlacing_from(0, False) is None and interlacing_from(1, False) is None  # unknown, progressive
    assert interlacing_from(TT, False) == Interlacing("top field first", flagged=False)
    assert interlacing_from(4, False) == Interlacing("bottom field first", flagged=False)  # TB: top coded, bottom shown first
    assert interlacing_from(0, True) == Interlacing("interlaced frames", flagged=True)
    assert Interlacing("top field first", False).filter_args() == "mode=send_frame:parity=tff:deint=all"
    assert Interlacing("bottom field first", False).filter_args(fields=True) == "mode=send_field:parity=bff:deint=all"
    assert Interlacing("top field first", True).filter_args() == "mode=send_frame:parity=auto:deint=interlaced"  # each frame's own


@pytest.mark.parametrize("field_order, top_first", [(TT, True), (BB, False)])
def test_each_frame_comes_out_at_its_first_fields_picture_and_time(tmp_path, field_order, top_first):
    # the picture slides 3 px a progressive frame: a frame deinterlaced with the wrong field first
    # would sit nearer the picture half a frame later
    progressive = scene(16, 48, 64)
    source = interlaced_ffv1(tmp_path / "in.mkv", woven(progressive, top_first), field_order)
    with VideoReader(source) as reader:
        as_decoded = [(item.index, item.pts) for item in reader]
    with VideoReader(source, deinterlace=True, fields=True) as reader:
        items = list(reader)
        assert reader.interlacing == Interlacing("top field first" if top_first else "bottom field first", flagged=False)
    assert [(item.index, item.pts) for item in items] == as_decoded  # one for one, on the input's times
    for k, item in enumerate(items):
        assert not item.frame.interlaced_frame
        first, second = rgb(item.frame), rgb(item.second_field)
        assert distance(first, progressive[2 * k]) < distance(first, progressive[2 * k + 1]) / 2, k
        assert distance(second, progressive[2 * k + 1]) < distance(second, progressive[2 * k]) / 2, k
    with VideoReader(source, deinterlace=True) as reader:  # one frame per frame: the same first fields, no second
        assert all(
            np.array_equal(frame_content(a.frame), frame_content(b.frame)) and b.second_field is None for a, b in zip(items, reader)
        )


def test_progressive_video_is_read_as_it_is(tmp_path):
    source = write_video(tmp_path / "p.mkv", scene(6), 10)
    with VideoReader(source) as plain, VideoReader(source, deinterlace=True, fields=True) as asked:
        assert asked.interlacing is None
        assert all(np.array_equal(frame_content(a.frame), frame_content(b.frame)) for a, b in zip(plain, asked))


def test_progressive_frames_never_pass_bwdif_whose_format_conversions_would_change_them(tmp_path):
    # a palette PNG sequence: bwdif takes no pal8, and FFmpeg's conversions there and back
    # changed every frame's colours under --deinterlace, though nothing was interlaced
    from PIL import Image

    for index, frame in enumerate(scene(6)):
        Image.fromarray(frame).quantize(64).save(tmp_path / f"f_{index:04d}.png")
    pattern = tmp_path / "f_%04d.png"
    with VideoReader(pattern) as plain, VideoReader(pattern, deinterlace=True, fields=True) as asked:
        pairs = list(zip(plain, asked))
        assert asked.deinterlaced == (None, 0)
    assert len(pairs) == 6 and pairs[0][1].frame.format.name == "pal8"
    assert all(np.array_equal(a.frame.to_ndarray(format="rgba"), b.frame.to_ndarray(format="rgba")) for a, b in pairs)


def test_frames_the_decoder_flags_progressive_pass_untouched_with_no_second_field(tmp_path):
    # deint=interlaced: a stream that switches to progressive pictures keeps them as they are
    source = write_video(tmp_path / "p.mkv", scene(6), 10)
    with VideoReader(source) as reader:
        decoded = list(reader)
    expected = [frame_content(item.frame) for item in decoded]
    deinterlacer = Deinterlacer(Interlacing("interlaced frames", flagged=True), probe(source).time_base, fields=True)
    out = [item for decoded_item in decoded for item in deinterlacer.push(decoded_item)] + deinterlacer.flush()
    assert [item.index for item in out] == list(range(6))
    assert all(np.array_equal(frame_content(item.frame), want) and item.second_field is None for item, want in zip(out, expected))


def test_the_refusal_says_how_to_deinterlace_and_the_flag_lets_it_through(tmp_path):
    source = interlaced_ffv1(tmp_path / "bff.mkv", woven(scene(8), False), BB)
    with pytest.raises(VideoError, match=r"is interlaced \(bottom field first\); .* give --deinterlace to deinterlace it as it is read"):
        check_progressive(probe(source))
    assert check_progressive(probe(source), deinterlace=True) == Interlacing("bottom field first", flagged=False)


def test_a_second_field_starts_the_pair_half_a_frame_nearer_the_run():
    times = [0.0, 0.1, 0.2, 0.3, 0.4]
    assert field_time(times, 1) == pytest.approx(0.15) and field_time(times, 4) == pytest.approx(0.45)  # the last: as the one before
    run = Run(first=2, last=3, status="repair")  # frames 2 and 3 copy frame 1; frame 4 is the next distinct one
    assert run_times(times, run) == pytest.approx([1 / 3, 2 / 3])
    assert run_times(times, run, start=field_time(times, 1)) == pytest.approx([0.2, 0.6])  # from 0.15 to 0.4


def test_up_conversion_takes_the_second_fields_where_they_are_and_generates_between():
    assert gap_places(2, [0, 1]) == [(0, 0.5)]
    assert gap_places(2, [0, 0.5, 1]) == [None]  # x2: the second field is the frame half-way
    assert gap_places(4, [0, 0.5, 1]) == [(0, 0.5), None, (1, 0.5)]


def test_repair_deinterlaces_and_writes_progressive_video(tmp_path, model, capsys):
    interlaced = woven(scene(24, 48, 64))
    interlaced[5] = interlaced[4]  # a copy of both fields
    interlaced[8] = interlaced[9] = interlaced[7]
    source = interlaced_ffv1(tmp_path / "in.mkv", interlaced)
    before = source.read_bytes()
    out, report_path = tmp_path / "out.mkv", tmp_path / "r.json"
    assert repair_module.main([str(source), "-o", str(out), "--deinterlace", "--checkpoint", str(model), "--report", str(report_path), "--quiet"]) == 0
    report = json.loads(report_path.read_text())
    assert report["detection"]["duplicates"] == [5, 8, 9]
    assert report["deinterlaced"] == {
        "field_order": "top field first", "frames": "every frame", "filter": "bwdif=mode=send_field:parity=tff:deint=all",
        "frames_deinterlaced": 12, "runs_from_second_field": 2,
    }  # fmt: skip
    assert report["verification"]["untouched_frames_bit_identical"] == 9  # against the input deinterlaced
    assert "deinterlaced as it was read" in capsys.readouterr().out
    check_progressive(probe(out))  # written progressive: it can be repaired again without --deinterlace
    assert not first_frame(out).interlaced_frame
    with VideoReader(source, deinterlace=True) as original, VideoReader(out) as written:
        pairs = list(zip(original, written))
    assert len(pairs) == 12 and all(a.pts == b.pts for a, b in pairs)
    assert all(np.array_equal(frame_content(a.frame), frame_content(b.frame)) for a, b in pairs if a.index not in (5, 8, 9))
    assert source.read_bytes() == before and leftovers(tmp_path) == []


def test_repair_from_the_frames_when_asked_differs_only_in_the_replaced_frames(tmp_path, model):
    interlaced = woven(scene(16, 48, 64))
    interlaced[5] = interlaced[4]
    source = interlaced_ffv1(tmp_path / "in.mkv", interlaced)
    fields = repair_video(source, tmp_path / "fields.mkv", checkpoint=model, progress=False, deinterlace=True)
    frames = repair_video(source, tmp_path / "frames.mkv", checkpoint=model, progress=False, deinterlace=True, second_fields=False)
    assert fields["deinterlaced"]["runs_from_second_field"] == 1 and frames["deinterlaced"]["runs_from_second_field"] == 0
    assert frames["deinterlaced"]["filter"] == "bwdif=mode=send_frame:parity=tff:deint=all"
    with VideoReader(tmp_path / "fields.mkv") as a, VideoReader(tmp_path / "frames.mkv") as b:
        same = [np.array_equal(frame_content(x.frame), frame_content(y.frame)) for x, y in zip(a, b)]
    assert same == [index != 5 for index in range(8)]


def test_x2_up_conversion_writes_each_frames_second_field_half_way(tmp_path, model, capsys):
    source = interlaced_ffv1(tmp_path / "in.mkv", woven(scene(12, 48, 64), False), BB)
    out = tmp_path / "x2.mkv"
    assert interpolate_module.main([str(source), "-o", str(out), "--factor", "2", "--deinterlace", "--checkpoint", str(model), "--quiet"]) == 0
    assert "(0 generated, x2 frame rate)" in capsys.readouterr().out
    with VideoReader(source, deinterlace=True, fields=True) as reader:
        fields = list(reader)
    with VideoReader(out) as reader:
        written = list(reader)
    assert len(written) == 11 and [item.time for item in written] == pytest.approx([k * 0.05 for k in range(11)])
    for k, item in enumerate(fields):
        assert np.array_equal(frame_content(written[2 * k].frame), frame_content(item.frame))
        if k < 5:
            assert np.array_equal(frame_content(written[2 * k + 1].frame), frame_content(item.second_field))


def test_x4_up_conversion_generates_between_the_fields(tmp_path, model):
    source = interlaced_ffv1(tmp_path / "in.mkv", woven(scene(8, 48, 64)))
    summary = interpolate_module.interpolate_video(source, tmp_path / "x4.mkv", interpolate_module.load_model(model, "cpu")[0], 4,
                                                   progress=False, deinterlace=True)  # fmt: skip
    assert (summary["frames_out"], summary["generated"], summary["deinterlaced"]["second_fields_written"]) == (13, 6, 3)
    with VideoReader(source, deinterlace=True, fields=True) as reader:
        fields = list(reader)
    with VideoReader(tmp_path / "x4.mkv") as reader:
        written = list(reader)
    assert all(np.array_equal(frame_content(written[4 * k + 2].frame), frame_content(fields[k].second_field)) for k in range(3))


def test_a_second_field_does_not_repeat_the_captions_of_its_frame(tmp_path, model):
    # a second field written as a frame of its own with its frame's caption bytes would show each caption twice
    plain = write_video(tmp_path / "plain.mkv", woven(scene(16)), 10, codec="libx264", pix_fmt="yuv420p",
                        options={"crf": "12", "x264-params": "interlaced=1"})  # fmt: skip
    source = with_captions(plain, tmp_path / "in.mkv", caption_bytes)
    with VideoReader(source, deinterlace=True, fields=True) as reader:
        item = next(iter(reader))
    assert closed_captions(item.frame) == caption_bytes(0) and closed_captions(item.second_field) is None
    bare = without_side_data(item.frame)
    assert closed_captions(bare) is None and np.array_equal(frame_content(bare), frame_content(item.frame))
    out = tmp_path / "x2.mp4"
    assert interpolate_module.main([str(source), "-o", str(out), "--factor", "2", "--deinterlace", "--checkpoint", str(model), "--quiet"]) == 0
    written = captions_by_frame(out)
    assert written[::2] == [caption_bytes(i) for i in range(8)] and written[1::2] == [None] * 7


def test_deinterlacing_keeps_the_times_of_a_variable_frame_rate(tmp_path):
    path = write_video(tmp_path / "v.mkv", woven(scene(12, 48, 64)), 10, pts=[0, 1, 3, 4, 7, 9], time_base=Fraction(1, 10))
    with VideoReader(path) as reader:
        decoded = list(reader)
    assert [item.time for item in decoded] == pytest.approx([0, 0.1, 0.3, 0.4, 0.7, 0.9])
    deinterlacer = Deinterlacer(Interlacing("top field first", flagged=False), probe(path).time_base, fields=True)
    out = [item for each in decoded for item in deinterlacer.push(each)] + deinterlacer.flush()
    assert [item.time for item in out] == pytest.approx([0, 0.1, 0.3, 0.4, 0.7, 0.9])
    assert all(item.second_field is not None for item in out)


def test_an_interrupted_deinterlacing_repair_goes_on_from_its_kept_runs(tmp_path, model, monkeypatch):
    from test_resume import interrupt_after_runs

    interlaced = woven(scene(24, 48, 64))
    for copy in (4, 8):
        interlaced[copy] = interlaced[copy - 1]
    source = interlaced_ffv1(tmp_path / "in.mkv", interlaced)
    out, fresh = tmp_path / "out.mkv", tmp_path / "fresh.mkv"
    settings = dict(checkpoint=model, batch_size=1, views=1, progress=False, deinterlace=True)
    with monkeypatch.context() as patch:
        interrupt_after_runs(patch, 1)
        with pytest.raises(KeyboardInterrupt):
            repair_video(source, out, **settings)
    report = repair_video(source, out, **settings)
    assert report["resume"]["runs_reused"] == 1 and report["deinterlaced"]["runs_from_second_field"] == 2
    repair_video(source, fresh, resume=False, **settings)
    with VideoReader(out) as a, VideoReader(fresh) as b:
        assert all(x.pts == y.pts and np.array_equal(frame_content(x.frame), frame_content(y.frame)) for x, y in zip(a, b))
    with monkeypatch.context() as patch:  # kept from the frames, not the fields: another setting, made again
        interrupt_after_runs(patch, 1)
        with pytest.raises(KeyboardInterrupt):
            repair_video(source, out, **settings, second_fields=False)
    assert repair_video(source, out, **settings)["resume"]["runs_reused"] == 0


def test_an_interrupted_x4_up_conversion_of_interlaced_video_goes_on_from_its_kept_gaps(tmp_path, model, monkeypatch, capsys):
    from test_resume import interrupt_after_runs

    source = interlaced_ffv1(tmp_path / "in.mkv", woven(scene(10, 48, 64)))
    out, fresh = tmp_path / "x4.mkv", tmp_path / "fresh.mkv"
    command = [str(source), "-o", str(out), "--factor", "4", "--deinterlace", "--checkpoint", str(model), "--quiet"]
    with monkeypatch.context() as patch:
        interrupt_after_runs(patch, 2)
        assert interpolate_module.main(command) == 130
    capsys.readouterr()
    assert interpolate_module.main(command) == 0
    assert "resumed an interrupted run: 2 gap(s) read back" in capsys.readouterr().out
    assert interpolate_module.main([*command[:2], str(fresh), *command[3:], "--no-resume"]) == 0
    with VideoReader(out) as a, VideoReader(fresh) as b:
        pairs = list(zip(a, b))
    assert len(pairs) == 17 and all(x.pts == y.pts and np.array_equal(frame_content(x.frame), frame_content(y.frame)) for x, y in pairs)


def mixed_h264(path):
    """A raw H.264 stream of 6 progressive frames, then 12 interlaced ones (a new parameter set
    mid-stream, as a TV recording switching between programmes has): its header and first frame
    say progressive."""
    frames = scene(30, 48, 64)
    parts = []
    for index, (pictures, params) in enumerate([(frames[:6], {}), (woven(frames[6:30]), {"x264-params": "interlaced=1"})]):
        part = write_video(path.with_suffix(f".{index}.h264"), pictures, 25, codec="libx264", pix_fmt="yuv420p",
                           options={"crf": "12", "bframes": "0", **params})  # fmt: skip
        parts.append(part.read_bytes())
        part.unlink()
    path.write_bytes(b"".join(parts))
    return path


def test_frames_interlaced_after_a_progressive_start_are_refused_or_deinterlaced(tmp_path, model, capsys):
    source = mixed_h264(tmp_path / "mixed.h264")
    with VideoReader(source) as reader:
        decoded = list(reader)
    assert [bool(item.frame.interlaced_frame) for item in decoded] == [False] * 6 + [True] * 12
    assert check_progressive(probe(source)) is None  # the header and first frame say progressive
    out = tmp_path / "out.mkv"
    for main in (repair_module.main, interpolate_module.main):
        assert main([str(source), "-o", str(out), "--checkpoint", str(model), "--quiet"] + (["--factor", "2"] if main is interpolate_module.main else [])) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "frame 6 is interlaced, though its header and first frame are not" in err and "--deinterlace" in err
        assert not out.exists() and leftovers(tmp_path) == []
    with VideoReader(source, deinterlace=True) as reader:
        items = list(reader)
        assert reader.interlacing is None and reader.deinterlaced == (Interlacing("interlaced frames", flagged=True), 12)
    assert all(np.array_equal(frame_content(a.frame), frame_content(b.frame)) for a, b in zip(decoded[:6], items[:6]))  # untouched
    assert not any(item.frame.interlaced_frame for item in items)
    report = repair_video(source, out, checkpoint=model, progress=False, deinterlace=True)
    assert report["deinterlaced"]["frames_deinterlaced"] == 12 and report["deinterlaced"]["field_order"] == "interlaced frames"
    with VideoReader(out) as written:
        assert not any(item.frame.interlaced_frame for item in written)


@pytest.mark.parametrize("height, rate, pix_fmt", [(480, Fraction(30000, 1001), "yuv411p"), (576, Fraction(25), "yuv420p")])
def test_dv_camcorder_video_is_deinterlaced_in_its_own_format(tmp_path, height, rate, pix_fmt):
    # NTSC and PAL DV, the home camcorder's interlaced video: every frame flagged (bottom field first)
    frames = woven([np.ascontiguousarray(np.resize(frame, (height, 720, 3))) for frame in scene(8, 48, 64)], top_first=False)
    source = write_video(tmp_path / "dv.avi", frames, rate, codec="dvvideo", pix_fmt=pix_fmt)
    assert first_frame(source).interlaced_frame
    with VideoReader(source, deinterlace=True, fields=True) as reader:
        items = list(reader)
        assert reader.deinterlaced == (Interlacing("interlaced frames", flagged=True), 4)
    assert [item.frame.format.name for item in items] == [pix_fmt] * 4
    assert not any(item.frame.interlaced_frame for item in items) and all(item.second_field is not None for item in items)
