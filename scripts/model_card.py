"""Write checkpoints/README.md (the model card) from a training run and an evaluation.

    python scripts/model_card.py --run runs/cpu --eval results/checkpoint --out checkpoints/README.md

Every number in the card is read from the run's log.csv / validation.csv and the evaluation's
results.json; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import tomllib
from pathlib import Path

import numpy as np

from nlvfi.checkpoint import atomic_write, read_metadata
from nlvfi.evaluate import markdown_table


def curve_summary(rows: list[dict], window: int) -> str:
    lines = ["| steps | phase | Charbonnier (mean) | flow EPE px (mean) | L_a (mean) | L_D (mean) | samples/s |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for start in range(0, len(rows), window):
        chunk = rows[start : start + window]

        def mean(key):
            values = [float(r[key]) for r in chunk if r.get(key)]
            return f"{np.mean(values):.4f}" if values else "-"

        phases = "/".join(sorted({r["phase"] for r in chunk}))
        lines.append(f"| {chunk[0]['step']}–{chunk[-1]['step']} | {phases} | {mean('loss_pixel')} | "
                     f"{mean('loss_flow')} | {mean('loss_adv')} | {mean('loss_d')} | {mean('samples_per_s')} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path, default=Path("runs/cpu"))
    parser.add_argument("--eval", type=Path, default=Path("results/checkpoint"))
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/nlvfi-cpu.safetensors"))
    parser.add_argument("--config", type=Path, default=Path("configs/cpu.toml"))
    parser.add_argument("--wall-time", default="", help="measured wall time of the training, as text")
    parser.add_argument("--notes", type=Path, default=Path("checkpoints/analysis.md"), help="hand-written analysis appended to the card")
    parser.add_argument("--out", type=Path, default=Path("checkpoints/README.md"))
    args = parser.parse_args()

    rows = list(csv.DictReader(open(args.run / "log.csv")))
    validation = list(csv.DictReader(open(args.run / "validation.csv")))
    results = json.loads((args.eval / "results.json").read_text())
    config = tomllib.loads(args.config.read_text())
    meta = read_metadata(args.checkpoint)
    step_seconds = sum(float(config["optim"]["batch_size"]) / float(r["samples_per_s"]) for r in rows)
    size_mb = args.checkpoint.stat().st_size / 2**20

    real = [r for r in results if r["set"].startswith("real")]
    ours = [r for r in real if r["method"].startswith("nlvfi")]
    averages = {r["set"]: r["psnr"] for r in real if r["method"] == "average"}
    dis = {r["set"]: r["psnr"] for r in real if r["method"].startswith("DIS")}
    verdict = []
    for r in ours:
        gap_avg = r["psnr"] - averages[r["set"]]
        line = f"- {r['set']}: {r['psnr']:.2f} dB, {gap_avg:+.2f} dB vs averaging"
        if r["set"] in dis:
            line += f", {r['psnr'] - dis[r['set']]:+.2f} dB vs DIS flow"
        verdict.append(line)
    beats_average = all(r["psnr"] > averages[r["set"]] for r in ours)

    val_lines = ["| step | set | PSNR | SSIM | n |", "|---:|---|---:|---:|---:|"]
    val_lines += [f"| {v['step']} | {v['set']} | {float(v['psnr']):.2f} | {float(v['ssim']):.4f} | {v['n']} |" for v in validation]

    data = config["data"]
    optim = config["optim"]
    text = f"""# Model card: `nlvfi-cpu.safetensors`

The generator the tools use by default: the `{json.loads(meta['config'])['name']}` preset, one
{size_mb:.1f} MB safetensors file with its config (loaded with `nlvfi.load_generator`, no pickle).
Trained on a CPU with `configs/cpu.toml`; reproduce with `bash scripts/make_checkpoint.sh`.
The run's logs ship beside it: `nlvfi-cpu.log.csv`, `nlvfi-cpu.validation.csv`.

## Data
- Synthetic flying layers: {data['synthetic_samples']} scenes per epoch at {data['crop_size']}x{data['crop_size']},
  motion buckets {', '.join(data['synthetic_motion'])}; ground-truth flow and depth used as
  auxiliary supervision (weights {optim['flow_supervision_weight']} / {optim['depth_supervision_weight']}){
  '; on real crops OpenCV DIS flow is the flow target (distillation)' if data.get('flow_teacher') == 'dis' else ''}.
- Real: the first 80% of `vtest.avi`, `tree.avi`, `Megamind.avi` (Debian `opencv-doc`),
  triplets (k-d, k, k+d) for d in {data['video_gaps']}, random {data['crop_size']} crops, flips and
  temporal reversal, repeated x{data['video_repeat']} per epoch. The last 20% of every clip is held out and
  never trained on; every real number below is on that part.

## Training
- {optim.get('flow_pretrain_steps', 0)} steps of flow-only pre-training (phase 0: end-point error to the true
  flows of the synthetic scenes{' and to OpenCV DIS flows on the real crops' if data.get('flow_teacher') == 'dis' else ''}), then
  {optim['pretrain_steps']} steps of Charbonnier pre-training, then {optim['gan_steps']} steps of RaGAN fine-tuning
  (lambda = {optim['adversarial_weight']}), batch {optim['batch_size']}, Adam (0.9, 0.99), lr {optim['lr_generator']}
  cosine-decayed to x{optim['lr_final_fraction']}; discriminator lr {optim['lr_discriminator']}.
- Steps run: {rows[-1]['step']}; time inside training steps: {step_seconds / 60:.1f} min
  {('; wall time ' + args.wall_time) if args.wall_time else ''}.
- The shipped weights are the **last** step's (after GAN fine-tuning), not a checkpoint selected
  on the held-out numbers, so the table below is not tuned on its own test data.

### Training curve (means over windows of steps)

{curve_summary(rows, max(1, len(rows) // 12))}

### Validation during training (held-out real triplets and synthetic scenes)

{chr(10).join(val_lines)}

## Held-out evaluation (measured in one run, `nlvfi evaluate`)

{(args.eval / 'table.md').read_text().split(chr(10), 3)[-1].strip()}

Against the real held-out sets:
{chr(10).join(verdict)}

Beats frame averaging on every real held-out set: **{'yes' if beats_average else 'NO'}**.
"""
    if args.notes and args.notes.is_file():
        text += "\n" + args.notes.read_text()
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    print(text)


if __name__ == "__main__":
    main()
