"""An interrupted ``nlvfi repair`` keeps its encoded frames (nlvfi.kept_encoding): the run that goes
on muxes them instead of encoding them again, and only when they are what it would encode."""

import itertools
from fractions import Fraction
import json

import numpy as np
import pytest
from test_repair import audio_packets, decoded, scene, stutter, tone

from nlvfi import repair as repair_module
from nlvfi import kept_encoding
from nlvfi import resume as resume_module
from nlvfi.kept_encoding import LOG_NAME, SEAL_NAME, PacketLog, decodable_prefix, load_kept_encoding
from nlvfi.repair import repair_video
from nlvfi.resume import folder_for
from nlvfi.videoio import VideoWriter, write_video

pytestmark = pytest.mark.usefixtures("one_thread")  # shared fixtures: tests/conftest.py

COPIES = [10, 25, 26, 47, 70, 88, 101]  # frames of the 120 that are copies of the one before


def slow_prefix(packet_pts, frame_pts):
    """decodable_prefix the obvious way: try every n, compare sets."""
    return max([n for n in range(len(frame_pts) + 1) if set(packet_pts[:n]) == set(frame_pts[:n])])


@pytest.mark.parametrize("seed", range(20))
def test_decodable_prefix_matches_the_obvious_set_comparison(seed):
    rng = np.random.default_rng(seed)
    frame_pts = sorted(rng.choice(1000, size=30, replace=False).tolist())
    packet_pts = []
    for start in range(0, 30, 4):  # mini-GOPs reordered as an encoder with B-frames gives them
        group = frame_pts[start : start + 4]
        packet_pts += [group[-1], *rng.permutation(group[:-1]).tolist()]
    written = int(rng.integers(0, 31))
    emitted = packet_pts[: max(0, written - int(rng.integers(0, 8)))]  # the encoder holds some back
    assert decodable_prefix(emitted, frame_pts[:written]) == slow_prefix(emitted, frame_pts[:written])


def test_decodable_prefix_stops_before_a_frame_whose_packet_is_still_in_the_encoder():
    # decode order I0 P3 B1 B2 P6 B4: frames 0-3 decode on their own, frame 5 has no packet yet
    assert decodable_prefix([0, 3, 1, 2, 6, 4], [0, 1, 2, 3, 4, 5, 6]) == 4
    assert decodable_prefix([0, 3, 1], [0, 1, 2, 3]) == 1
    assert decodable_prefix([], [0, 1]) == 0


@pytest.fixture
def lossy_source(tmp_path):
    """120 frames of H.264 + AAC in an .mp4 with seven copies: long enough for x264's lookahead."""
    frames = stutter(scene(120), COPIES)
    return write_video(tmp_path / "in.mp4", frames, 25, codec="libx264", pix_fmt="yuv420p", options={"crf": "18"},
                       audio=tone(5.0), audio_codec="aac")  # fmt: skip


