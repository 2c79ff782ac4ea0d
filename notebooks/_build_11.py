"""Write notebook 11 (stripped: no outputs, python3 kernelspec) from the cells below.

    python3 notebooks/_build_11.py            # rewrites 11_study.ipynb next to this script

Edit the cells here, not in the .ipynb file. Conventions (../shared/STYLE.md): title, "You will
learn", method section, run time; a ``parameters`` cell; imports from nlvfi; Idea / Build it /
See it / Summary / Exercises; cells with deterministic printed output start with
``# NBVAL_CHECK_OUTPUT``.
"""

from __future__ import annotations

from _build_06_09 import code, md, write  # one set of cell helpers for the notebook builders

NAME = "11_study.ipynb"


def cells() -> list:
    return [
        md(
            """
            # 11 · The study: does the non-local branch help on large motion?

            You will learn: (1) how an ablation isolates one part of a model — one recipe, one data stream, one
            budget, only the part in question changed — and why it needs more than one seed; (2) how to compare two
            models *paired*, triplet by triplet, and read a claim off the per-seed gains; (3) what our measurements
            say about the method's two claims: the non-local branch helps when the frames differ a lot, and the GAN
            loss reduces over-smoothing.

            Method: METHOD.md §2.2 (the non-local branch and why: the receptive field) and §3 (the relativistic GAN
            loss). Command: `nlvfi study` (tables into `results/study/`, figures into `figures/study/`).

            Runs in: < 1 min (ci profile: a few synthetic scenes per bucket, the committed checkpoints; 7 s measured
            in CI). The cpu profile evaluates a smaller version of the study's sets: 23 min measured on a 2-core CPU
            while another job shared one of the cores (`nlvfi study` on the full sets took 47 min on one core). The cuda profile points to the GPU study.
            """
        ),
        code(
            """
            PROFILE = "ci"  # "ci" (seconds, CPU) | "cpu" (the committed study's sets, minutes) | "cuda" (the real run)
            SEED = 0
            RECIPE = "../configs/study_cpu.toml"  # the ablation recipe every variant is trained with
            CHECKPOINTS = "../checkpoints/study"  # the committed ablation checkpoints (nlvfi study --retrain remakes them)
            RESULTS = "../results/study"  # the committed tables of `nlvfi study`
            FIGURES = "../figures/study"  # and its figures
            VIDEOS = "../data/opencv"  # the real clips (`nlvfi data fetch`); used by the cpu profile when present
            """,
            parameters=True,
        ),
        code(
            """
            import tempfile
            from pathlib import Path

            import matplotlib.pyplot as plt
            import torch
            from IPython.display import Image, Markdown, display

            import nlvfi
            from nlvfi.evaluate import real_sets, synthetic_sets
            from nlvfi.study import (
                VARIANTS, claims, claims_markdown, evaluate_triplets, figure_psnr_vs_motion, markdown, methods_for,
                study_checkpoints, summarise, variant_config,
            )
            from nlvfi.train_config import load_train_config

            plt.rcParams["figure.dpi"] = 80
            torch.manual_seed(SEED)
            torch.set_num_threads(1 if PROFILE == "ci" else torch.get_num_threads())  # CI's two cores are shared
            device = "cuda" if torch.cuda.is_available() and PROFILE == "cuda" else "cpu"
            print(f"profile {PROFILE}, device {device}")
            """
        ),
        md(
            r"""
            ## Idea

            A claim about one part of a model is tested by removing that part and changing nothing else. Three
            variants, each trained by the same recipe (`configs/study_cpu.toml`) on the same data in the same order,
            for the same number of steps:

            | variant | non-local branch | loss after phase 1 |
            |---|---|---|
            | local only | removed (`use_nonlocal = false`) | $L_c$ |
            | + non-local | yes | $L_c$ |
            | + non-local + GAN | yes | $L_c + \lambda L_a$, with discriminator steps |

            The pixel-only variants spend the GAN phase's steps on $L_c$, so every variant gets the same budget.
            The last two are the *same run* until the end of phase 1 (same seed, data order and schedule), so the
            study trains it once and copies its state to start the GAN run there: exact, and a third cheaper.

            **Seeds.** Two runs of one recipe differ by their seed (initial weights, data order, augmentation).
            A difference between variants smaller than the difference between seeds of one variant says nothing.
            So every variant is trained at seeds 0 and 1, and a claim *holds* only when every seed shows it and
            the mean gain is larger than the seed spread (how much the two seeds of the compared-against variant
            differ on the same triplets); a gain every seed shows but smaller than that is *within seed noise*.

            **Paired gains.** Both models see the very same triplets, so we compare them per triplet,
            $\Delta_i = \text{PSNR}_i(\text{+ non-local}) - \text{PSNR}_i(\text{local only})$, and average
            $\Delta_i$ per seed over the triplets a claim is about (large and extreme motion). Pairing removes
            the (large) spread of difficulty between triplets from the comparison.

            **Over-smoothing.** PSNR rewards the blurry mean of the plausible frames; the GAN loss is meant to
            trade a little of it for sharpness. We measure sharpness directly: the mean $|\nabla^2|$ (Laplacian)
            of the output over that of the true frame — below 1 is smoother than the truth.
            """
        ),
        md(
            """
            ## Build it

            The three variants' configs, made from the recipe by `variant_config`: only what the table above says
            differs.
            """
        ),
        code(
            """
            # NBVAL_CHECK_OUTPUT
            recipe = load_train_config(RECIPE)
            runs = Path(tempfile.mkdtemp(prefix="nlvfi-11-"))
            configs = {v.label: variant_config(recipe, v, SEED, runs) for v in VARIANTS}
            print(f"recipe: {recipe.model.size} generator, {recipe.data.crop_size}px crops, batch {recipe.optim.batch_size}, "
                  f"{recipe.total_steps} steps")
            for label, c in configs.items():
                o = c.optim
                generator = nlvfi.build_generator(c.model.generator_config())
                print(f"{label:>18}: non-local {str(c.model.use_nonlocal):5}  phases flow/pixel/GAN "
                      f"{o.flow_pretrain_steps}/{o.pretrain_steps}/{o.gan_steps}  "
                      f"{sum(p.numel() for p in generator.parameters()):,} parameters")
            assert len({c.total_steps for c in configs.values()}) == 1, "every variant gets the same budget"
            """
        ),
        md(
            """
            The *local only* generator is smaller: the non-local branch and the synthesis input channels it fed
            are gone. Everything else — flow, depth, kernels, projection, warping, synthesis — is identical.

            ### Evaluate

            The ci profile evaluates the committed checkpoints on a few synthetic scenes per motion bucket, at
            64x64 (seconds); the cpu profile on the study's sets (200 scenes per bucket at 128x128, and 20
            held-out real triplets per gap when the clips are fetched). Every method sees the same triplets.
            """
        ),
        code(
            """
            if PROFILE == "cuda":
                print("the GPU study: run `nlvfi study --profile cuda --retrain` in a terminal (hours); "
                      "this notebook then shows its tables with RESULTS pointed at its --out folder")
            try:
                checkpoints = study_checkpoints(Path(CHECKPOINTS), (0, 1))
            except FileNotFoundError as error:
                checkpoints = {}
                print(f"{error}: only the baselines are evaluated")
            samples, size = (4, 64) if PROFILE == "ci" else (200, 128)
            sets = synthetic_sets(samples, size=size)
            clips = sorted(Path(VIDEOS).glob("*.avi")) if PROFILE != "ci" else []
            if clips:
                sets.update(real_sets(clips, gaps=(1, 2, 4), max_triplets=20))
            methods = methods_for(checkpoints, torch.device(device))
            rows = evaluate_triplets(methods, sets, progress=False)
            print(f"{len(rows)} (triplet, method) results: {len(sets)} sets, {len(methods)} methods")
            """
        ),
        md(
            """
            ## See it

            Mean PSNR per set; for the variants, the mean over the seeds ± half their spread.
            """
        ),
        code(
            """
            display(Markdown(markdown(summarise(rows, "set"))))
            """
        ),
        code(
            """
            # PSNR against motion magnitude: where does each method break down?
            figure_path = runs / "psnr_vs_motion.png"
            figure_psnr_vs_motion(rows, figure_path)
            display(Image(filename=str(figure_path)))
            """
        ),
        md(
            """
            The claims, measured on paired triplets, per seed (with so few triplets in the ci profile the verdicts
            are not to be trusted: the committed study below uses 200 per bucket).
            """
        ),
        code(
            """
            display(Markdown(claims_markdown(claims(rows))))
            """
        ),
        md(
            """
            ### The committed study

            `nlvfi study` on the committed checkpoints wrote these (its command and sets are in each file's first
            lines). The figures: PSNR vs motion; the same large-motion crops through every method; where the
            + non-local model's attention looks from the most-moving point.
            """
        ),
        code(
            """
            for name in ("claims", "sets", "sharpness"):
                path = Path(RESULTS) / f"{name}.md"
                display(Markdown(path.read_text()) if path.is_file() else Markdown(f"*{path} not found: run `nlvfi study`*"))
            for name in ("psnr_vs_motion", "large_motion_crops", "attention"):
                path = Path(FIGURES) / f"{name}.png"
                if path.is_file():
                    display(Image(filename=str(path)))
            """
        ),
        md(
            """
            ## Summary

            - An ablation changes one thing: the variants share recipe, data order and budget, and the GAN run is the
              pixel run, branched exactly at the end of phase 1.
            - Claims are read off paired per-triplet gains, per seed; a claim holds only where every seed agrees
              and the gain is larger than the difference between two seeds of one variant.
            - `results/study/claims.md` has our verdicts on both claims, with the numbers, including the ones
              that do not hold at our CPU budget.
            """
        ),
        md(
            """
            ## Exercises

            1. From `rows`, compute the paired PSNR gain of *+ non-local* over *local only* per motion bucket and
               per seed (`nlvfi.study.paired_gain`). In which bucket is it largest, and is it larger than the gap
               between the seeds of one variant?
            2. The sharpness ratio of *average* is below 1 and that of *repeat previous* is about 1. Why is a
               sharpness ratio alone not a quality measure? Which pair of numbers would you report instead?
            3. Add a third seed: `nlvfi study --retrain --seeds 0 1 2 --checkpoints /tmp/study3`. How long does one
               seed take on your machine, and do the verdicts change?
            4. The claim is about the *receptive field*. Using notebook 04's gradient measurement, compare the
               receptive fields of the local-only and the full committed generators at one output pixel.

            Solutions: [`solutions/11_study.md`](solutions/11_study.md).
            """
        ),
    ]


def main() -> None:
    write(NAME, cells)


if __name__ == "__main__":
    main()
