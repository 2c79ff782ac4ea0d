"""The study: does the non-local branch help on large motion, and does the GAN loss sharpen?

    nlvfi study                      # evaluate the committed ablation checkpoints (minutes)
    nlvfi study --retrain            # train them first (configs/study_cpu.toml; resumable)
    nlvfi study --profile cuda --retrain   # the full study on one GPU (configs/study_cuda.toml)

Method: METHOD.md §2.2 claims the non-local branch enlarges the receptive field and so helps
when the two frames differ a lot; §3 claims the adversarial loss reduces over-smoothing.

Variants (``VARIANTS``), each trained with one recipe, one data stream and one budget, at
seeds 0 and 1:
- ``local only``: the generator without its non-local branch (``use_nonlocal = false``);
- ``+ non-local``: the full generator, pixel loss only (the GAN steps become pixel steps);
- ``+ non-local + GAN``: the full generator, the recipe's GAN phase.
The last two are identical until the end of phase 1 (same seed, same data order, same
schedule), so the GAN run starts from a copy of the pixel run's state there: exact, and a
third cheaper.

Evaluated in one run beside repeat-previous, average, OpenCV DIS flow and FFmpeg
minterpolate (mci; through PyAV): PSNR and SSIM (``nlvfi.metrics`` settings) per triplet,
and a sharpness ratio (mean |Laplacian| of the output over that of the truth; below 1 is
smoother than the truth). Sets: synthetic flying layers per motion bucket (fixed seed
``EVAL_SEED``) and the held-out real triplets (d = 1, 2, 4), also regrouped by their measured
motion (mean |DIS flow| prev -> next, rescaled to a frame whose shorter side is 256 px, the
size the synthetic buckets are defined at). LPIPS is not reported: its weights are not on
disk and nothing here downloads.

Writes into ``--out`` (results/study): ``sets.md``, ``buckets.md``, ``sharpness.md``,
``claims.md`` (and ``.csv`` of each), ``triplets.csv`` (every triplet x method); figures into
``--figures`` (figures/study): PSNR vs motion, qualitative crops, attention maps.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import baselines
from .acceleration import keep_freed_cpu_memory
from .checkpoint import atomic_write, load_generator
from .data.synthetic import MOTION_BUCKETS
from .evaluate import EVAL_SEED, real_sets, synthetic_sets
from .metrics import SSIM_SETTINGS, psnr, ssim
from .train_config import TrainConfig, load_train_config
from .visualize import save_figure

ROOT = Path(__file__).resolve().parent.parent
BUCKETS = ("small", "medium", "large", "extreme")


@dataclass(frozen=True)
class Variant:
    """One ablation: its label, file name, and what differs from the recipe."""

    label: str
    slug: str
    use_nonlocal: bool
    gan: bool


VARIANTS = (
    Variant("local only", "local", use_nonlocal=False, gan=False),
    Variant("+ non-local", "nonlocal", use_nonlocal=True, gan=False),
    Variant("+ non-local + GAN", "nonlocal_gan", use_nonlocal=True, gan=True),
)
SEEDS = (0, 1)
PROFILES = {
    "cpu": ("configs/study_cpu.toml", "checkpoints/study"),
    "cuda": ("configs/study_cuda.toml", "runs/study-cuda/checkpoints"),
}


# ------------------------------------------------------------------------------ training
def variant_config(recipe: TrainConfig, variant: Variant, seed: int, runs: Path) -> TrainConfig:
    """The recipe for one variant and seed. Pixel-only variants spend the GAN steps on L_c."""
    config = TrainConfig.from_dict(recipe.to_dict())  # a deep copy, checked again
    config.model.use_nonlocal = variant.use_nonlocal
    config.run.seed = seed
    config.run.out_dir = str(runs / f"{variant.slug}-seed{seed}")
    if not variant.gan:
        config.optim.pretrain_steps += config.optim.gan_steps
        config.optim.gan_steps = 0
    return config


def _train(config: TrainConfig, stop_after: int | None = None) -> None:
    """Train (resuming when a state is there) up to ``stop_after`` or the end."""
    from .train import STATE_FILE, Trainer

    state = Path(config.run.out_dir) / STATE_FILE
    target = config.total_steps if stop_after is None else stop_after
    if state.is_file() and int(torch.load(state, map_location="cpu", weights_only=True)["step"]) >= target:
        return
    Trainer(config, resume=state.is_file(), stop_after=stop_after).fit()


def retrain(recipe: TrainConfig, seeds, runs: Path, checkpoints: Path) -> dict[str, Path]:
    """Train every variant and seed (resumable run by run); copy the generators to ``checkpoints``."""
    from .train import STATE_FILE

    local, pixel, gan = VARIANTS
    checkpoints.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        print(f"seed {seed}: {local.label}", file=sys.stderr)
        _train(variant_config(recipe, local, seed, runs))
        pixel_config, gan_config = variant_config(recipe, pixel, seed, runs), variant_config(recipe, gan, seed, runs)
        branch = gan_config.optim.flow_pretrain_steps + gan_config.optim.pretrain_steps
        gan_dir = Path(gan_config.run.out_dir)
        if not (gan_dir / STATE_FILE).is_file():
            print(f"seed {seed}: {pixel.label}, to step {branch} (shared with the GAN run)", file=sys.stderr)
            _train(pixel_config, stop_after=branch)
            gan_dir.mkdir(parents=True, exist_ok=True)
            for name in (STATE_FILE, "log.csv", "validation.csv"):
                if (Path(pixel_config.run.out_dir) / name).is_file():
                    shutil.copyfile(Path(pixel_config.run.out_dir) / name, gan_dir / name)
        print(f"seed {seed}: {pixel.label}", file=sys.stderr)
        _train(pixel_config)
        print(f"seed {seed}: {gan.label}", file=sys.stderr)
        _train(gan_config)
        for variant, config in ((local, None), (pixel, pixel_config), (gan, gan_config)):
            run_dir = Path((config or variant_config(recipe, variant, seed, runs)).run.out_dir)
            target = checkpoints / f"{variant.slug}-seed{seed}.safetensors"
            atomic_write(target, lambda tmp, src=run_dir: shutil.copyfile(src / "generator_last.safetensors", tmp))
            atomic_write(
                checkpoints / f"{variant.slug}-seed{seed}.log.csv",
                lambda tmp, src=run_dir: shutil.copyfile(src / "log.csv", tmp),
            )
    return study_checkpoints(checkpoints, seeds)


def study_checkpoints(folder: Path, seeds) -> dict[str, Path]:
    """``{"local only / seed 0": path, ...}``; a clear error naming what is missing."""
    found, missing = {}, []
    for variant in VARIANTS:
        for seed in seeds:
            path = folder / f"{variant.slug}-seed{seed}.safetensors"
            (found.__setitem__(f"{variant.label} / seed {seed}", path) if path.is_file() else missing.append(str(path)))
    if missing:
        raise FileNotFoundError(f"ablation checkpoint(s) missing: {', '.join(missing)} (run with --retrain)")
    return found


# ---------------------------------------------------------------------------- evaluation
def sharpness_ratio(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean |Laplacian| of ``pred`` over that of ``target`` (grey, 3x3 kernel). 1 = as sharp.

    Shapes: pred, target (1, 3, H, W) in [0, 1]."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    grey = lambda x: x.float().mean(dim=1, keepdim=True)  # noqa: E731  (1, 1, H, W)
    energy = lambda x: F.conv2d(grey(x), kernel).abs().mean().item()  # noqa: E731
    return energy(pred) / max(energy(target), 1e-8)


def motion_bucket(motion: float) -> str:
    """The synthetic motion bucket a displacement (px at 256 scale) falls in."""
    for name in BUCKETS:
        low, high = MOTION_BUCKETS[name]
        if motion <= high:
            return name
    return BUCKETS[-1]


def measured_motion(prev: torch.Tensor, next: torch.Tensor) -> float:
    """Mean |DIS flow| prev -> next, rescaled to a frame whose shorter side is 256 px."""
    flow = baselines.dis_flow(prev, next)  # (1, 2, H, W)
    return float(flow.norm(dim=1).mean()) * 256 / min(prev.shape[-2:])


def methods_for(checkpoints: dict[str, Path], device: torch.device) -> dict[str, callable]:
    methods = {"repeat previous": baselines.repeat_previous, "average": baselines.average}
    if baselines.dis_available():
        methods["DIS flow"] = baselines.dis_interpolate
    if baselines.minterpolate_available():
        methods["minterpolate (mci)"] = baselines.minterpolate
    for name, path in checkpoints.items():
        generator = load_generator(path, device=device).eval()

        @torch.inference_mode()
        def run(prev, next, t=0.5, generator=generator):
            return generator(prev.to(device), next.to(device), t=t).frame.float().cpu()

        methods[name] = run
    return methods


def evaluate_triplets(methods: dict, sets: dict, progress: bool = True) -> list[dict]:
    """One row per (set, triplet, method): motion, bucket, PSNR, SSIM, sharpness ratio."""
    rows = []
    for set_name, dataset in sets.items():
        synthetic = set_name.startswith("synthetic")
        for index in tqdm(range(len(dataset)), desc=set_name, disable=not progress, leave=False):
            item = dataset[index]
            prev, middle, next = (item[k].unsqueeze(0) for k in ("prev", "middle", "next"))
            t = float(item.get("t", 0.5))
            if synthetic:  # FlyingLayers gives px at its own size; buckets are at 256
                motion = float(item["motion"]) * 256 / min(prev.shape[-2:])
            else:
                motion = measured_motion(prev, next)
            bucket = set_name.split()[-1] if synthetic else motion_bucket(motion)
            for name, method in methods.items():
                try:
                    frame = method(prev, next, t).clamp(0, 1)
                except ValueError:  # minterpolate makes frames at t = i/N only: an uneven real triplet
                    continue
                rows.append(
                    {
                        "set": set_name, "index": index, "motion": round(motion, 3), "bucket": bucket, "method": name,
                        "psnr": psnr(frame, middle), "ssim": ssim(frame, middle),
                        "sharpness": sharpness_ratio(frame, middle),
                    }
                )  # fmt: skip
    return rows


# ---------------------------------------------------------------------------- aggregation
def _split(method: str) -> tuple[str, int | None]:
    """``"+ non-local / seed 1"`` -> ("+ non-local", 1); a baseline -> (name, None)."""
    if " / seed " in method:
        name, seed = method.rsplit(" / seed ", 1)
        return name, int(seed)
    return method, None


def summarise(rows: list[dict], group: str) -> list[dict]:
    """Means per (group value, method label): a variant's mean over seeds of its per-seed means,
    with the seeds' spread (max - min) and the per-seed values."""
    table: dict[tuple[str, str], dict[int | None, list[dict]]] = {}
    for r in rows:
        key = r["set"] if group == "set" else (("synthetic " if r["set"].startswith("synthetic") else "real ") + r["bucket"])
        name, seed = _split(r["method"])
        table.setdefault((key, name), {}).setdefault(seed, []).append(r)
    out = []
    for (key, name), by_seed in table.items():
        per_seed = {seed: {m: float(np.mean([r[m] for r in rs])) for m in ("psnr", "ssim", "sharpness")} for seed, rs in by_seed.items()}
        row = {"group": key, "method": name, "n": len(next(iter(by_seed.values()))), "seeds": len(per_seed)}
        for metric in ("psnr", "ssim", "sharpness"):
            values = [v[metric] for v in per_seed.values()]
            row[metric] = float(np.mean(values))
            row[f"{metric}_spread"] = float(max(values) - min(values)) if len(values) > 1 else 0.0
            row[f"{metric}_per_seed"] = " ".join(f"{v:.4f}" for _, v in sorted((s or 0, v[metric]) for s, v in per_seed.items()))
        out.append(row)
    order = {name: i for i, name in enumerate(dict.fromkeys(_split(r["method"])[0] for r in rows))}
    groups = {g: i for i, g in enumerate(dict.fromkeys(r["group"] for r in out))}
    return sorted(out, key=lambda r: (groups[r["group"]], order[r["method"]]))


