"""benchmarks/containers.py: every input kind into every output container is either written,
its timestamps and audio verified by the tool, or refused before the first decoding pass with a
one-line reason; never refused after the work (the whole matrix, 126 small repairs)."""

from pathlib import Path

import pytest

from project_scripts import load_script

MUXERS = {".ts": "mpegts", ".wmv": "asf"}  # output extensions that are not their muxer's name
containers = load_script("benchmarks/containers.py")


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    folder = tmp_path_factory.mktemp("containers")
    generator, _ = containers.load_model(None, "cpu")
    results = {}
    for name in containers.INPUTS:
        source = containers.make_input(folder, name)
        for ext in containers.OUTPUTS:
            results[name, ext] = containers.cell(source, folder / f"out-{Path(name).stem}{ext}", generator)
    return results


def test_nothing_fails_after_the_work(matrix):
    late = {key: r["reason"] for key, r in matrix.items() if not r["written"] and not r["early"]}
    assert late == {}


def test_what_is_written_keeps_every_time_and_replaces_both_copies(matrix):
    written = {key: r for key, r in matrix.items() if r["written"]}
    assert all(r["replaced"] == len(containers.COPIES) for r in written.values())
    assert all(r["audio_error_ms"] <= 0.6 for r in written.values())  # half a 1 ms tick, and a rounding
    # NUT, FLV and ASF move streams by an input's own audio priming (AAC 21 ms, Opus 7, AC-3 5); MPEG-TS, which
    # stores nothing before 0, by as much as x264's first decode time lies before it (2 frames at 25
    # frames/s, 80 ms) and an input's own late start adds, at most 3 frames; the rest moves nothing
    moved = {key: round(r["offset_ms"]) for key, r in written.items() if r["offset_ms"] and key[1] != ".ts"}
    assert all(0 <= r["offset_ms"] <= 120.5 for key, r in written.items() if key[1] == ".ts")
    assert moved == {
        ("h264-aac.mp4", ".nut"): 21, ("h264-aac-srt.mkv", ".nut"): 21, ("h264-aac-cover.mp4", ".nut"): 21, ("vp9-opus.webm", ".nut"): 7,
        ("h264-ac3.mkv", ".nut"): 5, ("mpeg2-ac3-16x9.mkv", ".nut"): 5,
        ("h264-aac.mp4", ".flv"): 21, ("h264-aac-srt.mkv", ".flv"): 21, ("h264-aac-cover.mp4", ".flv"): 21, ("vp9-opus.webm", ".flv"): 7,
        ("h264-ac3.mkv", ".flv"): 5, ("mpeg2-ac3-16x9.mkv", ".flv"): 5,
        ("h264-aac.mp4", ".wmv"): 21, ("h264-aac-srt.mkv", ".wmv"): 21, ("h264-aac-cover.mp4", ".wmv"): 21,
        ("h264-ac3.mkv", ".wmv"): 5, ("mpeg2-ac3-16x9.mkv", ".wmv"): 5,
    }  # fmt: skip


def test_a_widescreen_mpeg2_input_keeps_its_shape_wherever_it_is_written(matrix):
    # 128x96 shown 16:9 (4:3 pixels, as HDV and widescreen DVDs): before, every output was square
    shapes = [r["shape"] for (name, _), r in matrix.items() if name == "mpeg2-ac3-16x9.mkv" and r["written"]]
    assert len(shapes) == 7 and all(s["kept"] and s["pixel_aspect"] == "4:3" and s["display_aspect"] == "16:9" for s in shapes)
    assert all(r["shape"] is None for (name, _), r in matrix.items() if name != "mpeg2-ac3-16x9.mkv" and r["written"])


def test_a_recording_with_closed_captions_keeps_them_wherever_it_is_written(matrix):
    # before, each of the two replaced frames cut a character pair out of the captions
    written = {ext: r for (name, ext), r in matrix.items() if name == "h264-ac3-cc.ts" and r["written"]}
    assert sorted(written) == [".flv", ".mkv", ".mov", ".mp4", ".nut", ".ts", ".wmv"]
    wmv = written.pop(".wmv")  # WMV2 has no place for them: named
    assert not wmv["captions"]["kept"] and "captions not kept (named)" in containers.describe(wmv)
    assert all(r["captions"]["kept"] and r["captions_verified"] == {"input_frames": 24, "kept": 24} for r in written.values())
    assert all(r["captions"] is None for (name, _), r in matrix.items() if name != "h264-ac3-cc.ts" and r["written"])


def test_every_input_goes_into_matroska_and_each_container_gets_its_codec(matrix):
    assert all(matrix[name, ".mkv"]["written"] for name in containers.INPUTS)
    assert matrix["ffv1-pcm.mkv", ".mkv"]["lossless"] and matrix["ffv1-pcm.mkv", ".avi"]["lossless"]
    assert (matrix["mpeg4-mp3.avi", ".avi"]["codec"], matrix["mjpeg-pcm.avi", ".avi"]["codec"]) == ("mpeg4", "mjpeg")
    assert matrix["vp9-opus.webm", ".webm"]["codec"] == "libvpx-vp9"
    # a recorder's MPEG-TS: its ADTS-framed AAC goes into Matroska, MP4 and MOV as raw AAC, on time
    assert all(matrix["h264-aac.ts", ext]["written"] for ext in (".mkv", ".mp4", ".mov", ".nut", ".ts"))
    assert matrix["h264-aac.mp4", ".ts"]["written"] and matrix["prores422-pcm.mov", ".mkv"]["codec"] == "libx265"


