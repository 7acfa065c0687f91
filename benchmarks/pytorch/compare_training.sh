#!/usr/bin/env bash
# Issue 3, point 7: trains each zoo model with its default recipe in Frugal, then the same model
# and hyperparameters in PyTorch (train_reference.py), one after the other, and keeps what both
# report. Run it on an otherwise idle machine; results go to OUT_DIR (default ./compare-training).
#
#   benchmarks/pytorch/compare_training.sh [OUT_DIR]
#
# The PyTorch flags spell out the recipes of trainer/.../config/ModelRecipes.java: keep them in step.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-compare-training}" && cd "${1:-compare-training}" && pwd)"
cd "$root"
date -u > "$out/start.txt"
uptime > "$out/load-before.txt"
./frugal --version > "$out/version.txt" 2>&1   # builds the jar if needed, outside the timed runs

frugal_run() {
  local model=$1
  /usr/bin/time -f "%e s wall" -o "$out/$model.frugal.time" \
    ./frugal train --model "$model" --no-progress --run-dir "$out/runs/$model" > "$out/$model.frugal.log" 2>&1
}
torch_run() {
  local model=$1; shift
  /usr/bin/time -f "%e s wall" -o "$out/$model.torch.time" \
    python3 benchmarks/pytorch/train_reference.py --model "$model" "$@" > "$out/$model.torch.log" 2>&1
}

frugal_run mlp
torch_run mlp --epochs 2 --optimizer adamw --lr 0.001 --weight-decay 0 --schedule warmup-cosine:warmup=2.67% --batch-size 16
frugal_run cnn-small
torch_run cnn-small --epochs 3 --optimizer sgd --lr 0.05 --momentum 0.9 --schedule one-cycle --batch-size 128
frugal_run mobilenet-tiny
torch_run mobilenet-tiny --epochs 5 --optimizer sgd --lr 0.05 --momentum 0.9 --schedule one-cycle --batch-size 128

uptime > "$out/load-after.txt"
date -u > "$out/end.txt"
echo "Frugal: $out/runs/<model>/summary.json; PyTorch: the JSON line at the end of $out/<model>.torch.log"
