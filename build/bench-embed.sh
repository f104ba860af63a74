#!/usr/bin/env bash
# Image embedding throughput at ViT-B/32's shape (random weights exported to ONNX like `clip convert` does): a raw
# ONNX Runtime session vs the library's bulk path over the same preprocessed pixels, alternating over ROUNDS rounds
# (at least 5) and quoting the median of the per-round bulk/raw ratio with its range (target: median >= 0.95; a single
# pass is noise on a shared machine), then the bulk path from 640x480 JPEG bytes (decode + preprocessing included).
# CPU build of ONNX Runtime.
# Usage: build/bench-embed.sh [preset=base] [images=128] [batches=32,64] [rounds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build test/Microsoft.ML.Clip.Benchmarks/Microsoft.ML.Clip.Benchmarks.csproj -c Release -v q -nologo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
dotnet test/Microsoft.ML.Clip.Benchmarks/bin/Release/net10.0/Microsoft.ML.Clip.Benchmarks.dll embed-throughput "${1:-base}" "${2:-128}" "${3:-32,64}" -1 "${4:-5}"