def markdown(summary: list[dict], metric: str = "psnr", digits: int = 2) -> str:
    """Groups as rows, methods as columns; variants as 'mean ± spread/2 (over seeds)'; best in bold."""
    groups = list(dict.fromkeys(r["group"] for r in summary))
    methods = list(dict.fromkeys(r["method"] for r in summary))
    lookup = {(r["group"], r["method"]): r for r in summary}
    lines = ["| set (n) | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for g in groups:
        present = [lookup[(g, m)] for m in methods if (g, m) in lookup]
        best = max(r[metric] for r in present) if metric != "sharpness" else min(present, key=lambda r: abs(math.log(r[metric])))[metric]
        cells = []
        for m in methods:
            r = lookup.get((g, m))
            if r is None:
                cells.append("–")
                continue
            cell = f"{r[metric]:.{digits}f}" + (f" ± {r[metric + '_spread'] / 2:.{digits}f}" if r["seeds"] > 1 else "")
            cells.append(f"**{cell}**" if r[metric] == best else cell)
        lines.append(f"| {g} ({present[0]['n']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_gain(rows: list[dict], better: str, worse: str, keep, metric: str = "psnr") -> dict:
    """Mean of ``better - worse`` over the triplets ``keep(row)`` selects, per seed."""
    by_key: dict[tuple, dict[str, float]] = {}
    for r in rows:
        name, seed = _split(r["method"])
        if name in (better, worse) and keep(r):
            by_key.setdefault((seed, r["set"], r["index"]), {})[name] = r[metric]
    per_seed: dict[int, list[float]] = {}
    for (seed, _, _), values in by_key.items():
        if len(values) == 2:
            per_seed.setdefault(seed, []).append(values[better] - values[worse])
    gains = {seed: float(np.mean(v)) for seed, v in sorted(per_seed.items())}
    n = len(next(iter(per_seed.values()))) if per_seed else 0
    return {"per_seed": gains, "mean": float(np.mean(list(gains.values()))) if gains else float("nan"), "n": n}


def seed_spread(rows: list[dict], label: str, keep, metric: str = "psnr") -> float:
    """max - min over seeds of ``label``'s mean ``metric`` on the triplets ``keep`` selects:
    how much two runs of the same recipe differ (0 with one seed)."""
    per_seed: dict = {}
    for r in rows:
        name, seed = _split(r["method"])
        if name == label and keep(r):
            per_seed.setdefault(seed, []).append(r[metric])
    means = [float(np.mean(v)) for v in per_seed.values()]
    return max(means) - min(means) if len(means) > 1 else 0.0


def verdict(gains: dict[int, float], noise: float = 0.0) -> str:
    """"holds" when every seed gains and the mean gain exceeds ``noise`` (the seed spread of the
    variant compared against, :func:`seed_spread`): a gain smaller than the difference between
    two runs of one recipe is not told apart from retraining."""
    if not gains:
        return "not measured"
    mean = float(np.mean(list(gains.values())))
    if all(g > 0 for g in gains.values()):
        return "holds" if mean > noise else f"within seed noise (gain {mean:+.3g} <= seed spread {noise:.3g})"
    if all(g <= 0 for g in gains.values()):
        return "does not hold"
    return "inconclusive (the seeds disagree)"


def claims(rows: list[dict]) -> list[dict]:
    """The two claims, measured on paired triplets, per seed."""
    local, pixel, gan = (v.label for v in VARIANTS)
    checks = [
        ("non-local helps on large motion", pixel, local, "psnr", "synthetic large", lambda r: r["set"] == "synthetic large"),
        ("non-local helps on large motion", pixel, local, "psnr", "synthetic extreme", lambda r: r["set"] == "synthetic extreme"),
        ("non-local helps on large motion", pixel, local, "psnr", "real, measured large + extreme",
         lambda r: r["set"].startswith("real") and r["bucket"] in ("large", "extreme")),
        ("(for contrast) non-local on small motion", pixel, local, "psnr", "synthetic small", lambda r: r["set"] == "synthetic small"),
        ("(for contrast) non-local on small motion", pixel, local, "psnr", "real, measured small",
         lambda r: r["set"].startswith("real") and r["bucket"] == "small"),
        ("GAN reduces over-smoothing", gan, pixel, "sharpness", "all triplets", lambda r: True),
        ("(its cost) GAN vs pixel loss, PSNR", gan, pixel, "psnr", "all triplets", lambda r: True),
    ]  # fmt: skip
    out = []
    for claim, better, worse, metric, subset, keep in checks:
        gain = paired_gain(rows, better, worse, keep, metric)
        noise = seed_spread(rows, worse, keep, metric)
        out.append(
            {
                "claim": claim, "comparison": f"{better} − {worse}", "metric": metric, "subset": subset, "n": gain["n"],
                "mean_gain": gain["mean"], "per_seed": " ".join(f"{g:+.4f}" for g in gain["per_seed"].values()),
                "seed_spread": noise, "verdict": verdict(gain["per_seed"], noise) if not claim.startswith("(") else "",
            }
        )  # fmt: skip
    return out


def claims_markdown(rows: list[dict]) -> str:
    lines = [
        "| claim | comparison | metric | triplets | n | mean gain | per seed | seed spread | verdict |",
        "|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in rows:
        unit = " dB" if r["metric"] == "psnr" else ""
        mean = "–" if math.isnan(r["mean_gain"]) else f"{r['mean_gain']:+.3f}{unit}"
        spread = f"{r['seed_spread']:.3f}" if r["n"] else "–"
        lines.append(
            f"| {r['claim']} | {r['comparison']} | {r['metric']} | {r['subset']} | {r['n']} | {mean} | {r['per_seed']} "
            f"| {spread} | {r['verdict']} |"
        )
    return "\n".join(lines)


def _write_csv(path: Path, rows: list[dict]) -> None:
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)

    atomic_write(path, write)


def write_tables(rows: list[dict], out: Path, header: str) -> dict[str, str]:
    """Every table as Markdown and CSV into ``out``; returns the Markdown texts."""
    out.mkdir(parents=True, exist_ok=True)
    settings = ", ".join(f"{k}={v}" for k, v in SSIM_SETTINGS.items())
    note = (
        f"{header}\n\nVariants: mean over seeds ± half the spread (max − min) of the per-seed means. "
        f"SSIM: scikit-image structural_similarity({settings}).\n\n"
    )
    by_set, by_bucket = summarise(rows, "set"), summarise(rows, "bucket")
    texts = {
        "sets": note + "## PSNR (dB)\n\n" + markdown(by_set) + "\n\n## SSIM\n\n" + markdown(by_set, "ssim", 4) + "\n",
        "buckets": note + "Real triplets regrouped by measured motion (mean |DIS flow|, px at 256 scale; "
        "buckets as the synthetic ones: small <= 4, medium 4-16, large 16-48, extreme > 48).\n\n## PSNR (dB)\n\n"
        + markdown(by_bucket) + "\n\n## SSIM\n\n" + markdown(by_bucket, "ssim", 4) + "\n",
        "sharpness": note + "Sharpness ratio: mean |Laplacian| of the output / of the true frame (1 = as sharp; "
        "below 1 = smoother than the truth; the value nearest 1 in bold).\n\n" + markdown(by_set, "sharpness", 3) + "\n",
        "claims": note + "Paired per triplet, per seed. A claim *holds* when every seed shows a gain and the "
        "mean gain exceeds the seed spread (max - min over seeds of the compared-against variant's mean on the same "
        "triplets: how much two runs of one recipe differ); *within seed noise* when every seed gains but by less; "
        "*does not hold* when no seed gains.\n\n" + claims_markdown(claims(rows)) + "\n",
    }
    for name, text in texts.items():
        atomic_write(out / f"{name}.md", lambda tmp, text=text: Path(tmp).write_text(text))
    _write_csv(out / "sets.csv", by_set)
    _write_csv(out / "buckets.csv", by_bucket)
    _write_csv(out / "claims.csv", claims(rows))
    _write_csv(out / "triplets.csv", rows)
    return texts


# -------------------------------------------------------------------------------- figures
def _variant_colours() -> dict[str, str]:
    return {"local only": "tab:blue", "+ non-local": "tab:orange", "+ non-local + GAN": "tab:red"}


def _baseline_colours() -> dict[str, str]:
    """Colours no variant uses (matplotlib's default cycle would give "average" the orange of "+ non-local")."""
    return {"repeat previous": "0.45", "average": "tab:olive", "DIS flow": "tab:purple", "minterpolate (mci)": "tab:brown"}


def figure_psnr_vs_motion(rows: list[dict], path: Path) -> None:
    """Mean PSNR per motion bin (log-spaced), per method; variants: seed mean, band = seed range."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    fig = Figure(figsize=(13, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colours = _variant_colours()
    for ax, kind in zip(axes, ("synthetic", "real")):
        chosen = [r for r in rows if r["set"].startswith(kind)]
        if not chosen:
            ax.text(0.5, 0.5, f"no {kind} triplets", transform=ax.transAxes, ha="center")
            continue
        motions = np.array([r["motion"] for r in chosen])
        edges = np.geomspace(max(motions.min(), 0.1), motions.max() * 1.0001, 9)
        centres = np.sqrt(edges[:-1] * edges[1:])
        for name in dict.fromkeys(_split(r["method"])[0] for r in chosen):
            by_seed: dict = {}
            for r in chosen:
                label, seed = _split(r["method"])
                if label == name:
                    by_seed.setdefault(seed, []).append(r)
            curves = []
            for seed_rows in by_seed.values():
                m = np.array([r["motion"] for r in seed_rows])
                p = np.array([r["psnr"] for r in seed_rows])
                idx = np.clip(np.digitize(m, edges) - 1, 0, len(centres) - 1)
                curves.append([p[idx == b].mean() if (idx == b).any() else np.nan for b in range(len(centres))])
            curves = np.array(curves)  # (seeds, bins); NaN where a bin is empty
            filled = np.isfinite(curves).all(axis=0)  # the same triplets for every seed
            style = dict(color=colours[name], lw=2.2) if name in colours else dict(color=_baseline_colours().get(name), lw=1.2, ls="--")
            ax.plot(centres[filled], curves[:, filled].mean(0), marker="o", ms=3, label=name, **style)
            if len(curves) > 1:
                ax.fill_between(centres[filled], curves[:, filled].min(0), curves[:, filled].max(0), color=colours.get(name), alpha=0.2)
        for name in BUCKETS[1:]:
            ax.axvline(MOTION_BUCKETS[name][0], color="grey", lw=0.6, ls=":")
        ax.set(xscale="log", xlabel="motion: mean displacement prev → next (px at 256 scale)", title=f"{kind} triplets")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR (dB)")
    axes[0].legend(fontsize=8, loc="upper right")
    fig.suptitle("PSNR vs motion magnitude (bands: range over seeds; dotted: bucket edges)")
    save_figure(fig, path)


def large_motion_examples(sets: dict, rows: list[dict]) -> list[tuple[str, dict]]:
    """The synthetic 'large' triplet nearest the bucket's median motion, and the real triplet
    with the largest measured motion."""
    examples = []
    large = [r for r in rows if r["set"] == "synthetic large" and r["method"] == "average"]
    if large:
        median = float(np.median([r["motion"] for r in large]))
        pick = min(large, key=lambda r: abs(r["motion"] - median))
        examples.append((f"synthetic large #{pick['index']} ({pick['motion']:.0f} px)", sets["synthetic large"][pick["index"]]))
    real = [r for r in rows if r["set"].startswith("real") and r["method"] == "average"]
    if real:
        pick = max(real, key=lambda r: r["motion"])
        examples.append((f"{pick['set']} #{pick['index']} ({pick['motion']:.0f} px)", sets[pick["set"]][pick["index"]]))
    return examples


def _crop_box(prev: torch.Tensor, next: torch.Tensor, size: int) -> tuple[int, int]:
    """Top-left of the size x size window where prev and next differ most."""
    diff = (prev - next).abs().mean(dim=0, keepdim=True)[None]  # (1, 1, H, W)
    size = min(size, *prev.shape[-2:])
    pooled = F.avg_pool2d(diff, size, stride=max(size // 4, 1))  # (1, 1, h, w)
    y, x = divmod(int(pooled.flatten().argmax()), pooled.shape[-1])
    stride = max(size // 4, 1)
    return min(y * stride, prev.shape[-2] - size), min(x * stride, prev.shape[-1] - size)


def figure_qualitative(methods: dict, examples, path: Path, crop: int = 128) -> None:
    """Crops of every method on the large-motion examples, side by side, PSNR of the whole frame."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    shown = {name: m for name, m in methods.items() if _split(name)[1] in (None, 0)}
    columns = ["prev", "next", "truth", *shown]
    fig = Figure(figsize=(1.9 * len(columns), 2.2 * len(examples) + 0.4))
    axes = fig.subplots(len(examples), len(columns), squeeze=False)
    for row, (title, item) in enumerate(examples):
        prev, middle, next = (item[k].unsqueeze(0) for k in ("prev", "middle", "next"))
        size = min(crop, *prev.shape[-2:])
        y, x = _crop_box(prev[0], next[0], size)
        frames = {"prev": prev, "next": next, "truth": middle}
        for name, method in shown.items():
            frames[name] = method(prev, next, float(item.get("t", 0.5))).clamp(0, 1)
        for col, name in enumerate(columns):
            ax = axes[row, col]
            image = frames[name][0, :, y : y + size, x : x + size].permute(1, 2, 0).numpy()
            ax.imshow(image)
            label = _split(name)[0]
            if name not in ("prev", "next", "truth"):
                label += f"\n{psnr(frames[name], middle):.2f} dB"
            ax.set_title(label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(title, fontsize=8)
    fig.suptitle(f"Large motion, {crop}px crops where the frames differ most (variants: seed 0; PSNR of the whole frame)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def figure_attention(checkpoint: Path, examples, path: Path) -> None:
    """Where the + non-local model's attention looks from the most-moving point of each example."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    from .explorer import attended_distance, attention_map, run_example

    generator = load_generator(checkpoint).eval()
    fig = Figure(figsize=(10, 3.8 * len(examples)))
    axes = fig.subplots(len(examples), 2, squeeze=False)
    for row, (title, item) in enumerate(examples):
        prev, next = item["prev"].unsqueeze(0), item["next"].unsqueeze(0)
        example = run_example(generator, prev, next, name=title)
        diff = (prev - next).abs().mean(dim=1)[0]  # (H, W)
        smooth = F.avg_pool2d(diff[None, None], 15, stride=1, padding=7)[0, 0]
        y, x = divmod(int(smooth.flatten().argmax()), smooth.shape[-1])
        weights = attention_map(example, (y, x))  # (h, w)
        height, width = prev.shape[-2:]
        extent = (0, example.padded[1], example.padded[0], 0)
        for col, (frame, name) in enumerate(((prev, "prev"), (next, "next"))):
            ax = axes[row, col]
            ax.imshow(frame[0].permute(1, 2, 0).numpy(), extent=(0, width, height, 0))
            shown = ax.imshow(weights, cmap="magma", alpha=0.55, extent=extent, interpolation="nearest")
            ax.plot(x, y, "c+", ms=16, mew=2.5)
            ax.set(xlim=(0, width), ylim=(height, 0), xticks=[], yticks=[])
            ax.set_title(f"{title}: {name}", fontsize=9)
        fig.colorbar(shown, ax=axes[row, 1], fraction=0.046, label="attention weight")
        axes[row, 0].set_xlabel(f"query (+) at the most-moving point; attended distance {attended_distance(example, (y, x)):.0f} px", fontsize=8)
    fig.suptitle(f"Self-attention of '+ non-local' (seed 0) on the same examples: {checkpoint.name}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


# ---------------------------------------------------------------------------------- command
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nlvfi study", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="cpu: committed checkpoints; cuda: the GPU study")
    parser.add_argument("--retrain", action="store_true", help="train the ablation checkpoints first (resumable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--config", type=Path, help="the training recipe for --retrain (default: the profile's)")
    parser.add_argument("--checkpoints", type=Path, help="folder of the ablation checkpoints (default: the profile's)")
    parser.add_argument("--runs", type=Path, help="training runs folder for --retrain (default: runs/study or runs/study-cuda)")
    parser.add_argument("--videos", nargs="*", default=[f"data/opencv/{n}.avi" for n in ("vtest", "tree", "Megamind")])
    parser.add_argument("--gaps", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--max-triplets", type=int, default=40, help="per real set (full frames), evenly spaced")
    parser.add_argument("--synthetic-samples", type=int, default=200, help="per motion bucket")
    parser.add_argument("--synthetic-size", type=int, default=256, help="side of the synthetic scenes (motion scales with it)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("results/study"))
    parser.add_argument("--figures", type=Path, default=Path("figures/study"))
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args: argparse.Namespace) -> int:
    if not baselines.dis_available():
        raise RuntimeError('the study needs OpenCV (DIS flow measures real motion): pip install -e ".[baselines]"')
    if args.synthetic_samples < 1 or args.max_triplets < 1:
        raise ValueError("--synthetic-samples and --max-triplets must be >= 1")
    config_path, default_checkpoints = PROFILES[args.profile]
    checkpoints = args.checkpoints or ROOT / default_checkpoints
    videos = [Path(v) for v in args.videos]
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        print(f"real clips not found ({', '.join(missing)}; `nlvfi data fetch` installs them): synthetic sets only", file=sys.stderr)
        videos = []
    started = time.perf_counter()
    if args.retrain:
        recipe = load_train_config(args.config or ROOT / config_path)
        if not videos:
            recipe.data.videos, recipe.data.val_video_triplets = [], 0
        recipe.data.videos = [str(ROOT / v) if not Path(v).is_absolute() else v for v in recipe.data.videos]
        recipe.data.video_cache = str(ROOT / recipe.data.video_cache) if recipe.data.video_cache else ""
        keep_freed_cpu_memory(recipe.run.device)  # on the CPU each step reuses the memory the last one freed (nlvfi.acceleration)
        runs = args.runs or ROOT / ("runs/study" if args.profile == "cpu" else "runs/study-cuda")
        found = retrain(recipe, args.seeds, runs, checkpoints)
        print(f"trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:
        found = study_checkpoints(checkpoints, args.seeds)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    keep_freed_cpu_memory(device)
    sets = synthetic_sets(args.synthetic_samples, size=args.synthetic_size)
    if videos:
        sets.update(real_sets(videos, gaps=tuple(args.gaps), max_triplets=args.max_triplets))
    methods = methods_for(found, device)
    evaluation_start = time.perf_counter()
    rows = evaluate_triplets(methods, sets, progress=not args.quiet)
    header = (
        f"# The study ({args.profile} profile)\n\n`nlvfi study --profile {args.profile}` — checkpoints: "
        f"`{checkpoints.relative_to(ROOT) if checkpoints.is_relative_to(ROOT) else checkpoints}` (seeds {', '.join(map(str, args.seeds))}); "
        f"synthetic: {args.synthetic_samples} scenes per bucket at {args.synthetic_size}x{args.synthetic_size}, seed {EVAL_SEED}; "
        f"real: held-out last 20% of {', '.join(v.name for v in videos) or 'no clips'}, "
        f"d = {', '.join(map(str, args.gaps))}, at most {args.max_triplets} evenly spaced per d."
    )
    texts = write_tables(rows, args.out, header)
    examples = large_motion_examples(sets, rows)
    figure_psnr_vs_motion(rows, args.figures / "psnr_vs_motion.png")
    figure_qualitative(methods, examples, args.figures / "large_motion_crops.png")
    pixel = found.get(f"{VARIANTS[1].label} / seed {args.seeds[0]}")
    if pixel is not None:
        figure_attention(pixel, examples, args.figures / "attention.png")
    print(texts["sets"])
    print(texts["claims"])
    print(f"evaluated {len(rows)} (triplet, method) pairs in {time.perf_counter() - evaluation_start:.0f} s; tables in {args.out}, figures in {args.figures}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .cli import guarded_main

    return guarded_main("study", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
