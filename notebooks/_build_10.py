"""Write notebook 10 (stripped: no outputs, python3 kernelspec) from the cells below.

    python3 notebooks/_build_10.py            # rewrites 10_video_repair.ipynb next to this script

Edit the cells here, not in the .ipynb file. Conventions (../shared/STYLE.md): title, "You will
learn", method section, run time; a ``parameters`` cell; imports from nlvfi; Idea / Build it /
See it / Summary / Exercises; cells with deterministic printed output start with
``# NBVAL_CHECK_OUTPUT``.
"""

from __future__ import annotations

from _build_06_09 import code, md, write  # one set of cell helpers for the notebook builders

NAME = "10_video_repair.ipynb"


def cells() -> list:
    return [
        md(
            """
            # 10 · Video repair

            You will learn: (1) how a duplicated frame shows in the adjacent differences of a clip, and why the
            threshold is a mean absolute difference *per pixel*; (2) why no fixed threshold works on every clip, and
            how the `auto` threshold reads the clip's own motion so that compression noise and slow scenes do not
            fool it; (3) how a run of k copies becomes k frames at t = i/(k+1), and what the tool keeps (frame count,
            every timestamp, audio, untouched frames bit for bit); (4) how good the repair is against the original
            frames, next to leaving the copy, averaging and classical optical flow.

            Method: METHOD.md §4 (¶0214–0239), and its last paragraph (several duplicates in a row, scene cuts, first
            and last frames, frame sizes, audio and timestamps).

            Runs in: < 1 min (ci and cpu profiles) on a 2-core CPU; measured 31 s in the ci profile with the shipped
            checkpoint (24 s before the fade section)
            """
        ),
        code(
            """
            PROFILE = "ci"  # "ci" (seconds, CPU) | "cpu" (minutes) | "cuda" (the real run)
            SEED = 0
            STUTTER_DIR = "../data/stutter"  # the bundled stuttering clip, its ground truth and the original frames
            CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # loaded when present, else an untrained tiny generator
            OUT_DIR = "../out/10_video_repair"  # the repaired video, its report and its figure
            """,
            parameters=True,
        ),
        code(
            """
            import json
            import tempfile
            from pathlib import Path

            import matplotlib.pyplot as plt
            import numpy as np
            import torch

            import nlvfi
            from nlvfi.baselines import dis_interpolate
            from nlvfi.duplicates import auto_thresholds, detect_duplicates, mad
            from nlvfi.metrics import psnr
            from nlvfi.repair import analyze_video, draw_repair_figure, figure_title, repair_video, run_times, summary_text
            from nlvfi.videoio import VideoReader, frame_to_rgb24, probe, read_video_rgb, rgb_to_tensor, write_video

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            if PROFILE == "ci":
                torch.set_num_threads(1)  # 384x288 frames: one thread is as fast, and CI's cores are shared
            CRFS = {"ci": [23], "cpu": [16, 23, 28], "cuda": [16, 23, 28]}[PROFILE]  # H.264 re-encodes to try
            if Path(CHECKPOINT).is_file():
                generator, weights = nlvfi.load_generator(CHECKPOINT, device=device).eval(), Path(CHECKPOINT).name
                print(f"profile {PROFILE}, device {device}, model: {weights}")
            else:
                generator, weights = nlvfi.build_generator("tiny").to(device).eval(), "UNTRAINED tiny generator"
                print(f"profile {PROFILE}, device {device}, model: {weights} (no shipped checkpoint yet):",
                      "its frames are about the average of the two around them")
            """
        ),
        md(
            r"""
            ## Idea

            A stuttering video shows some frames twice: the frame that should come next was dropped and the previous
            one repeated. §4 of the method repairs it in four steps:

            1. **Find the copies** (¶0230–0234). For adjacent frames $I_k, I_{k+1}$ (RGB, 0–255) take the mean absolute
               difference per pixel and channel,
               $$L(I_k, I_{k+1}) \;=\; \frac{1}{3HW}\sum_x \lVert I_k(x) - I_{k+1}(x)\rVert_1 ,$$
               and call frame $k+1$ a duplicate when $L \le T$. The publication sums over pixels, so its $T$ grows
               with the resolution; divided by $3HW$ it is in grey levels and means the same on every clip size.
            2. **Pick the pair around it** (¶0225–0229): the last good frame before the copies and the next distinct one.
            3. **Generate** the missing frames with the trained model (¶0218–0220). A run of $k$ copies sits at
               times $t_i = i/(k+1)$, $i = 1..k$, between those two frames — the generator takes any $t$.
            4. **Replace** the copies and re-encode at the original timing (¶0235–0236).

            What $T$? Exact copies give $L = 0$, but a re-encoded copy is not bit-identical: H.264 leaves
            0.02–0.25 grey levels of noise. Real motion can be as small: a still scene gives 0.2–0.5. A fixed $T$
            is right for some clips and wrong for others. `nlvfi` compares each difference with the **local motion
            level** around it (the 75th percentile of the 8 differences on each side, the smaller side):
            $$\text{pair } k \text{ is a duplicate} \iff L_k \le 0.3\,\text{level}_k \ \text{ or } \ L_k \le 0.02 .$$
            A copy is noise-sized where its neighbours move; a slow scene is slow on both sides.

            That is the rule on a list of differences alone. The tool also measures each pair's **peak
            difference** $P_k$, the 99th percentile over 16x16 blocks of the block's $L$: codec noise is spread over
            the whole frame, while slow real motion is concentrated where something moves, so a real pair's peak
            stands out even when its $L$ is as small as a noisy copy's. With peaks, pair $k$ is a duplicate when
            $L_k \le 0.02$, or when $P_k \le 0.6\,\text{level}^P_k$ and $L_k \le 0.6\,\text{level}^L_k$ (levels from the
            medians of each side) and $P_k$ is within the copies' own noise ($\le 3\times$ their median peak $+ 1$;
            in a losslessly coded file whose copies are bit-identical, $+ 0$: there is no noise to excuse a difference).
            A third number, the **changed share** $S_k$ (the percentage of pixels that change by 4 grey levels or
            more), must be within the copies' noise too ($\le 3\times$ their median share $+ 0.1$): re-encoding
            moves a copy's pixels by a level or two, while even an almost-still real frame moves a few pixels by
            more. Where the share says nothing changed, the pair is *quiet* ($S_k \le 0.07\,\text{level}^S_k$, a
            level of at least 0.1%), and its $L_k$ and $P_k$ may reach $0.8$ of their levels instead of $0.6$: x264
            can leave a copy of a near-still clip a peak above the strict ratio. Both noise tests let a pair through that is tiny beside the real motion around it
            ($\le 0.1\,\text{level}$): a copy in a busy, textured clip can be noisier than the other copies.
            This runs twice: the second time the levels are measured on the pairs the first did not take for copies,
            so that a side crowded with copies does not drag its level down to their noise. The first leaves out the
            evident copies (both numbers at most 0.15 of the 90th percentile of their neighbours'), which matters
            where copies outnumber the real frames, as in a 10 frames/s video stored at 30. `nlvfi.duplicates` says
            how these numbers were chosen and what they get on real clips; `benchmarks/detection_robustness.py`
            measures them over many injection patterns and encoder settings. Where no rule can tell (a clip so still
            and so compressed that the copies' noise is a quarter of its real motion or more), the report carries a
            `caution` and the CLI prints it.

            What is left alone, and reported: copies at the very start (nothing before them is known) or end
            (nothing after them), copies followed by a scene cut (interpolating across a cut blends two scenes),
            and runs longer than `max_run` (a freeze, not a stutter).
            """
        ),
        md(
            """
            ## Build it

            The bundled clip (`data/make_stutter_clip.py`): 40 frames of OpenCV's `vtest.avi` from its held-out
            part (never seen in training), 384x288, 10 frames/s, losslessly coded (FFV1), with copies injected in
            runs of 1, 2 and 3 and one at the very end. The JSON says which frames are copies.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            clip = Path(STUTTER_DIR) / "vtest_stutter.mkv"
            truth = json.loads((Path(STUTTER_DIR) / "vtest_stutter.json").read_text())
            originals = dict(zip(truth["duplicates"], read_video_rgb(Path(STUTTER_DIR) / "vtest_stutter_truth.mkv")[0]))
            info = probe(clip)
            print(info.describe())
            print("copies injected at frames", truth["duplicates"])
            frames, times = read_video_rgb(clip)  # a small clip, so all in memory here; the tool streams instead
            assert len(frames) == truth["frames"] == 40
            assert frames[0].shape == (288, 384, 3) and frames[0].dtype == np.uint8  # (H, W, 3)
            """
        ),
        md(
            """
            Step 1 by hand: the per-pixel MAD of every adjacent pair, then the same numbers from the tool's first
            pass (`analyze_video` decodes the file frame by frame and keeps only the previous one). Detection reads
            the frames through swscale's default conversion (`frame_to_rgb24`: its thresholds were chosen on it);
            the model gets the exact conversion (`read_video_rgb` above, `nlvfi.videoio.yuv_to_rgb`). swscale's is
            about a grey level darker, an offset that cancels in a difference.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            with VideoReader(clip) as reader:
                measured = [frame_to_rgb24(item.frame) for item in reader]  # (H, W, 3) uint8 each, as detection reads them
            diffs = np.array([mad(a, b) for a, b in zip(measured, measured[1:])])  # (39,) grey levels, pair k -> frame k+1
            analysis = analyze_video(clip)
            assert diffs.shape == (39,) and np.allclose(diffs, analysis.detection.diffs)
            real = np.delete(diffs, np.array(truth["duplicates"]) - 1)
            print(f"real pairs: MAD {real.min():.2f} .. {real.max():.2f} grey levels (median {np.median(real):.2f})")
            print("pairs with MAD 0 -> frames", [int(k) + 1 for k in np.flatnonzero(diffs == 0)])
            """
        ),
        md("The `auto` threshold of every pair, and what the detection makes of them:"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            thresholds = auto_thresholds(diffs)  # (39,) one per pair
            detection = analysis.detection
            assert thresholds.shape == diffs.shape and detection.duplicates == truth["duplicates"]
            print(f"per-pair thresholds {thresholds.min():.3f} .. {thresholds.max():.3f}; one T reproduces them: {detection.threshold:.3f}")
            print("run      status     t of each copy")
            for run in detection.runs:
                ts = run_times(analysis.times, run) if run.status == "repair" else []
                print(f"{run.first:>2}..{run.last:<3}  {run.status:9s}  {', '.join(f'{t:.3f}' for t in ts)}")
            """
        ),
        md(
            """
            Why not a fixed threshold? Three versions of the clip: as it is, re-encoded with H.264 (the copies
            become noisy), and a 96x96 region where almost nothing moves (real differences under 0.3). Precision /
            recall of the copies for `auto` and two fixed thresholds:
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            work = Path(tempfile.mkdtemp(prefix="nlvfi-10-"))
            still = [np.ascontiguousarray(f[192:288, 224:320]) for f in frames]  # (96, 96, 3): grass and pavement
            versions = {"as bundled (exact copies)": clip, "near-still region": write_video(work / "still.mkv", still, 10)}
            for crf in CRFS:
                versions[f"H.264 crf {crf}"] = write_video(
                    work / f"crf{crf}.mp4", frames, 10, codec="libx264", pix_fmt="yuv420p",
                    options={"crf": str(crf), "threads": "1"},  # x264's output changes with its thread count
                )
            copies = set(truth["duplicates"])
            print(f"{'version':28s} {'auto':>11s} {'T = 0.05':>11s} {'T = 0.5':>11s}")
            for name, path in versions.items():
                measured = analyze_video(path).detection  # MADs, peak differences, changed shares and spots of every pair
                cells = []
                for threshold in ("auto", 0.05, 0.5):
                    found = set(detect_duplicates(
                        measured.diffs, threshold, peaks=measured.peaks, shares=measured.shares, spots=measured.spots
                    ).duplicates)
                    hit = len(found & copies)
                    cells.append(f"{hit / max(1, len(found)):.2f}/{hit / len(copies):.2f}")
                print(f"{name:28s} " + " ".join(f"{c:>11s}" for c in cells))
            """
        ),
        md(
            """
            `T = 0.05` misses the noisy copies of the re-encode; `T = 0.5` takes real frames of the still region for
            copies. `auto` gets all three. (Exercise 1 finds where it, too, must fail.)

            Steps 2–4: the repair. `repair_video` measures, then decodes again, keeps the frame before each run and
            the next distinct one, asks the generator for the k frames of a run in one batch, writes every frame to a
            temporary file in `OUT_DIR`, decodes the result to check it, and only then renames it. Each repaired frame
            is the mean of the generator on four mirrored copies of its pair, each mirrored back (`views=4`, the
            command's `--ensemble`; `nlvfi.self_ensemble`): a trained network is only nearly mirror-symmetric, and its
            errors in the four views partly cancel. Only the copies go through the model, so the 4x costs little.
            Three more tool defaults. Each run's flow starts from the motion of the real frames just outside it
            (the flow prior, `nlvfi.flow_prior`). On frames up to 768x576 the flow of a run with such a start is
            estimated on the frames enlarged 2x (`--flow-scale auto`): small frames hold small things, which the tiny
            estimator resolves better enlarged; from zero flow the doubled motion would be missed, so a run without a
            start stays 1x. And pixels that move less than half a pixel take the plain t-weighted blend of the two
            frames (`--static-motion 0.5`, `nlvfi.static_blend`): where nothing moves, nothing needs aligning. There
            each frame of the pair first takes a fifth of the real frame just beyond it, where the two show the same
            picture (`--no-outside-average` turns it off): the same scene seen through other noise, so the noise of
            the blend partly cancels.
            """
        ),
        code(
            """
            out = Path(OUT_DIR)
            report = repair_video(
                clip, out / "repaired.mkv", generator=generator, report_path=out / "report.json", progress=False
            )
            print(summary_text(report))
            assert report["frames_replaced"] == 10 and len(report["runs_left"]) == 1  # the copy at the end stays
            assert report["verification"]["untouched_frames_bit_identical"] == 30  # lossless in, lossless out
            repaired, repaired_times = read_video_rgb(out / "repaired.mkv")
            assert len(repaired) == 40 and repaired_times == times  # frame count and every timestamp
            """
        ),
        md(
            """
            ## See it

            Top: the adjacent differences (log scale; a pair at 0 is drawn at 0.001), the per-pair threshold, and the
            copies found. Bottom: one repaired frame in a crop around the largest motion, between the frame before
            the run and the next distinct one, with the original frame that was dropped.
            """
        ),
        code(
            """
            # Figure: detection and one repaired frame next to the original
            example = report["_example"]
            extra = {f"frame {example['frame']} original (dropped)": originals[example["frame"]]}
            figure = draw_repair_figure(detection, example, figure_title(report), extra=extra)
            figure.savefig(out / "repair.png", dpi=80)
            plt.show()
            """
        ),
        md(
            """
            How close are the repaired frames to the frames that were dropped? PSNR against the originals, at the
            same positions and times t, for leaving the copy in, the t-weighted average of the two frames around the
            run, classical DIS optical flow (`nlvfi.baselines`) and the generator. With untrained weights the
            generator is about the average; the shipped checkpoint beats the copy and the average by far, and DIS
            flow too (31.95 against 31.63 dB as written; 31.46 with the flow at 1x, `flow_scale=1`). README, Results,
            has the same comparison on the held-out clips of `benchmarks/repair_quality.py`.
            """
        ),
        code(
            """
            # Figure: PSNR of every repaired frame, four ways
            methods = {"copy left in": [], "average": [], "DIS flow": [], "nlvfi": []}
            for item in report["replaced"]:
                k, t, (a, b) = item["frame"], item["t"], item["between"]
                target = rgb_to_tensor(originals[k])  # (1, 3, H, W)
                before, after = rgb_to_tensor(frames[a]), rgb_to_tensor(frames[b])
                methods["copy left in"].append(psnr(rgb_to_tensor(frames[k]), target))
                methods["average"].append(psnr((1 - t) * before + t * after, target))
                methods["DIS flow"].append(psnr(dis_interpolate(before, after, t), target))
                methods["nlvfi"].append(psnr(rgb_to_tensor(repaired[k]), target))
            positions = np.arange(len(report["replaced"]))
            fig, ax = plt.subplots(figsize=(11, 3.5))
            for offset, (name, values) in enumerate(methods.items()):
                ax.bar(positions + 0.2 * (offset - 1.5), values, width=0.2, label=f"{name} (mean {np.mean(values):.2f} dB)")
            ax.set_xticks(positions, [f"{item['frame']}\\nt={item['t']:.2f}" for item in report["replaced"]])
            ax.set_xlabel("repaired frame")
            ax.set_ylabel("PSNR vs original (dB)")
            ax.set_ylim(min(min(v) for v in methods.values()) - 2, max(max(v) for v in methods.values()) + 1)
            ax.legend(fontsize=8, loc="lower right")
            ax.set_title(f"repair quality on the bundled clip · model: {weights}", fontsize=10)
            plt.show()
            """
        ),
        md(
            """
            ### Fades

            METHOD.md §4 also names fades. In a fade to black every pixel of the pair changes by a gain on top of
            the motion; the generator never saw that in training, and its flow, which matches features that assume
            the brightness stays, suffers. `nlvfi.fade` fits that change per channel (`next ≈ gain · prev +
            offset`, robustly, so the moving people do not pull it), brings both frames to the brightness of time t,
            and lets the generator interpolate between two frames that agree; it does the same to the real frames
            just outside the run. Where the change is not clearly a global one, nothing is touched (no pair of the
            bundled clip, and no run of the repair benchmark's clips, is taken for a fade). Below: the clip's real
            frames fading to black from frame 8, with copies inside the fade, repaired with and without
            (`fade=False`, the CLI's `--no-fade`); one view each, to keep it quick.
            """
        ),
        code(
            """
            real = [originals.get(k, frame) for k, frame in enumerate(frames)]  # the 40 real frames
            weights = [min(1.0, max(0.0, (k - 7) / 25)) for k in range(40)]  # 0 until frame 7, black from frame 32
            fading = [np.clip(np.rint(f * (1 - w)), 0, 255).astype(np.uint8) for f, w in zip(real, weights)]
            copies = {12: 11, 13: 11, 19: 18, 24: 23, 25: 23, 26: 23}  # copy -> the frame it repeats
            faded_clip = write_video(work / "fade.mkv", [fading[copies.get(k, k)] for k in range(40)], 10)
            fade_scores = {"average": [], "DIS flow": [], "nlvfi, no fade": [], "nlvfi": []}
            for fade in (False, True):
                faded_report = repair_video(faded_clip, work / f"fade-{fade}.mkv", generator=generator, progress=False,
                                            resume=False, views=1, fade=fade)
                written = read_video_rgb(work / f"fade-{fade}.mkv")[0]
                for item in faded_report["replaced"]:
                    k, t, (a, b) = item["frame"], item["t"], item["between"]
                    if k not in copies:
                        continue  # the black frames held at the end are copies too, but not of this experiment
                    target = rgb_to_tensor(fading[k])
                    fade_scores["nlvfi" if fade else "nlvfi, no fade"].append(psnr(rgb_to_tensor(written[k]), target))
                    if fade:
                        before, after = rgb_to_tensor(fading[a]), rgb_to_tensor(fading[b])
                        fade_scores["average"].append(psnr((1 - t) * before + t * after, target))
                        fade_scores["DIS flow"].append(psnr(dis_interpolate(before, after, t), target))
            for run in faded_report["model"]["fades"]["runs"]:
                print(f"run {run['first']}-{run['last']}: gain {run['gain'][0]:.3f}, offset {run['offset'][0]:+.2f} levels")
            for name, values in fade_scores.items():
                print(f"{name:>15}: {np.mean(values):.2f} dB over the {len(values)} copies in the fade")
            """
        ),
        md(
            """
            The same from the command line (the main job in the README):

            ```bash
            nlvfi repair data/stutter/vtest_stutter.mkv -o out/vtest_repaired.mkv --report out/vtest_repair.json --figure out/vtest_repair.png
            ```

            On a long video the generator is the slow part (seconds per repaired frame on a CPU). Stop it with
            Ctrl-C and nothing is left at OUT, but the measurements and every run generated so far stay in
            `out/vtest_repaired.mkv.nlvfi-resume/`; the same command run again reads them back (the summary says how
            many) and generates only the rest. They are used only for the same input, checkpoint and settings.
            On a long video with few copies the encoder is the slow part instead (x264 encodes 1080p at about 7
            frames/s on 2 cores): the encoded frames are kept too, and the run that goes on muxes them rather than
            encoding them again (`nlvfi.kept_encoding`).
            """
        ),
        md(
            """
            ## Summary

            - A copy is a pair whose per-pixel MAD is noise-sized; in grey levels the threshold means the same at any
              resolution, but no fixed value fits both a noisy re-encode and a near-still scene — the `auto` rule
              compares each pair with the motion around it.
            - A run of k copies becomes k generated frames at t = i/(k+1) (from the timestamps) between the last good
              and the next distinct frame; runs at the start, the end, before a cut or longer than `max_run` stay.
            - Across a run the motion is k + 1 frame intervals long; the flow starts from the motion of the real
              frames just outside the pair, scaled up (`nlvfi.flow_prior`; `--no-flow-prior` turns it off), so fast
              small things are not lost; on frames up to 768x576 the flow is estimated at 2x (`--flow-scale`), and
              still pixels take the plain blend (`--static-motion`), with the real frames just outside averaged in.
            - In a fade, both frames of the pair are first brought to the brightness of time t (`nlvfi.fade`;
              `--no-fade` turns it off).
            - The tool streams, keeps the frame count, every timestamp and the audio, writes lossless output for
              lossless input (untouched frames bit-identical, checked), and never writes a half file; stopped
              (Ctrl-C), it keeps what it measured, generated and encoded in `OUT.nlvfi-resume/`, and the same
              command run again goes on from there (`nlvfi.resume`, `nlvfi.kept_encoding`).
            - What a player needs besides the frames comes through too, and the report says what the output
              container could not hold: the colour tags, with each generated frame converted by its neighbours'
              matrix (`nlvfi.colour`; 10-bit input goes to HEVC, with its HDR10 metadata), the file's and each
              stream's tags, dispositions and chapters (`nlvfi.tags`), subtitles (text ones converted where the
              container takes another codec, `nlvfi.subtitles`) and cover art (`nlvfi.pictures`). Interlaced video
              is refused, with the command that deinterlaces it, unless `--deinterlace` asks for it to be
              deinterlaced as it is read (`nlvfi.deinterlace`).
            """
        ),
        md(
            """
            ## Exercises

            1. Re-encode the near-still region with H.264 at crf 16, 23 and 28 and run the detection table again,
               printing the largest MAD of a copy and the smallest of a real pair. Where does `auto` break, and why
               can no threshold on the MAD fix it there?
            2. Run `nlvfi repair` on the bundled clip with `--threshold 0.5`, then with `--max-run 1`. What changes in
               the report (`runs`, `runs_left`, `frames_replaced`)?
            3. Build a clip with a scene cut: the first 20 frames of the bundled clip followed by 20 frames of a
               different crop, with a copy just before the cut. Check that the copy is reported as `cut` and left.
            4. Repair into `.mp4` and `.mov` instead of `.mkv`. Which codec does the tool choose each time, and are the
               untouched frames still bit-identical?
            5. Give the clip a variable frame rate (`write_video(..., pts=...)` with one longer gap) and a copy in that
               gap. Which t does the tool use, and why is it not 1/2?

            Solutions: [`solutions/10_video_repair.md`](solutions/10_video_repair.md).
            """
        ),
    ]


def main() -> None:
    write(NAME, cells)


if __name__ == "__main__":
    main()