def test_refusals_name_the_container_and_the_audio(matrix):
    refused = {key: r["reason"] for key, r in matrix.items() if not r["written"]}
    assert "opus only supported in MP4" in refused["vp9-opus.webm", ".mov"]
    assert "cannot hold audio that starts before 0 s" in refused["h264-aac.mp4", ".avi"]
    assert "cannot hold video that starts after 0 s" in refused["mpeg2-mp2.ts", ".avi"]  # slots, not times
    assert all(f"the {MUXERS.get(key[1], key[1][1:])} container cannot hold" in reason for key, reason in refused.items())
    assert {key[1] for key in refused} == {".mov", ".avi", ".webm", ".ts", ".flv", ".wmv"}  # what each cannot hold: the module doc
    assert "FLV holds aac, ac3, flac, mp3, opus" in refused["ffv1-pcm.mkv", ".flv"]  # judged by the list: PCM aborted a trial
    assert "ASF does not keep flac in step with the video" in refused["h264-flac.mkv", ".wmv"]
    assert matrix["h264-aac.ts", ".wmv"]["written"]  # ADTS under the tag ASF asks for (it was refused)
    assert "MPEG-TS holds aac, ac3, dts, eac3, mp2, mp3, opus); write .mkv, .mp4, .avi or .nut instead" in refused["h264-flac.mkv", ".ts"]


def test_table_and_lists(matrix):
    text = containers.table(matrix, list(containers.INPUTS), containers.OUTPUTS)
    assert text.splitlines()[0] == "| input | .mkv | .mp4 | .mov | .avi | .nut | .webm | .ts | .flv | .wmv |"
    written = sum(r["written"] for r in matrix.values())
    cells = len(containers.INPUTS) * len(containers.OUTPUTS)
    assert f"{written} of {cells} written; {cells - written} refused before decoding; 0 failed after the work." in text
    assert containers.parse_list(".mkv, .avi", containers.OUTPUTS, "output") == [".mkv", ".avi"]
    with pytest.raises(Exception, match="unknown output"):
        containers.parse_list(".xyz", containers.OUTPUTS, "output")


def test_subtitles_are_kept_where_the_container_holds_them_converted_or_named_elsewhere(matrix):
    written = {ext: r for (name, ext), r in matrix.items() if name == "h264-aac-srt.mkv" and r["written"]}
    kept = {ext for ext, r in written.items() if r["subtitles"] == 1}
    converted = {ext for ext, r in written.items() if r["subtitles_converted"] == ["subtitle (subrip) -> mov_text"]}
    assert kept == {".mkv"} and converted == {".mp4", ".mov"}
    for ext, r in written.items():
        if ext not in kept | converted:
            assert any(s.startswith(f"subtitle (subrip): the {MUXERS.get(ext, ext[1:])} container cannot hold it") for s in r["not_copied"]), r
    others = [r for (name, _), r in matrix.items() if r["written"] and name not in ("h264-aac-srt.mkv", "h264-aac-cover.mp4")]
    assert all(r["subtitles"] == 0 and r["not_copied"] == [] for r in others)


def test_the_cover_is_kept_in_mp4_and_matroska_and_named_elsewhere(matrix):
    written = {ext: r for (name, ext), r in matrix.items() if name == "h264-aac-cover.mp4" and r["written"]}
    assert set(written) == {".mkv", ".mp4", ".mov", ".nut", ".ts", ".flv", ".wmv"}  # .avi and .webm refuse its AAC, as for h264-aac.mp4
    assert written[".mp4"]["pictures"] == ["video (mjpeg, attached picture)"]
    assert written[".mkv"]["pictures"] == ["video (mjpeg, attached picture) as attachment cover.jpg"]
    for ext in (".mov", ".nut", ".ts", ".flv", ".wmv"):
        assert written[ext]["pictures"] == [] and len(written[ext]["not_copied"]) == 1
        assert written[ext]["not_copied"][0].startswith("video (mjpeg, attached picture): "), written[ext]
    assert "libx264, cover kept" in containers.describe(written[".mp4"]) and "cover not kept (named)" in containers.describe(written[".mov"])
    assert all(r["pictures"] == [] for (name, _), r in matrix.items() if r["written"] and name != "h264-aac-cover.mp4")


def test_colour_tags_are_kept_or_named(matrix):
    """Three inputs are tagged BT.709: the tags survive wherever the output can store them (AVI
    and NUT cannot with FFV1; AVI's Motion JPEG says BT.601 full range, primaries unknown; ASF
    stores none, so the Motion JPEG input's BT.601 full range is named there too)."""
    tagged = {name for name, arguments in containers.INPUTS.items() if "colour" in arguments}
    assert tagged == {"h264-aac.mp4", "ffv1-pcm.mkv", "prores422-pcm.mov"}
    lost = {key for key, r in matrix.items() if r["written"] and r["colour_lost"]}
    assert lost == {
        ("ffv1-pcm.mkv", ".avi"), ("ffv1-pcm.mkv", ".nut"), ("prores422-pcm.mov", ".avi"),
        ("h264-aac.mp4", ".wmv"), ("mjpeg-pcm.avi", ".wmv"), ("ffv1-pcm.mkv", ".wmv"), ("prores422-pcm.mov", ".wmv"),
    }  # fmt: skip