def interrupted_at_frame(monkeypatch, source, out, model, frame, **settings):
    """Run the repair and Ctrl-C it as frame ``frame`` is given to the writer; the exception info."""
    write = VideoWriter.write

    def write_then_stop(self, *args, **kwargs):
        if self.frames_written == frame:
            raise KeyboardInterrupt
        return write(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(VideoWriter, "write", write_then_stop)
        with pytest.raises(KeyboardInterrupt) as stopped:
            repair_video(source, out, checkpoint=model, views=1, progress=False, **settings)
    return stopped


def test_an_interrupted_lossy_repair_goes_on_from_its_encoded_frames(tmp_path, lossy_source, model, monkeypatch):
    out = tmp_path / "out.mp4"
    stopped = interrupted_at_frame(monkeypatch, lossy_source, out, model, 100)
    kept = folder_for(out)
    seal = json.loads((kept / SEAL_NAME).read_text())
    assert 0 < seal["frames"] < 100  # x264 still held the last frames given to it: those are not kept
    assert f"and the first {seal['frames']} encoded frames are kept in {kept}" in stopped.value.resume_note
    assert (kept / LOG_NAME).stat().st_size == seal["bytes"]  # cut to what the seal holds
    encoded = []
    encode = VideoWriter._mux_video
    with monkeypatch.context() as patch:  # count the frames the resumed run really encodes
        patch.setattr(VideoWriter, "_mux_video", lambda self, packet: (encoded.append(packet.pts), encode(self, packet))[1])
        report = repair_video(lossy_source, out, checkpoint=model, views=1, progress=False)
    assert report["resume"]["encoded_frames_reused"] == seal["frames"] and report["resume"]["encoded_frames_note"] is None, report["resume"]
    assert len(encoded) == 120 - seal["frames"]  # the rest went through the encoder, nothing before
    assert f"the first {seal['frames']} of 120 frames were not encoded again" in repair_module.summary_text(report)
    assert not kept.exists()
    assert report["frames_replaced"] == len(COPIES)
    fresh = repair_video(lossy_source, tmp_path / "fresh.mp4", checkpoint=model, views=1, progress=False, resume=False)
    quality = report["verification"]["untouched_frames_psnr_db"], fresh["verification"]["untouched_frames_psnr_db"]
    # against the input; the encoder does not write the same bytes twice here, so even uninterrupted
    # repairs differ (mean 40.80-40.86 dB over six), and over eight runs the resumed one came out from
    # 0.26 dB below the fresh one to 0.26 above in the mean (min: 0.02 below to 0.46 above). Not its
    # threads (threads=1 varies too) nor our frames (the same frames, padding zeroed, vary): the
    # bytes follow what the heap held before (MALLOC_PERTURB_ 0 / 85 / 165 gave three different files
    # from one frame sequence, each repeatable), an uninitialised read inside the PyAV wheel's
    # FFmpeg + x264. A process that has run a torch convolution first encodes differently once.
    assert quality[0]["min"] > quality[1]["min"] - 0.5 and quality[0]["mean"] > quality[1]["mean"] - 0.5
    resumed, uninterrupted, original = decoded(out), decoded(tmp_path / "fresh.mp4"), decoded(lossy_source)
    assert [t for t, _, _ in resumed] == [t for t, _, _ in uninterrupted] == [t for t, _, _ in original]  # 120 times
    gaps = [
        np.abs(a.astype(int) - b.astype(int)).mean() for (_, a, _), (_, b, _) in zip(resumed, uninterrupted)
    ]  # the two encodings of the same frames
    assert max(gaps) < 1.5
    assert audio_packets(out) == audio_packets(lossy_source) != []


def test_interrupted_while_checking_every_frame_is_kept_and_none_encoded_again(tmp_path, model, monkeypatch):
    source = write_video(tmp_path / "in.mkv", stutter(scene(24), [5, 12, 13]), 10, audio=tone())
    out = tmp_path / "out.mkv"
    verify = repair_module.verify_output

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(repair_module, "verify_output", stop)
        with pytest.raises(KeyboardInterrupt):
            repair_video(source, out, checkpoint=model, views=1, progress=False)
    assert json.loads((folder_for(out) / SEAL_NAME).read_text())["frames"] == 24
    assert repair_module.verify_output is verify
    report = repair_video(source, out, checkpoint=model, views=1, progress=False)
    assert report["resume"]["encoded_frames_reused"] == 24
    assert report["verification"]["untouched_frames_bit_identical"] == 21  # FFV1: lossless, bit for bit
    fresh = repair_video(source, tmp_path / "fresh.mkv", checkpoint=model, views=1, progress=False, resume=False)
    for (ta, a, _), (tb, b, _) in zip(decoded(out), decoded(tmp_path / "fresh.mkv"), strict=True):
        assert ta == tb and np.array_equal(a, b)
    assert fresh["frames_replaced"] == report["frames_replaced"] == 3


def ffv1_interrupted(tmp_path, model, monkeypatch):
    source = write_video(tmp_path / "in.mkv", stutter(scene(24), [5, 12, 13]), 10)
    out = tmp_path / "out.mkv"
    interrupted_at_frame(monkeypatch, source, out, model, 16)
    assert json.loads((folder_for(out) / SEAL_NAME).read_text())["frames"] == 16  # FFV1: a packet per frame, at once
    return source, out


def test_another_encoder_setting_encodes_every_frame_again(tmp_path, model, monkeypatch):
    source, out = ffv1_interrupted(tmp_path, model, monkeypatch)
    report = repair_video(source, out, checkpoint=model, views=1, progress=False, codec="libx264", crf=20)
    assert report["resume"]["measurements_reused"] and report["resume"]["runs_reused"] == 2  # the rest of the work is the same
    assert report["resume"]["encoded_frames_reused"] == 0
    assert report["resume"]["encoded_frames_note"] == "the kept encoded frames were not used: another encoder, container or setting"
    assert "Resume: the kept encoded frames were not used" in repair_module.summary_text(report)


def test_another_threshold_that_repairs_the_kept_frames_differently_encodes_them_again(tmp_path, model, monkeypatch):
    source, out = ffv1_interrupted(tmp_path, model, monkeypatch)
    report = repair_video(source, out, checkpoint=model, views=1, progress=False, max_run=1)  # frames 12-13 are left
    assert report["frames_replaced"] == 1 and report["resume"]["encoded_frames_reused"] == 0
    assert "repairs or times those frames differently" in report["resume"]["encoded_frames_note"]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "seal"])
