#!/usr/bin/env bash
# Reproduce the shipped checkpoint and its model card, from the repository root:
#   bash scripts/make_checkpoint.sh
# 1. fetch the real clips (Debian opencv-doc), 2. stage 1: train configs/cpu.toml from scratch
# (synthetic + real), ship its last weights as checkpoints/nlvfi-cpu-stage1.safetensors,
# 3. stage 2: fine-tune them with configs/finetune_cpu.toml (real footage only, centred and
# off-centre triplets), ship its last weights as checkpoints/nlvfi-cpu-stage2.safetensors,
# 4. stage 3: fine-tune those with configs/finetune_sizes_cpu.toml (the same footage at its own
# size and at half size) and ship the final (GAN-trained) generator as
# checkpoints/nlvfi-cpu.safetensors, 5. evaluate it beside the baselines on held-out data,
# 6. write checkpoints/README.md from the logs and the table. Each stage resumes if
# interrupted; SKIP_STAGE1=1 keeps the committed stage-1 weights, SKIP_STAGE2=1 (with it) the
# committed stage-2 weights too, and runs what is left.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 data/fetch.py

train() {  # config, run folder: resumes an interrupted run
  if [ -f "$2/last.pt" ]; then resume=--resume; else resume=; fi
  start=$(date +%s)
  # one intra-op thread: the shipped runs were trained this way (1.1-1.6 s/step on one core)
  OMP_NUM_THREADS=1 python3 -m nlvfi.train --config "$1" --out-dir "$2" $resume
  echo "training wall time this sitting ($1): $(( $(date +%s) - start )) s"
}

if [ "${SKIP_STAGE1:-0}" != 1 ]; then
  train configs/cpu.toml runs/cpu
  python3 - <<'PY'
import shutil
from nlvfi.checkpoint import atomic_write
atomic_write("checkpoints/nlvfi-cpu-stage1.safetensors", lambda tmp: shutil.copyfile("runs/cpu/generator_last.safetensors", tmp))
for name in ("log", "validation"):  # notebook 08 draws stage 1's curves from these
    atomic_write(f"checkpoints/nlvfi-cpu.{name}.csv", lambda tmp: shutil.copyfile(f"runs/cpu/{name}.csv", tmp))
PY
fi
if [ "${SKIP_STAGE2:-0}" != 1 ]; then
  train configs/finetune_cpu.toml runs/finetune_spans
  python3 - <<'PY'
import shutil
from nlvfi.checkpoint import atomic_write
atomic_write("checkpoints/nlvfi-cpu-stage2.safetensors", lambda tmp: shutil.copyfile("runs/finetune_spans/generator_last.safetensors", tmp))
for name in ("log", "validation"):
    atomic_write(f"checkpoints/nlvfi-cpu-finetune.{name}.csv", lambda tmp: shutil.copyfile(f"runs/finetune_spans/{name}.csv", tmp))
PY
fi
train configs/finetune_sizes_cpu.toml runs/finetune_sizes
python3 - <<'PY'
import shutil
from nlvfi.checkpoint import atomic_write
atomic_write("checkpoints/nlvfi-cpu.safetensors", lambda tmp: shutil.copyfile("runs/finetune_sizes/generator_last.safetensors", tmp))
for name in ("log", "validation"):
    atomic_write(f"checkpoints/nlvfi-cpu-sizes.{name}.csv", lambda tmp: shutil.copyfile(f"runs/finetune_sizes/{name}.csv", tmp))
PY
python3 -m nlvfi.evaluate --checkpoint "nlvfi tiny (shipped)=checkpoints/nlvfi-cpu.safetensors" \
  --videos data/opencv/vtest.avi data/opencv/tree.avi data/opencv/Megamind.avi \
  --max-triplets 100 --synthetic-samples 100 --out results/checkpoint
python3 scripts/model_card.py --run runs/cpu --finetune-run runs/finetune_spans --sizes-run runs/finetune_sizes \
  --eval results/checkpoint --out checkpoints/README.md
