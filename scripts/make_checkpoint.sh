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

ship() {  # run folder, weights file, log stem: its last weights and logs into checkpoints/, atomically
  python3 - "$@" <<'PY'
import shutil, sys
from nlvfi.checkpoint import atomic_write
run, weights, logs = sys.argv[1:4]
atomic_write(weights, lambda tmp: shutil.copyfile(f"{run}/generator_last.safetensors", tmp))
for name in ("log", "validation"):
    atomic_write(f"{logs}.{name}.csv", lambda tmp: shutil.copyfile(f"{run}/{name}.csv", tmp))
PY
}

if [ "${SKIP_STAGE1:-0}" != 1 ]; then
  train configs/cpu.toml runs/cpu
  # notebook 08 draws stage 1's curves from checkpoints/nlvfi-cpu.{log,validation}.csv
  ship runs/cpu checkpoints/nlvfi-cpu-stage1.safetensors checkpoints/nlvfi-cpu
fi
if [ "${SKIP_STAGE2:-0}" != 1 ]; then
  train configs/finetune_cpu.toml runs/finetune_spans
  ship runs/finetune_spans checkpoints/nlvfi-cpu-stage2.safetensors checkpoints/nlvfi-cpu-finetune
fi
train configs/finetune_sizes_cpu.toml runs/finetune_sizes
ship runs/finetune_sizes checkpoints/nlvfi-cpu.safetensors checkpoints/nlvfi-cpu-sizes
python3 -m nlvfi.evaluate --checkpoint "nlvfi tiny (shipped)=checkpoints/nlvfi-cpu.safetensors" \
  --videos data/opencv/vtest.avi data/opencv/tree.avi data/opencv/Megamind.avi \
  --max-triplets 100 --synthetic-samples 100 --out results/checkpoint
python3 scripts/model_card.py --run runs/cpu --finetune-run runs/finetune_spans --sizes-run runs/finetune_sizes \
  --eval results/checkpoint --out checkpoints/README.md