def test_a_damaged_log_is_not_used(tmp_path, model, monkeypatch, damage):
    source, out = ffv1_interrupted(tmp_path, model, monkeypatch)
    log, seal = folder_for(out) / LOG_NAME, folder_for(out) / SEAL_NAME
    data = bytearray(log.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        data[len(data) // 2] ^= 0xFF
    else:
        seal.write_text(json.dumps({**json.loads(seal.read_text()), "extradata": "not hex"}))
    log.write_bytes(bytes(data))
    report = repair_video(source, out, checkpoint=model, views=1, progress=False)
    assert report["resume"]["encoded_frames_reused"] == 0
    assert report["resume"]["encoded_frames_note"] == "the kept encoded frames were not used: their file is damaged"
    assert report["verification"]["untouched_frames_bit_identical"] == 21


@pytest.mark.parametrize("mismatch", ["extradata", "dts"])
def test_packets_that_cannot_go_first_are_found_at_once_and_every_frame_is_encoded(tmp_path, model, monkeypatch, mismatch):
    source, out = ffv1_interrupted(tmp_path, model, monkeypatch)
    load = resume_module.load_kept_encoding

    def altered(*args, **kwargs):
        kept, why = load(*args, **kwargs)
        if mismatch == "extradata":
            kept.extradata = b"\x00" + kept.extradata[1:]
        else:
            kept.last_dts = 10**9  # the encoder's first packet would not come after it
        return kept, why

    monkeypatch.setattr(resume_module, "load_kept_encoding", altered)
    report = repair_video(source, out, checkpoint=model, views=1, progress=False)
    note = report["resume"]["encoded_frames_note"]
    assert note.startswith("the kept encoded frames were not used: ")
    assert ("extradata" in note) if mismatch == "extradata" else ("first dts" in note)
    assert report["resume"]["encoded_frames_reused"] == 0 and report["resume"]["runs_reused"] == 2  # counted once, not twice
    assert report["frames_replaced"] == 3 and [f["frame"] for f in report["replaced"]] == [5, 12, 13]
    assert report["verification"]["untouched_frames_bit_identical"] == 21
    assert report["model"]["runs_by_flow_scale"] == {"2": 2}


def test_a_second_interrupt_before_the_kept_frames_are_passed_keeps_them(tmp_path):
    folder = tmp_path / "kept"
    folder.mkdir()
    encoder = {"codec": "test"}
    log = PacketLog(folder, encoder, reserve_bytes=0)
    for pts in range(10):
        log.frame_written(pts)
        log.add(pts, pts, 1, pts == 0, bytes([pts]) * 5)
    identity = lambda n: {"frames": n}  # noqa: E731
    assert log.seal(b"x", 1, identity) == 10
    log.close()
    kept, why = load_kept_encoding(folder, encoder, identity)
    assert (kept.frames, why) == (10, "") and [data for *_, data in kept.read()][3] == b"\x03" * 5
    again = PacketLog(folder, encoder, reserve_bytes=0, kept=kept)
    for pts in range(4):  # the resumed run had muxed 4 of the kept frames when stopped again
        again.frame_written(pts)
    assert again.seal(b"x", 1, identity) == 10
    again.close()
    assert load_kept_encoding(folder, encoder, identity)[0].frames == 10
    assert load_kept_encoding(folder, {"codec": "other"}, identity) == (
        None, "the kept encoded frames were not used: another encoder, container or setting",
    )  # fmt: skip


@pytest.mark.parametrize("recent", [2048, 3])
def test_the_seal_digest_is_the_sealed_bytes_whether_held_or_read_again(tmp_path, monkeypatch, recent):
    monkeypatch.setattr(kept_encoding, "RECENT_DIGESTS", recent)  # 3: the cut is older than the states held
    folder = tmp_path / "kept"
    folder.mkdir()
    log = PacketLog(folder, {"codec": "test"}, reserve_bytes=0)
    for pts in range(6):  # 6 frames given; their packets in decode order I0 P3 B1 B2, then 10 more after the cut
        log.frame_written(pts)
    for pts in [0, 3, 1, 2] + list(range(100, 110)):
        log.add(pts, pts, 1, pts == 0, bytes([pts % 256]) * 7)
    assert log.seal(b"x", 1, lambda n: {"frames": n}) == 4
    log.close()
    kept, why = load_kept_encoding(folder, {"codec": "test"}, lambda n: {"frames": n})
    assert (kept.frames, why) == (4, "") and [data[0] for *_, data in kept.read()] == [0, 3, 1, 2]


def test_nothing_is_logged_on_a_nearly_full_disk(tmp_path, model, monkeypatch):
    monkeypatch.setattr(resume_module, "RESERVE_BYTES", 1 << 62)
    source = write_video(tmp_path / "in.mkv", stutter(scene(24), [5, 12, 13]), 10)
    out = tmp_path / "out.mkv"
    interrupted_at_frame(monkeypatch, source, out, model, 16)
    assert not any(itertools.chain(folder_for(out).glob("encoded.*")))  # nothing kept, the run went on


def test_an_interrupted_mpeg2_repair_goes_on_in_frame_slots_counted_from_the_first_frame(tmp_path, model, monkeypatch):
    # MPEG-2 counts frame slots from the first frame (nlvfi.videoio.slot_origin), here 0.54 s in:
    # the kept packets are logged in those slots and placed at the input's own times as they are muxed
    frames = stutter(scene(40), [10, 30])
    source = write_video(tmp_path / "in.ts", frames, 25, codec="libx264", pix_fmt="yuv420p",
                         pts=[48600 + 3600 * k for k in range(40)], time_base=Fraction(1, 90000))  # fmt: skip
    out = tmp_path / "out.ts"
    interrupted_at_frame(monkeypatch, source, out, model, 25, codec="mpeg2video")
    seal = json.loads((folder_for(out) / SEAL_NAME).read_text())
    assert 0 < seal["frames"] <= 25
    report = repair_video(source, out, checkpoint=model, views=1, progress=False, codec="mpeg2video")
    assert report["resume"]["encoded_frames_reused"] == seal["frames"] and report["frames_replaced"] == 2
    assert report["verification"]["timestamp_offset_s"] == 0 and report["verification"]["max_timestamp_error_s"] == 0
    assert [t for t, _, _ in decoded(out)] == [t for t, _, _ in decoded(source)]


def test_an_interrupted_mpeg4_repair_in_ticks_it_cannot_code_goes_on(tmp_path, model, monkeypatch):
    # a variable rate in 1/90000 s: MPEG-4 counts in slots of a tick, coded in 1/65535 s inside its
    # bitstream (nlvfi.videoio.encoder_time_base); the kept packets are logged in those slots
    frames = stutter(scene(40), [10, 30])
    pts = [3003 * k + (k * k) % 7 for k in range(40)]  # no common step but 1 tick
    source = write_video(tmp_path / "in.mp4", frames, Fraction(30000, 1001), codec="libx264", pix_fmt="yuv420p",
                         pts=pts, time_base=Fraction(1, 90000))  # fmt: skip
    out = tmp_path / "out.mp4"
    interrupted_at_frame(monkeypatch, source, out, model, 25, codec="mpeg4")
    seal = json.loads((folder_for(out) / SEAL_NAME).read_text())
    assert 0 < seal["frames"] <= 25 and seal["time_base"] == "1/90000"
    report = repair_video(source, out, checkpoint=model, views=1, progress=False, codec="mpeg4")
    assert report["resume"]["encoded_frames_reused"] == seal["frames"] and report["frames_replaced"] == 2
    assert report["verification"]["max_timestamp_error_s"] == 0
    assert [t for t, _, _ in decoded(out)] == [t for t, _, _ in decoded(source)]
