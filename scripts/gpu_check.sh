#!/usr/bin/env bash
# GPU check for a lent device machine (see the training issue): 200 steps of the cuda config
# and one 1920x1080 inference, printing step time, samples/s, peak GPU memory and fps.
# Usage (repository root, CUDA machine): bash scripts/gpu_check.sh
set -euo pipefail
python3 -m pip install -q torch==2.13.0 2>/dev/null || true
python3 -m pip install -q -e . >/dev/null
python3 data/fetch.py
out=$(mktemp -d)
python3 - "$out" <<'PY'
import sys, time, torch
from nlvfi.train import Trainer
from nlvfi.train_config import load_train_config
from nlvfi import build_generator
config = load_train_config("configs/cuda.toml")
config.run.out_dir = sys.argv[1] + "/run"
config.optim.pretrain_steps, config.optim.gan_steps = 150, 50
config.run.validate_every = 10**9
config.data.val_video_triplets = 0
config.data.val_synthetic_samples = 0
torch.cuda.reset_peak_memory_stats()
trainer = Trainer(config, quiet=True)
start = time.perf_counter(); trainer.fit(); seconds = time.perf_counter() - start
import csv
rows = list(csv.DictReader(open(config.run.out_dir + "/log.csv")))
sps = sorted(float(r["samples_per_s"]) for r in rows[20:])
print(f"train: {seconds / 200:.3f} s/step, median {sps[len(sps) // 2]:.1f} samples/s, "
      f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
G = build_generator("small").cuda().eval().to(memory_format=torch.channels_last)
a, b = torch.rand(2, 1, 3, 1080, 1920, device="cuda")
torch.cuda.reset_peak_memory_stats()
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    for _ in range(3): G(a, b)
    torch.cuda.synchronize(); start = time.perf_counter()
    for _ in range(10): G(a, b)
    torch.cuda.synchronize()
fps = 10 / (time.perf_counter() - start)
print(f"inference small 1920x1080 bf16: {fps:.1f} fps, peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
PY
