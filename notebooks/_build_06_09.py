"""Write notebooks 06–09 (stripped: no outputs, python3 kernelspec) from the cells below.

    python3 notebooks/_build_06_09.py            # rewrites the four .ipynb files next to this script

One function per notebook returns its cells; edit the cells here, not in the .ipynb files.
Conventions (../shared/STYLE.md): title, "You will learn", method section, run time; a
``parameters`` cell; imports from nlvfi; Idea / Build it / See it / Summary / Exercises; cells
with deterministic printed output start with ``# NBVAL_CHECK_OUTPUT``.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PROFILE_LINE = 'PROFILE = "ci"  # "ci" (seconds, CPU) | "cpu" (minutes) | "cuda" (the real run)'


def md(text: str):
    return new_markdown_cell(dedent(text).strip("\n"))


def code(text: str, parameters: bool = False):
    cell = new_code_cell(dedent(text).strip("\n"))
    if parameters:
        cell.metadata["tags"] = ["parameters"]
    return cell


def header(number: str, title: str, learn: list[str], method: str, runs_in: str):
    learn_text = " ".join(f"({i}) {item}" for i, item in enumerate(learn, 1))
    return md(
        f"""
        # {number} · {title}

        You will learn: {learn_text}

        Method: {method}

        Runs in: {runs_in}
        """
    )


def solutions_link(name: str):
    return f"Solutions: [`solutions/{name}.md`](solutions/{name}.md)."


# ------------------------------------------------------------------------------------------------
# 06 · synthesis and the generator
# ------------------------------------------------------------------------------------------------


def notebook_06() -> list:
    return [
        header(
            "06",
            "Frame synthesis and the whole generator",
            [
                "what the synthesis features are, channel by channel, and why nothing is thrown away;",
                "why the synthesis network predicts a *residual* over the blend of the warped frames, and what that residual looks like;",
                "how every sub-network fits into one `Generator` call, with the shapes checked at each step.",
            ],
            "METHOD.md §2.4 (¶0175–0182), §2.5 (¶0183–0187) and §2 (Fig. 6); the appendix's DAIN synthesis design.",
            "< 40 s (ci) / 2 min (cpu) on a 2-core CPU",
        ),
        code(
            f"""
            {PROFILE_LINE}
            SEED = 0
            DATA_DIR = "../data/tour"  # the bundled real triplet: prev.png, middle.png, next.png (768x576)
            CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # loaded when present, else an untrained generator
            """,
            parameters=True,
        ),
        code(
            """
            import copy
            from pathlib import Path

            import matplotlib.pyplot as plt
            import numpy as np
            import torch

            import nlvfi
            from nlvfi import ModelConfig, build_generator, load_generator, parameter_counts
            from nlvfi.data.synthetic import FlyingLayers
            from nlvfi.generator import synthesis_channels_in
            from nlvfi.io import read_frame
            from nlvfi.losses import charbonnier
            from nlvfi.metrics import psnr
            from nlvfi.synthesis import FrameSynthesis
            from nlvfi.tour import most_changing_pixel
            from nlvfi.visualize import to_image

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            FIT_STEPS = {"ci": 25, "cpu": 300, "cuda": 1000}[PROFILE]  # steps of the synthesis-only fit below
            FIT_SIZE = {"ci": 64, "cpu": 128, "cuda": 256}[PROFILE]  # side of its synthetic triplet
            print(f"profile {PROFILE}, device {device}, torch {torch.__version__}")
            """
        ),
        md(
            r"""
            ## Idea

            Notebooks 02–05 built every extractor. At time $t$ they give, for each input frame:

            | symbol | what | channels |
            |---|---|---|
            | $B = (1-t)\,W_0 + t\,W_1$ | blend of the two adaptively warped frames | 3 |
            | $W_0, W_1$ | prev and next, **adaptively** warped to $t$ (4x4 kernel × bilinear weights, §2.4) | 2 × 3 |
            | $\tilde W_0, \tilde W_1$ | the same frames, **plainly** backward-warped (bilinear) | 2 × 3 |
            | $F_{t\to0}, F_{t\to1}$ | the depth-aware projected flows (§2.3) | 2 × 2 |
            | $K_0, K_1$ | the per-pixel 4x4 kernels (§2.1) | 2 × 16 |
            | $N_0, N_1$ | the non-local features, warped to $t$ (§2.2) | 2 × $C_{nl}$ |

            The generator concatenates all of them along channels — "so that no information is lost"
            (¶0180–0181) — into the **synthesis features** $S$, and a few residual blocks turn $S$
            into the frame (¶0183–0187). Following the public design (DAIN) they predict a residual:

            $$\hat I_t \;=\; B \;+\; R_\theta(S), \qquad R_\theta = \text{conv} \to 3 \times \text{residual block} \to \text{conv} \to 3\ \text{channels}.$$

            Why a residual? When flow and kernels are right, $B$ is already close to $I_t$; $R_\theta$ only
            fixes what a blend cannot: a region visible in one frame only (then one of $W_0, W_1$ is
            wrong and averaging makes a ghost), the softness of bilinear sampling, brightness changes.
            Its last convolution starts near zero (std $10^{-3}$), so an *untrained* generator already
            returns $\approx B$: a sane starting point, and the reason `nlvfi tour`'s untrained frame
            looks like an average.

            ```
            prev, next ─┬─ flow (both ways) ── depth-aware projection ── F_t→0, F_t→1 ─┐
                        ├─ depth (both frames) ─┘                                        │
                        ├─ kernels K0, K1 ─────────────────────── adaptive warping ── W0, W1 ── B
                        └─ non-local branch ── N ── backward warping ── N0, N1            │
                    S = concat(B, W0, W1, W̃0, W̃1, F_t→0, F_t→1, K0, K1, N0, N1) ── R_θ ──(+)── Î_t
            ```
            """
        ),
        md(
            """
            ## Build it

            The synthesis features' width, term by term, for every model size (the non-local branch's
            share grows with the model):
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            for name in nlvfi.PRESETS:
                config = ModelConfig.preset(name)
                parts = {
                    "blend": 3, "adaptive": 2 * 3, "backward": 2 * 3, "flows": 2 * 2,
                    "kernels": 2 * 16, "non-local": 2 * config.nonlocal_channels,
                }  # fmt: skip
                total = synthesis_channels_in(config)
                assert sum(parts.values()) == total, f"{name}: {sum(parts.values())} != {total}"
                terms = " + ".join(f"{n} {k}" for k, n in parts.items())
                print(f"{name:5s} {terms} = {total} channels (non-local {parts['non-local'] / total:.0%})")
            """
        ),
        md(
            """
            `FrameSynthesis` alone: any number of feature channels in, three channels out, same size.
            Its head starts near zero, so on random features the residual is tiny.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            config = ModelConfig.tiny()
            synthesis = FrameSynthesis(synthesis_channels_in(config), config.synthesis_channels, config.synthesis_blocks)
            features = torch.randn(2, synthesis_channels_in(config), 64, 96)  # (B, C_in, H, W)
            residual = synthesis(features)  # (B, 3, H, W)
            assert residual.shape == (2, 3, 64, 96), f"expected (2, 3, 64, 96), got {tuple(residual.shape)}"
            print(f"synthesis features {tuple(features.shape)} -> residual {tuple(residual.shape)}")
            print("parameters:", parameter_counts(synthesis))
            print("max |residual| < 0.05 at initialisation:", bool(residual.abs().max() < 0.05))
            """
        ),
        md(
            """
            Now the whole generator on the bundled real triplet (frames 118, 120, 122 of OpenCV's
            `vtest.avi`). The shipped checkpoint is used when it exists; otherwise an untrained
            `tiny` generator, whose frame is roughly the blend — the printed line says which.
            """
        ),
        code(
            """
            if Path(CHECKPOINT).is_file():
                generator = load_generator(CHECKPOINT, device=device)
                weights = f"trained weights from {CHECKPOINT}"
            else:
                generator = build_generator("tiny").to(device)
                weights = f"UNTRAINED tiny generator (no file at {CHECKPOINT}): expect roughly the blend"
            generator.eval()
            print(weights)
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            counts = parameter_counts(generator)
            print(f"{generator.config.name} generator")
            for name, n in counts.items():
                print(f"  {name:16s} {n:>9,}  {n / counts['total']:6.1%}")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            prev, middle, nxt = (read_frame(Path(DATA_DIR) / f"{n}.png").to(device) for n in ("prev", "middle", "next"))  # (1, 3, H, W)
            with torch.inference_mode():
                out = generator(prev, nxt, t=0.5, return_intermediates=True)
            B, _, H, W = prev.shape
            C_nl = generator.config.nonlocal_channels
            expected = {
                "frame": (B, 3, H, W),
                "blend": (B, 3, H, W),
                "warped_frames": [(B, 3, H, W)] * 2,
                "projected_flows": [(B, 2, H, W)] * 2,
                "kernels": [(B, 16, H, W)] * 2,
                "nonlocal_features": (B, C_nl, H, W),
            }
            for name, shape in expected.items():
                value = getattr(out, name)
                got = [tuple(v.shape) for v in value] if isinstance(value, tuple) else tuple(value.shape)
                assert got == shape, f"{name}: expected {shape}, got {got}"
                print(f"{name:18s} {got}")
            """
        ),
        md(
            """
            The blend is exactly $(1-t)W_0 + tW_1$, and the residual is what the synthesis network adds
            on top of it (measured after the output is clamped to [0, 1]):
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            t = 0.5
            warped_prev, warped_next = out.warped_frames  # (1, 3, H, W) each
            torch.testing.assert_close(out.blend, (1 - t) * warped_prev + t * warped_next)
            residual = out.frame - out.blend  # (1, 3, H, W)
            assert residual.shape == prev.shape
            print("blend == (1 - t)·W0 + t·W1:", True)
            """
        ),
        code(
            """
            scores = {
                "repeat prev": psnr(prev, middle),
                "average (prev + next) / 2": psnr((prev + nxt) / 2, middle),
                "blend (1 - t)·W0 + t·W1": psnr(out.blend, middle),
                "final = blend + residual": psnr(out.frame, middle),
            }
            for name, value in scores.items():
                print(f"{name:28s} {value:6.2f} dB")
            print(f"residual: mean |r| {residual.abs().mean():.4f}, max |r| {residual.abs().max():.3f} (0–1 scale)")
            print(weights)
            """
        ),
        md(
            """
            ### The residual learns what the blend misses

            To watch $R_\\theta$ alone, copy the generator, freeze everything but `synthesis`, and fit it
            to one synthetic large-motion triplet. Upstream is frozen, so the blend cannot move: every
            dB the final frame gains over the blend is the residual's doing. (One triplet: this
            overfits on purpose; notebook 08 trains on thousands.)
            """
        ),
        code(
            """
            # Figure: PSNR of the blend and of the final frame while only the synthesis network trains
            scene = FlyingLayers(1, motion="large", size=(FIT_SIZE, FIT_SIZE), seed=SEED)[0]
            s_prev, s_middle, s_next = (scene[k].unsqueeze(0).to(device) for k in ("prev", "middle", "next"))  # (1, 3, S, S)
            learner = copy.deepcopy(generator).train()
            for name, p in learner.named_parameters():
                p.requires_grad_(name.startswith("synthesis."))
            trainable = [p for p in learner.parameters() if p.requires_grad]
            optimizer = torch.optim.Adam(trainable, lr=1e-3)
            history = []  # (PSNR of the blend, PSNR of the final frame) per step
            for step in range(FIT_STEPS + 1):
                fit = learner(s_prev, s_next, t=0.5, return_intermediates=True)
                history.append((psnr(fit.blend, s_middle), psnr(fit.frame, s_middle)))
                if step < FIT_STEPS:
                    loss = charbonnier(fit.frame, s_middle)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            blend_db, final_db = np.array(history).T
            assert abs(blend_db[-1] - blend_db[0]) < 1e-3, "the blend moved: something upstream is not frozen"
            print(f"trainable: {sum(p.numel() for p in trainable):,} of {sum(p.numel() for p in learner.parameters()):,} parameters (synthesis only)")
            print(f"scene motion {float(scene['motion']):.1f} px; blend {blend_db[0]:.2f} dB (fixed)")
            print(f"final {final_db[0]:.2f} dB -> {final_db[-1]:.2f} dB after {FIT_STEPS} steps")

            fig, ax = plt.subplots(figsize=(6, 3))
            ax.plot(blend_db, label="blend B (upstream frozen)")
            ax.plot(final_db, label="final B + R(S)")
            ax.set(xlabel="step (synthesis only)", ylabel="PSNR vs true middle (dB)", title="Fitting the residual on one triplet")
            ax.legend()
            plt.show()
            """
        ),
        md(
            """
            ## See it

            A crop of the tour triplet around the region that changes most: the inputs and the true
            middle frame, the blend, the final frame, the residual between them (signed, mean over
            RGB) and both error maps on one colour scale.
            """
        ),
        code(
            """
            # Figure: blend, final frame, residual and errors on a crop of the tour triplet
            cy, cx = most_changing_pixel(prev, nxt)
            ch, cw = min(256, H), min(320, W)
            y0, x0 = int(np.clip(cy - ch // 2, 0, H - ch)), int(np.clip(cx - cw // 2, 0, W - cw))
            box = (slice(y0, y0 + ch), slice(x0, x0 + cw))
            signed = residual[0].mean(0).cpu().numpy()[box]  # (ch, cw)
            error_blend = (out.blend - middle)[0].abs().mean(0).cpu().numpy()[box]  # (ch, cw)
            error_final = (out.frame - middle)[0].abs().mean(0).cpu().numpy()[box]  # (ch, cw)
            top = max(float(error_blend.max()), float(error_final.max()), 1e-6)
            limit = max(float(np.abs(signed).max()), 1e-6)

            fig, axes = plt.subplots(2, 4, figsize=(16, 7), layout="constrained")
            images = [
                (axes[0, 0], to_image(prev)[box], "prev (t = 0)", {}),
                (axes[0, 1], to_image(nxt)[box], "next (t = 1)", {}),
                (axes[0, 2], to_image(middle)[box], "true middle (t = 0.5)", {}),
                (axes[0, 3], error_blend, "|blend - true|", dict(cmap="magma", vmin=0, vmax=top)),
                (axes[1, 0], to_image(out.blend)[box], f"blend B: {scores['blend (1 - t)·W0 + t·W1']:.2f} dB", {}),
                (axes[1, 1], to_image(out.frame)[box], f"final B + R(S): {scores['final = blend + residual']:.2f} dB", {}),
                (axes[1, 2], signed, "residual R(S), mean over RGB", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
                (axes[1, 3], error_final, "|final - true|", dict(cmap="magma", vmin=0, vmax=top)),
            ]
            for ax, image, title, style in images:
                shown = ax.imshow(image, **style)
                ax.set_title(title, fontsize=10)
                ax.set_xlabel(f"x (px, from {x0})")
                ax.set_ylabel(f"y (px, from {y0})")
                if style:
                    fig.colorbar(shown, ax=ax, fraction=0.046, label="0–1 scale")
            fig.suptitle(f"Synthesis on the tour triplet, {cw}x{ch} crop — {weights}", fontsize=11)
            plt.show()
            """
        ),
        md(
            """
            ## Summary

            - The synthesis features concatenate the blend, both warped frames (adaptive and plain), the projected flows, the kernels and the warped non-local features: 83 channels for `tiny`.
            - The synthesis network predicts a residual over the blend $B=(1-t)W_0+tW_1$; its head starts near zero, so an untrained generator returns $\\approx B$.
            - With the rest of the network frozen the blend's PSNR stays put, and everything the final frame gains is the residual's work.

            ## Exercises

            1. Zero the synthesis head (`generator.synthesis.head.weight` and `.bias`) and check that `out.frame` equals `out.blend` up to the clamp. Why does the public design initialise the head *near* zero rather than exactly zero?
            2. Run the generator at `t=0.25`. Check `out.blend == 0.75·W0 + 0.25·W1`, and describe what changes in the projected flows.
            3. In the fit above, unfreeze the `kernels` module too. Does the blend's PSNR move now? Why?
            4. For each preset, how many of the synthesis input channels come from the non-local branch? What would you cut first to save memory at 4K?
            5. Where on the tour crop is the residual largest? Compare it with the blend's error map: does the residual act where the blend is wrong?

            """
            + solutions_link("06_synthesis_and_generator")
        ),
    ]


# ------------------------------------------------------------------------------------------------
# 07 · losses and the relativistic GAN
# ------------------------------------------------------------------------------------------------


def notebook_07() -> list:
    return [
        header(
            "07",
            "Losses and the relativistic GAN",
            [
                "why the pixel loss is Charbonnier, and how it compares with L1 and L2 in value and in gradient, far from and near zero;",
                "the relativistic average GAN losses, computed by hand on six numbers and checked against `nlvfi.losses`;",
                "the VGG-13 discriminator: its stages, shapes and parameter count.",
            ],
            "METHOD.md §3 (¶0202 pixel loss, ¶0205 generator loss, ¶0208–0209 discriminator, ¶0212 adversarial loss); the appendix's ESRGAN design.",
            "< 20 s (ci) / < 30 s (cpu) on a 2-core CPU",
        ),
        code(
            f"""
            {PROFILE_LINE}
            SEED = 0
            EPS = 1e-6  # Charbonnier's epsilon (¶0202)
            DISCRIMINATOR = "tiny"  # discriminator width for the shape table: tiny | small | full
            CROP = 128  # side of the images the discriminator sees here
            """,
            parameters=True,
        ),
        code(
            """
            import math

            import matplotlib.pyplot as plt
            import torch
            import torch.nn.functional as F

            import nlvfi
            from nlvfi import build_discriminator, build_generator, parameter_counts
            from nlvfi.losses import charbonnier, generator_loss, ragan_discriminator_loss, ragan_generator_loss

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            print(f"profile {PROFILE}, device {device}")
            """
        ),
        md(
            r"""
            ## Idea

            **Pixel loss** (¶0202). With the error $x = I_t - \hat I_t$ at a pixel,

            $$\rho(x) = \sqrt{x^2 + \varepsilon^2},\qquad \rho'(x) = \frac{x}{\sqrt{x^2+\varepsilon^2}}\in(-1, 1),\qquad \varepsilon = 10^{-6}.$$

            Far from zero ($|x|\gg\varepsilon$) $\rho \approx |x|$ and $\rho' \approx \operatorname{sign}(x)$: like L1, a large
            error pulls no harder than a small one, so a few impossible pixels (occlusions) do not
            dominate, and the best constant under L1 is the *median* of the candidates, not their
            mean — L2 ($x^2$, gradient $2x$) prefers the average of two plausible answers, i.e. a
            blurred ghost. Near zero ($|x|\lesssim\varepsilon$) $\rho$ is smooth where L1 has a kink: the
            gradient goes through zero continuously instead of jumping from −1 to +1. With 8-bit
            frames (one grey level = 0.004) every visible error is in the L1 regime.
            `nlvfi.losses.charbonnier` averages $\rho$ over pixels (the method writes a sum: same
            minimiser, the scale goes into the learning rate).

            **Relativistic average GAN** (¶0208–0212; ESRGAN's form). $C(\cdot)$ is the raw discriminator
            score, $\sigma$ the sigmoid, and
            $D_{Ra}(a, b) = \sigma\big(C(a) - \mathbb{E}_b\, C(b)\big)$: "how much more real is $a$ than the average $b$?"

            $$L_D = -\tfrac12\Big(\mathbb{E}\log D_{Ra}(I_t,\hat I_t) + \mathbb{E}\log\big(1-D_{Ra}(\hat I_t, I_t)\big)\Big),\qquad
              L_a = -\tfrac12\Big(\mathbb{E}\log\big(1-D_{Ra}(I_t,\hat I_t)\big) + \mathbb{E}\log D_{Ra}(\hat I_t, I_t)\Big).$$

            The generator's loss $L_a$ has a term on the *real* frames too, so it receives gradient
            from both; only score *differences* matter. The generator minimises
            $L_G = L_c + \lambda L_a$ (¶0205) with $\lambda = 5\cdot10^{-3}$.
            Handy identities: $-\log\sigma(z) = \operatorname{softplus}(-z)$ and $-\log(1-\sigma(z)) = \operatorname{softplus}(z)$.
            """
        ),
        md(
            """
            ## Build it

            ### Charbonnier on four numbers, by hand
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            errors = [0.0, 1e-6, 0.01, 0.5]
            by_hand = [math.sqrt(x**2 + EPS**2) for x in errors]
            pred = torch.tensor(errors, dtype=torch.float64)  # (4,)
            ours = charbonnier(pred, torch.zeros_like(pred), eps=EPS, reduction="sum")
            assert math.isclose(ours.item(), sum(by_hand), rel_tol=1e-12), (ours.item(), sum(by_hand))
            assert math.isclose(charbonnier(pred, torch.zeros_like(pred), eps=EPS).item(), sum(by_hand) / 4, rel_tol=1e-12)
            for x, r in zip(errors, by_hand):
                print(f"x = {x:<6g}  rho(x) = {r:.10f}   |x| = {abs(x):.10f}   rho - |x| = {r - abs(x):.2e}")
            print(f"sum: nlvfi {ours.item():.10f} = by hand {sum(by_hand):.10f}")
            """
        ),
        md(
            """
            ### Gradients near zero

            Autograd through `charbonnier`, checked against $x/\\sqrt{x^2+\\varepsilon^2}$, next to L1's and L2's.
            At $x=\\varepsilon$ Charbonnier's slope is $1/\\sqrt2$; L1 is already at 1 and L2 at $2\\cdot10^{-6}$.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            x = torch.tensor([-0.5, -1e-5, -1e-6, 0.0, 1e-6, 1e-5, 0.5], dtype=torch.float64, requires_grad=True)  # (7,)
            charbonnier(x, torch.zeros_like(x), eps=EPS, reduction="sum").backward()
            x_ = x.detach()
            grad_charbonnier = x.grad.detach()  # (7,)
            assert torch.allclose(grad_charbonnier, x_ / torch.sqrt(x_**2 + EPS**2))
            grad_l1, grad_l2 = torch.sign(x_), 2 * x_  # (7,) each
            print(f"{'x':>8} {'dL1/dx':>8} {'dL2/dx':>10} {'drho/dx':>9}")
            for row in zip(x_.tolist(), grad_l1.tolist(), grad_l2.tolist(), grad_charbonnier.tolist()):
                print(f"{row[0]:>8.0e} {row[1]:>8.3f} {row[2]:>10.1e} {row[3]:>9.4f}")
            """
        ),
        md(
            """
            ### Median or mean?

            Five pixels' candidate values, one of them an outlier (say, an occluded pixel). Which single
            value does each loss prefer? Scan a grid and take the argmin.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            values = torch.tensor([0.10, 0.11, 0.12, 0.13, 0.90], dtype=torch.float64)  # (5,)
            grid = torch.linspace(0, 1, 1001, dtype=torch.float64)  # (1001,)
            penalty = {
                "L2": [((c - values) ** 2).mean().item() for c in grid],
                "L1": [(c - values).abs().mean().item() for c in grid],
                "Charbonnier": [charbonnier(c.expand(5), values, eps=EPS).item() for c in grid],
            }
            best = {name: grid[torch.tensor(curve).argmin()].item() for name, curve in penalty.items()}
            print(f"mean {values.mean().item():.3f}, median {values.median().item():.3f}")
            for name, value in best.items():
                print(f"{name:12s} prefers {value:.3f}")
            assert abs(best["Charbonnier"] - values.median().item()) < 1e-9
            """
        ),
        md(
            """
            ### The relativistic losses on six numbers

            Three real frames and three generated ones; their raw scores below. By hand with `math`,
            then with `nlvfi.losses`.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            real = [2.0, 0.5, 1.0]  # C(I_t) for three true middle frames
            fake = [-1.0, 0.5, 0.0]  # C(Î_t) for three generated frames


            def sigmoid(z):
                return 1 / (1 + math.exp(-z))


            def mean(xs):
                return sum(xs) / len(xs)


            real_vs_fake = [r - mean(fake) for r in real]  # logits of D_Ra(real, fake)
            fake_vs_real = [f - mean(real) for f in fake]  # logits of D_Ra(fake, real)
            L_D_hand = 0.5 * (mean([-math.log(sigmoid(z)) for z in real_vs_fake]) + mean([-math.log(1 - sigmoid(z)) for z in fake_vs_real]))
            L_a_hand = 0.5 * (mean([-math.log(1 - sigmoid(z)) for z in real_vs_fake]) + mean([-math.log(sigmoid(z)) for z in fake_vs_real]))

            c_real = torch.tensor(real, dtype=torch.float64)  # (3,)
            c_fake = torch.tensor(fake, dtype=torch.float64)  # (3,)
            L_D = ragan_discriminator_loss(c_real, c_fake).item()
            L_a = ragan_generator_loss(c_real, c_fake).item()
            assert math.isclose(L_D, L_D_hand, rel_tol=1e-12) and math.isclose(L_a, L_a_hand, rel_tol=1e-12)
            print(f"mean C(real) {mean(real):.4f}, mean C(fake) {mean(fake):.4f}")
            print("D_Ra(real, fake):", [round(sigmoid(z), 4) for z in real_vs_fake], "(D wants 1)")
            print("D_Ra(fake, real):", [round(sigmoid(z), 4) for z in fake_vs_real], "(D wants 0)")
            print(f"L_D: by hand {L_D_hand:.6f}, nlvfi {L_D:.6f}")
            print(f"L_a: by hand {L_a_hand:.6f}, nlvfi {L_a:.6f}")
            """
        ),
        md(
            """
            Only differences of scores enter, so adding a constant to every score changes nothing —
            unlike the standard GAN's losses (binary cross-entropy of each score on its own). That is
            why the discriminator's last linear layer has no bias: it would never get a gradient.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            shift = 10.0
            relativistic = [ragan_discriminator_loss(c_real + s, c_fake + s).item() for s in (0.0, shift)]
            standard = [
                (F.binary_cross_entropy_with_logits(c_real + s, torch.ones_like(c_real))
                 + F.binary_cross_entropy_with_logits(c_fake + s, torch.zeros_like(c_fake))).item() / 2
                for s in (0.0, shift)
            ]  # fmt: skip
            assert math.isclose(relativistic[0], relativistic[1], rel_tol=1e-12)
            print(f"relativistic L_D: {relativistic[0]:.6f} -> {relativistic[1]:.6f} after adding {shift:g} to every score")
            print(f"standard GAN L_D: {standard[0]:.6f} -> {standard[1]:.6f}")
            """
        ),
        md(
            """
            The generator gets gradient from both terms of $L_a$: through $C(\\hat I_t)$ in
            $D_{Ra}(\\hat I_t, I_t)$, and through the batch mean of $C(\\hat I_t)$ inside $D_{Ra}(I_t, \\hat I_t)$.
            Derivative by hand, per fake score $j$ (batch size $n$), checked with autograd:
            $\\partial L_a/\\partial C_j = -\\tfrac{1}{2n^2}\\sum_i \\sigma(z^{rf}_i) - \\tfrac{1}{2n}\\sigma(-z^{fr}_j)$.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            c_fake_g = c_fake.clone().requires_grad_(True)  # (3,)
            ragan_generator_loss(c_real, c_fake_g).backward()
            n = len(fake)
            through_real_term = [-0.5 / n**2 * sum(sigmoid(z) for z in real_vs_fake)] * n  # via mean C(fake)
            through_fake_term = [-0.5 / n * sigmoid(-z) for z in fake_vs_real]  # via C(fake_j) itself
            by_hand = torch.tensor([a + b for a, b in zip(through_real_term, through_fake_term)], dtype=torch.float64)
            assert torch.allclose(c_fake_g.grad, by_hand)
            print("dL_a/dC(fake), autograd:", [round(g, 5) for g in c_fake_g.grad.tolist()])
            print("  from the real-frame term:", [round(g, 5) for g in through_real_term])
            print("  from the fake-frame term:", [round(g, 5) for g in through_fake_term])
            """
        ),
        md(
            """
            And the generator's whole objective, $L_G = L_c + \\lambda L_a$: with $\\lambda = 5\\cdot10^{-3}$ the
            adversarial term is a nudge next to the pixel loss.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            pred = torch.full((1, 3, 8, 8), 0.50, dtype=torch.float64)  # (B, 3, H, W)
            target = torch.full((1, 3, 8, 8), 0.56, dtype=torch.float64)  # (B, 3, H, W)
            L_c = charbonnier(pred, target).item()
            L_G = generator_loss(pred, target, c_real, c_fake, adversarial_weight=5e-3).item()
            assert math.isclose(L_G, L_c + 5e-3 * L_a, rel_tol=1e-12)
            print(f"L_c = {L_c:.6f}, lambda·L_a = {5e-3 * L_a:.6f}, L_G = {L_G:.6f}")
            """
        ),
        md(
            """
            ### The discriminator

            VGG-13's ten 3x3 convolutions in five stages of two; the second conv of each stage is a
            stride-2 4x4 (no pooling), BatchNorm, LeakyReLU 0.2, an adaptive 4x4 average pool (any
            input size), two linear layers to one raw score per image. Forward hooks record each
            layer's output shape:
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            D = build_discriminator(DISCRIMINATOR).eval()
            images = torch.rand(2, 3, CROP, CROP)  # (B, 3, H, W) in [0, 1]
            rows = []
            hooks = [
                module.register_forward_hook(lambda m, i, o, name=name: rows.append((name, m, tuple(o.shape))))
                for name, module in D.named_modules()
                if isinstance(module, (torch.nn.Conv2d, torch.nn.AdaptiveAvgPool2d, torch.nn.Linear))
            ]
            with torch.no_grad():
                scores = D(images)  # (B,)
            for hook in hooks:
                hook.remove()
            convs = [m for _, m, _ in rows if isinstance(m, torch.nn.Conv2d)]
            assert len(convs) == 10, f"VGG-13 has ten convolutions, found {len(convs)}"
            assert scores.shape == (2,), f"one score per image expected, got {tuple(scores.shape)}"
            for name, module, shape in rows:
                if isinstance(module, torch.nn.Conv2d):
                    kind = f"conv {module.kernel_size[0]}x{module.kernel_size[1]} /{module.stride[0]}"
                else:
                    kind = type(module).__name__
                print(f"{name:14s} {kind:18s} -> {shape}")
            print(f"input {tuple(images.shape)} -> scores {tuple(scores.shape)}")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            for size in nlvfi.PRESETS:
                counts = parameter_counts(build_discriminator(size))
                print(f"discriminator {size:5s}: features {counts['features']:>10,}  classifier {counts['classifier']:>9,}  total {counts['total']:>10,}")
            print(f"generator     tiny : total {parameter_counts(build_generator('tiny'))['total']:>10,}")
            for shape in [(1, 3, 64, 96), (3, 3, 100, 150), (1, 3, 256, 256)]:
                with torch.no_grad():
                    s = D(torch.rand(shape))  # (B,)
                assert s.shape == (shape[0],)
                print(f"any size: {shape} -> {tuple(s.shape)}")
            """
        ),
        md(
            """
            ## See it

            Left and centre: the three pixel penalties and their gradients (note the near-zero
            window is $\\pm 5\\varepsilon$ wide). Right: both relativistic losses for a batch whose real
            and fake scores differ by a gap $\\Delta = C(\\text{real}) - C(\\text{fake})$, computed with `nlvfi.losses`.
            """
        ),
        code(
            """
            # Figure: pixel penalties, their gradients near zero, and the relativistic losses against the score gap
            wide = torch.linspace(-1, 1, 401, dtype=torch.float64)  # (401,)
            near = torch.linspace(-5 * EPS, 5 * EPS, 401, dtype=torch.float64, requires_grad=True)  # (401,)
            charbonnier(near, torch.zeros_like(near), eps=EPS, reduction="sum").backward()
            near_ = near.detach()
            gaps = torch.linspace(-6, 6, 121, dtype=torch.float64)  # (121,)
            curve_d = [ragan_discriminator_loss(g.view(1) / 2, -g.view(1) / 2).item() for g in gaps]
            curve_a = [ragan_generator_loss(g.view(1) / 2, -g.view(1) / 2).item() for g in gaps]
            rho_wide = [charbonnier(v.view(1), torch.zeros(1, dtype=torch.float64), eps=EPS).item() for v in wide]

            fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
            ax = axes[0]
            ax.plot(wide, wide.abs(), label="L1 |x|", lw=3, alpha=0.5)
            ax.plot(wide, wide**2, label="L2 x²")
            ax.plot(wide, rho_wide, "--", label="Charbonnier ρ(x), ε = 1e-6")
            ax.set(title="penalty, errors in [-1, 1]", xlabel="error x", ylabel="penalty")
            ax.legend()
            ax = axes[1]
            ax.step(near_ / EPS, torch.sign(near_), where="mid", label="L1: sign(x)", lw=3, alpha=0.5)
            ax.plot(near_ / EPS, 2 * near_, label="L2: 2x (≈ 0 here)")
            ax.plot(near_ / EPS, near.grad, "--", label="Charbonnier: x / √(x² + ε²)")
            ax.set(title="gradient near zero", xlabel="error x (units of ε = 1e-6)", ylabel="d penalty / dx")
            ax.legend(loc="lower right")
            ax = axes[2]
            ax.plot(gaps, curve_d, label="discriminator L_D")
            ax.plot(gaps, curve_a, label="generator L_a")
            ax.axhline(math.log(2), color="grey", ls=":", label="log 2: D cannot tell (Δ = 0)")
            ax.set(title="relativistic losses vs score gap", xlabel="Δ = C(real) - C(fake)", ylabel="loss")
            ax.legend()
            fig.suptitle("Pixel loss and adversarial loss of nlvfi (METHOD.md §3)")
            plt.show()
            """
        ),
        md(
            """
            ## Summary

            - Charbonnier is L1 for every error you can see and smooth below ε = 1e-6; like L1 it picks the median of conflicting candidates, where L2 picks their blurred mean.
            - The relativistic average losses compare a real score with the mean fake score (and back); only differences matter, and the generator is pushed by both terms.
            - The VGG-13 discriminator (ten convolutions, 4x4 stride-2 downsampling, an adaptive pool) scores images of any size; at `tiny` width it already has ~4x the generator's parameters.

            ## Exercises

            1. With ε = 0.1 instead of 1e-6, from which |x| on is ρ(x) within 1 % of |x|?
            2. For a batch of one real and one fake score, write $L_D$ and $L_a$ as functions of the gap Δ alone, and check them against the right panel. What are both at Δ = 0, and why is that the value to expect at the start of the GAN phase?
            3. Give the six scores of the toy example a common shift and a common scale (×2). Which of $L_D$, $L_a$ change, and why does scale matter when shift does not?
            4. Run the discriminator on a 1920x1080 frame: which shape reaches the adaptive pool, and how many positions does each of its 4x4 cells average?
            5. Replace Charbonnier by L2 in the "median or mean" experiment with two candidate values only (0.2 and 0.8, e.g. an object here or there). What frame would an L2-trained interpolator draw?

            """
            + solutions_link("07_losses_and_ragan")
        ),
    ]


# ------------------------------------------------------------------------------------------------
# 08 · training
# ------------------------------------------------------------------------------------------------


def notebook_08() -> list:
    return [
        header(
            "08",
            "Training with the GAN objective",
            [
                "the two-phase recipe — Charbonnier pre-training, then relativistic-GAN fine-tuning with alternating discriminator steps — and what each column of the training log means;",
                "how to read the loss curves (pixel loss, adversarial losses, the discriminator's scores, learning rate, validation PSNR);",
                "how to stop a run and resume it exactly from its checkpoint, and what runs in bf16 on a GPU.",
            ],
            "METHOD.md §3 (¶0189–0213).",
            "< 60 s (ci) / ~5 min (cpu, a shortened run; 4.4 min measured) on a 2-core CPU; the cuda profile is the real run (hours on one GPU)",
        ),
        code(
            f"""
            {PROFILE_LINE}
            SEED = 0
            ROOT = "../"  # the repository root, seen from notebooks/ (paths inside the configs are relative to it)
            CONFIG_DIR = "../configs"  # the recipe is CONFIG_DIR/<PROFILE>.toml: ci.toml, cpu.toml or cuda.toml
            RUN_ROOT = None  # folder in which a fresh run folder is made; None: the system temp folder (never runs/)
            SHIPPED_LOG = "../checkpoints/nlvfi-cpu.log.csv"  # the shipped checkpoint's stage-1 training log (cpu profile)
            SHIPPED_VALIDATION = "../checkpoints/nlvfi-cpu.validation.csv"  # and its validation log
            CPU_SHORT_STEPS = [100, 150, 50]  # flow-only, pretrain, GAN steps of the shortened run in the cpu profile
            """,
            parameters=True,
        ),
        code(
            """
            import csv
            import math
            import tempfile
            import time
            from collections import Counter
            from pathlib import Path

            import matplotlib.pyplot as plt
            import numpy as np
            import torch

            import nlvfi
            from nlvfi.acceleration import keep_freed_cpu_memory
            from nlvfi.train import LOG_COLUMNS, STATE_FILE, Trainer
            from nlvfi.train_config import load_train_config

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            print(f"profile {PROFILE}, device {device}, torch {torch.__version__}")
            """
        ),
        md(
            r"""
            ## Idea

            Two phases (¶0189–0213; the public designs DAIN and ESRGAN):

            1. **Pre-training**: minimise the pixel loss $L_c$ (Charbonnier, notebook 07) alone. A GAN
               on top of a random generator is unstable, and the discriminator would win on trivial cues.
            2. **GAN fine-tuning**: per batch, one generator step on $L_G = L_c + \lambda L_a$, then one
               discriminator step on the mirrored loss $L_D$ (¶0212), with $\lambda = 5\cdot10^{-3}$.

            Our CPU recipe adds an optional **phase 0** before them (`flow_pretrain_steps`): the flow
            module alone learns to match true flows on synthetic scenes and OpenCV DIS flows on real
            crops (`flow_teacher = "dis"`). From the pixel loss alone, a small flow network stayed at
            zero flow in our CPU budget (`checkpoints/analysis.md`); a flow that already matches gives
            phases 1 and 2 warped frames worth using.

            ```
            for step, (prev, middle, next) in batches:             # order = f(seed, epoch, step): resumable
                fake = G(prev, next, t)                            # bf16 autocast on CUDA
                loss = L_c(fake, middle)                           # phase 1 stops here
                if step >= pretrain_steps:                         # phase 2
                    loss += λ · L_a(C(middle).detach(), C(fake))
                G.step(loss)
                if step >= pretrain_steps:
                    D.step(L_D(C(middle), C(fake.detach())))
            ```

            The training log (`log.csv`, one row per step):

            | column | meaning |
            |---|---|
            | `step`, `phase` | 1-based step; `flow` (optional phase 0), `pretrain` or `gan` |
            | `loss_g`, `loss_pixel`, `loss_adv` | $L_G$, $L_c$, $L_a$ (GAN phase) |
            | `loss_flow`, `loss_depth` | optional supervision: end-point error to true (synthetic) or teacher (DIS, real) flows; depth on synthetic scenes |
            | `loss_d`, `d_real`, `d_fake` | $L_D$, batch mean of $C(\text{real})$ and $C(\text{fake})$ |
            | `lr_g`, `lr_d`, `samples_per_s` | learning rates (cosine decay for G), throughput |

            `validation.csv` has PSNR/SSIM on held-out triplets every `validate_every` steps.
            A checkpoint (`last.pt`) holds *everything* — both models, both optimisers and schedulers,
            the step and every RNG state — so `--resume` continues bit for bit on the CPU.

            **bf16 on CUDA.** The trainer wraps the forward passes in `torch.autocast("cuda", bfloat16)`:
            convolutions run in bf16, but the geometry (flow accumulation, projection, warping) and the
            output stay float32 — a bf16 pixel coordinate at 1080p is only accurate to ~8 px. On the CPU
            it trains in float32. Several GPUs: `torchrun --nproc_per_node N -m nlvfi.train --config configs/cuda.toml`.

            **Memory on the CPU.** Each step frees its activations and gradients, and glibc's malloc
            hands every freed block of 32 MiB or more back to the kernel; the next step gets fresh
            pages, which the kernel zeroes first. `nlvfi train` asks malloc to keep that memory for the
            next step (`nlvfi.acceleration.keep_freed_cpu_memory`); below, the notebook does the same. It
            does not change what is computed, only where the time goes (`results/cpu_training.md`).
            """
        ),
        md(
            """
            ## Build it

            The recipe is `configs/<PROFILE>.toml`. `ci` takes seconds (it proves that training runs;
            it does not make a useful model). `cpu` is the recipe of the shipped checkpoint's first stage (a
            second and a third, `configs/finetune_cpu.toml` and `configs/finetune_sizes_cpu.toml`, fine-tune
            it on real footage), which takes up to 90 minutes in full, so here it is **shortened** to `CPU_SHORT_STEPS`, and the curves below show
            that run's own log when the log is present. `cuda` is the real run. Every run goes into
            a new folder made for it, never into the repository's `runs/`, and never over an existing run.
            """
        ),
        code(
            """
            if PROFILE == "cuda" and device != "cuda":
                raise RuntimeError("the cuda profile is the real run and needs a GPU; use PROFILE = 'cpu' or 'ci' here")
            config = load_train_config(Path(CONFIG_DIR) / f"{PROFILE}.toml")
            full_steps = config.total_steps
            config.data.videos = [str(Path(ROOT) / v) for v in config.data.videos]  # relative to the repository root
            for key in ("video_cache", "vimeo_root"):
                if getattr(config.data, key):
                    setattr(config.data, key, str(Path(ROOT) / getattr(config.data, key)))
            if config.model.init:
                config.model.init = str(Path(ROOT) / config.model.init)
            if PROFILE == "cpu":
                config.optim.flow_pretrain_steps, config.optim.pretrain_steps, config.optim.gan_steps = CPU_SHORT_STEPS
                config.run.validate_every = config.run.checkpoint_every = max(1, config.total_steps // 2)
                config.data.val_synthetic_samples = min(config.data.val_synthetic_samples, 8)  # quicker validation
                config.data.val_video_triplets = min(config.data.val_video_triplets, 8)
                missing = [v for v in config.data.videos if not Path(v).is_file()]
                if missing:
                    print(f"real clips not found ({', '.join(missing)}; `nlvfi data fetch` installs them): synthetic scenes only")
                    config.data.videos, config.data.val_video_triplets = [], 0
                print(f"cpu profile: a SHORTENED run of the shipped recipe, {config.total_steps} of its {full_steps} steps")
            if RUN_ROOT:
                Path(RUN_ROOT).mkdir(parents=True, exist_ok=True)
            run_dir = Path(tempfile.mkdtemp(prefix=f"nlvfi-08-{PROFILE}-", dir=RUN_ROOT))  # new and empty
            config.run.out_dir = str(run_dir)
            config.run.device = device
            print(f"run folder: {run_dir}")
            if keep_freed_cpu_memory(device):  # as `nlvfi train` does: each step reuses the memory the last one freed
                print("CPU: freed memory kept for the next step, not handed back to the kernel (nlvfi/acceleration.py)")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            o, d = config.optim, config.data
            print(f"generator {config.model.size}, discriminator {config.model.discriminator_size}")
            print(f"data: {d.synthetic_samples} synthetic scenes {d.synthetic_motion} in {d.crop_size}px crops, {len(d.videos)} real clip(s)")
            if o.flow_pretrain_steps:
                print(f"phase 0: {o.flow_pretrain_steps} steps of the flow module alone (EPE to true flows" + (", DIS flows on real crops)" if d.flow_teacher else ")"))
            print(f"phase 1: {o.pretrain_steps} steps of L_c; phase 2: {o.gan_steps} steps of L_c + {o.adversarial_weight:g}·L_a, alternating with D")
            print(f"batch {o.batch_size}; lr G {o.lr_generator:g} (cosine to x{o.lr_final_fraction:g}), lr D {o.lr_discriminator:g}; grad clip {o.grad_clip:g}")
            """
        ),
        md(
            """
            ### What runs in bf16

            The trainer's autocast, tried on a fresh generator on this device: hooks record each
            sub-network's output dtype. (On the CPU this is only a demonstration — it is slow there,
            and the trainer uses float32.)
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            probe = nlvfi.build_generator(config.model.size).to(device)
            dtypes = {}


            def record_dtype(module, inputs, output):
                first = output[0] if isinstance(output, tuple) else output  # flow, kernels: (prev, next) pairs
                dtypes[module.__class__.__name__] = first.dtype  # returns None: the output is left as it is


            for name in ("flow", "kernels", "nonlocal_branch", "synthesis"):
                getattr(probe, name).register_forward_hook(record_dtype)
            pair = torch.rand(2, 1, 3, 64, 64, device=device)  # (prev/next, B, 3, H, W)
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                probe_out = probe(pair[0], pair[1], return_intermediates=True)
            for name, dtype in dtypes.items():
                print(f"{name:16s} output {dtype}")
            print(f"projected flows {probe_out.projected_flows[0].dtype}, blend {probe_out.blend.dtype}, frame {probe_out.frame.dtype}")
            assert probe_out.frame.dtype == torch.float32 and probe_out.projected_flows[0].dtype == torch.float32
            """
        ),
        md(
            """
            ### Train, stop half-way, resume

            `stop_after` ends the run early and checkpoints it, as an interrupted job would.
            """
        ),
        code(
            """
            half = config.total_steps // 2
            trainer = Trainer(config, stop_after=half, quiet=True)
            print(f"training on {trainer.device}: {len(trainer.train_set)} training triplets, held-out sets {list(trainer.held_out)}")
            start = time.perf_counter()
            trainer.fit()
            print(f"stopped after step {trainer.step} in {time.perf_counter() - start:.1f} s")
            """
        ),
        code(
            """
            def read_log(path):
                \"\"\"A training CSV as a list of dicts (one per row).\"\"\"
                with open(path, newline="") as f:
                    return list(csv.DictReader(f))


            def column(rows, key):
                \"\"\"One column as floats, NaN where empty (e.g. GAN columns in phase 1).\"\"\"
                return np.array([float(r[key]) if r.get(key) else np.nan for r in rows])
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            rows = read_log(run_dir / "log.csv")
            state = torch.load(run_dir / STATE_FILE, map_location="cpu", weights_only=True)
            assert len(rows) == half == state["step"], (len(rows), half, state["step"])
            assert list(rows[0]) == LOG_COLUMNS
            print(f"log rows: {len(rows)}; checkpoint at step {state['step']}")
            print("files:", sorted(p.name for p in run_dir.iterdir()))
            print("the state holds:", sorted(state))
            """
        ),
        code(
            """
            resumed = Trainer(config, resume=True, quiet=True)
            print(f"resumed at step {resumed.step} of {config.total_steps}")
            start = time.perf_counter()
            resumed.fit()
            print(f"finished at step {resumed.step} in {time.perf_counter() - start:.1f} s")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            rows = read_log(run_dir / "log.csv")
            steps = [int(r["step"]) for r in rows]
            assert steps == list(range(1, config.total_steps + 1)), "the log must continue without gap or repeat"
            print(f"{len(rows)} rows, steps {steps[0]}..{steps[-1]} without gap or repeat; phases {dict(Counter(r['phase'] for r in rows))}")
            generator = nlvfi.load_generator(run_dir / "generator_last.safetensors")
            print(f"generator_last.safetensors: a {generator.config.name} generator, {sum(p.numel() for p in generator.parameters()):,} parameters")
            """
        ),
        code(
            """
            validation = read_log(run_dir / "validation.csv")
            for r in validation:
                print(f"step {r['step']:>5}  {r['set']:10s} PSNR {float(r['psnr']):6.2f} dB  SSIM {float(r['ssim']):.4f}  ({r['n']} triplets)")
            print(f"throughput: {np.nanmean(column(rows, 'samples_per_s')):.1f} samples/s on {device}")
            """
        ),
        md(
            """
            ## See it

            Loss curves from the CSV log: in the `cpu` profile the shipped checkpoint's own run when
            its log is present (the short run above is then only the resume demonstration), otherwise
            this notebook's run. For long logs a thick line adds a moving average.
            """
        ),
        code(
            """
            # Figure: training curves from the CSV log (pixel loss and lr, adversarial losses, D scores, validation PSNR)
            shipped = PROFILE == "cpu" and Path(SHIPPED_LOG).is_file()
            if shipped:
                curves, source = read_log(SHIPPED_LOG), f"the shipped checkpoint's run ({SHIPPED_LOG})"
                val_rows = read_log(SHIPPED_VALIDATION) if Path(SHIPPED_VALIDATION).is_file() else []
            else:
                curves, source, val_rows = rows, f"this notebook's {PROFILE} run (resumed at step {half})", validation
            print("loss curves from", source)
            by_step = {int(r["step"]): r for r in curves}  # a run resumed from an older checkpoint re-logs the steps after it:
            if len(by_step) < len(curves):  # keep the last row of each step (the run that continued)
                print(f"{len(curves) - len(by_step)} repeated step(s) in the log: keeping the latest row of each")
                curves = [by_step[k] for k in sorted(by_step)]

            step = column(curves, "step")
            gan = np.array([r["phase"] == "gan" for r in curves])
            window = max(1, len(curves) // 50)


            def smooth(values):
                \"\"\"Moving average over `window` logged values (empty entries skipped), at each window's last step.\"\"\"
                known = np.isfinite(values)
                return step[known][window - 1 :], np.convolve(values[known], np.ones(window) / window, mode="valid")


            fig, axes = plt.subplots(2, 2, figsize=(13, 8), layout="constrained")
            ax = axes[0, 0]
            ax.plot(step, column(curves, "loss_pixel"), lw=0.8 if window > 1 else 2, alpha=0.5 if window > 1 else 1, label="L_c per step")
            if window > 1:
                ax.plot(*smooth(column(curves, "loss_pixel")), lw=2, label=f"L_c, moving average of {window}")
            if np.isfinite(column(curves, "loss_flow")).any():
                ax.plot(*smooth(column(curves, "loss_flow")), lw=1.5, color="tab:green", label="flow EPE (px), moving average")
            ax.set(yscale="log", xlabel="step", ylabel="loss", title="pixel loss (and flow EPE)")
            ax2 = ax.twinx()
            ax2.plot(step, column(curves, "lr_g"), color="grey", ls="--", label="lr G")
            ax2.set_ylabel("generator learning rate")
            ax2.legend(loc="lower left")
            ax = axes[0, 1]
            ax.plot(step[gan], column(curves, "loss_adv")[gan], label="L_a (generator)")
            ax.plot(step[gan], column(curves, "loss_d")[gan], label="L_D (discriminator)")
            ax.axhline(math.log(2), color="grey", ls=":", label="log 2: D cannot tell")
            ax.set(xlabel="step", ylabel="loss", title="adversarial losses (GAN phase)")
            ax = axes[1, 0]
            ax.plot(step[gan], column(curves, "d_real")[gan], label="mean C(real)")
            ax.plot(step[gan], column(curves, "d_fake")[gan], label="mean C(fake)")
            ax.set(xlabel="step", ylabel="raw score", title="discriminator scores (GAN phase)")
            if not gan.any():
                for ax in (axes[0, 1], axes[1, 0]):
                    ax.text(0.5, 0.5, "no GAN steps in this log (yet)", transform=ax.transAxes, ha="center", color="grey")
            ax = axes[1, 1]
            for name in sorted({r["set"] for r in val_rows}):
                chosen = [r for r in val_rows if r["set"] == name]
                ax.plot(column(chosen, "step"), column(chosen, "psnr"), "o-", label=f"{name} held-out")
            ax.set(xlabel="step", ylabel="PSNR (dB)", title="validation")
            for ax in axes.flat:
                if gan.any():
                    ax.axvspan(step[gan].min() - 0.5, step.max() + 0.5, color="orange", alpha=0.08)
                if not shipped:
                    ax.axvline(half + 0.5, color="black", ls="--", lw=1)
                handles, labels = ax.get_legend_handles_labels()
                if handles:
                    ax.legend(loc="upper right", fontsize=9)
            fig.suptitle(f"Training log of {source} — shaded: GAN phase" + ("" if shipped else "; dashed: stop / resume"))
            plt.show()
            """
        ),
        md(
            """
            ## Summary

            - Training is Charbonnier pre-training, then GAN fine-tuning with $L_G = L_c + \\lambda L_a$ and one discriminator step per generator step; every step is a row of `log.csv`.
            - A checkpoint holds models, optimisers, schedulers, step and RNG states, so a stopped run resumes exactly where it stopped: the log continues without gap or repeat.
            - On CUDA the convolutions run in bf16 while flows, warping and the output stay float32; the `cuda` profile is the real run, `cpu` the shipped checkpoint's first stage.

            ## Exercises

            1. Run the `ci` recipe straight through (no `stop_after`) into another fresh folder and compare its `log.csv` with the resumed run's, row by row. What differs?
            2. Set `config.optim.adversarial_weight = 0.05` (10x). What happens to `loss_pixel` during the GAN phase, and to the validation PSNR?
            3. Why does `loss_d` start near log 2 ≈ 0.693 at the first GAN step? What would a value far below it late in training tell you?
            4. Try to resume the run with `config.model.size = "small"`. Which error do you get, and before or after anything is written?
            5. On a GPU, time 20 steps with and without autocast (set the device to `cuda`, and compare `samples_per_s`).

            """
            + solutions_link("08_training")
        ),
    ]


# ------------------------------------------------------------------------------------------------
# 09 · attention explorer
# ------------------------------------------------------------------------------------------------


def notebook_09() -> list:
    return [
        header(
            "09",
            "Attention explorer",
            [
                "how to read one row of the self-attention weights as a map over both input frames;",
                "how far one position looks (the mean attended distance) compared with the local path's reach;",
                "how to explore examples and query pixels interactively, small against large motion.",
            ],
            "METHOD.md §2.2 step 3 (¶0141–0152) and §1 (¶0116, ¶0124: a receptive field up to the whole image).",
            "< 40 s (ci) / 1 min (cpu) on a 2-core CPU",
        ),
        code(
            f"""
            {PROFILE_LINE}
            SEED = 0
            DATA_DIR = "../data/tour"  # the bundled real triplet: prev.png, middle.png, next.png (768x576)
            CHECKPOINT = "../checkpoints/nlvfi-cpu.safetensors"  # loaded when present, else an untrained generator
            """,
            parameters=True,
        ),
        code(
            """
            from pathlib import Path

            import matplotlib.pyplot as plt
            import numpy as np
            import torch

            from nlvfi import build_generator, load_generator
            from nlvfi.explorer import attended_distance, attention_figure, attention_map, explorer_widget, run_example, synthetic_examples
            from nlvfi.io import read_frame
            from nlvfi.tour import most_changing_pixel

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            SIZE = {"ci": 128, "cpu": 256, "cuda": 256}[PROFILE]  # side of the synthetic examples
            COUNT = {"ci": 2, "cpu": 4, "cuda": 6}[PROFILE]  # synthetic examples per motion size
            print(f"profile {PROFILE}, device {device}")
            """
        ),
        md(
            r"""
            ## Idea

            The non-local branch reduces the concatenated pair (6 channels) 16x and runs self-attention
            on the $h \times w$ map, $N = hw$ positions (notebook 04):

            $$A = \operatorname{softmax}_{\text{keys}}\!\big(Q K^\top\big) \in \mathbb{R}^{N\times N},\qquad \sum_m A_{nm} = 1 .$$

            Row $n$ of $A$ is where position $n$ looks. A position of the reduced map stands for the same
            16x16 block of **both** frames at once (their channels were stacked), so one row is one map;
            we draw it over prev and over next to see what lies there in each. Two numbers help read it:
            the uniform weight $1/N$ (a row that looks everywhere equally), and the **mean attended
            distance** $\sum_m A_{nm}\,\lVert c_m - q\rVert$ from the query $q$ to the cell centres $c_m$ — the
            local path's 3x3 convolutions reach 1 px per layer, the 4x4 adaptive kernel 2 px around
            the flow target. Whether a trained model looks farther when motion is large is what the
            toggle below lets you check.
            """
        ),
        md("## Build it"),
        code(
            """
            if Path(CHECKPOINT).is_file():
                generator = load_generator(CHECKPOINT, device=device)
                weights = f"trained weights from {CHECKPOINT}"
            else:
                generator = build_generator("tiny").to(device)
                weights = f"UNTRAINED tiny generator (no file at {CHECKPOINT}): its attention is not learnt yet"
            generator.eval()
            print(weights)
            print(f"attention output scale gamma = {generator.nonlocal_branch.attention.gamma.item():.4f} (0 at initialisation)")
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            prev, middle, nxt = (read_frame(Path(DATA_DIR) / f"{n}.png").to(device) for n in ("prev", "middle", "next"))  # (1, 3, H, W)
            tour = run_example(generator, prev, nxt, name="tour (real, vtest.avi)", middle=middle)
            h, w = tour.grid
            assert tour.attention.shape == (h * w, h * w), tour.attention.shape  # (N, N)
            assert torch.allclose(tour.attention.sum(1), torch.ones(h * w), atol=1e-4), "each row must sum to 1"
            print(f"frame {tour.size}, padded to {tour.padded}, attention grid {h}x{w} = {h * w} positions of {tour.stride}x{tour.stride} px")
            print(f"attention {tuple(tour.attention.shape)}, every row sums to 1")
            """
        ),
        md("The query: the pixel where the two frames differ most (a walking person), as in `nlvfi tour`."),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            query = most_changing_pixel(prev, nxt)  # (y, x)
            row = attention_map(tour, query)  # (h, w)
            assert row.shape == (h, w) and abs(row.sum() - 1) < 1e-4
            print(f"query (y, x) = {query}; its row as a {row.shape} map, sum {row.sum():.4f}")
            """
        ),
        code(
            """
            H, W, s = *tour.size, tour.stride
            centres = [(min(r * s + s // 2, H - 1), min(c * s + s // 2, W - 1)) for r in range(h) for c in range(w)]  # one query per cell
            distances = np.array([attended_distance(tour, q) for q in centres])  # (N,)
            print(f"query: max weight {row.max():.4f} (uniform {1 / row.size:.4f}), mean attended distance {attended_distance(tour, query):.0f} px")
            print(f"all {len(distances)} cells: mean attended distance median {np.median(distances):.0f} px (range {distances.min():.0f}–{distances.max():.0f});")
            print("for comparison: a 3x3 convolution reaches 1 px, the 4x4 adaptive kernel 2 px around the flow target")
            if row.max() < 2 / row.size:
                print("this row is nearly uniform: the attention averages over the whole frame (typical before training)")
            """
        ),
        md(
            """
            ## See it

            The plain function first (it draws in any run, headless included): where the query's cell
            (cyan square) looks, over prev and over next, beside the generated frame.
            """
        ),
        code(
            """
            # Figure: where the most-changing pixel of the tour triplet attends, over prev and next
            fig = attention_figure(tour, query)
            plt.show()
            """
        ),
        md(
            """
            Synthetic flying-layers triplets with small and large motion (notebook 01), each run through
            the same generator; one large-motion example drawn the plain way, queried at its centre:
            """
        ),
        code(
            """
            # Figure: attention of a large-motion synthetic example, queried at its centre
            examples = synthetic_examples(generator, motions=("small", "large"), count=COUNT, size=SIZE, seed=SEED)
            for motion, chosen in examples.items():
                for ex in chosen:
                    print(f"{ex.name:36s} attended distance at the centre {attended_distance(ex, (SIZE // 2, SIZE // 2)):5.1f} px")
            large = examples["large"][0]
            fig = attention_figure(large, (SIZE // 2, SIZE // 2), width=10)
            plt.show()
            """
        ),
        md(
            """
            ### Explore it

            In JupyterLab: pick the motion size and an example, move the query with the sliders. (The
            widget needs `ipywidgets`. The `ci` profile, run headless in CI, skips it: there is no
            front end to show it, and a headless run once stalled on its output area; the figures above
            are the same drawing. `tests/test_explorer.py` tests the widget itself.)
            """
        ),
        code(
            """
            if PROFILE == "ci":
                print("ci profile: the widget is skipped (headless run); set PROFILE = 'cpu' in JupyterLab to use it")
            else:
                from IPython.display import display

                explorer = explorer_widget(examples)
                display(explorer)
            """
        ),
        md(
            """
            ## Summary

            - One row of the $N \\times N$ attention weights is a map over the 1/16 grid that sums to 1; since the frames were stacked, the same map applies to both.
            - The mean attended distance measures how non-local a position's look is: tens of pixels, against 1–2 px for the local convolutions and kernels.
            - `nlvfi.explorer` draws it with a plain function (`attention_figure`) and wraps it in a widget (`explorer_widget`) for small and large motion.

            ## Exercises

            1. Find a query whose row is close to uniform (max weight ≈ 1/N) and one that is peaked. What does `generator.nonlocal_branch.attention.gamma` tell you about how much the attention's output counts in the features?
            2. Compare the median attended distance (over all cells) of the small- and large-motion examples. Does it differ for the untrained generator? For the shipped checkpoint?
            3. Is the 768x576 tour frame padded? Crop it to 750x550 (W x H) and run it again: which padded size does the attention see, and what lies in its last row and column of cells?
            4. Add click support: with the `ipympl` backend (`%matplotlib widget`), connect a `button_press_event` handler that moves the sliders to the clicked pixel.
            5. Why is the same map drawn over both frames, and what would you need to change in the non-local branch to get one map per frame?

            """
            + solutions_link("09_attention_explorer")
        ),
    ]


NOTEBOOKS = {
    "06_synthesis_and_generator.ipynb": notebook_06,
    "07_losses_and_ragan.ipynb": notebook_07,
    "08_training.ipynb": notebook_08,
    "09_attention_explorer.ipynb": notebook_09,
}


def build(name: str, make_cells) -> nbformat.NotebookNode:
    """The notebook, stripped, with stable cell ids (so a rebuild changes only what changed)."""
    notebook = new_notebook(cells=make_cells())
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for index, cell in enumerate(notebook.cells):
        cell.id = f"{name[:2]}-{index:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def write(name: str, make_cells) -> None:
    """Build, validate and write notebooks/<name> (every builder script ends here)."""
    notebook = build(name, make_cells)
    nbformat.validate(notebook)
    nbformat.write(notebook, HERE / name)
    print(f"wrote {HERE / name} ({len(notebook.cells)} cells)")


def main() -> None:
    for name, make_cells in NOTEBOOKS.items():
        write(name, make_cells)


if __name__ == "__main__":
    main()
