#!/usr/bin/env bash
# Every GPU check in one call, for a machine with a GPU but no JDK, Maven or network: run it from a
# checkout of the repository that has the bundle built by native-tests/make-bundle.sh in dist/.
#
#   native-tests/gpu-session.sh REPORT_DIR [STEPS]
#
# STEPS (default all) is a comma-separated subset of:
#   tests    the `gpu` JUnit suite (native-tests), JUnit XML and log
#   kernels  frugal kernels --check for this GPU's architecture
#   bench    frugal bench --device cuda against PyTorch (benchmarks/pytorch/bench_compare.sh) for
#            mlp, cnn-small and mobilenet-tiny at batch 64 and 256 in fp32, and batch 128 in fp16
#            (against PyTorch eager and torch.compile)
#   profile  frugal bench --profile --device cuda for the same models (time per kernel kind)
#   train    frugal train --device cuda, 3 epochs of cnn-small on Fashion-MNIST, when FRUGAL_DATA
#            (or --data) finds the dataset there
# Each step's output goes to REPORT_DIR/<step>.log; REPORT_DIR/summary.txt lists what passed.
# BENCH_MODELS, BENCH_BATCHES, WARMUP and REPEAT narrow the benchmarks; STEP_TIMEOUT (seconds,
# default 300) bounds each step.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reports="${1:?usage: gpu-session.sh REPORT_DIR [STEPS]}"
steps=",${2:-tests,kernels,bench,profile,train},"
mkdir -p "$reports"
bundle_tar="$root/dist/frugal-gpu-bundle.tar.gz"
[ -f "$bundle_tar" ] || { echo "gpu-session: $bundle_tar is missing: build it with native-tests/make-bundle.sh" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/frugal-gpu.XXXXXX")"
tar xzf "$bundle_tar" -C "$work"
bundle="$work/frugal-gpu-bundle"
export JAVA_HOME="$bundle/jre" FRUGAL_JAR="$bundle/frugal.jar"
timeout_s="${STEP_TIMEOUT:-300}"
summary="$reports/summary.txt"
{
  echo "frugal GPU session: $(tr '\n' ' ' < "$bundle/BUILD-INFO")"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1
} > "$summary"

# step NAME COMMAND...: runs one step under the timeout, logging to NAME.log and its status to the summary
step() {
  local name="$1"; shift
  case "$steps" in *",$name,"*) ;; *) return 0 ;; esac
  local start=$SECONDS
  timeout "$timeout_s" "$@" > "$reports/$name.log" 2>&1
  local status=$?
  echo "$name: exit $status in $((SECONDS - start)) s" >> "$summary"
}

bench_all() {
  local models="${BENCH_MODELS:-mlp cnn-small mobilenet-tiny}" batches="${BENCH_BATCHES:-64 256}" m b
  for m in $models; do
    for b in $batches; do
      DEVICE=cuda "$root/benchmarks/pytorch/bench_compare.sh" "$m" "$b" fp32 || echo "bench_compare $m $b fp32 failed"
    done
    # fp16 also against torch.compile (TORCH_COMPILE=0 to skip its compilation time)
    DEVICE=cuda TORCH_COMPILE="${TORCH_COMPILE:-1}" "$root/benchmarks/pytorch/bench_compare.sh" "$m" 128 fp16 \
      || echo "bench_compare $m 128 fp16 failed"
  done
}

profile_all() {
  local m
  for m in ${BENCH_MODELS:-mlp cnn-small mobilenet-tiny}; do
    "$root/frugal" bench --device cuda --model "$m" --batch-size 128 --profile --warmup "${WARMUP:-10}" --repeat "${REPEAT:-10}" \
      || echo "profile $m failed"
  done
}

train_run() {
  local args=(--model cnn-small --epochs 3 --seed 42 --device cuda --run-dir "$work/run-cuda" --no-progress)
  [ -n "${FRUGAL_DATA:-}" ] && args+=(--data "$FRUGAL_DATA")
  "$root/frugal" train "${args[@]}" && cp "$work/run-cuda/summary.json" "$reports/train-summary.json"
}

step tests "$bundle/run-gpu-tests.sh" "$reports/junit"
arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')"
step kernels "$root/frugal" kernels --check --arch "sm_${arch:-90}"
# timeout runs programs, not shell functions: the functions run in a child bash that inherits them
export root work
export -f bench_all profile_all train_run
step bench bash -c bench_all
step profile bash -c profile_all
step train bash -c train_run
cat "$summary"
