"""The single source of notebooks 00-05: every cell is written here, as code, and reviewed as code.

    python notebooks/_build.py              # (re)write notebooks/00_*.ipynb ... 05_*.ipynb
    python notebooks/_build.py --out DIR    # write them into DIR instead (tests compare the two)

Every builder script ``notebooks/_build*.py`` follows the same contract (``--out DIR``, stripped
output, deterministic cell ids), so ``tests/test_notebooks.py`` can check that the committed
notebooks are exactly what their builder writes. The helpers below (``markdown``, ``code``,
``title``, ``parameters``, ``write_notebooks``) may be imported by the other builders:
``sys.path.insert(0, str(Path(__file__).parent)); from _build import ...``.

Conventions (../shared/STYLE.md): a title cell with "You will learn", "Method:" and "Runs in:";
a ``parameters``-tagged cell (PROFILE, SEED, paths relative to notebooks/); imports from
nlvfi; ## Idea, ## Build it, ## See it, ## Summary, ## Exercises (solutions in
notebooks/solutions/). Cells whose printed output is deterministic start with
``# NBVAL_CHECK_OUTPUT`` and are compared by nbval in CI.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PROFILE_LINE = 'PROFILE = "ci"  # "ci" (seconds, CPU) | "cpu" (minutes) | "cuda" (the real run)'


# ----------------------------------------------------------------------------------------------
# Helpers (shared with the other builder scripts)
# ----------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def markdown(text: str):
    return new_markdown_cell(_clean(text))


def code(text: str, tags: tuple[str, ...] = ()):
    cell = new_code_cell(_clean(text))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def title(number: str, name: str, learn: list[str], method: str, runs_in: str):
    """The first cell: '# NN · Title', You will learn (1)..(3), Method:, Runs in:."""
    points = " ".join(f"({i}) {point}" for i, point in enumerate(learn, start=1))
    return new_markdown_cell(
        f"# {number} · {name}\n\n"
        f"**You will learn:** {points}\n\n"
        f"**Method:** {method}\n\n"
        f"**Runs in:** {runs_in} on a 2-core CPU."
    )


def parameters(*lines: str):
    """The papermill parameters cell: PROFILE, SEED, then paths relative to notebooks/.

    Every path a notebook reads must be a parameter here (a string starting with "../"):
    scripts/run_notebooks.py passes them as absolute paths, so the executed copies in
    build/notebooks/ still find the data.
    """
    body = "\n".join((PROFILE_LINE, "SEED = 0", *lines))
    return code(body, tags=("parameters",))


def solutions_link(stem: str):
    return f"Solutions: [`solutions/{stem}.md`](solutions/{stem}.md)."


def build_notebook(stem: str, cells: list) -> nbformat.NotebookNode:
    """A stripped notebook: no outputs, no execution counts, python3 kernel, stable cell ids."""
    notebook = new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for index, cell in enumerate(notebook.cells):
        cell.id = f"{stem[:2]}-{index:02d}"  # stable ids: rebuilding gives identical files
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(notebook)
    return notebook


def write_notebooks(notebooks: dict[str, Callable[[], list]], argv: list[str] | None = None) -> None:
    """Command line of every builder: write each ``stem -> cells()`` to notebooks/ or --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write the notebooks into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, cells in notebooks.items():
        path = args.out / f"{stem}.ipynb"
        nbformat.write(build_notebook(stem, cells()), path)
        print(f"wrote {path}")


SETUP = """
%matplotlib inline
import matplotlib.pyplot as plt
THIRD_PARTY
import nlvfi
IMPORTS

assert PROFILE in ("ci", "cpu", "cuda"), f"PROFILE must be 'ci', 'cpu' or 'cuda', got {PROFILE!r}"
plt.rcParams.update({"figure.dpi": 72})  # modest dpi: executed notebooks stay small
torch.manual_seed(SEED)
device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
print(f"nlvfi {nlvfi.__version__}, torch {torch.__version__}, profile {PROFILE}, device {device}")
"""


#: the third-party names a notebook may use besides ``plt`` and ``torch``, and their imports
OPTIONAL_IMPORTS = {"np": "import numpy as np", "F": "import torch.nn.functional as F"}


def setup(imports: str, extra: str = "", uses: tuple[str, ...] = ("np", "F")):
    """Imports (from nlvfi only, never a redefinition), plotting defaults, seed and device.

    ``uses`` names the optional third-party imports (keys of ``OPTIONAL_IMPORTS``) the notebook
    needs, so its set-up cell imports nothing it leaves unused (``ruff`` F401, checked in
    tests/test_lint.py).
    """
    unknown = set(uses) - set(OPTIONAL_IMPORTS)
    if unknown:
        raise ValueError(f"unknown optional imports {sorted(unknown)}; known: {sorted(OPTIONAL_IMPORTS)}")
    third_party = ["import torch"] + [OPTIONAL_IMPORTS[name] for name in OPTIONAL_IMPORTS if name in uses]
    third_party.sort(key=lambda line: line.split()[1])  # isort order: numpy, torch, torch.nn...
    text = SETUP.strip("\n").replace("THIRD_PARTY", "\n".join(third_party) + "\n")
    text = text.replace("IMPORTS", _clean(imports))
    if extra:
        text += "\n" + _clean(extra)
    return code(text)


# Measured with scripts/run_notebooks.py on the 2-core development machine while other jobs ran
# (see notebooks/README.md for the numbers); rounded up.
RUNS_IN = {
    "00": "< 20 s (ci) / < 1 min (cpu)",
    "01": "< 20 s (ci) / < 1 min (cpu)",
    "02": "< 20 s (ci) / < 30 s (cpu)",
    "03": "< 20 s (ci) / < 30 s (cpu)",
    "04": "< 25 s (ci) / < 30 s (cpu)",
    "05": "< 20 s (ci) / < 30 s (cpu)",
}


# ----------------------------------------------------------------------------------------------
# 00 · the tour
# ----------------------------------------------------------------------------------------------


