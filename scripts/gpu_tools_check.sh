#!/usr/bin/env bash
# The video tools on a lent CUDA machine (issue 4's --device): benchmarks/tools_device.py (the
# main job on CPU and GPU, forward-pass memory against the planner's estimate, a 4K repair held
# to memory budgets; that table again with expandable segments), then the two CLIs end to end
# with --device cuda. Writes to $OUT (or out/gpu_tools): tools_cuda.md/.json,
# tools_cuda_expandable.md/.json, cli.txt, log.txt.
#
# Usage (repository root, CUDA machine, PyAV present or its wheel in .whl/):
#   bash scripts/gpu_tools_check.sh
set -uo pipefail
out=${OUT:-out/gpu_tools}
mkdir -p "$out"
if ! python3 -c "import av" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
TIMEFORMAT="%R s wall"
nlvfi() { python3 -c "import sys; from nlvfi.cli import main; sys.exit(main())" "$@"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/cli.txt"
python3 benchmarks/tools_device.py --device cuda --out "$out/tools_cuda.md" --json "$out/tools_cuda.json" 2>&1 | tee "$out/log.txt"
echo "benchmark exit: ${PIPESTATUS[0]}" | tee -a "$out/cli.txt"
# table 3 again with the allocator's expandable segments: how much of "reserved" is fragmentation
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True python3 benchmarks/tools_device.py --device cuda --tables 3 \
    --out "$out/tools_cuda_expandable.md" --json "$out/tools_cuda_expandable.json" 2>&1 | tee -a "$out/log.txt"
{
    tmp=$(mktemp -d)
    echo "== nlvfi repair --device cuda (README's main job)"
    time nlvfi repair data/stutter/vtest_stutter.mkv -o "$tmp/repaired.mkv" --report "$tmp/report.json" --figure "$tmp/figure.png" --device cuda 2>&1 | tail -4
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('device', r['model']['device'], '| plan', r['model']['plan'], '| timings', r['timings'])" "$tmp/report.json"
    echo "== nlvfi interpolate PREV NEXT --device cuda"
    python3 -c "
import sys; from nlvfi.videoio import read_video_rgb; from PIL import Image
frames, _ = read_video_rgb('data/stutter/vtest_stutter_truth.mkv'); Image.fromarray(frames[0]).save(sys.argv[1] + '/a.png'); Image.fromarray(frames[1]).save(sys.argv[1] + '/b.png')" "$tmp"
    nlvfi interpolate "$tmp/a.png" "$tmp/b.png" -o "$tmp/mid.png" --device cuda 2>&1 | tail -2; ls -la "$tmp/mid.png"
    echo "== nlvfi interpolate VIDEO --factor 2 --device cuda"
    time nlvfi interpolate data/stutter/vtest_stutter_truth.mkv -o "$tmp/x2.mkv" --factor 2 --device cuda 2>&1 | tail -3
    echo "== --device cuda:1 on a one-GPU machine (a one-line refusal, exit 2 or 1)"
    nlvfi repair data/stutter/vtest_stutter.mkv -o "$tmp/never.mkv" --device cuda:1; echo "exit $?, file written: $([ -e "$tmp/never.mkv" ] && echo yes || echo no)"
} 2>&1 | tee -a "$out/cli.txt"
