"""Which inputs `nlvfi repair` can write into which output container, and how.

    python benchmarks/containers.py                          # every input x every container (about 1 min)
    python benchmarks/containers.py --inputs h264-aac.mp4,ffv1-pcm.mkv --outputs .mkv,.avi
    python benchmarks/containers.py --out results/containers.md

Each input is a small stuttering clip (24 frames, 128x96, a sliding bar over a moving pattern,
frames 10 and 15 copies of the frame before) with a 3 s tone, coded as such files usually come
(``INPUTS``: video codec, pixel format, audio codec, container; one .mkv with SubRip subtitles
too, one .mp4 with a JPEG cover, as a downloaded video carries one, and two MPEG-TS recordings). Each is repaired into every
output container with the shipped generator (one view, auto threshold; the tool's own
verification on). A cell shows the output's video codec and, where the tool kept a promise only
in part, how: ``+21 ms`` when the muxer moved every stream alike (``timestamp_offset_s``);
"subtitles kept" (copied and verified), "converted to mov_text" (SubRip into MP4's timed text,
verified line by line) or "not kept (named)" (in the report, with the reason);
"colour tags not kept (named)" where the written file does not say how to show its colours as
the input did (three inputs are tagged BT.709, as cameras and phones tag HD video); "cover kept"
(verified byte for byte) or "cover not kept (named)" for the cover (nlvfi.pictures); "shape kept"
or "shape not kept (named)" for the widescreen MPEG-2 input, whose pixels are not square
(``VideoWriter.pixel_aspect_outcome``); "captions kept" (every frame's bytes back on its output
frame, the replaced ones' too, verified) or "captions not kept (named)" for the recording of
broadcast TV, whose closed captions are inside the video (nlvfi.captions).
A refused combination shows the first words of the one-line reason and whether it came before
the first decoding pass ("refused") or after the work ("failed": what a user should never see).
Nothing is timed.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlvfi.interpolate import load_model  # noqa: E402
import nlvfi.repair as repair_module  # noqa: E402
from nlvfi.captions import with_captions  # noqa: E402
from nlvfi.checkpoint import atomic_write  # noqa: E402
from nlvfi.colour import ColourTags  # noqa: E402
from nlvfi.pictures import with_picture  # noqa: E402
from nlvfi.videoio import CONTAINERS, VideoError, write_video  # noqa: E402

BT709 = ColourTags(matrix=1, primaries=1, transfer=1, range=1)  # how cameras and phones tag HD video

#: input name -> write_video arguments (the audio is added by :func:`make_input`)
INPUTS = {
    "h264-aac.mp4": dict(codec="libx264", pix_fmt="yuv420p", options={"crf": "18"}, audio_codec="aac", colour=BT709),
    "mpeg4-mp3.avi": dict(codec="mpeg4", pix_fmt="yuv420p", audio_codec="libmp3lame"),
    "mjpeg-pcm.avi": dict(codec="mjpeg", pix_fmt="yuvj422p", audio_codec="pcm_s16le"),
    "ffv1-pcm.mkv": dict(codec="ffv1", pix_fmt="yuv420p", audio_codec="pcm_s16le", colour=BT709),
    "h264-ac3.mkv": dict(codec="libx264", pix_fmt="yuv420p", audio_codec="ac3"),
    "h264-flac.mkv": dict(codec="libx264", pix_fmt="yuv420p", audio_codec="flac"),
    "vp9-opus.webm": dict(codec="libvpx-vp9", pix_fmt="yuv420p", audio_codec="libopus"),
    "prores422-pcm.mov": dict(codec="prores_ks", pix_fmt="yuv422p10le", audio_codec="pcm_s16le", colour=BT709),
    "h264-aac-srt.mkv": dict(codec="libx264", pix_fmt="yuv420p", audio_codec="aac", subtitles=True),
    "h264-aac-cover.mp4": dict(codec="libx264", pix_fmt="yuv420p", options={"crf": "18"}, audio_codec="aac", cover=True),
    "h264-aac.ts": dict(codec="libx264", pix_fmt="yuv420p", audio_codec="aac"),  # a recorder's MPEG-TS: AAC as ADTS frames
    "mpeg2-mp2.ts": dict(codec="mpeg2video", pix_fmt="yuv420p", audio_codec="mp2"),  # as broadcast TV is recorded
    # a widescreen DVD or HDV tape as ripped: pixels wider than tall (4:3, so 128x96 is shown 16:9)
    "mpeg2-ac3-16x9.mkv": dict(codec="mpeg2video", pix_fmt="yuv420p", audio_codec="ac3", pixel_aspect=Fraction(4, 3)),
    # a recording of US broadcast TV: H.264, AC-3 and closed captions inside the video (nlvfi.captions)
    "h264-ac3-cc.ts": dict(codec="libx264", pix_fmt="yuv420p", audio_codec="ac3", captions=True),
}
SUBRIP = "1\n00:00:00,200 --> 00:00:00,600\nA line\n\n2\n00:00:00,700 --> 00:00:01,100\nAnother line\n"
OUTPUTS = [".mkv", ".mp4", ".mov", ".avi", ".nut", ".webm", ".ts", ".flv", ".wmv"]
COPIES = (10, 15)


def stuttering_frames(count: int = 24, height: int = 96, width: int = 128) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames: a pattern drifting right, a white bar sliding faster; COPIES repeat the frame before."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for k in range(count):
        frame = np.stack([(2 * x + 3 * k) % 256, (2 * y) % 256, ((x + y + 5 * k) // 2) % 256], axis=-1).astype(np.uint8)
        left = (4 * k) % (width - 20)
        frame[20:40, left : left + 20] = 255
        frames.append(frame)
    for k in COPIES:
        frames[k] = frames[k - 1].copy()
    return frames


def make_input(folder: Path, name: str) -> Path:
    """Write input ``name`` (``INPUTS``) into ``folder``: 25 frames/s and a 3 s, 48 kHz tone (and,
    where ``subtitles``, two SubRip lines remuxed in; where ``cover``, a 64x48 JPEG as its cover)."""
    import av
    from PIL import Image

    tone = ((np.sin(np.arange(48000 * 3) / 8) * 8000).astype(np.int16)[None], 48000)
    arguments = dict(INPUTS[name])
    if arguments.pop("captions", False):  # two characters of its own on each frame, as EIA-608 byte pairs
        video = write_video(folder / f"plain-{Path(name).stem}.mkv", stuttering_frames(), 25, audio=tone, **arguments)
        return with_captions(video, folder / name, lambda index: bytes([0xFC, 0x80 | ord("A") + index % 26, 0x80 | ord("a") + index % 26]))
    if arguments.pop("cover", False):
        video = write_video(folder / f"plain-{name}", stuttering_frames(), 25, audio=tone, **arguments)
        picture = io.BytesIO()
        Image.fromarray(stuttering_frames()[0][:48, :64]).save(picture, "JPEG")
        return with_picture(video, folder / name, picture.getvalue())
    if not arguments.pop("subtitles", False):
        return write_video(folder / name, stuttering_frames(), 25, audio=tone, **arguments)
    video = write_video(folder / f"plain-{name}", stuttering_frames(), 25, audio=tone, **arguments)
    (folder / "lines.srt").write_text(SUBRIP)
    with av.open(str(video)) as source, av.open(str(folder / "lines.srt")) as lines, av.open(str(folder / name), "w") as target:
        inputs = (source, lines)
        copies = [{s.index: target.add_stream_from_template(s) for s in each.streams} for each in inputs]  # all before muxing
        for each, copy in zip(inputs, copies):
            for packet in each.demux():
                if packet.size:
                    packet.stream = copy[packet.stream.index]
                    target.mux(packet)
    return folder / name


def cell(source: Path, output: Path, generator) -> dict:
    """Repair ``source`` into ``output``: what was written, or why not and when."""
    decoded = {"started": False}
    analyze = repair_module.analyze_video

    def first_pass(*args, **kwargs):  # a refusal before this ran cost the user nothing
        decoded["started"] = True
        return analyze(*args, **kwargs)

    repair_module.analyze_video = first_pass
    try:
        report = repair_module.repair_video(source, output, generator=generator, views=1, progress=False)
    except (VideoError, ValueError) as error:
        return {"written": False, "early": not decoded["started"], "reason": str(error)}
    finally:
        repair_module.analyze_video = analyze
    verification = report["verification"]
    return {
        "written": True,
        "codec": report["encoder"]["codec"],
        "lossless": report["encoder"]["lossless"],
        "replaced": report["frames_replaced"],
        "offset_ms": 1000 * verification["timestamp_offset_s"],
        "audio_error_ms": 1000 * verification["max_audio_timestamp_error_s"],
        "subtitles": verification["subtitle_streams_identical"],
        "subtitles_converted": report["subtitle_streams_converted"],
        "not_copied": report["streams_not_copied"],
        "colour_lost": "lost" in report["colour"],
        "pictures": report["pictures_copied"],
        "shape": report["pixel_aspect"],
        "captions": report["closed_captions"],
        "captions_verified": verification.get("closed_captions"),
    }


def describe(result: dict) -> str:
    if not result["written"]:
        reason = result["reason"].split(";")[0].split(" (")[0]
        return f"{'refused' if result['early'] else 'FAILED'}: {reason}"
    shift = f", {result['offset_ms']:+.0f} ms" if result["offset_ms"] else ""
    missed = f", replaced {result['replaced']} of {len(COPIES)}" if result["replaced"] != len(COPIES) else ""
    subtitles = ", subtitles kept" if result["subtitles"] else ""
    if result["subtitles_converted"]:
        subtitles += ", subtitles converted to " + "/".join(c.split(" -> ")[1] for c in result["subtitles_converted"])
    left = ", subtitles not kept (named)" if any(s.startswith("subtitle") for s in result["not_copied"]) else ""
    colour = ", colour tags not kept (named)" if result["colour_lost"] else ""
    cover = ", cover kept" if result["pictures"] else ""
    if any("attached picture" in s for s in result["not_copied"]):
        cover += ", cover not kept (named)"
    shape = result.get("shape")
    shape = "" if shape is None else ", shape kept" if shape["kept"] else ", shape not kept (named)"
    captions = result.get("captions")
    captions = "" if captions is None else ", captions kept" if captions["kept"] else ", captions not kept (named)"
    return f"{result['codec']}{' (lossless)' if result['lossless'] else ''}{shift}{missed}{subtitles}{left}{colour}{cover}{shape}{captions}"


def table(results: dict[tuple[str, str], dict], inputs: list[str], outputs: list[str]) -> str:
    lines = ["| input | " + " | ".join(outputs) + " |", "|---|" + "---|" * len(outputs)]
    for name in inputs:
        lines.append(f"| {name} | " + " | ".join(describe(results[name, ext]) for ext in outputs) + " |")
    written = sum(r["written"] for r in results.values())
    late = sum(not r["written"] and not r["early"] for r in results.values())
    lines += ["", f"{written} of {len(results)} written; {len(results) - written - late} refused before decoding; {late} failed after the work."]
    return "\n".join(lines)


def parse_list(text: str, known: list[str], what: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown or text!r}; choose from {', '.join(known)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=lambda t: parse_list(t, list(INPUTS), "input"), default=list(INPUTS))
    parser.add_argument("--outputs", type=lambda t: parse_list(t, OUTPUTS, "output"), default=OUTPUTS)
    parser.add_argument("--checkpoint", default=None, help="generator .safetensors (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args(argv)
    assert set(args.outputs) <= set(CONTAINERS)
    generator, _ = load_model(args.checkpoint, "cpu")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in tqdm(args.inputs, desc="inputs", unit="input"):
            source = make_input(folder, name)
            for ext in args.outputs:
                results[name, ext] = cell(source, folder / f"out-{Path(name).stem}{ext}", generator)
    text = table(results, args.inputs, args.outputs)
    print(text)
    if args.out:
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
