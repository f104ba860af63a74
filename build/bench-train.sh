#!/usr/bin/env bash
# Training benchmark: samples/s of one ClipTrainer step (tiny preset, batch 256 by default) in TorchSharp against
# the same step in PyTorch (Debian's python3-torch). For a fair anchor the PyTorch side needs OpenBLAS (Debian's
# default reference BLAS is ~3 GFLOP/s): `apt-get install libopenblas0-openmp`; OPENBLAS_CORETYPE=SKYLAKEX on AVX-512
# CPUs that OpenBLAS 0.3.21 does not recognise (set here when the CPU has avx512f; AVX2-only CPUs such as this AMD
# EPYC crash with it and are detected correctly without it). Both sides run with the same explicit thread count.
# Usage: build/bench-train.sh [batch=256] [steps=3] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/.."
BATCH=${1:-256}; STEPS=${2:-3}; THREADS=${3:-2}
if ! update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep '^Value: .*openblas' >/dev/null; then
  echo "warning: the system BLAS is not OpenBLAS; the PyTorch anchor will be slow (apt-get install libopenblas0-openmp)" >&2
fi
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo >/dev/null
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SKYLAKEX; fi
PY=$(OMP_NUM_THREADS=$THREADS /usr/bin/python3 build/bench-train.py "$BATCH" "$STEPS" "$THREADS")
echo "$PY"
TS=$(dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll train-step "$BATCH" "$STEPS" "$THREADS" | tail -1)
echo "$TS"
py=$(sed -E 's/.*pytorch_step_seconds=([0-9.]+).*/\1/' <<<"$PY")
ts=$(sed -E 's/.*torchsharp_step_seconds=([0-9.]+).*/\1/' <<<"$TS")
awk -v a="$ts" -v b="$py" 'BEGIN { printf "ratio torchsharp/pytorch step time = %.2f (target <= 1.10)\n", a / b }'