def nb00_tour() -> list:
    return [
        title(
            "00",
            "A tour of non-local frame interpolation",
            [
                "what goes into the generator (two frames and a time t) and what comes out (the frame at t);",
                "the stages in order (flow, depth, kernels, non-local features, depth-aware projection, "
                "adaptive warping, synthesis) and the shape of every intermediate;",
                "how to read the pictures of flows, depths, kernels and attention that the rest of the course uses.",
            ],
            "METHOD.md §2 (the generator, ¶0154, Fig. 6) and its parts §2.1–§2.5.",
            RUNS_IN["00"],
        ),
        parameters(
            'DATA_DIR = "../data/tour"  # the bundled real triplet: prev.png, middle.png, next.png',
            'CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # the shipped model, used when present',
        ),
        setup(
            """
            import time
            from pathlib import Path

            from IPython.display import display

            from nlvfi import baselines, visualize
            from nlvfi.io import read_frame
            from nlvfi.metrics import psnr
            from nlvfi.tour import draw_tour
            """,
            """
            # ci works on half-size frames (seconds); cpu and cuda on the full 768x576 frames
            SCALE = {"ci": 0.5, "cpu": 1.0, "cuda": 1.0}[PROFILE]
            """,
            uses=("F",),
        ),
        markdown(
            r"""
            ## Idea

            A frame interpolator makes the frame between two others. With the previous frame
            $I_{t-1}$, the next frame $I_{t+1}$ and a time $t \in (0, 1)$ between them (0.5 = the
            middle), the generator returns $\hat I_t = G(I_{t-1}, I_{t+1}, t)$.

            The generator of the method (METHOD.md §2, Fig. 6) has two kinds of parts:

            ```
            prev ─┬─ optical flow, both ways  (§2.1) ──┐
            next ─┼─ depth of each frame      (§2.1) ──┴─ depth-aware projection to time t (§2.3) ─┐
                  ├─ a 4x4 kernel per pixel   (§2.1) ──────────────────────────────────────────────┼─ adaptive warping (§2.4)
                  └─ non-local branch: self-attention over the whole pair (§2.2) ── warped ────────┘        │
                                                                                      concatenate ─ synthesis (§2.5) ─ frame at t
            ```

            The *local* parts (flow, depth, kernels) look at small neighbourhoods; the *non-local*
            branch lets every position look at every other one, which is what helps with large
            motion (§1, ¶0116, ¶0124). The output is a residual on top of a blend of the two warped
            frames (§2.5, ¶0186–0187):

            $$\hat I_t = (1 - t)\,W_{t-1} + t\,W_{t+1} + S(\text{synthesis features}).$$

            This notebook runs all of it once, on a real frame pair, and shows every intermediate.
            Notebooks 01–05 then open each box.
            """
        ),
        markdown(
            """
            ## Build it

            The bundled triplet is frames 118, 120 and 122 of OpenCV's `vtest.avi` (pedestrians,
            static camera): the model sees frames 118 and 122 and must make 120. Frames are
            `(B, 3, H, W)` float tensors in [0, 1].
            """
        ),
        code(
            """
            prev, middle, nxt = (read_frame(Path(DATA_DIR) / f"{name}.png") for name in ("prev", "middle", "next"))
            if SCALE != 1.0:
                prev, middle, nxt = (F.interpolate(x, scale_factor=SCALE, mode="area") for x in (prev, middle, nxt))
            prev, middle, nxt = (x.to(device) for x in (prev, middle, nxt))  # (1, 3, H, W) each
            B, C, H, W = prev.shape
            assert (B, C) == (1, 3) and prev.shape == middle.shape == nxt.shape, "three RGB frames of one size"
            assert 0.0 <= float(prev.min()) and float(prev.max()) <= 1.0, "frames are floats in [0, 1]"
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            print(f"prev, middle, next: {tuple(prev.shape)}  (batch, RGB, height, width)")
            """
        ),
        markdown(
            """
            The model: the shipped checkpoint when it is there, otherwise a freshly initialised
            `tiny` generator. An untrained generator still runs every stage, so every shape and
            picture below is right; only the *values* are not yet useful.
            """
        ),
        code(
            """
            if Path(CHECKPOINT).is_file():
                G = nlvfi.load_generator(CHECKPOINT, device=device)
                weights = f"trained checkpoint {Path(CHECKPOINT).name}"
            else:
                G = nlvfi.build_generator("tiny").to(device)
                weights = f"untrained (random initialisation, seed {SEED})"
                print(f"No checkpoint at {CHECKPOINT}: this run uses an UNTRAINED tiny generator.")
                print("Every shape and picture is right, but the result is roughly the average of the two frames.")
            G.eval()
            print(f"model {G.config.name!r}, {weights}, {sum(p.numel() for p in G.parameters()):,} parameters")
            """
        ),
        markdown("Where the parameters sit, for the three preset sizes (`nlvfi params` prints the same):"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            print(nlvfi.format_parameter_table({size: nlvfi.build_generator(size) for size in nlvfi.PRESETS}))
            """
        ),
        markdown(
            """
            One forward pass with `return_intermediates=True` keeps everything the generator
            computed in a `GeneratorOutput` (see `nlvfi/generator.py`).
            """
        ),
        code(
            """
            start = time.perf_counter()
            with torch.inference_mode():
                out = G(prev, nxt, t=0.5, return_intermediates=True)
            seconds = time.perf_counter() - start
            print(f"forward pass on {W}x{H}: {seconds:.2f} s on {device}")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            stride = G.config.stride  # inputs are padded to a multiple of this and cropped back
            Hp, Wp = visualize.padded_size(H, W, stride)
            grid = 2**G.config.nonlocal_down_groups  # the attention runs at 1/16 of the (padded) size
            N = (Hp // grid) * (Wp // grid)  # attention positions

            intermediates = {
                "frame            Î_t": out.frame,
                "flows[0]         F prev->next": out.flows[0],
                "flows[1]         F next->prev": out.flows[1],
                "depths[0]        depth of prev": out.depths[0],
                "kernels[0]       4x4 kernel of prev": out.kernels[0],
                "nonlocal_features": out.nonlocal_features,
                "attention        weights": out.attention,
                "projected_flows[0] F t->prev": out.projected_flows[0],
                "warped_frames[0] prev at t": out.warped_frames[0],
                "blend            (1-t)W0 + tW1": out.blend,
            }
            for name, tensor in intermediates.items():
                print(f"{name:<34} {tuple(tensor.shape)}")
            print(f"attention grid: {Hp // grid} x {Wp // grid} = {N} positions (padded input {Hp}x{Wp})")
            """
        ),
        markdown("The shape contract, checked so that a change to the package fails here loudly:"),
        code(
            """
            assert out.frame.shape == prev.shape
            for pair, channels in ((out.flows, 2), (out.projected_flows, 2), (out.depths, 1), (out.kernels, 16), (out.warped_frames, 3)):
                for x in pair:
                    assert x.shape == (B, channels, H, W), (channels, tuple(x.shape))
            assert out.nonlocal_features.shape == (B, G.config.nonlocal_channels, H, W)
            assert out.attention.shape == (B, N, N)
            assert torch.allclose(out.attention.sum(-1), torch.ones(B, N, device=device), atol=1e-4), "softmax rows sum to 1"
            assert (out.depths[0] > 0).all() and (out.depths[1] > 0).all(), "depth is strictly positive"
            assert 0.0 <= float(out.frame.min()) and float(out.frame.max()) <= 1.0, "eval mode clamps the frame to [0, 1]"
            print("all shape checks passed")
            """
        ),
        markdown(
            """
            How good is the frame? PSNR (dB, higher is better) against the true middle frame, next
            to two baselines that ignore motion: repeating the previous frame, and averaging the two
            frames. An untrained generator lands on the average: its flows are near zero, its kernels
            start as bilinear sampling and its synthesis head starts near zero.
            """
        ),
        code(
            """
            scores = {
                "nlvfi": psnr(out.frame, middle),
                "average_of_the_two_frames": psnr(baselines.average(prev, nxt), middle),
                "repeat_previous_frame": psnr(baselines.repeat_previous(prev, nxt), middle),
            }
            for name, value in scores.items():
                print(f"{name:<28} {value:6.2f} dB")
            print(f"mean |synthesis residual| over the blend: {(out.frame - out.blend).abs().mean():.4f}")
            """
        ),
        markdown(
            """
            ## See it

            Every intermediate in one figure (`nlvfi.tour.draw_tour`, the same figure `nlvfi tour`
            writes). How to read it:

            * **flows**: hue is the direction, saturation the speed, white is still (the colour
              wheel in the corner is the legend: a pixel's colour is the flow pointing from the
              wheel's centre to it);
            * **depth**: larger is farther (only the order matters to the projection);
            * **kernels**: how far each pixel's 4x4 kernel is from plain bilinear sampling;
            * **attention**: where the marked pixel (the one that changes most) attends, over the
              whole frame.
            """
        ),
        code(
            """
            # Figure: the tour, every intermediate of one forward pass on the real pair (nlvfi.tour.draw_tour)
            metrics = {
                "model": G.config.name,
                "weights": weights,
                "frame_size": [H, W],
                "device": device,
                "forward_seconds": seconds,
                "psnr_db": {name: round(value, 2) for name, value in scores.items()},
            }
            figure = draw_tour(prev.cpu(), nxt.cpu(), middle.cpu(), out, G.config, metrics)
            display(figure)
            plt.close(figure)
            """
        ),
        markdown(
            """
            ## Summary

            * The generator maps (prev, next, t) to the frame at t through flow, depth, kernels and a non-local branch, then projection, adaptive warping and synthesis.
            * Every intermediate has a fixed shape: flows `(B, 2, H, W)` as (dx, dy) pixels, depths `(B, 1, H, W)`, kernels `(B, 16, H, W)`, attention `(B, N, N)` with N the positions at 1/16 size.
            * The output is a residual over the blend of the two warped frames, so an untrained model already gives the average of the frames.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Run the generator at `t=0.25` and `t=0.75`. Which intermediates change with t and which do not? Why?
            2. Swap `prev` and `nxt`. What happens to `out.flows`, and to the frame at t = 0.5?
            3. Crop the frames to 250x333 and run again. What size is the output? Find where `nlvfi/generator.py` pads and crops, and compute the padded size with `visualize.padded_size`.
            4. With an untrained model the PSNR is that of the average. Which three initialisations in the package make this so? (Hint: `kernels.py`, `synthesis.py`, `flow.py`.)

            {solutions_link("00_tour")}
            """
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 01 · data
# ----------------------------------------------------------------------------------------------


def nb01_data() -> list:
    return [
        title(
            "01",
            "Triplets: synthetic flying layers and real video",
            [
                "what a training triplet is (prev, middle, next at time t) and the flow convention of nlvfi;",
                "how the flying-layers generator gives exact ground-truth flow and depth, and where warping "
                "cannot work (occlusions);",
                "what small and large motion look like, measured in motion buckets, and why large motion defeats "
                "methods that ignore it; real triplets from video.",
            ],
            "METHOD.md §1 (why large motion, ¶0003–0004) and §3 (training triplets, ¶0189–0197); the "
            "flying-layers generator is our addition (nlvfi/data/synthetic.py).",
            RUNS_IN["01"],
        ),
        parameters(
            'DATA_DIR = "../data/tour"  # the bundled real triplet',
            'CLIPS_DIR = "../data/opencv"  # optional real clips (`nlvfi data fetch`); skipped when absent',
        ),
        setup(
            """
            from pathlib import Path

            from nlvfi import baselines, visualize
            from nlvfi.data.synthetic import MOTION_BUCKETS, FlyingLayers, FlyingLayersScene, bucket_range
            from nlvfi.data.video import VideoTriplets, frame_difference
            from nlvfi.io import read_frame
            from nlvfi.metrics import psnr
            from nlvfi.warping import backward_warp, pixel_grid
            """,
            """
            SIZE = {"ci": 128, "cpu": 256, "cuda": 256}[PROFILE]  # synthetic frames are SIZE x SIZE
            SAMPLES_PER_BUCKET = {"ci": 8, "cpu": 64, "cuda": 64}[PROFILE]
            """,
            uses=("np",),
        ),
        markdown(
            r"""
            ## Idea

            Training needs **triplets**: two input frames and the true frame between them
            (METHOD.md §3). We write them (prev, middle, next) = $(I_{t-1}, I_t, I_{t+1})$, with the
            middle at time $t$ (0.5 for evenly spaced frames).

            **Flow convention** (everywhere in nlvfi): a flow is a `(2, H, W)` tensor, channel 0 =
            dx (to the right), channel 1 = dy (down), in pixels. The forward flow $F_{\text{prev}\to\text{next}}$
            says where each pixel of prev goes:

            $$I_\text{prev}(x) \approx I_\text{next}\big(x + F_{\text{prev}\to\text{next}}(x)\big)$$

            wherever the surface seen at $x$ is still visible in next. Where it is not (it moved
            behind something, or out of the frame) no warping can recover it: that is an
            **occlusion**, and it is where depth decides (notebook 05).

            **Motion size.** A scene's motion is the mean of $|F_{\text{prev}\to\text{next}}|$ over the
            whole frame, in pixels at 256x256 (scaled for other sizes). The buckets:
            small < 4 px, medium 4–16, large 16–48, extreme 48–96. The method exists because
            local methods fail on large motion (§1, ¶0003–0004).

            **Flying layers** (our addition, not the method's): a textured background and 2–5
            textured shapes, each with its own constant depth and affine motion. Because every
            motion is known in closed form, the flow and depth are *exact*, something real video
            never gives.
            """
        ),
        markdown("## Build it\n\n### One synthetic scene"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            scene = FlyingLayersScene(seed=SEED, motion="large", size=SIZE)
            print(scene)
            prev_r, middle_r, next_r = (scene.render(s) for s in (0.0, 0.5, 1.0))  # dicts: frame, depth, labels
            flow_fw, flow_bw = scene.flow_forward, scene.flow_backward  # (2, H, W) each
            for name, tensor in [("frame", prev_r["frame"]), ("depth", prev_r["depth"]), ("labels", prev_r["labels"]),
                                 ("flow_forward", flow_fw), ("flow_backward", flow_bw)]:
                print(f"{name:<14} {tuple(tensor.shape)} {tensor.dtype}")
            assert prev_r["frame"].shape == (3, SIZE, SIZE) and flow_fw.shape == (2, SIZE, SIZE)
            assert (prev_r["depth"] > 0).all(), "depth is positive; larger is farther"
            """
        ),
        markdown(
            """
            Check the convention with the exact flow: sample next at $x + F(x)$ (backward warping)
            and compare with prev. A pixel is **visible in both** frames when the layer seen at $x$
            in prev is also the layer seen at $x + F(x)$ in next.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            warped_next = backward_warp(next_r["frame"][None], flow_fw[None])[0]  # (3, H, W): next brought back to prev
            error = (warped_next - prev_r["frame"]).abs().mean(0)  # (H, W)

            xs, ys = pixel_grid(flow_fw[None])  # (1, H, W) integer coordinates
            land_x = (xs[0] + flow_fw[0]).round().long()  # (H, W) where each pixel of prev lands in next
            land_y = (ys[0] + flow_fw[1]).round().long()
            inside = (land_x >= 0) & (land_x < SIZE) & (land_y >= 0) & (land_y < SIZE)
            visible = torch.zeros_like(inside)
            visible[inside] = next_r["labels"][land_y[inside], land_x[inside]] == prev_r["labels"][inside]
            assert visible.shape == (SIZE, SIZE) and visible.dtype == torch.bool

            print(f"visible in both frames:          {visible.float().mean():6.1%} of pixels, mean |error| {error[visible].mean():.3f}")
            print(f"occluded or leaving the frame:   {(~visible).float().mean():6.1%} of pixels, mean |error| {error[~visible].mean():.3f}")
            """
        ),
        markdown(
            """
            Warping with the true flow is near perfect where the surface stays visible (the rest is
            bilinear resampling of the texture) and fails where it does not. No flow, however good,
            fixes those pixels; the other frame or the depth order must.

            ### Motion buckets

            The bucket ranges at this frame size, and the motion measured on a dataset that cycles
            through the four buckets (`motion="mixed"`); every sample is checked to lie in its bucket.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            data = FlyingLayers(4 * SAMPLES_PER_BUCKET, motion="mixed", size=SIZE, seed=SEED)
            samples = [data[i] for i in range(len(data))]
            print(f"{'bucket':<9} {'range at 256':>13} {'range at ' + str(SIZE):>13}   measured min / mean / max (px)   "
                  f"PSNR average   PSNR repeat")
            for bucket, (low, high) in MOTION_BUCKETS.items():
                chosen = [s for s in samples if s["bucket"] == bucket]
                motion = torch.stack([s["motion"] for s in chosen])
                low_here, high_here = bucket_range(bucket, (SIZE, SIZE))
                assert ((motion >= low_here) & (motion < high_here)).all(), f"a {bucket} sample left its bucket"
                average_db = np.mean([psnr(baselines.average(s["prev"], s["next"]), s["middle"]) for s in chosen])
                repeat_db = np.mean([psnr(s["prev"], s["middle"]) for s in chosen])
                print(f"{bucket:<9} {f'{low:g}-{high:g}':>13} {f'{low_here:g}-{high_here:g}':>13}   "
                      f"{motion.min():6.2f} / {motion.mean():6.2f} / {motion.max():6.2f}          "
                      f"{average_db:6.2f} dB    {repeat_db:6.2f} dB")
            """
        ),
        markdown(
            """
            The two right columns are the baselines that ignore motion: averaging the two frames and
            repeating the previous one. Both lose several dB from bucket to bucket: with large
            motion the average shows every moving object twice ("ghosting").

            ### Real triplets

            The bundled triplet: frames 118, 120, 122 of `vtest.avi`, no ground-truth flow. The mean
            absolute difference (MAD, 0–255 scale) between frames says how much changes; the training
            data rules (`nlvfi/data/video.py`) use it to skip static triplets, scene cuts and
            repeated frames.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            real = {name: read_frame(Path(DATA_DIR) / f"{name}.png") for name in ("prev", "middle", "next")}  # (1, 3, 576, 768)
            as_uint8 = {name: (frame[0].permute(1, 2, 0) * 255).round().byte().numpy() for name, frame in real.items()}  # (H, W, 3)
            assert as_uint8["prev"].shape == (576, 768, 3)
            print(f"tour triplet: {tuple(real['prev'].shape)}")
            print(f"MAD(prev, next) = {frame_difference(as_uint8['prev'], as_uint8['next']):.2f}, "
                  f"MAD(prev, middle) = {frame_difference(as_uint8['prev'], as_uint8['middle']):.2f}")
            print(f"PSNR vs middle: average {psnr(baselines.average(real['prev'], real['next']), real['middle']):.2f} dB, "
                  f"repeat previous {psnr(real['prev'], real['middle']):.2f} dB")
            """
        ),
        markdown(
            """
            Real clips, when they are on this machine (`nlvfi data fetch` copies OpenCV's example
            clips into `data/opencv/`; a fresh clone does not have them, and this notebook does not
            need them). Triplets are (k−d, k, k+d) with gap d = 1, 2, 4: the larger the gap, the
            larger the motion. The `ci` profile reads the two small clips only.
            """
        ),
        code(
            """
            clip_paths = sorted(Path(CLIPS_DIR).glob("*.avi")) if Path(CLIPS_DIR).is_dir() else []
            if PROFILE == "ci":
                clip_paths = [path for path in clip_paths if path.name in ("Megamind.avi", "tree.avi")]
            clips = None
            if not clip_paths:
                print(f"No clips in {CLIPS_DIR} (run `nlvfi data fetch` to get them): the bundled triplet above is the real data here.")
            else:
                clips = VideoTriplets(clip_paths, split="train", gaps=(1, 2, 4), max_side=320)
                counts = {}
                for index in range(len(clips)):
                    name, _, _, _, gap = clips.triplet(index)
                    counts[name, gap] = counts.get((name, gap), 0) + 1
                for path in clip_paths:
                    print(f"{path.name:<14} training triplets by gap: " + ", ".join(f"d={d}: {counts.get((path.name, d), 0)}" for d in (1, 2, 4)))
            """
        ),
        markdown(
            """
            ## See it

            One scene per motion bucket. Columns: prev, next, the average of the two (what a method
            that ignores motion produces; PSNR against the true middle), the true forward flow
            (colour wheel on the right: hue = direction, saturation = speed; each row has its own
            scale, given in its title) and the depth of prev (darker = nearer).
            """
        ),
        code(
            """
            # Figure: one flying-layers scene per motion bucket: prev, next, their average, true flow, depth
            examples = {bucket: next(s for s in samples if s["bucket"] == bucket) for bucket in MOTION_BUCKETS}
            fig, axes = plt.subplots(4, 5, figsize=(13, 10.6))
            for row, (bucket, s) in zip(axes, examples.items()):
                average = baselines.average(s["prev"], s["next"])
                max_flow = float(s["flow_forward"].norm(dim=0).quantile(0.99))  # this row's full-colour speed
                panels = [
                    (visualize.to_image(s["prev"]), f"{bucket}: prev (motion {float(s['motion']):.1f} px)"),
                    (visualize.to_image(s["next"]), "next"),
                    (visualize.to_image(average), f"average: {psnr(average, s['middle']):.1f} dB"),
                    (visualize.flow_to_rgb(s["flow_forward"], max_flow), f"true flow (full colour {max_flow:.1f} px)"),
                ]
                for ax, (image, label) in zip(row, panels):
                    ax.imshow(image)
                    ax.set_title(label, fontsize=10)
                    ax.axis("off")
                shown = row[4].imshow(s["depth_prev"][0], cmap="viridis")
                row[4].set_title("depth of prev", fontsize=10)
                row[4].axis("off")
                fig.colorbar(shown, ax=row[4], fraction=0.046)
            wheel = fig.add_axes([0.92, 0.45, 0.07, 0.07])
            wheel.imshow(visualize.flow_colour_wheel())
            wheel.set_title("flow colours", fontsize=9)
            wheel.axis("off")
            fig.suptitle(f"Flying layers at {SIZE}x{SIZE}: the four motion buckets", fontsize=13)
            plt.show()
            """
        ),
        markdown("The check above as a picture: where warping next with the exact flow fails, the surface was hidden."),
        code(
            """
            # Figure: warping next back with the exact flow fails exactly where the surface was hidden
            fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
            axes[0].imshow(visualize.to_image(prev_r["frame"]))
            axes[0].set_title("prev")
            axes[1].imshow(visualize.to_image(warped_next))
            axes[1].set_title("next warped back (true flow)")
            shown = axes[2].imshow(error, cmap="magma", vmin=0, vmax=0.5)
            axes[2].set_title("|warped - prev| (RGB mean)")
            fig.colorbar(shown, ax=axes[2], fraction=0.046)
            axes[3].imshow(~visible, cmap="gray")
            axes[3].set_title("occluded or leaving (white)")
            for ax in axes:
                ax.axis("off")
            plt.show()
            """
        ),
        markdown("Real triplets: the bundled one, and one per gap from a clip when clips are present."),
        code(
            """
            # Figure: real triplets (the bundled one; one per gap from a clip when clips are present)
            rows = [("tour (vtest 118/120/122)", real["prev"][0], real["middle"][0], real["next"][0])]
            if clips is not None:
                for gap in (1, 2, 4):
                    indices = [i for i in range(len(clips)) if clips.triplet(i)[4] == gap]
                    if indices:
                        item = clips[indices[len(indices) // 2]]
                        name, first, middle_index, last, _ = clips.triplet(indices[len(indices) // 2])
                        rows.append((f"{name} {first}/{middle_index}/{last} (d={gap})", item["prev"], item["middle"], item["next"]))
            fig, axes = plt.subplots(len(rows), 4, figsize=(13, 2.6 * len(rows)), squeeze=False)
            for row, (label, p, m, n) in zip(axes, rows):
                for ax, image, name in zip(row, (p, m, n), ("prev", "middle", "next")):
                    ax.imshow(visualize.to_image(image))
                    ax.set_title(f"{label}: {name}" if name == "prev" else name, fontsize=9)
                    ax.axis("off")
                shown = row[3].imshow((n - p).abs().mean(0), cmap="magma", vmin=0, vmax=0.3)
                row[3].set_title("|next - prev|", fontsize=9)
                row[3].axis("off")
                fig.colorbar(shown, ax=row[3], fraction=0.046)
            plt.show()
            """
        ),
        markdown(
            """
            ## Summary

            * A triplet is (prev, middle, next) with the middle at time t; flows are `(2, H, W)` (dx, dy) in pixels and $I_\\text{prev}(x) \\approx I_\\text{next}(x + F(x))$ where the surface stays visible.
            * Flying layers give unlimited triplets with exact flow and depth, in motion buckets by mean flow magnitude; real clips give real content without ground truth.
            * The larger the motion, the worse any method that ignores it (the average ghosts), and occluded pixels cannot be recovered by warping alone.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Make a `FlyingLayersScene` with `num_layers=0` (background only). What fraction of pixels is occluded or leaving now, and why is it not zero?
            2. Render the same seed at `size=128` and `size=256` with `motion="medium"`. Do the measured motions differ by a factor of 2? Why would they (read `bucket_range`)?
            3. The backward flow is defined on the pixels of *next*. Check $I_\\text{{next}}(x) \\approx I_\\text{{prev}}(x + F_{{\\text{{next}}\\to\\text{{prev}}}}(x))$ on the scene above and compare the visible fractions of both directions.
            4. For the tour triplet, compute the MAD between prev and next for a clip's frames k and k+d with d = 1, 2, 4 (or, without clips, explain from the table why gap 4 would be harder than gap 1).

            {solutions_link("01_data")}
            """
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 02 · optical flow
# ----------------------------------------------------------------------------------------------


def nb02_optical_flow() -> list:
    return [
        title(
            "02",
            "Optical flow: pyramid, warping, cost volume",
            [
                "backward warping, the operation every part of the method is built on;",
                "the cost volume (correlation) and why a search window of ±d pixels needs a pyramid for large motion;",
                "PWC-Net's coarse-to-fine loop in `nlvfi.flow.BidirectionalFlow`, with its shapes, and how to "
                "compare an estimated flow with the truth (colour wheel, end-point error).",
            ],
            "METHOD.md §2.1 (optical flow, ¶0156–0158; public design PWC-Net).",
            RUNS_IN["02"],
        ),
        parameters('CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # the shipped model, used when present'),
        setup(
            """
            from pathlib import Path

            from nlvfi import visualize
            from nlvfi.config import ModelConfig
            from nlvfi.correlation import cost_volume
            from nlvfi.data.synthetic import TEXTURE_FILES, FlyingLayersScene, load_textures
            from nlvfi.flow import BidirectionalFlow
            from nlvfi.metrics import psnr
            from nlvfi.warping import backward_warp
            """,
            """
            SIZE = {"ci": 128, "cpu": 256, "cuda": 256}[PROFILE]  # synthetic frames are SIZE x SIZE
            LEVELS = {"ci": 3, "cpu": 4, "cuda": 4}[PROFILE]  # pyramid levels of the hand-made estimator below
            """,
            uses=("F",),
        ),
        markdown(
            r"""
            ## Idea

            **Optical flow** $F_{\text{prev}\to\text{next}}$ gives, for every pixel $x$ of prev, where it
            moved to in next. If brightness is constant along the motion,

            $$I_\text{prev}(x) \approx I_\text{next}\big(x + F(x)\big).$$

            **Backward warping** evaluates the right-hand side: it *samples* an image at
            $x + F(x)$ (bilinear interpolation between the four neighbouring pixels). It brings
            next back onto prev's grid, and it is how every later stage moves images, features
            and flows (`nlvfi.warping.backward_warp`).

            **Cost volume.** To find $F$, compare a pixel's features $f_1(x)$ with the features of
            the other image at every displacement $\delta = (\delta_x, \delta_y)$, $|\delta_x|, |\delta_y| \le d$:

            $$c_\delta(x) = \frac{1}{C} \sum_{c=1}^{C} f_{1,c}(x)\, f_{2,c}(x + \delta)$$

            giving $(2d+1)^2$ channels; channel $k = (\delta_y + d)(2d+1) + (\delta_x + d)$
            (`nlvfi.correlation.cost_volume`). A high cost means "these look alike".

            **Pyramid.** The window only sees $\pm d$ pixels. Halving the image $l$ times divides a
            displacement by $2^l$, so PWC-Net (METHOD.md ¶0158) works coarse to fine: at each level,
            upsample the flow found so far (x2), warp the second image's features with it, build a
            cost volume of what is left and let a decoder predict a *residual* flow:

            $$F_l = 2\,\mathrm{up}(F_{l+1}) + \mathrm{decoder}\Big(c\big(f_1^l,\ \mathrm{warp}(f_2^l, 2\,\mathrm{up}(F_{l+1}))\big),\ f_1^l,\ 2\,\mathrm{up}(F_{l+1})\Big).$$
            """
        ),
        markdown("## Build it\n\n### Backward warping with the true flow"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            scene = FlyingLayersScene(seed=SEED, motion="medium", size=SIZE)
            prev = scene.render(0.0)["frame"][None]  # (1, 3, H, W)
            nxt = scene.render(1.0)["frame"][None]  # (1, 3, H, W)
            true_flow = scene.flow_forward[None]  # (1, 2, H, W): prev -> next, (dx, dy) px
            assert prev.shape == (1, 3, SIZE, SIZE) and true_flow.shape == (1, 2, SIZE, SIZE)
            print(scene)
            print(f"PSNR(next, prev)                    = {psnr(nxt, prev):.2f} dB")
            print(f"PSNR(next warped by true flow, prev) = {psnr(backward_warp(nxt, true_flow), prev):.2f} dB")
            """
        ),
        markdown(
            """
            ### The cost volume on a pure translation

            Two crops of a photograph of gravel, the second moved by a known $(\\delta_x, \\delta_y)$.
            As features we use something hand-made: each pixel's 5x5 RGB patch, made zero-mean and
            unit-norm, so the cost is the normalised cross-correlation of two patches (the network
            learns its features instead).
            """
        ),
        code(
            """
            texture = load_textures()[TEXTURE_FILES.index("gravel.png")][0]  # (1, 3, 512, 512), bundled with scikit-image
            D = ModelConfig.tiny().flow_max_displacement  # the search radius d of the tiny model
            CROP = 128


            def shifted_pair(dx: int, dy: int, top: int = 192, left: int = 192):
                \"\"\"Two crops with image2(x + (dx, dy)) = image1(x): a pure translation.\"\"\"
                image1 = texture[..., top : top + CROP, left : left + CROP]
                image2 = texture[..., top - dy : top - dy + CROP, left - dx : left - dx + CROP]
                return image1, image2  # (1, 3, CROP, CROP) each


            def patch_features(image: torch.Tensor, side: int = 5) -> torch.Tensor:
                \"\"\"Hand-made features: each pixel's side x side RGB patch, zero-mean, unit-norm, (B, 3*side^2, H, W).\"\"\"
                batch, channels, height, width = image.shape
                patches = F.unfold(image, side, padding=side // 2).view(batch, channels * side * side, height, width)
                patches = patches - patches.mean(1, keepdim=True)
                return patches / patches.norm(dim=1, keepdim=True).clamp(min=1e-6)


            def best_displacement(cost: torch.Tensor, d: int) -> torch.Tensor:
                \"\"\"Winner-take-all: the (dx, dy) of the highest cost at each pixel, (B, 2, H, W).\"\"\"
                best = cost.argmax(1)  # (B, H, W); channel k = (dy + d) * (2d + 1) + (dx + d)
                return torch.stack((best % (2 * d + 1) - d, best // (2 * d + 1) - d), dim=1).float()
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            margin = 2 ** 2 * (D + 3)  # ignore a border where windows and patches leave the crop
            costs = {}
            print(f"search radius d = {D}: {(2 * D + 1) ** 2} cost channels")
            print("shift (dx, dy)   level   shift at that level   pixels whose best match is the true shift")
            for shift, level in (((2, -1), 0), ((8, -4), 0), ((8, -4), 1), ((8, -4), 2)):
                image1, image2 = (F.avg_pool2d(x, 2**level) if level else x for x in shifted_pair(*shift))
                cost = cost_volume(patch_features(image1), patch_features(image2), D)  # (1, (2D+1)^2, h, w)
                assert cost.shape == (1, (2 * D + 1) ** 2, CROP >> level, CROP >> level)
                costs[shift, level] = cost
                found = best_displacement(cost, D)[0]  # (2, h, w)
                target = torch.tensor(shift, dtype=torch.float32).view(2, 1, 1) / 2**level
                m = margin >> level
                correct = (found == target).all(0)[m:-m, m:-m].float().mean()
                print(f"{str(shift):<16} {level:>5}   {str(tuple(target.flatten().tolist())):<20}  {correct:6.1%}")
            """
        ),
        markdown(
            """
            A shift of 2 px is found almost everywhere; 8 px is outside the ±3 window at full and
            half size and is never found; at quarter size it is 2 px again and found. That is the
            whole reason for the pyramid.

            ### The network: `BidirectionalFlow`

            The tiny model's feature pyramid and its decoders, coarsest first, with the shapes on
            the way (both directions run as one batch of 2, from one pyramid of the two frames).
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            config = ModelConfig.tiny()
            flow_net = BidirectionalFlow(config).eval()
            with torch.no_grad():
                pyramid = flow_net.pyramid(prev)  # finest first
            for level, features in enumerate(pyramid, start=1):
                print(f"pyramid level {level} (1/{2**level}): {tuple(features.shape)}")

            calls = []
            hooks = [
                decoder.register_forward_hook(lambda module, inputs, output, level=level: calls.append((level, inputs[0].shape, output.shape)))
                for level, decoder in flow_net.decoders.items()
            ]
            with torch.no_grad():
                forward_flow, backward_flow = flow_net(prev, nxt)  # (1, 2, H, W) each
            for hook in hooks:
                hook.remove()
            for level, inputs, output in calls:
                print(f"decoder at level {level}: [cost {(2 * D + 1) ** 2} + features {inputs[1] - (2 * D + 1) ** 2 - 2} + flow 2] "
                      f"{tuple(inputs)} -> residual flow {tuple(output)}")
            print(f"then x{2**config.flow_output_level} bilinear upsampling: forward flow {tuple(forward_flow.shape)}, "
                  f"backward flow {tuple(backward_flow.shape)}")
            print(f"parameters: {sum(p.numel() for p in flow_net.parameters()):,}")
            assert forward_flow.shape == backward_flow.shape == (1, 2, SIZE, SIZE)
            assert [level for level, _, _ in calls] == [str(level) for level in range(len(pyramid), config.flow_output_level - 1, -1)]
            """
        ),
        markdown(
            """
            ### Estimated against true flow

            Two estimates of the scene's forward flow:

            * **hand-made**: PWC-Net's loop with the learned parts replaced, no training at all:
              patch features instead of the pyramid, and instead of the decoder the costs averaged
              over a 9x9 neighbourhood (neighbours usually move together) then winner-take-all;
            * **network**: the flow network of the shipped checkpoint when it is there, otherwise an
              untrained one (whose flow is near zero: its decoder heads start near zero).

            The score is the **end-point error**, EPE $= \\frac{1}{HW}\\sum_x \\|F_\\text{est}(x) - F_\\text{true}(x)\\|_2$, in pixels.
            """
        ),
        code(
            """
            def coarse_to_fine(image1: torch.Tensor, image2: torch.Tensor, levels: int, d: int) -> torch.Tensor:
                \"\"\"PWC-Net's loop with patch features and winner-take-all: flow image1 -> image2, (B, 2, H, W).\"\"\"
                flow = None
                for level in reversed(range(levels)):  # coarsest first
                    a, b = (F.avg_pool2d(x, 2**level) if level else x for x in (image1, image2))  # (B, 3, h, w)
                    if flow is None:
                        flow = torch.zeros(a.shape[0], 2, *a.shape[-2:])
                    else:  # upsample the flow so far; its values double with the resolution
                        flow = 2.0 * F.interpolate(flow, size=a.shape[-2:], mode="bilinear", align_corners=False)
                    warped = backward_warp(b, flow)  # image2 moved back by the flow found so far
                    cost = cost_volume(patch_features(a), patch_features(warped), d)  # (B, (2d+1)^2, h, w)
                    cost = F.avg_pool2d(cost, 9, stride=1, padding=4, count_include_pad=False)  # aggregate over 9x9
                    flow = flow + best_displacement(cost, d)  # the residual, at most d px per level
                return flow


            def end_point_error_map(flow: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
                # per-pixel EPE map; its mean is nlvfi.losses.end_point_error
                return (flow - truth).norm(dim=1)  # (B, H, W), px


            def describe(name: str, flow: torch.Tensor) -> str:
                error = end_point_error_map(flow, true_flow)
                return f"{name:<30} EPE {error.mean():5.2f} px, within 1 px of the truth at {(error < 1).float().mean():6.1%} of pixels"


            handmade = coarse_to_fine(prev, nxt, LEVELS, D)
            assert handmade.shape == true_flow.shape
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            print(f"hand-made search range: ±{D * (2**LEVELS - 1)} px ({LEVELS} levels of ±{D})")
            print(describe("zero flow", torch.zeros_like(true_flow)))
            print(describe("hand-made", handmade))
            """
        ),
        code(
            """
            if Path(CHECKPOINT).is_file():
                network = nlvfi.load_generator(CHECKPOINT).flow.eval()
                network_name = "network (shipped checkpoint)"
            else:
                network = flow_net
                network_name = "network (UNTRAINED)"
                print(f"No checkpoint at {CHECKPOINT}: the network's flow is that of an untrained model (near zero).")
            with torch.no_grad():
                estimated, _ = network(prev, nxt)  # (1, 2, H, W)
            print(describe(network_name, estimated))
            """
        ),
        markdown(
            """
            ## See it

            The cost at the centre pixel over the 7x7 search window (the cross marks the true
            shift when it is inside the window), then the flows of the scene in colour (one scale
            for all three, legend bottom left) and where the hand-made estimate goes wrong.
            """
        ),
        code(
            """
            # Figure: the cost over the 7x7 search window at one pixel, for a small and a large shift
            fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
            channels = 3 * 5 * 5  # cost_volume averages over channels: times C gives the correlation in [-1, 1]
            for ax, (shift, level) in zip(axes, (((2, -1), 0), ((8, -4), 0), ((8, -4), 2))):
                cost = costs[shift, level][0] * channels  # ((2D+1)^2, h, w)
                centre = cost.shape[-1] // 2
                window = cost[:, centre, centre].view(2 * D + 1, 2 * D + 1)  # rows dy, columns dx
                shown = ax.imshow(window, cmap="viridis", vmin=-1, vmax=1, extent=(-D - 0.5, D + 0.5, D + 0.5, -D - 0.5))
                target = (shift[0] / 2**level, shift[1] / 2**level)
                if max(abs(target[0]), abs(target[1])) <= D:
                    ax.plot(*target, "r+", markersize=16, markeredgewidth=2)
                ax.set_title(f"shift {shift} at 1/{2**level} size", fontsize=11)
                ax.set_xlabel("dx (px at this level)")
                ax.set_ylabel("dy (px)")
            fig.colorbar(shown, ax=axes, fraction=0.02, label="patch correlation")
            plt.show()
            """
        ),
        code(
            """
            # Figure: true and estimated forward flow of a synthetic scene, and the end-point error
            max_flow = float(true_flow.norm(dim=1).quantile(0.99))
            error = end_point_error_map(handmade, true_flow)[0]  # (H, W)
            panels = [
                (visualize.to_image(prev), "prev"),
                (visualize.to_image(nxt), "next"),
                (visualize.flow_to_rgb(true_flow, max_flow), "true flow prev→next"),
                (visualize.flow_to_rgb(handmade, max_flow), f"hand-made\\nEPE {error.mean():.2f} px"),
                (visualize.flow_to_rgb(estimated, max_flow), f"{network_name}\\nEPE {end_point_error_map(estimated, true_flow).mean():.2f} px"),
            ]
            fig, axes = plt.subplots(1, 6, figsize=(18, 3.6))
            for ax, (image, label) in zip(axes, panels):
                ax.imshow(image)
                ax.set_title(label, fontsize=10)
                ax.axis("off")
            shown = axes[5].imshow(error, cmap="magma", vmin=0, vmax=max(1.0, max_flow / 2))
            axes[5].set_title("hand-made:\\nend-point error (px)", fontsize=10)
            axes[5].axis("off")
            fig.colorbar(shown, ax=axes[5], fraction=0.046)
            wheel = axes[2].inset_axes([0.0, 0.0, 0.3, 0.3])
            wheel.imshow(visualize.flow_colour_wheel())
            wheel.axis("off")
            fig.suptitle(f"Forward flow of a medium-motion scene (full colour = {max_flow:.1f} px)", fontsize=12)
            plt.show()
            """
        ),
        markdown(
            """
            The hand-made estimate is right on textured surfaces and wrong in flat regions (every
            patch looks alike) and at occlusions (the patch has no match). Learning features and a
            decoder that looks at a neighbourhood of costs is what fixes both.

            ## Summary

            * Backward warping samples an image at $x + F(x)$; with the right flow it brings next onto prev wherever the surface stays visible.
            * The cost volume correlates features over a ±d window, $(2d+1)^2$ channels; anything beyond d is invisible to it, so PWC-Net estimates coarse to fine and refines a residual at each level.
            * Flows are compared by colour (hue = direction, saturation = speed) and by the end-point error in pixels.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Replace `patch_features` by the raw image (`side=1`, no normalisation) and redo the shift table. Why does the winner-take-all fail?
            2. Double the search radius to `d = 6`. How many channels does the cost volume have, how much slower is it, and which row of the shift table changes?
            3. Forward–backward consistency: compute $F_{{\\text{{prev}}\\to\\text{{next}}}}(x) + F_{{\\text{{next}}\\to\\text{{prev}}}}\\big(x + F_{{\\text{{prev}}\\to\\text{{next}}}}(x)\\big)$ with `backward_warp` on the true flows (`scene.flow_backward`). Where is it not zero?
            4. `BidirectionalFlow` stops at level 2 and upsamples x4. Count the decoder calls and cost-volume sizes if it ran down to level 1. Why is stopping early a good trade?

            {solutions_link("02_optical_flow")}
            """
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 03 · depth and kernels
# ----------------------------------------------------------------------------------------------


def nb03_depth_and_kernels() -> list:
    return [
        title(
            "03",
            "Depth and per-pixel kernels",
            [
                "how the hourglass network predicts a positive depth per frame, and why only the front/back "
                "order matters to the method;",
                "what the kernel U-Net outputs: one 4x4 kernel per pixel per frame, and how the adaptive warping "
                "layer uses it;",
                "what kernels do to an image (bilinear, blur, sharpen) and what a model's depths and kernels look like.",
            ],
            "METHOD.md §2.1 (depth ¶0161–0162, kernels ¶0165–0166) and §2.4 (the adaptive warping layer, ¶0176–0178).",
            RUNS_IN["03"],
        ),
        parameters(
            'DATA_DIR = "../data/tour"  # the bundled real triplet',
            'CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # the shipped model, used when present',
        ),
        setup(
            """
            from pathlib import Path

            from nlvfi import visualize
            from nlvfi.config import ModelConfig
            from nlvfi.data.synthetic import FlyingLayersScene
            from nlvfi.depth import Hourglass, HourglassDepth, inverse_depth
            from nlvfi.io import read_frame
            from nlvfi.kernels import KernelUNet
            from nlvfi.losses import scale_invariant_log_depth
            from nlvfi.warping import adaptive_warp, backward_warp, bilinear_kernel
            """,
            """
            SIZE = {"ci": 128, "cpu": 256, "cuda": 256}[PROFILE]  # synthetic frames are SIZE x SIZE
            """,
            uses=("np",),
        ),
        markdown(
            r"""
            ## Idea

            **Depth** (¶0161–0162). One map per input frame says which objects are in front. The
            public design (DAIN) uses an *hourglass*: a recursive block

            $$H_\ell(x) = \mathrm{skip}(x) + \mathrm{up}\Big(H_{\ell-1}\big(\mathrm{down}(\mathrm{pool}(x))\big)\Big)$$

            that sees the frame at every scale and adds the coarse answer back at full resolution.
            The head predicts a log-depth; depth $= e^{\text{log-depth}} > 0$. The projection
            (notebook 05) weighs each pixel by its inverse depth $w = 10^{-6} + 1/\text{depth}$, so
            nearer pixels win. Depth from one image is only known up to scale: what matters is the
            **order**.

            **Kernels** (¶0165–0166). A U-Net looks at the pair (6 channels) and predicts, for every
            pixel and each frame, 16 numbers: a 4x4 kernel. The **adaptive warping layer** (§2.4,
            ¶0176–0178) uses it. For output pixel $x$ with flow target $p = x + f(x)$, take the 4x4
            window of pixels around $\lfloor p \rfloor$ (offsets −1…2), split it into four 2x2
            quadrants TL, TR, BL, BR, each the kernel-weighted sum of its 4 pixels, and combine them
            with the bilinear weights of $p$'s fractional part $(a, b)$:

            $$\mathrm{out}(x) = (1-a)(1-b)\,\mathrm{TL} + a(1-b)\,\mathrm{TR} + (1-a)\,b\,\mathrm{BL} + a\,b\,\mathrm{BR}.$$

            With ones on the central 2x2 (the **bilinear kernel**) this is plain bilinear sampling;
            every other kernel reshapes the sampling per pixel: blur where the flow is uncertain,
            sharpen where it is not. Kernels are not normalised.
            """
        ),
        markdown("## Build it\n\n### The hourglass, level by level"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            config = ModelConfig.tiny()
            scene = FlyingLayersScene(seed=SEED, motion="large", size=SIZE)
            frame = scene.render(0.0)["frame"][None]  # (1, 3, H, W)
            true_depth = scene.render(0.0)["depth"][None]  # (1, 1, H, W)

            depth_net = HourglassDepth(config).eval()
            calls, hooks = [], []
            for name, module in depth_net.named_modules():
                if isinstance(module, Hourglass):
                    hooks.append(module.register_forward_hook(lambda m, inputs, output, name=name: calls.append((name, inputs[0].shape, output.shape))))
            with torch.no_grad():
                depth = depth_net(frame)  # (1, 1, H, W)
            for hook in hooks:
                hook.remove()
            print(f"frame {tuple(frame.shape)} -> stem at 1/{config.depth_input_scale} size")
            for name, inputs, output in sorted(calls, key=lambda call: len(call[0])):
                print(f"  {name:<32} {tuple(inputs)} -> {tuple(output)}")
            print(f"-> depth {tuple(depth.shape)}, parameters {sum(p.numel() for p in depth_net.parameters()):,}")
            assert depth.shape == (1, 1, SIZE, SIZE) and (depth > 0).all()
            assert (inverse_depth(depth) > 0).all()
            """
        ),
        markdown("### The kernel U-Net"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            kernel_net = KernelUNet(config).eval()
            pair = torch.cat((frame, scene.render(1.0)["frame"][None]), dim=1)  # (1, 6, H, W)
            with torch.no_grad():
                kernel_prev, kernel_next = kernel_net(pair)  # (1, 16, H, W) each
            print(f"pair {tuple(pair.shape)} -> kernels {tuple(kernel_prev.shape)} and {tuple(kernel_next.shape)}")
            print(f"encoder widths {config.kernel_unet_channels}, parameters {sum(p.numel() for p in kernel_net.parameters()):,}")
            print(f"untrained: mean |k - bilinear| = {visualize.kernel_summary(kernel_prev).mean():.3f} (the heads start at the bilinear kernel)")
            assert kernel_prev.shape == kernel_next.shape == (1, 16, SIZE, SIZE)
            """
        ),
        markdown(
            """
            The bilinear kernel really turns the adaptive warping layer into bilinear sampling
            (`backward_warp`), for any flow whose targets stay inside the image:
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            image = torch.rand(2, 3, 32, 40)
            flow = torch.empty(2, 2, 32, 40).uniform_(-3, 3)  # fractional displacements in both directions
            flow[..., :4, :] = flow[..., -4:, :] = 0  # keep every target inside the image
            flow[..., :, :4] = flow[..., :, -4:] = 0
            adaptive = adaptive_warp(image, flow, bilinear_kernel(2, 32, 40))
            difference = (adaptive - backward_warp(image, flow)).abs().max()
            print(f"max |adaptive_warp(bilinear kernel) - backward_warp| < 1e-5: {bool(difference < 1e-5)}")
            """
        ),
        markdown(
            """
            ### What kernels do

            Three hand-made kernels applied with the same flow, half a pixel right and down, so all
            four quadrants count equally ($a = b = 0.5$):

            * **bilinear**: ones on the central 2x2, the average of the 4 nearest pixels;
            * **box**: 1/4 everywhere, the average of all 16 (each quadrant sums to 1): a blur;
            * **sharpen**: 2 x bilinear − box, whose quadrants also sum to 1: an unsharp mask.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            crop = read_frame(Path(DATA_DIR) / "prev.png")[..., 24:88, 566:630]  # (1, 3, 64, 64): the signs by the door
            _, _, h, w = crop.shape
            half_pixel = torch.full((1, 2, h, w), 0.5)  # (1, 2, h, w): dx = dy = 0.5
            bilinear = bilinear_kernel(1, h, w)  # (1, 16, h, w)
            box = torch.full_like(bilinear, 0.25)
            kernels = {"bilinear": bilinear, "box (blur)": box, "sharpen": 2 * bilinear - box}
            results = {name: adaptive_warp(crop, half_pixel, kernel) for name, kernel in kernels.items()}
            for name, kernel in kernels.items():
                quadrants = kernel[0, :, 0, 0].view(2, 2, 2, 2).sum(dim=(1, 3))  # (2, 2): sum of each quadrant
                print(f"{name:<11} quadrant sums {quadrants.flatten().tolist()}, output mean {results[name].mean():.4f}")
            """
        ),
        markdown(
            """
            ### A model's depth and kernels

            The shipped checkpoint's depth and kernel networks when it is there, otherwise the
            untrained ones from above. On the synthetic scene we know the true depth, so we can
            measure the only thing the projection needs: for random pairs of pixels on different
            layers, how often does the predicted depth put them in the right order (50% = chance)?
            """
        ),
        code(
            """
            if Path(CHECKPOINT).is_file():
                G = nlvfi.load_generator(CHECKPOINT).eval()
                model_depth, model_kernels, model_name = G.depth, G.kernels, "shipped checkpoint"
            else:
                model_depth, model_kernels, model_name = depth_net, kernel_net, "UNTRAINED"
                print(f"No checkpoint at {CHECKPOINT}: the depth and kernels below come from untrained networks.")
            with torch.no_grad():
                predicted = model_depth(frame)  # (1, 1, H, W)
                predicted_kernels = model_kernels(pair)[0]  # (1, 16, H, W), the kernel for prev

            generator = torch.Generator().manual_seed(SEED)
            first, second = torch.randint(0, SIZE * SIZE, (2, 20000), generator=generator)
            truth, guess = true_depth.flatten(), predicted.flatten()
            different = truth[first] != truth[second]
            right_order = ((truth[first] < truth[second]) == (guess[first] < guess[second]))[different].float().mean()
            print(f"{model_name}: depth order right for {right_order:.1%} of pixel pairs on different layers")
            print(f"{model_name}: scale-invariant log-depth error {scale_invariant_log_depth(predicted, true_depth):.3f}")
            """
        ),
        markdown(
            """
            ## See it

            Top: the three kernels as 4x4 grids (the window's rows and columns at offsets −1…2 from
            ⌊p⌋). Bottom: what each one makes of a half-pixel shift of a crop of the tour frame.
            """
        ),
        code(
            """
            # Figure: three hand-made 4x4 kernels and what the adaptive warping layer makes with them
            fig, axes = plt.subplots(2, 4, figsize=(13, 6.6), layout="constrained")
            axes[1, 0].imshow(visualize.to_image(crop))
            axes[1, 0].set_title("input crop")
            axes[0, 0].axis("off")
            axes[0, 0].text(0.5, 0.5, "4x4 kernel\\n(rows: dy, columns: dx\\nat offsets -1, 0, 1, 2)", ha="center", va="center", fontsize=11)
            for column, (name, kernel) in enumerate(kernels.items(), start=1):
                shown = axes[0, column].imshow(kernel[0, :, 0, 0].view(4, 4), cmap="RdBu_r", vmin=-1.5, vmax=1.5)
                axes[0, column].set_xticks(range(4), [-1, 0, 1, 2])
                axes[0, column].set_yticks(range(4), [-1, 0, 1, 2])
                axes[0, column].set_title(f"{name} kernel")
                axes[1, column].imshow(visualize.to_image(results[name]))
                axes[1, column].set_title(f"{name} result")
            for ax in axes[1]:
                ax.axis("off")
            fig.colorbar(shown, ax=axes[0, 1:], fraction=0.02, label="kernel weight")
            fig.suptitle("Three kernels, each applied by adaptive_warp with the flow (0.5, 0.5)")
            plt.show()
            """
        ),
        markdown(
            """
            The model on the synthetic scene: true and predicted depth (each with its own colour
            scale: depth is only known up to scale), how far each pixel's kernel is from bilinear,
            and the 4x4 kernel at the pixel where it differs most.
            """
        ),
        code(
            """
            # Figure: a model's depth against the true depth, and its kernels
            summary = visualize.kernel_summary(predicted_kernels)  # (H, W)
            y, x = np.unravel_index(summary.argmax(), summary.shape)
            fig, axes = plt.subplots(1, 5, figsize=(18, 3.6), layout="constrained")
            axes[0].imshow(visualize.to_image(frame))
            axes[0].plot(x, y, "c+", markersize=14, markeredgewidth=2)
            axes[0].set_title("prev (+: the pixel on the right)")
            for ax, image, label in ((axes[1], true_depth, "true depth"), (axes[2], predicted, f"{model_name} depth")):
                shown = ax.imshow(image[0, 0], cmap="viridis")
                ax.set_title(label)
                fig.colorbar(shown, ax=ax, fraction=0.046)
            shown = axes[3].imshow(summary, cmap="magma")
            axes[3].set_title("|kernel - bilinear| of prev")
            fig.colorbar(shown, ax=axes[3], fraction=0.046)
            for ax in axes[:4]:
                ax.axis("off")
            shown = axes[4].imshow(predicted_kernels[0, :, y, x].view(4, 4), cmap="RdBu_r", vmin=-1.5, vmax=1.5)
            axes[4].set_xticks(range(4), [-1, 0, 1, 2])
            axes[4].set_yticks(range(4), [-1, 0, 1, 2])
            axes[4].set_title(f"kernel at ({x}, {y})")
            fig.colorbar(shown, ax=axes[4], fraction=0.046)
            plt.show()
            """
        ),
        markdown(
            """
            ## Summary

            * The hourglass predicts a log-depth at every scale and adds it back up; depth = exp(log-depth) > 0, and the projection uses the inverse depth, so only the front/back order matters.
            * The kernel U-Net gives one 4x4 kernel per pixel per frame; the adaptive warping layer weights a 4x4 window with it, quadrant by quadrant, combined with the bilinear weights of the flow target.
            * The bilinear kernel reproduces plain bilinear sampling (the untrained start); other kernels blur or sharpen per pixel.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Which of the hourglass's levels sees the largest part of the frame? Compute the receptive field of one output pixel by the gradient method of notebook 04.
            2. Make a kernel whose four quadrants sum to 2 and apply it. What happens to the brightness, and why does the method not normalise the kernels?
            3. With zero flow ($a = b = 0$) only one quadrant counts. Which one, and which 4x4 entries of the kernel can then matter at all?
            4. What does a constant depth map score on the depth-order measure, and why? Change the measure so that a tie (equal predicted depths) counts as wrong.

            {solutions_link("03_depth_and_kernels")}
            """
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 04 · the non-local branch
# ----------------------------------------------------------------------------------------------


def nb04_nonlocal_attention() -> list:
    return [
        title(
            "04",
            "The non-local branch: self-attention",
            [
                "the self-attention of the method step by step (query, key, value, weights, residual), with "
                "every shape, checked against `nlvfi.attention.SelfAttention`;",
                "the whole non-local branch: 6-channel pair, 4 down groups, attention at 1/16 size, 3 up groups "
                "and a last upsampling, and what the N x N weights cost in memory;",
                "the receptive field of the local path against the non-local path, measured with gradients.",
            ],
            "METHOD.md §2.2 (¶0126–0153, Figs. 2 and 4), §1 (why, ¶0116, ¶0124); public design SAGAN.",
            RUNS_IN["04"],
        ),
        parameters(
            'DATA_DIR = "../data/tour"  # the bundled real triplet',
            'CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # the shipped model, used when present',
        ),
        setup(
            """
            from pathlib import Path

            from nlvfi import visualize
            from nlvfi.attention import SelfAttention
            from nlvfi.config import ModelConfig
            from nlvfi.io import read_frame
            from nlvfi.kernels import KernelUNet
            from nlvfi.nonlocal_features import NonLocalBranch
            from nlvfi.tour import most_changing_pixel
            """,
            """
            RF_SIZE = {"ci": 512, "cpu": 768, "cuda": 768}[PROFILE]  # input side for the receptive-field measurement
            SCALE = {"ci": 0.5, "cpu": 1.0, "cuda": 1.0}[PROFILE]  # the tour frames at half size in ci
            """,
        ),
        markdown(
            r"""
            ## Idea

            A convolution sees a few pixels around each position; stacking them grows the view
            slowly. When an object moves 100 px between the frames, a local network never sees both
            copies of it (METHOD.md §1, ¶0003–0004). **Self-attention** lets every position look at
            every other one in a single step (¶0116, ¶0124).

            On a feature map $x$ with $C$ channels and $N = H \cdot W$ positions (¶0141–0152, public
            design SAGAN), three 1x1 convolutions give the "first, second and third adjusted
            results":

            $$q = W_q x \in \mathbb{R}^{N \times C_k}, \quad k = W_k x \in \mathbb{R}^{N \times C_k}, \quad v = W_v x \in \mathbb{R}^{N \times C_v}$$

            the weights of every pair of positions, a softmax over the keys (each row sums to 1):

            $$A = \mathrm{softmax}\big(q\,k^\top\big) \in \mathbb{R}^{N \times N}$$

            and the output: a fourth 1x1 convolution of the weighted values, added to the input with
            a learnable scale $\gamma$ that starts at 0 (so training starts from the local network):

            $$y = x + \gamma\, W_o (A\, v).$$

            The branch (¶0129–0139): concatenate the two frames (6 channels); 4 down groups (2x2
            average pooling + residual block) bring the map to 1/16 size, where $N$ is small enough;
            attention; 3 up groups (bilinear x2 + conv + residual block) and a last upsampling
            layer back to full size.
            """
        ),
        markdown("## Build it\n\n### Self-attention by hand, then by the package"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            config = ModelConfig.tiny()
            attention = SelfAttention(config.nonlocal_channels, config.attention_key_channels, config.attention_value_channels)
            with torch.no_grad():
                attention.gamma.fill_(0.5)  # starts at 0; any other value makes the check below meaningful
            x = torch.randn(1, config.nonlocal_channels, 6, 8)  # (B, C, H, W): a 6x8 map, N = 48 positions
            B, C, H, W = x.shape

            with torch.no_grad():
                q = attention.query(x).flatten(2).transpose(1, 2)  # (B, N, C_k)
                k = attention.key(x).flatten(2).transpose(1, 2)  # (B, N, C_k)
                v = attention.value(x).flatten(2).transpose(1, 2)  # (B, N, C_v)
                weights = torch.softmax(q @ k.transpose(1, 2), dim=-1)  # (B, N, N): row n = where position n looks
                attended = weights @ v  # (B, N, C_v)
                o = attention.out(attended.transpose(1, 2).reshape(B, -1, H, W))  # (B, C, H, W)
                y = x + attention.gamma * o  # (B, C, H, W)
                y_package, weights_package = attention(x, return_weights=True)  # the explicit path
                y_fused, _ = attention(x)  # the memory-efficient path: never stores the N x N weights

            for name, tensor in [("x", x), ("q", q), ("k", k), ("v", v), ("weights", weights), ("attended", attended), ("o", o), ("y", y)]:
                print(f"{name:<9} {tuple(tensor.shape)}")
            torch.testing.assert_close(weights, weights_package)
            torch.testing.assert_close(y, y_package)
            torch.testing.assert_close(y, y_fused, atol=1e-5, rtol=1e-5)
            assert torch.allclose(weights.sum(-1), torch.ones(B, H * W)), "each row of the weights sums to 1"
            print("by hand == SelfAttention (explicit) == SelfAttention (fused)")
            """
        ),
        markdown("### The branch, group by group"),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            branch = NonLocalBranch(config).eval()
            pair = torch.rand(1, 6, 128, 192)  # (B, 6, H, W): two RGB frames, concatenated (¶0129)
            steps, hooks = [], []
            for name, module in [*((f"down group {i + 1}", m) for i, m in enumerate(branch.down_groups)),
                                 ("self-attention", branch.attention),
                                 *((f"up group {i + 1}", m[1]) for i, m in enumerate(branch.up_groups)),
                                 ("last upsampling", branch.last_upsample)]:
                hooks.append(module.register_forward_hook(
                    lambda m, inputs, output, name=name: steps.append((name, (output[0] if isinstance(output, tuple) else output).shape))))
            with torch.no_grad():
                features, branch_weights = branch(pair, return_attention=True)
            for hook in hooks:
                hook.remove()
            print(f"{'pair':<16} {tuple(pair.shape)}")
            for name, shape in steps:
                print(f"{name:<16} {tuple(shape)}")
            print(f"{'weights':<16} {tuple(branch_weights.shape)}  (N = {128 // 16} x {192 // 16} positions)")
            print(f"parameters: {sum(p.numel() for p in branch.parameters()):,}")
            assert features.shape == (1, config.nonlocal_channels, 128, 192)
            assert branch_weights.shape == (1, (128 // 16) * (192 // 16), (128 // 16) * (192 // 16))
            """
        ),
        markdown(
            """
            ### What the N x N weights cost

            At 1/16 size N is small for a small frame, but it grows with the square of the frame's
            area. The weight matrix in float32, if it were stored:
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            grid = 2**config.nonlocal_down_groups
            for name, (height, width) in {"256x256": (256, 256), "VGA 640x480": (480, 640), "720p": (720, 1280),
                                          "1080p": (1080, 1920), "4K": (2160, 3840)}.items():
                padded_h, padded_w = visualize.padded_size(height, width, config.stride)
                n = (padded_h // grid) * (padded_w // grid)
                print(f"{name:<12} attention grid {padded_h // grid:>3} x {padded_w // grid:<3} N = {n:>6,}   N x N float32 = {4 * n * n / 2**20:>9,.1f} MiB")
            """
        ),
        markdown(
            """
            That is why the package's default path calls `scaled_dot_product_attention`, whose fused
            kernels never store the matrix; the weights are built only when asked for (for pictures).

            ### Receptive fields, measured

            The receptive field of one output pixel is the set of input pixels that can change it:
            those where the gradient of that output with respect to the input is not zero. We
            measure it for three networks on a random input pair:

            * the **kernel U-Net**, a typical local network of the generator;
            * the **non-local branch with γ = 0** (as initialised): only its convolutions count;
            * the **non-local branch with γ = 1**: the attention path is open.
            """
        ),
        code(
            """
            def receptive_field(network, output_of, size: int) -> torch.Tensor:
                \"\"\"|d output(centre) / d input| summed over input channels, (size, size).\"\"\"
                pair = torch.rand(1, 6, size, size, requires_grad=True)  # (1, 6, S, S)
                output_of(network(pair))[..., size // 2, size // 2].sum().backward()  # one output pixel
                return pair.grad[0].abs().sum(0)  # (S, S)


            kernel_net = KernelUNet(config)
            local_branch = NonLocalBranch(config)  # gamma = 0, as initialised
            open_branch = NonLocalBranch(config)
            open_branch.load_state_dict(local_branch.state_dict())
            with torch.no_grad():
                open_branch.attention.gamma.fill_(1.0)
            fields = {
                "kernel U-Net (local)": receptive_field(kernel_net, lambda out: out[0], RF_SIZE),
                "non-local branch, γ = 0": receptive_field(local_branch, lambda out: out[0], RF_SIZE),
                "non-local branch, γ = 1": receptive_field(open_branch, lambda out: out[0], RF_SIZE),
            }
            for field in fields.values():
                assert field.shape == (RF_SIZE, RF_SIZE)
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            centre = RF_SIZE // 2
            ys, xs = torch.meshgrid(torch.arange(RF_SIZE), torch.arange(RF_SIZE), indexing="ij")
            distance = torch.maximum((ys - centre).abs(), (xs - centre).abs())  # (S, S) Chebyshev distance
            print(f"input {RF_SIZE}x{RF_SIZE}, output pixel ({centre}, {centre})")
            for name, field in fields.items():
                seen = field > 0
                print(f"{name:<26} sees {seen.float().mean():7.2%} of the input, up to {int(distance[seen].max()):>3} px away")
            """
        ),
        markdown(
            """
            The local network sees a window a few tens of pixels wide. The branch's own
            convolutions, working at 1/16 size, see a much wider window, but still a window: a
            larger frame outgrows it (exercise 2). With the attention open, one output pixel depends
            on **every** input pixel, whatever the frame size.

            ### Attention on the real pair

            Where does one position attend in the tour pair? The non-local branch of the shipped
            checkpoint when it is there, otherwise an untrained one; the query is the pixel that
            changes most between the frames (a pedestrian).
            """
        ),
        code(
            """
            prev, nxt = (read_frame(Path(DATA_DIR) / f"{name}.png") for name in ("prev", "next"))
            if SCALE != 1.0:
                prev, nxt = (F.interpolate(x, scale_factor=SCALE, mode="area") for x in (prev, nxt))
            _, _, height, width = prev.shape
            assert height % config.stride == 0 and width % config.stride == 0, "the branch needs sides divisible by 16"
            if Path(CHECKPOINT).is_file():
                model_branch, model_name = nlvfi.load_generator(CHECKPOINT).nonlocal_branch.eval(), "shipped checkpoint"
            else:
                model_branch, model_name = local_branch.eval(), "UNTRAINED"
                print(f"No checkpoint at {CHECKPOINT}: these attention weights come from an untrained branch.")
            with torch.no_grad():
                _, real_weights = model_branch(torch.cat((prev, nxt), dim=1), return_attention=True)  # (1, N, N)
            query = most_changing_pixel(prev, nxt)  # (y, x)
            row = visualize.attention_row(real_weights, query, (height, width), grid)  # (h, w) on the 1/16 grid
            print(f"{model_name}: gamma = {model_branch.attention.gamma.item():.4f}; query pixel (y, x) = {query}; "
                  f"largest weight {row.max():.4f} vs uniform {1 / row.size:.4f}")
            """
        ),
        markdown(
            """
            ## See it

            Top: the measured receptive fields, $\\log_{10}$ of the gradient magnitude (white: exactly
            zero, the pixel cannot influence the output). Bottom: the attention row of the query
            pixel over the pair (the branch sees both frames at once, so the same map is drawn on
            each).
            """
        ),
        code(
            """
            # Figure: receptive fields measured by gradients, and one attention row on the real pair
            fig, axes = plt.subplots(2, 3, figsize=(14, 9.5), layout="constrained")
            all_values = torch.cat([field[field > 0] for field in fields.values()])
            low, high = float(all_values.log10().quantile(0.01)), float(all_values.log10().max())
            for ax, (name, field) in zip(axes[0], fields.items()):
                shown = ax.imshow(np.ma.masked_equal(field.log10().numpy(), -np.inf), cmap="viridis", vmin=low, vmax=high)
                ax.plot(centre, centre, "r+", markersize=14, markeredgewidth=2)
                ax.set_title(f"{name}\\nsees {(field > 0).float().mean():.1%} of the input")
                ax.set_xlabel("x (px)")
                ax.set_ylabel("y (px)")
            fig.colorbar(shown, ax=axes[0], fraction=0.02, label="log10 |gradient|")

            upsampled = np.kron(row, np.ones((grid, grid)))[:height, :width]  # (H, W): one weight per 16x16 cell
            axes[1, 0].imshow(visualize.to_image(prev))
            axes[1, 0].plot(query[1], query[0], "c+", markersize=16, markeredgewidth=2)
            axes[1, 0].set_title("prev and the query pixel (+)")
            for ax, frame, label in ((axes[1, 1], prev, "prev"), (axes[1, 2], nxt, "next")):
                ax.imshow(visualize.to_image(frame))
                shown = ax.imshow(upsampled, cmap="inferno", alpha=0.6)
                ax.plot(query[1], query[0], "c+", markersize=16, markeredgewidth=2)
                ax.set_title(f"attention of the query ({model_name}) on {label}")
            for ax in axes[1]:
                ax.axis("off")
            fig.colorbar(shown, ax=axes[1], fraction=0.02, label="attention weight")
            plt.show()
            """
        ),
        markdown(
            """
            ## Summary

            * Self-attention: 1x1 convolutions to query, key and value; `softmax(q kᵀ)` gives an N x N weight per pair of positions; the weighted values, through a 4th 1x1 convolution, are added to the input with a scale γ that starts at 0.
            * The non-local branch runs it at 1/16 size between 4 down and 3+1 up groups; the N x N matrix grows with the square of the frame area, so the package never stores it unless asked.
            * Measured by gradients, a local network sees a few tens of pixels; with γ ≠ 0 one output pixel depends on the whole input.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Divide the logits by $\\sqrt{{C_k}}$ (as in transformers) in the by-hand version. How do the rows of the weights change (compare their largest entries)? SAGAN does not scale: why can it afford not to?
            2. Measure the receptive field of the branch with γ = 0 for `RF_SIZE` 256, 512 and 768. Does the seen fraction or the radius in pixels stay the same? Explain with the 1/16 grid.
            3. Measure the receptive field of the flow network (`nlvfi.flow.BidirectionalFlow`, output `out[0]`). Is it local?
            4. At what frame size does the N x N matrix of the `tiny` model pass 1 GiB? And why does the method reduce the map by 16 before attention rather than by 4?

            {solutions_link("04_nonlocal_attention")}
            """
        ),
    ]


# ----------------------------------------------------------------------------------------------
# 05 · depth-aware projection and adaptive warping
# ----------------------------------------------------------------------------------------------


def nb05_projection_and_warping() -> list:
    return [
        title(
            "05",
            "Depth-aware projection and adaptive warping",
            [
                "how a flow between the two input frames becomes a flow from time t (projection), and why "
                "depth decides which object wins where two land on the same pixel;",
                "what the holes left by disocclusion are and how they are filled;",
                "the adaptive warping layer's 4x4 window, computed by hand for one pixel and checked against "
                "`nlvfi.warping.adaptive_warp`.",
            ],
            "METHOD.md §2.3 (depth-aware projection, ¶0169–0171) and §2.4 (adaptive warping, ¶0175–0182); "
            "public design DAIN.",
            RUNS_IN["05"],
        ),
        parameters(),
        setup(
            """
            from nlvfi import visualize
            from nlvfi.data.synthetic import TEXTURE_FILES, FlyingLayers, load_textures
            from nlvfi.depth import inverse_depth
            from nlvfi.metrics import psnr
            from nlvfi.projection import project_flow
            from nlvfi.warping import adaptive_warp, backward_warp
            """,
            """
            SIZE = {"ci": 128, "cpu": 256, "cuda": 256}[PROFILE]  # synthetic frames are SIZE x SIZE
            SCENES = {"ci": 6, "cpu": 32, "cuda": 32}[PROFILE]  # flying-layers scenes in the depth test
            """,
            uses=("np",),
        ),
        markdown(
            r"""
            ## Idea

            The flow network gives $F_{0\to1}$ (prev → next). To make the frame at time $t$ we need,
            for every pixel $x$ *of the new frame*, where to sample prev: a flow $F_{t\to0}(x)$. If
            motion is linear, the surface at $y$ in prev is at $y + t\,F_{0\to1}(y)$ at time $t$, so
            its flow back to prev there is $-t\,F_{0\to1}(y)$. **Projection** sends every source pixel
            to where it lands and averages what arrives (public design DAIN, METHOD.md §2.3):

            $$F_{t\to0}(x) = -t\,\frac{\sum_{y \to x} w(y)\,F_{0\to1}(y)}{\sum_{y \to x} w(y)}, \qquad w(y) = 10^{-6} + \frac{1}{\text{depth}(y)}$$

            over the source pixels $y$ landing next to $x$ (each feeds its landing point's 4 integer
            neighbours). Where a moving object passes in front of the background, both land on the
            same pixels; with inverse-depth weights the **nearer one dominates**, as it would hide the
            other (¶0169–0171). Pixels nothing lands on are **holes** (disocclusion: background that
            was hidden in prev); they take the mean flow of the first filled pixel to the left,
            right, above and below. The same for $F_{t\to1}$ from $F_{1\to0}$ with $1-t$.

            **Adaptive warping** (§2.4, ¶0176–0178) then samples each frame at $p = x + F_{t\to\cdot}(x)$
            with a per-pixel 4x4 kernel $k$: the window rows $\lfloor p_y \rfloor - 1 \ldots \lfloor p_y \rfloor + 2$
            and columns likewise, with $a, b$ the fractional parts of $p_x, p_y$:

            $$\mathrm{out}(x) = \sum_{i,j=0}^{3} k_{4i+j}(x)\; r_i\, c_j\; I\big(\lfloor p_y \rfloor - 1 + i,\ \lfloor p_x \rfloor - 1 + j\big), \quad r = (1-b, 1-b, b, b),\ c = (1-a, 1-a, a, a).$$
            """
        ),
        markdown(
            """
            ## Build it

            ### Two layers: a near square moves over a far background

            A static background (far, depth 100) and a 16x16 square (near, depth 1) that moves
            16 px to the right between prev and next. At t = 0.5 it is 8 px to the right, and its
            leading half covers background that stays put: two sources land on those pixels.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            textures = load_textures()
            H, W, SIDE, MOVE, TOP, LEFT = 48, 80, 16, 16, 16, 20
            t = 0.5
            background = textures[TEXTURE_FILES.index("grass.png")][0][..., 100 : 100 + H, 100 : 100 + W]  # (1, 3, H, W)
            square = textures[TEXTURE_FILES.index("coffee.png")][0][..., 150 : 150 + SIDE, 250 : 250 + SIDE]  # (1, 3, 16, 16)


            def frame_at(shift: int) -> torch.Tensor:
                \"\"\"The background with the square `shift` px right of its start, (1, 3, H, W).\"\"\"
                frame = background.clone()
                frame[..., TOP : TOP + SIDE, LEFT + shift : LEFT + shift + SIDE] = square
                return frame


            prev, middle, nxt = frame_at(0), frame_at(round(t * MOVE)), frame_at(MOVE)
            flow_fw = torch.zeros(1, 2, H, W)  # prev -> next: the background is still ...
            flow_fw[:, 0, TOP : TOP + SIDE, LEFT : LEFT + SIDE] = MOVE  # ... the square moves right
            flow_bw = torch.zeros(1, 2, H, W)  # next -> prev, on next's pixels
            flow_bw[:, 0, TOP : TOP + SIDE, LEFT + MOVE : LEFT + MOVE + SIDE] = -MOVE
            depth_prev, depth_next = torch.full((1, 1, H, W), 100.0), torch.full((1, 1, H, W), 100.0)
            depth_prev[..., TOP : TOP + SIDE, LEFT : LEFT + SIDE] = 1.0
            depth_next[..., TOP : TOP + SIDE, LEFT + MOVE : LEFT + MOVE + SIDE] = 1.0
            assert prev.shape == nxt.shape == middle.shape == (1, 3, H, W) and flow_fw.shape == (1, 2, H, W)
            print(f"frames {tuple(prev.shape)}, square {SIDE}x{SIDE} moving {MOVE} px right, t = {t}")
            """
        ),
        markdown(
            """
            Project both flows to t with three depth maps: the true one (the square is nearer),
            a constant one (no depth: plain averaging), and a reversed one (the background is
            "nearer"). Then warp each frame to t and blend.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            variants = {
                "true depth (square nearer)": (depth_prev, depth_next),
                "no depth (all equal)": (torch.ones_like(depth_prev), torch.ones_like(depth_next)),
                "reversed (background nearer)": (1.0 / depth_prev, 1.0 / depth_next),
            }
            overlap = (slice(TOP, TOP + SIDE), slice(LEFT + MOVE, LEFT + round(t * MOVE) + SIDE))  # the square's leading half at t
            results = {}
            for name, (d_prev, d_next) in variants.items():
                to_prev, filled = project_flow(flow_fw, inverse_depth(d_prev), t)  # F_{t->prev}, (1, 2, H, W); (1, H, W)
                to_next, _ = project_flow(flow_bw, inverse_depth(d_next), 1 - t)  # F_{t->next}
                warped_prev = backward_warp(prev, to_prev)  # prev brought to time t, (1, 3, H, W)
                blend = (1 - t) * warped_prev + t * backward_warp(nxt, to_next)  # (1, 3, H, W)
                results[name] = dict(to_prev=to_prev, filled=filled, warped_prev=warped_prev, blend=blend)
                dx = to_prev[0, 0][overlap]
                print(f"{name:<29} F_t->prev dx on the overlap {dx.mean():+6.2f} px (square's -t*MOVE = {-t * MOVE:+.0f}), "
                      f"blend PSNR {psnr(blend, middle):5.2f} dB")
            holes = ~results["true depth (square nearer)"]["filled"][0]
            print(f"holes (nothing lands there): {int(holes.sum())} pixels, columns {int(holes.nonzero()[:, 1].min())}-{int(holes.nonzero()[:, 1].max())}")
            assert torch.allclose(results["true depth (square nearer)"]["to_prev"][0, 0][overlap], torch.tensor(-t * MOVE), atol=0.1), "the nearer square must win"
            """
        ),
        markdown(
            """
            With true depth the square's flow wins on the overlap: nearly −8 px (sample prev 8 px
            to the left, where the square was), since its weight is 100 times the background's. Without depth, the two flows average to −4 px and the
            warped frame shows half a square; reversed, the background wins and tears the square
            apart. The holes are the background the square uncovers: prev never saw it, so
            whatever fills them is a guess from the neighbours (the blend takes the other half from
            next, which did see it).

            ### The same test on flying layers

            Many layers, rotation and scaling, exact flows and depths: warp both frames to t with
            each depth map, blend, and compare with the true middle frame.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            scenes = FlyingLayers(SCENES, motion="large", size=SIZE, seed=SEED)
            scores = {"average of the two frames (no motion)": []}
            for index in range(len(scenes)):
                s = {key: value[None] if torch.is_tensor(value) and value.dim() else value for key, value in scenes[index].items()}
                scores["average of the two frames (no motion)"].append(psnr(0.5 * (s["prev"] + s["next"]), s["middle"]))
                for name, transform in (("true depth", lambda d: d), ("no depth (all equal)", torch.ones_like),
                                        ("reversed depth", lambda d: 1.0 / d)):
                    to_prev, _ = project_flow(s["flow_forward"], inverse_depth(transform(s["depth_prev"])), 0.5)
                    to_next, _ = project_flow(s["flow_backward"], inverse_depth(transform(s["depth_next"])), 0.5)
                    blend = 0.5 * backward_warp(s["prev"], to_prev) + 0.5 * backward_warp(s["next"], to_next)
                    scores.setdefault(name, []).append(psnr(blend, s["middle"]))
            print(f"{len(scenes)} large-motion scenes at {SIZE}x{SIZE}, true flows, mean PSNR of the blend at t = 0.5:")
            for name, values in scores.items():
                print(f"  {name:<38} {np.mean(values):6.2f} dB")
            """
        ),
        markdown(
            """
            ### The adaptive warping layer, by hand for one pixel

            One output pixel, a flow target with fractional parts, a random kernel: the sum of the
            formula above against `adaptive_warp`.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            generator = torch.Generator().manual_seed(SEED)
            toy_image = torch.rand(1, 1, 8, 10, generator=generator)  # (1, 1, 8, 10)
            toy_kernel = torch.rand(1, 16, 8, 10, generator=generator)  # (1, 16, 8, 10): any per-pixel 4x4 kernel
            flow = torch.zeros(1, 2, 8, 10)
            out_y, out_x = 2, 3  # the output pixel
            flow[0, :, out_y, out_x] = torch.tensor([2.3, 1.6])  # target p = (x, y) + (dx, dy) = (5.3, 3.6)
            px, py = out_x + 2.3, out_y + 1.6
            x0, y0, a, b = int(np.floor(px)), int(np.floor(py)), px - np.floor(px), py - np.floor(py)
            rows, cols = (1 - b, 1 - b, b, b), (1 - a, 1 - a, a, a)
            by_hand = sum(
                toy_kernel[0, 4 * i + j, out_y, out_x] * rows[i] * cols[j] * toy_image[0, 0, y0 - 1 + i, x0 - 1 + j]
                for i in range(4) for j in range(4)
            )
            package = adaptive_warp(toy_image, flow, toy_kernel)[0, 0, out_y, out_x]
            print(f"target p = ({px:.1f}, {py:.1f}): window rows {y0 - 1}..{y0 + 2}, columns {x0 - 1}..{x0 + 2}, a = {a:.1f}, b = {b:.1f}")
            print(f"by hand {float(by_hand):.5f}, adaptive_warp {float(package):.5f}")
            torch.testing.assert_close(package, by_hand.float())
            """
        ),
        markdown(
            """
            ## See it

            Top row: the inputs, the true middle frame and the holes of the projection. Then one row
            per depth map: the projected flow $F_{t\\to\\text{prev}}$ (its dx; blue = sample to the left),
            prev warped to t, the two-frame blend, and its error.
            """
        ),
        code(
            """
            # Figure: projection of a near square over a far background with true, equal and reversed depth
            fig, axes = plt.subplots(4, 4, figsize=(15, 8.6), layout="constrained")
            top = [(prev, "prev (t = 0)"), (nxt, "next (t = 1)"), (middle, "true middle (t = 0.5)")]
            for ax, (image, label) in zip(axes[0], top):
                ax.imshow(visualize.to_image(image))
                ax.set_title(label)
            axes[0, 3].imshow(holes, cmap="gray")
            axes[0, 3].set_title("holes of F_t→prev (white)")
            for row, (name, result) in zip(axes[1:], results.items()):
                shown = row[0].imshow(result["to_prev"][0, 0], cmap="RdBu_r", vmin=-MOVE, vmax=MOVE)
                row[0].set_title(f"{name}\\nF_t→prev, dx (px)", fontsize=10)
                row[1].imshow(visualize.to_image(result["warped_prev"]))
                row[1].set_title("prev warped to t", fontsize=10)
                row[2].imshow(visualize.to_image(result["blend"]))
                row[2].set_title(f"blend: {psnr(result['blend'], middle):.1f} dB", fontsize=10)
                error = row[3].imshow((result["blend"] - middle).abs().mean(1)[0], cmap="magma", vmin=0, vmax=0.5)
                row[3].set_title("|blend - true middle|", fontsize=10)
            for ax in axes.flat:
                ax.set_xticks([])
                ax.set_yticks([])
            fig.colorbar(shown, ax=axes[1:, 0], fraction=0.05, label="dx of F_t→prev (px)")
            fig.colorbar(error, ax=axes[1:, 3], fraction=0.05, label="mean |error| over RGB")
            plt.show()
            """
        ),
        markdown("The adaptive warping window of the pixel above: the 4x4 pixels, the target p and the weight each pixel gets."),
        code(
            """
            # Figure: the adaptive warping layer's 4x4 window for one pixel, and the weight of each window pixel
            weights = np.outer(rows, cols) * toy_kernel[0, :, out_y, out_x].view(4, 4).numpy()  # (4, 4): r_i c_j k_ij
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
            axes[0].imshow(toy_image[0, 0], cmap="gray", vmin=0, vmax=1)
            axes[0].add_patch(plt.Rectangle((x0 - 1.5, y0 - 1.5), 4, 4, fill=False, edgecolor="orange", linewidth=2.5))
            for i in (0, 2):
                for j in (0, 2):
                    axes[0].add_patch(plt.Rectangle((x0 - 1.5 + j, y0 - 1.5 + i), 2, 2, fill=False, edgecolor="yellow", linestyle="--"))
            axes[0].plot(out_x, out_y, "bs", markersize=10, label="output pixel x")
            axes[0].plot(px, py, "r*", markersize=16, label="target p = x + f(x)")
            axes[0].annotate("", xy=(px, py), xytext=(out_x, out_y), arrowprops=dict(arrowstyle="->", color="red"))
            axes[0].legend(loc="lower left", fontsize=9)
            axes[0].set_title("the image, the 4x4 window (orange) and its quadrants")
            shown = axes[1].imshow(weights, cmap="viridis")
            for i in range(4):
                for j in range(4):
                    axes[1].text(j, i, f"{weights[i, j]:.2f}", ha="center", va="center", fontsize=10,
                                 color="black" if weights[i, j] > 0.6 * weights.max() else "white")
            axes[1].set_xticks(range(4), [f"col {x0 - 1 + j}" for j in range(4)])
            axes[1].set_yticks(range(4), [f"row {y0 - 1 + i}" for i in range(4)])
            axes[1].set_title(f"weight of each window pixel: r_i c_j k_ij (a = {a:.1f}, b = {b:.1f})")
            fig.colorbar(shown, ax=axes[1], fraction=0.046)
            plt.show()
            """
        ),
        markdown(
            """
            ## Summary

            * Projection turns $F_{0\\to1}$ into $F_{t\\to0}$ by sending each pixel to where it is at time t and averaging what lands, weighted by inverse depth, so the nearer object wins overlaps.
            * Pixels nothing lands on (disocclusions) are filled from their neighbours; only the other frame really saw them.
            * The adaptive warping layer samples a 4x4 window around $p$, each pixel weighted by the kernel times the bilinear weights of $p$'s fractional part.
            """
        ),
        markdown(
            f"""
            ## Exercises

            1. Make the square move left instead (`MOVE = -16`, and adapt `overlap`). Where are the overlap and the holes now? Does the true-depth result stay the best?
            2. Set `t = 0.25` in the two-layer example. What should the projected dx be on the overlap, and where is the overlap?
            3. Replace the inverse-depth weights by `inverse_depth(d) ** 4` in the flying-layers test. Better or worse, and why might a sharper weighting help or hurt with *estimated* depth?
            4. In the by-hand check, move the target so that $a = b = 0$. Which kernel entries still matter, and what does the bilinear kernel do there?

            {solutions_link("05_projection_and_warping")}
            """
        ),
    ]


NOTEBOOKS = {
    "00_tour": nb00_tour,
    "01_data": nb01_data,
    "02_optical_flow": nb02_optical_flow,
    "03_depth_and_kernels": nb03_depth_and_kernels,
    "04_nonlocal_attention": nb04_nonlocal_attention,
    "05_projection_and_warping": nb05_projection_and_warping,
}

if __name__ == "__main__":
    write_notebooks(NOTEBOOKS)
