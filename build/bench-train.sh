#!/usr/bin/env bash
# Training benchmark: samples/s of one ClipTrainer step (tiny preset, batch 256 by default) in TorchSharp against
# the same step in PyTorch (Debian's python3-torch), in ROUNDS alternating rounds (at least 5; the order flips every
# round): each round runs both sides (STEPS timed steps after a warm-up each, their median), the ratio is taken per
# round, and the median ratio is quoted with its range. For a fair anchor the PyTorch side needs OpenBLAS (Debian's
# default reference BLAS is ~3 GFLOP/s): libopenblas0-openmp, the installed one or the package unpacked into
# data/bench/openblas (build/bench/openblas.sh), put first on the library path of the Python process only (the
# system's BLAS alternative is not touched); OPENBLAS_CORETYPE=SKYLAKEX on AVX-512 CPUs
# that OpenBLAS 0.3.21 does not recognise (set here when the CPU has avx512f; AVX2-only CPUs crash with it and are
# detected correctly without it). Both sides run with the same explicit thread count.
# Usage: build/bench-train.sh [batch=256] [steps=3] [threads=2] [rounds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
BATCH=${1:-256}; STEPS=${2:-3}; THREADS=${3:-2}; ROUNDS=${4:-5}
[ "$ROUNDS" -ge 5 ] || { echo "rounds must be at least 5" >&2; exit 2; }
OPENBLAS_DIR=$(bash build/bench/openblas.sh) || { OPENBLAS_DIR=""; echo "warning: no OpenBLAS; the PyTorch anchor will be slow (reference BLAS)" >&2; }
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SKYLAKEX; fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
py_side() { LD_LIBRARY_PATH="$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OMP_NUM_THREADS=$THREADS \
  /usr/bin/python3 build/bench-train.py "$BATCH" "$STEPS" "$THREADS" | sed -E 's/.*pytorch_step_seconds=([0-9.]+).*/\1/'; }
ts_side() { dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll train-step "$BATCH" "$STEPS" "$THREADS" \
  | tail -1 | sed -E 's/.*torchsharp_step_seconds=([0-9.]+).*/\1/'; }
ratios=(); pys=(); tss=()
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then py=$(py_side); ts=$(ts_side); else ts=$(ts_side); py=$(py_side); fi
  ratio=$(awk -v a="$ts" -v b="$py" 'BEGIN { printf "%.3f", a / b }')
  echo "round $r/$ROUNDS: pytorch ${py} s/step, torchsharp ${ts} s/step, ratio torchsharp/pytorch ${ratio}"
  ratios+=("$ratio"); pys+=("$py"); tss+=("$ts")
done
summary() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f [%.3f-%.3f]", m, v[1], v[NR] }'; }
echo "pytorch step $(summary "${pys[@]}") s, torchsharp step $(summary "${tss[@]}") s (median [min-max] over $ROUNDS rounds, batch $BATCH, $THREADS threads)"
echo "ratio torchsharp/pytorch step time = $(summary "${ratios[@]}") (per-round ratios; target: median <= 1.10)"
