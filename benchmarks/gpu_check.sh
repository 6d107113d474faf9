#!/usr/bin/env bash
# The GPU checks of issue 29 in one prepared script (under 10 minutes on one H100): OmiTrans-FC
# steps and the checkpointed OmiTrans-CNN at the paper's size (batch 128), bf16 against fp32, the
# local executor with one GPU per job. Step times and peak GPU memory, one JSON line each
# (benchmarks/gpu_check.py says what each section does). Without a GPU it says so and exits 0.
#   bash benchmarks/gpu_check.sh            # writes $OUT/gpu_check.jsonl where OUT is set
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3 || command -v python)}"  # omibench installed (pip install -e .) in it
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu_check: no CUDA GPU visible to torch: nothing to check on this machine"
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
out="${OUT:-$(mktemp -d)}/gpu_check.jsonl"
# each section in its own process and time limit, so one that hangs or runs out of memory leaves the others
status=0
for section in fc cnn bf16 executor; do
  timeout 240 "$PY" benchmarks/gpu_check.py --sections "$section" --out "$out.$section" || status=$?
done
cat "$out".* > "$out" 2>/dev/null || true
echo "gpu_check: results in $out"
exit $status
