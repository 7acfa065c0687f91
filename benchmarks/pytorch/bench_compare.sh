#!/usr/bin/env bash
# One zoo model's training step in Frugal (`frugal bench --model`) and in PyTorch
# (bench_reference.py), same model, batch, optimizer and precision, one after the other on the same
# machine; prints both and Frugal's throughput as a multiple of PyTorch's.
#
#   benchmarks/pytorch/bench_compare.sh MODEL [BATCH] [PRECISION]      e.g. cnn-small 256 fp32
#
# DEVICE (default cpu; cuda or cuda:N for a GPU) picks the device of both: on the CPU PyTorch gets as
# many threads as Frugal, on a GPU both time their steps with CUDA events. TORCH_DEVICE overrides
# PyTorch's device alone (e.g. Frugal on the CPU against PyTorch on the GPU). WARMUP (default 30)
# and REPEAT (default 20) set the untimed and timed steps of both: the JVM needs the warm-up to compile
# its hot loops, and a short one makes Frugal look several times slower than it is. TORCH_COMPILE=1
# also times PyTorch under torch.compile (its compilation falls in the warm-up) and prints that ratio.
# FRUGAL replaces the ./frugal launcher (a command line, split on spaces), e.g. a java command with a class path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model=${1:?usage: bench_compare.sh MODEL [BATCH] [PRECISION]}
cd "$root"
batch_args=()
if [ -n "${2:-}" ]; then batch_args=(--batch-size "$2"); fi
precision=${3:-fp32}
device=${DEVICE:-cpu}
read -ra frugal_cmd <<< "${FRUGAL:-./frugal}"
frugal_json=$("${frugal_cmd[@]}" bench --model "$model" "${batch_args[@]}" --precision "$precision" --device "$device" --warmup "${WARMUP:-30}" --repeat "${REPEAT:-20}" --json 2>/dev/null)
read -r batch optimizer threads < <(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["batch_size"], d["optimizer"], d["threads"])' <<< "$frugal_json")
torch_json=$(python3 benchmarks/pytorch/bench_reference.py --model "$model" --batch-size "$batch" --optimizer "$optimizer" \
  --precision "$precision" --device "${TORCH_DEVICE:-${device%%:*}}" --threads "$threads" --warmup "${WARMUP:-30}" --repeat "${REPEAT:-20}" --json)
compiled_json=null
if [ "${TORCH_COMPILE:-0}" = 1 ]; then
  compiled_json=$(python3 benchmarks/pytorch/bench_reference.py --model "$model" --batch-size "$batch" --optimizer "$optimizer" \
    --precision "$precision" --device "${TORCH_DEVICE:-${device%%:*}}" --threads "$threads" --warmup "${WARMUP:-30}" --repeat "${REPEAT:-20}" \
    --compile --json)
fi
python3 - "$frugal_json" "$torch_json" "$compiled_json" <<'PY'
import json, sys
f, t, c = (json.loads(a) for a in sys.argv[1:4])
print(f"{f['model']} batch {f['batch_size']} {f['precision']} {f['optimizer']}")
print(f"  Frugal  {f['device']:>5}: {f['step_ms_median']:8.2f} ms/step {f['samples_per_second']:9.0f} samples/s")
print(f"  PyTorch {t['device']:>5}: {t['step_ms_median']:8.2f} ms/step {t['samples_per_second']:9.0f} samples/s (torch {t['torch']}, eager)")
if c is not None:
    print(f"  PyTorch {c['device']:>5}: {c['step_ms_median']:8.2f} ms/step {c['samples_per_second']:9.0f} samples/s (torch {c['torch']}, torch.compile)")
print(f"  Frugal / PyTorch eager throughput: {f['samples_per_second'] / t['samples_per_second']:.2f}x")
if c is not None:
    print(f"  Frugal / PyTorch torch.compile throughput: {f['samples_per_second'] / c['samples_per_second']:.2f}x")
PY
